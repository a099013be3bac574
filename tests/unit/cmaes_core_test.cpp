#include "invsweep/solvers/cmaes_core.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <Eigen/QR>
#include <cmath>
#include <numbers>
#include <string>

#include "alloc_counter.hpp"
#include "invsweep/core/errors.hpp"

using namespace invsweep;
using namespace invsweep::solvers::cmaes;

namespace {

using Point = Eigen::Ref<const VectorD>;

// An Objective that evaluates each column with `fn` (no allocation of its own).
template <class Fn>
Objective columns(Fn fn) {
  return [fn](const MatrixD& X, VectorD& values) {
    for (Index j = 0; j < X.cols(); ++j)
      values[j] = fn(Point(X.col(j)));
  };
}

StartPoint fixed(const VectorD& x0) {
  return [x0](Rng&) { return x0; };
}

StartPoint uniform_box(Index n, double lo, double hi) {
  return [=](Rng& rng) {
    VectorD x(n);
    for (Index i = 0; i < n; ++i)
      x[i] = rng.uniform(lo, hi);
    return x;
  };
}

double sphere(const Point& x) {
  return x.squaredNorm();
}

double rosenbrock(const Point& x) {
  double f = 0;
  for (Index i = 0; i + 1 < x.size(); ++i)
    f += 100.0 * std::pow(x[i + 1] - x[i] * x[i], 2) + std::pow(1.0 - x[i], 2);
  return f;
}

double rastrigin(const Point& x) {
  double f = 10.0 * static_cast<double>(x.size());
  for (Index i = 0; i < x.size(); ++i)
    f += x[i] * x[i] - 10.0 * std::cos(2.0 * std::numbers::pi * x[i]);
  return f;
}

std::string runs_summary(const Result& r) {
  std::string s;
  for (const RunRecord& run : r.runs)
    s += fmt::format("  lambda={} evals={} gens={} best={:.3g} stop={}\n", run.population, run.evaluations,
                     run.generations, run.best_value, to_string(run.stop));
  return s;
}

}  // namespace

class CmaesSphere : public ::testing::TestWithParam<int> {};

TEST_P(CmaesSphere, ReachesTheMinimumFromAFarStart) {
  const Index n = GetParam();
  Settings s;
  s.sigma0 = 0.5;
  s.restarts = 0;
  Rng rng(derive_seed({11, static_cast<std::uint64_t>(n)}));
  const Result r = minimize(columns(sphere), n, fixed(VectorD::Constant(n, 5.0)), s, rng);
  ASSERT_EQ(r.runs.size(), 1u);
  EXPECT_LE(r.best_value, 1e-10) << runs_summary(r);
  EXPECT_LE(r.best_x.norm(), 1e-5);
  EXPECT_NE(r.runs[0].stop, StopReason::max_evaluations) << runs_summary(r);
  RecordProperty("evaluations", std::to_string(r.evaluations));
}

INSTANTIATE_TEST_SUITE_P(Dims, CmaesSphere, ::testing::Values(2, 4, 10));

TEST(Cmaes, OneDimensionWorks) {
  Settings s;
  s.restarts = 0;
  Rng rng(5);
  const Result r =
      minimize(columns([](const Point& x) { return (x[0] - 3.0) * (x[0] - 3.0); }), 1, fixed(VectorD::Zero(1)), s, rng);
  EXPECT_EQ(r.runs[0].population, 4);
  EXPECT_LE(r.best_value, 1e-10) << runs_summary(r);
  EXPECT_NEAR(r.best_x[0], 3.0, 1e-5);
  RecordProperty("evaluations", std::to_string(r.evaluations));
}

class CmaesRosenbrock : public ::testing::TestWithParam<int> {};

TEST_P(CmaesRosenbrock, ReachesTheMinimumAtOnes) {
  const Index n = GetParam();
  Settings s;
  s.sigma0 = 0.5;
  s.restarts = 2;
  s.max_evaluations = 60000;
  Rng rng(derive_seed({12, static_cast<std::uint64_t>(n)}));
  const Result r = minimize(columns(rosenbrock), n, fixed(VectorD::Zero(n)), s, rng);
  EXPECT_LE(r.best_value, 1e-8) << runs_summary(r);
  EXPECT_LE((r.best_x - VectorD::Ones(n)).lpNorm<Eigen::Infinity>(), 1e-3);
  RecordProperty("evaluations", std::to_string(r.evaluations));
  RecordProperty("runs", runs_summary(r));
}

