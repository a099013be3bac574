#include "invsweep/results/results.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "invsweep/core/errors.hpp"
#include "invsweep/oracle/oracle_io.hpp"
#include "invsweep/solvers/registry.hpp"
#include "invsweep/version.hpp"

namespace invsweep::results {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
using Dims = std::vector<hsize_t>;

std::string utc_now() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(t));
}

/// Rank 0's string on every rank (attributes must hold the same value everywhere).
std::string bcast_string(std::string s, MPI_Comm comm) {
  auto n = static_cast<unsigned long long>(s.size());
  MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, 0, comm);
  s.resize(static_cast<std::size_t>(n));
  MPI_Bcast(s.data(), static_cast<int>(n), MPI_CHAR, 0, comm);
  return s;
}

int rank_of(MPI_Comm comm) {
  int r = 0;
  MPI_Comm_rank(comm, &r);
  return r;
}

template <class T>
h5::Dataset make(const h5::Node& g, std::string_view name, hid_t file_type, Dims dims, T fill) {
  return h5::Dataset::create(g, name, file_type, h5::native<T>(), std::move(dims), &fill);
}

std::size_t string_width(const std::vector<std::string>& v) {
  std::size_t w = 1;
  for (const std::string& s : v)
    w = std::max(w, s.size());
  return w;
}

void write_constraints(const h5::Node& root, const sweep::Sweep& s, Index n_in, bool writer) {
  const h5::Node g = root.create_group("constraints");
  const auto nc = static_cast<hsize_t>(s.n_constraints());
  const auto ni = static_cast<hsize_t>(n_in);
  std::vector<std::string> names, methods;
  std::vector<std::uint8_t> mask;
  std::vector<double> value, lower, upper, c1, c2, penalty;
  for (const inverse::Constraint& c : s.constraints) {
    names.push_back(c.name);
    methods.push_back(inverse::to_string(c.method));
    mask.insert(mask.end(), c.fixed.begin(), c.fixed.end());
    value.insert(value.end(), c.fixed_value.begin(), c.fixed_value.end());
    lower.insert(lower.end(), c.lower.begin(), c.lower.end());
    upper.insert(upper.end(), c.upper.begin(), c.upper.end());
    c1.push_back(c.paper_c1);
    c2.push_back(c.paper_c2);
    penalty.push_back(c.penalty);
  }
  const h5::Dataset dn = h5::Dataset::create_strings(g, "name", {nc}, string_width(names));
  const h5::Dataset dm = h5::Dataset::create_strings(g, "method", {nc}, string_width(methods));
  const h5::Dataset dmask = make<std::uint8_t>(g, "fixed_mask", H5T_STD_U8LE, {nc, ni}, 0);
  const h5::Dataset dv = make(g, "fixed_value", H5T_IEEE_F64LE, {nc, ni}, kNaN);
  const h5::Dataset dlo = make(g, "lower", H5T_IEEE_F64LE, {nc, ni}, kNaN);
  const h5::Dataset dhi = make(g, "upper", H5T_IEEE_F64LE, {nc, ni}, kNaN);
  const h5::Dataset d1 = make(g, "paper_c1", H5T_IEEE_F64LE, {nc}, kNaN);
  const h5::Dataset d2 = make(g, "paper_c2", H5T_IEEE_F64LE, {nc}, kNaN);
  const h5::Dataset dp = make(g, "penalty", H5T_IEEE_F64LE, {nc}, kNaN);
  if (!writer) return;
  dn.write_strings(0, names);
  dm.write_strings(0, methods);
  dmask.write_rows(0, nc, mask.data());
  dv.write_rows(0, nc, value.data());
  dlo.write_rows(0, nc, lower.data());
  dhi.write_rows(0, nc, upper.data());
  d1.write_rows(0, nc, c1.data());
  d2.write_rows(0, nc, c2.data());
  dp.write_rows(0, nc, penalty.data());
}

