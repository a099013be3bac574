#include "invsweep/runner/runner.hpp"

#include <fmt/format.h>
#include <mpi.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <memory>
#include <new>
#include <thread>

#include "invsweep/core/errors.hpp"
#include "invsweep/core/io.hpp"
#include "invsweep/core/strings.hpp"
#include "invsweep/h5/h5.hpp"
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

/// Per-rank figures, summed over the ranks for the summary. kWall: from the first task taken to
/// the file closed; kWait: waiting for the other ranks at the end and closing the file.
enum Timing : int { kSolve, kWrite, kSchedule, kWait, kWall, kTasks, kWriteCalls, kBatches, kTimings };
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

int n_ranks() {
  int n = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}

/// A rank never holds more than this many bytes of finished rows, whatever `flush_tasks` says.
constexpr double kMaxBufferedBytes = 64.0 * (1 << 20);

/// One rank's part of the run: take the next pending task from the shared counter, run it
/// with its solver, keep its rows and write them in batches (status last), until none remain
/// or a signal stops it.
class Worker {
 public:
  Worker(const RunOptions& opt, const Prepared& p, results::ResultsFile& file, SharedCounters& shared,
         Progress& progress, int rank)
      : opt_(opt),
        p_(p),
        file_(file),
        shared_(shared),
        progress_(progress),
        rank_(rank),
        n_ranks_(n_ranks()),
        net_(p.oracle.net.cast<float>()),
        fault_write_task_(fault_write_task_from_env()) {
    for (const solvers::Solver* solver : solvers::all())
      states_.push_back(solver->make_state());
  }

  void run() {
    t_start_ = Clock::now();
    const auto n = static_cast<std::int64_t>(p_.pending.size());
    std::int64_t next = 0, end = 0;  // this rank's claimed range of p_.pending
    while (!stopping_ && !draining_) {
      try {
        heartbeat();
      } catch (const inverse::Interrupted&) {
        break;
      }
      if (draining_) break;
      if (next >= end) {
        const std::int64_t chunk = chunk_size(end, n);
        const Clock::time_point t_sched = Clock::now();
        next = shared_.add(kNext, chunk);
        timing_[kSchedule] += seconds_since(t_sched);
        end = std::min(next + chunk, n);
        if (next >= n) break;
      }
      if (!run_task(p_.pending[static_cast<std::size_t>(next++)])) break;
    }
    flush();  // whatever ended the loop, the finished tasks are written (claimed ones stay pending)
  }

  /// COLLECTIVE: waits for every rank, rank 0 drawing progress meanwhile.
  void wait_for_others() {
    const Clock::time_point t_wait = Clock::now();
    MPI_Request barrier = MPI_REQUEST_NULL;
    MPI_Ibarrier(MPI_COMM_WORLD, &barrier);
    for (int done = 0; done == 0;) {
      MPI_Test(&barrier, &done, MPI_STATUS_IGNORE);
      if (done == 0) {
        post_signals();
        if (rank_ == 0) progress_.update(shared_.counts());
        // Rank 0 serves the others' counter operations while they finish (see heartbeat).
        std::this_thread::sleep_for(std::chrono::milliseconds(rank_ == 0 ? 1 : 20));
      }
    }
    timing_[kWait] += seconds_since(t_wait);
  }

  /// COLLECTIVE: closes the results file; the rank's figures end here.
  void close_file() {
    const Clock::time_point t_close = Clock::now();
    try {
      file_.close();
    } catch (const std::exception& e) {
      fatal(rank_, fmt::format("closing {}: {}{}", p_.setup.out, e.what(), disk_hint(p_.setup.out)), 2);
    }
    close_seconds_ = seconds_since(t_close);
    timing_[kWait] += close_seconds_;
    timing_[kWall] = seconds_since(t_start_);
  }

  const Timings& timing() const { return timing_; }
  double close_seconds() const { return close_seconds_; }

 private:
  /// How many tasks to claim at once (guided self-scheduling): a quarter of the remaining
  /// tasks' fair share, but no more than one batch (`flush_tasks`) and no more than this
  /// rank runs in `flush_seconds` at its pace so far; 1 until a task has finished. Claimed
  /// tasks are consecutive pending ids, so a batch's rows are mostly consecutive rows of the
  /// file (a few contiguous writes instead of one per task), and the shared counter is
  /// touched once per claim instead of once per task. `seen` is the counter's value at this
  /// rank's last claim (a lower bound of its value now).
  std::int64_t chunk_size(std::int64_t seen, std::int64_t n) const {
    if (timing_[kTasks] + static_cast<double>(batch_.size()) < 1) return 1;
    const double per_task = timing_[kSolve] / (timing_[kTasks] + static_cast<double>(batch_.size()));
    const double by_time = per_task > 0 ? opt_.flush_seconds / per_task : 1e18;
    const double share = static_cast<double>(std::max<std::int64_t>(n - seen, 0)) / (4.0 * n_ranks_);
    const double c = std::min({share, by_time, static_cast<double>(opt_.flush_tasks)});
    return std::max<std::int64_t>(1, static_cast<std::int64_t>(c));
  }

