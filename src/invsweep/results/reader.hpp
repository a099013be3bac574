#pragma once
// Reading a results file on one rank (serial HDF5): what `invsweep status` shows. Safe on a
// file that a run is writing (it reads rows that are complete: status is written last).
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace invsweep::h5 {
class File;
}

namespace invsweep::results {

/// A row marked done that cannot be a result: a non-finite vector, output or residual, a
/// vector outside its setting's bounds, or a fixed feature away from its value (a damaged or
/// tampered file, or a second writer).
struct BadRow {
  std::int64_t task = 0;
  std::string why;
};

/// Serial: every done row of `f` (status as read from it) checked as above; at most
/// `max_rows` reported (all are counted in the returned size only up to that).
std::vector<BadRow> invalid_done_rows(const h5::File& f, const std::vector<std::uint8_t>& status,
                                      std::size_t max_rows = SIZE_MAX);

/// "tasks 3, 7, 12 and 5 more" (ids of at most the first few `rows`).
std::string task_list(const std::vector<BadRow>& rows, std::size_t total);

struct StatusSummary {
  std::string path, sweep_hash, version, created;
  std::int64_t n_tasks = 0, n_samples = 0;
  std::vector<std::string> status_names;     ///< from the file (pending, done, diverged, failed)
  std::vector<std::int64_t> counts;          ///< tasks per status value, as status_names
  std::int64_t invalid = 0;                  ///< tasks whose status is none of those values
  std::vector<std::int64_t> invalid_tasks;   ///< the first of them (ids)
  std::vector<std::uint8_t> invalid_values;  ///< and their values
  std::vector<BadRow> bad_rows;              ///< done rows that fail validation (invalid_done_rows)

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
