#pragma once
// Reading a results file on one rank (serial HDF5): what `invsweep status` shows. Safe on a
// file that a run is writing (it reads rows that are complete: status is written last).
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace invsweep::results {

struct StatusSummary {
  std::string path, sweep_hash, version, created;
  std::int64_t n_tasks = 0, n_samples = 0;
  std::vector<std::string> status_names;  ///< from the file (pending, done, diverged, failed)
  std::vector<std::int64_t> counts;       ///< tasks per status value, as status_names
  std::int64_t invalid = 0;               ///< tasks whose status is none of those values

  /// Tasks grouped by (target, constraint setting), in task order.
  struct Group {
    std::string target;      ///< "1900", "0.5,2", "maximize", "minimize"
    std::string constraint;  ///< the setting's name
    std::int64_t done = 0, total = 0;
    double best = 0;  ///< best residual of its done vectors (NaN when none); the
                      ///< largest objective value for maximize
    bool has_best = false;
    /// The group's certificates in words ("max y ∈ [787.2, 787.3] (proven)", "target 2900:
    /// unreachable (proven: y ≤ 812.4 in this box)", "4 roots (proven)", "budget exhausted:
    /// …"); empty when none was run. Every task of a group has the same box and objective, so
    /// their bounds combine: the largest lower and smallest upper bound of its done tasks.
    std::string certificate;
  };
  std::vector<Group> groups;

  struct Message {
    std::int64_t task = 0;
    std::string status, text;
  };
  std::vector<Message> messages;  ///< of diverged / failed tasks, at most the number asked for
};

/// Throws IoError naming the file when it is not a readable invsweep results file.
StatusSummary read_status(const std::string& path, std::size_t max_messages);

}  // namespace invsweep::results
