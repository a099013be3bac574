// invsweep check SWEEP.toml — validates a sweep against its oracle and estimates its cost;
// runs nothing and writes nothing.
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>

#include "commands.hpp"
#include "invsweep/core/errors.hpp"
#include "invsweep/core/io.hpp"
#include "invsweep/core/strings.hpp"
#include "invsweep/oracle/oracle_io.hpp"
#include "invsweep/results/results.hpp"
#include "invsweep/runner/cost_model.hpp"
#include "invsweep/runner/memory.hpp"
#include "invsweep/runner/setup.hpp"
#include "invsweep/solvers/registry.hpp"
#include "invsweep/sweep/sweep.hpp"

namespace invsweep::cli {

namespace {

using Clock = std::chrono::steady_clock;

struct CheckOptions {
  std::string sweep, out;
  int ranks = 1;
  bool no_calibration = false;
  bool output_path = false;  // print only the results file's path (for scripts)
  bool out_given = false;    // --out '' is an error, not "the sweep's output"
};

/// This process's resident memory now (/proc/self/status VmRSS), 0 when unknown.
std::uint64_t resident_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return 1024 * std::strtoull(line.c_str() + 6, nullptr, 10);
  return 0;
}

std::string human_seconds(double s) {
  if (s < 0.01) return fmt::format("{:.2f} ms", s * 1e3);
  if (s < 1) return fmt::format("{:.0f} ms", s * 1e3);
  if (s < 120) return fmt::format("{:.1f} s", s);
  if (s < 7200) return fmt::format("{:.1f} min", s / 60);
  return fmt::format("{:.1f} h", s / 3600);
}

int run_check(const CheckOptions& opt) {
  if (opt.ranks < 1) throw ConfigError(fmt::format("--ranks {}: expected a positive number", opt.ranks));
  const std::string text = sweep::read_text_file(opt.sweep, "sweep file");
  const std::string oracle_path = sweep::peek_oracle_path(opt.sweep, text);
  const oracle::Oracle o = oracle::load_oracle(oracle_path);
  const sweep::Sweep s = sweep::parse_sweep(opt.sweep, text, o);
  if (opt.out_given && opt.out.empty()) throw ConfigError("--out: empty path");
  const std::string out = opt.out.empty() ? s.output_path : opt.out;
  // Everything `run` checks before it starts, so that check approves exactly what run accepts
  // (an existing file must be a results file of this sweep: `run --resume` continues it).
  const std::uint64_t size = results::estimated_size(s, o);
  runner::check_memory(s, o, opt.sweep);
  std::error_code ec;
  const bool exists = !out.empty() && std::filesystem::exists(out, ec);
  if (!out.empty()) runner::check_results_output(out, true, opt.sweep, oracle_path, s, o, size);
  if (opt.output_path) {
    if (out.empty())
      throw ConfigError(fmt::format("{}: no results file: set 'output' in the sweep file or give --out", opt.sweep));
    fmt::print("{}\n", out);
    return 0;
  }

  fmt::print("{}: valid\n", opt.sweep);
  for (const std::string& w : sweep::extrapolation_warnings(s, o))
    fmt::print(stderr, "invsweep: warning: {}: {}\n", opt.sweep, w);
  fmt::print("  oracle      {} ({} → {})\n", oracle_path, fmt::join(o.input_names, ","),
             fmt::join(o.output_names, ","));
  fmt::print("  tasks       {} = {} target{} × {} constraint setting{} × {} solver{} × {} replicate{}\n", s.n_tasks(),
             s.n_targets(), s.n_targets() == 1 ? "" : "s", s.n_constraints(), s.n_constraints() == 1 ? "" : "s",
             s.n_solvers(), s.n_solvers() == 1 ? "" : "s", s.replicates, s.replicates == 1 ? "" : "s");
  fmt::print("  samples     {} vectors per task ({:.0f} in all)\n", s.samples,
             static_cast<double>(s.samples) * static_cast<double>(s.n_tasks()));
  for (const inverse::Constraint& c : s.constraints) {
    std::vector<std::string> parts;
    for (Index i = 0; i < o.n_in(); ++i) {
      const std::string& n = o.input_names[static_cast<std::size_t>(i)];
      if (c.fixed[static_cast<std::size_t>(i)] != 0)
        parts.push_back(fmt::format("{} = {:g}", n, c.fixed_value[i]));
      else
        parts.push_back(fmt::format("{} in [{:g}, {:g}]", n, c.lower[i], c.upper[i]));
    }
    fmt::print("  constraint  '{}' ({}): {}\n", c.name, inverse::to_string(c.method), fmt::join(parts, ", "));
  }
  const auto bytes = static_cast<double>(size);
  const bool new_dir = !out.empty() && !std::filesystem::is_directory(parent_dir(out), ec);
  fmt::print("  output      {} ({}){}\n", out.empty() ? "(none: give --out to run)" : out, human_bytes(bytes),
             exists    ? " — exists: `run --resume` continues it"
             : new_dir ? fmt::format(" — `run` creates the folder {}", parent_dir(out))
                       : std::string());
  {
    // A rank holds one task's working set, the oracle and the results it has not written yet
    // (up to --flush-tasks = 64 tasks by default, at most 64 MiB).
    const runner::MemoryEstimate m = runner::memory_estimate(s, o);
    const double per_task_result = bytes / std::max<double>(1.0, static_cast<double>(s.n_tasks()));
    const double buffered = std::min(64.0 * per_task_result, 64.0 * (1 << 20));
    const double oracle_bytes = 8.0 * static_cast<double>(o.net.params().size());
    fmt::print(
        "  memory      about {} per rank beyond the program itself (a task's working set {}, driven by '{}'; up "
        "to {} of finished results waiting to be written; the oracle {}); the program and its libraries hold {} "
        "here before MPI starts\n",
        human_bytes(m.bytes + buffered + oracle_bytes), human_bytes(m.bytes), m.key, human_bytes(buffered),
        human_bytes(oracle_bytes), human_bytes(static_cast<double>(resident_bytes())));
  }
  fmt::print("  hash        {}\n", s.hash(o));
  const auto settings_line = [](std::string_view name, const std::vector<std::pair<std::string, std::string>>& kv) {
    std::vector<std::string> parts;
    for (const auto& [k, v] : kv)
      parts.push_back(fmt::format("{} = {}", k, v));
    fmt::print("  [{}] {}\n", name, fmt::join(parts, ", "));
  };
  for (Index id : s.solvers) {
    const solvers::Solver& solver = solvers::get(id);
    settings_line(solver.name(), solver.show(s.solver_settings[static_cast<std::size_t>(id)]));
  }
  settings_line("polish", inverse::PolishSettings::table().show(s.polish));
  if (s.certify.enabled) {
    settings_line("certify", inverse::CertifySettings::table().show(s.certify));
    fmt::print("  certify     up to {} per task after its solver (not in the estimate below)\n",
               human_seconds(s.certify.time_limit));
  }
  if (opt.no_calibration) return 0;

  // Calibration: short runs of a sample of each solver's tasks.
  const runner::SweepCost cost = runner::estimate_cost(s, o, opt.ranks);
  for (const runner::SolverCost& c : cost.solvers) {
    if (c.estimate.shared_units > 0)
      fmt::print("  estimate    {}: {} per shared model × {}, {} per task × {} tasks\n", c.solver,
                 human_seconds(c.estimate.shared), c.estimate.shared_units, human_seconds(c.estimate.per_task),
                 c.tasks);
    else
      fmt::print("  estimate    {}: {} per task × {} tasks\n", c.solver, human_seconds(c.estimate.per_task), c.tasks);
  }
  fmt::print(
      "  run time    about {} on {} rank{} ({} – {}: two standard errors over the {} calibration tasks per "
      "solver; upper bound: early stopping shortens it)\n",
      human_seconds(cost.seconds), opt.ranks, opt.ranks == 1 ? "" : "s", human_seconds(cost.seconds_lo),
      human_seconds(cost.seconds_hi), runner::kCalibrationTasks);
  return 0;
}

}  // namespace

void setup_check(CLI::App& app) {
  auto opt = std::make_shared<CheckOptions>();
  CLI::App* sub = app.add_subcommand("check",
                                     "Validate a sweep against its oracle; print task count, output size, "
                                     "estimated run time (runs nothing)");
  sub->add_option("sweep", opt->sweep, "Sweep file (.toml)")->required();
  CLI::Option* out =
      sub->add_option("--out,-o", opt->out, "Results file the run would write (default: the sweep's 'output')");
  CLI::Option* ranks =
      sub->add_option("--ranks,-n", opt->ranks, "Ranks to estimate the run time for")->capture_default_str();
  sub->add_flag("--no-calibration", opt->no_calibration, "Skip the timing runs");
  sub->add_flag("--output-path", opt->output_path,
                "Validate, then print only the results file's path (as `run` resolves it) and exit")
      ->excludes(ranks);
  sub->callback([opt, out] {
    opt->out_given = out->count() > 0;
    exit_code() = run_check(*opt);
  });
}

}  // namespace invsweep::cli
