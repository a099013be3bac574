#include "invsweep/certify/task.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>

#include "invsweep/certify/branch_and_bound.hpp"
#include "invsweep/certify/roots.hpp"
#include "invsweep/inverse/problem.hpp"

namespace invsweep::inverse {

const config::SettingsTable<CertifySettings>& CertifySettings::table() {
  using S = CertifySettings;
  static const config::SettingsTable<S> table = [] {
    config::SettingsTable<S> t("certify",
                               "Sound bounds over each task's box after its solver: proven optima, "
                               "reachability, root counts (docs/CERTIFY.md).");
    t.switch_on("enabled", &S::enabled, "certify every task (`false` turns a `[certify]` table off)")
        .number("time_limit", &S::time_limit, 0, 1e7, true, "seconds per task for all certificate phases together")
        .number("tolerance", &S::tolerance, 0, 1, true,
                "relative gap of a proven optimum, and the target tolerance of a verified point")
        .integer("max_boxes", &S::max_boxes, 1, std::int64_t{1} << 50, "bound computations per phase at most");
    return t;
  }();
  return table;
}

}  // namespace invsweep::inverse

namespace invsweep::certify {

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// The setting's box; false when a free feature is unbounded.
bool task_box(const inverse::Constraint& c, Index n, Box& box) {
  box.lo.resize(n);
  box.hi.resize(n);
  for (Index i = 0; i < n; ++i) {
    const bool fixed = static_cast<Index>(c.fixed.size()) > i && c.fixed[static_cast<std::size_t>(i)] != 0;
    box.lo[i] = fixed ? c.fixed_value[i] : c.lower[i];
    box.hi[i] = fixed ? c.fixed_value[i] : c.upper[i];
    if (!std::isfinite(box.lo[i]) || !std::isfinite(box.hi[i]) || box.lo[i] > box.hi[i]) return false;
  }
  return true;
}

bool inside(const Box& b, const VectorD& x) {
  for (Index i = 0; i < x.size(); ++i)
    if (!(x[i] >= b.lo[i] && x[i] <= b.hi[i])) return false;
  return true;
}

/// The task's subject_to ranges (empty when it has none).
OutputRanges output_ranges(const inverse::TaskSpec& spec) {
  if (!spec.objective.has_output_constraints()) return {};
  return {spec.objective.sub_lo, spec.objective.sub_hi};
}

void optimum(const oracle::Oracle& o, const inverse::TaskSpec& spec, const Box& box, inverse::TaskResult& r) {
  const bool maximize = spec.objective.kind == inverse::ObjectiveKind::maximize;
  const VectorD c = spec.objective.weights.size() == o.n_out() ? spec.objective.weights : VectorD::Ones(o.n_out());
  Index col = 0;
  while (col + 1 < c.size() && c[col] == 0)
    ++col;
  BnbSettings s;
  s.tolerance = spec.certify.tolerance;
  s.time_limit = spec.certify.time_limit;
  s.max_boxes = spec.certify.max_boxes;
  const OutputRanges ranges = output_ranges(spec);
  const OptimumResult opt =
      maximize ? certify::maximize(o, c, box, s, ranges) : certify::minimize(o, c, box, s, ranges);
  if (opt.status == Certificate::not_applicable) {
    r.certificate = static_cast<std::uint8_t>(Certificate::not_applicable);
    return;
  }
  const auto better = [&](double a, double b) { return maximize ? a > b : a < b; };
  // The best stored vector inside the box, and the worst stored column (non-finite first).
  Index best = -1, worst = -1;
  const Index ns = r.vectors.cols();
  for (Index k = 0; k < ns; ++k) {
    const double v = k < r.residuals.size() ? r.residuals[k] : kNaN;
    // Under output ranges only a feasible stored vector is a verified value.
    const bool ok =
        ranges.empty() || (k < r.violations.size() && r.violations[k] <= inverse::Problem::kFeasibleTolerance &&
                           ranges.contain(r.outputs.col(k)));
    const bool finite = std::isfinite(v) && r.vectors.col(k).allFinite() && ok;
    if (!finite) {
      if (worst < 0 || std::isfinite(r.residuals[worst])) worst = k;
      continue;
    }
    if (worst < 0 || (std::isfinite(r.residuals[worst]) && better(r.residuals[worst], v))) worst = k;
    if (inside(box, r.vectors.col(k)) && (best < 0 || better(v, r.residuals[best]))) best = k;
  }
  double lo = opt.bound_lo;
  if (best >= 0 && (std::isnan(opt.bound_lo) || !better(opt.bound_lo, r.residuals[best]))) {
    lo = r.residuals[best];
  } else if (worst >= 0 && opt.argbest.size() == o.n_in()) {
    const MatrixD y = o.predict(opt.argbest);
    r.vectors.col(worst) = opt.argbest;
    r.outputs.col(worst) = y.col(0);
    r.residuals[worst] = c.dot(y.col(0));
    if (worst < r.violations.size()) r.violations[worst] = 0.0;  // B&B points meet the ranges
    lo = r.residuals[worst];
  }
  r.bound_lo = VectorD::Constant(o.n_out(), kNaN);
  r.bound_hi = VectorD::Constant(o.n_out(), kNaN);
  r.bound_lo[col] = lo;
  r.bound_hi[col] = opt.bound_hi;
  // No feasible point anywhere (proven by dropping every box): the bound alone is the proof.
  const bool none = opt.status == Certificate::proven && std::isnan(lo);
  const bool proven = none || std::abs(opt.bound_hi - lo) <= spec.certify.tolerance * std::max(1.0, std::abs(lo));
  r.certificate = static_cast<std::uint8_t>(proven ? Certificate::proven : Certificate::budget_exhausted);
}

void reach(const oracle::Oracle& o, const inverse::TaskSpec& spec, const Box& box, inverse::TaskResult& r) {
  const Clock::time_point t0 = Clock::now();
  const double limit = spec.certify.time_limit;
  const Index m = o.n_out();
  const bool target = spec.objective.kind == inverse::ObjectiveKind::target;
  BnbSettings s;
  s.tolerance = spec.certify.tolerance;
  s.max_boxes = spec.certify.max_boxes;

  // 1. The enclosure: max and min of each output (a third of the time, shared).
  r.bound_lo = VectorD::Constant(m, -kInf);
  r.bound_hi = VectorD::Constant(m, kInf);
  s.time_limit = limit / 3.0 / static_cast<double>(2 * m);
  for (Index j = 0; j < m; ++j) {
    const VectorD e = VectorD::Unit(m, j);
    r.bound_hi[j] = certify::maximize(o, e, box, s).bound_hi;
    r.bound_lo[j] = certify::minimize(o, e, box, s).bound_hi;
  }
  // 2. Reachability (an enclosure that misses the target already proves it unreachable).
  VectorD lo(m), hi(m);
  const OutputRanges ranges = output_ranges(spec);
  for (Index j = 0; j < m; ++j) {
    lo[j] = target ? spec.objective.target[j] : spec.objective.lo[j];
    hi[j] = target ? spec.objective.target[j] : spec.objective.hi[j];
    if (ranges.empty()) continue;
    // subject_to narrows what counts: a range is intersected with it; a free target output
    // (nan) takes it; a target outside it can never be met.
    const bool free = std::isnan(lo[j]);
    lo[j] = free ? ranges.lo[j] : std::max(lo[j], ranges.lo[j]);
    hi[j] = free ? ranges.hi[j] : std::min(hi[j], ranges.hi[j]);
  }
  bool excluded = false;
  for (Index j = 0; j < m; ++j)
    if (!std::isnan(lo[j]) && (lo[j] > hi[j] || hi[j] < r.bound_lo[j] || lo[j] > r.bound_hi[j])) excluded = true;
  Index n_free = 0;
  for (Index i = 0; i < box.size(); ++i)
    n_free += box.lo[i] < box.hi[i] ? 1 : 0;
  // Root counts are of the target alone: not with output ranges, which drop some roots.
  const bool square = target && n_free == m && spec.objective.target.allFinite() && ranges.empty();
  if (excluded) {
    r.reachable = static_cast<std::int8_t>(Reach::unreachable);
  } else {
    s.time_limit = std::max(0.0, limit - since(t0)) * (square ? 0.5 : 1.0);
    const ReachResult rr =
        target ? reach_target(o, spec.objective.target, box, s, ranges) : reach_range(o, lo, hi, box, s);
    r.reachable = static_cast<std::int8_t>(rr.reachable);
    for (Index j = 0; j < m; ++j) {  // both enclosures are sound: keep the tighter ends
      r.bound_lo[j] = std::max(r.bound_lo[j], rr.enclosure.lo[j]);
      r.bound_hi[j] = std::min(r.bound_hi[j], rr.enclosure.hi[j]);
    }
  }
  // 3. Root count of square systems.
  if (square) {
    if (r.reachable == static_cast<std::int8_t>(Reach::unreachable)) {
      r.n_roots = 0;
    } else {
      RootSettings rs;
      rs.time_limit = std::max(0.0, limit - since(t0));
      rs.max_boxes = spec.certify.max_boxes;
      const RootResult roots = count_roots(o, spec.objective.target, box, rs);
      r.n_roots = roots.n_roots;
      // A proven count also decides reachability (a root meets the target exactly).
      if (roots.n_roots == 0) r.reachable = static_cast<std::int8_t>(Reach::unreachable);
    }
  }
  const bool decided = r.reachable != static_cast<std::int8_t>(Reach::unknown) && (!square || r.n_roots >= 0);
  r.certificate = static_cast<std::uint8_t>(decided ? Certificate::proven : Certificate::budget_exhausted);
}

}  // namespace

void certify_task(const oracle::Oracle& oracle, const inverse::TaskSpec& spec, inverse::TaskResult& r) {
  if (!spec.certify.enabled) return;
  if (spec.heartbeat) spec.heartbeat();
  Box box;
  // The branch and bound works on the box and output ranges (subject_to); the plausibility
  // ellipsoid is not part of it: not applicable, and the message says why.
  const bool ellipsoid = spec.constraint.plausible > 0;
  if (ellipsoid || !task_box(spec.constraint, oracle.n_in(), box)) {
    r.certificate = static_cast<std::uint8_t>(Certificate::not_applicable);
    if (ellipsoid)
      r.message += std::string(r.message.empty() ? "" : "; ") +
                   "certify: not applicable to plausible (bounds over the box and output ranges only)";
    return;
  }
  switch (spec.objective.kind) {
    case inverse::ObjectiveKind::maximize:
    case inverse::ObjectiveKind::minimize:
      optimum(oracle, spec, box, r);
      break;
    case inverse::ObjectiveKind::target:
    case inverse::ObjectiveKind::range:
      reach(oracle, spec, box, r);
      break;
  }
}

}  // namespace invsweep::certify
