// invsweep check SWEEP.toml — validates a sweep against its oracle and estimates its cost;
// runs nothing and writes nothing.
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <memory>

#include "commands.hpp"
#include "invsweep/core/errors.hpp"
#include "invsweep/core/io.hpp"
#include "invsweep/core/strings.hpp"
#include "invsweep/inverse/amortized.hpp"
#include "invsweep/inverse/solve.hpp"
#include "invsweep/oracle/oracle_io.hpp"
#include "invsweep/store/results.hpp"
#include "invsweep/sweep/sweep.hpp"

namespace invsweep::cli {

namespace {

using Clock = std::chrono::steady_clock;

struct CheckOptions {
  std::string sweep, out;
  int ranks = 1;
  bool no_calibration = false;
  bool output_path = false;  // print only the results file's path (for scripts)
};

std::string human_seconds(double s) {
  if (s < 1) return fmt::format("{:.0f} ms", s * 1e3);
  if (s < 120) return fmt::format("{:.1f} s", s);
  if (s < 7200) return fmt::format("{:.1f} min", s / 60);
  return fmt::format("{:.1f} h", s / 3600);
}

/// Seconds of one run of `spec` with its solver limited to `steps` steps.
double time_task(const oracle::Oracle& o, const nn::Mlp<float>& net, inverse::TaskSpec spec, int steps) {
  spec.generator.steps = steps;
  spec.adjoint.steps = steps;
  spec.generator.patience = spec.adjoint.patience = 0;
  spec.generator.tolerance = spec.adjoint.tolerance = 0;
  const Clock::time_point t0 = Clock::now();
  (void)inverse::solve(o, net, spec);
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// Estimated seconds of one task of each solver: overhead + per-step cost × steps, from two
/// short runs (so that polish and set-up are not counted as training steps).
double estimate_task(const oracle::Oracle& o, const nn::Mlp<float>& net, const inverse::TaskSpec& spec, int full_steps) {
  const int a = std::min(full_steps, 20), b = std::min(full_steps, 60);
  const double ta = time_task(o, net, spec, a);
  if (b == a) return ta;
  const double tb = time_task(o, net, spec, b);
  const double per_step = std::max(0.0, (tb - ta) / (b - a));
  return std::max(0.0, ta - per_step * a) + per_step * full_steps;
}

int run_check(const CheckOptions& opt) {
  if (opt.ranks < 1) throw ConfigError(fmt::format("--ranks {}: expected a positive number", opt.ranks));
  const std::string text = sweep::read_text_file(opt.sweep, "sweep file");
  const std::string oracle_path = sweep::peek_oracle_path(opt.sweep, text);
  const oracle::Oracle o = oracle::load_oracle(oracle_path);
  const sweep::Sweep s = sweep::parse_sweep(opt.sweep, text, o);
  const std::string out = opt.out.empty() ? s.output_path : opt.out;
  if (opt.output_path) {
    if (out.empty())
      throw ConfigError(fmt::format("{}: no results file: set 'output' in the sweep file or give --out", opt.sweep));
    fmt::print("{}\n", out);
    return 0;
  }

  fmt::print("{}: valid\n", opt.sweep);
  fmt::print("  oracle      {} ({} → {})\n", oracle_path, fmt::join(o.input_names, ","), fmt::join(o.output_names, ","));
  fmt::print("  tasks       {} = {} target{} × {} constraint setting{} × {} solver{} × {} replicate{}\n", s.n_tasks(),
             s.n_targets(), s.n_targets() == 1 ? "" : "s", s.n_constraints(), s.n_constraints() == 1 ? "" : "s",
             s.n_solvers(), s.n_solvers() == 1 ? "" : "s", s.replicates, s.replicates == 1 ? "" : "s");
  fmt::print("  samples     {} vectors per task ({} in all)\n", s.samples, s.samples * s.n_tasks());
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
  const auto bytes = static_cast<double>(store::estimated_size(s, o));
  std::error_code ec;
  const bool exists = !out.empty() && std::filesystem::exists(out, ec);
  if (!out.empty()) check_output_path(out, exists, "results file");  // its directory must be writable
  const bool new_dir = !out.empty() && !std::filesystem::is_directory(parent_dir(out), ec);
  fmt::print("  output      {} ({}){}\n", out.empty() ? "(none: give --out to run)" : out, human_bytes(bytes),
             exists    ? " — exists: `run --resume` continues it"
             : new_dir ? fmt::format(" — `run` creates the folder {}", parent_dir(out))
                       : std::string());
  fmt::print("  hash        {}\n", s.hash(o));
  if (opt.no_calibration) return 0;

  // Calibration: a short run of the first task of each solver.
  const nn::Mlp<float> net = o.net.cast<float>();
  double total = 0;
  for (Index k = 0; k < s.n_solvers(); ++k) {
    const inverse::SolverKind kind = s.solvers[static_cast<std::size_t>(k)];
    Index id = 0;
    while (s.coords(id).solver != k) ++id;
    const inverse::TaskSpec spec = s.task(id);
    const Index count = s.n_tasks() / s.n_solvers();
    double per_task = 0;
    if (kind == inverse::SolverKind::amortized) {
      // One model per (constraint, replicate) and rank that needs it; then forward passes.
      inverse::TaskSpec train = spec;
      const int full = train.amortized.steps;
      train.amortized.steps = std::min(full, 60);
      const Clock::time_point t0 = Clock::now();
      const inverse::AmortizedModel m = inverse::AmortizedModel::train(o, net, train);
      const double t_train = std::chrono::duration<double>(Clock::now() - t0).count() * full / train.amortized.steps;
      const Clock::time_point t1 = Clock::now();
      (void)inverse::solve_amortized(o, net, spec, m, false);
      const double t_answer = std::chrono::duration<double>(Clock::now() - t1).count();
      const Index models = s.n_constraints() * s.replicates * std::min<Index>(opt.ranks, s.n_targets());
      total += static_cast<double>(models) * t_train + static_cast<double>(count) * t_answer;
      per_task = t_answer;
      fmt::print("  estimate    amortized: {} per model ({} model{}), {} per target\n", human_seconds(t_train), models,
                 models == 1 ? "" : "s", human_seconds(per_task));
      continue;
    }
    const int steps = kind == inverse::SolverKind::generator ? spec.generator.steps : spec.adjoint.steps;
    per_task = estimate_task(o, net, spec, steps);
    total += per_task * static_cast<double>(count);
    fmt::print("  estimate    {}: {} per task × {} tasks\n", inverse::to_string(kind), human_seconds(per_task), count);
  }
  fmt::print("  run time    about {} on {} rank{} (upper bound: early stopping shortens it)\n",
             human_seconds(total / opt.ranks), opt.ranks, opt.ranks == 1 ? "" : "s");
  return 0;
}

}  // namespace

void setup_check(CLI::App& app) {
  auto opt = std::make_shared<CheckOptions>();
  CLI::App* sub = app.add_subcommand("check", "Validate a sweep against its oracle; print task count, output size, "
                                              "estimated run time (runs nothing)");
  sub->add_option("sweep", opt->sweep, "Sweep file (.toml)")->required();
  sub->add_option("--out,-o", opt->out, "Results file the run would write (default: the sweep's 'output')");
  CLI::Option* ranks =
      sub->add_option("--ranks,-n", opt->ranks, "Ranks to estimate the run time for")->capture_default_str();
  sub->add_flag("--no-calibration", opt->no_calibration, "Skip the timing runs");
  sub->add_flag("--output-path", opt->output_path,
                "Validate, then print only the results file's path (as `run` resolves it) and exit")
      ->excludes(ranks);
  sub->callback([opt] { exit_code() = run_check(*opt); });
}

}  // namespace invsweep::cli
