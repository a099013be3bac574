// invsweep run SWEEP.toml [--out FILE] [--resume] — under mpirun / srun, or alone as one rank.
#include <fmt/format.h>
#include <mpi.h>

#include <cmath>
#include <cstdlib>
#include <memory>

#include "commands.hpp"
#include "invsweep/core/errors.hpp"
#include "invsweep/runner/runner.hpp"

namespace invsweep::cli {

namespace {

/// MPI for the duration of one command (finalised on every path, including errors).
class MpiSession {
 public:
  MpiSession() {
    // OpenMPI's own MPI-IO (OMPIO) opens a shared-file-pointer component with every file:
    // `lockedfile` and `sm` build names from the file's path in fixed-size buffers and abort
    // on long paths (exit 134 past ~240 bytes), and every one of them leaves files behind
    // (in /tmp, or next to the results file) when a job is killed. HDF5 never uses shared
    // file pointers; ROMIO, the other MPI-IO of OpenMPI, creates nothing of the kind. A
    // user's own choice (the variable already set) is kept.
    ::setenv("OMPI_MCA_io", "^ompio", 0);
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  }
  ~MpiSession() { MPI_Finalize(); }
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
};

std::uint64_t parse_size(const std::string& text) {
  std::size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(text, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  const std::string unit = text.substr(pos);
  double mult = 1;
  if (unit == "K" || unit == "KiB")
    mult = 1024.0;
  else if (unit == "M" || unit == "MiB")
    mult = 1024.0 * 1024;
  else if (unit == "G" || unit == "GiB")
    mult = 1024.0 * 1024 * 1024;
  else if (unit == "T" || unit == "TiB")
    mult = 1024.0 * 1024 * 1024 * 1024;
  else if (!unit.empty() || pos == 0)
    mult = -1;
  if (mult < 0 || !(v > 0))
    throw ConfigError(fmt::format("--max-size '{}': expected a positive size such as 500M or 64G", text));
  return static_cast<std::uint64_t>(v * mult);
}

struct RunCliOptions {
  runner::RunOptions run;
  std::string max_size = "64G";
  bool out_given = false;  // --out '' is an error, not "the sweep's output"
};

int run_run(const RunCliOptions& o) {
  if (o.out_given && o.run.out.empty()) throw ConfigError("--out: empty path");
  runner::RunOptions opt = o.run;
  opt.max_bytes = parse_size(o.max_size);
  if (!(opt.progress_seconds > 0))
    throw ConfigError(fmt::format("--progress-every {}: expected a positive number of seconds", opt.progress_seconds));
  if (opt.flush_tasks < 1)
    throw ConfigError(fmt::format(
        "--flush-tasks {}: expected a whole number of tasks ≥ 1 (1 writes every task at once)", opt.flush_tasks));
  if (!(opt.flush_seconds >= 0) || !std::isfinite(opt.flush_seconds))
    throw ConfigError(fmt::format("--flush-seconds {}: expected a number of seconds ≥ 0 (0 writes every task at once)",
                                  opt.flush_seconds));
  const MpiSession mpi;
  runner::install_stop_handlers();
  return runner::run_sweep(opt);
}

}  // namespace

void setup_run(CLI::App& app) {
  auto opt = std::make_shared<RunCliOptions>();
  CLI::App* sub = app.add_subcommand("run", "Run a sweep (under mpirun/srun on many ranks, or alone on one)");
  sub->add_option("sweep", opt->run.sweep, "Sweep file (.toml)")->required();
  CLI::Option* out = sub->add_option("--out,-o", opt->run.out, "Results file (default: the sweep's 'output')");
  sub->add_flag("--resume", opt->run.resume,
                "Continue the results file if it exists (it must come from the same sweep); start it otherwise");
  CLI::Option* force = sub->add_flag("--force", opt->run.force, "Allow a results file larger than --max-size");
  sub->add_option("--max-size", opt->max_size, "Refuse sweeps whose results file would exceed this (without --force)")
      ->capture_default_str()
      ->excludes(force);  // a limit and its waiver together say two things
  CLI::Option* every = sub->add_option("--progress-every", opt->run.progress_seconds,
                                       "Seconds between progress lines when stderr is not a terminal")
                           ->capture_default_str();
  sub->add_flag("--quiet,-q", opt->run.quiet, "No progress output")->excludes(every);
  sub->add_option("--flush-tasks", opt->run.flush_tasks,
                  "Each rank writes its finished tasks in batches of this many (a kill loses at most the unwritten "
                  "batch, which --resume runs again)")
      ->capture_default_str();
  sub->add_option("--flush-seconds", opt->run.flush_seconds,
                  "… or once the oldest finished task has waited this many seconds")
      ->capture_default_str();
  sub->callback([opt, out] {
    opt->out_given = out->count() > 0;
    exit_code() = run_run(*opt);
  });
}

}  // namespace invsweep::cli