/// The task table: settings known before the run (written by one rank), and the
/// per-task results filled as tasks finish.
void write_task_table(const h5::Node& root, const sweep::Sweep& s, Index n_out, bool writer) {
  const h5::Node g = root.create_group("tasks");
  const auto nt = static_cast<hsize_t>(s.n_tasks());
  const auto no = static_cast<hsize_t>(n_out);
  const h5::Dataset target = make(g, "target", H5T_IEEE_F64LE, {nt, no}, kNaN);
  const h5::Dataset lo = make(g, "lo", H5T_IEEE_F64LE, {nt, no}, kNaN);
  const h5::Dataset hi = make(g, "hi", H5T_IEEE_F64LE, {nt, no}, kNaN);
  const h5::Dataset objective = make<std::int8_t>(g, "objective", H5T_STD_I8LE, {nt}, -1);
  const h5::Dataset solver = make<std::int8_t>(g, "solver", H5T_STD_I8LE, {nt}, -1);
  const h5::Dataset constraint = make<std::int32_t>(g, "constraint", H5T_STD_I32LE, {nt}, -1);
  const h5::Dataset replicate = make<std::int32_t>(g, "replicate", H5T_STD_I32LE, {nt}, -1);
  const h5::Dataset seed = make<std::uint64_t>(g, "seed", H5T_STD_U64LE, {nt}, 0);
  make<std::uint8_t>(g, "status", H5T_STD_U8LE, {nt}, 0);
  make<std::int32_t>(g, "rank", H5T_STD_I32LE, {nt}, -1);
  make(g, "wall_seconds", H5T_IEEE_F64LE, {nt}, kNaN);
  make<std::int64_t>(g, "steps", H5T_STD_I64LE, {nt}, 0);
  make(g, "final_loss", H5T_IEEE_F64LE, {nt}, kNaN);
  h5::Dataset::create_strings(g, "message", {nt}, kMessageWidth);
  // ---- Certificates ([certify]; docs/FILE_FORMATS.md): 0 / NaN / −1 = not run ----
  make<std::uint8_t>(g, "certificate", H5T_STD_U8LE, {nt}, 0);
  make(g, "bound_lo", H5T_IEEE_F64LE, {nt, no}, kNaN);
  make(g, "bound_hi", H5T_IEEE_F64LE, {nt, no}, kNaN);
  make<std::int8_t>(g, "reachable", H5T_STD_I8LE, {nt}, -1);
  make<std::int32_t>(g, "n_roots", H5T_STD_I32LE, {nt}, -1);
  // ---- end of certificates ----
  // --- Sampling diagnostics (solver `sampler`; NaN for other solvers) ---
  make(g, "acceptance", H5T_IEEE_F64LE, {nt}, kNaN);
  make(g, "ess", H5T_IEEE_F64LE, {nt}, kNaN);
  make(g, "rhat", H5T_IEEE_F64LE, {nt}, kNaN);
  // --- end sampling diagnostics ---
  if (!writer) return;
  // Written in blocks so that huge sweeps need no task-sized buffers beyond one block.
  const Index block = 65536;
  for (Index t0 = 0; t0 < s.n_tasks(); t0 += block) {
    const Index n = std::min(block, s.n_tasks() - t0);
    std::vector<double> tg, l, h;
    std::vector<std::int8_t> ob, so;
    std::vector<std::int32_t> co, re;
    std::vector<std::uint64_t> se;
    for (Index t = t0; t < t0 + n; ++t) {
      const sweep::TaskCoords c = s.coords(t);
      const auto ti = static_cast<std::size_t>(c.target);
      tg.insert(tg.end(), s.targets[ti].begin(), s.targets[ti].end());
      for (Index k = 0; k < n_out; ++k) {
        const bool range = s.kind == inverse::ObjectiveKind::range;
        l.push_back(range ? s.range_lo[ti][k] : kNaN);
        h.push_back(range ? s.range_hi[ti][k] : kNaN);
      }
      ob.push_back(static_cast<std::int8_t>(s.kind));
      so.push_back(static_cast<std::int8_t>(s.solvers[static_cast<std::size_t>(c.solver)]));
      co.push_back(static_cast<std::int32_t>(c.constraint));
      re.push_back(static_cast<std::int32_t>(c.replicate));
      se.push_back(derive_seed({s.seed, static_cast<std::uint64_t>(t)}));
    }
    const auto r0 = static_cast<hsize_t>(t0), rn = static_cast<hsize_t>(n);
    target.write_rows(r0, rn, tg.data());
    lo.write_rows(r0, rn, l.data());
    hi.write_rows(r0, rn, h.data());
    objective.write_rows(r0, rn, ob.data());
    solver.write_rows(r0, rn, so.data());
    constraint.write_rows(r0, rn, co.data());
    replicate.write_rows(r0, rn, re.data());
    seed.write_rows(r0, rn, se.data());
  }
}

[[noreturn]] void mismatch(const std::string& path, const std::string& what) {
  throw ConfigError(fmt::format("{}: cannot resume: {}", path, what));
}

}  // namespace

