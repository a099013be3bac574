#pragma once
// The end of every task: the optional Levenberg–Marquardt polish in double precision, then
// the vectors, outputs and residuals in double precision.
#include "invsweep/inverse/problem.hpp"
#include "invsweep/inverse/spec.hpp"

namespace invsweep::inverse {

/// Levenberg–Marquardt refinement in double precision of the free features of each column
/// of `s_free` (scaled units) towards the objective (target or range; other kinds are left as
/// they are); bounds are respected by projection, fixed features are untouched. Returns the
/// number of iterations run.
int polish(const Problem& p, const PolishSettings& settings, MatrixD& s_free);

/// The optional polish (when the run is done and finite), then the vectors, outputs and
/// residuals in double precision (Problem::finish); a task whose vectors are not all finite
/// becomes diverged.
void finish_task(const Problem& p, const PolishSettings& polish_settings, MatrixD& s_free, TaskResult& r);

}  // namespace invsweep::inverse
