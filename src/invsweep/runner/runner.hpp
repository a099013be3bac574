#pragma once
// Running a sweep on every rank of MPI_COMM_WORLD (one rank without mpirun).
//
//  1. Rank 0 reads the sweep file and the oracle, validates both and the output path, and
//     broadcasts the sweep text and the oracle file's bytes; every rank parses and validates
//     what it received. Bad input ends every rank with exit code 2 before anything is written.
//  2. All ranks create the results file together (or reopen it with --resume).
//  3. Dynamic scheduling without a master: a shared counter on rank 0 (MPI-3 one-sided
//     MPI_Fetch_and_op) hands out the next pending task to whichever rank is free; rank 0
//     computes too. A task's random stream depends on (sweep seed, task id) only, so the file
//     is the same whatever the number of ranks.
//  4. Each rank keeps its finished tasks' rows and writes them in batches (independent I/O,
//     one write per dataset per batch, every status of the batch last): when `flush_tasks`
//     tasks are waiting, when the oldest has waited `flush_seconds`, or 64 MiB are held — and
//     whenever the rank stops taking tasks. A job killed outright (SIGKILL, a node lost) loses
//     at most each rank's unwritten batch and its task in flight; they stay pending.
//  5. SIGTERM / SIGINT: every rank stops taking tasks, abandons the one in flight (it stays
//     pending), and the file is closed consistently; a later --resume continues.
//     SIGUSR1 (e.g. `sbatch --signal=B:USR1@300` before a time limit): every rank finishes the
//     task in flight and takes no more. Either way the exit code is 143 if tasks remain.
//  Fatal errors (I/O failure, a bug) call MPI_Abort: no rank is left waiting.
#include <cstdint>
#include <string>

namespace invsweep::runner {

struct RunOptions {
  std::string sweep;              ///< the sweep file
  std::string out;                ///< results file (overrides the sweep's `output`)
  bool resume = false;            ///< continue an existing results file of the same sweep
  bool force = false;             ///< allow results files beyond `max_bytes`
  bool quiet = false;             ///< no progress lines
  double progress_seconds = 5.0;  ///< interval of plain progress lines (not on a terminal)
  std::int64_t flush_tasks = 64;  ///< write a rank's finished tasks once this many wait (≥ 1)
  double flush_seconds = 2.0;     ///< … or once the oldest has waited this long (≥ 0; 0 = at once)
  std::uint64_t max_bytes = 64ULL << 30;
};

/// Exit code of a finished run: 0 all done, 1 some tasks diverged or failed, 143 stopped by a
/// signal (resume to continue). COLLECTIVE over MPI_COMM_WORLD; MPI must be initialised.
/// Throws UserError on rank 0 (other ranks return 2) for bad input.
int run_sweep(const RunOptions& options);

/// Installs the handlers: SIGTERM / SIGINT / SIGUSR2 stop the run now (SIGUSR2: what mpirun
/// forwards), SIGUSR1 after the tasks in flight.
void install_stop_handlers();

}  // namespace invsweep::runner
