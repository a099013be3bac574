#pragma once
// What one inversion task asks for: the objective, the constraint setting, the solver and its
// settings. These are plain values, filled from a sweep file (sweep/) or by tests directly.
// Enum values are stored in results files: never renumber them (docs/FILE_FORMATS.md).
#include <any>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "invsweep/config/settings.hpp"
#include "invsweep/core/eigen.hpp"

namespace invsweep::inverse {

enum class ObjectiveKind : std::uint8_t { target = 0, range = 1, maximize = 2, minimize = 3 };
enum class BoundMethod : std::uint8_t { sigmoid = 0, paper = 1, penalty = 2 };
enum class LatentDist : std::uint8_t { normal = 0, uniform = 1 };
enum class Schedule : std::uint8_t { constant = 0, cosine = 1, plateau = 2 };
/// Task outcome, stored as /tasks/status (written last).
enum class Status : std::uint8_t { pending = 0, done = 1, diverged = 2, failed = 3 };

/// The names of each enum, value i = names[i]: the one place they are written. Parsers, the
/// results file's `*_names` attributes, messages and docs all read them from here.
const std::vector<std::string>& objective_names();
const std::vector<std::string>& bound_method_names();
const std::vector<std::string>& latent_names();
const std::vector<std::string>& schedule_names();
const std::vector<std::string>& status_names();
const std::string& to_string(ObjectiveKind k);
const std::string& to_string(BoundMethod k);
const std::string& to_string(Status k);

/// The objective of one task, over the oracle's outputs (original units).
struct Objective {
  ObjectiveKind kind = ObjectiveKind::target;
  VectorD target;   ///< kind = target: one value per output
  VectorD lo, hi;   ///< kind = range: per output
  VectorD weights;  ///< per output: squared-error weights (target, range) or the linear
                    ///< combination to maximise / minimise (zero = output ignored)
  /// `subject_to`: per output, the range every vector's output must stay in (hard; ±inf ends
  /// = one-sided or unconstrained). Empty = no output constraint.
  VectorD sub_lo, sub_hi;
  bool has_output_constraints() const { return sub_lo.size() > 0; }
};

/// One named constraint setting: fixed features and bounds (original units).
struct Constraint {
  std::string name = "free";
  std::vector<std::uint8_t> fixed;  ///< per feature: 1 = fixed
  VectorD fixed_value;              ///< per feature (NaN where free)
  VectorD lower, upper;             ///< per feature (−inf / +inf where unbounded)
  BoundMethod method = BoundMethod::sigmoid;
  double paper_c1 = 10.0;  ///< paper method: x/c1 where x ≥ upper
  double paper_c2 = 50.0;  ///< paper method: x·c2 where x ≤ lower
  double penalty = 10.0;   ///< penalty method: λ (scaled units)
  bool paper_stop = true;  ///< paper method: stop once a feature leaves its range
  bool domain = true;      ///< the parser put free unbounded features in the training range
  /// `plausible`: every vector's Mahalanobis distance to the training inputs stays ≤ this
  /// (hard, like the bounds; needs /oracle/input_stats). 0 = off.
  double plausible = 0.0;

  /// An unconstrained setting for n features.
  static Constraint free(Index n);
  bool bounded(Index i) const { return std::isfinite(lower[i]) || std::isfinite(upper[i]); }
};

struct Regularize {
  double diversity = 0.0;  ///< RBF repulsion between the vectors of one task (scaled units)
  double min_norm = 0.0;   ///< λ·mean ||x_free||² in scaled units
  double proximity = 0.0;  ///< λ·mean ||x_free − reference||² in scaled units
  VectorD reference;       ///< per feature, original units (for proximity)
  /// λ·mean over outputs of the ensemble members' variance (divisor K) at each vector, scaled
  /// output units (oracle/ensemble.hpp); > 0 needs an ensemble oracle.
  double uncertainty = 0.0;

