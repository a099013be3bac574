// The sweep parser, top level and [objective]: each key lands in its field, defaults hold
// when a key is absent, and bad values are refused naming file:line:col and the key path.
#include <gtest/gtest.h>

#include <cmath>

#include "invsweep/solvers/registry.hpp"
#include "sweep_fixture.hpp"

namespace invsweep::testing {
namespace {

using inverse::ObjectiveKind;

TEST(SweepTopLevel, EveryKeyLandsInItsField) {
  const std::string t = sweep_text(
      "output = \"out/r.h5\"\ndescription = \"a test\"\nseed = 42\nsamples = 7\nreplicates = 3\n"
      "solvers = [\"adjoint\", \"generator\"]\nlog_every = 5\nlog_points = 11\n");
  const sweep::Sweep s = parse(t);
  EXPECT_EQ(s.path, kSweepPath);
  EXPECT_EQ(s.text, t);
  EXPECT_EQ(s.oracle_path, "jobs/oracle.h5");
  EXPECT_EQ(s.output_path, "jobs/out/r.h5");
  EXPECT_EQ(s.description, "a test");
  EXPECT_EQ(s.seed, 42u);
  EXPECT_EQ(s.samples, 7);
  EXPECT_EQ(s.replicates, 3);
  EXPECT_EQ(s.solvers, (std::vector<Index>{solvers::find("adjoint"), solvers::find("generator")}));
  EXPECT_EQ(s.log_every, 5);
  EXPECT_EQ(s.log_points, 11);
  const inverse::TaskSpec task = s.task(0);
  EXPECT_EQ(task.samples, 7);
  EXPECT_EQ(task.log_every, 5);
  EXPECT_EQ(task.log_points, 11);
  EXPECT_EQ(task.solver, solvers::find("adjoint"));
}

TEST(SweepTopLevel, DefaultsWhenAbsent) {
  const sweep::Sweep s = parse(sweep_text());
  EXPECT_EQ(s.output_path, "");
  EXPECT_EQ(s.description, "");
  EXPECT_EQ(s.seed, 0u);
  EXPECT_EQ(s.samples, 256);
  EXPECT_EQ(s.replicates, 1);
  EXPECT_EQ(s.solvers, std::vector<Index>{solvers::find("generator")});
  EXPECT_EQ(s.log_every, 20);
  EXPECT_EQ(s.log_points, 101);
  ASSERT_EQ(s.solver_settings.size(), solvers::all().size());  // every solver's settings, used or not
}

TEST(SweepTopLevel, AbsolutePathsStayAbsolute) {
  const sweep::Sweep s =
      parse("oracle = \"/data/o.h5\"\noutput = \"/data/r.h5\"\n[objective]\n" + std::string(kTargetObjective));
  EXPECT_EQ(s.oracle_path, "/data/o.h5");
  EXPECT_EQ(s.output_path, "/data/r.h5");
}

TEST(SweepTopLevel, PathKeysAreRefusedWithTheirPosition) {
  expect_refused("seed = 1\n[objective]\n" + std::string(kTargetObjective), {kSweepPath, "missing key 'oracle'"});
  std::string t = "oracle = 3\n[objective]\n" + std::string(kTargetObjective);
  expect_refused(t, {value_at(t, "oracle = ") + ": 'oracle' must be a string"});
  t = sweep_text("output = \"\"\n");
  expect_refused(t, {value_at(t, "output = ") + ": 'output' must be a file path"});
  t = sweep_text("output = 3\n");
  expect_refused(t, {value_at(t, "output = ") + ": 'output' must be a string"});
  t = sweep_text("description = [1]\n");
  expect_refused(t, {value_at(t, "description = ") + ": 'description' must be a string"});
}

TEST(SweepTopLevel, UnknownKeysGetADidYouMean) {
  std::string t = sweep_text("sed = 1\n");
  expect_refused(t, {value_at(t, "sed = ") + ": unknown key 'sed'", "did you mean 'seed'"});
  t = sweep_text("", "[generatr]\nsteps = 3\n");
  expect_refused(t, {"unknown key 'generatr'", "did you mean 'generator'"});
  t = sweep_text("", "", std::string(kTargetObjective) + "weight = { y = 1.0 }\n");
  expect_refused(t, {value_at(t, "weight = ") + ": unknown key 'objective.weight'", "did you mean 'weights'"});
  t = "oracle = \"o.h5\"\n[objective]\nkind = \"target\"\ntargets = [[1.0, 2.0]]\n[objective.extra]\na = 1\n";
  expect_refused(t, {"unknown key 'objective.extra'"});
  expect_refused("oracle = \"o.h5\"\n[objective\n", {kSweepPath, "not valid TOML"});
}

TEST(SweepSolvers, UnknownDuplicateAndEmptyAreRefused) {
  std::string t = sweep_text("solvers = [\"generator\", \"adjiont\"]\n");
  expect_refused(t, {value_at(t, "\"generator\", ") + ": unknown solver 'adjiont' in 'solvers'",
                     "did you mean 'adjoint'", "expected: generator, adjoint, amortized, cmaes"});
  t = sweep_text("solvers = [\"adjoint\", \"cmaes\", \"adjoint\"]\n");
  expect_refused(t, {value_at(t, "solvers = ") + ": 'solvers' must be a list without repeats ('adjoint' appears "
                                                 "twice)"});
  t = sweep_text("solvers = []\n");
  expect_refused(t, {value_at(t, "solvers = ") + ": 'solvers' must be a non-empty array"});
  t = sweep_text("solvers = \"generator\"\n");
  expect_refused(t, {value_at(t, "solvers = ") + ": 'solvers' must be a non-empty array"});
  t = sweep_text("solvers = [\"generator\", 2]\n");
  expect_refused(t, {value_at(t, "solvers = ") + ": 'solvers' must be an array of solver names"});
}

TEST(SweepSolvers, AmortizedRefusesMaximizeAndMinimize) {
  for (const char* kind : {"maximize", "minimize"}) {
    const std::string t = sweep_text("solvers = [\"generator\", \"amortized\"]\n", "",
                                     fmt::format("kind = \"{}\"\noutput = \"y\"\n", kind));
    expect_refused(t, {value_at(t, "solvers = ") + ": the amortized solver answers targets", kind});
  }
  const std::string ok = "kind = \"range\"\nlo = [0.0, 0.0]\nhi = [1.0, 1.0]\n";
  EXPECT_NO_THROW(parse(sweep_text("solvers = [\"amortized\"]\n", "", ok)));
}

// [objective] ------------------------------------------------------------------------------

TEST(SweepObjective, TargetVectorsAndWeights) {
  const sweep::Sweep s = parse(sweep_text("", "",
                                          "kind = \"target\"\ntargets = [[1.0, 2.0], [3, -4.5]]\n"
                                          "weights = { z = 0.5 }\n"));
  EXPECT_EQ(s.kind, ObjectiveKind::target);
  ASSERT_EQ(s.n_targets(), 2);
  EXPECT_EQ(s.targets[0], (VectorD(2) << 1.0, 2.0).finished());
  EXPECT_EQ(s.targets[1], (VectorD(2) << 3.0, -4.5).finished());
  EXPECT_EQ(s.weights, (VectorD(2) << 0.0, 0.5).finished());  // outputs not named: 0
  EXPECT_TRUE(s.range_lo.empty());
  const inverse::TaskSpec task = s.task(1);
  EXPECT_EQ(task.objective.kind, ObjectiveKind::target);
  EXPECT_EQ(task.objective.target, s.targets[1]);
  EXPECT_EQ(task.objective.weights, s.weights);
  EXPECT_EQ(parse(sweep_text()).weights.size(), 0);  // no weights: every output 1
}

TEST(SweepObjective, TargetAxisFromToCount) {
  const sweep::Sweep s =
      parse(sweep_text("", "", "kind = \"target\"\ntargets = { from = [0.0, 10.0], to = [1.0, 0.0], count = 5 }\n"));
  ASSERT_EQ(s.n_targets(), 5);
  EXPECT_EQ(s.targets[2], (VectorD(2) << 0.5, 5.0).finished());
  EXPECT_EQ(s.targets[4], (VectorD(2) << 1.0, 0.0).finished());
  const sweep::Sweep one = parse(sweep_text("", "",
                                            "kind = \"target\"\ntargets = { from = [3, 4], to = [5, 6], "
                                            "count = 1 }\n"));
  ASSERT_EQ(one.n_targets(), 1);
  EXPECT_EQ(one.targets[0], (VectorD(2) << 3.0, 4.0).finished());
}

TEST(SweepObjective, NanTargetsLeaveOutputsFree) {
  const sweep::Sweep s = parse(sweep_text("", "", "kind = \"target\"\ntargets = [[1.0, nan], [2.0, nan]]\n"));
  ASSERT_EQ(s.n_targets(), 2);
  EXPECT_EQ(s.targets[1][0], 2.0);
  EXPECT_TRUE(std::isnan(s.targets[1][1]));
  const sweep::Sweep r =
      parse(sweep_text("", "", "kind = \"target\"\ntargets = { from = [0.0, nan], to = [1.0, nan], count = 3 }\n"));
  ASSERT_EQ(r.n_targets(), 3);
  EXPECT_EQ(r.targets[1][0], 0.5);
  EXPECT_TRUE(std::isnan(r.targets[2][1]));
}

TEST(SweepObjective, SubjectToReadsOneSidedRangesPerOutput) {
  const sweep::Sweep s =
      parse(sweep_text("", "", "kind = \"maximize\"\noutput = \"y\"\nsubject_to = { z = [-inf, 2.5] }\n"));
  ASSERT_EQ(s.sub_lo.size(), 2);
  EXPECT_EQ(s.sub_lo[0], -std::numeric_limits<double>::infinity());
  EXPECT_EQ(s.sub_hi[0], std::numeric_limits<double>::infinity());
  EXPECT_EQ(s.sub_lo[1], -std::numeric_limits<double>::infinity());
  EXPECT_EQ(s.sub_hi[1], 2.5);
  EXPECT_EQ(s.task(0).objective.sub_hi[1], 2.5);
  // Sweeps without it keep their fingerprint; with it, the fingerprint changes.
  const sweep::Sweep plain = parse(sweep_text("", "", "kind = \"maximize\"\noutput = \"y\"\n"));
  EXPECT_NE(plain.hash(sweep_oracle()), s.hash(sweep_oracle()));
}

TEST(SweepObjective, BadSubjectToIsRefused) {
  const auto obj = [](const std::string& line) {
    return sweep_text("", "", "kind = \"target\"\ntargets = [[1.0, 2.0]]\n" + line);
  };
  std::string t = obj("subject_to = { w = [0.0, 1.0] }\n");
  expect_refused(t, {"'objective.subject_to'", "'w'", "y, z"});
  t = obj("subject_to = { z = [2.0, 1.0] }\n");
  expect_refused(t, {value_at(t, "z = ") + ": 'objective.subject_to' must be a range [lo, hi] with lo ≤ hi for "
                                           "output 'z'"});
  t = obj("subject_to = { z = [inf, inf] }\n");
  expect_refused(t, {"'objective.subject_to' must be a range [lo, hi]"});
  t = obj("subject_to = { z = [nan, 1.0] }\n");
  expect_refused(t, {"'objective.subject_to' must be finite numbers"});
  t = obj("subject_to = { z = 1.0 }\n");
  expect_refused(t, {"'objective.subject_to' must be an array of 2 numbers"});
  t = obj("subject_to = {}\n");
  expect_refused(t, {"'objective.subject_to' must be a table { output = [lo, hi], … } naming some output"});
}

TEST(SweepConstraints, PlausibleNeedsInputStatistics) {
  const std::string text = sweep_text("", "[[constraints]]\nname = \"p\"\nplausible = 3.0\n");
  EXPECT_EQ(parse(text).constraints[0].plausible, 3.0);
  oracle::Oracle bare = sweep_oracle();
  bare.input_mean.resize(0);
  bare.input_cov.resize(0, 0);
  expect_refused(text,
                 {value_at(text, "plausible = ") + ": 'constraints[0].plausible' needs the training inputs' "
                                                   "mean and covariance"},
                 bare);
  const std::string neg = sweep_text("", "[[constraints]]\nname = \"p\"\nplausible = -1.0\n");
  expect_refused(neg, {"'constraints[0].plausible' must be"});
}

TEST(SweepObjective, BadTargetsAreRefused) {
  const auto obj = [](const std::string& targets) { return sweep_text("", "", "kind = \"target\"\n" + targets); };
  std::string t = obj("targets = [[1.0, 2.0, 3.0]]\n");
  expect_refused(t, {value_at(t, "targets = [") + ": 'objective.targets' must be an array of 2 numbers"});
  t = obj("targets = [1.0, 2.0]\n");
  expect_refused(t,
                 {value_at(t, "targets = ") + ": 'objective.targets' must be an array of target vectors of 2", "y, z"});
  t = obj("targets = []\n");
  expect_refused(t, {value_at(t, "targets = ") + ": 'objective.targets' must be a non-empty array"});
  t = obj("targets = [[nan, nan]]\n");
  expect_refused(t, {value_at(t, "targets = ") + ": 'objective.targets' must be target vectors with at least one "
                                                 "number that is not nan"});
  t = obj("targets = [[inf, 1.0]]\n");
  expect_refused(t, {value_at(t, "targets = [") + ": 'objective.targets' must be numbers, finite or nan"});
  t = obj("targets = { from = [0, nan], to = [1, 1], count = 2 }\n");
  expect_refused(t, {"'objective.targets.to' must be nan exactly where 'from' is nan (output 'z'"});
  t = obj("targets = [[\"a\", 1.0]]\n");
  expect_refused(t, {"'objective.targets' must be a number"});
  expect_refused(obj(""), {"missing key 'objective.targets'"});
  t = obj("targets = { from = [0, 0], to = [1, 1], count = 0 }\n");
  expect_refused(t, {value_at(t, "count = ") + ": 'objective.targets.count' must be an integer in [1, 1000000]"});
  expect_refused(obj("targets = { from = [0, 0], to = [1, 1] }\n"), {"missing key 'objective.targets.count'"});
  t = obj("targets = { from = [0, 0], to = [1, 1], count = 2, step = 1 }\n");
  expect_refused(t, {value_at(t, "step = ") + ": unknown key 'objective.targets.step'"});
  t = obj("targets = [[1.0, 2.0]]\nweights = { y = -1.0 }\n");
  expect_refused(t, {value_at(t, "y = ") + ": 'objective.weights' must be a table of finite weights ≥ 0"});
  t = obj("targets = [[1.0, 2.0]]\nweights = { y = 0.0 }\n");
  expect_refused(t, {value_at(t, "weights = ") + ": 'objective.weights' must be a table with a positive weight"});
  t = obj("targets = [[1.0, 2.0]]\nweights = { w = 1.0 }\n");
  expect_refused(t, {value_at(t, "w = ") + ": 'objective.weights': the oracle has no output 'w'", "outputs are: y, z"});
  t = obj("targets = [[1.0, 2.0]]\noutput = \"y\"\n");
  expect_refused(t, {value_at(t, "output = ") + ": 'objective.output' does not apply to kind = \"target\""});
}

TEST(SweepObjective, KindIsRequiredAndNamed) {
  expect_refused(sweep_text("", "", "targets = [[1.0, 2.0]]\n"), {"missing key 'objective.kind'"});
  std::string t = sweep_text("", "", "kind = \"maximise\"\noutput = \"y\"\n");
  expect_refused(t, {value_at(t, "kind = ") + ": 'objective.kind' = 'maximise' is not one of: target, range, "
                                              "maximize, minimize",
                     "did you mean 'maximize'"});
  t = sweep_text("", "", "kind = 2\n");
  expect_refused(t, {value_at(t, "kind = ") + ": 'objective.kind' must be one of"});
  expect_refused("oracle = \"o.h5\"\nseed = 1\n", {kSweepPath, "missing table [objective]"});
  t = "oracle = \"o.h5\"\nobjective = 3\n";
  expect_refused(t, {value_at(t, "objective = ") + ": 'objective' must be a table"});
}

TEST(SweepObjective, RangeOneAndAxis) {
  sweep::Sweep s = parse(sweep_text("", "", "kind = \"range\"\nlo = [1.0, -inf]\nhi = [3.0, 2.0]\n"));
  EXPECT_EQ(s.kind, ObjectiveKind::range);
  ASSERT_EQ(s.n_targets(), 1);
  EXPECT_EQ(s.range_lo[0][0], 1.0);
  EXPECT_EQ(s.range_lo[0][1], -INFINITY);
  EXPECT_EQ(s.range_hi[0], (VectorD(2) << 3.0, 2.0).finished());
  EXPECT_EQ(s.targets[0], (VectorD(2) << 2.0, 2.0).finished());  // the centre; a one-sided range's finite end
  s = parse(sweep_text("", "", "kind = \"range\"\nlo = [[0, 0], [1, 1], [2, 2]]\nhi = [[1, 1], [2, 2], [3, inf]]\n"));
  ASSERT_EQ(s.n_targets(), 3);
  EXPECT_EQ(s.range_lo[2], (VectorD(2) << 2.0, 2.0).finished());
  EXPECT_EQ(s.range_hi[1], (VectorD(2) << 2.0, 2.0).finished());
  EXPECT_EQ(s.task(2).objective.lo, s.range_lo[2]);
  EXPECT_EQ(s.task(2).objective.hi, s.range_hi[2]);
  EXPECT_EQ(s.targets[2], (VectorD(2) << 2.5, 2.0).finished());
}

TEST(SweepObjective, BadRangesAreRefused) {
  const auto obj = [](const std::string& body) { return sweep_text("", "", "kind = \"range\"\n" + body); };
  std::string t = obj("lo = [5.0, 0.0]\nhi = [1.0, 1.0]\n");
  expect_refused(t, {value_at(t, "hi = ") + ": 'objective.hi' must be ≥ 'lo' for every output, with a finite value "
                                            "between (output 'y'"});
  t = obj("lo = [-inf, -inf]\nhi = [inf, inf]\n");
  expect_refused(t, {value_at(t, "hi = ") + ": 'objective.hi' must be a range with a finite end for some output"});
  t = obj("lo = [inf, 0.0]\nhi = [inf, 1.0]\n");
  expect_refused(t, {value_at(t, "hi = ") + ": 'objective.hi' must be ≥ 'lo' for every output, with a finite value "
                                            "between (output 'y'"});
  // [-inf, inf] leaves an output free: its centre (the task's target) is nan.
  const sweep::Sweep free_y = parse(obj("lo = [-inf, 0.0]\nhi = [inf, 1.0]\n"));
  EXPECT_TRUE(std::isnan(free_y.targets[0][0]));
  EXPECT_EQ(free_y.targets[0][1], 0.5);
  t = obj("lo = [nan, 0.0]\nhi = [1.0, 1.0]\n");
  expect_refused(t, {value_at(t, "lo = ") + ": 'objective.lo' must be finite numbers"});
  t = obj("lo = [[0, 0], [1, 1]]\nhi = [[1, 1]]\n");
  expect_refused(t, {value_at(t, "hi = ") + ": 'objective.hi' must be an array of 2 ranges, like 'lo'"});
  t = obj("lo = [0.0]\nhi = [1.0, 1.0]\n");
  expect_refused(t, {value_at(t, "lo = ") + ": 'objective.lo' must be an array of 2 numbers"});
  expect_refused(obj("lo = [0.0, 0.0]\n"), {"missing key 'objective.hi'"});
  t = obj("lo = [0.0, 0.0]\nhi = [1.0, 1.0]\ntargets = [[1.0, 2.0]]\n");
  expect_refused(t, {value_at(t, "targets = ") + ": 'objective.targets' does not apply to kind = \"range\""});
}

TEST(SweepObjective, MaximizeWithOutputOrSignedWeights) {
  sweep::Sweep s = parse(sweep_text("", "", "kind = \"maximize\"\noutput = \"z\"\n"));
  EXPECT_EQ(s.kind, ObjectiveKind::maximize);
  EXPECT_EQ(s.weights, (VectorD(2) << 0.0, 1.0).finished());
  ASSERT_EQ(s.n_targets(), 1);
  EXPECT_TRUE(s.targets[0].array().isNaN().all());
  EXPECT_EQ(s.task(0).objective.kind, ObjectiveKind::maximize);
  EXPECT_EQ(s.task(0).objective.weights, s.weights);
  s = parse(sweep_text("", "", "kind = \"minimize\"\nweights = { y = 1.0, z = -0.5 }\n"));
  EXPECT_EQ(s.kind, ObjectiveKind::minimize);
  EXPECT_EQ(s.weights, (VectorD(2) << 1.0, -0.5).finished());
}

TEST(SweepObjective, MaximizeNeedsExactlyOneOfOutputAndWeights) {
  const auto obj = [](const std::string& body) { return sweep_text("", "", "kind = \"maximize\"\n" + body); };
  expect_refused(obj("output = \"y\"\nweights = { y = 1.0 }\n"), {"needs exactly one of 'objective.output'"});
  expect_refused(obj(""), {"needs exactly one of 'objective.output'", "'objective.weights'"});
  std::string t = obj("output = \"w\"\n");
  expect_refused(t, {value_at(t, "output = ") + ": 'objective.output': the oracle has no output 'w'"});
  t = obj("output = 1\n");
  expect_refused(t, {value_at(t, "output = ") + ": 'objective.output' must be an output name"});
  t = obj("weights = { y = 0.0, z = 0.0 }\n");
  expect_refused(t, {value_at(t, "weights = ") + ": 'objective.weights' must be a table with a non-zero weight"});
  t = obj("weights = { y = nan }\n");
  expect_refused(t, {value_at(t, "y = ") + ": 'objective.weights' must be a table of finite weights"});
  t = obj("output = \"y\"\ntargets = [[1.0, 2.0]]\n");
  expect_refused(t, {value_at(t, "targets = ") + ": 'objective.targets' does not apply to kind = \"maximize\""});
  t = obj("output = \"y\"\nlo = [1.0, 2.0]\n");
  expect_refused(t, {value_at(t, "lo = ") + ": 'objective.lo' does not apply to kind = \"maximize\""});
}

}  // namespace
}  // namespace invsweep::testing
