#pragma once
// Deterministic random numbers, identical on every platform and standard library.
//
// `Rng` is xoshiro256++ seeded through splitmix64. A stream is identified by a tuple of
// integers (for a task: base seed and task id), never by the MPI rank, so results do not
// depend on how tasks are spread over ranks. Normal deviates use the Box–Muller transform
// with our own code (std::normal_distribution differs between standard libraries).
#include <cstdint>
#include <initializer_list>

namespace invsweep {

/// splitmix64 finaliser: a bijective 64-bit mix.
constexpr std::uint64_t mix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

/// Derives one 64-bit seed from several integers (order matters).
constexpr std::uint64_t derive_seed(std::initializer_list<std::uint64_t> parts) {
  std::uint64_t h = 0x6A09E667F3BCC909ULL;
  for (std::uint64_t p : parts)
    h = mix64(h ^ mix64(p));
  return h;
}

class Rng {
 public:
  explicit Rng(std::uint64_t seed);

  /// Next raw 64 bits.
  std::uint64_t next();
  /// Uniform on [0, 1) with 53 random bits.
  double uniform();
  /// Uniform on [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Standard normal deviate.
  double normal();
  /// Uniform integer in [0, n), n > 0, without modulo bias.
  std::uint64_t below(std::uint64_t n);

 private:
  std::uint64_t s_[4];
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace invsweep
