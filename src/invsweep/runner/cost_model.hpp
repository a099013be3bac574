#pragma once
// What a sweep will cost to run, calibrated on this machine: each solver in the sweep times
// short runs of a sample of its tasks spread over the sweep (solvers::Solver::estimate) and
// the sweep's shape scales their mean.
#include <string>
#include <vector>

#include "invsweep/nn/mlp.hpp"
#include "invsweep/oracle/oracle.hpp"
#include "invsweep/solvers/solver.hpp"
#include "invsweep/sweep/sweep.hpp"

namespace invsweep::runner {

struct SolverCost {
  std::string solver;
  Index tasks = 0;
  solvers::CostEstimate estimate;
  double seconds = 0;  ///< all of this solver's tasks on one rank
};

struct SweepCost {
  std::vector<SolverCost> solvers;
  int ranks = 1;
  double seconds = 0;                     ///< wall time on `ranks` ranks (perfect balance)
  double seconds_lo = 0, seconds_hi = 0;  ///< the same from each solver's per-task range
};

/// Sums per-solver estimates: Σ per_task · tasks + shared · shared_units, divided by ranks.
SweepCost combine(std::vector<SolverCost> parts, int ranks);

/// Tasks per solver the calibration times: spread over targets and settings, whose cost can
/// differ (a sampler's acceptance depends on its target), enough for a standard error.
inline constexpr Index kCalibrationTasks = 5;

/// Times each solver of `s` on a sample of its tasks (runs them; seconds) and combines.
SweepCost estimate_cost(const sweep::Sweep& s, const oracle::Oracle& o, int ranks);

}  // namespace invsweep::runner
