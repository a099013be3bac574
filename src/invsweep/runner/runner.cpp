#include "invsweep/runner/runner.hpp"

#include <fmt/format.h>
#include <mpi.h>

#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <thread>

#include "invsweep/core/errors.hpp"
#include "invsweep/core/io.hpp"
#include "invsweep/core/strings.hpp"
#include "invsweep/inverse/amortized.hpp"
#include "invsweep/inverse/solve.hpp"
#include "invsweep/oracle/oracle_io.hpp"
#include "invsweep/runner/progress.hpp"
#include "invsweep/store/results.hpp"
#include "invsweep/sweep/sweep.hpp"

namespace invsweep::runner {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

volatile std::sig_atomic_t g_stop_signal = 0;   // SIGTERM / SIGINT: stop now
volatile std::sig_atomic_t g_drain_signal = 0;  // SIGUSR1: finish the tasks in flight, take no more

extern "C" void on_stop_signal(int sig) { g_stop_signal = sig; }
extern "C" void on_drain_signal(int sig) { g_drain_signal = sig; }

// Slots of the shared window on rank 0.
enum Slot : int { kNext = 0, kDone = 1, kDiverged = 2, kFailed = 3, kStop = 4, kSlots = 5 };
// Bits of the kStop slot, set by whichever rank received the signal.
constexpr std::int64_t kStopNow = 1, kDrain = 2;

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

void bcast_bytes(std::string& s, int root = 0) {
  auto n = static_cast<unsigned long long>(s.size());
  MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, root, MPI_COMM_WORLD);
  s.resize(static_cast<std::size_t>(n));
  // MPI counts are int: send in chunks so that any size works.
  constexpr std::size_t chunk = 1 << 30;
  for (std::size_t off = 0; off < s.size(); off += chunk)
    MPI_Bcast(s.data() + off, static_cast<int>(std::min(chunk, s.size() - off)), MPI_CHAR, root, MPI_COMM_WORLD);
}

/// Fault injection for the reliability tests: INVSWEEP_FAULT_WRITE_TASK=<id> makes the write of
/// that task fail like an I/O error, on whichever rank ran it (-1: no fault).
std::int64_t fault_write_task_from_env() {
  const char* v = std::getenv("INVSWEEP_FAULT_WRITE_TASK");
  if (v == nullptr || *v == '\0') return -1;
  char* end = nullptr;
  const long long id = std::strtoll(v, &end, 10);
  return *end == '\0' && id >= 0 ? static_cast<std::int64_t>(id) : -1;
}

/// What rank 0 prepares and every rank receives.
struct Setup {
  std::string sweep_path, sweep_text, oracle_path, oracle_bytes, out;
  bool resume_existing = false;
  std::vector<std::uint8_t> status;  // for a resumed file
};

/// Rank 0: everything that can be wrong with the user's input, checked before any output.
Setup prepare(const RunOptions& opt) {
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
  const std::uint64_t bytes = store::estimated_size(sw, o);
  if (bytes > opt.max_bytes && !opt.force)
    throw ConfigError(fmt::format("{}: the results file would take about {} ({} tasks × {} samples), more than the "
                                  "limit of {}; run with --force if that is intended",
                                  opt.sweep, human_bytes(static_cast<double>(bytes)), sw.n_tasks(), sw.samples,
                                  human_bytes(static_cast<double>(opt.max_bytes))));
  std::error_code ec;
  if (opt.resume && fs::exists(s.out, ec)) {
    check_output_path(s.out, true, "results file");
    if (::access(s.out.c_str(), W_OK) != 0)
      throw IoError(fmt::format("results file {}: not writable", s.out));
    s.status = store::ResultsFile::check_resumable(s.out, sw, o, sw.hash(o));
    s.resume_existing = true;
  } else {
    check_output_path(s.out, true, "results file");  // directory present and writable, not a directory itself
    if (fs::exists(s.out, ec))
      throw IoError(fmt::format("results file {}: exists; run with --resume to continue it, or remove it / choose "
                                "another --out to start over", s.out));
    // The file takes its full size when it is created: refuse now rather than fail then.
    const std::uint64_t free = free_bytes(s.out);
    if (free < bytes)
      throw IoError(fmt::format("results file {}: needs about {}, but the file system holding it has {} free",
                                s.out, human_bytes(static_cast<double>(bytes)), human_bytes(static_cast<double>(free))));
  }
  create_parent_dirs(s.out, "results file");  // every check has passed: only now make its folder
  return s;
}

