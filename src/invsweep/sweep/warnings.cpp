// Where a sweep asks the oracle to extrapolate: targets and output ranges beyond the outputs
// seen in training, fixed values and bounds beyond the inputs seen.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "invsweep/sweep/sweep.hpp"

namespace invsweep::sweep {

namespace {

/// Outside [lo, hi] by more than 1% of its width (bounds such as [0, 500] over training data
/// from 0.09 to 499.9 are not worth a warning).
bool beyond(double v, double lo, double hi) {
  const double margin = 0.01 * (hi - lo);
  return std::isfinite(v) && (v < lo - margin || v > hi + margin);
}

}  // namespace

std::vector<std::string> extrapolation_warnings(const Sweep& s, const oracle::Oracle& o) {
  std::vector<std::string> out;
  if (o.has_output_bounds()) {
    for (Index k = 0; k < o.n_out(); ++k) {
      const std::string& name = o.output_names[static_cast<std::size_t>(k)];
      const double lo = o.output_lo[k], hi = o.output_hi[k];
      if (s.kind == inverse::ObjectiveKind::target) {
        Index count = 0;
        double worst = 0;
        for (const VectorD& t : s.targets)
          if (beyond(t[k], lo, hi)) {
            worst = count == 0 || std::abs(t[k] - 0.5 * (lo + hi)) > std::abs(worst - 0.5 * (lo + hi)) ? t[k] : worst;
            ++count;
          }
        if (count > 0)
          out.push_back(fmt::format(
              "{} of {} targets of output '{}' lie outside the outputs seen in training [{:g}, {:g}] (farthest: "
              "{:g}): the oracle extrapolates there, and its solutions are guesses",
              count, s.targets.size(), name, lo, hi, worst));
      }
      if (s.kind == inverse::ObjectiveKind::range)
        for (std::size_t r = 0; r < s.range_lo.size(); ++r)
          if (s.range_lo[r][k] > hi || s.range_hi[r][k] < lo)
            out.push_back(fmt::format(
                "range [{:g}, {:g}] of output '{}' lies outside the outputs seen in training [{:g}, {:g}]: the "
                "oracle extrapolates there",
                s.range_lo[r][k], s.range_hi[r][k], name, lo, hi));
      if (s.sub_lo.size() == o.n_out() && (s.sub_lo[k] > hi || s.sub_hi[k] < lo))
        out.push_back(fmt::format(
            "subject_to range [{:g}, {:g}] of output '{}' lies outside the outputs seen in training [{:g}, {:g}]: "
            "the oracle extrapolates there",
            s.sub_lo[k], s.sub_hi[k], name, lo, hi));
    }
  }
  for (const inverse::Constraint& c : s.constraints)
    for (Index i = 0; i < o.n_in(); ++i) {
      const std::string& name = o.input_names[static_cast<std::size_t>(i)];
      const double lo = o.input_lo[i], hi = o.input_hi[i];
      if (!std::isfinite(lo) || !std::isfinite(hi)) continue;
      if (c.fixed[static_cast<std::size_t>(i)] != 0) {
        if (beyond(c.fixed_value[i], lo, hi))
          out.push_back(fmt::format(
              "constraint '{}': feature '{}' is fixed at {:g}, outside the inputs seen in training [{:g}, {:g}]: the "
              "oracle extrapolates there",
              c.name, name, c.fixed_value[i], lo, hi));
      } else if (beyond(c.lower[i], lo, hi) || beyond(c.upper[i], lo, hi)) {
        out.push_back(fmt::format(
            "constraint '{}': the bounds of feature '{}' [{:g}, {:g}] reach outside the inputs seen in training "
            "[{:g}, {:g}]: the oracle extrapolates there",
            c.name, name, c.lower[i], c.upper[i], lo, hi));
      }
    }
  return out;
}

}  // namespace invsweep::sweep
