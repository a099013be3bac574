// The amortized solver against closed-form inverses: one model trained per oracle and
// constraint, then asked for several targets across the range.
#include "invsweep/solvers/amortized.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>

#include "alloc_counter.hpp"
#include "closed_form.hpp"
#include "invsweep/core/errors.hpp"
#include "invsweep/oracle/oracle_io.hpp"
#include "invsweep/solvers/registry.hpp"

using namespace invsweep;
using namespace invsweep::inverse;
using namespace invsweep::solvers;
using invsweep::inverse::Status;
using invsweep::inverse::TaskResult;
using invsweep::inverse::TaskSpec;
using invsweep::testing::linear_oracle;
using invsweep::testing::tanh_oracle;

namespace {

AmortizedSettings& am(TaskSpec& s) {
  return std::any_cast<AmortizedSettings&>(s.settings);
}

VectorD coeffs(double a1, double a2, double a3) {
  VectorD a(3);
  a << a1, a2, a3;
  return a;
}

TaskSpec amortized_task(const oracle::Oracle& o) {
  TaskSpec s;
  s.seed = 11;
  s.samples = 64;
  s.solver = solvers::find("amortized");
  s.settings = AmortizedSettings{};
  s.objective.kind = ObjectiveKind::target;
  s.objective.target = VectorD::Zero(1);
  s.constraint = Constraint::free(o.n_in());
  am(s).steps = 3000;  // the default 8000 is tuned for real oracles; this keeps tests fast
  return s;
}

TaskResult answer(const oracle::Oracle& o, const nn::Mlp<float>& net, TaskSpec spec, const AmortizedModel& m,
                  double target) {
  spec.objective.target = VectorD::Constant(1, target);
  spec.seed = 1000 + static_cast<std::uint64_t>(std::abs(target) * 100);
  return solve_amortized(o, net, spec, m, false);
}

double median(VectorD v) {
  std::sort(v.data(), v.data() + v.size());
  return v[v.size() / 2];
}

/// Every column of r is finite, or a NaN row with a NaN residual.
void expect_finite_or_nan_rows(const TaskResult& r) {
  for (Index j = 0; j < r.vectors.cols(); ++j) {
    const bool nan_row = r.vectors.col(j).array().isNaN().all() && std::isnan(r.residuals[j]);
    EXPECT_TRUE(r.vectors.col(j).allFinite() || nan_row);
    EXPECT_TRUE(r.vectors.col(j).allFinite() == r.outputs.col(j).allFinite());
  }
}

}  // namespace

// Reachable outputs of 2x1 + 3x2 − x3 + 0.5 on [−5, 5]³ span ±30 (sd 10.8). Median residuals
// measured at these targets (seed 11, 3000 steps): 0.019–0.105; limit 0.3 (0.5 % of the span).
TEST(Amortized, OneModelAnswersLinearTargetsAcrossTheRange) {
  const VectorD a = coeffs(2.0, 3.0, -1.0);
  const oracle::Oracle o = linear_oracle(a, 0.5);
  const nn::Mlp<float> net = o.net.cast<float>();
  TaskSpec spec = amortized_task(o);
  const AmortizedModel m = AmortizedModel::train(o, net, spec);
  ASSERT_EQ(m.status(), Status::done) << m.message();
  EXPECT_EQ(m.steps(), 3000);
  EXPECT_GT(m.train_seconds(), 0.0);
  EXPECT_LT(m.best_loss(), m.loss()[0]);
  for (double t : {-20.0, -10.0, 0.0, 4.0, 10.0, 20.0}) {
    const TaskResult r = answer(o, net, spec, m, t);
    ASSERT_EQ(r.status, Status::done) << r.message;
    ASSERT_EQ(r.vectors.cols(), 64);
    EXPECT_LT(median(r.residuals), 0.3) << "target " << t;
    for (Index j = 0; j < r.vectors.cols(); ++j)
      EXPECT_NEAR(r.outputs(0, j), a.dot(r.vectors.col(j)) + 0.5, 1e-12);
    EXPECT_EQ(r.steps, m.steps());
    EXPECT_EQ(r.final_loss, m.best_loss());
  }
  spec.polish.enabled = true;
  for (double t : {-20.0, 4.0, 20.0})
    EXPECT_LE(answer(o, net, spec, m, t).residuals.maxCoeff(), 1e-10) << t;
}

