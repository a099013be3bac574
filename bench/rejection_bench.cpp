// The peer of bench/sampler_vs_rejection.sh: rejection sampling through an oracle with the
// project's own batched forward pass (float32, the faster of the two precisions; a relative
// band of 1e-4 is still 500 float32 ulps wide). Uniform draws over the oracle's input box,
// kept when every output is within band·|t| of its target. Prints `key=value` lines.
//
//   rejection_bench ORACLE.h5 TARGETS BAND SECONDS   TARGETS: comma-separated, one per output
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "invsweep/core/rng.hpp"
#include "invsweep/nn/mlp.hpp"
#include "invsweep/oracle/oracle_io.hpp"

using namespace invsweep;

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: rejection_bench ORACLE.h5 TARGETS BAND SECONDS\n");
    return 2;
  }
  const oracle::Oracle o = oracle::load_oracle(argv[1]);
  std::vector<double> t;
  for (std::string s = argv[2]; !s.empty();) {
    const std::size_t c = s.find(',');
    t.push_back(std::strtod(s.substr(0, c).c_str(), nullptr));
    s = c == std::string::npos ? "" : s.substr(c + 1);
  }
  const double band = std::strtod(argv[3], nullptr), budget = std::strtod(argv[4], nullptr);
  const Index n_in = o.net.n_in(), n_out = o.net.n_out(), batch = 8192;
  if (static_cast<Index>(t.size()) != n_out) return 2;
  const nn::Mlp<float> net = o.net.cast<float>();
  nn::MlpWorkspace<float> ws;
  ws.reserve(net, batch);
  ws.set_batch(batch);
  // The band in scaled output units, and the box in scaled input units.
  std::vector<float> t_u(static_cast<std::size_t>(n_out)), w_u(static_cast<std::size_t>(n_out));
  for (Index k = 0; k < n_out; ++k) {
    t_u[static_cast<std::size_t>(k)] =
        static_cast<float>((t[static_cast<std::size_t>(k)] - o.output_scaler.mean[k]) / o.output_scaler.scale[k]);
    w_u[static_cast<std::size_t>(k)] =
        static_cast<float>(band * std::abs(t[static_cast<std::size_t>(k)]) / o.output_scaler.scale[k]);
  }
  VectorD lo(n_in), width(n_in);
  for (Index i = 0; i < n_in; ++i) {
    lo[i] = (o.input_lo[i] - o.input_scaler.mean[i]) / o.input_scaler.scale[i];
    width[i] = (o.input_hi[i] - o.input_lo[i]) / o.input_scaler.scale[i];
  }
  Rng rng(1);
  std::int64_t draws = 0, hits = 0;
  const auto t0 = std::chrono::steady_clock::now();
  double secs = 0;
  while (secs < budget) {
    auto in = ws.input();
    for (Index j = 0; j < batch; ++j)
      for (Index i = 0; i < n_in; ++i)
        in(i, j) = static_cast<float>(lo[i] + width[i] * rng.uniform());
    nn::forward(net, ws);
    const auto out = ws.output();
    for (Index j = 0; j < batch; ++j) {
      bool ok = true;
      for (Index k = 0; k < n_out && ok; ++k)
        ok = std::abs(out(k, j) - t_u[static_cast<std::size_t>(k)]) <= w_u[static_cast<std::size_t>(k)];
      hits += ok ? 1 : 0;
    }
    draws += batch;
    secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  std::printf("draws=%lld\nhits=%lld\nseconds=%.3f\nhits_per_second=%.2f\ndraws_per_second=%.0f\n",
              static_cast<long long>(draws), static_cast<long long>(hits), secs, static_cast<double>(hits) / secs,
              static_cast<double>(draws) / secs);
  return 0;
}