INSTANTIATE_TEST_SUITE_P(Dims, CmaesRosenbrock, ::testing::Values(4, 10));

// f(x) = Σ 10^(6 i/(n-1)) (Rx)_i² with a random rotation R: condition 1e6 along axes that are
// not the coordinates. Without covariance learning (C = I) an ES needs ~1e6 times more
// evaluations for the long axes; CMA-ES needs a few thousand per dimension.
TEST(Cmaes, LearnsTheCovarianceOfARotatedEllipsoid) {
  const Index n = 10;
  Rng rot_rng(99);
  MatrixD G(n, n);
  for (Index i = 0; i < G.size(); ++i)
    G.data()[i] = rot_rng.normal();
  const MatrixD R = Eigen::HouseholderQR<MatrixD>(G).householderQ();
  VectorD scale(n);
  for (Index i = 0; i < n; ++i)
    scale[i] = std::pow(10.0, 6.0 * static_cast<double>(i) / static_cast<double>(n - 1));
  const auto ellipsoid = [R, scale](const Point& x) {
    double f = 0;
    for (Index i = 0; i < R.rows(); ++i) {
      const double y = R.row(i).dot(x);
      f += scale[i] * y * y;
    }
    return f;
  };
  Settings s;
  s.sigma0 = 1.0;
  s.restarts = 0;
  s.max_evaluations = 20000;
  Rng rng(3);
  const Result r = minimize(columns(ellipsoid), n, fixed(VectorD::Constant(n, 1.0)), s, rng);
  EXPECT_LE(r.best_value, 1e-8) << runs_summary(r);
  RecordProperty("evaluations", std::to_string(r.evaluations));
}

TEST(Cmaes, IpopFindsTheGlobalMinimumOfRastriginAndDoublesThePopulation) {
  const Index n = 5;
  Settings s;
  s.sigma0 = 2.0;
  s.restarts = 9;
  s.max_evaluations = 200000;
  s.target = 1e-6;
  Rng rng(2024);
  const Result r = minimize(columns(rastrigin), n, uniform_box(n, -5.0, 5.0), s, rng);
  EXPECT_EQ(r.stop, StopReason::target) << runs_summary(r);
  EXPECT_LE(r.best_value, 1e-6);
  EXPECT_LE(r.best_x.lpNorm<Eigen::Infinity>(), 1e-3);
  EXPECT_LE(r.evaluations, 200000);
  ASSERT_GE(r.runs.size(), 2u) << "the first run found the global minimum: no restart was tested";
  std::int64_t total = 0;
  for (std::size_t i = 0; i < r.runs.size(); ++i) {
    EXPECT_EQ(r.runs[i].population, 8 << i) << "run " << i;  // 4 + ⌊3 ln 5⌋ = 8, doubled per restart
    total += r.runs[i].evaluations;
    if (i + 1 < r.runs.size()) {
      EXPECT_NE(r.runs[i].stop, StopReason::target);
    }
  }
  EXPECT_EQ(total, r.evaluations);
  // Each run starts from its own point.
  EXPECT_NE(r.runs[0].start, r.runs[1].start);
  RecordProperty("evaluations", std::to_string(r.evaluations));
  RecordProperty("runs", runs_summary(r));
}

TEST(Cmaes, SameSeedIsBitIdenticalAndAnotherSeedDiffers) {
  const Index n = 5;
  Settings s;
  s.sigma0 = 2.0;
  s.restarts = 3;
  s.max_evaluations = 20000;
  const auto solve = [&](std::uint64_t seed) {
    Rng rng(seed);
    return minimize(columns(rastrigin), n, uniform_box(n, -5.0, 5.0), s, rng);
  };
  const Result a = solve(7), b = solve(7), c = solve(8);
  ASSERT_EQ(a.runs.size(), b.runs.size());
  EXPECT_EQ(a.evaluations, b.evaluations);
  EXPECT_EQ(a.best_x, b.best_x);
  EXPECT_EQ(a.best_value, b.best_value);
  for (std::size_t i = 0; i < a.runs.size(); ++i) {
    EXPECT_EQ(a.runs[i].last_x, b.runs[i].last_x);
    EXPECT_EQ(a.runs[i].evaluations, b.runs[i].evaluations);
    EXPECT_EQ(a.runs[i].stop, b.runs[i].stop);
  }
  EXPECT_NE(a.best_x, c.best_x);
  EXPECT_NE(a.runs[0].start, c.runs[0].start);
}

