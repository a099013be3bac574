// Solvers against closed-form inverses: linear and tanh oracles built by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "alloc_counter.hpp"
#include "closed_form.hpp"
#include "invsweep/core/errors.hpp"
#include "invsweep/core/rng.hpp"
#include "invsweep/inverse/problem.hpp"
#include "invsweep/solvers/adjoint.hpp"
#include "invsweep/solvers/generator.hpp"
#include "invsweep/solvers/registry.hpp"

using namespace invsweep;
using namespace invsweep::inverse;
using invsweep::solvers::AdjointSettings;
using invsweep::solvers::GeneratorSettings;
using invsweep::solvers::solve;
using invsweep::testing::linear_oracle;
using invsweep::testing::tanh_oracle;

namespace {

/// The generator or adjoint solver, by name.
using SolverName = std::string;

/// Sets a setting of whichever of the two solvers the task uses.
template <class F>
void edit(TaskSpec& s, F f) {
  if (auto* g = std::any_cast<GeneratorSettings>(&s.settings)) f(*g);
  if (auto* a = std::any_cast<AdjointSettings>(&s.settings)) f(*a);
}

TaskSpec target_task(const oracle::Oracle& o, double t, const SolverName& solver) {
  TaskSpec s;
  s.seed = 7;
  s.samples = 64;
  s.solver = solvers::find(solver);
  s.objective.kind = ObjectiveKind::target;
  s.objective.target = VectorD::Constant(1, t);
  s.constraint = Constraint::free(o.n_in());
  if (solver == "generator") {
    GeneratorSettings g;
    g.steps = 1500;
    g.lr = 3e-3;
    s.settings = g;
  } else {
    AdjointSettings a;
    a.steps = 800;
    a.lr = 2e-2;
    s.settings = a;
  }
  return s;
}

double median(VectorD v) {
  std::sort(v.data(), v.data() + v.size());
  return v[v.size() / 2];
}

}  // namespace

class BothSolvers : public ::testing::TestWithParam<SolverName> {};

TEST_P(BothSolvers, HitALinearTargetAndPolishToMachinePrecision) {
  VectorD a(3);
  a << 2.0, 3.0, -1.0;
  const oracle::Oracle o = linear_oracle(a, 0.5);
  const nn::Mlp<float> net = o.net.cast<float>();
  TaskSpec spec = target_task(o, 4.0, GetParam());
  const TaskResult r = solve(o, net, spec);
  ASSERT_EQ(r.status, Status::done) << r.message;
  EXPECT_LT(median(r.residuals), 0.01 * 4.0);
  // Outputs are the oracle applied to the vectors, in double.
  for (Index j = 0; j < r.vectors.cols(); ++j)
    EXPECT_NEAR(r.outputs(0, j), a.dot(r.vectors.col(j)) + 0.5, 1e-12);
  spec.polish.enabled = true;
  const TaskResult q = solve(o, net, spec);
  EXPECT_LE(q.residuals.maxCoeff(), 1e-10);
  EXPECT_GT(q.steps, 0);
  EXPECT_TRUE(std::isfinite(q.loss[0]));
}

TEST_P(BothSolvers, FixedFeaturesAreExact) {
  VectorD a(3);
  a << 2.0, 3.0, -1.0;
  const oracle::Oracle o = linear_oracle(a, 0.0);
  TaskSpec spec = target_task(o, 1.0, GetParam());
  spec.constraint.fixed[2] = 1;
  spec.constraint.fixed_value[2] = 2.25;
  spec.polish.enabled = true;
  const TaskResult r = solve(o, o.net.cast<float>(), spec);
  ASSERT_EQ(r.status, Status::done) << r.message;
  for (Index j = 0; j < r.vectors.cols(); ++j)
    EXPECT_EQ(r.vectors(2, j), 2.25);
  EXPECT_LE(r.residuals.maxCoeff(), 1e-10);
}

TEST_P(BothSolvers, TanhInverseIsFoundExactly) {
  const oracle::Oracle o = tanh_oracle();
  TaskSpec spec = target_task(o, 0.5, GetParam());
  spec.polish.enabled = true;
  const TaskResult r = solve(o, o.net.cast<float>(), spec);
  ASSERT_EQ(r.status, Status::done) << r.message;
  for (Index j = 0; j < r.vectors.cols(); ++j)
    EXPECT_NEAR(r.vectors(0, j), std::atanh(0.5), 1e-9);
}

