#include "invsweep/inverse/training.hpp"

#include <fmt/format.h>

#include <cmath>
#include <numbers>

#include "invsweep/nn/adam.hpp"
#include "invsweep/nn/mlp.hpp"

namespace invsweep::inverse {

StepControl::StepControl(int steps, double lr, Schedule schedule, double final_fraction, int patience, double tolerance,
                         int log_every, Index log_points)
    : steps_(steps),
      lr0_(lr),
      final_fraction_(final_fraction),
      tolerance_(tolerance),
      schedule_(schedule),
      patience_(patience),
      log_every_(std::max(1, log_every)),
      log_(VectorD::Constant(log_points, std::numeric_limits<double>::quiet_NaN())) {}

double StepControl::lr(int step) const {
  switch (schedule_) {
    case Schedule::constant:
      return lr0_;
    case Schedule::cosine: {
      const double t = steps_ > 1 ? static_cast<double>(step) / (steps_ - 1) : 1.0;
      return lr0_ * (final_fraction_ + (1 - final_fraction_) * 0.5 * (1 + std::cos(std::numbers::pi * t)));
    }
    case Schedule::plateau:
      return lr0_ * std::pow(0.5, halvings_);
  }
  return lr0_;
}

bool StepControl::record(int step, double loss) {
  if (step == 0) first_ = loss;
  if (step % log_every_ == 0 && step / log_every_ < log_.size()) log_[step / log_every_] = loss;
  improved_ = loss < best_;
  if (loss < best_ - 1e-7 * std::abs(best_)) {
    since_best_ = 0;
  } else {
    ++since_best_;
  }
  if (improved_) best_ = loss;
  if (schedule_ == Schedule::plateau) {
    if (loss < plateau_best_ * (1 - 1e-4)) {
      plateau_best_ = loss;
      since_plateau_ = 0;
    } else if (++since_plateau_ >= std::max(50, steps_ / 20)) {
      ++halvings_;
      since_plateau_ = 0;
    }
  }
  if (tolerance_ > 0 && loss <= tolerance_) return false;
  if (patience_ > 0 && since_best_ >= patience_) return false;
  return true;
}

std::string divergence(const StepControl& ctl, double last) {
  if (!std::isfinite(last) && !std::isfinite(ctl.best()))  // no finite step at all
    return "the loss was non-finite from the first step: the oracle gives NaN or Inf for some candidate vectors "
           "(check its weights, or keep the features in a range where it is finite)";
  if (!std::isfinite(last))
    return "the loss became non-finite (learning rate too high, or an oracle that is not finite everywhere within the "
           "bounds?)";
  if (std::abs(last) > 100.0 * (std::abs(ctl.first()) + 1.0))
    return fmt::format("the loss grew from {:.3g} to {:.3g} (learning rate too high?)", ctl.first(), last);
  // Ended worse than it started and far from its best: the steps threw the solution away
  // (with bounded maps or a saturating oracle the loss cannot explode, it stalls high).
  const double first = ctl.first(), best = ctl.best();
  if (last > first + 1e-9 * std::abs(first) && last - best > 0.25 * (std::abs(first) + std::abs(best)) + 1e-12)
    return fmt::format(
        "the loss ended at {:.3g}, above its start {:.3g} and far above its best {:.3g} (learning rate "
        "too high?)",
        last, first, best);
  return "";
}

LoopOutcome train_loop(Trainable& t, const LoopSettings& s, int log_every, Index log_points,
                       const std::function<void()>& heartbeat) {
  StepControl ctl(s.steps, s.lr, s.schedule, s.final_lr_fraction, s.patience, s.tolerance, log_every, log_points);
  nn::AdamState<float> adam(t.params().size());
  const nn::AdamSettings adam_settings;
  const double warm_steps = s.warmup * s.steps;
  const int every = std::max(1, log_every);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  LoopOutcome out;
  double last = 0;
  int step = 0;
  for (; step < s.steps; ++step) {
    if (heartbeat && step % every == 0) heartbeat();  // may throw to abandon the run
    const std::optional<double> loss = t.forward(step);
    if (!loss) {
      out.message = t.message;
      break;
    }
    last = *loss;
    if (!std::isfinite(last)) break;
    const bool go = ctl.record(step, last);
    if (ctl.improved()) t.keep_best();
    if (!go) {
      ++step;
      break;
    }
    t.backward();
    const Eigen::Map<const VectorF> grad = t.gradient();
    if (!nn::all_finite(grad.data(), grad.size())) {
      last = nan;
      break;
    }
    const double ramp = step + 1 < warm_steps ? (step + 1) / warm_steps : 1.0;
    adam.step(adam_settings, ramp * ctl.lr(step), t.params(), grad);
    t.after_update();
    const Eigen::Map<VectorF> p = t.params();
    if (!nn::all_finite(p.data(), p.size())) {
      last = nan;
      break;
    }
  }
  out.steps = step;
  out.last = last;
  out.best = ctl.best();
  out.log = ctl.log();
  out.diverged = divergence(ctl, last);
  return out;
}

TaskResult result_of(const LoopOutcome& out) {
  TaskResult r;
  r.status = Status::done;
  r.message = out.message;
  r.steps = out.steps;
  r.loss = out.log;
  r.final_loss = out.best;
  if (!out.diverged.empty()) {
    r.status = Status::diverged;
    r.message = out.diverged;
  }
  return r;
}

}  // namespace invsweep::inverse
