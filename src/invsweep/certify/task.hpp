#pragma once
// Certificates of one task ([certify], DESIGN.md "Certificates", docs/CERTIFY.md): sound
// statements about the oracle over the task's constraint setting, computed after its solver
// and stored next to its vectors.
//
// The box is the constraint setting's: fixed features held at their values, free features in
// [lower, upper]. A free feature without both bounds makes the task not applicable (3).
//
//  - maximize / minimize (weights c, the objective's weights; all ones when empty): branch
//    and bound on c·y. bound_lo = the best verified value (c·oracle(x) at a point of the box,
//    evaluated in double), bound_hi = the proven bound on the optimum (max c·y ≤ bound_hi,
//    resp. min c·y ≥ bound_hi), both in the column of the first output with a non-zero
//    weight (for a weighted sum that column holds the sum c·y); other columns NaN.
//    certificate = proven when |bound_hi − bound_lo| ≤ tolerance·max(1, |bound_lo|).
//    bound_lo is always attained by a stored vector: when the branch and bound's point is
//    better than every stored vector that lies in the box, it replaces the task's worst
//    vector (a non-finite one first, else the worst objective value), with its output and
//    residual recomputed by Oracle::predict (the solvers' float64 evaluation); otherwise
//    bound_lo is the best stored in-box value.
//  - target / range: bound_lo/bound_hi = a proven enclosure of each output over the box
//    (per-output branch and bound to `tolerance`, within a share of the time; always sound
//    even when not tight). reachable = 1 when a point meets the target to tolerance·max(1,|t|)
//    (range: lies in the ranges), 0 when proven that no point of the box meets it exactly,
//    −1 unknown. For square systems (as many free features as outputs, kind target, every
//    component given) n_roots = the proven number of solutions in the box (0 when
//    unreachable), −1 when undecided or not square.
//    certificate = proven when reachability (and, if square, the root count) is decided.
//
// Time: all phases together stay within time_limit (plus one bound computation): target
// kinds give a third to the enclosure, then half of the rest to reachability and the rest to
// the root count. Results depend on the time limit only when it is reached (the certificate
// then says budget exhausted); with a box budget (max_boxes) that binds first they are
// deterministic.
#include "invsweep/inverse/spec.hpp"
#include "invsweep/oracle/oracle.hpp"

namespace invsweep::certify {

/// Fills r's certificate fields (and may replace one vector, see above) when
/// spec.certify.enabled; does nothing otherwise. Calls spec.heartbeat (if set) before it starts.
void certify_task(const oracle::Oracle& oracle, const inverse::TaskSpec& spec, inverse::TaskResult& r);

}  // namespace invsweep::certify
