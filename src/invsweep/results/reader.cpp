#include "invsweep/results/reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <numeric>

#include "invsweep/core/errors.hpp"
#include "invsweep/h5/h5.hpp"
#include "invsweep/inverse/spec.hpp"
#include "invsweep/results/results.hpp"

namespace invsweep::results {

namespace {

/// Certificates of one group of tasks, combined (see StatusSummary::Group::certificate).
struct CertAcc {
  int state = 0;  // best seen: proven > budget exhausted > not applicable > not run
  std::vector<double> lo, hi;
  int reachable = -1, n_roots = -1;

  void add(int cert, const double* blo, const double* bhi, std::size_t n_out, int reach, int roots) {
    const auto rank = [](int c) { return c == 1 ? 3 : c == 2 ? 2 : c == 3 ? 1 : 0; };
    if (rank(cert) > rank(state)) state = cert;
    if (cert != 1 && cert != 2) return;
    if (lo.empty()) {
      lo.assign(n_out, -std::numeric_limits<double>::infinity());
      hi.assign(n_out, std::numeric_limits<double>::infinity());
    }
    for (std::size_t j = 0; j < n_out; ++j) {
      if (!std::isnan(blo[j])) lo[j] = std::max(lo[j], blo[j]);
      if (!std::isnan(bhi[j])) hi[j] = std::min(hi[j], bhi[j]);
    }
    if (reach >= 0) reachable = reach;
    if (roots >= 0) n_roots = roots;
  }