  /// [regularize]: `reference` is read as a table {feature = value} over the oracle's mean.
  static const config::SettingsTable<Regularize>& table();
};

struct PolishSettings {
  bool enabled = false;  ///< the parser: true when the sweep has a [polish] table, unless it says false
  int max_iter = 100;
  double tolerance = 1e-12;  ///< stop when the residual ≤ tolerance · max(1, |target|)

  static const config::SettingsTable<PolishSettings>& table();
};

/// [certify]: sound bounds over the constraint setting's box after the solver
/// (certify/task.hpp, docs/CERTIFY.md).
struct CertifySettings {
  bool enabled = false;
  double time_limit = 60.0;             ///< seconds per task, all certificate phases together
  double tolerance = 1e-4;              ///< relative gap (maximize/minimize) and target tolerance
  std::int64_t max_boxes = 10'000'000;  ///< bound computations per phase

  static const config::SettingsTable<CertifySettings>& table();
};

/// Everything one task needs besides the oracle.
struct TaskSpec {
  std::uint64_t seed = 0;
  Index samples = 256;
  /// The solver (its id in solvers/registry.hpp, = /tasks/solver) and its settings: the
  /// value type that solver declares (solvers/<name>.hpp), e.g. solvers::GeneratorSettings.
  Index solver = 0;
  std::any settings;
  Objective objective;
  Constraint constraint;
  Regularize regularize;
  PolishSettings polish;
  CertifySettings certify;
  int log_every = 20;      ///< record the loss every this many steps
  Index log_points = 101;  ///< length of the loss curve (NaN-padded)
  /// Where the task sits in its sweep, and the seed of state shared by the tasks of one
  /// (constraint setting, replicate) across targets (the amortized solver's model).
  Index constraint_index = 0, replicate = 0;
  std::uint64_t shared_seed = 0;
  /// Called by the solvers every `log_every` steps (the runner's progress and stop checks);
  /// may throw `Interrupted` to abandon the task.
  std::function<void()> heartbeat;
};

/// Thrown by a heartbeat to abandon a task (the run is stopping); the task stays pending.
struct Interrupted {};

struct TaskResult {
  Status status = Status::pending;
  std::string message;
  MatrixD vectors;      ///< [n_in, samples], original units, fixed features included; NaN if none
  MatrixD outputs;      ///< [n_out, samples] = oracle(vectors) in double
  VectorD residuals;    ///< [samples]: distance to target / range, or the objective value
  VectorD violations;   ///< [samples]: distance outside the feasible set (/violations; 0 = feasible)
  VectorD mahalanobis;  ///< [samples]: distance to the training inputs, or empty (no input_stats)
  VectorD loss;         ///< [log_points], NaN-padded
  MatrixD spread;       ///< [n_out, samples]: the ensemble members' spread (/spread); empty: none
  std::int64_t steps = 0;
  double final_loss = 0.0;
  double wall_seconds = 0.0;

  // ---- Certificate ([certify], certify/task.hpp); the defaults mean "not run". ----------
  std::uint8_t certificate = 0;  ///< /tasks/certificate: 0 not run, 1 proven, 2 budget exhausted,
                                 ///< 3 not applicable (certify::Certificate)
  VectorD bound_lo, bound_hi;    ///< [n_out] or empty (= all NaN): /tasks/bound_lo, bound_hi
  std::int8_t reachable = -1;    ///< /tasks/reachable: 1 reachable, 0 proven unreachable, −1 unknown
  std::int32_t n_roots = -1;     ///< /tasks/n_roots: proven root count (square target systems), −1 unknown
  // ---- end of certificate fields -------------------------------------------------------
  // --- Sampling diagnostics (solver `sampler`; NaN for every other solver) ---------------
  // /tasks/acceptance, /tasks/ess, /tasks/rhat in the results file (docs/SAMPLER.md).
  double acceptance = std::numeric_limits<double>::quiet_NaN();  ///< mean acceptance after warm-up
  double ess = std::numeric_limits<double>::quiet_NaN();         ///< smallest ESS over free features
  double rhat = std::numeric_limits<double>::quiet_NaN();        ///< largest split-R̂ over free features
  // --- end sampling diagnostics ----------------------------------------------------------
};

}  // namespace invsweep::inverse