std::uint64_t estimated_size(const sweep::Sweep& s, const oracle::Oracle& o) {
  // Checked arithmetic: a sweep large enough to wrap 64 bits must be refused, not shown as 0 B.
  bool overflow = false;
  const auto mul = [&](std::uint64_t a, std::uint64_t b) {
    std::uint64_t r = 0;
    overflow = overflow || __builtin_mul_overflow(a, b, &r);
    return r;
  };
  const auto add = [&](std::uint64_t a, std::uint64_t b) {
    std::uint64_t r = 0;
    overflow = overflow || __builtin_add_overflow(a, b, &r);
    return r;
  };
  const auto u = [](Index v) { return static_cast<std::uint64_t>(v); };
  std::uint64_t nt = mul(mul(u(s.n_targets()), u(s.n_constraints())), mul(u(s.n_solvers()), u(s.replicates)));
  const std::uint64_t values =
      add(add(mul(u(s.samples), u(o.n_in() + o.n_out() + 2 + (o.has_input_stats() ? 1 : 0))), u(s.log_points)),
          u(3 * o.n_out()));  // per vector: x, y, residual, violation (, Mahalanobis distance)
  const std::uint64_t per_task =
      add(mul(values, 8), kMessageWidth + 48 + u(2 * o.n_out()) * 8 + 1 + 1 + 4  // certificates
                              + 3 * 8);                                          // /tasks/acceptance, ess, rhat
  const std::uint64_t spread = o.is_ensemble() ? mul(mul(u(s.samples), u(o.n_out())), 8) : 0;  // /spread
  // Plus what every file holds once: the oracle (its parameters, scalers, statistics) and the
  // sweep's text.
  const std::uint64_t once = add(mul(u(o.net.params().size() + 4 * (o.n_in() + o.n_out()) + o.n_in() * o.n_in()), 8),
                                 static_cast<std::uint64_t>(s.text.size()));
  const std::uint64_t bytes = add(mul(nt, add(per_task, spread)), once);
  if (overflow)
    throw ConfigError(
        fmt::format("{}: the results file's size does not fit in 64 bits ({} targets × {} constraint "
                    "settings × {} solvers × {} replicates × {} samples); make the sweep smaller",
                    s.path, s.n_targets(), s.n_constraints(), s.n_solvers(), s.replicates, s.samples));
  return bytes;
}

ResultsFile ResultsFile::create(const std::string& path, MPI_Comm comm, const sweep::Sweep& s, const oracle::Oracle& o,
                                const std::string& hash) {
  const bool writer = rank_of(comm) == 0;
  const std::string created = bcast_string(writer ? utc_now() : std::string(), comm);
  // Built under a temporary name and renamed once complete: a job killed while creating
  // leaves no half-made results file behind (a later run replaces the temporary one).
  const std::string part = part_path(path);
  ResultsFile r;
  r.file_ = h5::File::create(part, true, comm);
  const h5::File& f = r.file_;
  f.set_attr("format", kResultsFormat);
  f.set_attr("format_version", kResultsFormatVersion);
  f.set_attr("invsweep_version", kVersion);
  f.set_attr("sweep_toml", s.text);
  f.set_attr("sweep_path", s.path);
  f.set_attr("sweep_hash", hash);
  f.set_attr("n_tasks", static_cast<std::int64_t>(s.n_tasks()));
  f.set_attr("n_samples", static_cast<std::int64_t>(s.samples));
  f.set_attr("feature_names", o.input_names);
  f.set_attr("output_names", o.output_names);
  f.set_attr("created", created);
  f.set_attr("solver_names", solvers::names());
  f.set_attr("objective_names", inverse::objective_names());
  f.set_attr("status_names", inverse::status_names());
  oracle::write_oracle_group(f, o);
  write_constraints(f, s, o.n_in(), writer);
  write_task_table(f, s, o.n_out(), writer);
  const auto nt = static_cast<hsize_t>(s.n_tasks()), ns = static_cast<hsize_t>(s.samples);
  const auto nl = static_cast<hsize_t>(s.log_points);
  make(f, "vectors", H5T_IEEE_F64LE, {nt, ns, static_cast<hsize_t>(o.n_in())}, kNaN);
  make(f, "outputs", H5T_IEEE_F64LE, {nt, ns, static_cast<hsize_t>(o.n_out())}, kNaN);
  make(f, "residuals", H5T_IEEE_F64LE, {nt, ns}, kNaN);
  make(f, "violations", H5T_IEEE_F64LE, {nt, ns}, kNaN);
  if (o.has_input_stats()) make(f, "mahalanobis", H5T_IEEE_F64LE, {nt, ns}, kNaN);
  make(f, "loss", H5T_IEEE_F64LE, {nt, nl}, kNaN);
  if (o.is_ensemble()) make(f, "spread", H5T_IEEE_F64LE, {nt, ns, static_cast<hsize_t>(o.n_out())}, kNaN);
  {
    const h5::Dataset step = make(f, "loss_step", H5T_IEEE_F64LE, {nl}, kNaN);
    if (writer) {
      std::vector<double> steps(static_cast<std::size_t>(nl));
      for (std::size_t i = 0; i < steps.size(); ++i)
        steps[i] = static_cast<double>(i) * s.log_every;
      step.write_rows(0, nl, steps.data());
    }
  }
  r.file_.close();
  int ok = 1;
  if (writer && std::rename(part.c_str(), path.c_str()) != 0) ok = 0;
  MPI_Bcast(&ok, 1, MPI_INT, 0, comm);
  if (ok == 0) throw IoError(fmt::format("{}: cannot rename {} into place", path, part));
  return open(path, comm);
}

