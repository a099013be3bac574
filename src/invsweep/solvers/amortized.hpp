#pragma once
// The amortized solver: one conditional generator G(y, z) → free features, trained once per
// (constraint setting, replicate) over a whole range of targets, then asked for any target in
// that range with forward passes only.
//
// Training (AmortizedModel::train). Each step draws a fresh batch of `settings.batch` targets
// y and latents z and minimises the round-trip loss
//
//   mean_j Σ_k w_k (oracle(G(y_j, z_j))_k − y_jk)²   (scaled output units; w = objective.weights
//                                                      or ones)
//   + the task's regularisers (Problem::regularize; diversity acts within each batch, that is
//     across targets) + the bound map's penalty (penalty method).
//
// Targets are drawn uniformly over [target_lo, target_hi] (original units) when the settings
// give them, else they are the oracle's own outputs at inputs drawn uniformly inside the
// constraint's start box (Problem::start_lo/hi) with the fixed features inserted: the range
// the oracle can reach under the constraint. Such outputs crowd where the oracle is flat and
// leave the ends of its range sparse, so for a one-output oracle a share
// (`settings.uniform_share`, default half) of each batch is drawn uniformly between the lowest
// and highest output of a pilot sample instead (the image of a box under a continuous map is
// an interval, so those targets are reachable; with several outputs the reachable set is not a
// box and only oracle outputs are used). G sees the target standardised by the mean and
// standard deviation of a pilot sample of 16 batches drawn before training, then z
// (`settings.latent` values, normal or uniform on [−1, 1]). The bound map is applied to G's
// output exactly as in the generator solver (sigmoid, paper, penalty); for the paper method
// there is no stopping rule (a batch mixes many targets), and answers are projected into the
// bounds instead. Adam with the StepControl schedule (cosine by default) after a linear
// warm-up over `settings.warmup` of the steps (without it the sigmoid map tends to saturate in
// the first steps and the generator collapses onto one bound); no early stopping; no
// allocation inside the step loop. A run ending with finite parameters keeps its final weights
// (the schedule has decayed the rate; the per-step loss is a noisy minibatch estimate); a run
// that diverged keeps the weights of its lowest-loss step.
//
// Limitation: the round-trip loss is non-convex across targets. On oracles with several
// separated roots per target (sinc on [−10, 10]) a training run can settle with all its mass
// in outer lobes and miss the targets only the central lobe reaches; replicates with other
// seeds, or the generator solver, are the remedy.
//
// Answering (solve_amortized). The target is objective.target (kind target) or the centre
// (lo + hi)/2 of the range (kind range; the residual is still the distance to the range).
// maximize/minimize objectives have no target and are refused with ConfigError.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "invsweep/config/settings.hpp"
#include "invsweep/inverse/problem.hpp"
#include "invsweep/inverse/spec.hpp"
#include "invsweep/nn/activation.hpp"

namespace invsweep::solvers {

using inverse::Constraint;
using inverse::Status;
using inverse::TaskResult;
using inverse::TaskSpec;

/// Defaults tuned on the paper4 oracle (docs/ARCHITECTURE.md, "Amortized solver").
struct AmortizedSettings {
  Index latent = 4;
  std::vector<Index> hidden{64, 64, 64};
  nn::Activation activation = nn::Activation::tanh;
  int steps = 8000;
  double lr = 5e-3;
  Index batch = 128;  ///< targets (each with its own latent) per training step
  inverse::LatentDist latent_dist = inverse::LatentDist::normal;
  inverse::Schedule schedule = inverse::Schedule::cosine;
  double final_lr_fraction = 0.01;  ///< cosine: the rate decays to lr·this
  double warmup = 0.05;             ///< the rate ramps up linearly over this fraction of the steps
  /// Training targets: uniform over [target_lo, target_hi] (original units) when given, else
  /// the oracle's own outputs at inputs drawn uniformly inside the constraint's start box (its
  /// reachable range), of which, for a one-output oracle, this share of each batch is instead
  /// drawn uniformly over the range of outputs seen (fills the sparse tails).
  std::optional<VectorD> target_lo, target_hi;
  double uniform_share = 0.5;