TEST(Amortized, FixedFeaturesAreExact) {
  const oracle::Oracle o = linear_oracle(coeffs(2.0, 3.0, -1.0), 0.0);
  const nn::Mlp<float> net = o.net.cast<float>();
  TaskSpec spec = amortized_task(o);
  spec.constraint.fixed[2] = 1;
  spec.constraint.fixed_value[2] = 2.25;
  spec.polish.enabled = true;
  const AmortizedModel m = AmortizedModel::train(o, net, spec);
  for (double t : {-15.0, 1.0, 15.0}) {
    const TaskResult r = answer(o, net, spec, m, t);
    ASSERT_EQ(r.status, Status::done) << r.message;
    for (Index j = 0; j < r.vectors.cols(); ++j)
      EXPECT_EQ(r.vectors(2, j), 2.25);
    EXPECT_LE(r.residuals.maxCoeff(), 1e-10);
  }
}

// tanh on [−5, 5] reaches (−1, 1), mostly near ±1; the inverse is atanh. Median residuals
// measured: 0.003–0.043; limit 0.15. Polished vectors are atanh(t) to 1e-9.
TEST(Amortized, TanhInverseAcrossTheRange) {
  const oracle::Oracle o = tanh_oracle();
  const nn::Mlp<float> net = o.net.cast<float>();
  TaskSpec spec = amortized_task(o);
  const AmortizedModel m = AmortizedModel::train(o, net, spec);
  for (double t : {-0.8, -0.3, 0.0, 0.5, 0.9}) {
    TaskResult r = answer(o, net, spec, m, t);
    EXPECT_LT(median(r.residuals), 0.15) << "target " << t;
    spec.polish.enabled = true;
    r = answer(o, net, spec, m, t);
    spec.polish.enabled = false;
    for (Index j = 0; j < r.vectors.cols(); ++j)
      EXPECT_NEAR(r.vectors(0, j), std::atanh(t), 1e-9);
  }
}

TEST(Amortized, SigmoidBoundsHold) {
  const oracle::Oracle o = linear_oracle(coeffs(1.0, 2.0, -1.0), 0.0);
  const nn::Mlp<float> net = o.net.cast<float>();
  TaskSpec spec = amortized_task(o);
  for (Index i = 0; i < 3; ++i) {
    spec.constraint.lower[i] = 0.0;
    spec.constraint.upper[i] = 1.0;
  }
  const AmortizedModel m = AmortizedModel::train(o, net, spec);
  ASSERT_EQ(m.status(), Status::done) << m.message();
  for (double t : {-0.5, 0.5, 1.5, 2.5}) {  // reachable: [−1, 3]
    const TaskResult r = answer(o, net, spec, m, t);
    EXPECT_GE(r.vectors.minCoeff(), 0.0);
    EXPECT_LE(r.vectors.maxCoeff(), 1.0);
    EXPECT_LT(median(r.residuals), 0.05) << "target " << t;  // measured 0.003–0.014
  }
}

TEST(Amortized, PaperBoundsAreProjected) {
  const oracle::Oracle o = linear_oracle(coeffs(1.0, 2.0, -1.0), 0.0);
  const nn::Mlp<float> net = o.net.cast<float>();
  TaskSpec spec = amortized_task(o);
  spec.constraint.method = BoundMethod::paper;
  for (Index i = 0; i < 3; ++i) {
    spec.constraint.lower[i] = 0.0;
    spec.constraint.upper[i] = 1.0;
  }
  const AmortizedModel m = AmortizedModel::train(o, net, spec);
  ASSERT_EQ(m.status(), Status::done) << m.message();
  const TaskResult r = answer(o, net, spec, m, 2.9);  // near the corner (1, 1, 0)
  EXPECT_GE(r.vectors.minCoeff(), 0.0);
  EXPECT_LE(r.vectors.maxCoeff(), 1.0);
}

TEST(Amortized, SameSeedGivesBitIdenticalAnswers) {
  const oracle::Oracle o = linear_oracle(coeffs(2.0, 3.0, -1.0), 0.5);
  const nn::Mlp<float> net = o.net.cast<float>();
  TaskSpec spec = amortized_task(o);
  am(spec).steps = 300;
  spec.regularize.diversity = 0.1;
  const AmortizedModel m1 = AmortizedModel::train(o, net, spec);
  const AmortizedModel m2 = AmortizedModel::train(o, net, spec);
  EXPECT_TRUE(m1.generator().params() == m2.generator().params());
  const TaskResult a = answer(o, net, spec, m1, 3.0), b = answer(o, net, spec, m2, 3.0);
  EXPECT_TRUE(a.vectors == b.vectors);
  ASSERT_EQ(a.loss.size(), b.loss.size());
  for (Index i = 0; i < a.loss.size(); ++i)
    EXPECT_TRUE(a.loss[i] == b.loss[i] || (std::isnan(a.loss[i]) && std::isnan(b.loss[i])));
  // The target value does not enter training; the seed does.
  TaskSpec other = spec;
  other.objective.target[0] = 17.0;
  EXPECT_TRUE(AmortizedModel::train(o, net, other).generator().params() == m1.generator().params());
  other.seed = spec.seed + 1;
  EXPECT_FALSE(AmortizedModel::train(o, net, other).generator().params() == m1.generator().params());
}

