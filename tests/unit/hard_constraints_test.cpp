// Hard constraints (subject_to, plausible) in the evaluator every solver uses: the penalty's
// loss against its definition and its gradient against central finite differences of that
// definition (computed here in double), Mahalanobis distances against a direct inverse of the
// covariance, /violations against its definition, and the feasibility phase on a random
// oracle (every vector feasible afterwards, the target still met).
#include <gtest/gtest.h>

#include <Eigen/LU>
#include <cmath>
#include <limits>

#include "fd_check.hpp"
#include "invsweep/inverse/polish.hpp"
#include "invsweep/inverse/problem.hpp"

using namespace invsweep;
using namespace invsweep::inverse;
using invsweep::testing::FdTable;
using invsweep::testing::random_oracle;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kMu0 = 10.0;  // the penalty's initial weight (problem.hpp)

/// Adds a random positive definite covariance and a mean to the oracle's inputs.
void add_input_stats(oracle::Oracle& o, Rng& rng) {
  const Index n = o.n_in();
  MatrixD a(n, n);
  for (Index i = 0; i < a.size(); ++i)
    a.data()[i] = rng.normal();
  // D (A Aᵀ/n + 0.3 I) D with D the input scales: correlated, positive definite.
  const MatrixD core = a * a.transpose() / static_cast<double>(n) + 0.3 * MatrixD::Identity(n, n);
  o.input_cov = o.input_scaler.scale.asDiagonal() * core * o.input_scaler.scale.asDiagonal();
  o.input_mean = o.input_scaler.mean + 0.3 * o.input_scaler.scale;
}

/// A random oracle (one output) with input statistics, its float network, and a target at the
/// output's mean: the set-up of the plausibility tests.
struct StatsCase {
  Rng rng;
  oracle::Oracle o;
  nn::Mlp<float> net;
  Objective obj;
  StatsCase(std::uint64_t rng_seed, Index n_in, std::uint64_t oracle_seed)
      : rng(rng_seed), o(random_oracle(n_in, 1, oracle_seed)) {
    add_input_stats(o, rng);
    net = o.net.cast<float>();
    obj.kind = ObjectiveKind::target;
    obj.target = VectorD::Constant(1, o.output_scaler.mean[0]);
  }
};

/// Σ_k over constrained outputs of μ(e + e²), averaged over columns: the penalty's definition.
double penalty_closed_form(const MatrixD& u, const VectorD& lo_u, const VectorD& hi_u) {
  double total = 0;
  for (Index j = 0; j < u.cols(); ++j)
    for (Index k = 0; k < u.rows(); ++k) {
      const double e = std::max({lo_u[k] - u(k, j), u(k, j) - hi_u[k], 0.0});
      total += kMu0 * (e + e * e);
    }
  return total / static_cast<double>(u.cols());
}

TEST(HardConstraints, OutputPenaltyMatchesItsDefinitionAndFiniteDifferences) {
  Rng rng(11);
  const oracle::Oracle o = random_oracle(3, 3, 5);
  const nn::Mlp<float> net = o.net.cast<float>();
  Objective obj;
  obj.kind = ObjectiveKind::maximize;
  obj.weights = (VectorD(3) << 1.0, 0.0, 0.0).finished();
  obj.sub_lo = (VectorD(3) << -kInf, o.output_scaler.mean[1] - 0.2, -kInf).finished();
  obj.sub_hi = (VectorD(3) << kInf, o.output_scaler.mean[1] + 0.1, o.output_scaler.mean[2]).finished();
  const Constraint c = Constraint::free(3);
  const auto scaled = [&](const VectorD& y) {
    return VectorD(((y - o.output_scaler.mean).array() / o.output_scaler.scale.array()).matrix());
  };
  const VectorD lo_u = scaled(obj.sub_lo), hi_u = scaled(obj.sub_hi);
  // Outputs away from the kinks at the range ends, on both sides.
  const Index n = 16;
  MatrixD u(3, n);
  for (Index j = 0; j < n; ++j)
    for (Index k = 0; k < 3; ++k) {
      double v = 0;
      do {
        v = 1.5 * rng.normal();
      } while (std::abs(v - lo_u[k]) < 0.05 || std::abs(v - hi_u[k]) < 0.05);
      u(k, j) = v;
    }
  const auto loss_of = [&](const MatrixD& uu) {
    const Problem p(o, net, obj, c, {});  // fresh: the weight is μ0
    MatrixF uf = uu.cast<float>(), g(3, n);
    return p.objective_grad(MatrixMap<float>(uf.data(), 3, n), MatrixMap<float>(g.data(), 3, n));
  };
  // The linear part: −Σ w·u/||w ⊙ scale|| (maximize), per column mean.
  const double lin =
      -(u.row(0).sum() / static_cast<double>(n)) * o.output_scaler.scale[0] / std::abs(o.output_scaler.scale[0]);
  EXPECT_NEAR(loss_of(u), lin + penalty_closed_form(u, lo_u, hi_u), 1e-4 * (1 + std::abs(lin)));
  const Problem p(o, net, obj, c, {});
  MatrixF uf = u.cast<float>(), g(3, n);
  p.objective_grad(MatrixMap<float>(uf.data(), 3, n), MatrixMap<float>(g.data(), 3, n));
  FdTable t;
  const double h = 1e-5;
  for (Index j = 0; j < n; ++j)
    for (Index k = 0; k < 3; ++k) {
      MatrixD up = u, dn = u;
      up(k, j) += h;
      dn(k, j) -= h;
      const double num = (penalty_closed_form(up, lo_u, hi_u) - penalty_closed_form(dn, lo_u, hi_u)) / (2 * h) +
                         (k == 0 ? -1.0 / static_cast<double>(n) : 0.0);
      t.add(fmt::format("dL/du[{}, {}]", k, j), g(k, j), num);
    }
  t.floor_at(1e-3);
  EXPECT_LT(t.worst, 1e-3) << t.table(1e-3);
}

