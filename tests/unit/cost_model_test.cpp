// The cost model behind `invsweep check`: the arithmetic from calibration timings to a sweep's
// estimate, and every registered solver's calibration hook.
#include "invsweep/runner/cost_model.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "closed_form.hpp"
#include "invsweep/solvers/registry.hpp"
#include "invsweep/sweep/sweep.hpp"

using namespace invsweep;

TEST(CostModel, ExtrapolatesAFixedCostPlusAPerUnitCost) {
  // 0.5 s fixed + 0.01 s per unit: 20 units 0.7 s, 60 units 1.1 s → 1000 units 10.5 s.
  EXPECT_NEAR(solvers::extrapolate_cost(0.7, 20, 1.1, 60, 1000), 10.5, 1e-12);
  // Timing noise that makes the longer run faster never gives a negative per-unit cost.
  EXPECT_NEAR(solvers::extrapolate_cost(0.7, 20, 0.6, 60, 1000), 0.7, 1e-12);
  // One calibration run only (the task is short): its time is the estimate.
  EXPECT_NEAR(solvers::extrapolate_cost(0.3, 10, 0.3, 10, 10), 0.3, 1e-12);
}

TEST(CostModel, MeanAndTwoStandardErrors) {
  // 1, 2, 3, 4, 5: mean 3, sample variance 2.5, standard error sqrt(2.5 / 5) = sqrt(0.5).
  const solvers::MeanAndSpread m = solvers::mean_and_spread({1, 2, 3, 4, 5});
  EXPECT_NEAR(m.mean, 3.0, 1e-15);
  EXPECT_NEAR(m.lo, 3.0 - 2 * std::sqrt(0.5), 1e-12);
  EXPECT_NEAR(m.hi, 3.0 + 2 * std::sqrt(0.5), 1e-12);
  const solvers::MeanAndSpread one = solvers::mean_and_spread({0.25});
  EXPECT_EQ(one.lo, 0.25);
  EXPECT_EQ(one.hi, 0.25);
  EXPECT_EQ(solvers::mean_and_spread({0.0, 0.0, 10.0}).lo, 0.0);  // never negative
}

TEST(CostModel, CalibrationSamplesTasksSpreadOverTheSweep) {
  VectorD coef(2);
  coef << 1.0, 2.0;
  const oracle::Oracle o = invsweep::testing::linear_oracle(coef, 0.0);
  const std::string text =
      "oracle = \"o.h5\"\nreplicates = 3\nsolvers = [\"generator\", \"adjoint\"]\n[objective]\nkind = "
      "\"target\"\ntargets = { from = [1.0], to = [10.0], count = 10 }\n[[constraints]]\nname = \"a\"\n"
      "[[constraints]]\nname = \"b\"\nfixed = { x1 = 0.5 }\n";
  const sweep::Sweep s = sweep::parse_sweep("sweep.toml", text, o);
  for (Index k = 0; k < 2; ++k) {
    const std::vector<Index> ids = s.sample_tasks_of_solver(k, 5);
    ASSERT_EQ(ids.size(), 5u);
    std::set<Index> targets, constraints, replicates, distinct(ids.begin(), ids.end());
    for (const Index id : ids) {
      ASSERT_GE(id, 0);
      ASSERT_LT(id, s.n_tasks());
      const sweep::TaskCoords c = s.coords(id);
      EXPECT_EQ(c.solver, k);
      targets.insert(c.target);
      constraints.insert(c.constraint);
      replicates.insert(c.replicate);
    }
    EXPECT_EQ(distinct.size(), 5u);
    // Targets 1, 3, 5, 7, 9 (the middles of five slices of ten), both settings, every replicate.
    EXPECT_EQ(targets, (std::set<Index>{1, 3, 5, 7, 9}));
    EXPECT_EQ(constraints.size(), 2u);
    EXPECT_EQ(replicates.size(), 3u);
  }
  // A sweep smaller than the sample: every task once.
  EXPECT_EQ(s.sample_tasks_of_solver(0, 1000).size(), 60u);
}

TEST(CostModel, CombinesPerTaskAndSharedCostsOverRanks) {
  runner::SolverCost a{"generator", 100, {}, 0};
  a.estimate.per_task = 0.5;
  runner::SolverCost b{"amortized", 40, {}, 0};
  b.estimate.per_task = 0.01;
  b.estimate.shared = 3.0;
  b.estimate.shared_units = 6;
  const runner::SweepCost c = runner::combine({a, b}, 4);
  ASSERT_EQ(c.solvers.size(), 2u);
  EXPECT_NEAR(c.solvers[0].seconds, 50.0, 1e-12);
  EXPECT_NEAR(c.solvers[1].seconds, 0.4 + 18.0, 1e-12);
  EXPECT_NEAR(c.seconds, (50.0 + 18.4) / 4, 1e-12);
  EXPECT_EQ(runner::combine({a}, 0).ranks, 1);  // never divides by zero ranks
}

TEST(CostModel, EverySolverLimitsItsWorkForCalibration) {
  for (const solvers::Solver* s : solvers::all()) {
    const std::any d = s->defaults();
    const auto [a, b] = s->calibration_work(d);
    EXPECT_GT(a, 0) << s->name();
    EXPECT_GE(b, a) << s->name();
    EXPECT_EQ(s->work(s->with_work(d, a)), a) << s->name();
    EXPECT_GT(s->work(d), 0) << s->name();
  }
}

TEST(CostModel, EstimatesASweepOfEverySolverWithFiniteNonNegativeTimes) {
  VectorD coef(2);
  coef << 1.0, 2.0;
  const oracle::Oracle o = invsweep::testing::linear_oracle(coef, 0.0);
  std::string solvers_list;
  for (const std::string& n : solvers::names())
    solvers_list += (solvers_list.empty() ? "\"" : ", \"") + n + "\"";
  const std::string text = "oracle = \"o.h5\"\nsamples = 8\nreplicates = 2\nsolvers = [" + solvers_list +
                           "]\n[objective]\nkind = \"target\"\ntargets = [[1.0], [2.0], [3.0]]\n"
                           "[generator]\nsteps = 40\n[adjoint]\nsteps = 40\n[amortized]\nsteps = 40\nbatch = 16\n"
                           "[cmaes]\nmax_evaluations = 3000\n";
  const sweep::Sweep s = sweep::parse_sweep("sweep.toml", text, o);
  const runner::SweepCost c = runner::estimate_cost(s, o, 2);
  ASSERT_EQ(c.solvers.size(), solvers::names().size());
  for (const runner::SolverCost& p : c.solvers) {
    EXPECT_EQ(p.tasks, 6) << p.solver;  // 3 targets × 1 setting × 2 replicates
    EXPECT_TRUE(std::isfinite(p.seconds) && p.seconds >= 0) << p.solver;
  }
  // The amortized solver pays per model: one per (setting, replicate) and rank that needs it.
  EXPECT_EQ(c.solvers[2].estimate.shared_units, 2 * 2);
  EXPECT_TRUE(std::isfinite(c.seconds) && c.seconds > 0);
}
