#pragma once
// What a sweep will cost to run, calibrated on this machine: each solver in the sweep times a
// short run of its first task (solvers::Solver::estimate) and the sweep's shape scales it.
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
  double seconds_lo = 0, seconds_hi = 0;  ///< the same from the fastest / slowest calibration repeats
};

/// Sums per-solver estimates: Σ per_task · tasks + shared · shared_units, divided by ranks.
SweepCost combine(std::vector<SolverCost> parts, int ranks);

/// Times each solver of `s` on its first task (runs them; seconds) and combines.
SweepCost estimate_cost(const sweep::Sweep& s, const oracle::Oracle& o, int ranks);

}  // namespace invsweep::runner