TEST(HardConstraints, MahalanobisMatchesADirectInverseAndItsGradientFiniteDifferences) {
  StatsCase sc(3, 4, 9);
  Rng& rng = sc.rng;
  const oracle::Oracle& o = sc.o;
  const nn::Mlp<float>& net = sc.net;
  const Objective& obj = sc.obj;
  Constraint c = Constraint::free(4);
  c.fixed[2] = 1;
  c.fixed_value[2] = o.input_scaler.mean[2] + 0.7;
  c.plausible = 2.0;
  const Problem p(o, net, obj, c, {});
  const MatrixD inv = o.input_cov.inverse();
  MatrixD s(3, 10);
  for (Index i = 0; i < s.size(); ++i)
    s.data()[i] = 1.5 * rng.normal();
  const MatrixD x = p.to_original(s);
  const VectorD d = p.mahalanobis(x);
  FdTable t;
  for (Index j = 0; j < s.cols(); ++j) {
    const VectorD v = x.col(j) - o.input_mean;
    EXPECT_NEAR(d[j], std::sqrt(v.dot(inv * v)), 1e-10 * (1 + d[j]));
    VectorD grad;
    const double dj = p.mahalanobis_grad(s.col(j), &grad);
    EXPECT_NEAR(dj, d[j], 1e-10 * (1 + d[j]));
    for (Index k = 0; k < 3; ++k) {
      VectorD up = s.col(j), dn = s.col(j);
      up[k] += 1e-6;
      dn[k] -= 1e-6;
      t.add(fmt::format("dd/ds[{}] of vector {}", k, j), grad[k],
            (p.mahalanobis_grad(up, nullptr) - p.mahalanobis_grad(dn, nullptr)) / 2e-6);
    }
  }
  EXPECT_LT(t.worst, 1e-6) << t.table(1e-3);
}

TEST(HardConstraints, PlausibilityPenaltyGradientMatchesFiniteDifferences) {
  StatsCase sc(8, 3, 4);
  Rng& rng = sc.rng;
  const oracle::Oracle& o = sc.o;
  const nn::Mlp<float>& net = sc.net;
  const Objective& obj = sc.obj;
  Constraint c = Constraint::free(3);
  c.plausible = 1.0;
  const Index n = 12;
  MatrixF s(3, n);
  for (Index i = 0; i < s.size(); ++i)
    s.data()[i] = static_cast<float>(1.5 * rng.normal());
  const auto definition = [&](const Problem& p, const MatrixD& sd) {
    double total = 0;
    for (Index j = 0; j < n; ++j) {
      const double e = std::max(p.mahalanobis_grad(sd.col(j), nullptr) - 1.0, 0.0);
      total += kMu0 * (e + e * e);
    }
    return total / static_cast<double>(n);
  };
  const Problem p(o, net, obj, c, {});
  MatrixF g = MatrixF::Zero(3, n);
  VectorF scratch;
  const double loss = p.regularize(s, g, scratch);
  const MatrixD sd = s.cast<double>();
  EXPECT_NEAR(loss, definition(p, sd), 1e-5 * (1 + loss));
  FdTable t;
  for (Index j = 0; j < n; ++j)
    for (Index k = 0; k < 3; ++k) {
      MatrixD up = sd, dn = sd;
      up(k, j) += 1e-6;
      dn(k, j) -= 1e-6;
      t.add(fmt::format("dL/ds[{}, {}]", k, j), g(k, j), (definition(p, up) - definition(p, dn)) / 2e-6);
    }
  t.floor_at(1e-3);
  EXPECT_LT(t.worst, 1e-4) << t.table(1e-3);
}

