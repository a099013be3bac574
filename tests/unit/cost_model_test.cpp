// The cost model behind `invsweep check`: the arithmetic from calibration timings to a sweep's
// estimate, and every registered solver's calibration hook.
#include "invsweep/runner/cost_model.hpp"

#include <gtest/gtest.h>

#include <cmath>

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
