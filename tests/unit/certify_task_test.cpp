// certify_task: the [certify] phase of a task, on small nets whose answers are known.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "certify_nets.hpp"
#include "invsweep/certify/task.hpp"

namespace invsweep {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// y = relu(x1) + relu(−x1) + 0.5·relu(x2) (= |x1| + 0.5·x2 for x2 ≥ 0): max over
/// [−1, 2] × [0, 1] is 2.5, min 0.
oracle::Oracle abs_net() {
  nn::Mlp<double> wide({{2, 3, nn::Activation::relu}, {3, 1, nn::Activation::identity}});
  wide.weight(0) << 1, 0, -1, 0, 0, 1;
  wide.bias(0).setZero();
  wide.weight(1) << 1, 1, 0.5;
  wide.bias(1) << 0;
  return testing::wrap(wide);
}

inverse::TaskSpec spec_for(const oracle::Oracle& o, inverse::ObjectiveKind kind) {
  inverse::TaskSpec s;
  s.objective.kind = kind;
  s.objective.weights = VectorD::Ones(o.n_out());
  s.constraint = inverse::Constraint::free(o.n_in());
  s.constraint.lower << -1, 0;
  s.constraint.upper << 2, 1;
  s.certify.enabled = true;
  s.certify.time_limit = 20;
  return s;
}

/// A result whose stored vectors are poor: y = 0.5 and a NaN row.
inverse::TaskResult poor_result(const oracle::Oracle& o) {
  inverse::TaskResult r;
  r.vectors = MatrixD(2, 3);
  r.vectors << 0, kNaN, 0.5, 0, kNaN, 0;
  r.outputs = o.predict(r.vectors);
  r.residuals = r.outputs.row(0).transpose();
  return r;
}

TEST(CertifyTask, MaximumProvenAndAttainedByAStoredVector) {
  const oracle::Oracle o = abs_net();
  const inverse::TaskSpec spec = spec_for(o, inverse::ObjectiveKind::maximize);
  inverse::TaskResult r = poor_result(o);
  certify::certify_task(o, spec, r);
  ASSERT_EQ(r.certificate, 1);
  EXPECT_NEAR(r.bound_lo[0], 2.5, 1e-4 * 2.5);
  EXPECT_GE(r.bound_hi[0], 2.5);
  EXPECT_LE(r.bound_hi[0] - r.bound_lo[0], 1e-4 * 2.5);
  // The NaN row was replaced by the certificate's point, consistently.
  ASSERT_TRUE(r.vectors.col(1).allFinite());
  EXPECT_EQ(r.residuals[1], r.bound_lo[0]);
  EXPECT_EQ(r.outputs(0, 1), o.predict(r.vectors.col(1))(0, 0));
  EXPECT_EQ(r.reachable, -1);
  EXPECT_EQ(r.n_roots, -1);
}

TEST(CertifyTask, MinimumKeepsABetterStoredVector) {
  const oracle::Oracle o = abs_net();
  const inverse::TaskSpec spec = spec_for(o, inverse::ObjectiveKind::minimize);
  inverse::TaskResult r = poor_result(o);  // column 0 is the minimum, 0
  const MatrixD before = r.vectors;
  certify::certify_task(o, spec, r);
  ASSERT_EQ(r.certificate, 1);
  EXPECT_EQ(r.bound_lo[0], 0.0);
  EXPECT_LE(r.bound_hi[0], 0.0);
  EXPECT_GE(r.bound_hi[0], -1e-4);
  EXPECT_TRUE(r.vectors.col(0).isApprox(before.col(0)));
}

TEST(CertifyTask, TargetsAboveTheMaximumAreUnreachable) {
  const oracle::Oracle o = abs_net();
  inverse::TaskSpec spec = spec_for(o, inverse::ObjectiveKind::target);
  spec.objective.target = VectorD::Constant(1, 2.51);
  inverse::TaskResult r = poor_result(o);
  certify::certify_task(o, spec, r);
  EXPECT_EQ(r.certificate, 1);
  EXPECT_EQ(r.reachable, 0);
  EXPECT_EQ(r.n_roots, -1);  // 2 free features, 1 output: not square
  EXPECT_LE(r.bound_lo[0], 0.0);
  EXPECT_GE(r.bound_hi[0], 2.5);
  EXPECT_LT(r.bound_hi[0], 2.51);
  spec.objective.target[0] = 2.4;
  inverse::TaskResult r2 = poor_result(o);
  certify::certify_task(o, spec, r2);
  EXPECT_EQ(r2.certificate, 1);
  EXPECT_EQ(r2.reachable, 1);
}

TEST(CertifyTask, SquareSystemCountsRoots) {
  const oracle::Oracle o = abs_net();
  inverse::TaskSpec spec = spec_for(o, inverse::ObjectiveKind::target);
  spec.constraint.fixed = {0, 1};
  spec.constraint.fixed_value << kNaN, 0.0;
  spec.objective.target = VectorD::Constant(1, 0.5);  // |x1| = 0.5 on [−1, 2]: two roots
  inverse::TaskResult r = poor_result(o);
  certify::certify_task(o, spec, r);
  EXPECT_EQ(r.certificate, 1);
  EXPECT_EQ(r.n_roots, 2);
  EXPECT_EQ(r.reachable, 1);
  spec.objective.target[0] = 3.0;  // above the maximum 2: none
  inverse::TaskResult r2 = poor_result(o);
  certify::certify_task(o, spec, r2);
  EXPECT_EQ(r2.n_roots, 0);
  EXPECT_EQ(r2.reachable, 0);
}

TEST(CertifyTask, UnboundedOrDisabled) {
  const oracle::Oracle o = abs_net();
  inverse::TaskSpec spec = spec_for(o, inverse::ObjectiveKind::maximize);
  spec.constraint.upper[0] = std::numeric_limits<double>::infinity();
  inverse::TaskResult r = poor_result(o);
  certify::certify_task(o, spec, r);
  EXPECT_EQ(r.certificate, 3);
  EXPECT_EQ(r.bound_lo.size(), 0);  // written as NaN
  spec.certify.enabled = false;
  inverse::TaskResult r2 = poor_result(o);
  certify::certify_task(o, spec, r2);
  EXPECT_EQ(r2.certificate, 0);
}

TEST(CertifyTask, SettingsTableHasEveryKey) {
  const auto keys = inverse::CertifySettings::table().keys();
  for (const char* k : {"enabled", "time_limit", "tolerance", "max_boxes"})
    EXPECT_NE(std::find(keys.begin(), keys.end(), k), keys.end()) << k;
}

}  // namespace
}  // namespace invsweep
