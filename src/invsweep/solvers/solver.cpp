#include "invsweep/solvers/solver.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>

#include "invsweep/solvers/registry.hpp"

namespace invsweep::solvers {

double extrapolate_cost(double seconds_a, std::int64_t a, double seconds_b, std::int64_t b, std::int64_t full) {
  if (b <= a) return seconds_a;
  const double per_unit = std::max(0.0, (seconds_b - seconds_a) / static_cast<double>(b - a));
  return std::max(0.0, seconds_a - per_unit * static_cast<double>(a)) + per_unit * static_cast<double>(full);
}

MeanAndSpread mean_and_spread(const std::vector<double>& v) {
  MeanAndSpread m;
  if (v.empty()) return m;
  const auto n = static_cast<double>(v.size());
  double sum = 0;
  for (double x : v)
    sum += x;
  m.mean = sum / n;
  double ss = 0;
  for (double x : v)
    ss += (x - m.mean) * (x - m.mean);
  // Two standard errors of the mean (sample standard deviation; none from one value).
  const double half = v.size() > 1 ? 2.0 * std::sqrt(ss / (n - 1) / n) : 0.0;
  m.lo = std::max(0.0, m.mean - half);
  m.hi = m.mean + half;
  return m;
}

CostEstimate Solver::estimate(const CostInput& in) const {
  using Clock = std::chrono::steady_clock;
  const std::any& settings = in.sample.front().settings;  // every task of a solver shares them
  const std::int64_t full = work(settings);
  const auto [ca, cb] = calibration_work(settings);
  const std::int64_t a = std::min(full, ca), b = std::min(full, cb);
  const auto run_once = [&](const inverse::TaskSpec& task, std::int64_t units) {
    inverse::TaskSpec spec = task;
    spec.settings = with_work(spec.settings, units);
    const Clock::time_point t0 = Clock::now();
    (void)run(TaskContext{in.oracle, in.net, spec, nullptr});
    return std::chrono::duration<double>(Clock::now() - t0).count();
  };
  // A run shorter than the clock's noise floor (a 30-step task takes a millisecond) is repeated
  // until the repeats last kMinSeconds, and their mean is its time.
  constexpr double kMinSeconds = 0.02;
  const auto time_with = [&](const inverse::TaskSpec& task, std::int64_t units) {
    const double first = run_once(task, units);
    if (first >= kMinSeconds) return first;
    const int more = static_cast<int>(std::min(200.0, std::ceil((kMinSeconds - first) / std::max(first, 1e-6))));
    double sum = first;
    for (int r = 0; r < more; ++r)
      sum += run_once(task, units);
    return sum / (more + 1);
  };
  (void)run_once(in.sample.front(), a);  // warm-up, not counted: first-touch allocation, cold caches
  std::vector<double> est;
  for (const inverse::TaskSpec& task : in.sample) {
    const double ta = time_with(task, a);
    const double tb = b == a ? ta : time_with(task, b);
    est.push_back(extrapolate_cost(ta, a, tb, b, full));
  }
  const MeanAndSpread m = mean_and_spread(est);
  CostEstimate e;
  e.per_task = m.mean;
  e.per_task_lo = m.lo;
  e.per_task_hi = m.hi;
  e.detail = fmt::format("{} tasks", in.tasks);
  return e;
}

}  // namespace invsweep::solvers
