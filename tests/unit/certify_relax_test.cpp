// The activation enclosures and relaxations of certify/activation_bounds against a long
// double reference on dense grids.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>

#include "certify_nets.hpp"
#include "invsweep/certify/activation_bounds.hpp"
#include "invsweep/core/rng.hpp"

using namespace invsweep;
using namespace invsweep::certify;
using nn::Activation;

namespace {

using LD = invsweep::testing::LD;
using invsweep::testing::ref_derivative;
using invsweep::testing::ref_value;

constexpr Activation kActs[] = {Activation::identity, Activation::relu, Activation::tanh, Activation::sigmoid,
                                Activation::softplus, Activation::silu, Activation::gelu};

/// Random intervals of many kinds: very wide, very narrow, straddling 0 and the inflection
/// points, far out in both tails.
std::pair<double, double> random_interval(Rng& rng) {
  static const double widths[] = {0.0, 1e-14, 1e-9, 1e-5, 1e-2, 0.3, 1.0, 3.0, 10.0, 60.0, 1e3};
  static const double centres[] = {0.0, -1.2784645, -0.7517915, 2.3993573, -2.3993573, 1.4142136, -1.4142136};
  const double w = widths[rng.below(11)] * rng.uniform(0.5, 1.5);
  double c;
  switch (rng.below(4)) {
    case 0:
      c = centres[rng.below(7)] + rng.uniform(-0.5, 0.5) * w;
      break;
    case 1:
      c = rng.uniform(-6, 6);
      break;
    case 2:
      c = rng.uniform(-60, 60);
      break;
    default:
      c = (rng.uniform() < 0.5 ? -1 : 1) * rng.uniform(20, 800);
      break;
  }
  return {c - 0.5 * w, c + 0.5 * w};
}

}  // namespace

TEST(CertifyRelax, LinesBoundTheActivationOnDenseGrids) {
  Rng rng(11);
  std::string report;
  for (Activation act : kActs) {
    double worst_gap = 0;       // largest (upper − lower) at the midpoint relative to (1 + width)
    double worst_vs_range = 0;  // the same relative to the range's width (constant bounds: 1)
    int checked = 0;
    for (int rep = 0; rep < 3000; ++rep) {
      const auto [l, u] = random_interval(rng);
      const Relaxation r = relax(act, l, u);
      const Interval rg = act_range(act, l, u);
      const Interval dr = derivative_range(act, l, u);
      ASSERT_LE(rg.lo, rg.hi);
      for (int i = 0; i <= 400; ++i) {
        const LD z = i == 400 ? LD(u) : LD(l) + (LD(u) - LD(l)) * i / 400;
        const LD f = ref_value(act, z);
        const LD lo = LD(r.lower.a) * z + LD(r.lower.d), hi = LD(r.upper.a) * z + LD(r.upper.d);
        const LD tol = 1e-18L * (std::fabs(LD(r.lower.a) * z) + std::fabs(LD(r.upper.a) * z) + std::fabs(f) +
                                 std::fabs(LD(r.lower.d)) + std::fabs(LD(r.upper.d)) + 1e-300L);
        ASSERT_LE(lo, f + tol) << fmt::format("{} lower line above at z={} on [{}, {}]", nn::to_string(act), double(z),
                                              l, u);
        ASSERT_GE(hi, f - tol) << fmt::format("{} upper line below at z={} on [{}, {}]", nn::to_string(act), double(z),
                                              l, u);
        ASSERT_LE(LD(rg.lo), f + tol) << nn::to_string(act) << " range lo at " << double(z);
        ASSERT_GE(LD(rg.hi), f - tol) << nn::to_string(act) << " range hi at " << double(z);
        if (act != Activation::relu) {
          const LD d = ref_derivative(act, z);
          ASSERT_LE(LD(dr.lo), d + 1e-18L)
              << nn::to_string(act) << " derivative lo at " << double(z) << " on [" << l << ", " << u << "]";
          ASSERT_GE(LD(dr.hi), d - 1e-18L)
              << nn::to_string(act) << " derivative hi at " << double(z) << " on [" << l << ", " << u << "]";
        }
        ++checked;
      }
      const double m = 0.5 * (l + u);
      const double gap = (r.upper.a - r.lower.a) * m + r.upper.d - r.lower.d;
      worst_gap = std::max(worst_gap, gap / (1 + (u - l)));
      if (rg.hi - rg.lo > 1e-6) worst_vs_range = std::max(worst_vs_range, gap / (rg.hi - rg.lo));
      // Tight where the construction says so: a chord through both ends (convex pieces).
      const bool convex = act == Activation::softplus ||
                          ((act == Activation::tanh || act == Activation::sigmoid) && u <= 0) ||
                          (act == Activation::relu && l < 0 && u > 0);
      if (convex && u - l > 1e-3 && u - l < 100) {
        for (double z : {l, u}) {
          const double f = static_cast<double>(ref_value(act, z));
          EXPECT_NEAR(r.upper.a * z + r.upper.d, f, 1e-12 * (1 + std::abs(f) + std::abs(r.upper.a * z)))
              << nn::to_string(act) << " chord not tight at " << z << " on [" << l << ", " << u << "]";
        }
      }
      const bool concave = (act == Activation::tanh || act == Activation::sigmoid) && l >= 0;
      if (concave && u - l > 1e-3 && u - l < 100) {
        for (double z : {l, u}) {
          const double f = static_cast<double>(ref_value(act, z));
          EXPECT_NEAR(r.lower.a * z + r.lower.d, f, 1e-12 * (1 + std::abs(f) + std::abs(r.lower.a * z)))
              << nn::to_string(act) << " chord not tight at " << z << " on [" << l << ", " << u << "]";
        }
      }
    }
    report += fmt::format("  {:<9} {} points, worst midpoint gap / (1 + width) {:.3g}, / range width {:.3g}\n",
                          nn::to_string(act), checked, worst_gap, worst_vs_range);
  }
  std::printf("%s", report.c_str());
}

TEST(CertifyRelax, NarrowIntervalsGiveNarrowBounds) {
  for (Activation act : kActs) {
    for (double c : {-3.0, -0.5, 0.0, 0.7, 2.4}) {
      const double l = c - 1e-6, u = c + 1e-6;
      const Relaxation r = relax(act, l, u);
      const double gap = (r.upper.a - r.lower.a) * c + r.upper.d - r.lower.d;
      // relu's kink inside the interval leaves the triangle: gap width/4 at the midpoint.
      const double allowed = act == Activation::relu && c == 0.0 ? 0.25 * (u - l) * (1 + 1e-9) : 1e-11;
      EXPECT_LE(gap, allowed) << nn::to_string(act) << " at " << c;
      const Interval rg = act_range(act, c, c);
      EXPECT_LT(rg.hi - rg.lo, 1e-13 * (1 + std::abs(rg.hi))) << nn::to_string(act) << " point range at " << c;
    }
  }
}