ResultsFile ResultsFile::open(const std::string& path, MPI_Comm comm) {
  ResultsFile r;
  r.file_ = h5::File::open(path, h5::Mode::read_write, comm);
  r.open_datasets();
  return r;
}

void ResultsFile::open_datasets() {
  vectors_ = h5::Dataset::open(file_, "vectors");
  outputs_ = h5::Dataset::open(file_, "outputs");
  residuals_ = h5::Dataset::open(file_, "residuals");
  // Constraint violations and Mahalanobis distances (absent in files written before them;
  // /mahalanobis only when the oracle has input statistics).
  if (file_.has("violations")) violations_ = h5::Dataset::open(file_, "violations");
  if (file_.has("mahalanobis")) mahalanobis_ = h5::Dataset::open(file_, "mahalanobis");
  loss_ = h5::Dataset::open(file_, "loss");
  const h5::Node tasks = file_.open_group("tasks");
  status_ = h5::Dataset::open(tasks, "status");
  rank_ = h5::Dataset::open(tasks, "rank");
  wall_ = h5::Dataset::open(tasks, "wall_seconds");
  steps_ = h5::Dataset::open(tasks, "steps");
  final_loss_ = h5::Dataset::open(tasks, "final_loss");
  message_ = h5::Dataset::open(tasks, "message");
  // ---- Certificates (absent in files written before they existed) ----
  has_certificates_ = tasks.has("certificate");
  if (has_certificates_) {
    certificate_ = h5::Dataset::open(tasks, "certificate");
    bound_lo_ = h5::Dataset::open(tasks, "bound_lo");
    bound_hi_ = h5::Dataset::open(tasks, "bound_hi");
    reachable_ = h5::Dataset::open(tasks, "reachable");
    n_roots_ = h5::Dataset::open(tasks, "n_roots");
  }
  // Sampling diagnostics
  acceptance_ = h5::Dataset::open(tasks, "acceptance");
  ess_ = h5::Dataset::open(tasks, "ess");
  rhat_ = h5::Dataset::open(tasks, "rhat");
  has_spread_ = file_.has("spread");  // ensemble oracles only
  if (has_spread_) spread_ = h5::Dataset::open(file_, "spread");
}