// NaN on the half-space x0 < 0 and +inf where x1 > 4; the minimum (0.5, -2, 1) is finite.
TEST(Cmaes, NonFiniteValuesRankWorstAndTheRunStillConverges) {
  const auto f = [](const Point& x) {
    if (x[0] < 0.0) return std::numeric_limits<double>::quiet_NaN();
    if (x[1] > 4.0) return std::numeric_limits<double>::infinity();
    return std::pow(x[0] - 0.5, 2) + std::pow(x[1] + 2.0, 2) + std::pow(x[2] - 1.0, 2);
  };
  long non_finite = 0;
  const Objective counted = [&](const MatrixD& X, VectorD& v) {
    columns(f)(X, v);
    non_finite += (!v.array().isFinite()).count();
  };
  Settings s;
  s.sigma0 = 2.0;
  s.restarts = 0;
  Rng rng(17);
  VectorD x0(3);
  x0 << 0.3, 3.0, 3.0;
  const Result r = minimize(counted, 3, fixed(x0), s, rng);
  EXPECT_GT(non_finite, 10) << "the test did not reach the non-finite region";
  EXPECT_LE(r.best_value, 1e-10) << runs_summary(r);
  EXPECT_NEAR(r.best_x[0], 0.5, 1e-5);
  EXPECT_NEAR(r.best_x[1], -2.0, 1e-5);
  EXPECT_NEAR(r.best_x[2], 1.0, 1e-5);
  RecordProperty("evaluations", std::to_string(r.evaluations));
  // Sorted last generation: finite values first, in order.
  const VectorD& v = r.runs[0].last_values;
  for (Index j = 1; j < v.size(); ++j)
    if (std::isfinite(v[j])) {
      EXPECT_LE(v[j - 1], v[j]);
    }
}

TEST(Cmaes, ARunWhoseValuesAreAllNonFiniteStopsWithAReason) {
  Settings s;
  s.restarts = 2;
  Rng rng(1);
  const Result r = minimize(columns([](const Point&) { return std::numeric_limits<double>::quiet_NaN(); }), 4,
                            fixed(VectorD::Zero(4)), s, rng);
  ASSERT_EQ(r.runs.size(), 3u);
  for (std::size_t i = 0; i < r.runs.size(); ++i) {
    EXPECT_EQ(r.runs[i].stop, StopReason::non_finite);
    EXPECT_EQ(r.runs[i].generations, 1);
    EXPECT_EQ(r.runs[i].evaluations, r.runs[i].population);
    EXPECT_TRUE(std::isinf(r.runs[i].best_value));
  }
  EXPECT_EQ(r.stop, StopReason::non_finite);
  EXPECT_EQ(r.evaluations, 8 + 16 + 32);  // 4 + ⌊3 ln 4⌋ = 8
  MatrixD x;
  VectorD v;
  candidates(r, 5, x, v);
  EXPECT_EQ(x.cols(), 0);
}

TEST(Cmaes, TheBudgetIsNeverExceeded) {
  // A budget that ends inside a generation: the last call gets only what is left.
  Settings s;
  s.restarts = 0;
  s.max_evaluations = 1003;
  s.tol_fun = 0;
  s.tol_x = 0;
  std::int64_t columns_seen = 0;
  Index last_cols = 0;
  const Objective f = [&](const MatrixD& X, VectorD& v) {
    columns(rastrigin)(X, v);
    columns_seen += X.cols();
    last_cols = X.cols();
  };
  Rng rng(4);
  const Result r = minimize(f, 10, uniform_box(10, -5, 5), s, rng);  // λ = 10
  EXPECT_EQ(r.evaluations, 1003);
  EXPECT_EQ(columns_seen, 1003);
  EXPECT_EQ(last_cols, 3);
  EXPECT_EQ(r.stop, StopReason::max_evaluations);
  EXPECT_EQ(r.runs[0].last_x.cols(), 3);

  // With restarts: every budget is respected, and the counts add up.
  for (std::int64_t budget : {1, 9, 10, 57, 500, 2500}) {
    Settings t;
    t.population = 6;
    t.max_evaluations = budget;
    columns_seen = 0;
    Rng rng2(static_cast<std::uint64_t>(budget));
    if (budget < 6) {
      EXPECT_THROW(minimize(f, 3, uniform_box(3, -5, 5), t, rng2), ConfigError);
      continue;
    }
    const Result q = minimize(f, 3, uniform_box(3, -5, 5), t, rng2);
    EXPECT_LE(q.evaluations, budget);
    EXPECT_EQ(q.evaluations, columns_seen);
    std::int64_t total = 0;
    for (const RunRecord& run : q.runs)
      total += run.evaluations;
    EXPECT_EQ(total, q.evaluations);
  }
}

