#include <cmath>
#include <fmt/format.h>
#include <numbers>

#include "invsweep/inverse/solve.hpp"

namespace invsweep::inverse {

StepControl::StepControl(int steps, double lr, Schedule schedule, double final_fraction, int patience,
                         double tolerance, int log_every, Index log_points)
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
    return fmt::format("the loss ended at {:.3g}, above its start {:.3g} and far above its best {:.3g} (learning rate "
                       "too high?)", last, first, best);
  return "";
}

}  // namespace invsweep::inverse
