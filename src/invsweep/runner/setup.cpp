#include "invsweep/runner/setup.hpp"

#include <fmt/format.h>
#include <mpi.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <span>

#include "invsweep/core/errors.hpp"
#include "invsweep/core/io.hpp"
#include "invsweep/core/lock.hpp"
#include "invsweep/core/strings.hpp"
#include "invsweep/h5/h5.hpp"
#include "invsweep/oracle/oracle_io.hpp"
#include "invsweep/results/reader.hpp"
#include "invsweep/results/results.hpp"
#include "invsweep/runner/memory.hpp"

namespace invsweep::runner {

namespace fs = std::filesystem;

/// " (... full?)" when the file system holding `path` has (almost) no space left: the likely
/// cause of a failed write, which HDF5's own message does not say.
std::string disk_hint(const std::string& path) {
  const std::uint64_t free = free_bytes(path);
  if (free >= (1U << 20)) return "";
  return fmt::format(" — the file system holding it has {} free: is the disk full?",
                     human_bytes(static_cast<double>(free)));
}

[[noreturn]] void fatal(int rank, const std::string& what, int code) {
  fmt::print(stderr, "invsweep: fatal error on rank {}: {}\n", rank, what);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, code);
  std::abort();  // not reached
}

void bcast_bytes(std::string& s, int root) {
  auto n = static_cast<unsigned long long>(s.size());
  MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, root, MPI_COMM_WORLD);
  s.resize(static_cast<std::size_t>(n));
  // MPI counts are int: send in chunks so that any size works.
  constexpr std::size_t chunk = 1 << 30;
  for (std::size_t off = 0; off < s.size(); off += chunk)
    MPI_Bcast(s.data() + off, static_cast<int>(std::min(chunk, s.size() - off)), MPI_CHAR, root, MPI_COMM_WORLD);
}

OutputVerdict check_results_output(const std::string& out, bool resume, const std::string& sweep_path,
                                   const std::string& oracle_path, const sweep::Sweep& sw, const oracle::Oracle& o,
                                   std::uint64_t bytes, bool validate_rows) {
  check_output_path(out, true, "results file");  // a usable name, its directory writable, not a directory
  check_not_an_input(out, "results file", {{sweep_path, "sweep file"}, {oracle_path, "oracle file"}});
  OutputVerdict v;
  std::error_code ec;
  if (resume && fs::exists(out, ec)) {
    if (::access(out.c_str(), W_OK) != 0) throw IoError(fmt::format("results file {}: not writable", out));
    v.status = results::ResultsFile::check_resumable(out, sw, o, sw.hash(o));
    v.resume_existing = true;
    if (!validate_rows) return v;
    // Done rows that cannot be results run again: they are not trusted.
    v.bad_rows = results::invalid_done_rows(h5::File::open(out, h5::Mode::read_only), v.status);
    for (const results::BadRow& b : v.bad_rows)
      v.status[static_cast<std::size_t>(b.task)] = static_cast<std::uint8_t>(inverse::Status::pending);
    return v;
  }
  if (fs::exists(out, ec))
    throw IoError(
        fmt::format("results file {}: exists; run with --resume to continue it, or remove it / choose "
                    "another --out to start over",
                    out));
  // The file takes its full size when it is created: refuse now rather than fail then.
  const std::uint64_t free = free_bytes(out);
  if (free < bytes)
    throw IoError(fmt::format("results file {}: needs about {}, but the file system holding it has {} free", out,
                              human_bytes(static_cast<double>(bytes)), human_bytes(static_cast<double>(free))));
  return v;
}