  std::string text(inverse::ObjectiveKind kind, const double* target, const std::vector<std::string>& outputs) const {
    if (state == 0) return "";
    if (state == 3) return "certificate not applicable (a free feature without bounds)";
    const std::string prefix = state == 1 ? "" : "budget exhausted: ";
    const std::string suffix = state == 1 ? " (proven)" : "";
    const std::size_t m = outputs.size();
    if (kind == inverse::ObjectiveKind::maximize || kind == inverse::ObjectiveKind::minimize) {
      const bool mx = kind == inverse::ObjectiveKind::maximize;
      for (std::size_t j = 0; j < m; ++j) {
        if (std::isinf(lo[j]) && std::isinf(hi[j])) continue;
        // lo holds the verified value, hi the proven bound (reversed for minimize).
        const double a = mx ? lo[j] : hi[j], b = mx ? hi[j] : lo[j];
        return fmt::format("{}{} {} ∈ [{:.7g}, {:.7g}]{}", prefix, mx ? "max" : "min", outputs[j], a, b, suffix);
      }
      return prefix + "no bound";
    }
    std::vector<std::string> parts;
    if (reachable == 0) {
      // Name the output whose proven enclosure misses the target.
      std::string why = "no point of the box meets it";
      for (std::size_t j = 0; target != nullptr && j < m; ++j) {
        if (target[j] > hi[j]) why = fmt::format("{} ≤ {:.7g} in this box", outputs[j], hi[j]);
        if (target[j] < lo[j]) why = fmt::format("{} ≥ {:.7g} in this box", outputs[j], lo[j]);
      }
      parts.push_back(fmt::format("unreachable (proven: {})", why));
    } else if (reachable == 1) {
      parts.push_back("reachable (verified point)");
    } else {
      parts.push_back("reachability unknown");
    }
    if (n_roots >= 0) parts.push_back(fmt::format("{} root{} (proven)", n_roots, n_roots == 1 ? "" : "s"));
    for (std::size_t j = 0; j < m && !lo.empty(); ++j)
      parts.push_back(fmt::format("{} ∈ [{:.7g}, {:.7g}]", outputs[j], lo[j], hi[j]));
    std::string label;
    for (std::size_t j = 0; target != nullptr && j < m; ++j)
      label += fmt::format("{}{:g}", j ? "," : "", target[j]);
    return fmt::format("{}{} {}: {}", prefix, kind == inverse::ObjectiveKind::range ? "range centre" : "target", label,
                       fmt::join(parts, "; "));
  }
};

}  // namespace

std::vector<BadRow> invalid_done_rows(const h5::File& f, const std::vector<std::uint8_t>& status,
                                      std::size_t max_rows) {
  std::vector<BadRow> bad;
  const h5::Node tasks = f.open_group("tasks");
  const h5::Node cons = f.open_group("constraints");
  const h5::Dataset vectors = h5::Dataset::open(f, "vectors");
  const h5::Dataset outputs = h5::Dataset::open(f, "outputs");
  const h5::Dataset residuals = h5::Dataset::open(f, "residuals");
  const std::vector<std::int32_t> constraint = h5::Dataset::open(tasks, "constraint").read_all<std::int32_t>();
  const std::vector<double> lower = h5::Dataset::open(cons, "lower").read_all<double>();
  const std::vector<double> upper = h5::Dataset::open(cons, "upper").read_all<double>();
  const std::vector<std::uint8_t> mask = h5::Dataset::open(cons, "fixed_mask").read_all<std::uint8_t>();
  const std::vector<double> value = h5::Dataset::open(cons, "fixed_value").read_all<double>();
  const std::vector<std::string> method = h5::Dataset::open(cons, "method").read_strings();
  const hsize_t ns = vectors.dims().at(1), ni = vectors.dims().at(2), no = outputs.dims().at(2);
  const std::size_t nc = method.size();
  // Rows are read in blocks of up to ~16 MiB (one read per dataset per block, not per row:
  // a resume of a million done tasks would otherwise make three million small reads).
  const hsize_t row_bytes = std::max<hsize_t>(1, ns * (ni + no + 1) * sizeof(double));
  const hsize_t block = std::max<hsize_t>(1, (hsize_t{16} << 20) / row_bytes);
  std::vector<double> xs, ys, rs;
  const auto done = static_cast<std::uint8_t>(inverse::Status::done);
  for (std::size_t b0 = 0; b0 < status.size() && bad.size() < max_rows; b0 += block) {
    const std::size_t b1 = std::min<std::size_t>(status.size(), b0 + block);
    // Only the span from the block's first to its last done row is read.
    std::size_t lo_row = b1, hi_row = b0;
    for (std::size_t t = b0; t < b1; ++t)
      if (status[t] == done) {
        lo_row = std::min(lo_row, t);
        hi_row = t + 1;
      }
    if (lo_row >= hi_row) continue;
    const hsize_t n = hi_row - lo_row;
    xs.resize(n * ns * ni);
    ys.resize(n * ns * no);
    rs.resize(n * ns);
    vectors.read_rows(lo_row, n, H5T_NATIVE_DOUBLE, xs.data());
    outputs.read_rows(lo_row, n, H5T_NATIVE_DOUBLE, ys.data());
    residuals.read_rows(lo_row, n, H5T_NATIVE_DOUBLE, rs.data());
    for (std::size_t t = lo_row; t < hi_row && bad.size() < max_rows; ++t) {
      if (status[t] != done) continue;
      const double* x = xs.data() + (t - lo_row) * ns * ni;
      const double* y = ys.data() + (t - lo_row) * ns * no;
      const double* r = rs.data() + (t - lo_row) * ns;
      const auto why = [&]() -> std::string {
        const std::int32_t c = t < constraint.size() ? constraint[t] : -1;
        if (c < 0 || static_cast<std::size_t>(c) >= nc) return fmt::format("constraint index {} out of range", c);
        for (hsize_t k = 0; k < ns * ni; ++k)
          if (!std::isfinite(x[k])) return "a non-finite vector";
        for (hsize_t k = 0; k < ns * no; ++k)
          if (!std::isfinite(y[k])) return "a non-finite output";
        for (hsize_t k = 0; k < ns; ++k)
          if (!std::isfinite(r[k])) return "a non-finite residual";
        const hsize_t off = static_cast<hsize_t>(c) * ni;
        const bool penalty = method[static_cast<std::size_t>(c)] == "penalty";  // may step outside, by design
        for (hsize_t s = 0; s < ns; ++s) {
          for (hsize_t i = 0; i < ni; ++i) {
            const double v = x[s * ni + i], lo = lower[off + i], hi = upper[off + i];
            const double tol =
                1e-9 * std::max({1.0, std::isfinite(lo) ? std::abs(lo) : 0.0, std::isfinite(hi) ? std::abs(hi) : 0.0});
            if (mask[off + i] != 0 && std::abs(v - value[off + i]) > tol)
              return fmt::format("sample {} holds {:g} for feature {}, which is fixed at {:g}", s, v, i,
                                 value[off + i]);
            if (!penalty && mask[off + i] == 0 && (v < lo - tol || v > hi + tol))
              return fmt::format("sample {} holds {:g} for feature {}, outside its bounds [{:g}, {:g}]", s, v, i, lo,
                                 hi);
          }
        }
        return "";
      }();
      if (!why.empty()) bad.push_back({static_cast<std::int64_t>(t), why});
    }
  }
  return bad;
}

std::string task_list(const std::vector<BadRow>& rows, std::size_t total) {
  std::vector<std::string> ids;
  for (std::size_t k = 0; k < rows.size() && k < 10; ++k)
    ids.push_back(std::to_string(rows[k].task));
  const std::size_t more = total - ids.size();
  return fmt::format("task{} {}{}", total == 1 ? "" : "s", fmt::join(ids, ", "),
                     more > 0 ? fmt::format(" and {} more", more) : std::string());
}

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
  // ---- Certificates (absent in files written before they existed) ----
  const bool has_cert = tasks.has("certificate");
  std::vector<std::uint8_t> cert;
  std::vector<double> blo, bhi;
  std::vector<std::int8_t> reach;
  std::vector<std::int32_t> roots;
  if (has_cert) {
    cert = h5::Dataset::open(tasks, "certificate").read_all<std::uint8_t>();
    blo = h5::Dataset::open(tasks, "bound_lo").read_all<double>();
    bhi = h5::Dataset::open(tasks, "bound_hi").read_all<double>();
    reach = h5::Dataset::open(tasks, "reachable").read_all<std::int8_t>();
    roots = h5::Dataset::open(tasks, "n_roots").read_all<std::int32_t>();
  }
  std::vector<CertAcc> acc;
  std::vector<std::size_t> group_task;  // a task of each group (for its kind and target)
  out.n_tasks = static_cast<std::int64_t>(n);
  out.n_samples = static_cast<std::int64_t>(ns);
  out.counts.assign(out.status_names.size(), 0);
  for (std::size_t t = 0; t < n; ++t) {
    if (status[t] < out.counts.size()) {
      ++out.counts[status[t]];
    } else {
      ++out.invalid;
      if (out.invalid_tasks.size() < 10) {
        out.invalid_tasks.push_back(static_cast<std::int64_t>(t));
        out.invalid_values.push_back(status[t]);
      }
    }
  }
  out.bad_rows = invalid_done_rows(f, status);