TEST(Amortized, SolveTrainsAndAnswersOneTask) {
  const oracle::Oracle o = linear_oracle(coeffs(2.0, 3.0, -1.0), 0.5);
  const nn::Mlp<float> net = o.net.cast<float>();
  TaskSpec spec = amortized_task(o);
  am(spec).steps = 300;
  spec.objective.target[0] = 3.0;
  const TaskResult r = solve(o, net, spec);
  const AmortizedModel m = AmortizedModel::train(o, net, spec);
  const TaskResult q = solve_amortized(o, net, spec, m, true);
  EXPECT_TRUE(r.vectors == q.vectors);
  EXPECT_EQ(r.steps, 300);
  EXPECT_GE(q.wall_seconds, m.train_seconds());
}

TEST(Amortized, RangeIsAnsweredAtItsCentre) {
  const oracle::Oracle o = linear_oracle(coeffs(2.0, 3.0, -1.0), 0.5);
  const nn::Mlp<float> net = o.net.cast<float>();
  TaskSpec spec = amortized_task(o);
  spec.objective.kind = ObjectiveKind::range;
  spec.objective.lo = VectorD::Constant(1, 4.0);
  spec.objective.hi = VectorD::Constant(1, 6.0);
  const AmortizedModel m = AmortizedModel::train(o, net, spec);
  const TaskResult r = solve_amortized(o, net, spec, m, false);
  ASSERT_EQ(r.status, Status::done) << r.message;
  EXPECT_NEAR(median(r.outputs.row(0).transpose()), 5.0, 0.1);
  EXPECT_EQ(median(r.residuals), 0.0);  // inside the range: distance 0
}

TEST(Amortized, TrainsOverAGivenTargetRange) {
  const oracle::Oracle o = tanh_oracle();
  const nn::Mlp<float> net = o.net.cast<float>();
  TaskSpec spec = amortized_task(o);
  am(spec).target_lo = VectorD::Constant(1, 0.2);
  am(spec).target_hi = VectorD::Constant(1, 0.6);
  const AmortizedModel m = AmortizedModel::train(o, net, spec);
  EXPECT_NEAR(m.cond_mean()[0], 0.4, 0.01);                     // uniform on [0.2, 0.6]
  EXPECT_NEAR(m.cond_scale()[0], 0.4 / std::sqrt(12.0), 0.01);  // its standard deviation
  // Measured median residuals 0.0010–0.0016.
  for (double t : {0.25, 0.4, 0.55})
    EXPECT_LT(median(answer(o, net, spec, m, t).residuals), 0.01) << t;
}

TEST(Amortized, ExtremumObjectivesAndBadSettingsAreRefused) {
  const oracle::Oracle o = linear_oracle(coeffs(1.0, 2.0, -1.0), 0.0);
  const nn::Mlp<float> net = o.net.cast<float>();
  TaskSpec spec = amortized_task(o);
  spec.objective.kind = ObjectiveKind::maximize;
  EXPECT_THROW(AmortizedModel::train(o, net, spec), ConfigError);
  EXPECT_THROW(solve(o, net, spec), ConfigError);
  spec = amortized_task(o);
  am(spec).steps = 10;
  const AmortizedModel m = AmortizedModel::train(o, net, spec);
  spec.objective.kind = ObjectiveKind::minimize;
  EXPECT_THROW(solve_amortized(o, net, spec, m, false), ConfigError);
  spec = amortized_task(o);
  am(spec).batch = 0;
  EXPECT_THROW(AmortizedModel::train(o, net, spec), ConfigError);
  spec = amortized_task(o);
  am(spec).target_lo = VectorD::Zero(2);
  am(spec).target_hi = VectorD::Ones(2);
  EXPECT_THROW(AmortizedModel::train(o, net, spec), ConfigError);
  am(spec).target_lo = VectorD::Constant(1, 1.0);
  am(spec).target_hi = VectorD::Constant(1, 0.0);
  EXPECT_THROW(AmortizedModel::train(o, net, spec), ConfigError);
  // A model answers only tasks of the constraint it was trained under.
  spec = amortized_task(o);
  spec.constraint.upper[0] = 1.0;
  EXPECT_THROW(solve_amortized(o, net, spec, m, false), std::invalid_argument);
}