std::vector<std::uint8_t> ResultsFile::check_resumable(const std::string& path, const sweep::Sweep& s,
                                                       const oracle::Oracle& o, const std::string& hash) {
  const h5::File f = h5::File::open(path, h5::Mode::read_only);
  if (!f.has_attr("format") || f.attr_string("format") != kResultsFormat)
    mismatch(path, fmt::format("not an invsweep results file (no format = \"{}\")", kResultsFormat));
  if (f.attr_int("format_version") != kResultsFormatVersion)
    mismatch(path, fmt::format("format_version {} (this program writes {})", f.attr_int("format_version"),
                               kResultsFormatVersion));
  const std::string theirs = f.has_attr("sweep_hash") ? f.attr_string("sweep_hash") : "";
  if (theirs != hash)
    mismatch(path, fmt::format("it was made from a different sweep or oracle (sweep_hash {} in the file, {} for {}); "
                               "write to another --out, or remove the file to start over",
                               theirs, hash, s.path));
  ResultsFile r;
  r.file_ = h5::File::open(path, h5::Mode::read_only);
  r.open_datasets();
  const auto expect = [&](const h5::Dataset& d, Dims dims) {
    if (d.dims() != dims) mismatch(path, fmt::format("{} has the wrong shape", d.path()));
  };
  const auto nt = static_cast<hsize_t>(s.n_tasks()), ns = static_cast<hsize_t>(s.samples);
  expect(r.vectors_, {nt, ns, static_cast<hsize_t>(o.n_in())});
  expect(r.outputs_, {nt, ns, static_cast<hsize_t>(o.n_out())});
  expect(r.residuals_, {nt, ns});
  if (r.violations_.valid()) expect(r.violations_, {nt, ns});
  if (r.mahalanobis_.valid()) expect(r.mahalanobis_, {nt, ns});
  expect(r.loss_, {nt, static_cast<hsize_t>(s.log_points)});
  expect(r.status_, {nt});
  if (o.is_ensemble() != r.has_spread_)
    mismatch(path, o.is_ensemble() ? "the oracle is an ensemble but the file has no /spread" : "the file has /spread");
  if (r.has_spread_) expect(r.spread_, {nt, ns, static_cast<hsize_t>(o.n_out())});
  // ---- Certificates (absent in files written before they existed) ----
  if (r.has_certificates_) {
    const auto no = static_cast<hsize_t>(o.n_out());
    expect(r.certificate_, {nt});
    expect(r.bound_lo_, {nt, no});
    expect(r.bound_hi_, {nt, no});
    expect(r.reachable_, {nt});
    expect(r.n_roots_, {nt});
  }
  std::vector<std::uint8_t> st = r.read_status();
  for (std::uint8_t v : st)
    if (v > static_cast<std::uint8_t>(inverse::Status::failed)) mismatch(path, "/tasks/status holds an unknown value");
  return st;
}

namespace {

/// The values `get(row)` (`n` per task, contiguous) of every task of a batch, back to back.
template <class T, class Get>
std::vector<T> gather(const std::vector<TaskRow>& batch, std::size_t n, Get get) {
  std::vector<T> out;
  out.reserve(batch.size() * n);
  for (const TaskRow& t : batch) {
    const T* v = get(t);
    out.insert(out.end(), v, v + n);
  }
  return out;
}

/// n values from `v` when it holds exactly n, else n NaN ("none").
std::vector<double> or_nan(const VectorD& v, std::size_t n) {
  std::vector<double> out(n, kNaN);
  if (static_cast<std::size_t>(v.size()) == n) std::copy(v.begin(), v.end(), out.begin());
  return out;
}

}  // namespace

