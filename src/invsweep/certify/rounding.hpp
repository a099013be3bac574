#pragma once
// Outward rounding for the certificates: the boxes and intervals they compute.
//
// Strategy: every computation runs in the default rounding mode (round to nearest) and every
// bound that leaves a function is widened by a rigorous bound on its floating-point error.
// Directed rounding (fesetround) was rejected: Eigen's vectorised kernels, the compiler's
// constant folding and libm's transcendental functions do not promise to honour it, so
// every operation would have to be written by hand. Error bounds follow Higham, "Accuracy
// and Stability of Numerical Algorithms", §3.1: with u = 2⁻⁵³ and γ_n = n·u/(1 − n·u),
//
//   |fl(Σ x_i·y_i) − Σ x_i·y_i| ≤ γ_n · Σ |x_i·y_i|       (any summation order, FMA or not),
//
// plus n·η for underflow (η = 2⁻¹⁰⁷⁴ per product; we add a far larger 1e-300 per term).
// Margins are themselves computed in floating point, so they are taken twice as large as the
// theory needs; a bound b ± margin is then stepped one more ulp outward (`down`/`up`).
// Transcendental functions (std::tanh, exp, erfc, log1p) are not correctly rounded: their
// results are treated as accurate to 16 ulp relative plus a tiny absolute term
// (activation_bounds.hpp), generously above glibc's documented ≤ 5 ulp.
#include <cmath>
#include <limits>

#include "invsweep/core/eigen.hpp"

namespace invsweep::certify {

/// Unit roundoff of double.
inline constexpr double kUnit = 0x1p-53;
/// Absolute slack per term for underflow (products of subnormal numbers).
inline constexpr double kTiny = 1e-300;
inline constexpr double kInf = std::numeric_limits<double>::infinity();

/// γ_n (Higham), doubled to cover the rounding of the margin itself.
inline double gamma2(Index n) {
  const double nu = static_cast<double>(n) * kUnit;
  return 2.0 * nu / (1.0 - nu);
}

/// The largest double ≤ x − err (err ≥ 0 is an error bound computed with slack).
inline double down(double x, double err = 0.0) {
  const double v = x - err;
  if (std::isnan(v)) return -kInf;
  return std::nextafter(v, -kInf);
}
/// The smallest double ≥ x + err.
inline double up(double x, double err = 0.0) {
  const double v = x + err;
  if (std::isnan(v)) return kInf;
  return std::nextafter(v, kInf);
}

/// A closed interval [lo, hi]; lo may be −inf, hi +inf.
struct Interval {
  double lo = 0.0, hi = 0.0;
  double width() const { return hi - lo; }
  bool contains(double v) const { return lo <= v && v <= hi; }
};

/// A box in the oracle's input units: lo ≤ x ≤ hi per feature; lo == hi holds a feature
/// fixed.
struct Box {
  VectorD lo, hi;
  Index size() const { return lo.size(); }
  VectorD centre() const { return (0.5 * (lo + hi)).eval(); }
};

/// Replaces NaN lower bounds by −inf and NaN upper bounds by +inf (a NaN bound is no bound).
inline void sanitize(VectorD& lo, VectorD& hi) {
  for (Index i = 0; i < lo.size(); ++i) {
    if (std::isnan(lo[i])) lo[i] = -kInf;
    if (std::isnan(hi[i])) hi[i] = kInf;
  }
}

}  // namespace invsweep::certify
