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
#include <memory>
#include <new>
#include <thread>

#include "invsweep/core/errors.hpp"
#include "invsweep/core/io.hpp"
#include "invsweep/core/strings.hpp"
#include "invsweep/oracle/ensemble.hpp"
#include "invsweep/oracle/oracle_io.hpp"
#include "invsweep/results/results.hpp"
#include "invsweep/runner/progress.hpp"
#include "invsweep/runner/setup.hpp"
#include "invsweep/runner/shared.hpp"
#include "invsweep/solvers/registry.hpp"
#include "invsweep/sweep/sweep.hpp"

namespace invsweep::runner {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

volatile std::sig_atomic_t g_stop_signal = 0;   // SIGTERM / SIGINT: stop now
volatile std::sig_atomic_t g_drain_signal = 0;  // SIGUSR1: finish the tasks in flight, take no more

extern "C" void on_stop_signal(int sig) {
  g_stop_signal = sig;
}
extern "C" void on_drain_signal(int sig) {
  g_drain_signal = sig;
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

}  // namespace

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  // OpenMPI's mpirun ends the job itself on SIGTERM/SIGINT (exit 1) but forwards SIGUSR2 to
  // the ranks: "stop now" through mpirun, so that the ranks' 143 is the job's exit code.
  sigaction(SIGUSR2, &sa, nullptr);
  struct sigaction drain {};
  drain.sa_handler = on_drain_signal;
  sigemptyset(&drain.sa_mask);
  sigaction(SIGUSR1, &drain, nullptr);
}

namespace {

enum Timing : int { kSolve, kWrite, kSchedule, kWall, kTasks, kTimings };
using Timings = std::array<double, kTimings>;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

/// COLLECTIVE: the results file, created (or reopened) by every rank together.
results::ResultsFile open_results(const Prepared& p, int rank) {
  const bool resume = p.setup.resume_existing;
  try {
    return resume ? results::ResultsFile::open(p.setup.out, MPI_COMM_WORLD)
                  : results::ResultsFile::create(p.setup.out, MPI_COMM_WORLD, p.sweep, p.oracle, p.hash);
  } catch (const std::exception& e) {
    if (rank == 0 && !resume) {
      std::error_code ec;
      fs::remove(results::part_path(p.setup.out), ec);  // no partial output
    }
    fatal(rank, e.what() + disk_hint(p.setup.out), 2);
  }
}

/// One rank's part of the run: take the next pending task from the shared counter, run it
/// with its solver, write its rows (status last), until none remain or a signal stops it.
class Worker {
 public:
  Worker(const Prepared& p, results::ResultsFile& file, SharedCounters& shared, Progress& progress, int rank)
      : p_(p),
        file_(file),
        shared_(shared),
        progress_(progress),
        rank_(rank),
        net_(p.oracle.net.cast<float>()),
        fault_write_task_(fault_write_task_from_env()) {
    for (const solvers::Solver* solver : solvers::all())
      states_.push_back(solver->make_state());
  }

  void run() {
    const Clock::time_point t_start = Clock::now();
    while (!stopping_ && !draining_) {
      try {
        heartbeat();
      } catch (const inverse::Interrupted&) {
        break;
      }
      if (draining_) break;
      const Clock::time_point t_sched = Clock::now();
      const std::int64_t k = shared_.add(kNext, 1);
      timing_[kSchedule] += seconds_since(t_sched);
      if (k >= static_cast<std::int64_t>(p_.pending.size())) break;
      if (!run_task(p_.pending[static_cast<std::size_t>(k)])) break;
    }
    timing_[kWall] = seconds_since(t_start);
  }