TEST_P(BothSolvers, SigmoidBoundsHoldWhileMaximising) {
  VectorD a(3);
  a << 1.0, 2.0, -1.0;
  const oracle::Oracle o = linear_oracle(a, 0.0);
  TaskSpec spec = target_task(o, 0.0, GetParam());
  spec.objective.kind = ObjectiveKind::maximize;
  for (Index i = 0; i < 3; ++i) {
    spec.constraint.lower[i] = 0.0;
    spec.constraint.upper[i] = 1.0;
  }
  const TaskResult r = solve(o, o.net.cast<float>(), spec);
  ASSERT_EQ(r.status, Status::done) << r.message;
  EXPECT_GE(r.vectors.minCoeff(), 0.0);
  EXPECT_LE(r.vectors.maxCoeff(), 1.0);
  EXPECT_GE(r.residuals.maxCoeff(), 0.99 * 3.0);  // max of x1 + 2 x2 − x3 on the box is 3
}

TEST_P(BothSolvers, AnAbsurdLearningRateDivergesWithoutStoringNonFiniteResults) {
  const oracle::Oracle o = tanh_oracle();
  TaskSpec spec = target_task(o, 0.5, GetParam());
  edit(spec, [](auto& x) { x.lr = 1e38; });
  const TaskResult r = solve(o, o.net.cast<float>(), spec);
  EXPECT_EQ(r.status, Status::diverged);
  EXPECT_FALSE(r.message.empty());
  for (Index j = 0; j < r.vectors.cols(); ++j) {
    const bool nan_row = r.vectors.col(j).array().isNaN().all() && std::isnan(r.residuals[j]);
    EXPECT_TRUE(r.vectors.col(j).allFinite() || nan_row);
    EXPECT_TRUE(r.vectors.col(j).allFinite() == r.outputs.col(j).allFinite());
  }
}

// Everything a generator or adjoint run allocates is allocated before its step loop (with
// the regularisers and a bound map on): a task of 40 steps allocates exactly as often as one
// of 4.
TEST_P(BothSolvers, TrainingStepsDoNotAllocate) {
  if (!testing_alloc::available()) GTEST_SKIP() << "allocation counting is off under sanitizers";
  VectorD a(3);
  a << 2.0, 3.0, -1.0;
  const oracle::Oracle o = linear_oracle(a, 0.5);
  const nn::Mlp<float> net = o.net.cast<float>();
  TaskSpec spec = target_task(o, 1.0, GetParam());
  spec.regularize.diversity = 0.1;
  spec.regularize.min_norm = 0.01;
  spec.constraint.lower[0] = -1.0;
  spec.constraint.upper[0] = 1.0;
  auto allocations = [&](int steps) {
    edit(spec, [steps](auto& x) { x.steps = steps; });
    const long before = testing_alloc::count();
    const TaskResult r = solve(o, net, spec);
    return testing_alloc::count() - before;
  };
  EXPECT_EQ(allocations(40), allocations(4));
}

INSTANTIATE_TEST_SUITE_P(Solvers, BothSolvers, ::testing::Values("generator", "adjoint"),
                         [](const ::testing::TestParamInfo<SolverName>& i) { return i.param; });

TEST(Generator, DiversitySpreadsTheVectorsAlongTheFreeDirection) {
  VectorD a(2);
  a << 1.0, 0.0;  // x2 does not matter
  const oracle::Oracle o = linear_oracle(a, 0.0);
  TaskSpec spec = target_task(o, 1.0, "generator");
  for (Index i = 0; i < 2; ++i) {
    spec.constraint.lower[i] = -5;
    spec.constraint.upper[i] = 5;
  }
  const TaskResult plain = solve(o, o.net.cast<float>(), spec);
  spec.regularize.diversity = 1.0;
  const TaskResult div = solve(o, o.net.cast<float>(), spec);
  auto spread = [](const TaskResult& r) {
    const VectorD x2 = r.vectors.row(1).transpose();
    return std::sqrt((x2.array() - x2.mean()).square().mean());
  };
  EXPECT_GT(spread(div), 2.0 * spread(plain));
  EXPECT_GT(spread(div), 1.5);  // uniform on [−5, 5] has 2.89
  EXPECT_LT(median(div.residuals), 0.05);
}

