// Timed runs of the generator solver (inverse::solve, the code path a sweep runs) on the
// benchmark shapes, a large float32 matrix product as the machine's reference speed, and the
// synthetic oracles the sweep memory test uses. Prints `key=value` lines for bench/run.sh.
//
//   invsweep_bench train CASE [STEPS]   steps/s of one generator task (after a warm-up task)
//   invsweep_bench gemm [N] [REPEATS]   GFLOP/s of C = A·B, float32, N×N, single-threaded
//   invsweep_bench oracle CASE FILE     writes CASE's synthetic oracle as an oracle file
//   invsweep_bench flags                the build's compiler flags
//
// Cases (oracle; generator latent → hidden → n_in; batch): tiny 1-32-32-1, 4 → 32 → 32 → 1,
// batch 64; small 4-64-64-1, 8 → 64 → 64 → 4, batch 256; large 16-256-256-256-4,
// 32 → 256 → 256 → 16, batch 1024. Hidden layers tanh, output layers identity.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "invsweep/core/rng.hpp"
#include "invsweep/oracle/oracle_io.hpp"
#include "invsweep/solvers/generator.hpp"
#include "invsweep/solvers/registry.hpp"
#include "invsweep/version.hpp"

using namespace invsweep;
using Clock = std::chrono::steady_clock;

namespace {

struct Case {
  std::string_view name;
  std::vector<Index> oracle;  // n_in, hidden…, n_out
  Index latent;
  std::vector<Index> hidden;
  Index batch;
};

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      {"tiny", {1, 32, 32, 1}, 4, {32, 32}, 64},
      {"small", {4, 64, 64, 1}, 8, {64, 64}, 256},
      {"large", {16, 256, 256, 256, 4}, 32, {256, 256}, 1024},
  };
  return c;
}

const Case& find_case(std::string_view name) {
  for (const Case& c : cases())
    if (c.name == name) return c;
  std::fprintf(stderr, "unknown case '%.*s' (tiny, small, large)\n", static_cast<int>(name.size()), name.data());
  std::exit(2);
}

oracle::Oracle make_oracle(const Case& c) {
  oracle::Oracle o;
  const Index n_in = c.oracle.front(), n_out = c.oracle.back();
  for (Index i = 0; i < n_in; ++i)
    o.input_names.push_back("x" + std::to_string(i + 1));
  for (Index i = 0; i < n_out; ++i)
    o.output_names.push_back("y" + std::to_string(i + 1));
  const std::vector<Index> hidden(c.oracle.begin() + 1, c.oracle.end() - 1);
  o.net = nn::Mlp<double>::make(n_in, hidden, n_out, nn::Activation::tanh);
  Rng rng(20260);
  o.net.init_glorot(rng);
  o.input_scaler = nn::Scaler::identity(n_in);
  o.output_scaler = nn::Scaler::identity(n_out);
  o.input_lo = VectorD::Constant(n_in, -2.0);
  o.input_hi = VectorD::Constant(n_in, 2.0);
  return o;
}

inverse::TaskSpec make_spec(const Case& c, const oracle::Oracle& o, int steps) {
  inverse::TaskSpec s;
  s.seed = 1;
  s.samples = c.batch;
  s.solver = solvers::find("generator");
  s.objective.kind = inverse::ObjectiveKind::target;
  s.objective.target = VectorD::Constant(o.n_out(), 0.3);
  s.constraint = inverse::Constraint::free(o.n_in());
  solvers::GeneratorSettings g;
  g.latent = c.latent;
  g.hidden = c.hidden;
  g.activation = nn::Activation::tanh;
  g.steps = steps;
  g.lr = 1e-3;
  g.schedule = inverse::Schedule::constant;  // as a plain torch.optim.Adam loop
  s.settings = g;
  return s;
}

/// Multiply-adds of one sample's pass through layers of these widths (n_0 → n_1 → …).
double macs(const std::vector<Index>& widths, std::size_t from_layer = 0) {
  double m = 0;
  for (std::size_t i = from_layer; i + 1 < widths.size(); ++i)
    m += static_cast<double>(widths[i]) * static_cast<double>(widths[i + 1]);
  return m;
}

