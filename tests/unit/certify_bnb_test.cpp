// Branch and bound: proven maxima against dense random search and a closed form, and
// reachability just above and just below the proven maximum.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <string>

#include "certify_nets.hpp"
#include "invsweep/certify/branch_and_bound.hpp"

using namespace invsweep;
using namespace invsweep::certify;

namespace {

/// Largest c·oracle(x) over `n` uniform random points of the box.
double random_search_max(const oracle::Oracle& o, const VectorD& c, const Box& box, Index n, std::uint64_t seed) {
  Rng rng(seed);
  MatrixD x(box.size(), n);
  for (Index j = 0; j < n; ++j)
    for (Index i = 0; i < box.size(); ++i)
      x(i, j) = box.lo[i] + (box.hi[i] - box.lo[i]) * rng.uniform();
  return (c.transpose() * o.predict(x)).maxCoeff();
}

oracle::Oracle small_net(nn::Activation act, std::uint64_t seed, Index n_in) {
  Rng rng(seed);
  oracle::Oracle o = invsweep::testing::wrap(
      invsweep::testing::random_net(rng, {n_in, 16, 16, 1}, {act, act, nn::Activation::identity}));
  o.input_scaler.mean.setConstant(0.3);
  o.input_scaler.scale.setConstant(2.0);
  o.output_scaler.mean[0] = 5.0;
  o.output_scaler.scale[0] = 3.0;
  return o;
}

void check_max(const oracle::Oracle& o, const Box& box, const char* name) {
  const VectorD c = VectorD::Ones(1);
  BnbSettings s;
  s.tolerance = 1e-4;
  const OptimumResult r = maximize(o, c, box, s);
  const double dense = random_search_max(o, c, box, 100000, 5);
  std::printf("  %s: proven max <= %.10g, verified %.10g, dense search %.10g, %lld boxes, %.3f s\n", name, r.bound_hi,
              r.bound_lo, dense, static_cast<long long>(r.boxes), r.seconds);
  EXPECT_EQ(r.status, Certificate::proven);
  EXPECT_LE(r.bound_hi - r.bound_lo, 1e-4 * std::max(1.0, std::abs(r.bound_lo)));
  EXPECT_GE(r.bound_hi, dense);
  EXPECT_EQ(o.predict(r.argbest)(0, 0), r.bound_lo);
  for (Index i = 0; i < box.size(); ++i) {
    EXPECT_GE(r.argbest[i], box.lo[i]);
    EXPECT_LE(r.argbest[i], box.hi[i]);
  }
}

}  // namespace

TEST(CertifyBnb, ReluNetworkMaximumIsProven) {
  const oracle::Oracle o = small_net(nn::Activation::relu, 3, 2);
  check_max(o, Box{VectorD::Constant(2, -2.0), VectorD::Constant(2, 2.0)}, "relu 2-16-16-1");
}

TEST(CertifyBnb, TanhNetworkMaximumIsProven) {
  const oracle::Oracle o = small_net(nn::Activation::tanh, 4, 3);
  check_max(o, Box{VectorD::Constant(3, -2.0), VectorD::Constant(3, 2.0)}, "tanh 3-16-16-1");
}

TEST(CertifyBnb, FixedFeaturesStayFixedAndMinimizeMirrors) {
  const oracle::Oracle o = small_net(nn::Activation::gelu, 6, 3);
  Box box{VectorD::Constant(3, -1.5), VectorD::Constant(3, 1.5)};
  box.lo[1] = box.hi[1] = 0.25;
  const VectorD c = VectorD::Constant(1, 2.0);
  const OptimumResult r = minimize(o, c, box, {});
  EXPECT_EQ(r.status, Certificate::proven);
  EXPECT_EQ(r.argbest[1], 0.25);
  EXPECT_LE(r.bound_hi, r.bound_lo);
  EXPECT_LE(r.bound_hi, -random_search_max(o, -c, box, 20000, 9));
  EXPECT_EQ(2.0 * o.predict(r.argbest)(0, 0), r.bound_lo);
}

