#include "invsweep/runner/cost_model.hpp"

#include <fmt/format.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "invsweep/solvers/registry.hpp"

namespace invsweep::runner {

SweepCost combine(std::vector<SolverCost> parts, int ranks) {
  SweepCost c;
  c.ranks = std::max(ranks, 1);
  double total = 0, lo = 0, hi = 0;
  for (SolverCost& p : parts) {
    const double shared = p.estimate.shared * static_cast<double>(p.estimate.shared_units);
    const auto tasks = static_cast<double>(p.tasks);
    p.seconds = p.estimate.per_task * tasks + shared;
    total += p.seconds;
    // Without repeats (an estimate that times nothing) the range is the estimate itself.
    lo += (p.estimate.per_task_hi > 0 ? p.estimate.per_task_lo : p.estimate.per_task) * tasks + shared;
    hi += (p.estimate.per_task_hi > 0 ? p.estimate.per_task_hi : p.estimate.per_task) * tasks + shared;
  }
  c.solvers = std::move(parts);
  c.seconds = total / c.ranks;
  c.seconds_lo = lo / c.ranks;
  c.seconds_hi = hi / c.ranks;
  return c;
}

SweepCost estimate_cost(const sweep::Sweep& s, const oracle::Oracle& o, int ranks) {
#if defined(__GLIBC__)
  // A rank of a sweep is a long-lived process whose heap keeps the memory its tasks free, so the
  // next task's buffers come back without page faults. A fresh `check` process returned each
  // calibration run's large blocks to the system and paid the faults again: sampler tasks took
  // 73 ms here against 45 ms in a run. Calibrate with the heap of a long-lived process: large
  // blocks from the heap, freed memory kept (this process ends after the estimate).
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, -1);
#endif
  const nn::Mlp<float> net = o.net.cast<float>();
  std::vector<SolverCost> parts;
  for (Index k = 0; k < s.n_solvers(); ++k) {
    const Index id = s.solvers[static_cast<std::size_t>(k)];
    const solvers::Solver& solver = solvers::get(id);
    std::vector<inverse::TaskSpec> sample;
    for (const Index t : s.sample_tasks_of_solver(k, kCalibrationTasks))
      sample.push_back(s.task(t));
    const Index tasks = s.n_tasks() / s.n_solvers();
    const solvers::CostInput in{o, net, sample, tasks, s.n_targets(), s.n_constraints(), s.replicates, ranks};
    parts.push_back({std::string(solver.name()), tasks, solver.estimate(in), 0});
  }
  return combine(std::move(parts), ranks);
}

}  // namespace invsweep::runner
