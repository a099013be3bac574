#pragma once
// The solver interface. A solver is one file pair under solvers/ and one line in
// registry.cpp: it declares its settings (a value type and its config::SettingsTable, read
// from the sweep file's [name] table), how it runs a task, and how `check` estimates its
// cost. The parser, the fingerprint, `check`, `invsweep settings`, the results file's
// `solver_names` attribute and the Python readers all follow from the registry.
#include <any>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "invsweep/config/settings.hpp"
#include "invsweep/inverse/spec.hpp"
#include "invsweep/nn/mlp.hpp"
#include "invsweep/oracle/oracle.hpp"

namespace invsweep::solvers {

/// State a solver keeps on one rank for the whole run (the amortized solver's trained
/// models, shared by every target of a (constraint setting, replicate)).
class RunState {
 public:
  virtual ~RunState() = default;
};

/// Everything one task sees.
struct TaskContext {
  const oracle::Oracle& oracle;
  const nn::Mlp<float>& net;  ///< the oracle's network in float32 (cast once per rank)
  const inverse::TaskSpec& spec;
  RunState* state = nullptr;  ///< from make_state(); null for a task run on its own
};

/// What a calibration measured and what a sweep's tasks of this solver will cost.
struct CostEstimate {
  double per_task = 0;                      ///< seconds per task: the mean over the calibration's sample
  double per_task_lo = 0, per_task_hi = 0;  ///< that mean ∓ two standard errors (0: not measured)
  double shared = 0;                        ///< seconds per shared unit (amortized: one model)
  Index shared_units = 0;                   ///< how many shared units the sweep needs (per rank that needs one)
  std::string detail;                       ///< one line for `check`
};

/// The shape of a task, for memory estimates.
struct MemoryInput {
  Index n_in = 0, n_out = 0, samples = 0;
  Index oracle_width = 0;  ///< the oracle's summed layer widths
};
struct MemoryNeed {
  double bytes = 0;  ///< double: the product of two large settings must not wrap
  std::string key;   ///< the setting that drives it
};

/// What the cost hook may use: the oracle, a sample of the sweep's tasks, and the sweep's shape.
struct CostInput {
  const oracle::Oracle& oracle;
  const nn::Mlp<float>& net;
  /// Tasks of this solver spread over the sweep's targets, settings and replicates (not empty):
  /// the calibration times each, because a task's cost can depend on its target and setting.
  const std::vector<inverse::TaskSpec>& sample;
  Index tasks = 0;  ///< tasks of this solver in the sweep
  Index targets = 0, constraints = 0, replicates = 0;
  int ranks = 1;
};

class Solver {
 public:
  virtual ~Solver() = default;
  virtual std::string_view name() const = 0;
  /// One line for the docs and `invsweep settings`.
  virtual std::string_view summary() const = 0;

  /// This solver's settings from its table (`table` null when the sweep has none: defaults).
  virtual std::any parse(const config::Table* table, const config::Context& ctx) const = 0;
  /// The default settings.
  virtual std::any defaults() const = 0;
  virtual std::vector<std::string> keys() const = 0;
  /// Every key of the table with its type, range, doc and example (docs, tests).
  virtual std::vector<config::FieldInfo> fields() const = 0;
  virtual void hash(config::Fingerprint& f, const std::any& settings) const = 0;
  virtual std::vector<std::pair<std::string, std::string>> show(const std::any& settings) const = 0;
  virtual std::string markdown() const = 0;

  /// Throws ConfigError when this solver cannot answer objectives of `kind` (saying why).
  virtual void check_objective(inverse::ObjectiveKind kind) const { (void)kind; }
  /// Whether `[regularize] uncertainty` (the ensemble members' variance) enters its loss.
  virtual bool supports_uncertainty() const { return true; }
  /// Per-rank state for a run (null when the solver keeps none).
  virtual std::unique_ptr<RunState> make_state() const { return nullptr; }
  /// Runs one task. Numerical trouble is data (status diverged, a message), bad settings a
  /// ConfigError; a heartbeat may throw inverse::Interrupted to abandon the task.
  virtual inverse::TaskResult run(const TaskContext& ctx) const = 0;

  /// The amount of work a task does (steps, evaluations): an upper bound.
  virtual std::int64_t work(const std::any& settings) const = 0;
  /// The same settings limited to `units` of work and without early stopping (calibration).
  virtual std::any with_work(const std::any& settings, std::int64_t units) const = 0;
  /// The work of the two timed calibration runs (default 20 and 60 units).
  virtual std::pair<std::int64_t, std::int64_t> calibration_work(const std::any& settings) const {
    (void)settings;
    return {20, 60};
  }
  /// Bytes one task of this solver holds at its peak on one rank, beyond the task's results
  /// (memory_estimate() adds those), and the settings key that drives it ("generator.hidden").
  /// Default: none beyond the results, so the sweep's `samples` drives it.
  virtual MemoryNeed memory(const std::any& settings, const MemoryInput& in) const {
    (void)settings;
    (void)in;
    return {};
  }
  /// Calibrated estimate: by default, for each task of the sample, two short timed runs
  /// extrapolated linearly in work(), averaged over the sample (runner/cost_model.hpp);
  /// solvers whose cost has another shape override it.
  virtual CostEstimate estimate(const CostInput& in) const;
};

/// Seconds of a task of `full` work units from two timed runs of `a` < `b` units:
/// fixed cost + per-unit cost × full (never negative), so that set-up and polish are not
/// counted as work units.
double extrapolate_cost(double seconds_a, std::int64_t a, double seconds_b, std::int64_t b, std::int64_t full);

/// The mean of a calibration's per-task estimates and the mean ∓ two standard errors (lo ≥ 0).
struct MeanAndSpread {
  double mean = 0, lo = 0, hi = 0;
};
MeanAndSpread mean_and_spread(const std::vector<double>& v);

/// The common part of a solver whose settings are the value type S with a table S::table().
template <class S>
class SolverWith : public Solver {
 public:
  std::any parse(const config::Table* table, const config::Context& ctx) const override {
    S s;
    if (table != nullptr) S::table().parse(*table, s, ctx);
    validate(s, ctx);
    return s;
  }
  std::any defaults() const override { return S{}; }
  std::vector<std::string> keys() const override { return S::table().keys(); }
  std::vector<config::FieldInfo> fields() const override { return S::table().info(); }
  void hash(config::Fingerprint& f, const std::any& s) const override { S::table().hash(f, get(s)); }
  std::vector<std::pair<std::string, std::string>> show(const std::any& s) const override {
    return S::table().show(get(s));
  }
  std::string markdown() const override { return S::table().markdown(S{}); }

  static const S& get(const std::any& s) { return std::any_cast<const S&>(s); }

 protected:
  /// Cross-key checks after parsing (ConfigError naming the keys).
  virtual void validate(S& s, const config::Context& ctx) const {
    (void)s;
    (void)ctx;
  }
};

}  // namespace invsweep::solvers
