// Proven root counts on hand-built networks whose roots are known independently (dense
// sampling and bisection of the closed form).
#include <gtest/gtest.h>

#include <Eigen/LU>
#include <cmath>
#include <functional>
#include <vector>

#include "certify_nets.hpp"
#include "invsweep/certify/roots.hpp"

using namespace invsweep;
using namespace invsweep::certify;

namespace {

/// Roots of f on [lo, hi] from sign changes on a grid of n points, refined by bisection.
std::vector<double> roots_1d(const std::function<long double(long double)>& f, double lo, double hi, int n = 200000) {
  std::vector<double> roots;
  long double a = lo, fa = f(a);
  for (int i = 1; i <= n; ++i) {
    const long double b = lo + (hi - lo) * static_cast<long double>(i) / n, fb = f(b);
    if ((fa < 0) != (fb < 0)) {
      long double p = a, q = b;
      for (int it = 0; it < 100; ++it) {
        const long double m = 0.5L * (p + q);
        ((f(m) < 0) == (f(p) < 0) ? p : q) = m;
      }
      roots.push_back(static_cast<double>(0.5L * (p + q)));
    }
    a = b;
    fa = fb;
  }
  return roots;
}

/// y = 2·(tanh(2(x+3)) − tanh(2(x+1)) + tanh(2(x−1)) − tanh(2(x−3)) − 0.5) + 1.
oracle::Oracle bumps() {
  nn::Mlp<double> net({{1, 4, nn::Activation::tanh}, {4, 1, nn::Activation::identity}});
  net.weight(0) << 2, 2, 2, 2;
  net.bias(0) << 6, 2, -2, -6;
  net.weight(1) << 1, -1, 1, -1;
  net.bias(1) << -0.5;
  oracle::Oracle o = invsweep::testing::wrap(net);
  o.output_scaler.mean[0] = 1.0;
  o.output_scaler.scale[0] = 2.0;
  return o;
}

long double bumps_f(long double x, long double t) {
  return 2 * (std::tanh(2 * (x + 3)) - std::tanh(2 * (x + 1)) + std::tanh(2 * (x - 1)) - std::tanh(2 * (x - 3)) -
              0.5L) +
         1 - t;
}

}  // namespace

TEST(CertifyRoots, OneDimensionalSumOfTanh) {
  const oracle::Oracle o = bumps();
  struct Case {
    double lo, hi, t;
  };
  // The last case puts a root at x = 1 (to rounding), the face of the first bisection.
  const double at_one = static_cast<double>(bumps_f(1.0L, 0.0L));
  for (const Case c : {Case{-5, 5, 1.0}, Case{-5, 0, 1.0}, Case{-5, 5, 2.5}, Case{-0.5, 0.5, 1.0}, Case{-5, 5, -0.5},
                       Case{-4, 6, at_one}}) {
    const std::vector<double> truth = roots_1d([&](long double x) { return bumps_f(x, c.t); }, c.lo, c.hi);
    const RootResult r =
        count_roots(o, VectorD::Constant(1, c.t), Box{VectorD::Constant(1, c.lo), VectorD::Constant(1, c.hi)});
    std::printf("  [%g, %g], t = %g: %zu roots by sampling, proven %d (%lld boxes)\n", c.lo, c.hi, c.t, truth.size(),
                r.n_roots, static_cast<long long>(r.boxes));
    EXPECT_TRUE(r.square);
    ASSERT_EQ(r.n_roots, static_cast<int>(truth.size()));
    for (std::size_t i = 0; i < truth.size(); ++i) {
      bool found = false;
      for (const Box& e : r.enclosures)
        found = found || (e.lo[0] <= truth[i] + 1e-9 && truth[i] - 1e-9 <= e.hi[0]);
      EXPECT_TRUE(found) << "root " << truth[i] << " not in any enclosure";
    }
  }
}

TEST(CertifyRoots, TwoDimensionalSquareSystem) {
  // y = A·(g(z1), h(z2)) with z = B⁻¹x: the roots are B·(roots of g × roots of h).
  const auto g = [](long double s) { return std::tanh(2 * (s + 1)) - std::tanh(2 * (s - 1)) - 1; };
  const auto h = [](long double s) { return std::tanh(1.5L * (s + 0.5L)) - std::tanh(1.5L * (s - 1.5L)) - 1.2L; };
  Eigen::Matrix2d a, b;
  a << 1, 0.5, -0.4, 1;
  b << 1, 0.3, -0.2, 1;
  const Eigen::Matrix2d bi = b.inverse();
  nn::Mlp<double> net({{2, 4, nn::Activation::tanh}, {4, 2, nn::Activation::identity}});
  net.weight(0).row(0) = 2 * bi.row(0);
  net.weight(0).row(1) = 2 * bi.row(0);
  net.weight(0).row(2) = 1.5 * bi.row(1);
  net.weight(0).row(3) = 1.5 * bi.row(1);
  net.bias(0) << 2, -2, 0.75, -2.25;
  Eigen::Matrix<double, 2, 4> sel;
  sel << 1, -1, 0, 0, 0, 0, 1, -1;
  net.weight(1) = a * sel;
  net.bias(1) = a * Eigen::Vector2d(-1, -1.2);
  const oracle::Oracle o = invsweep::testing::wrap(net);

  const std::vector<double> rg = roots_1d(g, -6, 6), rh = roots_1d(h, -6, 6);
  ASSERT_EQ(rg.size(), 2u);
  ASSERT_EQ(rh.size(), 2u);
  for (const auto& [lo, hi] : {std::pair{Eigen::Vector2d(-4, -4), Eigen::Vector2d(4, 4)},
                               std::pair{Eigen::Vector2d(0, -4), Eigen::Vector2d(4, 4)}}) {
    int expected = 0;
    for (double zg : rg)
      for (double zh : rh) {
        const Eigen::Vector2d x = b * Eigen::Vector2d(zg, zh);
        if ((x.array() > lo.array()).all() && (x.array() < hi.array()).all()) ++expected;
      }
    const RootResult r = count_roots(o, VectorD::Zero(2), Box{lo, hi});
    std::printf("  box [%g, %g] x [%g, %g]: %d roots expected, proven %d (%lld boxes)\n", lo[0], hi[0], lo[1], hi[1],
                expected, r.n_roots, static_cast<long long>(r.boxes));
    EXPECT_EQ(r.n_roots, expected);
  }
}

