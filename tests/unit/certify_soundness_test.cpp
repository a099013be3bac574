// Interval and linear-relaxation bounds contain the oracle's outputs: 10⁴ random networks
// with every activation mixed per layer, random widths, depths, scalers and boxes (fixed
// features included), each checked at 50 random points and the box corners.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>

#include "alloc_counter.hpp"
#include "certify_nets.hpp"
#include "invsweep/certify/propagate.hpp"

using namespace invsweep;
using namespace invsweep::certify;

namespace {

struct Case {
  oracle::Oracle o;
  Box box;
};

Case random_case(Rng& rng) {
  const Index depth = 1 + static_cast<Index>(rng.below(4));
  std::vector<Index> sizes{1 + static_cast<Index>(rng.below(6))};
  std::vector<nn::Activation> acts;
  for (Index d = 0; d < depth; ++d) {
    sizes.push_back(d + 1 == depth ? 1 + static_cast<Index>(rng.below(3)) : 1 + static_cast<Index>(rng.below(16)));
    acts.push_back(static_cast<nn::Activation>(rng.below(7)));
  }
  Case c{invsweep::testing::wrap(invsweep::testing::random_net(rng, sizes, acts, rng.uniform(0.5, 3.0))), {}};
  const Index n_in = sizes.front(), n_out = sizes.back();
  for (Index i = 0; i < n_in; ++i) {
    c.o.input_scaler.mean[i] = 3 * rng.normal();
    c.o.input_scaler.scale[i] = std::exp(rng.uniform(-2, 2));
  }
  for (Index j = 0; j < n_out; ++j) {
    c.o.output_scaler.mean[j] = 10 * rng.normal();
    c.o.output_scaler.scale[j] = std::exp(rng.uniform(-3, 3));
  }
  c.box.lo.resize(n_in);
  c.box.hi.resize(n_in);
  for (Index i = 0; i < n_in; ++i) {
    const double centre = c.o.input_scaler.mean[i] + c.o.input_scaler.scale[i] * 2 * rng.normal();
    const double w = rng.uniform() < 0.2 ? 0.0 : c.o.input_scaler.scale[i] * std::exp(rng.uniform(-8, 1.5));
    c.box.lo[i] = centre - w / 2;
    c.box.hi[i] = rng.uniform() < 0.5 ? centre + w / 2 : c.box.lo[i] + w;
    if (w == 0) c.box.hi[i] = c.box.lo[i];
  }
  return c;
}

MatrixD sample_points(Rng& rng, const Box& box, int n_random) {
  const Index n = box.size();
  const Index n_corners = n <= 6 ? Index(1) << n : 64;
  MatrixD x(n, n_random + n_corners);
  for (Index j = 0; j < x.cols(); ++j)
    for (Index i = 0; i < n; ++i) {
      if (j < n_random) {
        x(i, j) = box.lo[i] + (box.hi[i] - box.lo[i]) * rng.uniform();
      } else {
        const Index k = j - n_random;
        const bool hi = n <= 6 ? ((k >> i) & 1) != 0 : rng.uniform() < 0.5;
        x(i, j) = hi ? box.hi[i] : box.lo[i];
      }
    }
  return x;
}

}  // namespace