TEST(CertifyBnb, ClosedFormSumOfTanh) {
  // f(x) = a·tanh(x − b) + c·tanh(x − d) as 1 → 2 (tanh) → 1.
  const double a = 1.0, b = 0.0, c = -1.5, d = 2.0;
  nn::Mlp<double> net({{1, 2, nn::Activation::tanh}, {2, 1, nn::Activation::identity}});
  net.weight(0) << 1.0, 1.0;
  net.bias(0) << -b, -d;
  net.weight(1) << a, c;
  const oracle::Oracle o = invsweep::testing::wrap(net);
  const auto f = [&](long double x) { return a * std::tanh(x - b) + c * std::tanh(x - d); };
  const double lo = -3, hi = 5;
  // The true maximum: a fine grid, then golden-section search around the best grid point.
  long double best_x = lo;
  for (int i = 0; i <= 100000; ++i) {
    const long double x = lo + (hi - lo) * i / 100000.0L;
    if (f(x) > f(best_x)) best_x = x;
  }
  long double p = best_x - 1e-4L, q = best_x + 1e-4L;
  const long double g = (std::sqrt(5.0L) - 1) / 2;
  for (int it = 0; it < 200; ++it) {
    const long double x1 = q - g * (q - p), x2 = p + g * (q - p);
    (f(x1) > f(x2) ? q : p) = (f(x1) > f(x2) ? x2 : x1);
  }
  const double true_max = static_cast<double>(f(0.5L * (p + q)));
  BnbSettings s;
  s.tolerance = 1e-9;
  const OptimumResult r = maximize(o, VectorD::Ones(1), Box{VectorD::Constant(1, lo), VectorD::Constant(1, hi)}, s);
  std::printf("  true max %.15g at %.12g; proven <= %.15g, verified %.15g at %.12g, %lld boxes\n", true_max,
              static_cast<double>(0.5L * (p + q)), r.bound_hi, r.bound_lo, r.argbest[0],
              static_cast<long long>(r.boxes));
  EXPECT_EQ(r.status, Certificate::proven);
  EXPECT_GE(r.bound_hi, true_max);
  EXPECT_LE(r.bound_hi - true_max, 1e-8);
  EXPECT_NEAR(r.bound_lo, true_max, 1e-8);
}

TEST(CertifyBnb, ReachabilityAroundTheProvenMaximum) {
  const oracle::Oracle o = small_net(nn::Activation::silu, 8, 2);
  const Box box{VectorD::Constant(2, -2.0), VectorD::Constant(2, 2.0)};
  const OptimumResult mx = maximize(o, VectorD::Ones(1), box, {});
  ASSERT_EQ(mx.status, Certificate::proven);
  const double above = mx.bound_hi + 0.002 * std::abs(mx.bound_hi);
  const double below = mx.bound_lo - 0.002 * std::abs(mx.bound_lo);
  const ReachResult up = reach_target(o, VectorD::Constant(1, above), box, {});
  const ReachResult dn = reach_target(o, VectorD::Constant(1, below), box, {});
  std::printf(
      "  max in [%.8g, %.8g]: target %.8g unreachable after %lld boxes; %.8g reached at value %.8g after %lld boxes\n",
      mx.bound_lo, mx.bound_hi, above, static_cast<long long>(up.boxes), below,
      dn.value.size() ? dn.value[0] : std::nan(""), static_cast<long long>(dn.boxes));
  EXPECT_EQ(up.reachable, Reach::unreachable);
  ASSERT_EQ(dn.reachable, Reach::reachable);
  EXPECT_LE(std::abs(o.predict(dn.point)(0, 0) - below), 1e-4 * std::max(1.0, std::abs(below)));
  // A range beyond the maximum is unreachable, one straddling the minimum reachable.
  EXPECT_EQ(reach_range(o, VectorD::Constant(1, above), VectorD::Constant(1, kInf), box, {}).reachable,
            Reach::unreachable);
}

TEST(CertifyBnb, RandomNetworksAgainstDenseSearch) {
  Rng rng(99);
  for (int rep = 0; rep < 40; ++rep) {
    const nn::Activation a1 = static_cast<nn::Activation>(rng.below(7)), a2 = static_cast<nn::Activation>(rng.below(7));
    const Index n_in = 1 + static_cast<Index>(rng.below(3));
    const oracle::Oracle o = invsweep::testing::wrap(
        invsweep::testing::random_net(rng, {n_in, 8, 8, 2}, {a1, a2, nn::Activation::identity}));
    const VectorD c = VectorD::NullaryExpr(2, [&](Index) { return rng.normal(); });
    const Box box{VectorD::Constant(n_in, -1.5), VectorD::Constant(n_in, 1.0)};
    const OptimumResult r = maximize(o, c, box, {});
    const double dense = random_search_max(o, c, box, 20000, static_cast<std::uint64_t>(rep));
    ASSERT_EQ(r.status, Certificate::proven) << rep;
    ASSERT_GE(r.bound_hi, dense) << rep << " " << nn::to_string(a1) << "/" << nn::to_string(a2);
    ASSERT_LE(r.bound_hi - r.bound_lo, 1e-4 * std::max(1.0, std::abs(r.bound_lo))) << rep;
    ASSERT_GE(r.bound_lo, dense - 1e-4 * std::max(1.0, std::abs(dense))) << rep;
  }
}

