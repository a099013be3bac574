// invsweep status RESULTS.h5 — tasks done / diverged / failed / pending, and the best residual
// per target and constraint setting. Reads only; safe on a file that a run is writing.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "commands.hpp"
#include "invsweep/core/errors.hpp"
#include "invsweep/inverse/spec.hpp"
#include "invsweep/results/reader.hpp"

namespace invsweep::cli {

namespace {

struct StatusOptions {
  std::string file;
  int messages = 5;
  int groups = 50;
};

int run_status(const StatusOptions& opt) {
  if (opt.messages < 0) throw ConfigError(fmt::format("--messages {}: expected a number ≥ 0", opt.messages));
  if (opt.groups < 0) throw ConfigError(fmt::format("--groups {}: expected a number ≥ 0", opt.groups));
  const results::StatusSummary st = results::read_status(opt.file, static_cast<std::size_t>(opt.messages));
  fmt::print("{}: {} tasks × {} samples (sweep {}, written by invsweep {}, created {})\n", opt.file, st.n_tasks,
             st.n_samples, st.sweep_hash, st.version, st.created);
  const auto count = [&](inverse::Status s) { return st.counts[static_cast<std::size_t>(s)]; };
  fmt::print("  done {}   diverged {}   failed {}   pending {}\n", count(inverse::Status::done),
             count(inverse::Status::diverged), count(inverse::Status::failed), count(inverse::Status::pending));
  // A sweep of a million targets has a million groups: the table shows the first --groups.
  const std::size_t shown =
      opt.groups == 0 ? st.groups.size() : std::min(st.groups.size(), static_cast<std::size_t>(opt.groups));
  const std::span<const results::StatusSummary::Group> groups(st.groups.data(), shown);
  std::array<std::size_t, 4> width{6, 10, 10, 13};
  std::vector<std::array<std::string, 4>> rows;
  for (const results::StatusSummary::Group& g : groups) {
    std::array<std::string, 4> cells{g.target, g.constraint, fmt::format("{}/{}", g.done, g.total),
                                     g.has_best ? fmt::format("{:.4g}", g.best) : std::string("-")};
    for (std::size_t i = 0; i < 4; ++i)
      width[i] = std::max(width[i], cells[i].size());
    rows.push_back(std::move(cells));
  }
  fmt::print("\n  {:<{}}  {:<{}}  {:>{}}  {:>{}}\n", "target", width[0], "constraint", width[1], "done/tasks", width[2],
             "best residual", width[3]);
  for (const auto& c : rows)
    fmt::print("  {:<{}}  {:<{}}  {:>{}}  {:>{}}\n", c[0], width[0], c[1], width[1], c[2], width[2], c[3], width[3]);
  if (shown < st.groups.size())
    fmt::print("  … and {} more (target, constraint) groups: --groups 0 shows every one\n", st.groups.size() - shown);
  bool any_cert = false;
  for (const results::StatusSummary::Group& g : groups) {
    if (g.certificate.empty()) continue;
    if (!any_cert) fmt::print("\n  certificates\n");
    any_cert = true;
    fmt::print("  {:<{}}  {:<{}}  {}\n", g.target, width[0], g.constraint, width[1], g.certificate);
  }
  if (!st.messages.empty()) fmt::print("\n");
  for (const results::StatusSummary::Message& m : st.messages)
    fmt::print("  task {} {}: {}\n", m.task, m.status, m.text);
  // A file a run can write holds neither: say so, name the tasks, and fail.
  int code = 0;
  if (st.invalid > 0) {
    std::vector<std::string> ids;
    for (std::size_t k = 0; k < st.invalid_tasks.size(); ++k)
      ids.push_back(fmt::format("{} (= {})", st.invalid_tasks[k], st.invalid_values[k]));
    const auto more = st.invalid - static_cast<std::int64_t>(ids.size());
    fmt::print(stderr,
               "invsweep: {}: {} task{} with an invalid /tasks/status value (valid: 0 pending, 1 done, 2 diverged, "
               "3 failed): task{} {}{}\n",
               opt.file, st.invalid, st.invalid == 1 ? "" : "s", st.invalid == 1 ? "" : "s", fmt::join(ids, ", "),
               more > 0 ? fmt::format(" and {} more", more) : std::string());
    code = 1;
  }
  if (!st.bad_rows.empty()) {
    fmt::print(stderr, "invsweep: {}: {} row{} marked done fail validation ({}); `run --resume` runs them again\n",
               opt.file, st.bad_rows.size(), st.bad_rows.size() == 1 ? "" : "s",
               results::task_list(st.bad_rows, st.bad_rows.size()));
    for (std::size_t k = 0; k < st.bad_rows.size() && k < 10; ++k)
      fmt::print(stderr, "  task {}: {}\n", st.bad_rows[k].task, st.bad_rows[k].why);
    code = 1;
  }
  return code;
}

}  // namespace

void setup_status(CLI::App& app) {
  auto opt = std::make_shared<StatusOptions>();
  CLI::App* sub = app.add_subcommand("status", "Summarise a results file: tasks by status, best residuals");
  sub->add_option("file", opt->file, "Results file (.h5)")->required();
  sub->add_option("--messages", opt->messages, "Show this many messages of diverged or failed tasks")
      ->capture_default_str();
  sub->add_option("--groups", opt->groups, "Show this many (target, constraint) groups in the table (0: all)")
      ->capture_default_str();
  sub->callback([opt] { exit_code() = run_status(*opt); });
}

}  // namespace invsweep::cli