/// The shared counters on rank 0 (MPI-3 passive-target one-sided operations).
class Shared {
 public:
  Shared() {
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    const MPI_Aint size = rank == 0 ? kSlots * static_cast<MPI_Aint>(sizeof(std::int64_t)) : 0;
    MPI_Win_allocate(size, sizeof(std::int64_t), MPI_INFO_NULL, MPI_COMM_WORLD, &base_, &win_);
    if (rank == 0)
      for (int i = 0; i < kSlots; ++i) base_[i] = 0;
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Win_lock_all(MPI_MODE_NOCHECK, win_);
  }
  ~Shared() {
    MPI_Win_unlock_all(win_);
    MPI_Win_free(&win_);
  }
  Shared(const Shared&) = delete;
  Shared& operator=(const Shared&) = delete;

  std::int64_t add(Slot slot, std::int64_t v) {
    std::int64_t old = 0;
    MPI_Fetch_and_op(&v, &old, MPI_INT64_T, 0, slot, MPI_SUM, win_);
    MPI_Win_flush(0, win_);
    return old;
  }
  void set_bits(Slot slot, std::int64_t bits) {
    std::int64_t old = 0;
    MPI_Fetch_and_op(&bits, &old, MPI_INT64_T, 0, slot, MPI_BOR, win_);
    MPI_Win_flush(0, win_);
  }
  std::int64_t get(Slot slot) {
    std::int64_t v = 0, dummy = 0;
    MPI_Fetch_and_op(&dummy, &v, MPI_INT64_T, 0, slot, MPI_NO_OP, win_);
    MPI_Win_flush(0, win_);
    return v;
  }
  Counts counts() { return {get(kDone), get(kDiverged), get(kFailed)}; }

 private:
  std::int64_t* base_ = nullptr;
  MPI_Win win_ = MPI_WIN_NULL;
};

}  // namespace

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  struct sigaction drain {};
  drain.sa_handler = on_drain_signal;
  sigemptyset(&drain.sa_mask);
  sigaction(SIGUSR1, &drain, nullptr);
}