  /// Runs one task and keeps its rows; false when it was abandoned (the run is stopping).
  bool run_task(std::int64_t id) {
    const sweep::Sweep& sw = p_.sweep;
    inverse::TaskSpec spec = sw.task(id);
    spec.heartbeat = [this] { heartbeat(); };
    inverse::TaskResult r;
    const Clock::time_point t_task = Clock::now();
    write_in_task_ = 0;
    try {
      const auto sid = static_cast<std::size_t>(spec.solver);
      r = solvers::solve(p_.oracle, net_, spec, states_[sid].get());
    } catch (const inverse::Interrupted&) {
      timing_[kSolve] += seconds_since(t_task) - write_in_task_;
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
    timing_[kSolve] += seconds_since(t_task) - write_in_task_;  // a batch written from a heartbeat is not solving
    if (batch_.empty()) oldest_ = Clock::now();
    batched_bytes_ +=
        8.0 * static_cast<double>(r.vectors.size() + r.outputs.size() + r.residuals.size() + r.loss.size() +
                                  r.violations.size() + r.mahalanobis.size() + r.spread.size()) +
        static_cast<double>(results::kMessageWidth);
    batch_.push_back({id, std::move(r), rank_});
    if (static_cast<std::int64_t>(batch_.size()) >= opt_.flush_tasks || batched_bytes_ >= kMaxBufferedBytes ||
        seconds_since(oldest_) >= opt_.flush_seconds)
      flush();
    return true;
  }

  /// Writes the kept rows (one write per dataset, statuses last) and counts them as finished.
  void flush() {
    if (batch_.empty()) return;
    const Clock::time_point t_write = Clock::now();
    const std::uint64_t calls = h5::row_write_calls();
    try {
      for (const results::TaskRow& t : batch_)
        if (t.id == fault_write_task_) throw IoError("injected write failure (INVSWEEP_FAULT_WRITE_TASK)");
      file_.write_tasks(batch_);
    } catch (const std::exception& e) {
      const std::string& out = p_.setup.out;
      fatal(rank_, fmt::format("writing {} to {}: {}{}", batch_text(), out, e.what(), disk_hint(out)), 2);
    }
    Counts c;
    for (const results::TaskRow& t : batch_)
      ++(t.result.status == inverse::Status::done       ? c.done
         : t.result.status == inverse::Status::diverged ? c.diverged
                                                        : c.failed);
    timing_[kWriteCalls] += static_cast<double>(h5::row_write_calls() - calls);
    timing_[kTasks] += static_cast<double>(batch_.size());
    ++timing_[kBatches];
    batch_.clear();
    batched_bytes_ = 0;
    const double seconds = seconds_since(t_write);
    timing_[kWrite] += seconds;
    write_in_task_ += seconds;
    if (c.done > 0) shared_.add(kDone, c.done);
    if (c.diverged > 0) shared_.add(kDiverged, c.diverged);
    if (c.failed > 0) shared_.add(kFailed, c.failed);
  }

  /// "task 7" or "task 7 (in a batch of 5: tasks 2, 4, 7, 9, 11)": the injected fault's task,
  /// else the batch's first, is named first.
  std::string batch_text() const {
    std::int64_t first = batch_.front().id;
    for (const results::TaskRow& t : batch_)
      if (t.id == fault_write_task_) first = t.id;
    if (batch_.size() == 1) return fmt::format("task {}", first);
    std::vector<std::int64_t> ids;
    for (const results::TaskRow& t : batch_)
      ids.push_back(t.id);
    std::sort(ids.begin(), ids.end());
    const std::size_t shown = std::min<std::size_t>(ids.size(), 10);
    return fmt::format("task {} (in a batch of {}: tasks {}{})", first, ids.size(),
                       fmt::join(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(shown), ", "),
                       shown < ids.size() ? ", …" : "");
  }

  /// Publishes this rank's signals to every rank.
  void post_signals() {
    const std::int64_t bits = (g_stop_signal != 0 ? kStopNow : 0) | (g_drain_signal != 0 ? kDrain : 0);
    if ((bits & ~posted_) != 0) shared_.set_bits(kStop, bits);
    posted_ |= bits;
  }

  /// Every 0.2 s (at once after a signal): a batch that has waited `flush_seconds` (also in
  /// the middle of a long task), signals, stop flags, progress. Throws Interrupted when the
  /// run must stop now.
  void heartbeat() {
    // The shared counters live on rank 0. Where the MPI library carries one-sided atomics as
    // messages (OpenMPI's osc/pt2pt, chosen even on one node), they complete only when rank 0
    // enters MPI: a cheap probe at every heartbeat (every `log_every` steps) keeps the other
    // ranks from waiting for rank 0's next task.
    if (rank_ == 0 && n_ranks_ > 1) {
      int flag = 0;
      MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
    }
    const Clock::time_point now = Clock::now();
    if (std::chrono::duration<double>(now - last_check_).count() < 0.2 && g_stop_signal == 0 && g_drain_signal == 0)
      return;
    last_check_ = now;
    if (!batch_.empty() && seconds_since(oldest_) >= opt_.flush_seconds) flush();
    post_signals();
    const std::int64_t flags = shared_.get(kStop);
    draining_ = draining_ || (flags & kDrain) != 0;
    if ((flags & kStopNow) != 0) {
      stopping_ = true;
      throw inverse::Interrupted{};
    }
    if (rank_ == 0) progress_.update(shared_.counts());
  }

  const RunOptions& opt_;
  const Prepared& p_;
  results::ResultsFile& file_;
  SharedCounters& shared_;
  Progress& progress_;
  int rank_, n_ranks_;
  nn::Mlp<float> net_;
  std::int64_t fault_write_task_;
  std::vector<std::unique_ptr<solvers::RunState>> states_;  // each solver's state on this rank
  std::vector<results::TaskRow> batch_;                     // finished, not yet written
  double batched_bytes_ = 0;
  Clock::time_point oldest_ = Clock::now();  // when the batch's first task finished
  double write_in_task_ = 0;                 // seconds of batch writes from heartbeats of the current task
  bool stopping_ = false, draining_ = false;
  std::int64_t posted_ = 0;  // the signal bits this rank has set
  Clock::time_point t_start_ = Clock::now(), last_check_ = Clock::now();
  double close_seconds_ = 0;
  Timings timing_{};
};

/// Rank 0's closing lines: where the time went, why the run stopped, what failed.
void print_summary(const RunOptions& opt, const Prepared& p, const Progress& progress, const Timings& sum, int n_ranks,
                   double prepare_seconds, double open_seconds, double close_seconds, const Counts& total,
                   std::int64_t flags, std::int64_t left, bool stopped) {
  if (!opt.quiet && sum[kTasks] > 0) {
    // Shares of the ranks' summed time from their first task to the file closed: what the
    // tasks cost and what the machinery around them does ("other": progress, signals,
    // the finished counts).
    const double wall = std::max(sum[kWall], 1e-12);
    const double other = sum[kWall] - sum[kSolve] - sum[kSchedule] - sum[kWrite] - sum[kWait];
    fmt::print(stderr,
               "invsweep: {:.0f} tasks in {:.2f} s on {} rank{}: computing {:.1f} %, scheduling {:.2f} %, writing "
               "HDF5 {:.2f} %, waiting {:.2f} %, other {:.2f} % of rank time; {:.3g} ms per task outside computing\n",
               sum[kTasks], progress.elapsed(), n_ranks, n_ranks == 1 ? "" : "s", 100 * sum[kSolve] / wall,
               100 * sum[kSchedule] / wall, 100 * sum[kWrite] / wall, 100 * sum[kWait] / wall,
               100 * std::max(other, 0.0) / wall, 1e3 * (sum[kWall] - sum[kSolve]) / sum[kTasks]);
  }
  if (!opt.quiet)
    fmt::print(stderr,
               "invsweep: HDF5: {:.0f} row writes ({:.2f} per task) in {:.0f} batch{} (--flush-tasks {}, "
               "--flush-seconds {:g}); start {:.3f} s (checks{}, broadcast), results file {} in {:.3f} s, closed in "
               "{:.3f} s\n",
               sum[kWriteCalls], sum[kWriteCalls] / std::max(sum[kTasks], 1.0), sum[kBatches],
               sum[kBatches] == 1 ? "" : "es", opt.flush_tasks, opt.flush_seconds, prepare_seconds,
               p.setup.resume_existing ? ", done rows validated" : "", p.setup.resume_existing ? "opened" : "created",
               open_seconds, close_seconds);
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
  const Clock::time_point t_prepare = Clock::now();
  const std::optional<Prepared> prep = prepare_all(opt);
  const double prepare_seconds = seconds_since(t_prepare);
  if (!prep) return 2;  // bad input: rank 0 threw, the others stop quietly
  const Prepared& p = *prep;
  // 2. The results file, created (or reopened) by every rank together.
  const Clock::time_point t_open = Clock::now();
  results::ResultsFile file = open_results(p, rank);
  const double open_seconds = seconds_since(t_open);
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
    Worker worker(opt, p, file, shared, progress, rank);
    worker.run();
    worker.wait_for_others();
    const Counts total = shared.counts();
    const std::int64_t flags = shared.get(kStop);
    worker.close_file();
    Timings sum{};
    MPI_Reduce(worker.timing().data(), sum.data(), kTimings, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    const std::int64_t left = static_cast<std::int64_t>(p.pending.size()) - total.finished();
    const bool stopped = flags != 0 && left > 0;  // a signal that came after the last task changes nothing
    if (rank == 0) {
      progress.finish(total);
      print_summary(opt, p, progress, sum, n_ranks, prepare_seconds, open_seconds, worker.close_seconds(), total, flags,
                    left, stopped);
    }
    exit_code = stopped ? 143 : (total.diverged + total.failed > 0 ? 1 : 0);
    MPI_Barrier(MPI_COMM_WORLD);
  }
  return exit_code;
}

}  // namespace invsweep::runner
