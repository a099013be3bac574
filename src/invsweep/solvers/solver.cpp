#include "invsweep/solvers/solver.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>

#include "invsweep/solvers/registry.hpp"

namespace invsweep::solvers {

double extrapolate_cost(double seconds_a, std::int64_t a, double seconds_b, std::int64_t b, std::int64_t full) {
  if (b <= a) return seconds_a;
  const double per_unit = std::max(0.0, (seconds_b - seconds_a) / static_cast<double>(b - a));
  return std::max(0.0, seconds_a - per_unit * static_cast<double>(a)) + per_unit * static_cast<double>(full);
}

CostEstimate Solver::estimate(const CostInput& in) const {
  using Clock = std::chrono::steady_clock;
  const std::int64_t full = work(in.task.settings);
  const auto [ca, cb] = calibration_work(in.task.settings);
  const std::int64_t a = std::min(full, ca), b = std::min(full, cb);
  const auto time_with = [&](std::int64_t units) {
    inverse::TaskSpec spec = in.task;
    spec.settings = with_work(spec.settings, units);
    const Clock::time_point t0 = Clock::now();
    (void)run(TaskContext{in.oracle, in.net, spec, nullptr});
    return std::chrono::duration<double>(Clock::now() - t0).count();
  };
  // Three repeats, the median kept: one timing on a busy machine (or a cold cache) is noise.
  std::array<double, 3> est{};
  for (double& v : est) {
    const double ta = time_with(a);
    const double tb = b == a ? ta : time_with(b);
    v = extrapolate_cost(ta, a, tb, b, full);
  }
  std::sort(est.begin(), est.end());
  CostEstimate e;
  e.per_task = est[1];
  e.per_task_lo = est.front();
  e.per_task_hi = est.back();
  e.detail = fmt::format("{} tasks", in.tasks);
  return e;
}

}  // namespace invsweep::solvers