int run_sweep(const RunOptions& opt) {
  int rank = 0, n_ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &n_ranks);

  // 1. Rank 0 validates the input; the verdict is shared so that every rank stops together.
  Setup setup;
  std::string error;
  if (rank == 0) {
    try {
      setup = prepare(opt);
    } catch (const UserError& e) {
      error = e.what();
    }
  }
  bcast_bytes(error);
  if (!error.empty()) {
    if (rank == 0) throw ConfigError(error);
    return 2;
  }
  bcast_bytes(setup.sweep_path);
  bcast_bytes(setup.sweep_text);
  bcast_bytes(setup.oracle_path);
  bcast_bytes(setup.oracle_bytes);
  bcast_bytes(setup.out);
  int resume = setup.resume_existing ? 1 : 0;
  MPI_Bcast(&resume, 1, MPI_INT, 0, MPI_COMM_WORLD);

  // Every rank validates what it received; a failure here is not the user's doing.
  oracle::Oracle orc;
  sweep::Sweep sw;
  try {
    orc = oracle::load_oracle_image(std::as_bytes(std::span(setup.oracle_bytes)), setup.oracle_path);
    sw = sweep::parse_sweep(setup.sweep_path, setup.sweep_text, orc);
  } catch (const std::exception& e) {
    fatal(rank, fmt::format("the broadcast sweep or oracle does not validate: {}", e.what()), 3);
  }
  const std::string hash = sw.hash(orc);
  const nn::Mlp<float> net = orc.net.cast<float>();

  // The pending tasks, in id order.
  std::vector<std::uint8_t> status(static_cast<std::size_t>(sw.n_tasks()), 0);
  if (resume != 0) {
    if (rank == 0) status = setup.status;
    MPI_Bcast(status.data(), static_cast<int>(status.size()), MPI_UINT8_T, 0, MPI_COMM_WORLD);
  }
  std::vector<std::int64_t> pending;
  for (std::size_t t = 0; t < status.size(); ++t)
    if (status[t] != static_cast<std::uint8_t>(inverse::Status::done)) pending.push_back(static_cast<std::int64_t>(t));
  std::vector<std::uint8_t>().swap(status);

  // 2. The results file, created (or reopened) by every rank together.
  store::ResultsFile file;
  try {
    file = resume != 0 ? store::ResultsFile::open(setup.out, MPI_COMM_WORLD)
                       : store::ResultsFile::create(setup.out, MPI_COMM_WORLD, sw, orc, hash);
  } catch (const std::exception& e) {
    if (rank == 0 && resume == 0) {
      std::error_code ec;
      fs::remove(setup.out + ".part", ec);  // no partial output
    }
    fatal(rank, e.what() + disk_hint(setup.out), 2);
  }
  if (rank == 0 && !opt.quiet) {
    fmt::print(stderr, "invsweep: {} tasks ({} to run) × {} samples on {} rank{} → {}{}\n", sw.n_tasks(),
               pending.size(), sw.samples, n_ranks, n_ranks == 1 ? "" : "s", setup.out,
               resume != 0 ? " (resumed)" : "");
    std::fflush(stderr);
  }

  const std::int64_t fault_write_task = fault_write_task_from_env();

  // 3–4. Take tasks until none remain.
  int exit_code = 0;
  enum Timing : int { kSolve, kWrite, kSchedule, kWall, kTasks, kTimings };
  std::array<double, kTimings> timing{};
  const Clock::time_point t_start = Clock::now();
  const auto seconds_since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
  {
    Shared shared;
    Progress progress(static_cast<std::int64_t>(pending.size()), sw.n_tasks(), opt.quiet || rank != 0,
                      opt.progress_seconds);
    std::map<std::pair<Index, Index>, std::unique_ptr<inverse::AmortizedModel>> amortized;
    bool stopping = false, draining = false;
    std::int64_t posted = 0;  // the signal bits this rank has set
    const auto post_signals = [&] {
      const std::int64_t bits = (g_stop_signal != 0 ? kStopNow : 0) | (g_drain_signal != 0 ? kDrain : 0);
      if ((bits & ~posted) != 0) shared.set_bits(kStop, bits);
      posted |= bits;
    };
    Clock::time_point last_check = Clock::now();
    const auto heartbeat = [&] {
      const Clock::time_point now = Clock::now();
      if (std::chrono::duration<double>(now - last_check).count() < 0.2 && g_stop_signal == 0 && g_drain_signal == 0)
        return;
      last_check = now;
      post_signals();
      const std::int64_t flags = shared.get(kStop);
      draining = draining || (flags & kDrain) != 0;
      if ((flags & kStopNow) != 0) {
        stopping = true;
        throw inverse::Interrupted{};
      }
      if (rank == 0) progress.update(shared.counts());
    };
    while (!stopping && !draining) {
      try {
        heartbeat();
      } catch (const inverse::Interrupted&) {
        break;
      }
      if (draining) break;
      const Clock::time_point t_sched = Clock::now();
      const std::int64_t k = shared.add(kNext, 1);
      timing[kSchedule] += seconds_since(t_sched);
      if (k >= static_cast<std::int64_t>(pending.size())) break;
      const std::int64_t id = pending[static_cast<std::size_t>(k)];
      inverse::TaskSpec spec = sw.task(id);
      spec.heartbeat = heartbeat;
      inverse::TaskResult r;
      const Clock::time_point t_task = Clock::now();
      try {
        if (spec.solver == inverse::SolverKind::amortized) {
          const sweep::TaskCoords c = sw.coords(id);
          std::unique_ptr<inverse::AmortizedModel>& model = amortized[{c.constraint, c.replicate}];
          const bool fresh = model == nullptr;
          if (fresh) {
            inverse::TaskSpec train = spec;
            train.seed = sw.amortized_seed(c.constraint, c.replicate);
            model = std::make_unique<inverse::AmortizedModel>(inverse::AmortizedModel::train(orc, net, train));
          }
          r = inverse::solve_amortized(orc, net, spec, *model, fresh);
        } else {
          r = inverse::solve(orc, net, spec);
        }
      } catch (const inverse::Interrupted&) {
        break;  // abandoned: the task stays pending
      } catch (const std::exception& e) {
        r = inverse::TaskResult{};
        r.status = inverse::Status::failed;
        r.message = fmt::format("task {} failed: {}", id, e.what());
        r.vectors = MatrixD::Constant(orc.n_in(), sw.samples, std::numeric_limits<double>::quiet_NaN());
        r.outputs = MatrixD::Constant(orc.n_out(), sw.samples, std::numeric_limits<double>::quiet_NaN());
        r.residuals = VectorD::Constant(sw.samples, std::numeric_limits<double>::quiet_NaN());
        r.loss = VectorD::Constant(sw.log_points, std::numeric_limits<double>::quiet_NaN());
      }
      timing[kSolve] += seconds_since(t_task);
      const Clock::time_point t_write = Clock::now();
      try {
        if (id == fault_write_task) throw IoError("injected write failure (INVSWEEP_FAULT_WRITE_TASK)");
        file.write_task(id, r, rank);
      } catch (const std::exception& e) {
        fatal(rank, fmt::format("writing task {} to {}: {}{}", id, setup.out, e.what(), disk_hint(setup.out)), 2);
      }
      const Slot slot = r.status == inverse::Status::done       ? kDone
                        : r.status == inverse::Status::diverged ? kDiverged
                                                                : kFailed;
      timing[kWrite] += seconds_since(t_write);
      shared.add(slot, 1);
      ++timing[kTasks];
    }
    timing[kWall] = seconds_since(t_start);
    // Rank 0 keeps reporting while the others finish their last tasks.
    MPI_Request barrier = MPI_REQUEST_NULL;
    MPI_Ibarrier(MPI_COMM_WORLD, &barrier);
    for (int done = 0; done == 0;) {
      MPI_Test(&barrier, &done, MPI_STATUS_IGNORE);
      if (done == 0) {
        post_signals();
        if (rank == 0) progress.update(shared.counts());
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    std::array<double, kTimings> sum{};
    MPI_Reduce(timing.data(), sum.data(), kTimings, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    const Counts total = shared.counts();
    const std::int64_t flags = shared.get(kStop);
    const std::int64_t left = static_cast<std::int64_t>(pending.size()) - total.finished();
    const bool stopped = flags != 0 && left > 0;  // a signal that came after the last task changes nothing
    if (rank == 0) {
      progress.finish(total);
      if (!opt.quiet && sum[kTasks] > 0) {
        // Shares of the ranks' summed time until their last task: what the tasks cost and
        // what the machinery around them does.
        const double wall = std::max(sum[kWall], 1e-12);
        fmt::print(stderr,
                   "invsweep: {:.0f} tasks in {:.2f} s: solving {:.1f} %, writing HDF5 {:.2f} %, scheduling {:.2f} % of "
                   "rank time; {:.3g} ms per task outside solving\n",
                   sum[kTasks], progress.elapsed(), 100 * sum[kSolve] / wall, 100 * sum[kWrite] / wall,
                   100 * sum[kSchedule] / wall, 1e3 * (sum[kWall] - sum[kSolve]) / sum[kTasks]);
      }
      if (stopped)
        fmt::print(stderr, "invsweep: {}; {} task{} left pending in {} — run again with --resume\n",
                   (flags & kStopNow) != 0 ? "stopped by a signal" : "stopped taking tasks (SIGUSR1)", left,
                   left == 1 ? "" : "s", setup.out);
      if (total.diverged + total.failed > 0)
        fmt::print(stderr, "invsweep: {} task{} diverged, {} failed (see /tasks/message, or `invsweep status {}`)\n",
                   total.diverged, total.diverged == 1 ? "" : "s", total.failed, setup.out);
    }
    exit_code = stopped ? 143 : (total.diverged + total.failed > 0 ? 1 : 0);
    MPI_Barrier(MPI_COMM_WORLD);
  }
  try {
    file.close();
  } catch (const std::exception& e) {
    fatal(rank, fmt::format("closing {}: {}{}", setup.out, e.what(), disk_hint(setup.out)), 2);
  }
  return exit_code;
}

}  // namespace invsweep::runner
