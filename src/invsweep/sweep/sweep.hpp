#pragma once
// A sweep: the grid of tasks described by a sweep file (docs/FILE_FORMATS.md, "Sweep file").
//
// Tasks are the product targets × constraints × solvers × replicates, in that order, the
// last axis fastest; a task's id is its position in that order, and its random stream comes
// from (seed, task id) only — never from the rank that runs it. Every key of the file is
// declared once in a settings table (config/settings.hpp): unknown keys, wrong types,
// impossible values and names that the oracle does not have are ConfigErrors that name the
// file, the line and the key.
#include <any>
#include <cstdint>
#include <string>
#include <vector>

#include "invsweep/config/settings.hpp"
#include "invsweep/inverse/spec.hpp"
#include "invsweep/oracle/oracle.hpp"

namespace invsweep::sweep {

/// A task's position on each axis.
struct TaskCoords {
  Index target = 0, constraint = 0, solver = 0, replicate = 0;
};

struct Sweep {
  std::string path;         ///< the sweep file as given
  std::string text;         ///< its contents (stored in results files)
  std::string oracle_path;  ///< resolved relative to the sweep file
  std::string output_path;  ///< resolved relative to the sweep file ("" if not given)
  std::string description;
  std::uint64_t seed = 0;
  Index samples = 256;
  Index replicates = 1;
  int log_every = 20;
  Index log_points = 101;
  std::vector<Index> solvers{0};          ///< the solver axis: registry ids (solvers/registry.hpp)
  std::vector<std::any> solver_settings;  ///< per registry id: every solver's settings

  inverse::ObjectiveKind kind = inverse::ObjectiveKind::target;
  /// The target axis: one vector per point (kind = target), one range centre (kind = range),
  /// or one NaN vector (maximize / minimize).
  std::vector<VectorD> targets;
  std::vector<VectorD> range_lo, range_hi;  ///< kind = range: per point of the axis
  VectorD weights;                          ///< per output (after resolve); empty = all 1
  VectorD sub_lo, sub_hi;                   ///< subject_to: per output (±inf = open), empty = none

  std::vector<inverse::Constraint> constraints;  ///< resolved against the oracle
  inverse::Regularize regularize;
  inverse::PolishSettings polish;
  inverse::CertifySettings certify;

  Index n_targets() const { return static_cast<Index>(targets.size()); }
  Index n_constraints() const { return static_cast<Index>(constraints.size()); }
  Index n_solvers() const { return static_cast<Index>(solvers.size()); }
  Index n_tasks() const { return n_targets() * n_constraints() * n_solvers() * replicates; }

  TaskCoords coords(Index task) const;
  /// Everything task `id` needs (its seed derived from (seed, id)).
  inverse::TaskSpec task(Index id) const;
  /// The first task of solver axis position `k`.
  Index first_task_of_solver(Index k) const;
  /// Up to `n` tasks of solver axis position `k` spread evenly over the (target, constraint)
  /// cells and the replicates: what the cost calibration times as a sample of the sweep.
  std::vector<Index> sample_tasks_of_solver(Index k, Index n) const;
  /// Seed of state shared by every target of (constraint, replicate) (the amortized model).
  std::uint64_t shared_seed(Index constraint, Index replicate) const;
  /// A fingerprint of everything that determines the results (every declared setting of the
  /// tables in use, resolved values and the oracle's parameters; not comments, formatting,
  /// the description or the output path): 16 hex digits.
  std::string hash(const oracle::Oracle& o) const;
};

/// The tables that describe a sweep file (also for docs and tests).
const config::SettingsTable<Sweep>& top_table();                       ///< top-level keys
const config::SettingsTable<Sweep>& objective_table();                 ///< [objective]
const config::SettingsTable<inverse::Constraint>& constraint_table();  ///< [[constraints]]

/// Reads, parses and validates a sweep file against `oracle` (which the caller loads from
/// `peek_oracle_path` first). Throws ConfigError / IoError naming the file, line and key.
Sweep parse_sweep(const std::string& path, const std::string& text, const oracle::Oracle& oracle);
/// Reads the whole file (IoError if it cannot).
std::string read_text_file(const std::string& path, std::string_view what);
/// The oracle path a sweep file names, resolved relative to it (ConfigError when missing).
std::string peek_oracle_path(const std::string& path, const std::string& text);
/// Where the sweep asks the oracle to extrapolate (one sentence each, naming the output or
/// feature and the training range): targets or output ranges beyond the training outputs
/// (/oracle/output_bounds), fixed values or bounds beyond the training inputs (input_bounds).
/// `check` and `run` print them as warnings.
std::vector<std::string> extrapolation_warnings(const Sweep& s, const oracle::Oracle& o);
/// Every settings table as Markdown (the docs' reference; `invsweep settings`).
std::string settings_markdown();

}  // namespace invsweep::sweep