/// FLOPs of one training step, counted from the shapes: 2 per multiply-add of the matrix
/// products — generator forward, oracle forward, oracle backward to its inputs (no weight
/// gradient: it is frozen), generator backward to its weights and to the inputs of every
/// layer but the first. Element-wise work (bias, activations, loss, Adam) is not counted.
double flops_per_step(const Case& c) {
  std::vector<Index> gen{c.latent};
  gen.insert(gen.end(), c.hidden.begin(), c.hidden.end());
  gen.push_back(c.oracle.front());
  const double per_sample = macs(gen) + macs(c.oracle) + macs(c.oracle) + macs(gen) + macs(gen, 1);
  return 2.0 * per_sample * static_cast<double>(c.batch);
}

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

int train(const Case& c, int steps) {
  const oracle::Oracle o = make_oracle(c);
  const nn::Mlp<float> net = o.net.cast<float>();
  // Warm-up task (page faults, caches, CPU frequency), then the timed task.
  (void)solvers::solve(o, net, make_spec(c, o, std::max(2, steps / 10)));
  const inverse::TaskSpec spec = make_spec(c, o, steps);
  const Clock::time_point t0 = Clock::now();
  const inverse::TaskResult r = solvers::solve(o, net, spec);
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const double rate = static_cast<double>(r.steps) / secs;
  const double flops = flops_per_step(c);
  std::printf(
      "case=%.*s steps=%lld seconds=%.4f steps_per_s=%.2f flops_per_step=%.0f gflops=%.3f final_loss=%.3g "
      "status=%d peak_rss_mib=%.1f\n",
      static_cast<int>(c.name.size()), c.name.data(), static_cast<long long>(r.steps), secs, rate, flops,
      rate * flops * 1e-9, r.final_loss, static_cast<int>(r.status), peak_rss_mib());
  return r.steps == steps ? 0 : 1;
}

int gemm(Index n, int repeats) {
  Rng rng(3);
  MatrixF a(n, n), b(n, n), c(n, n);
  for (Index i = 0; i < a.size(); ++i) {
    a.data()[i] = static_cast<float>(rng.uniform(-1, 1));
    b.data()[i] = static_cast<float>(rng.uniform(-1, 1));
  }
  c.noalias() = a * b;  // warm-up
  std::vector<double> rates;
  for (int r = 0; r < repeats; ++r) {
    const Clock::time_point t0 = Clock::now();
    c.noalias() = a * b;
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    rates.push_back(2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n) / secs * 1e-9);
  }
  std::sort(rates.begin(), rates.end());
  std::printf("gemm n=%lld repeats=%d gflops_median=%.3f gflops_max=%.3f check=%.3g\n", static_cast<long long>(n),
              repeats, rates[rates.size() / 2], rates.back(), static_cast<double>(c(0, 0)));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::fprintf(stderr, "usage: invsweep_bench train CASE [STEPS] | gemm [N] [REPEATS] | oracle CASE FILE | flags\n");
    return 2;
  }
  const auto arg_int = [&](std::size_t i, long fallback) {
    return args.size() > i ? std::strtol(std::string(args[i]).c_str(), nullptr, 10) : fallback;
  };
  if (args[0] == "flags") {
    std::printf("flags=%s build_type=%s eigen=%d.%d.%d simd=%s\n", kBuildFlags, kBuildType, EIGEN_WORLD_VERSION,
                EIGEN_MAJOR_VERSION, EIGEN_MINOR_VERSION, Eigen::SimdInstructionSetsInUse());
    return 0;
  }
  if (args[0] == "train" && args.size() >= 2) return train(find_case(args[1]), static_cast<int>(arg_int(2, 2000)));
  if (args[0] == "gemm") return gemm(arg_int(1, 2048), static_cast<int>(arg_int(2, 5)));
  if (args[0] == "oracle" && args.size() == 3) {
    oracle::save_oracle(std::string(args[2]), make_oracle(find_case(args[1])));
    return 0;
  }
  std::fprintf(stderr, "invsweep_bench: bad arguments\n");
  return 2;
}
