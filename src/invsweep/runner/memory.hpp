#pragma once
// Will a sweep's tasks fit in memory? An estimate of one task's peak on one rank, checked by
// `check` and `run` before anything runs, so that an infeasible setting is refused as bad
// input (exit 2, naming the key) instead of dying in the middle of a run.
#include <cstdint>
#include <string>

#include "invsweep/oracle/oracle.hpp"
#include "invsweep/sweep/sweep.hpp"

namespace invsweep::runner {

struct MemoryEstimate {
  double bytes = 0;  ///< one task's peak on one rank (the largest over the sweep's solvers)
  std::string key;   ///< the setting that drives it: "samples", "generator.hidden", …
};

/// One task's peak memory: its results (vectors, outputs, residuals and their working copies,
/// the oracle's activations for every sample) plus what its solver keeps (Solver::memory).
MemoryEstimate memory_estimate(const sweep::Sweep& s, const oracle::Oracle& o);

/// Bytes this process may still use: MemAvailable, or a cgroup's limit when lower;
/// UINT64_MAX when neither can be read.
std::uint64_t available_memory();

/// Throws ConfigError naming `sweep_path`, the key, the memory needed by `ranks_per_node`
/// ranks and the memory available when they do not fit.
void check_memory(const sweep::Sweep& s, const oracle::Oracle& o, const std::string& sweep_path,
                  int ranks_per_node = 1);

}  // namespace invsweep::runner
