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

/// The feasibility phase of tasks with hard constraints (subject_to, plausible): the same
/// Levenberg–Marquardt on the constraints' excess rows (with the objective's rows for target
/// and range kinds, whose feasible solutions zero them all) until every vector is feasible.
int restore_feasibility(const Problem& p, const PolishSettings& settings, MatrixD& s_free);

/// The optional polish (when the run is done and finite; the feasibility phase instead when
/// the task has hard constraints), then the vectors, outputs and
/// residuals in double precision (Problem::finish); a task whose vectors are not all finite
/// becomes diverged.
void finish_task(const Problem& p, const PolishSettings& polish_settings, MatrixD& s_free, TaskResult& r);

}  // namespace invsweep::inverse
