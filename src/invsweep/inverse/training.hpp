#pragma once
// The training loop shared by the gradient solvers (generator, adjoint, amortized): learning
// rate schedule with warm-up, the loss log, early stopping, the best parameters, Adam, and
// divergence detection. A solver supplies what one step computes (`Trainable`); the loop does
// the rest the same way for all of them.
#include <functional>
#include <limits>
#include <optional>
#include <string>

#include "invsweep/config/settings.hpp"
#include "invsweep/core/eigen.hpp"
#include "invsweep/inverse/spec.hpp"

namespace invsweep::inverse {

/// Learning-rate schedule, loss log and early stopping.
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
  double best_ = std::numeric_limits<double>::infinity(), first_ = 0,
         plateau_best_ = std::numeric_limits<double>::infinity();
  int since_best_ = 0, since_plateau_ = 0, halvings_ = 0;
  bool improved_ = false;
};

/// Why a run whose last loss was `last` diverged — a non-finite loss, one grown more than
/// 100·(|first| + 1), or one that ended above its start and more than (|first| + |best|)/4
/// above its best — or "" when it did not.
std::string divergence(const StepControl& ctl, double last);

/// The settings of a training run.
struct LoopSettings {
  int steps = 1000;
  double lr = 1e-3;
  Schedule schedule = Schedule::cosine;
  double final_lr_fraction = 0.01;
  int patience = 0;        ///< steps without improvement before stopping (0 = off)
  double tolerance = 0.0;  ///< stop once the loss is at or below this
  double warmup = 0.0;     ///< the rate ramps up linearly over this fraction of the steps
};

/// Declares, in a gradient solver's settings table, the keys of the loop's schedule that those
/// solvers share (their settings types name the members alike): schedule and
/// final_lr_fraction, and with `EarlyStopping` patience and tolerance.
template <bool EarlyStopping, class S>
void schedule_keys(config::SettingsTable<S>& t) {
  t.choice("schedule", &S::schedule, schedule_names(), "learning-rate schedule")
      .number("final_lr_fraction", &S::final_lr_fraction, 0, 1, false, "cosine: the rate decays to lr·this");
  if constexpr (EarlyStopping)
    t.integer("patience", &S::patience, 0, 100000000, "early stopping: steps without improvement (0 = off)")
        .number("tolerance", &S::tolerance, 0, 1e300, false, "stop once the loss is at or below this");
}

/// What one step of a solver computes. The loop calls, per step: `forward` (the loss at the
/// current parameters; nullopt ends the run before this step with `message` set), then —
/// unless the run stops — `backward` (fills the gradient), an Adam step on `params()` and
/// `after_update`.
class Trainable {
 public:
  virtual ~Trainable() = default;
  virtual std::optional<double> forward(int step) = 0;
  virtual void backward() = 0;
  virtual Eigen::Map<VectorF> params() = 0;
  virtual Eigen::Map<const VectorF> gradient() = 0;
  /// Called when the step's loss is the best so far (keep the parameters).
  virtual void keep_best() = 0;
  virtual void after_update() {}
  std::string message;  ///< why forward() ended the run, when it did
};

/// How a run ended.
struct LoopOutcome {
  int steps = 0;         ///< steps taken
  double last = 0.0;     ///< the last loss computed (NaN when the parameters became non-finite)
  double best = 0.0;     ///< the best loss
  VectorD log;           ///< the loss every log_every steps, NaN-padded to log_points
  std::string diverged;  ///< divergence(), "" when the run did not diverge
  std::string message;   ///< Trainable::message when forward() ended the run
};

/// Runs up to `settings.steps` steps. `heartbeat` (may be empty) is called every `log_every`
/// steps and may throw to abandon the run.
LoopOutcome train_loop(Trainable& t, const LoopSettings& settings, int log_every, Index log_points,
                       const std::function<void()>& heartbeat);

/// A task's status, message, steps, loss curve and final loss from how its training ended:
/// done, or diverged with divergence()'s message.
TaskResult result_of(const LoopOutcome& out);

}  // namespace invsweep::inverse
