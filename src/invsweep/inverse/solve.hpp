#pragma once
// Solving one task: a generator, adjoint or amortized run, then an optional polish.
//
// A task never throws for numerical trouble: a loss or parameter that becomes non-finite, or
// a loss that explodes, ends the run with Status::diverged and a message; non-finite vectors
// are replaced by NaN rows and never reported as results. Configuration errors (a target of
// the wrong length, an impossible constraint) throw ConfigError before any work.
#include <string>

#include "invsweep/inverse/problem.hpp"
#include "invsweep/inverse/spec.hpp"

namespace invsweep::inverse {

/// Runs one task. `net` is the oracle's network in float32 (oracle.net cast once per rank).
/// An amortized task trains its own model from spec.seed and answers with it (one task; a
/// sweep shares a model across targets through amortized.hpp instead).
TaskResult solve(const oracle::Oracle& oracle, const nn::Mlp<float>& net, const TaskSpec& spec);

/// The end of every task: the optional polish (when the run is done and finite), then the
/// vectors, outputs and residuals in double precision (Problem::finish); a task whose vectors
/// are not all finite becomes diverged.
void finish_task(const Problem& p, const PolishSettings& polish_settings, MatrixD& s_free, TaskResult& r);

/// Levenberg–Marquardt refinement in double precision of the free features of each column
/// of `s_free` (scaled units) towards the objective (target or range); bounds are respected
/// by projection, fixed features are untouched. Returns the number of iterations run.
int polish(const Problem& p, const PolishSettings& settings, MatrixD& s_free);

/// Learning-rate schedule, loss log and early stopping shared by the solvers.
class StepControl {
 public:
  StepControl(int steps, double lr, Schedule schedule, double final_fraction, int patience, double tolerance,
              int log_every, Index log_points);
  double lr(int step) const;
  /// Records the loss of `step` (before its update). Returns false when training should stop
  /// (early stopping or tolerance reached).
  bool record(int step, double loss);
  bool improved() const { return improved_; }
  double best() const { return best_; }
  double first() const { return first_; }
  const VectorD& log() const { return log_; }

 private:
  int steps_;
  double lr0_, final_fraction_, tolerance_;
  Schedule schedule_;
  int patience_, log_every_;
  VectorD log_;
  double best_ = std::numeric_limits<double>::infinity(), first_ = 0, plateau_best_ = std::numeric_limits<double>::infinity();
  int since_best_ = 0, since_plateau_ = 0, halvings_ = 0;
  bool improved_ = false;
};

/// Why a run whose last loss was `last` diverged — a non-finite loss, one grown more than
/// 100·(|first| + 1), or one that ended above its start and more than (|first| + |best|)/4
/// above its best — or "" when it did not.
std::string divergence(const StepControl& ctl, double last);

}  // namespace invsweep::inverse
