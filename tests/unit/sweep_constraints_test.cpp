// The sweep parser's [[constraints]], [regularize] and [polish], and the task grid: targets ×
// constraints × solvers × replicates, the replicate fastest, seeds from (seed, task id).
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "invsweep/core/rng.hpp"
#include "invsweep/solvers/generator.hpp"
#include "invsweep/solvers/registry.hpp"
#include "sweep_fixture.hpp"

namespace invsweep::testing {
namespace {

using inverse::BoundMethod;
using inverse::Constraint;

std::string with_constraints(const std::string& body) {
  return sweep_text("", body);
}

TEST(SweepConstraints, NoneMeansOneFreeSettingInTheTrainingRange) {
  const sweep::Sweep s = parse(sweep_text());
  ASSERT_EQ(s.n_constraints(), 1);
  const Constraint& c = s.constraints[0];
  EXPECT_EQ(c.name, "free");
  EXPECT_EQ(c.fixed, std::vector<std::uint8_t>(3, 0));
  EXPECT_TRUE(c.fixed_value.array().isNaN().all());
  EXPECT_EQ(c.lower, VectorD::Constant(3, -5.0));  // domain = true: the oracle's input bounds
  EXPECT_EQ(c.upper, VectorD::Constant(3, 5.0));
  EXPECT_EQ(c.method, BoundMethod::sigmoid);
  EXPECT_EQ(c.paper_c1, 10.0);
  EXPECT_EQ(c.paper_c2, 50.0);
  EXPECT_EQ(c.penalty, 10.0);
  EXPECT_TRUE(c.paper_stop);
  EXPECT_TRUE(c.domain);
}

TEST(SweepConstraints, EveryKeyLandsInItsField) {
  const sweep::Sweep s = parse(with_constraints(
      "[[constraints]]\nname = \"tight\"\nmethod = \"paper\"\nc1 = 4.5\nc2 = 7\npenalty = 0.25\npaper_stop = false\n"
      "bounds = { x1 = [0.0, 2.0], x3 = [-inf, 1.0] }\nfixed = { x1 = 1.5 }\n\n"
      "[[constraints]]\nmethod = \"penalty\"\ndomain = false\nbounds = { x2 = [-1.0, 1.0] }\n"));
  ASSERT_EQ(s.n_constraints(), 2);
  const Constraint& a = s.constraints[0];
  EXPECT_EQ(a.name, "tight");
  EXPECT_EQ(a.method, BoundMethod::paper);
  EXPECT_EQ(a.paper_c1, 4.5);
  EXPECT_EQ(a.paper_c2, 7.0);
  EXPECT_EQ(a.penalty, 0.25);
  EXPECT_FALSE(a.paper_stop);
  EXPECT_EQ(a.fixed, (std::vector<std::uint8_t>{1, 0, 0}));
  EXPECT_EQ(a.fixed_value[0], 1.5);
  EXPECT_TRUE(std::isnan(a.fixed_value[1]) && std::isnan(a.fixed_value[2]));
  EXPECT_EQ(a.lower, (VectorD(3) << 0.0, -5.0, -INFINITY).finished());  // x2: the training range
  EXPECT_EQ(a.upper, (VectorD(3) << 2.0, 5.0, 1.0).finished());
  const Constraint& b = s.constraints[1];
  EXPECT_EQ(b.name, "setting 1");
  EXPECT_EQ(b.method, BoundMethod::penalty);
  EXPECT_FALSE(b.domain);
  EXPECT_EQ(b.lower, (VectorD(3) << -INFINITY, -1.0, -INFINITY).finished());  // domain = false: unbounded
  EXPECT_EQ(b.upper, (VectorD(3) << INFINITY, 1.0, INFINITY).finished());
  EXPECT_EQ(s.task(1).constraint.name, "setting 1");  // one target, one solver: task i = setting i
  EXPECT_EQ(s.task(1).constraint_index, 1);
  EXPECT_EQ(s.task(0).constraint.fixed_value[0], 1.5);
}

TEST(SweepConstraints, DegenerateBoundsAreRefusedNamingTheKey) {
  // Ends that leave no finite value, and a single value (which `fixed` says).
  for (const char* b : {"[inf, inf]", "[-inf, -inf]", "[inf, inf]"}) {
    const std::string t = with_constraints(fmt::format("[[constraints]]\nbounds = {{ x1 = {} }}\n", b));
    expect_refused(t, {value_at(t, "x1 = ") + ": 'constraints[0].bounds.x1'", "contains no finite value"});
  }
  for (const char* m : {"sigmoid", "paper", "penalty"}) {
    const std::string t =
        with_constraints(fmt::format("[[constraints]]\nmethod = \"{}\"\nbounds = {{ x1 = [100.0, 100.0] }}\n", m));
    expect_refused(t, {value_at(t, "x1 = ") + ": 'constraints[0].bounds.x1' = [100, 100] is a single value",
                       "use fixed = { x1 = 100 }"});
  }
  // Half-open bounds stay valid.
  const sweep::Sweep s = parse(with_constraints("[[constraints]]\nbounds = { x1 = [-inf, 1.0], x2 = [0.0, inf] }\n"));
  EXPECT_EQ(s.constraints[0].upper[0], 1.0);
}

TEST(SweepConstraints, ImpossibleSettingsAreRefused) {
  std::string t = with_constraints("[[constraints]]\nbounds = { x1 = [10.0, 0.0] }\n");
  expect_refused(t, {value_at(t, "x1 = ") + ": 'constraints[0].bounds.x1' has lower bound 10 > upper bound 0"});
  t = with_constraints("[[constraints]]\nname = \"c\"\nbounds = { x1 = [0.0, 10.0] }\nfixed = { x1 = 20.0 }\n");
  expect_refused(t, {value_at(t, "fixed = { x1 = ") + ": 'constraints[0].fixed.x1' = 20 lies outside its bounds "
                                                      "[0, 10] in constraint 'c'"});
  t = with_constraints("[[constraints]]\nname = \"c\"\nfixed = { x1 = 1.0, x2 = 1.0, x3 = 1.0 }\n");
  expect_refused(t, {line_at(t, "[[constraints]]") + ": constraint 'c' fixes every feature"});
  t = with_constraints("[[constraints]]\nname = \"a\"\n[[constraints]]\nname = \"b\"\n[[constraints]]\nname = \"a\"\n");
  expect_refused(t, {"constraint name 'a' is used twice"});
  t = with_constraints("[[constraints]]\n[[constraints]]\nname = \"setting 0\"\n");
  expect_refused(t, {"constraint name 'setting 0' is used twice"});
  t = with_constraints("[[constraints]]\nfixed = { x4 = 1.0 }\n");
  expect_refused(t, {value_at(t, "x4 = ") + ": 'constraints[0].fixed': the oracle has no feature 'x4'",
                     "did you mean 'x1'", "features are: x1, x2, x3"});
  t = with_constraints("[[constraints]]\nbounds = { xx1 = [0, 1] }\n");
  expect_refused(t, {"'constraints[0].bounds': the oracle has no feature 'xx1'", "did you mean 'x1'"});
  t = with_constraints("[[constraints]]\nfixed = { x1 = nan }\n");
  expect_refused(t, {value_at(t, "x1 = ") + ": 'constraints[0].fixed' must be a table of finite values"});
  t = with_constraints("[[constraints]]\nbounds = { x1 = [0.0, nan] }\n");
  expect_refused(t, {value_at(t, "x1 = ") + ": 'constraints[0].bounds' must be finite numbers"});
  t = with_constraints("[[constraints]]\nbounds = { x1 = [0.0] }\n");
  expect_refused(t, {value_at(t, "x1 = ") + ": 'constraints[0].bounds' must be an array of 2 numbers"});
  t = with_constraints("[[constraints]]\nmetod = \"paper\"\n");
  expect_refused(t, {value_at(t, "metod = ") + ": unknown key 'constraints[0].metod'", "did you mean 'method'"});
  t = with_constraints("[constraints]\nname = \"a\"\n");
  expect_refused(t, {"'constraints' must be an array of tables"});
  t = with_constraints("[[constraints]]\n[[constraints]]\nmethod = \"sigmod\"\n");
  expect_refused(
      t, {value_at(t, "method = ") + ": 'constraints[1].method' = 'sigmod' is not one of", "did you mean 'sigmoid'"});
}

TEST(SweepConstraints, FixedValueMayLeaveTheTrainingRangeButNotExplicitBounds) {
  const sweep::Sweep s = parse(with_constraints("[[constraints]]\nfixed = { x2 = 9.0 }\n"));
  EXPECT_EQ(s.constraints[0].fixed_value[1], 9.0);
  EXPECT_EQ(s.constraints[0].lower[1], -INFINITY);  // a fixed feature keeps no training-range bounds
}

TEST(SweepRegularize, KeysDefaultsAndReference) {
  const sweep::Sweep d = parse(sweep_text());
  EXPECT_EQ(d.regularize.diversity, 0.0);
  EXPECT_EQ(d.regularize.min_norm, 0.0);
  EXPECT_EQ(d.regularize.proximity, 0.0);
  EXPECT_EQ(d.regularize.reference, sweep_oracle().input_scaler.mean);
  const sweep::Sweep s = parse(
      sweep_text("", "[regularize]\ndiversity = 0.5\nmin_norm = 2\nproximity = 1e-3\nreference = { x2 = -4.0 }\n"));
  EXPECT_EQ(s.regularize.diversity, 0.5);
  EXPECT_EQ(s.regularize.min_norm, 2.0);
  EXPECT_EQ(s.regularize.proximity, 1e-3);
  EXPECT_EQ(s.regularize.reference, (VectorD(3) << 1.0, -4.0, 3.0).finished());  // others: the input mean
  EXPECT_EQ(s.task(0).regularize.reference, s.regularize.reference);
  EXPECT_EQ(s.task(0).regularize.diversity, 0.5);
}

TEST(SweepRegularize, BadValuesAreRefused) {
  std::string t = sweep_text("", "[regularize]\ndiversity = -1.0\n");
  expect_refused(t, {value_at(t, "diversity = ") + ": 'regularize.diversity' must be a number in [0, 1e+12], got -1"});
  t = sweep_text("", "[regularize]\nreference = { x9 = 1.0 }\n");
  expect_refused(t, {value_at(t, "x9 = ") + ": 'regularize.reference': the oracle has no feature 'x9'"});
  t = sweep_text("", "[regularize]\nreference = { x1 = inf }\n");
  expect_refused(t, {value_at(t, "x1 = ") + ": 'regularize.reference' must be a table of finite values"});
  t = sweep_text("", "[regularize]\nreference = [1.0, 2.0, 3.0]\n");
  expect_refused(t, {value_at(t, "reference = ") + ": 'regularize.reference' must be a table"});
  t = sweep_text("", "[regularize]\nproximty = 1.0\n");
  expect_refused(t, {"unknown key 'regularize.proximty'", "did you mean 'proximity'"});
}

TEST(SweepPolish, TablePresentMeansEnabledUnlessSaidOtherwise) {
  const sweep::Sweep none = parse(sweep_text());
  EXPECT_FALSE(none.polish.enabled);
  EXPECT_EQ(none.polish.max_iter, 100);
  EXPECT_EQ(none.polish.tolerance, 1e-12);
  EXPECT_TRUE(parse(sweep_text("", "[polish]\n")).polish.enabled);
  const sweep::Sweep s = parse(sweep_text("", "[polish]\nmax_iter = 7\ntolerance = 1e-6\n"));
  EXPECT_TRUE(s.polish.enabled);
  EXPECT_EQ(s.polish.max_iter, 7);
  EXPECT_EQ(s.polish.tolerance, 1e-6);
  EXPECT_TRUE(s.task(0).polish.enabled);
  EXPECT_EQ(s.task(0).polish.max_iter, 7);
  EXPECT_FALSE(parse(sweep_text("", "[polish]\nenabled = false\nmax_iter = 7\n")).polish.enabled);
  EXPECT_TRUE(parse(sweep_text("", "[polish]\nenabled = true\n")).polish.enabled);
}

TEST(SweepPolish, BadValuesAreRefused) {
  std::string t = sweep_text("", "[polish]\nmax_iter = 0\n");
  expect_refused(t, {value_at(t, "max_iter = ") + ": 'polish.max_iter' must be an integer in [1, 1000000], got 0"});
  t = sweep_text("", "[polish]\ntolerance = 0\n");
  expect_refused(t, {value_at(t, "tolerance = ") + ": 'polish.tolerance' must be a number in (0, 1], got 0"});
  t = sweep_text("", "[polish]\nenabled = \"yes\"\n");
  expect_refused(t, {value_at(t, "enabled = ") + ": 'polish.enabled' must be true or false"});
  t = "oracle = \"o.h5\"\npolish = true\n[objective]\n" + std::string(kTargetObjective);
  expect_refused(t, {value_at(t, "polish = ") + ": 'polish' must be a table"});
}

// The grid ----------------------------------------------------------------------------------

TEST(SweepGrid, TasksAreTargetsConstraintsSolversReplicatesReplicateFastest) {
  const sweep::Sweep s = parse(sweep_text("seed = 9\nreplicates = 3\nsolvers = [\"adjoint\", \"generator\"]\n",
                                          "[[constraints]]\nname = \"a\"\n[[constraints]]\nname = \"b\"\n",
                                          "kind = \"target\"\ntargets = [[1.0, 1.0], [2.0, 2.0]]\n"));
  ASSERT_EQ(s.n_tasks(), 2 * 2 * 2 * 3);
  std::set<std::uint64_t> seeds;
  Index id = 0;
  for (Index target = 0; target < 2; ++target)
    for (Index constraint = 0; constraint < 2; ++constraint)
      for (Index solver = 0; solver < 2; ++solver)
        for (Index replicate = 0; replicate < 3; ++replicate, ++id) {
          SCOPED_TRACE(fmt::format("task {}", id));
          const sweep::TaskCoords c = s.coords(id);
          EXPECT_EQ(c.target, target);
          EXPECT_EQ(c.constraint, constraint);
          EXPECT_EQ(c.solver, solver);
          EXPECT_EQ(c.replicate, replicate);
          const inverse::TaskSpec t = s.task(id);
          EXPECT_EQ(t.objective.target[0], 1.0 + static_cast<double>(target));
          EXPECT_EQ(t.constraint.name, constraint == 0 ? "a" : "b");
          EXPECT_EQ(t.solver, solvers::find(solver == 0 ? "adjoint" : "generator"));
          EXPECT_EQ(t.replicate, replicate);
          EXPECT_EQ(t.seed, derive_seed({9, static_cast<std::uint64_t>(id)}));
          EXPECT_EQ(t.shared_seed, s.shared_seed(constraint, replicate));
          EXPECT_EQ(std::any_cast<solvers::GeneratorSettings>(
                        s.solver_settings[static_cast<std::size_t>(solvers::find("generator"))])
                        .steps,
                    2000);
          seeds.insert(t.seed);
        }
  EXPECT_EQ(seeds.size(), 24u);
  EXPECT_EQ(s.first_task_of_solver(1), 3);
  EXPECT_EQ(s.coords(s.first_task_of_solver(1)).solver, 1);
  // The seed depends on (seed, id) only: another seed moves every task's stream.
  const sweep::Sweep other =
      parse(s.text.substr(0, s.text.find("seed = 9")) + "seed = 10" + s.text.substr(s.text.find("seed = 9") + 8));
  EXPECT_NE(other.task(0).seed, s.task(0).seed);
  EXPECT_NE(s.shared_seed(0, 0), s.shared_seed(1, 0));
  EXPECT_NE(s.shared_seed(0, 0), s.shared_seed(0, 1));
}

}  // namespace
}  // namespace invsweep::testing