TEST(CertifyBnb, ReachabilityOfVectorTargetsAndRanges) {
  Rng rng(12);
  const oracle::Oracle o = invsweep::testing::wrap(invsweep::testing::random_net(
      rng, {3, 12, 12, 2}, {nn::Activation::softplus, nn::Activation::tanh, nn::Activation::identity}));
  const Box box{VectorD::Constant(3, -1.0), VectorD::Constant(3, 1.0)};
  // A target made by the oracle itself is reachable.
  const VectorD x0 = (VectorD(3) << 0.3, -0.6, 0.1).finished();
  const VectorD t = o.predict(x0).col(0);
  const ReachResult r = reach_target(o, t, box, {});
  ASSERT_EQ(r.reachable, Reach::reachable);
  for (Index j = 0; j < 2; ++j)
    EXPECT_LE(std::abs(r.value[j] - t[j]), 1e-4 * std::max(1.0, std::abs(t[j])));
  // A component outside the proven enclosure makes the target unreachable; NaN frees it.
  VectorD far = t;
  far[1] = r.enclosure.hi[1] + 0.01;
  EXPECT_EQ(reach_target(o, far, box, {}).reachable, Reach::unreachable);
  far[1] = std::nan("");
  EXPECT_EQ(reach_target(o, far, box, {}).reachable, Reach::reachable);
  // Ranges: around the image of x0 reachable; above the first output's enclosure not.
  const VectorD lo = (t.array() - 0.01).matrix(), hi = (t.array() + 0.01).matrix();
  EXPECT_EQ(reach_range(o, lo, hi, box, {}).reachable, Reach::reachable);
  const VectorD lo2 = (VectorD(2) << r.enclosure.hi[0] + 1e-3, -kInf).finished();
  EXPECT_EQ(reach_range(o, lo2, VectorD::Constant(2, kInf), box, {}).reachable, Reach::unreachable);
}

// Timing report (not run by default: --gtest_also_run_disabled_tests): random relu and tanh
// 4-64-64-1 networks over a box, proven to a 1e-4 relative gap. CERTIFY_BENCH_SECONDS sets
// the time limit (default 120), CERTIFY_BENCH_WIDEST=1 switches the branching rule,
// CERTIFY_BENCH_BOX the half-width of the box (default 1), CERTIFY_BENCH_ONLY a name filter.
TEST(CertifyBnb, DISABLED_TimingReport) {
  const char* secs = std::getenv("CERTIFY_BENCH_SECONDS");
  const char* widest = std::getenv("CERTIFY_BENCH_WIDEST");
  const char* only = std::getenv("CERTIFY_BENCH_ONLY");
  const char* half = std::getenv("CERTIFY_BENCH_BOX");
  const double h = half ? std::atof(half) : 1.0;
  BnbSettings s;
  s.tolerance = 1e-4;
  s.time_limit = secs ? std::atof(secs) : 120.0;
  if (widest && std::string(widest) == "1") s.branching = Branching::widest;
  struct Net {
    const char* name;
    nn::Activation act;
    Index n_in, width;
  };
  for (const Net& n :
       {Net{"relu 1-30-30-1", nn::Activation::relu, 1, 30}, Net{"relu 4-64-64-1", nn::Activation::relu, 4, 64},
        Net{"tanh 4-64-64-1", nn::Activation::tanh, 4, 64}, Net{"tanh 3-16-16-1", nn::Activation::tanh, 3, 16}}) {
    if (only && std::string(n.name).find(only) == std::string::npos) continue;
    for (std::uint64_t seed : {1u, 2u, 3u}) {
      Rng rng(seed);
      const oracle::Oracle o = invsweep::testing::wrap(invsweep::testing::random_net(
          rng, {n.n_in, n.width, n.width, 1}, {n.act, n.act, nn::Activation::identity}, 1.0));
      const Box box{VectorD::Constant(n.n_in, -h), VectorD::Constant(n.n_in, h)};
      const OptimumResult r = maximize(o, VectorD::Ones(1), box, s);
      std::printf("  %s seed %llu: %s, [%.8g, %.8g], gap %.2e, %lld boxes, %.3f s\n", n.name,
                  static_cast<unsigned long long>(seed), r.status == Certificate::proven ? "proven" : "budget",
                  r.bound_lo, r.bound_hi, (r.bound_hi - r.bound_lo) / std::max(1.0, std::abs(r.bound_lo)),
                  static_cast<long long>(r.boxes), r.seconds);
    }
  }
}

