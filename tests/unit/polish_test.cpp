// The Levenberg–Marquardt polish on problems with closed-form answers: a linear oracle with
// non-trivial scalers (the target's solutions are a hyperplane), with bounds and a fixed
// feature, a 1-D monotone oracle (tanh, one root), a range objective, zero weights, and the
// objectives it leaves alone.
#include "invsweep/inverse/polish.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "closed_form.hpp"
#include "fd_check.hpp"

using namespace invsweep;
using namespace invsweep::inverse;

namespace {

// y = a·x + c in original units through an identity layer between scalers: y = so·(w·(x − m)/sc
// + b) + mo with w = (0.7, −1.2, 0.4, …) cycled over the inputs and outputs.
oracle::Oracle scaled_linear_oracle(Index n_in, Index n_out) {
  oracle::Oracle o;
  for (Index i = 0; i < n_in; ++i)
    o.input_names.push_back(fmt::format("x{}", i + 1));
  for (Index k = 0; k < n_out; ++k)
    o.output_names.push_back(fmt::format("y{}", k + 1));
  o.net = nn::Mlp<double>({{n_in, n_out, nn::Activation::identity}});
  const double w[] = {0.7, -1.2, 0.4, 1.1, -0.3};
  for (Index k = 0; k < n_out; ++k) {
    for (Index i = 0; i < n_in; ++i)
      o.net.weight(0)(k, i) = w[(i + 2 * k) % 5];
    o.net.bias(0)[k] = 0.3 - 0.5 * static_cast<double>(k);
  }
  o.input_scaler.mean = VectorD::LinSpaced(n_in, 1.0, -2.0);
  o.input_scaler.scale = VectorD::LinSpaced(n_in, 2.0, 0.5);
  o.output_scaler.mean = VectorD::LinSpaced(n_out, 10.0, -3.0);
  o.output_scaler.scale = VectorD::LinSpaced(n_out, 4.0, 0.25);
  o.input_lo = o.input_scaler.mean - 3.0 * o.input_scaler.scale;
  o.input_hi = o.input_scaler.mean + 3.0 * o.input_scaler.scale;
  return o;
}

// Gradient a_k (original units) and offset c_k of output k.
VectorD slope(const oracle::Oracle& o, Index k) {
  return (o.net.weight(0).row(k).transpose().array() * o.output_scaler.scale[k] / o.input_scaler.scale.array())
      .matrix();
}
double offset(const oracle::Oracle& o, Index k) {
  return o.output_scaler.scale[k] * o.net.bias(0)[k] + o.output_scaler.mean[k] - slope(o, k).dot(o.input_scaler.mean);
}

PolishSettings settings() {
  PolishSettings s;
  s.enabled = true;
  return s;
}

}  // namespace

// Starts 0.05–0.5 (original units) off the hyperplane a·x + c = t; ends on it to 1e-10·|t|.
TEST(Polish, LinearTargetReachesTheHyperplane) {
  const oracle::Oracle o = scaled_linear_oracle(3, 1);
  const nn::Mlp<float> net = o.net.cast<float>();
  const VectorD a = slope(o, 0);
  const double c = offset(o, 0), t = 13.7;
  Objective obj;
  obj.target = VectorD::Constant(1, t);
  const Problem p(o, net, obj, Constraint::free(3), Regularize{});
  Rng rng(500);
  MatrixD x(3, 16);
  for (Index j = 0; j < 16; ++j) {
    VectorD xj = o.input_scaler.mean + VectorD::NullaryExpr(3, [&] { return rng.normal(); });
    xj += a * (t - a.dot(xj) - c) / a.squaredNorm();  // on the hyperplane
    xj += a.normalized() * rng.uniform(0.05, 0.5) * (j % 2 == 0 ? 1 : -1);
    x.col(j) = xj;
  }
  MatrixD s = p.to_scaled_free(x);
  const int iters = polish(p, settings(), s);
  const MatrixD xe = p.to_original(s);
  for (Index j = 0; j < 16; ++j)
    EXPECT_LE(std::abs(a.dot(xe.col(j)) + c - t), 1e-10 * std::abs(t)) << "column " << j;
  EXPECT_LE(p.residuals(o.predict(xe)).maxCoeff(), 1e-10 * std::abs(t));
  EXPECT_GT(iters, 0);
  EXPECT_LT(iters, 100);
}

// Feature 0 starts on its upper bound with the unconstrained step pointing outwards; feature 1
// is fixed. The answer stays in the box, feature 1 keeps its value, feature 2 makes up the rest.
TEST(Polish, RespectsBoundsAndFixedFeatures) {
  const oracle::Oracle o = scaled_linear_oracle(3, 1);
  const nn::Mlp<float> net = o.net.cast<float>();
  const VectorD a = slope(o, 0);
  ASSERT_GT(a[0], 0);
  const double c = offset(o, 0), t = 5.0;
  Objective obj;
  obj.target = VectorD::Constant(1, t);
  Constraint con = Constraint::free(3);
  con.fixed[1] = 1;
  con.fixed_value[1] = -1.75;
  con.lower[0] = 0.0;
  con.upper[0] = 2.0;
  con.lower[2] = -50.0;
  con.upper[2] = 50.0;
  const Problem p(o, net, obj, con, Regularize{});
  MatrixD x(3, 8);
  for (Index j = 0; j < 8; ++j) {
    x(0, j) = 2.0;  // on the bound
    x(1, j) = -1.75;
    x(2, j) = (t - 1.0 - 0.2 * static_cast<double>(j) - c - a[0] * x(0, j) - a[1] * x(1, j)) / a[2];  // output below t
  }
  ASSERT_LT(x.row(2).cwiseAbs().maxCoeff(), 50.0);  // the start is inside the box
  MatrixD s = p.to_scaled_free(x);
  polish(p, settings(), s);
  const MatrixD xe = p.to_original(s);
  for (Index j = 0; j < 8; ++j) {
    EXPECT_GE(xe(0, j), 0.0 - 1e-12);
    EXPECT_LE(xe(0, j), 2.0 + 1e-12);
    EXPECT_EQ(xe(1, j), -1.75);
    EXPECT_LE(std::abs(a.dot(xe.col(j)) + c - t), 1e-10 * t) << "column " << j;
  }
}