TEST(CertifyRoots, ReluSystemWithKinks) {
  // |x1| + |x2| − 1 = 0 and x1 − 2·x2 − 0.1 = 0: (0.7, 0.3) and (−0.6333…, −0.3666…).
  nn::Mlp<double> net({{2, 4, nn::Activation::relu}, {4, 2, nn::Activation::identity}});
  net.weight(0) << 1, 0, -1, 0, 0, 1, 0, -1;
  net.bias(0).setZero();
  net.weight(1) << 1, 1, 1, 1, 1, -1, -2, 2;
  net.bias(1) << -1, -0.1;
  const oracle::Oracle o = invsweep::testing::wrap(net);
  const RootResult r = count_roots(o, VectorD::Zero(2), Box{VectorD::Constant(2, -2.0), VectorD::Constant(2, 2.0)});
  std::printf("  relu system: proven %d roots (%lld boxes)\n", r.n_roots, static_cast<long long>(r.boxes));
  ASSERT_EQ(r.n_roots, 2);
  for (const Box& e : r.enclosures) {
    const bool first = e.lo[0] <= 0.7 && 0.7 <= e.hi[0] && e.lo[1] <= 0.3 && 0.3 <= e.hi[1];
    const bool second = e.lo[0] <= -0.6333333333333 && -0.6333333333334 <= e.hi[0] && e.lo[1] <= -0.3666666666666 &&
                        -0.3666666666667 <= e.hi[1];
    EXPECT_TRUE(first || second);
  }
}

TEST(CertifyRoots, NotSquareIsUndecided) {
  const oracle::Oracle o = bumps();
  const RootResult r =
      count_roots(o, VectorD::Constant(1, 1.0), Box{VectorD::Constant(1, 0.0), VectorD::Constant(1, 0.0)});
  EXPECT_FALSE(r.square);
  EXPECT_EQ(r.n_roots, -1);
}

TEST(CertifyRoots, JacobianEnclosureContainsPointJacobians) {
  Rng rng(5);
  for (int rep = 0; rep < 300; ++rep) {
    const nn::Activation act = static_cast<nn::Activation>(rng.below(7));
    oracle::Oracle o =
        invsweep::testing::wrap(invsweep::testing::random_net(rng, {3, 8, 8, 2}, {act, act, nn::Activation::tanh}));
    o.input_scaler.scale << 0.5, 2.0, 1.0;
    o.output_scaler.scale << 3.0, 0.2;
    const VectorD c = VectorD::NullaryExpr(3, [&](Index) { return rng.normal(); });
    const double w = std::exp(rng.uniform(-6, 0));
    const Box box{(c.array() - w).matrix(), (c.array() + w).matrix()};
    Bounder b(o);
    MatrixD mid, rad;
    jacobian_enclosure(b, box, {0, 1, 2}, mid, rad);
    for (int k = 0; k < 20; ++k) {
      VectorD x(3);
      for (Index i = 0; i < 3; ++i)
        x[i] = box.lo[i] + (box.hi[i] - box.lo[i]) * rng.uniform();
      for (Index i = 0; i < 3; ++i) {  // central differences, step well inside the box
        const double hstep = 1e-6 * w;
        VectorD xp = x, xm = x;
        xp[i] += hstep;
        xm[i] -= hstep;
        const VectorD d = (o.predict(xp) - o.predict(xm)).col(0) / (2 * hstep);
        for (Index j = 0; j < 2; ++j) {
          const double tol = 1e-6 * (1 + std::abs(d[j]));
          if (act == nn::Activation::relu) continue;  // kinks make finite differences unreliable
          ASSERT_LE(mid(j, i) - rad(j, i) - tol, d[j]) << nn::to_string(act) << " rep " << rep;
          ASSERT_GE(mid(j, i) + rad(j, i) + tol, d[j]) << nn::to_string(act) << " rep " << rep;
        }
      }
    }
  }
}
