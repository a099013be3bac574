#pragma once
// A sweep: the grid of tasks described by a sweep file (DESIGN.md, "Sweep file").
//
// Tasks are the product targets × constraints × solvers × replicates, in that order, the
// last axis fastest; a task's id is its position in that order, and its random stream comes
// from (seed, task id) only — never from the rank that runs it. Every key of the file is
// checked: unknown keys, wrong types, impossible values and names that the oracle does not
// have are ConfigErrors that name the file, the line and the key.
#include <cstdint>
#include <string>
#include <vector>

#include "invsweep/inverse/spec.hpp"
#include "invsweep/oracle/oracle.hpp"

namespace invsweep::sweep {

/// A task's position on each axis.
struct TaskCoords {
  Index target = 0, constraint = 0, solver = 0, replicate = 0;
};

/// What the file says before it meets an oracle (names not yet resolved).
struct Sweep {
  std::string path;         ///< the sweep file as given
  std::string text;         ///< its contents (stored in results files)
  std::string oracle_path;  ///< resolved relative to the sweep file
  std::string output_path;  ///< resolved relative to the sweep file ("" if not given)
  std::uint64_t seed = 0;
  Index samples = 256;
  Index replicates = 1;
  std::vector<inverse::SolverKind> solvers{inverse::SolverKind::generator};

  inverse::ObjectiveKind kind = inverse::ObjectiveKind::target;
  /// The target axis: one vector per point (kind = target), one range centre (kind = range),
  /// or one NaN vector (maximize / minimize).
  std::vector<VectorD> targets;
  std::vector<VectorD> range_lo, range_hi;  ///< kind = range: per point of the axis
  VectorD weights;                          ///< per output (after resolve); empty = all 1

  std::vector<inverse::Constraint> constraints;  ///< resolved against the oracle
  inverse::Regularize regularize;
  inverse::GeneratorSettings generator;
  inverse::AdjointSettings adjoint;
  inverse::AmortizedSettings amortized;
  inverse::PolishSettings polish;
  int log_every = 20;
  Index log_points = 101;

  Index n_targets() const { return static_cast<Index>(targets.size()); }
  Index n_constraints() const { return static_cast<Index>(constraints.size()); }
  Index n_solvers() const { return static_cast<Index>(solvers.size()); }
  Index n_tasks() const { return n_targets() * n_constraints() * n_solvers() * replicates; }

  TaskCoords coords(Index task) const;
  /// Everything task `id` needs (its seed derived from (seed, id)).
  inverse::TaskSpec task(Index id) const;
  /// Seed of the shared amortized model of (constraint, replicate): the same for every target.
  std::uint64_t amortized_seed(Index constraint, Index replicate) const;
  /// A fingerprint of everything that determines the results (settings, resolved values and
  /// the oracle's parameters; not comments, formatting or the output path): 16 hex digits.
  std::string hash(const oracle::Oracle& o) const;
};

/// Reads, parses and validates a sweep file against `oracle` (which the caller loads from
/// `peek_oracle_path` first). Throws ConfigError / IoError naming the file, line and key.
Sweep parse_sweep(const std::string& path, const std::string& text, const oracle::Oracle& oracle);
/// Reads the whole file (IoError if it cannot).
std::string read_text_file(const std::string& path, std::string_view what);
/// The oracle path a sweep file names, resolved relative to it (ConfigError when missing).
std::string peek_oracle_path(const std::string& path, const std::string& text);

}  // namespace invsweep::sweep