  /// COLLECTIVE: waits for every rank, rank 0 drawing progress meanwhile.
  void wait_for_others() {
    MPI_Request barrier = MPI_REQUEST_NULL;
    MPI_Ibarrier(MPI_COMM_WORLD, &barrier);
    for (int done = 0; done == 0;) {
      MPI_Test(&barrier, &done, MPI_STATUS_IGNORE);
      if (done == 0) {
        post_signals();
        if (rank_ == 0) progress_.update(shared_.counts());
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  }

  const Timings& timing() const { return timing_; }

 private:
  /// Runs and writes one task; false when it was abandoned (the run is stopping).
  bool run_task(std::int64_t id) {
    const sweep::Sweep& sw = p_.sweep;
    inverse::TaskSpec spec = sw.task(id);
    spec.heartbeat = [this] { heartbeat(); };
    inverse::TaskResult r;
    const Clock::time_point t_task = Clock::now();
    try {
      const auto sid = static_cast<std::size_t>(spec.solver);
      r = solvers::solve(p_.oracle, net_, spec, states_[sid].get());
    } catch (const inverse::Interrupted&) {
      return false;  // abandoned: the task stays pending
    } catch (const std::exception& e) {
      const double nan = std::numeric_limits<double>::quiet_NaN();
      r = inverse::TaskResult{};
      r.status = inverse::Status::failed;
      // The message says why; the task's id and status are beside it wherever it is shown.
      r.message = dynamic_cast<const std::bad_alloc*>(&e) != nullptr ? std::string("out of memory") : e.what();
      r.vectors = MatrixD::Constant(p_.oracle.n_in(), sw.samples, nan);
      r.outputs = MatrixD::Constant(p_.oracle.n_out(), sw.samples, nan);
      r.residuals = VectorD::Constant(sw.samples, nan);
      r.loss = VectorD::Constant(sw.log_points, nan);
    }
    // The members' disagreement at the stored vectors (NaN where there is no vector).
    if (p_.oracle.is_ensemble()) r.spread = oracle::member_spread(p_.oracle, r.vectors);
    timing_[kSolve] += seconds_since(t_task);
    const Clock::time_point t_write = Clock::now();
    try {
      if (id == fault_write_task_) throw IoError("injected write failure (INVSWEEP_FAULT_WRITE_TASK)");
      file_.write_task(id, r, rank_);
    } catch (const std::exception& e) {
      const std::string& out = p_.setup.out;
      fatal(rank_, fmt::format("writing task {} to {}: {}{}", id, out, e.what(), disk_hint(out)), 2);
    }
    const Slot slot = r.status == inverse::Status::done       ? kDone
                      : r.status == inverse::Status::diverged ? kDiverged
                                                              : kFailed;
    timing_[kWrite] += seconds_since(t_write);
    shared_.add(slot, 1);
    ++timing_[kTasks];
    return true;
  }

  /// Publishes this rank's signals to every rank.
  void post_signals() {
    const std::int64_t bits = (g_stop_signal != 0 ? kStopNow : 0) | (g_drain_signal != 0 ? kDrain : 0);
    if ((bits & ~posted_) != 0) shared_.set_bits(kStop, bits);
    posted_ |= bits;
  }

  /// Every 0.2 s (at once after a signal): signals, stop flags, progress. Throws Interrupted
  /// when the run must stop now.
  void heartbeat() {
    const Clock::time_point now = Clock::now();
    if (std::chrono::duration<double>(now - last_check_).count() < 0.2 && g_stop_signal == 0 && g_drain_signal == 0)
      return;
    last_check_ = now;
    post_signals();
    const std::int64_t flags = shared_.get(kStop);
    draining_ = draining_ || (flags & kDrain) != 0;
    if ((flags & kStopNow) != 0) {
      stopping_ = true;
      throw inverse::Interrupted{};
    }
    if (rank_ == 0) progress_.update(shared_.counts());
  }

  const Prepared& p_;
  results::ResultsFile& file_;
  SharedCounters& shared_;
  Progress& progress_;
  int rank_;
  nn::Mlp<float> net_;
  std::int64_t fault_write_task_;
  std::vector<std::unique_ptr<solvers::RunState>> states_;  // each solver's state on this rank
  bool stopping_ = false, draining_ = false;
  std::int64_t posted_ = 0;  // the signal bits this rank has set
  Clock::time_point last_check_ = Clock::now();
  Timings timing_{};
};

/// Rank 0's closing lines: where the time went, why the run stopped, what failed.
void print_summary(const RunOptions& opt, const Prepared& p, const Progress& progress, const Timings& sum,
                   const Counts& total, std::int64_t flags, std::int64_t left, bool stopped) {
  if (!opt.quiet && sum[kTasks] > 0) {
    // Shares of the ranks' summed time until their last task: what the tasks cost and what
    // the machinery around them does.
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
               left == 1 ? "" : "s", p.setup.out);
  if (total.diverged + total.failed > 0)
    fmt::print(stderr, "invsweep: {} task{} diverged, {} failed (see /tasks/message, or `invsweep status {}`)\n",
               total.diverged, total.diverged == 1 ? "" : "s", total.failed, p.setup.out);
}

}  // namespace

int run_sweep(const RunOptions& opt) {
  int rank = 0, n_ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &n_ranks);

  // 1. Rank 0 validates the input; every rank receives and parses it.
  const std::optional<Prepared> prep = prepare_all(opt);
  if (!prep) return 2;  // bad input: rank 0 threw, the others stop quietly
  const Prepared& p = *prep;
  // 2. The results file, created (or reopened) by every rank together.
  results::ResultsFile file = open_results(p, rank);
  if (rank == 0 && !opt.quiet) {
    fmt::print(stderr, "invsweep: {} tasks ({} to run) × {} samples on {} rank{} → {}{}\n", p.sweep.n_tasks(),
               p.pending.size(), p.sweep.samples, n_ranks, n_ranks == 1 ? "" : "s", p.setup.out,
               p.setup.resume_existing ? " (resumed)" : "");
    std::fflush(stderr);
  }
  // 3–4. Take tasks until none remain.
  int exit_code = 0;
  {
    SharedCounters shared;
    Progress progress(static_cast<std::int64_t>(p.pending.size()), p.sweep.n_tasks(), opt.quiet || rank != 0,
                      opt.progress_seconds);
    Worker worker(p, file, shared, progress, rank);
    worker.run();
    worker.wait_for_others();
    Timings sum{};
    MPI_Reduce(worker.timing().data(), sum.data(), kTimings, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    const Counts total = shared.counts();
    const std::int64_t flags = shared.get(kStop);
    const std::int64_t left = static_cast<std::int64_t>(p.pending.size()) - total.finished();
    const bool stopped = flags != 0 && left > 0;  // a signal that came after the last task changes nothing
    if (rank == 0) {
      progress.finish(total);
      print_summary(opt, p, progress, sum, total, flags, left, stopped);
    }
    exit_code = stopped ? 143 : (total.diverged + total.failed > 0 ? 1 : 0);
    MPI_Barrier(MPI_COMM_WORLD);
  }
  try {
    file.close();
  } catch (const std::exception& e) {
    fatal(rank, fmt::format("closing {}: {}{}", p.setup.out, e.what(), disk_hint(p.setup.out)), 2);
  }
  return exit_code;
}

}  // namespace invsweep::runner
