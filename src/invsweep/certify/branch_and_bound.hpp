#pragma once
// Branch and bound over a box of inputs: proven optima of a linear objective c·oracle(x),
// and reachability of output targets.
//
// Upper bounds per sub-box come from propagate.hpp (sound, outward rounded). Feasible values
// come from the oracle evaluated in double (PointEvaluator, the same operations as
// Oracle::predict) at box centres and at local optima of short projected-gradient /
// Levenberg–Marquardt searches started from the most promising boxes. Boxes are explored
// best bound first. A box is split at the midpoint of the free feature with the largest
// |slope|·width, the slope being the input-space coefficient of the box's final linear
// upper bound (the "smear" of the bound), unless the widest feature (in the oracle's scaled
// units) is more than twice as wide; the widest when the bound has no slope (ibp).
#include <cstdint>

#include "invsweep/certify/propagate.hpp"

namespace invsweep::certify {

/// Outcome of a certificate, numbered as /tasks/certificate in the results file.
enum class Certificate : std::uint8_t { not_run = 0, proven = 1, budget_exhausted = 2, not_applicable = 3 };

/// How a box is split (at the midpoint of one free feature).
enum class Branching {
  smear,   ///< largest |slope|·width; the widest (scaled) feature when it is 2× wider
  widest,  ///< widest in the oracle's scaled units
};

struct BnbSettings {
  double tolerance = 1e-4;              ///< stop when bound − verified ≤ tolerance·max(1, |verified|)
  double time_limit = 60.0;             ///< seconds
  std::int64_t max_boxes = 10'000'000;  ///< bound computations
  Method method = Method::crown;
  Branching branching = Branching::smear;
  int local_steps = 30;  ///< accepted steps per local search
  int local_every = 64;  ///< a local search from the best open box every this many boxes
};

/// Output ranges every point must meet (`subject_to`; ±inf ends = open); empty = none. A box
/// whose output enclosure misses them holds no feasible point and is dropped; only points
/// inside them count as verified.
struct OutputRanges {
  VectorD lo, hi;  ///< [n_out] or empty
  bool empty() const { return lo.size() == 0; }
  bool contain(const VectorD& y) const {
    for (Index j = 0; j < lo.size(); ++j)
      if (!(y[j] >= lo[j] && y[j] <= hi[j])) return false;
    return true;
  }
};

/// Result of maximize()/minimize(), in the objective's units (c·y).
struct OptimumResult {
  Certificate status = Certificate::not_run;
  /// The proven bound on the optimum: max c·y ≤ bound_hi for maximize, min c·y ≥ bound_hi
  /// for minimize (the results file's bound_hi).
  double bound_hi = 0.0;
  /// The best verified value: c·oracle.predict(argbest) exactly (bound_lo in the file).
  double bound_lo = 0.0;
  VectorD argbest;         ///< [n_in] in the box, fixed features at their values; empty when no
                           ///< feasible point was found (output ranges)
  std::int64_t boxes = 0;  ///< bound computations done
  double seconds = 0.0;
};

/// Maximises c·oracle(x) over the box (c [n_out]; features with lo == hi held fixed).
/// `status` is proven when |bound_hi − bound_lo| ≤ tolerance·max(1, |bound_lo|); the box
/// must be finite (else not_applicable, bound_hi = +inf).
/// With `ranges`, over the points of the box whose outputs are in them: bound_hi = −inf with
/// status proven means no such point exists; bound_lo is NaN while none was found.
OptimumResult maximize(const oracle::Oracle& oracle, const VectorD& c, const Box& box, const BnbSettings& s = {},
                       const OutputRanges& ranges = {});
/// Minimises c·oracle(x): the same with −c, values reported for c (bound_hi ≤ bound_lo).
OptimumResult minimize(const oracle::Oracle& oracle, const VectorD& c, const Box& box, const BnbSettings& s = {},
                       const OutputRanges& ranges = {});

/// Reachability, numbered as /tasks/reachable.
enum class Reach : std::int8_t { unknown = -1, unreachable = 0, reachable = 1 };

struct ReachResult {
  Reach reachable = Reach::unknown;
  VectorD point;           ///< [n_in] a verified point when reachable
  VectorD value;           ///< [n_out] oracle.predict(point) when reachable
  Enclosure enclosure;     ///< sound per-output bounds over the whole box
  std::int64_t boxes = 0;  ///< boxes bounded
  double seconds = 0.0;
};

/// Is there x in the box with oracle(x) = t? `t` [n_out], NaN = output free.
///  - reachable: a point x with |oracle.predict(x)_j − t_j| ≤ tolerance·max(1, |t_j|) for
///    every constrained j was found;
///  - unreachable: proven that no x in the box gives exactly t: the box was split until in
///    every piece some output's enclosure excludes t_j;
///  - unknown: neither within the budget.
/// With `ranges`, every output must also be in its range (a target outside its range is
/// unreachable at once).
ReachResult reach_target(const oracle::Oracle& oracle, const VectorD& t, const Box& box, const BnbSettings& s = {},
                         const OutputRanges& ranges = {});

/// Is there x in the box with lo_j ≤ oracle(x)_j ≤ hi_j for every j (±inf ends allowed)?
/// reachable: a verified point inside the ranges; unreachable: proven none.
ReachResult reach_range(const oracle::Oracle& oracle, const VectorD& lo, const VectorD& hi, const Box& box,
                        const BnbSettings& s = {});

}  // namespace invsweep::certify