  static const config::SettingsTable<AmortizedSettings>& table();
};

/// A trained conditional generator for one (constraint setting, replicate): shared by every
/// target of that setting. Deterministic given (oracle, constraint, regularize,
/// objective.weights, the AmortizedSettings in spec.settings, spec.seed): the objective's target or range values are
/// not used in training, so one model answers every target of its setting.
class AmortizedModel {
 public:
  /// Trains from spec.constraint, spec.regularize, spec.objective.{kind, weights} and
  /// the AmortizedSettings in spec.settings, with randomness from spec.seed as given (the caller derives it, e.g. from
  /// (sweep seed, constraint, replicate)). Never throws for numerical trouble: a non-finite or
  /// exploding loss ends training with status() = diverged and a message. Throws ConfigError
  /// for a maximize/minimize objective, an invalid constraint, or invalid settings (batch < 1,
  /// latent < 0, steps < 0, lr ≤ 0, warmup or uniform_share outside [0, 1], a target range of
  /// the wrong length, lo > hi or non-finite). Calls spec.heartbeat (when set) every
  /// spec.log_every steps; an Interrupted it throws propagates.
  static AmortizedModel train(const oracle::Oracle& o, const nn::Mlp<float>& net, const TaskSpec& spec);

  /// Loss of every spec.log_every-th training step, NaN-padded to spec.log_points.
  const VectorD& loss() const { return loss_; }
  /// Training steps run.
  std::int64_t steps() const { return steps_; }
  /// Lowest minibatch loss seen (the task's final_loss).
  double best_loss() const { return best_loss_; }
  /// Status::done, or Status::diverged with message() saying why.
  Status status() const { return status_; }
  const std::string& message() const { return message_; }
  /// Wall time of train(), seconds.
  double train_seconds() const { return train_seconds_; }

  /// G's network: inputs [(y_u − cond_mean)/cond_scale (n_out) ; z (latent)], outputs the
  /// unmapped free features v [n_free] (scaled units, before the bound map).
  const nn::Mlp<float>& generator() const { return g_; }
  /// Standardisation of the conditioning target, per output (scaled output units).
  const VectorF& cond_mean() const { return cond_mean_; }
  const VectorF& cond_scale() const { return cond_scale_; }
  const AmortizedSettings& settings() const { return settings_; }
  /// The constraint the model was trained under.
  const Constraint& constraint() const { return constraint_; }

 private:
  AmortizedModel() = default;
  nn::Mlp<float> g_;
  VectorF cond_mean_, cond_scale_;
  AmortizedSettings settings_;
  Constraint constraint_;
  VectorD loss_;
  std::int64_t steps_ = 0;
  double best_loss_ = 0.0;
  Status status_ = Status::done;
  std::string message_;
  double train_seconds_ = 0.0;
};

/// Answers spec.objective (target, or the centre of a range) with spec.samples forward passes
/// of `model`, latents drawn from spec.seed as given (the task's own seed), then the optional
/// polish (skipped when the model diverged) and Problem::finish; fills a TaskResult like
/// solve(). loss, steps and final_loss are the model's training ones; status and message are
/// the model's (diverged stays diverged), or diverged if some vectors are not finite.
/// wall_seconds = this call's time, plus the training time when `include_training`.
/// Throws ConfigError for a maximize/minimize objective or a target of the wrong length, and
/// std::invalid_argument when spec.constraint is not the one the model was trained under.
TaskResult solve_amortized(const oracle::Oracle& o, const nn::Mlp<float>& net, const TaskSpec& spec,
                           const AmortizedModel& model, bool include_training);

}  // namespace invsweep::solvers
