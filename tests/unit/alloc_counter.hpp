#pragma once
// Counts heap allocations made by this process (malloc interposition; off under sanitizers).
namespace testing_alloc {
long count();
bool available();
}  // namespace testing_alloc
