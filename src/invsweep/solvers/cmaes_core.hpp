#pragma once
// IPOP-CMA-ES: a black-box minimiser that uses function values only.
//
// Each run is the CMA-ES of Hansen's tutorial ("The CMA Evolution Strategy: A Tutorial",
// 2016): λ samples per generation, weighted recombination of the best μ = ⌊λ/2⌋ with positive
// weights, cumulative step-size adaptation, rank-one and rank-μ covariance updates with the
// tutorial's default constants, the h_σ stall rule, and an eigendecomposition of C refreshed
// every max(1, 1/(10·n·(c1 + cμ))) generations. IPOP (Auger & Hansen 2005): after a run stops,
// a new one starts from a fresh start point with twice the population, until the restarts or
// the evaluation budget are used up or the target is reached. A restart starts only when the
// remaining budget holds at least one full generation of its population.
//
// Deterministic: every random number comes from the caller's `Rng`, drawn in a fixed order,
// so the same seed gives a bit-identical result with one build (another instruction set may
// round Eigen's products differently). Objective values that are NaN or ±inf rank
// worst (behind every finite value, ties broken by sample index); the sampled points
// themselves are always finite, so they never poison the mean or the covariance. A
// generation whose values are all non-finite ends its run (StopReason::non_finite).
//
// Memory: each run allocates its state once (O(n² + n·λ)); generations do not allocate,
// except a last generation cut short by the budget, which gets its own smaller batch.
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "invsweep/core/eigen.hpp"
#include "invsweep/core/rng.hpp"

namespace invsweep::solvers::cmaes {

struct Settings {
  /// λ of the first run; 0 means 4 + ⌊3 ln n⌋. Otherwise ≥ 2.
  Index population = 0;
  /// Initial step size, in the units of the search space; > 0 and finite.
  double sigma0 = 0.3;
  /// Objective evaluations over all runs, ≥ 1. Never exceeded.
  std::int64_t max_evaluations = 100000;
  /// IPOP restarts after the first run, ≥ 0 (the population doubles at each).
  int restarts = 9;
  /// TolFun: a run stops when the best values of its last 10 + ⌈30n/λ⌉ generations and the
  /// values of the current one all lie within tol_fun of each other. ≥ 0.
  double tol_fun = 1e-12;
  /// TolX: a run stops when σ·max_i max(√C_ii, |p_c,i|) < tol_x·sigma0. ≥ 0.
  double tol_x = 1e-12;
  /// Everything stops as soon as a value ≤ target is found.
  double target = -std::numeric_limits<double>::infinity();
};

/// Throws ConfigError naming the key (cmaes.population, cmaes.sigma0, cmaes.max_evaluations,
/// cmaes.restarts, cmaes.tol_fun, cmaes.tol_x, cmaes.target) when a setting is out of range.
void validate(const Settings& s);

/// Evaluates the columns of X [n, k] into values [k] (minimised); `values` already has size k
/// and must keep it. Called once per generation with k = λ, except for the very last call when
/// the budget has fewer than λ evaluations left (then k is what remains).
using Objective = std::function<void(const MatrixD& X, VectorD& values)>;

/// Draws the start point (the initial mean) of a run, a finite vector of size n. Called once
/// at the start of every run, in order, with the optimiser's generator.
using StartPoint = std::function<VectorD(Rng&)>;

enum class StopReason {
  target,           ///< a value ≤ Settings::target was found (ends every run)
  max_evaluations,  ///< the evaluation budget is used up (ends every run)
  tol_fun,          ///< recent best values and the current generation within tol_fun
  tol_x,            ///< σ·max(√diag C, |p_c|) < tol_x·σ0
  no_effect_axis,   ///< adding 0.1σ along a principal axis leaves the mean unchanged
  no_effect_coord,  ///< adding 0.2σ√C_ii to a coordinate leaves the mean unchanged
  condition_cov,    ///< condition number of C above 1e14
  stagnation,       ///< best and median values no better than ~20 % of the run ago
  non_finite,       ///< every value of a generation was NaN or ±inf
  diverged,         ///< σ or the mean became non-finite
};

/// "target", "max_evaluations", "tol_fun", … (the enumerator's name).
const char* to_string(StopReason r);

/// One run (the first, or a restart).
struct RunRecord {
  VectorD start;   ///< the run's start point [n]
  VectorD best_x;  ///< best point of the run [n] (the start point if no finite value)
  double best_value = std::numeric_limits<double>::infinity();
  Index population = 0;  ///< λ of the run
  std::int64_t evaluations = 0;
  int generations = 0;
  StopReason stop = StopReason::max_evaluations;
  /// The run's last generation sorted by value, best first: points [n, k] and values [k]
  /// (k = λ, or fewer when the budget cut the last generation short; non-finite values last).
  MatrixD last_x;
  VectorD last_values;
};

struct Result {
  std::vector<RunRecord> runs;  ///< one per run, in order
  VectorD best_x;               ///< best point over all runs [n] (first start point if none finite)
  double best_value = std::numeric_limits<double>::infinity();
  std::int64_t evaluations = 0;  ///< over all runs, ≤ Settings::max_evaluations
  /// Why the whole search ended: target, max_evaluations, or the last run's own reason when
  /// every restart was used.
  StopReason stop = StopReason::max_evaluations;
};

/// Minimises f over R^n (n ≥ 1). Validates `s` first (ConfigError, also when max_evaluations
/// is less than the first run's population, naming cmaes.max_evaluations); throws
/// std::invalid_argument for n < 1 or a start point of the wrong size or non-finite, and
/// std::logic_error if the objective resizes `values`.
Result minimize(const Objective& f, Index n, const StartPoint& start, const Settings& s, Rng& rng);

/// Up to `count` distinct candidate vectors from a result, for a caller that must answer
/// with several vectors: first each run's best (sorted by value), then the other members of
/// the runs' last generations (sorted by value). Points with non-finite values and exact
/// duplicates are left out, so fewer than `count` columns may come back.
/// Writes x [n, k] and values [k], k ≤ count.
void candidates(const Result& r, Index count, MatrixD& x, VectorD& values);

}  // namespace invsweep::solvers::cmaes