// The linear oracle is unbounded: with free or penalty-bounded features an absurd rate makes
// the loss explode. (Under sigmoid bounds with a bounded oracle the loss cannot grow: such a run
// ends "done" with a useless model, which the residuals show.)
TEST(Amortized, AnAbsurdLearningRateDivergesWithoutStoringNonFiniteResults) {
  for (const BoundMethod method : {BoundMethod::sigmoid, BoundMethod::penalty}) {
    const oracle::Oracle o = linear_oracle(coeffs(2.0, 3.0, -1.0), 0.5);
    const nn::Mlp<float> net = o.net.cast<float>();
    TaskSpec spec = amortized_task(o);
    spec.constraint.method = method;
    spec.constraint.lower[0] = -2.0;  // x2, x3 unbounded
    spec.constraint.upper[0] = 2.0;
    am(spec).lr = 1e6;
    am(spec).steps = 500;
    spec.polish.enabled = true;
    const AmortizedModel m = AmortizedModel::train(o, net, spec);
    EXPECT_EQ(m.status(), Status::diverged) << to_string(method);
    EXPECT_FALSE(m.message().empty());
    const TaskResult r = answer(o, net, spec, m, 0.5);
    EXPECT_EQ(r.status, Status::diverged);
    EXPECT_EQ(r.message, m.message());
    expect_finite_or_nan_rows(r);
  }
}

// Everything a training run allocates is allocated before its step loop: a run of 40 steps
// allocates exactly as often as a run of 4.
TEST(Amortized, TrainingStepsDoNotAllocate) {
  if (!testing_alloc::available()) GTEST_SKIP() << "allocation counting is off under sanitizers";
  const oracle::Oracle o = linear_oracle(coeffs(2.0, 3.0, -1.0), 0.5);
  const nn::Mlp<float> net = o.net.cast<float>();
  TaskSpec spec = amortized_task(o);
  spec.regularize.diversity = 0.1;
  spec.regularize.min_norm = 0.01;
  spec.constraint.lower[0] = -1.0;
  spec.constraint.upper[0] = 1.0;
  auto allocations = [&](int steps) {
    am(spec).steps = steps;
    const long before = testing_alloc::count();
    const AmortizedModel m = AmortizedModel::train(o, net, spec);
    return testing_alloc::count() - before;
  };
  EXPECT_EQ(allocations(40), allocations(4));
}

TEST(Amortized, TrainingCallsTheHeartbeatAndCanBeInterrupted) {
  const oracle::Oracle o = tanh_oracle();
  const nn::Mlp<float> net = o.net.cast<float>();
  TaskSpec spec = amortized_task(o);
  am(spec).steps = 100;
  spec.log_every = 10;
  int calls = 0;
  spec.heartbeat = [&calls] { ++calls; };
  AmortizedModel::train(o, net, spec);
  EXPECT_EQ(calls, 10);
  spec.heartbeat = [&calls] {
    if (++calls > 13) throw Interrupted{};
  };
  EXPECT_THROW(AmortizedModel::train(o, net, spec), Interrupted);
}

// The measurement behind the defaults (docs/ARCHITECTURE.md, "Amortized solver"); needs
// jobs/oracles/paper4.h5 (jobs/make-oracles.sh). Run with --gtest_also_run_disabled_tests.
TEST(Amortized, DISABLED_Paper4FiftyTargets) {
  const std::string path = std::string(INVSWEEP_TEST_DATA) + "/../../jobs/oracles/paper4.h5";
  if (!std::ifstream(path)) GTEST_SKIP() << "no " << path;
  const oracle::Oracle o = oracle::load_oracle(path);
  const nn::Mlp<float> net = o.net.cast<float>();
  TaskSpec spec;
  spec.seed = 1;
  spec.samples = 64;
  spec.objective.target = VectorD::Zero(1);
  spec.constraint = Constraint::free(o.n_in());
  spec.constraint.lower = o.input_lo;
  spec.constraint.upper = o.input_hi;
  const AmortizedModel m = AmortizedModel::train(o, net, spec);
  ASSERT_EQ(m.status(), Status::done) << m.message();
  Rng rng(99);  // the output range: the oracle at 20,000 uniform inputs
  MatrixD x(o.n_in(), 20000);
  for (Index j = 0; j < x.cols(); ++j)
    for (Index i = 0; i < o.n_in(); ++i)
      x(i, j) = rng.uniform(o.input_lo[i], o.input_hi[i]);
  const MatrixD y = o.predict(x);
  const double lo = y.minCoeff(), hi = y.maxCoeff();
  VectorD rel(50), absolute(50);
  for (Index t = 0; t < 50; ++t) {
    const double target = lo + (hi - lo) * static_cast<double>(t) / 49.0;
    spec.objective.target[0] = target;
    spec.seed = 1000 + static_cast<std::uint64_t>(t);
    absolute[t] = median(solve_amortized(o, net, spec, m, false).residuals);
    rel[t] = absolute[t] / target;
  }
  std::printf("paper4: training %.2f s; targets %.1f..%.1f; median residual %.3g (%.3g %% relative)\n",
              m.train_seconds(), lo, hi, median(absolute), 100 * median(rel));
  EXPECT_LT(median(rel), 0.01);
}
