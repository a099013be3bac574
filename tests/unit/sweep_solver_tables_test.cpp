// The sweep parser's solver tables ([generator], [adjoint], [amortized], [cmaes]): each key
// lands in the solver's settings, absent keys keep the defaults, and bad values are refused
// naming file:line:col and the key path. Every solver's table is read, used or not.
#include <gtest/gtest.h>

#include <algorithm>

#include "invsweep/solvers/adjoint.hpp"
#include "invsweep/solvers/amortized.hpp"
#include "invsweep/solvers/generator.hpp"
#include "invsweep/solvers/registry.hpp"
#include "sweep_fixture.hpp"

namespace invsweep::testing {
namespace {

using inverse::LatentDist;
using inverse::Schedule;

template <class S>
S settings_of(const sweep::Sweep& s, std::string_view solver) {
  return std::any_cast<S>(s.solver_settings.at(static_cast<std::size_t>(solvers::find(solver))));
}

/// The keys a test below checks one by one: a key added to a table must be added here too.
void expect_keys(std::string_view solver, std::vector<std::string> keys) {
  EXPECT_EQ(solvers::get(solvers::find(solver)).keys(), keys) << solver;
}

TEST(SweepSolverTables, Generator) {
  expect_keys("generator", {"latent", "hidden", "activation", "steps", "lr", "latent_dist", "fresh_latents", "schedule",
                            "final_lr_fraction", "patience", "tolerance"});
  const auto d = settings_of<solvers::GeneratorSettings>(parse(sweep_text()), "generator");
  EXPECT_EQ(d.latent, 8);
  EXPECT_EQ(d.hidden, (std::vector<Index>{64, 64}));
  EXPECT_EQ(d.activation, nn::Activation::tanh);
  EXPECT_EQ(d.steps, 2000);
  EXPECT_EQ(d.lr, 1e-3);
  EXPECT_EQ(d.latent_dist, LatentDist::normal);
  EXPECT_FALSE(d.fresh_latents);
  EXPECT_EQ(d.schedule, Schedule::cosine);
  EXPECT_EQ(d.final_lr_fraction, 0.01);
  EXPECT_EQ(d.patience, 0);
  EXPECT_EQ(d.tolerance, 0.0);
  const sweep::Sweep s = parse(
      sweep_text("",
                 "[generator]\nlatent = 3\nhidden = [5, 6, 7]\nactivation = \"relu\"\nsteps = 12\nlr = 0.5\n"
                 "latent_dist = \"uniform\"\nfresh_latents = true\nschedule = \"plateau\"\nfinal_lr_fraction = 0.2\n"
                 "patience = 9\ntolerance = 1e-4\n"));
  const auto g = settings_of<solvers::GeneratorSettings>(s, "generator");
  EXPECT_EQ(g.latent, 3);
  EXPECT_EQ(g.hidden, (std::vector<Index>{5, 6, 7}));
  EXPECT_EQ(g.activation, nn::Activation::relu);
  EXPECT_EQ(g.steps, 12);
  EXPECT_EQ(g.lr, 0.5);
  EXPECT_EQ(g.latent_dist, LatentDist::uniform);
  EXPECT_TRUE(g.fresh_latents);
  EXPECT_EQ(g.schedule, Schedule::plateau);
  EXPECT_EQ(g.final_lr_fraction, 0.2);
  EXPECT_EQ(g.patience, 9);
  EXPECT_EQ(g.tolerance, 1e-4);
  EXPECT_EQ(std::any_cast<solvers::GeneratorSettings>(s.task(0).settings).steps, 12);  // the task gets them
}

TEST(SweepSolverTables, Adjoint) {
  expect_keys("adjoint", {"steps", "lr", "schedule", "final_lr_fraction", "patience", "tolerance"});
  const auto d = settings_of<solvers::AdjointSettings>(parse(sweep_text()), "adjoint");
  EXPECT_EQ(d.steps, 1000);
  EXPECT_EQ(d.lr, 1e-2);
  EXPECT_EQ(d.schedule, Schedule::cosine);
  EXPECT_EQ(d.final_lr_fraction, 0.01);
  EXPECT_EQ(d.patience, 0);
  EXPECT_EQ(d.tolerance, 0.0);
  const sweep::Sweep s = parse(sweep_text("solvers = [\"adjoint\"]\n",
                                          "[adjoint]\nsteps = 3\nlr = 2\nschedule = \"constant\"\n"
                                          "final_lr_fraction = 1\npatience = 4\ntolerance = 0.5\n"));
  const auto a = settings_of<solvers::AdjointSettings>(s, "adjoint");
  EXPECT_EQ(a.steps, 3);
  EXPECT_EQ(a.lr, 2.0);
  EXPECT_EQ(a.schedule, Schedule::constant);
  EXPECT_EQ(a.final_lr_fraction, 1.0);
  EXPECT_EQ(a.patience, 4);
  EXPECT_EQ(a.tolerance, 0.5);
  EXPECT_EQ(std::any_cast<solvers::AdjointSettings>(s.task(0).settings).lr, 2.0);
}

TEST(SweepSolverTables, Amortized) {
  expect_keys("amortized", {"latent", "hidden", "activation", "steps", "lr", "batch", "latent_dist", "schedule",
                            "final_lr_fraction", "warmup", "uniform_share", "target_lo", "target_hi"});
  const auto d = settings_of<solvers::AmortizedSettings>(parse(sweep_text()), "amortized");
  EXPECT_EQ(d.latent, 4);
  EXPECT_EQ(d.hidden, (std::vector<Index>{64, 64, 64}));
  EXPECT_EQ(d.activation, nn::Activation::tanh);
  EXPECT_EQ(d.steps, 8000);
  EXPECT_EQ(d.lr, 5e-3);
  EXPECT_EQ(d.batch, 128);
  EXPECT_EQ(d.latent_dist, LatentDist::normal);
  EXPECT_EQ(d.schedule, Schedule::cosine);
  EXPECT_EQ(d.final_lr_fraction, 0.01);
  EXPECT_EQ(d.warmup, 0.05);
  EXPECT_EQ(d.uniform_share, 0.5);
  EXPECT_FALSE(d.target_lo.has_value());
  EXPECT_FALSE(d.target_hi.has_value());
  const sweep::Sweep s = parse(
      sweep_text("solvers = [\"amortized\"]\n",
                 "[amortized]\nlatent = 2\nhidden = [8]\nactivation = \"silu\"\nsteps = 30\nlr = 0.1\nbatch = 16\n"
                 "latent_dist = \"uniform\"\nschedule = \"constant\"\nfinal_lr_fraction = 0\nwarmup = 0.5\n"
                 "uniform_share = 1\ntarget_lo = [0.0, -1.0]\ntarget_hi = [2.0, -1.0]\n"));
  const auto a = settings_of<solvers::AmortizedSettings>(s, "amortized");
  EXPECT_EQ(a.latent, 2);
  EXPECT_EQ(a.hidden, std::vector<Index>{8});
  EXPECT_EQ(a.activation, nn::Activation::silu);
  EXPECT_EQ(a.steps, 30);
  EXPECT_EQ(a.lr, 0.1);
  EXPECT_EQ(a.batch, 16);
  EXPECT_EQ(a.latent_dist, LatentDist::uniform);
  EXPECT_EQ(a.schedule, Schedule::constant);
  EXPECT_EQ(a.final_lr_fraction, 0.0);
  EXPECT_EQ(a.warmup, 0.5);
  EXPECT_EQ(a.uniform_share, 1.0);
  ASSERT_TRUE(a.target_lo && a.target_hi);
  EXPECT_EQ(*a.target_lo, (VectorD(2) << 0.0, -1.0).finished());
  EXPECT_EQ(*a.target_hi, (VectorD(2) << 2.0, -1.0).finished());
}

TEST(SweepSolverTables, AmortizedTargetRangeIsCheckedWhenParsed) {
  std::string t = sweep_text("", "[amortized]\ntarget_lo = [0.0, 0.0]\n");
  expect_refused(t, {"give both 'amortized.target_lo' and 'amortized.target_hi'"});
  t = sweep_text("", "[amortized]\ntarget_hi = [0.0, 0.0]\n");
  expect_refused(t, {"give both 'amortized.target_lo' and 'amortized.target_hi'"});
  t = sweep_text("", "[amortized]\ntarget_lo = [0.0]\ntarget_hi = [1.0, 1.0]\n");
  expect_refused(t, {value_at(t, "target_lo = ") + ": 'amortized.target_lo' must be an array of 2 numbers"});
  t = sweep_text("", "[amortized]\ntarget_lo = [0.0, inf]\ntarget_hi = [1.0, inf]\n");
  expect_refused(t, {value_at(t, "target_lo = ") + ": 'amortized.target_lo' must be finite numbers"});
  t = sweep_text("", "[amortized]\ntarget_lo = [0.0, 3.0]\ntarget_hi = [1.0, 2.0]\n");
  expect_refused(t, {value_at(t, "target_hi = ") + ": 'amortized.target_hi' must be ≥ 'target_lo' for every "
                                                   "output (output 'z': 3 > 2)"});
}

TEST(SweepSolverTables, Cmaes) {
  expect_keys("cmaes", {"population", "sigma0", "max_evaluations", "restarts"});
  const solvers::Solver& cmaes = solvers::get(solvers::find("cmaes"));
  using Shown = std::vector<std::pair<std::string, std::string>>;
  const auto shown = [&](const sweep::Sweep& s) {
    return cmaes.show(s.solver_settings.at(static_cast<std::size_t>(solvers::find("cmaes"))));
  };
  EXPECT_EQ(shown(parse(sweep_text())),
            (Shown{{"population", "0"}, {"sigma0", "0.5"}, {"max_evaluations", "200000"}, {"restarts", "6"}}));
  const sweep::Sweep s = parse(sweep_text("solvers = [\"cmaes\"]\n",
                                          "[cmaes]\npopulation = 12\nsigma0 = 0.1\n"
                                          "max_evaluations = 5000\nrestarts = 0\n"));
  EXPECT_EQ(shown(s), (Shown{{"population", "12"}, {"sigma0", "0.1"}, {"max_evaluations", "5000"}, {"restarts", "0"}}));
}

TEST(SweepSolverTables, UnusedTablesAreReadToo) {
  std::string t = sweep_text("solvers = [\"generator\"]\n", "[adjoint]\nsteps = -5\n");
  expect_refused(t, {value_at(t, "steps = ") + ": 'adjoint.steps' must be an integer in [1, 100000000], got -5"});
  t = sweep_text("", "[cmaes]\nrestart = 3\n");
  expect_refused(t, {value_at(t, "restart = ") + ": unknown key 'cmaes.restart'", "did you mean 'restarts'"});
  t = sweep_text("", "[generator]\nstep = 3\n");
  expect_refused(t, {value_at(t, "step = ") + ": unknown key 'generator.step'", "did you mean 'steps'"});
  t = "oracle = \"o.h5\"\ngenerator = 3\n[objective]\n" + std::string(kTargetObjective);
  expect_refused(t, {value_at(t, "generator = ") + ": 'generator' must be a table"});
}

TEST(SweepSolverTables, BadValuesNameTheKey) {
  std::string t = sweep_text("", "[generator]\nsteps = 0\n");
  expect_refused(t, {value_at(t, "steps = ") + ": 'generator.steps' must be an integer in [1, 100000000], got 0"});
  t = sweep_text("", "[generator]\nlr = nan\n");
  expect_refused(t, {value_at(t, "lr = ") + ": 'generator.lr' must be a number in (0, 1e+12], got nan"});
  t = sweep_text("", "[generator]\nhidden = [64, 0]\n");
  expect_refused(t, {value_at(t, "hidden = ") + ": 'generator.hidden' must be an array of positive integers"});
  t = sweep_text("", "[generator]\nhidden = []\n");
  expect_refused(t, {value_at(t, "hidden = ") + ": 'generator.hidden' must be a non-empty array of layer widths"});
  t = sweep_text("", "[generator]\nactivation = \"rleu\"\n");
  expect_refused(
      t, {value_at(t, "activation = ") + ": 'generator.activation' = 'rleu' is not one of", "did you mean 'relu'"});
  t = sweep_text("", "[amortized]\nwarmup = 1.5\n");
  expect_refused(t, {value_at(t, "warmup = ") + ": 'amortized.warmup' must be a number in [0, 1], got 1.5"});
  t = sweep_text("", "[cmaes]\nsigma0 = 0\n");
  expect_refused(t, {value_at(t, "sigma0 = ") + ": 'cmaes.sigma0' must be a number in (0, 1e+06], got 0"});
  t = sweep_text("", "[cmaes]\nrestarts = 31\n");
  expect_refused(t, {value_at(t, "restarts = ") + ": 'cmaes.restarts' must be an integer in [0, 30], got 31"});
}

}  // namespace
}  // namespace invsweep::testing