// tanh has one root per target in (−1, 1): from ±0.3 around it, polish lands on atanh(t).
TEST(Polish, MonotoneOracleFindsTheUniqueRoot) {
  const oracle::Oracle o = invsweep::testing::tanh_oracle();
  const nn::Mlp<float> net = o.net.cast<float>();
  for (double t : {-0.8, 0.1, 0.5}) {
    Objective obj;
    obj.target = VectorD::Constant(1, t);
    const Problem p(o, net, obj, Constraint::free(1), Regularize{});
    MatrixD s(1, 5);
    s << -0.3, -0.1, 0.0, 0.2, 0.3;
    s.array() += std::atanh(t);
    polish(p, settings(), s);
    for (Index j = 0; j < 5; ++j) {
      EXPECT_NEAR(s(0, j), std::atanh(t), 1e-9) << "target " << t;
      EXPECT_LE(std::abs(std::tanh(s(0, j)) - t), 1e-10) << "target " << t;
    }
  }
}

// Outputs already inside the range: nothing to do, nothing moves. Outputs outside: they end
// inside (to the tolerance) and polish stops well before max_iter.
TEST(Polish, RangeObjectiveStopsOnceInside) {
  const oracle::Oracle o = scaled_linear_oracle(3, 1);
  const nn::Mlp<float> net = o.net.cast<float>();
  const VectorD a = slope(o, 0);
  const double c = offset(o, 0), lo = 8.0, hi = 12.0;
  Objective obj;
  obj.kind = ObjectiveKind::range;
  obj.lo = VectorD::Constant(1, lo);
  obj.hi = VectorD::Constant(1, hi);
  const Problem p(o, net, obj, Constraint::free(3), Regularize{});
  const auto start = [&](const VectorD& y) {
    MatrixD x(3, y.size());
    for (Index j = 0; j < y.size(); ++j) {
      VectorD xj = o.input_scaler.mean;
      xj += a * (y[j] - a.dot(xj) - c) / a.squaredNorm();
      x.col(j) = xj;
    }
    return p.to_scaled_free(x);
  };
  MatrixD inside = start(VectorD::LinSpaced(6, 8.5, 11.5));
  const MatrixD before = inside;
  EXPECT_EQ(polish(p, settings(), inside), 0);
  EXPECT_TRUE(inside == before);

  MatrixD outside = start(VectorD::LinSpaced(6, 2.0, 20.0));
  const int iters = polish(p, settings(), outside);
  const MatrixD y = o.predict(p.to_original(outside));
  for (Index j = 0; j < y.cols(); ++j) {
    EXPECT_GE(y(0, j), lo - 1e-10 * lo) << "column " << j;
    EXPECT_LE(y(0, j), hi + 1e-10 * hi) << "column " << j;
  }
  EXPECT_GT(iters, 0);
  EXPECT_LT(iters, 30);
}

// A zero weight leaves that output out of the residual: output 1 reaches its target, output 2
// goes wherever the solution takes it.
TEST(Polish, ZeroWeightOutputIsIgnored) {
  const oracle::Oracle o = scaled_linear_oracle(3, 2);
  const nn::Mlp<float> net = o.net.cast<float>();
  const VectorD a = slope(o, 0);
  const double c = offset(o, 0);
  Objective obj;
  obj.target = VectorD(2);
  obj.target << 4.0, 1e6;  // the second is unreachable from here and must not matter
  obj.weights = VectorD(2);
  obj.weights << 1.0, 0.0;
  const Problem p(o, net, obj, Constraint::free(3), Regularize{});
  MatrixD s = MatrixD::Zero(3, 4);
  s.row(0) << -0.5, 0.0, 0.5, 1.0;
  polish(p, settings(), s);
  const MatrixD x = p.to_original(s);
  for (Index j = 0; j < 4; ++j)
    EXPECT_LE(std::abs(a.dot(x.col(j)) + c - 4.0), 1e-10 * 4.0) << "column " << j;
}

// maximize / minimize have no residual to polish: nothing runs, nothing moves.
TEST(Polish, LeavesMaximizeAndMinimizeAlone) {
  const oracle::Oracle o = scaled_linear_oracle(3, 1);
  const nn::Mlp<float> net = o.net.cast<float>();
  for (ObjectiveKind kind : {ObjectiveKind::maximize, ObjectiveKind::minimize}) {
    Objective obj;
    obj.kind = kind;
    const Problem p(o, net, obj, Constraint::free(3), Regularize{});
    MatrixD s = MatrixD::Constant(3, 2, 0.25);
    EXPECT_EQ(polish(p, settings(), s), 0) << to_string(kind);
    EXPECT_TRUE((s.array() == 0.25).all()) << to_string(kind);
  }
}