// A constant function: TolFun holds as soon as the history of 10 + ⌈30n/λ⌉ generations is full.
TEST(Cmaes, TolFunStopsAFlatRunAfterItsHistory) {
  Settings s;
  s.restarts = 1;
  Rng rng(9);
  const Result r = minimize(columns([](const Point&) { return 1.0; }), 2, fixed(VectorD::Zero(2)), s, rng);
  ASSERT_EQ(r.runs.size(), 2u);
  EXPECT_EQ(r.runs[0].population, 6);  // 4 + ⌊3 ln 2⌋
  EXPECT_EQ(r.runs[0].stop, StopReason::tol_fun);
  EXPECT_EQ(r.runs[0].generations, 20);  // 10 + ⌈60/6⌉
  EXPECT_EQ(r.runs[1].generations, 15);  // 10 + ⌈60/12⌉
  EXPECT_EQ(r.evaluations, 20 * 6 + 15 * 12);
}

TEST(Cmaes, TargetStopsEverything) {
  Settings s;
  s.target = 1e-3;
  Rng rng(2);
  const Result r = minimize(columns(sphere), 4, fixed(VectorD::Constant(4, 3.0)), s, rng);
  ASSERT_EQ(r.runs.size(), 1u);
  EXPECT_EQ(r.stop, StopReason::target);
  EXPECT_LE(r.best_value, 1e-3);
  EXPECT_GT(r.best_value, 1e-6);  // stopped at once, not after converging
}

TEST(Cmaes, CandidatesAreRunBestsThenPopulationMembersDistinctAndSorted) {
  Settings s;
  s.sigma0 = 2.0;
  s.restarts = 3;
  s.max_evaluations = 20000;
  Rng rng(31);
  const Result r = minimize(columns(rastrigin), 3, uniform_box(3, -5, 5), s, rng);
  ASSERT_EQ(r.runs.size(), 4u) << runs_summary(r);
  MatrixD x;
  VectorD v;
  candidates(r, 10, x, v);
  ASSERT_EQ(x.cols(), 10);
  std::vector<double> bests;
  for (const RunRecord& run : r.runs)
    bests.push_back(run.best_value);
  std::sort(bests.begin(), bests.end());
  for (Index j = 0; j < 4; ++j)
    EXPECT_EQ(v[j], bests[static_cast<std::size_t>(j)]);
  for (Index j = 4; j + 1 < 10; ++j)
    EXPECT_LE(v[j], v[j + 1]);
  for (Index j = 0; j < 10; ++j) {
    EXPECT_DOUBLE_EQ(rastrigin(Point(x.col(j))), v[j]);
    for (Index i = 0; i < j; ++i)
      EXPECT_NE(x.col(i), x.col(j)) << i << " " << j;
  }
}

TEST(Cmaes, GenerationsDoNotAllocate) {
  if (!testing_alloc::available()) GTEST_SKIP() << "allocation counting is off under sanitizers";
  for (const auto& [n, lambda] : {std::pair<Index, Index>{10, 10}, {30, 60}}) {
    long previous = -1, calls = 0, allocating = 0;
    const Objective f = [&](const MatrixD& X, VectorD& v) {
      const long now = testing_alloc::count();
      if (calls >= 1 && now != previous) ++allocating;  // the first call follows the run's setup
      for (Index j = 0; j < X.cols(); ++j)
        v[j] = X.col(j).squaredNorm();
      ++calls;
      previous = testing_alloc::count();
    };
    Settings s;
    s.population = lambda;
    s.restarts = 0;
    s.max_evaluations = 200 * lambda;
    Rng rng(6);
    const Result r = minimize(f, n, fixed(VectorD::Constant(n, 2.0)), s, rng);
    EXPECT_GT(calls, 50);
    EXPECT_EQ(allocating, 0) << "n=" << n << " lambda=" << lambda << ": " << allocating << " of " << calls
                             << " generations allocated";
  }
}