TEST(CertifySoundness, BoundsContainTheOracleOnRandomNetworks) {
  Rng rng(2024);
  const int n_nets = 10000;
  long n_points = 0, crown_tighter = 0, crown_strictly = 0, n_outputs = 0, degenerate = 0;
  double worst_ratio = 0, sum_log_ratio = 0, worst_point_width = 0;
  long n_point_boxes = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int net = 0; net < n_nets; ++net) {
    const Case c = random_case(rng);
    Bounder b(c.o);
    const Enclosure ibp = b.outputs(c.box, Method::ibp);
    const Enclosure crown = b.outputs(c.box, Method::crown);
    const MatrixD x = sample_points(rng, c.box, 50);
    const MatrixD y = c.o.predict(x);
    // The real-valued function (long double reference) at a few of the points.
    for (Index k = 0; k < 8; ++k) {
      const std::vector<invsweep::testing::LD> ref = invsweep::testing::predict_ld(c.o, x.col(k));
      for (Index j = 0; j < y.rows(); ++j) {
        const invsweep::testing::LD v = ref[static_cast<std::size_t>(j)], tol = 1e-18L * (1 + std::fabs(v));
        ASSERT_TRUE(crown.lo[j] <= v + tol && v - tol <= crown.hi[j]) << "net " << net << " long double reference";
        ASSERT_TRUE(ibp.lo[j] <= v + tol && v - tol <= ibp.hi[j]) << "net " << net << " long double reference";
      }
    }
    for (Index j = 0; j < y.rows(); ++j) {
      for (Index k = 0; k < y.cols(); ++k) {
        ASSERT_TRUE(ibp.lo[j] <= y(j, k) && y(j, k) <= ibp.hi[j]) << fmt::format(
            "net {} output {} point {}: ibp [{:.17g}, {:.17g}] y {:.17g}", net, j, k, ibp.lo[j], ibp.hi[j], y(j, k));
        ASSERT_TRUE(crown.lo[j] <= y(j, k) && y(j, k) <= crown.hi[j])
            << fmt::format("net {} output {} point {}: crown [{:.17g}, {:.17g}] y {:.17g}", net, j, k, crown.lo[j],
                           crown.hi[j], y(j, k));
      }
      const double wi = ibp.hi[j] - ibp.lo[j], wc = crown.hi[j] - crown.lo[j];
      ++n_outputs;
      if (wc <= wi) ++crown_tighter;
      if (wc < wi * (1 - 1e-9)) ++crown_strictly;
      if (wi > 1e-9 * (1 + std::abs(ibp.hi[j]))) {
        const double ratio = wc / wi;
        worst_ratio = std::max(worst_ratio, ratio);
        sum_log_ratio += std::log(ratio);
      } else {
        ++degenerate;
      }
    }
    n_points += y.cols();
    if ((c.box.lo.array() == c.box.hi.array()).all()) {  // a point: the width is rounding only
      ++n_point_boxes;
      for (Index j = 0; j < y.rows(); ++j)
        worst_point_width = std::max(worst_point_width, (crown.hi[j] - crown.lo[j]) / (1 + std::abs(y(j, 0))));
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double geo = std::exp(sum_log_ratio / static_cast<double>(n_outputs - degenerate));
  std::printf(
      "  %d networks, %ld points, %ld outputs: CROWN width <= IBP width in %ld (%.1f %%), strictly "
      "narrower in %ld (%.1f %%), geometric mean width ratio CROWN/IBP %.3f, worst %.3f, %.1f s\n",
      n_nets, n_points, n_outputs, crown_tighter,
      100.0 * static_cast<double>(crown_tighter) / static_cast<double>(n_outputs), crown_strictly,
      100.0 * static_cast<double>(crown_strictly) / static_cast<double>(n_outputs), geo, worst_ratio, secs);
  std::printf("  %ld point boxes: widest enclosure %.2e relative to 1 + |y|\n", n_point_boxes, worst_point_width);
  // CROWN intersects with IBP, so it is never wider; a point's enclosure is rounding only.
  EXPECT_EQ(crown_tighter, n_outputs);
  EXPECT_LT(worst_point_width, 1e-10);
}

TEST(CertifySoundness, LinearObjectiveBoundContainsTheOracle) {
  Rng rng(77);
  int tighter = 0, total = 0;
  for (int net = 0; net < 2000; ++net) {
    const Case c = random_case(rng);
    VectorD w(c.o.n_out());
    for (Index j = 0; j < w.size(); ++j)
      w[j] = rng.normal();
    Bounder b(c.o);
    const double hi = b.upper_linear(w, c.box, Method::crown);
    const double lo = b.lower_linear(w, c.box, Method::crown);
    const Enclosure e = b.outputs(c.box, Method::crown);
    double naive = 0;
    for (Index j = 0; j < w.size(); ++j)
      naive += std::max(w[j] * e.lo[j], w[j] * e.hi[j]);
    ++total;
    if (hi <= naive + 1e-12 * (1 + std::abs(naive))) ++tighter;
    const MatrixD x = sample_points(rng, c.box, 50);
    const VectorD v = (w.transpose() * c.o.predict(x)).transpose();
    for (Index k = 0; k < v.size(); ++k) {
      ASSERT_LE(lo, v[k]) << "net " << net;
      ASSERT_GE(hi, v[k]) << "net " << net;
    }
  }
  std::printf("  c·y bound at most the per-output combination in %d of %d cases\n", tighter, total);
}

// The branch and bound's inner call allocates nothing once the Bounder exists.
TEST(CertifySoundness, BoundingAllocatesNothingAfterTheFirstCall) {
  if (!testing_alloc::available()) GTEST_SKIP() << "allocation counting is off under sanitizers";
  Rng rng(3);
  for (nn::Activation act : {nn::Activation::relu, nn::Activation::tanh, nn::Activation::gelu}) {
    const oracle::Oracle o =
        invsweep::testing::wrap(invsweep::testing::random_net(rng, {4, 64, 64, 2}, {act, act, act}));
    Bounder b(o);
    const Box box{VectorD::Constant(4, -1.0), VectorD::Constant(4, 1.0)};
    const VectorD c = VectorD::Ones(2);
    VectorD slope(4);
    b.upper_linear(c, box, Method::crown, &slope);
    const long before = testing_alloc::count();
    for (int i = 0; i < 10; ++i)
      b.upper_linear(c, box, Method::crown, &slope);
    EXPECT_EQ(testing_alloc::count() - before, 0) << nn::to_string(act);
  }
}
