#include "alloc_counter.hpp"

#include <atomic>
#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#define INVSWEEP_NO_ALLOC_COUNT 1
#endif

namespace {
std::atomic<long> g_count{0};
}

namespace testing_alloc {
long count() {
  return g_count.load();
}
#ifdef INVSWEEP_NO_ALLOC_COUNT
bool available() {
  return false;
}
#else
bool available() {
  return true;
}
#endif
}  // namespace testing_alloc

#ifndef INVSWEEP_NO_ALLOC_COUNT
// glibc's own entry points; defining malloc here interposes it for the whole test binary.
extern "C" void* __libc_malloc(std::size_t);
extern "C" void* __libc_calloc(std::size_t, std::size_t);
extern "C" void* __libc_realloc(void*, std::size_t);
extern "C" void* __libc_memalign(std::size_t, std::size_t);

extern "C" void* malloc(std::size_t n) {
  g_count.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(n);
}
extern "C" void* calloc(std::size_t a, std::size_t b) {
  g_count.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(a, b);
}
extern "C" void* realloc(void* p, std::size_t n) {
  g_count.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(p, n);
}
extern "C" int posix_memalign(void** out, std::size_t align, std::size_t n) {
  g_count.fetch_add(1, std::memory_order_relaxed);
  *out = __libc_memalign(align, n);
  return *out != nullptr ? 0 : 12;
}
extern "C" void* aligned_alloc(std::size_t align, std::size_t n) {
  g_count.fetch_add(1, std::memory_order_relaxed);
  return __libc_memalign(align, n);
}
#endif