void ResultsFile::write_tasks(std::vector<TaskRow>& batch) const {
  if (batch.empty()) return;
  std::sort(batch.begin(), batch.end(), [](const TaskRow& a, const TaskRow& b) { return a.id < b.id; });
  const auto ns = vectors_.dims()[1], ni = vectors_.dims()[2], no = outputs_.dims()[2], nl = loss_.dims()[1];
  std::vector<hsize_t> rows;
  for (const TaskRow& t : batch) {
    const inverse::TaskResult& r = t.result;
    // Shapes are the solver's promise; a mismatch here is a bug, not bad input.
    if (static_cast<hsize_t>(r.vectors.size()) != ns * ni || static_cast<hsize_t>(r.outputs.size()) != ns * no ||
        static_cast<hsize_t>(r.residuals.size()) != ns || static_cast<hsize_t>(r.loss.size()) != nl)
      throw std::logic_error(fmt::format("task {}: result shapes do not match the results file", t.id));
    if (!rows.empty() && static_cast<hsize_t>(t.id) == rows.back())
      throw std::logic_error(fmt::format("task {} twice in one batch", t.id));
    rows.push_back(static_cast<hsize_t>(t.id));
  }
  // A result's vectors are [n_in, ns] column-major = [ns, n_in] row-major, a row of /vectors.
  vectors_.write_row_set(
      rows, gather<double>(batch, ns * ni, [](const TaskRow& t) { return t.result.vectors.data(); }).data());
  outputs_.write_row_set(
      rows, gather<double>(batch, ns * no, [](const TaskRow& t) { return t.result.outputs.data(); }).data());
  residuals_.write_row_set(
      rows, gather<double>(batch, ns, [](const TaskRow& t) { return t.result.residuals.data(); }).data());
  loss_.write_row_set(rows, gather<double>(batch, nl, [](const TaskRow& t) { return t.result.loss.data(); }).data());
  // Per vector, where the file has them: violations, Mahalanobis distances (NaN when a result has none).
  const auto per_vector = [&](const h5::Dataset& d, const VectorD inverse::TaskResult::*field) {
    if (!d.valid()) return;
    std::vector<double> all;
    all.reserve(batch.size() * ns);
    for (const TaskRow& t : batch) {
      const std::vector<double> v = or_nan(t.result.*field, ns);
      all.insert(all.end(), v.begin(), v.end());
    }
    d.write_row_set(rows, all.data());
  };
  per_vector(violations_, &inverse::TaskResult::violations);
  per_vector(mahalanobis_, &inverse::TaskResult::mahalanobis);
  std::vector<std::int32_t> rank;
  std::vector<double> wall, final_loss, acceptance, ess, rhat, blo, bhi;
  std::vector<std::int64_t> steps;
  std::vector<std::string> message;
  std::vector<std::uint8_t> certificate, status;
  std::vector<std::int8_t> reachable;
  std::vector<std::int32_t> n_roots;
  for (const TaskRow& t : batch) {
    const inverse::TaskResult& r = t.result;
    rank.push_back(static_cast<std::int32_t>(t.rank));
    wall.push_back(r.wall_seconds);
    steps.push_back(r.steps);
    final_loss.push_back(r.final_loss);
    message.push_back(r.message);
    certificate.push_back(r.certificate);
    const std::vector<double> lo = or_nan(r.bound_lo, no), hi = or_nan(r.bound_hi, no);  // empty bounds: none
    blo.insert(blo.end(), lo.begin(), lo.end());
    bhi.insert(bhi.end(), hi.begin(), hi.end());
    reachable.push_back(r.reachable);
    n_roots.push_back(r.n_roots);
    acceptance.push_back(r.acceptance);
    ess.push_back(r.ess);
    rhat.push_back(r.rhat);
    status.push_back(static_cast<std::uint8_t>(r.status));
  }
  rank_.write_row_set(rows, rank.data());
  wall_.write_row_set(rows, wall.data());
  steps_.write_row_set(rows, steps.data());
  final_loss_.write_row_set(rows, final_loss.data());
  message_.write_strings_at(rows, message);
  // ---- Certificates ----
  if (has_certificates_) {
    certificate_.write_row_set(rows, certificate.data());
    bound_lo_.write_row_set(rows, blo.data());
    bound_hi_.write_row_set(rows, bhi.data());
    reachable_.write_row_set(rows, reachable.data());
    n_roots_.write_row_set(rows, n_roots.data());
  }
  if (has_spread_) {  // ensemble oracles: [n_out, ns] column-major = a [ns, n_out] row; none: NaN
    std::vector<double> all;
    all.reserve(batch.size() * ns * no);
    for (const TaskRow& t : batch) {
      if (t.result.spread.size() != 0 && static_cast<hsize_t>(t.result.spread.size()) != ns * no)
        throw std::logic_error(fmt::format("task {}: spread shape does not match the results file", t.id));
      const double* v = t.result.spread.data();
      if (t.result.spread.size() == 0)
        all.insert(all.end(), ns * no, kNaN);
      else
        all.insert(all.end(), v, v + ns * no);
    }
    spread_.write_row_set(rows, all.data());
  }
  // Sampling diagnostics (NaN unless the solver is `sampler`)
  acceptance_.write_row_set(rows, acceptance.data());
  ess_.write_row_set(rows, ess.data());
  rhat_.write_row_set(rows, rhat.data());
  // Last: a row is done only once everything above is written.
  status_.write_row_set(rows, status.data());
}

std::vector<std::uint8_t> ResultsFile::read_status() const {
  return status_.read_all<std::uint8_t>();
}

void ResultsFile::flush() {
  file_.flush();
}

void ResultsFile::close() {
  vectors_ = {};
  outputs_ = {};
  residuals_ = {};
  violations_ = {};
  mahalanobis_ = {};
  loss_ = {};
  status_ = {};
  rank_ = {};
  wall_ = {};
  steps_ = {};
  final_loss_ = {};
  message_ = {};
  has_certificates_ = false;
  certificate_ = {};
  bound_lo_ = {};
  bound_hi_ = {};
  reachable_ = {};
  n_roots_ = {};
  acceptance_ = {};  // sampling diagnostics
  ess_ = {};
  rhat_ = {};
  has_spread_ = false;
  spread_ = {};
  file_.close();
}

}  // namespace invsweep::results
