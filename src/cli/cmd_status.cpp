// invsweep status RESULTS.h5 — tasks done / diverged / failed / pending, and the best residual
// per target and constraint setting. Reads only; safe on a file that a run is writing.
#include <fmt/format.h>

#include <cmath>
#include <algorithm>
#include <array>
#include <map>
#include <memory>

#include "commands.hpp"
#include "invsweep/core/errors.hpp"
#include "invsweep/results/results.hpp"

namespace invsweep::cli {

namespace {

struct StatusOptions {
  std::string file;
  int messages = 5;
};

int run_status(const StatusOptions& opt) {
  if (opt.messages < 0) throw ConfigError(fmt::format("--messages {}: expected a number ≥ 0", opt.messages));
  const h5::File f = h5::File::open(opt.file, h5::Mode::read_only);
  if (!f.has_attr("format") || f.attr_string("format") != results::kResultsFormat)
    throw IoError(fmt::format("{}: not an invsweep results file (no format = \"{}\")", opt.file, results::kResultsFormat));
  if (f.attr_int("format_version") != results::kResultsFormatVersion)
    throw IoError(fmt::format("{}: format_version {}, this program reads {}", opt.file, f.attr_int("format_version"),
                              results::kResultsFormatVersion));
  const h5::Node tasks = f.open_group("tasks");
  const h5::Node cons = f.open_group("constraints");
  const std::vector<std::uint8_t> status = h5::Dataset::open(tasks, "status").read_all<std::uint8_t>();
  const std::vector<std::int32_t> constraint = h5::Dataset::open(tasks, "constraint").read_all<std::int32_t>();
  const std::vector<std::int8_t> objective = h5::Dataset::open(tasks, "objective").read_all<std::int8_t>();
  const std::vector<double> target = h5::Dataset::open(tasks, "target").read_all<double>();
  const std::vector<std::string> cnames = h5::Dataset::open(cons, "name").read_strings();
  const h5::Dataset residuals = h5::Dataset::open(f, "residuals");
  const std::size_t n = status.size();
  const hsize_t ns = residuals.dims().at(1);
  const std::size_t n_out = n == 0 ? 0 : target.size() / n;

  const char* names[] = {"pending", "done", "diverged", "failed"};
  std::array<std::int64_t, 4> counts{};
  for (std::uint8_t s : status) ++counts[std::min<std::size_t>(s, 3)];
  fmt::print("{}: {} tasks × {} samples (sweep {}, written by invsweep {}, created {})\n", opt.file, n, ns,
             f.attr_string("sweep_hash"), f.attr_string("invsweep_version"), f.attr_string("created"));
  fmt::print("  done {}   diverged {}   failed {}   pending {}\n", counts[1], counts[2], counts[3], counts[0]);

  // Best residual per (target, constraint) over done tasks, read one task row at a time.
  struct Best {
    std::int64_t done = 0, total = 0;
    double best = NAN;
    std::size_t first = 0;
  };
  std::map<std::pair<std::string, std::int32_t>, Best> table;
  std::vector<double> row(ns);
  for (std::size_t t = 0; t < n; ++t) {
    std::string key;
    for (std::size_t k = 0; k < n_out; ++k) key += fmt::format("{}{:g}", k ? "," : "", target[t * n_out + k]);
    Best& b = table[{key, constraint[t]}];
    if (b.total++ == 0) b.first = t;
    if (status[t] != 1) continue;
    ++b.done;
    residuals.read_rows(t, 1, H5T_NATIVE_DOUBLE, row.data());
    const bool maximize = objective[t] == 2;
    for (double r : row) {
      if (!std::isfinite(r)) continue;
      if (std::isnan(b.best) || (maximize ? r > b.best : r < b.best)) b.best = r;
    }
  }
  // Rows in task order (the sweep's order of targets and settings).
  std::vector<std::pair<std::size_t, std::array<std::string, 4>>> rows;
  std::array<std::size_t, 4> width{6, 10, 10, 13};
  for (const auto& [key, b] : table) {
    const std::int32_t c = key.second;
    const std::string cname = c >= 0 && static_cast<std::size_t>(c) < cnames.size() ? cnames[static_cast<std::size_t>(c)] : "?";
    const int obj = objective[b.first];
    const std::string label = obj >= 2 ? (obj == 2 ? "maximize" : "minimize") : key.first;
    std::array<std::string, 4> cells{label, cname, fmt::format("{}/{}", b.done, b.total),
                                     std::isnan(b.best) ? std::string("-") : fmt::format("{:.4g}", b.best)};
    for (std::size_t i = 0; i < 4; ++i) width[i] = std::max(width[i], cells[i].size());
    rows.emplace_back(b.first, std::move(cells));
  }
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  fmt::print("\n  {:<{}}  {:<{}}  {:>{}}  {:>{}}\n", "target", width[0], "constraint", width[1], "done/tasks", width[2],
             "best residual", width[3]);
  for (const auto& [first, c] : rows)
    fmt::print("  {:<{}}  {:<{}}  {:>{}}  {:>{}}\n", c[0], width[0], c[1], width[1], c[2], width[2], c[3], width[3]);
  // A few messages of tasks that did not finish well.
  const std::vector<std::string> messages = h5::Dataset::open(tasks, "message").read_strings();
  int shown = 0;
  for (std::size_t t = 0; t < n && shown < opt.messages; ++t) {
    if (status[t] < 2) continue;
    if (shown++ == 0) fmt::print("\n");
    fmt::print("  task {} {}: {}\n", t, names[std::min<std::size_t>(status[t], 3)], messages[t]);
  }
  return 0;
}

}  // namespace

void setup_status(CLI::App& app) {
  auto opt = std::make_shared<StatusOptions>();
  CLI::App* sub = app.add_subcommand("status", "Summarise a results file: tasks by status, best residuals");
  sub->add_option("file", opt->file, "Results file (.h5)")->required();
  sub->add_option("--messages", opt->messages, "Show this many messages of diverged or failed tasks")
      ->capture_default_str();
  sub->callback([opt] { exit_code() = run_status(*opt); });
}

}  // namespace invsweep::cli
