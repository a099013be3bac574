#include "invsweep/results/reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "invsweep/core/errors.hpp"
#include "invsweep/h5/h5.hpp"
#include "invsweep/inverse/spec.hpp"
#include "invsweep/results/results.hpp"

namespace invsweep::results {

StatusSummary read_status(const std::string& path, std::size_t max_messages) {
  const h5::File f = h5::File::open(path, h5::Mode::read_only);
  if (!f.has_attr("format") || f.attr_string("format") != kResultsFormat)
    throw IoError(fmt::format("{}: not an invsweep results file (no format = \"{}\")", path, kResultsFormat));
  if (f.attr_int("format_version") != kResultsFormatVersion)
    throw IoError(fmt::format("{}: format_version {}, this program reads {}", path, f.attr_int("format_version"),
                              kResultsFormatVersion));
  StatusSummary out;
  out.path = path;
  out.sweep_hash = f.attr_string("sweep_hash");
  out.version = f.attr_string("invsweep_version");
  out.created = f.attr_string("created");
  out.status_names = inverse::status_names();
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
  out.n_tasks = static_cast<std::int64_t>(n);
  out.n_samples = static_cast<std::int64_t>(ns);
  out.counts.assign(out.status_names.size(), 0);
  for (std::uint8_t s : status) {
    if (s < out.counts.size())
      ++out.counts[s];
    else
      ++out.invalid;
  }

  // Best residual per (target, constraint) over done tasks, read one task row at a time.
  const auto done = static_cast<std::uint8_t>(inverse::Status::done);
  const auto kind_of = [&](std::size_t t) { return static_cast<inverse::ObjectiveKind>(objective[t]); };
  std::map<std::pair<std::string, std::int32_t>, std::size_t> index;  // → groups
  std::vector<std::size_t> first;
  std::vector<double> row(ns);
  for (std::size_t t = 0; t < n; ++t) {
    const inverse::ObjectiveKind kind = kind_of(t);
    std::string label;
    if (kind == inverse::ObjectiveKind::maximize || kind == inverse::ObjectiveKind::minimize) {
      label = inverse::to_string(kind);
    } else {
      for (std::size_t k = 0; k < n_out; ++k) label += fmt::format("{}{:g}", k ? "," : "", target[t * n_out + k]);
    }
    const auto [it, fresh] = index.try_emplace({label, constraint[t]}, out.groups.size());
    if (fresh) {
      StatusSummary::Group g;
      g.target = label;
      const std::int32_t c = constraint[t];
      g.constraint = c >= 0 && static_cast<std::size_t>(c) < cnames.size() ? cnames[static_cast<std::size_t>(c)] : "?";
      out.groups.push_back(g);
    }
    StatusSummary::Group& g = out.groups[it->second];
    ++g.total;
    if (status[t] != done) continue;
    ++g.done;
    residuals.read_rows(t, 1, H5T_NATIVE_DOUBLE, row.data());
    const bool maximize = kind == inverse::ObjectiveKind::maximize;
    for (double r : row) {
      if (!std::isfinite(r)) continue;
      if (!g.has_best || (maximize ? r > g.best : r < g.best)) g.best = r;
      g.has_best = true;
    }
  }
  // A few messages of tasks that did not finish well.
  const std::vector<std::string> messages = h5::Dataset::open(tasks, "message").read_strings();
  for (std::size_t t = 0; t < n && out.messages.size() < max_messages; ++t) {
    if (status[t] == done || status[t] == static_cast<std::uint8_t>(inverse::Status::pending)) continue;
    const std::string name = status[t] < out.status_names.size() ? out.status_names[status[t]]
                                                                  : fmt::format("status {}", status[t]);
    out.messages.push_back({static_cast<std::int64_t>(t), name, messages[t]});
  }
  return out;
}

}  // namespace invsweep::results