// The diversity term against its pairwise formula evaluated directly in double precision:
// loss and gradient (the bandwidth, a median of the squared distances, is a constant there).
TEST(Problem, DiversityTermMatchesThePairwiseFormula) {
  const oracle::Oracle o = linear_oracle(VectorD::Ones(3), 0.0);
  const nn::Mlp<float> net = o.net.cast<float>();
  Objective obj;
  obj.target = VectorD::Ones(1);
  Regularize reg;
  reg.diversity = 0.7;
  const Problem p(o, net, obj, Constraint::free(3), reg);
  Rng rng(5);
  VectorF scratch;
  for (Index n : {2, 3, 17, 64}) {
    MatrixF s(3, n);
    for (Index i = 0; i < s.size(); ++i)
      s.data()[i] = static_cast<float>(rng.normal());
    MatrixF g = MatrixF::Zero(3, n);
    const double loss = p.regularize(s, g, scratch);

    const MatrixD sd = s.cast<double>();
    std::vector<double> d2;
    for (Index i = 0; i < n; ++i)
      for (Index j = i + 1; j < n; ++j)
        d2.push_back((sd.col(i) - sd.col(j)).squaredNorm());
    std::vector<double> sorted = d2;
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(d2.size() / 2), sorted.end());
    const double h = std::max(sorted[d2.size() / 2] / std::log(static_cast<double>(n) + 1), 1e-8);
    const double c = reg.diversity / static_cast<double>(n * (n - 1));
    double ref = 0;
    MatrixD gref = MatrixD::Zero(3, n);
    std::size_t q = 0;
    for (Index i = 0; i < n; ++i)
      for (Index j = i + 1; j < n; ++j) {
        const double k = std::exp(-d2[q++] / h);
        ref += 2 * c * k;
        gref.col(i) -= 4 * c * k / h * (sd.col(i) - sd.col(j));
        gref.col(j) += 4 * c * k / h * (sd.col(i) - sd.col(j));
      }
    EXPECT_NEAR(loss, ref, 1e-5 * ref) << "batch " << n;
    EXPECT_LE((g.cast<double>() - gref).cwiseAbs().maxCoeff(), 1e-4 * gref.cwiseAbs().maxCoeff()) << "batch " << n;
  }
}

TEST(Problem, KthSmallestMatchesNthElement) {
  Rng rng(9);
  for (Index n : {1, 2, 5, 64, 2016}) {
    std::vector<float> x(static_cast<std::size_t>(n));
    for (float& v : x)
      v = static_cast<float>(std::exp(3 * rng.normal()));
    for (std::size_t i = 0; i < x.size(); i += 7)
      x[i] = 0.0f;  // zeros and ties
    if (n > 3) x[1] = x[2] = x[3];
    for (Index k : {Index{0}, n / 2, n - 1}) {
      std::vector<float> a = x, b = x;
      std::nth_element(b.begin(), b.begin() + k, b.end());
      EXPECT_EQ(kth_smallest(a.data(), n, k), b[static_cast<std::size_t>(k)]) << "n " << n << " k " << k;
    }
  }
}

TEST(Problem, ImpossibleConstraintsAreRefused) {
  const oracle::Oracle o = linear_oracle(VectorD::Ones(2), 0.0);
  const nn::Mlp<float> net = o.net.cast<float>();
  Objective obj;
  obj.target = VectorD::Ones(1);
  auto message = [&](const Constraint& c) {
    try {
      Problem p(o, net, obj, c, Regularize{});
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  Constraint c = Constraint::free(2);
  c.name = "box";
  c.lower[0] = 2;
  c.upper[0] = 1;
  EXPECT_NE(message(c).find("constraint 'box': bounds of 'x1' have lower 2 > upper 1"), std::string::npos);
  c = Constraint::free(2);
  c.fixed[1] = 1;
  c.fixed_value[1] = 7;
  c.upper[1] = 5;
  EXPECT_NE(message(c).find("'x2' is fixed at 7 outside its bounds"), std::string::npos) << message(c);
  c = Constraint::free(2);
  c.fixed = {1, 1};
  c.fixed_value << 1, 1;
  EXPECT_NE(message(c).find("every feature is fixed"), std::string::npos);
  obj.target = VectorD::Ones(2);
  EXPECT_NE(message(Constraint::free(2)).find("target has 2 values, the oracle has 1 outputs"), std::string::npos);
}