TEST(HardConstraints, ViolationsFollowTheirDefinition) {
  const oracle::Oracle o = random_oracle(2, 2, 1);
  const nn::Mlp<float> net = o.net.cast<float>();
  Objective obj;
  obj.kind = ObjectiveKind::minimize;
  obj.weights = (VectorD(2) << 1.0, 0.0).finished();
  obj.sub_lo = (VectorD(2) << -kInf, 100.0).finished();
  obj.sub_hi = (VectorD(2) << kInf, 200.0).finished();
  Constraint c = Constraint::free(2);
  c.lower << -1.0, -0.5;
  c.upper << 1.0, 0.5;
  const Problem p(o, net, obj, c, {});
  MatrixD x(2, 4), y(2, 4);
  x << 0.0, 3.0, 0.0, -0.6,  //
      0.0, 0.0, 0.25, 0.75;
  y << 5.0, 5.0, 5.0, 5.0,  //
      150.0, 150.0, 260.0, 40.0;
  const VectorD v = p.violations(x, y);
  EXPECT_EQ(v[0], 0.0);
  EXPECT_NEAR(v[1], 2.0 / 1.0, 1e-15);                       // x1 = 3 above 1: relative to max(1, |1|)
  EXPECT_NEAR(v[2], 60.0 / 200.0, 1e-15);                    // y2 = 260 above 200
  EXPECT_NEAR(v[3], std::hypot(0.25, 60.0 / 100.0), 1e-15);  // x2 past 0.5 and y2 below 100
}

TEST(HardConstraints, FeasibilityPhaseMovesEveryVectorIntoTheSetAndKeepsTheTarget) {
  Rng rng(21);
  oracle::Oracle o = random_oracle(4, 2, 12);
  add_input_stats(o, rng);
  const nn::Mlp<float> net = o.net.cast<float>();
  // A target for y1 and a range for y2, both met by a known point x*: the set is not empty.
  const VectorD xstar = o.input_mean + 0.2 * o.input_scaler.scale;
  const VectorD ystar = o.predict(xstar).col(0);
  Objective obj;
  obj.kind = ObjectiveKind::target;
  obj.target = (VectorD(2) << ystar[0], std::numeric_limits<double>::quiet_NaN()).finished();
  obj.sub_lo = (VectorD(2) << -kInf, ystar[1] - 0.05 * o.output_scaler.scale[1]).finished();
  obj.sub_hi = (VectorD(2) << kInf, ystar[1] + 0.05 * o.output_scaler.scale[1]).finished();
  Constraint c = Constraint::free(4);
  c.lower = o.input_lo;
  c.upper = o.input_hi;
  const VectorD vx = xstar - o.input_mean;
  c.plausible = 1.5 * std::sqrt(vx.dot(o.input_cov.inverse() * vx));
  const Problem p(o, net, obj, c, {});
  // Starts near x*, most of them outside the output range or the ellipsoid.
  MatrixD s = p.to_scaled_free(xstar.replicate(1, 32));
  for (Index i = 0; i < s.size(); ++i)
    s.data()[i] += 0.3 * rng.normal();
  PolishSettings ps;
  restore_feasibility(p, ps, s);
  TaskResult r;
  p.finish(s, r);
  Index feasible = 0;
  for (Index j = 0; j < s.cols(); ++j) {
    if (r.violations[j] > Problem::kFeasibleTolerance) continue;
    ++feasible;
    EXPECT_LE(r.outputs(1, j), obj.sub_hi[1] + 1e-9);
    EXPECT_GE(r.outputs(1, j), obj.sub_lo[1] - 1e-9);
    EXPECT_LE(r.mahalanobis[j], c.plausible + 1e-9);
    EXPECT_LT(std::abs(r.outputs(0, j) - ystar[0]), 1e-8 * (1 + std::abs(ystar[0])));
  }
  EXPECT_GE(feasible, 30) << "of 32 starts";
}

}  // namespace