/// Rank 0: everything that can be wrong with the user's input, checked before any output.
Setup prepare(const RunOptions& opt, int ranks_per_node) {
  Setup s;
  s.sweep_path = opt.sweep;
  s.sweep_text = sweep::read_text_file(opt.sweep, "sweep file");
  s.oracle_path = sweep::peek_oracle_path(opt.sweep, s.sweep_text);
  const oracle::Oracle o = oracle::load_oracle(s.oracle_path);
  s.oracle_bytes = sweep::read_text_file(s.oracle_path, "oracle file");
  const sweep::Sweep sw = sweep::parse_sweep(opt.sweep, s.sweep_text, o);
  s.out = !opt.out.empty() ? opt.out : sw.output_path;
  if (s.out.empty())
    throw ConfigError(fmt::format("{}: no results file: set 'output' in the sweep file or give --out", opt.sweep));
  const std::uint64_t bytes = results::estimated_size(sw, o);
  if (bytes > opt.max_bytes && !opt.force)
    throw ConfigError(
        fmt::format("{}: the results file would take about {} ({} tasks × {} samples), more than the "
                    "limit of {}; run with --force if that is intended",
                    opt.sweep, human_bytes(static_cast<double>(bytes)), sw.n_tasks(), sw.samples,
                    human_bytes(static_cast<double>(opt.max_bytes))));
  check_memory(sw, o, opt.sweep, ranks_per_node);
  try {
    // The done rows are read once, under the lock below.
    check_results_output(s.out, opt.resume, s.sweep_path, s.oracle_path, sw, o, bytes, false);
  } catch (const UserError&) {
    // When another run is writing the file, it is the reason (the file exists, or is
    // half-made): name it. Otherwise the check's own message stands.
    std::error_code ec;
    if (fs::is_directory(parent_dir(s.out), ec) && fs::exists(lock_path(s.out), ec))
      (void)WriterLock::acquire(s.out);  // throws naming the holder; else released at once
    throw;
  }
  create_parent_dirs(s.out, "results file");  // every check has passed: only now make its folder
  // One writer per file: under the lock, look again (another run may have created or
  // finished the file meanwhile); the lock is held until the run has closed the file.
  s.lock = std::make_shared<WriterLock>(WriterLock::acquire(s.out));
  const OutputVerdict v = check_results_output(s.out, opt.resume, s.sweep_path, s.oracle_path, sw, o, bytes);
  s.resume_existing = v.resume_existing;
  s.status = v.status;
  if (!v.bad_rows.empty())
    fmt::print(stderr, "invsweep: warning: {}: {} row{} marked done fail validation ({}: {}); they run again\n", s.out,
               v.bad_rows.size(), v.bad_rows.size() == 1 ? "" : "s", results::task_list(v.bad_rows, v.bad_rows.size()),
               v.bad_rows.front().why);
  for (const std::string& w : sweep::extrapolation_warnings(sw, o))
    fmt::print(stderr, "invsweep: warning: {}: {}\n", opt.sweep, w);
  return s;
}

std::optional<Prepared> prepare_all(const RunOptions& opt) {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  // The ranks sharing rank 0's node share its memory.
  MPI_Comm node = MPI_COMM_NULL;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  int on_node = 1;
  MPI_Comm_size(node, &on_node);
  MPI_Comm_free(&node);
  Prepared p;
  std::string error;
  if (rank == 0) {
    try {
      p.setup = prepare(opt, on_node);
    } catch (const UserError& e) {
      error = e.what();
    }
  }
  bcast_bytes(error);
  if (!error.empty()) {
    if (rank == 0) throw ConfigError(error);
    return std::nullopt;
  }
  Setup& setup = p.setup;
  bcast_bytes(setup.sweep_path);
  bcast_bytes(setup.sweep_text);
  bcast_bytes(setup.oracle_path);
  bcast_bytes(setup.oracle_bytes);
  bcast_bytes(setup.out);
  int resume = setup.resume_existing ? 1 : 0;
  MPI_Bcast(&resume, 1, MPI_INT, 0, MPI_COMM_WORLD);
  setup.resume_existing = resume != 0;

  // Every rank validates what it received; a failure here is not the user's doing.
  try {
    p.oracle = oracle::load_oracle_image(std::as_bytes(std::span(setup.oracle_bytes)), setup.oracle_path);
    p.sweep = sweep::parse_sweep(setup.sweep_path, setup.sweep_text, p.oracle);
  } catch (const std::exception& e) {
    fatal(rank, fmt::format("the broadcast sweep or oracle does not validate: {}", e.what()), 3);
  }
  p.hash = p.sweep.hash(p.oracle);

  // The pending tasks, in id order.
  std::vector<std::uint8_t> status(static_cast<std::size_t>(p.sweep.n_tasks()), 0);
  if (setup.resume_existing) {
    if (rank == 0) status = setup.status;
    MPI_Bcast(status.data(), static_cast<int>(status.size()), MPI_UINT8_T, 0, MPI_COMM_WORLD);
  }
  for (std::size_t t = 0; t < status.size(); ++t)
    if (status[t] != static_cast<std::uint8_t>(inverse::Status::done))
      p.pending.push_back(static_cast<std::int64_t>(t));
  return p;
}

}  // namespace invsweep::runner