TEST(Cmaes, SettingsAreValidatedWithTheirKeys) {
  const auto message = [](const Settings& s) -> std::string {
    try {
      validate(s);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  };
  Settings s;
  EXPECT_EQ(message(s), "");
  s.population = 1;
  EXPECT_NE(message(s).find("cmaes.population"), std::string::npos);
  s = Settings{};
  s.population = 2;
  EXPECT_EQ(message(s), "");
  for (double bad : {0.0, -1.0, std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()}) {
    s = Settings{};
    s.sigma0 = bad;
    EXPECT_NE(message(s).find("cmaes.sigma0"), std::string::npos) << bad;
  }
  s = Settings{};
  s.max_evaluations = 0;
  EXPECT_NE(message(s).find("cmaes.max_evaluations"), std::string::npos);
  s = Settings{};
  s.restarts = -1;
  EXPECT_NE(message(s).find("cmaes.restarts"), std::string::npos);
  s = Settings{};
  s.tol_fun = -1;
  EXPECT_NE(message(s).find("cmaes.tol_fun"), std::string::npos);
  s = Settings{};
  s.tol_x = std::numeric_limits<double>::quiet_NaN();
  EXPECT_NE(message(s).find("cmaes.tol_x"), std::string::npos);
  // minimize validates too, before any evaluation.
  s = Settings{};
  s.sigma0 = -1;
  Rng rng(1);
  bool called = false;
  EXPECT_THROW(minimize([&](const MatrixD&, VectorD&) { called = true; }, 2, fixed(VectorD::Zero(2)), s, rng),
               ConfigError);
  EXPECT_FALSE(called);
}

// With TolFun off, a sphere centred at 0 runs until the steps are below tol_x·σ0; centred at
// ones, with TolX off as well, until adding steps to the mean no longer changes it.
TEST(Cmaes, TolXAndNoEffectStopConvergedRuns) {
  Settings s;
  s.restarts = 0;
  s.tol_fun = 0;
  Rng rng(21);
  const Result a = minimize(columns(sphere), 3, fixed(VectorD::Constant(3, 1.0)), s, rng);
  EXPECT_EQ(a.runs[0].stop, StopReason::tol_x) << runs_summary(a);
  EXPECT_LE(a.best_value, 1e-20);

  s.tol_x = 0;
  const Result b = minimize(columns([](const Point& x) { return (x.array() - 1.0).square().sum(); }), 3,
                            fixed(VectorD::Zero(3)), s, rng);
  const StopReason why = b.runs[0].stop;
  EXPECT_TRUE(why == StopReason::no_effect_axis || why == StopReason::no_effect_coord) << runs_summary(b);
  EXPECT_LE(b.best_value, 1e-28);
}

// Values that are pure noise: nothing improves, so stagnation ends the run once its minimum
// history (100 + ⌈100·n^1.5/λ⌉ generations) is there.
TEST(Cmaes, StagnationStopsARunThatDoesNotImprove) {
  Rng noise(77);
  const Objective f = [&noise](const MatrixD& X, VectorD& v) {
    for (Index j = 0; j < X.cols(); ++j)
      v[j] = noise.uniform();
  };
  Settings s;
  s.restarts = 0;
  s.tol_fun = 0;
  Rng rng(22);
  const Result r = minimize(f, 2, fixed(VectorD::Zero(2)), s, rng);
  EXPECT_EQ(r.runs[0].stop, StopReason::stagnation) << runs_summary(r);
  EXPECT_GE(r.runs[0].generations, 100 + 48);  // λ = 6: ⌈100·2^1.5/6⌉ = 48
  EXPECT_LT(r.runs[0].generations, 1000);
  RecordProperty("generations", std::to_string(r.runs[0].generations));
}