namespace {

/// y1 = x1 + x2, y2 = x1 − x2 (identity network between identity scalers).
oracle::Oracle sum_and_difference() {
  nn::Mlp<double> net({{2, 2, nn::Activation::identity}});
  net.weight(0) << 1, 1, 1, -1;
  net.bias(0).setZero();
  return invsweep::testing::wrap(net);
}

}  // namespace

// Closed form: max x1 + x2 over [0, 1]² with x1 − x2 ∈ [0.5, 1] is 1.5 at (1, 0.5).
TEST(CertifyBnb, OutputRangesGiveTheConstrainedOptimum) {
  const oracle::Oracle o = sum_and_difference();
  const Box box{VectorD::Zero(2), VectorD::Ones(2)};
  const VectorD c = (VectorD(2) << 1.0, 0.0).finished();
  BnbSettings s;
  s.tolerance = 1e-6;
  OutputRanges ranges{(VectorD(2) << -kInf, 0.5).finished(), (VectorD(2) << kInf, 1.0).finished()};
  const OptimumResult r = maximize(o, c, box, s, ranges);
  EXPECT_EQ(r.status, Certificate::proven);
  EXPECT_GE(r.bound_hi, 1.5 - 1e-12);
  EXPECT_LE(r.bound_lo, 1.5 + 1e-12);
  EXPECT_NEAR(r.bound_lo, 1.5, 2e-6);
  ASSERT_EQ(r.argbest.size(), 2);
  EXPECT_GE(r.argbest[0] - r.argbest[1], 0.5 - 1e-12);  // the verified point meets the range
  // Unconstrained the maximum is 2; minimised under the range it is 0.5 (at (0.5, 0)).
  EXPECT_NEAR(maximize(o, c, box, s).bound_lo, 2.0, 1e-9);
  EXPECT_NEAR(minimize(o, c, box, s, ranges).bound_lo, 0.5, 2e-6);
  // A range no point of the box meets: proven empty.
  ranges.lo[1] = 1.5;
  ranges.hi[1] = 2.0;
  const OptimumResult none = maximize(o, c, box, s, ranges);
  EXPECT_EQ(none.status, Certificate::proven);
  EXPECT_EQ(none.bound_hi, -kInf);
  EXPECT_TRUE(std::isnan(none.bound_lo));
  EXPECT_EQ(none.argbest.size(), 0);
}

TEST(CertifyBnb, ReachTargetWithOutputRanges) {
  const oracle::Oracle o = sum_and_difference();
  const Box box{VectorD::Zero(2), VectorD::Ones(2)};
  const OutputRanges ranges{(VectorD(2) << -kInf, 0.5).finished(), (VectorD(2) << kInf, 1.0).finished()};
  const VectorD high = (VectorD(2) << 1.8, std::nan("")).finished();  // y1 = 1.8 needs x1 − x2 ≤ 0.2
  EXPECT_EQ(reach_target(o, high, box).reachable, Reach::reachable);
  EXPECT_EQ(reach_target(o, high, box, {}, ranges).reachable, Reach::unreachable);
  const VectorD mid = (VectorD(2) << 1.2, std::nan("")).finished();
  const ReachResult r = reach_target(o, mid, box, {}, ranges);
  ASSERT_EQ(r.reachable, Reach::reachable);
  EXPECT_GE(r.value[1], 0.5);
  EXPECT_LE(r.value[1], 1.0);
  // A target outside its own range is unreachable at once.
  const VectorD both = (VectorD(2) << 1.0, 0.2).finished();
  EXPECT_EQ(reach_target(o, both, box, {}, ranges).reachable, Reach::unreachable);
}