  // Groups: tasks of the same (target, constraint setting), the same target meaning the same
  // values bit for bit (maximize / minimize: the kind alone), numbered in the order of their
  // first task. Found by sorting task ids by that key: a hash map of a million keys is slower.
  const auto kind_of = [&](std::size_t t) { return static_cast<inverse::ObjectiveKind>(objective[t]); };
  const auto optimum = [&](std::size_t t) {
    return kind_of(t) == inverse::ObjectiveKind::maximize || kind_of(t) == inverse::ObjectiveKind::minimize;
  };
  const auto bits = [&](std::size_t t, std::size_t k) { return std::bit_cast<std::uint64_t>(target[t * n_out + k]); };
  // <0, 0, >0 as the key of task a sorts before, with, after that of task b.
  const auto compare = [&](std::size_t a, std::size_t b) -> int {
    if (constraint[a] != constraint[b]) return constraint[a] < constraint[b] ? -1 : 1;
    const int ka = optimum(a) ? objective[a] : -1, kb = optimum(b) ? objective[b] : -1;
    if (ka != kb) return ka < kb ? -1 : 1;
    if (ka >= 0) return 0;
    for (std::size_t k = 0; k < n_out; ++k)
      if (bits(a, k) != bits(b, k)) return bits(a, k) < bits(b, k) ? -1 : 1;
    return 0;
  };
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const int c = compare(a, b);
    return c != 0 ? c < 0 : a < b;  // within a group, by task id: its first task leads
  });
  std::vector<std::size_t> group_of(n);
  std::vector<std::size_t> firsts;  // the first task of each group, in key order
  for (std::size_t r = 0; r < n; ++r) {
    if (r == 0 || compare(order[r - 1], order[r]) != 0) firsts.push_back(order[r]);
    group_of[order[r]] = firsts.size() - 1;
  }
  std::vector<std::size_t> by_first(firsts.size()), renumber(firsts.size());
  std::iota(by_first.begin(), by_first.end(), std::size_t{0});
  std::sort(by_first.begin(), by_first.end(), [&](std::size_t a, std::size_t b) { return firsts[a] < firsts[b]; });
  for (std::size_t k = 0; k < by_first.size(); ++k) {
    renumber[by_first[k]] = k;
    group_task.push_back(firsts[by_first[k]]);
  }
  for (std::size_t& g : group_of)
    g = renumber[g];
  out.groups.resize(group_task.size());
  acc.resize(group_task.size());
  // Target labels with the fewest significant digits (6 at least) that keep distinct targets
  // apart: a fine target axis would otherwise print several groups under one label.
  const auto label_of = [&](std::size_t t, int digits) {
    std::string label;
    for (std::size_t k = 0; k < n_out; ++k)
      label += fmt::format("{}{:.{}g}", k ? "," : "", target[t * n_out + k], digits);
    return label;
  };
  for (const int digits : {6, 9, 12, 17}) {
    std::vector<std::pair<std::int32_t, std::string>> labels;
    for (std::size_t k = 0; k < group_task.size(); ++k) {
      const std::size_t t = group_task[k];
      out.groups[k].target = optimum(t) ? inverse::to_string(kind_of(t)) : label_of(t, digits);
      if (!optimum(t)) labels.emplace_back(constraint[t], out.groups[k].target);
    }
    std::sort(labels.begin(), labels.end());
    if (std::adjacent_find(labels.begin(), labels.end()) == labels.end()) break;
  }
  for (std::size_t k = 0; k < group_task.size(); ++k) {
    const std::int32_t c = constraint[group_task[k]];
    out.groups[k].constraint =
        c >= 0 && static_cast<std::size_t>(c) < cnames.size() ? cnames[static_cast<std::size_t>(c)] : "?";
  }
  // Best residual per group over its done tasks, the residuals read in blocks of ~16 MiB.
  const auto done = static_cast<std::uint8_t>(inverse::Status::done);
  const hsize_t block = std::max<hsize_t>(1, (hsize_t{16} << 20) / std::max<hsize_t>(1, ns * sizeof(double)));
  std::vector<double> rows;
  for (std::size_t b0 = 0; b0 < n; b0 += block) {
    const std::size_t b1 = std::min<std::size_t>(n, b0 + block);
    bool any_done = false;
    for (std::size_t t = b0; t < b1; ++t) {
      StatusSummary::Group& g = out.groups[group_of[t]];
      ++g.total;
      if (status[t] != done) continue;
      ++g.done;
      any_done = true;
      if (has_cert) acc[group_of[t]].add(cert[t], &blo[t * n_out], &bhi[t * n_out], n_out, reach[t], roots[t]);
    }
    if (!any_done || ns == 0) continue;
    rows.resize((b1 - b0) * ns);
    residuals.read_rows(b0, b1 - b0, H5T_NATIVE_DOUBLE, rows.data());
    for (std::size_t t = b0; t < b1; ++t) {
      if (status[t] != done) continue;
      StatusSummary::Group& g = out.groups[group_of[t]];
      const bool maximize = kind_of(t) == inverse::ObjectiveKind::maximize;
      for (hsize_t k = 0; k < ns; ++k) {
        const double r = rows[(t - b0) * ns + k];
        if (!std::isfinite(r)) continue;
        if (!g.has_best || (maximize ? r > g.best : r < g.best)) g.best = r;
        g.has_best = true;
      }
    }
  }
  std::vector<std::string> outputs = f.attr_strings("output_names");
  outputs.resize(n_out);
  for (std::size_t j = 0; j < n_out; ++j)
    if (outputs[j].empty()) outputs[j] = fmt::format("output {}", j);
  for (std::size_t k = 0; k < out.groups.size(); ++k) {
    const std::size_t t = group_task[k];
    out.groups[k].certificate = acc[k].text(kind_of(t), n_out ? &target[t * n_out] : nullptr, outputs);
  }
  // A few messages of tasks that did not finish well (only their rows are read).
  const h5::Dataset messages = h5::Dataset::open(tasks, "message");
  for (std::size_t t = 0; t < n && out.messages.size() < max_messages; ++t) {
    if (status[t] == done || status[t] == static_cast<std::uint8_t>(inverse::Status::pending)) continue;
    const std::string name =
        status[t] < out.status_names.size() ? out.status_names[status[t]] : fmt::format("status {}", status[t]);
    out.messages.push_back({static_cast<std::int64_t>(t), name, messages.read_strings(t, 1).front()});
  }
  return out;
}

}  // namespace invsweep::results
