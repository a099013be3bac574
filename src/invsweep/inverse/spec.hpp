#pragma once
// What one inversion task asks for: the objective, the constraint setting, the solver and its
// settings. These are plain values, filled from a sweep file (sweep/) or by tests directly.
// Enum values are stored in results files: never renumber them (docs/FILE_FORMATS.md).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "invsweep/core/eigen.hpp"
#include "invsweep/nn/activation.hpp"

namespace invsweep::inverse {

enum class ObjectiveKind : std::uint8_t { target = 0, range = 1, maximize = 2, minimize = 3 };
enum class SolverKind : std::uint8_t { generator = 0, adjoint = 1, amortized = 2 };
enum class BoundMethod : std::uint8_t { sigmoid = 0, paper = 1, penalty = 2 };
enum class LatentDist : std::uint8_t { normal = 0, uniform = 1 };
enum class Schedule : std::uint8_t { constant = 0, cosine = 1, plateau = 2 };

const char* to_string(ObjectiveKind k);
const char* to_string(SolverKind k);
const char* to_string(BoundMethod k);

/// The objective of one task, over the oracle's outputs (original units).
struct Objective {
  ObjectiveKind kind = ObjectiveKind::target;
  VectorD target;   ///< kind = target: one value per output
  VectorD lo, hi;   ///< kind = range: per output
  VectorD weights;  ///< per output: squared-error weights (target, range) or the linear
                    ///< combination to maximise / minimise (zero = output ignored)
};

/// One named constraint setting: fixed features and bounds (original units).
struct Constraint {
  std::string name = "free";
  std::vector<std::uint8_t> fixed;  ///< per feature: 1 = fixed
  VectorD fixed_value;              ///< per feature (NaN where free)
  VectorD lower, upper;             ///< per feature (−inf / +inf where unbounded)
  BoundMethod method = BoundMethod::sigmoid;
  double paper_c1 = 10.0;           ///< paper method: x/c1 where x ≥ upper
  double paper_c2 = 50.0;           ///< paper method: x·c2 where x ≤ lower
  double penalty = 10.0;            ///< penalty method: λ (scaled units)
  bool paper_stop = true;           ///< paper method: stop once a feature leaves its range

  /// An unconstrained setting for n features.
  static Constraint free(Index n);
  bool bounded(Index i) const { return std::isfinite(lower[i]) || std::isfinite(upper[i]); }
};

struct Regularize {
  double diversity = 0.0;  ///< RBF repulsion between the vectors of one task (scaled units)
  double min_norm = 0.0;   ///< λ·mean ||x_free||² in scaled units
  double proximity = 0.0;  ///< λ·mean ||x_free − reference||² in scaled units
  VectorD reference;       ///< per feature, original units (for proximity)
};

struct GeneratorSettings {
  Index latent = 8;
  std::vector<Index> hidden{64, 64};
  nn::Activation activation = nn::Activation::tanh;
  int steps = 2000;
  double lr = 1e-3;
  LatentDist latent_dist = LatentDist::normal;
  bool fresh_latents = false;  ///< draw new latents every step (else one fixed batch)
  Schedule schedule = Schedule::cosine;
  double final_lr_fraction = 0.01;  ///< cosine: the rate decays to lr·this
  int patience = 0;                 ///< early stopping: steps without improvement (0 = off)
  double tolerance = 0.0;           ///< stop once the loss is at or below this
};

struct AdjointSettings {
  int steps = 1000;
  double lr = 1e-2;
  Schedule schedule = Schedule::cosine;
  double final_lr_fraction = 0.01;
  int patience = 0;
  double tolerance = 0.0;
};

/// Defaults tuned on the paper4 oracle (docs/ARCHITECTURE.md, "Amortized solver").
struct AmortizedSettings {
  Index latent = 4;
  std::vector<Index> hidden{64, 64, 64};
  nn::Activation activation = nn::Activation::tanh;
  int steps = 8000;
  double lr = 5e-3;
  Index batch = 128;  ///< targets (each with its own latent) per training step
  LatentDist latent_dist = LatentDist::normal;
  Schedule schedule = Schedule::cosine;
  double final_lr_fraction = 0.01;  ///< cosine: the rate decays to lr·this
  double warmup = 0.05;             ///< the rate ramps up linearly over this fraction of the steps
  /// Training targets: uniform over [target_lo, target_hi] (original units) when given, else
  /// the oracle's own outputs at inputs drawn uniformly inside the constraint's start box (its
  /// reachable range), of which, for a one-output oracle, this share of each batch is instead
  /// drawn uniformly over the range of outputs seen (fills the sparse tails; inverse/amortized.hpp).
  std::optional<VectorD> target_lo, target_hi;
  double uniform_share = 0.5;
};

struct PolishSettings {
  bool enabled = false;
  int max_iter = 100;
  double tolerance = 1e-12;  ///< stop when the residual ≤ tolerance · max(1, |target|)
};

/// Everything one task needs besides the oracle.
struct TaskSpec {
  std::uint64_t seed = 0;
  Index samples = 256;
  SolverKind solver = SolverKind::generator;
  Objective objective;
  Constraint constraint;
  Regularize regularize;
  GeneratorSettings generator;
  AdjointSettings adjoint;
  AmortizedSettings amortized;
  PolishSettings polish;
  int log_every = 20;      ///< record the loss every this many steps
  Index log_points = 101;  ///< length of the loss curve (NaN-padded)
  /// Called by the solvers every `log_every` steps (the runner's progress and stop checks);
  /// may throw `Interrupted` to abandon the task.
  std::function<void()> heartbeat;
};

/// Thrown by a heartbeat to abandon a task (the run is stopping); the task stays pending.
struct Interrupted {};

/// Task outcome, stored as /tasks/status (written last).
enum class Status : std::uint8_t { pending = 0, done = 1, diverged = 2, failed = 3 };

struct TaskResult {
  Status status = Status::pending;
  std::string message;
  MatrixD vectors;    ///< [n_in, samples], original units, fixed features included; NaN if none
  MatrixD outputs;    ///< [n_out, samples] = oracle(vectors) in double
  VectorD residuals;  ///< [samples]: distance to target / range, or the objective value
  VectorD loss;       ///< [log_points], NaN-padded
  std::int64_t steps = 0;
  double final_loss = 0.0;
  double wall_seconds = 0.0;
};

}  // namespace invsweep::inverse
