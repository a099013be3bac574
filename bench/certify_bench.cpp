// The branch and bound side of bench/certify_vs_cbc.sh. Prints `key=value` lines.
//
//   certify_bench random OUT.h5 SIZES SEED   a random ReLU oracle (SIZES like 4,64,64,1; Glorot
//                                            weights, biases uniform in ±0.1, identity scalers,
//                                            input bounds [−1, 1])
//   certify_bench maximize ORACLE.h5 LO HI [TOL] [SECONDS]
//                                            proven max of the first output over the box
//                                            (LO, HI: comma-separated, one value per input)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "invsweep/certify/branch_and_bound.hpp"
#include "invsweep/core/rng.hpp"
#include "invsweep/oracle/oracle_io.hpp"

using namespace invsweep;

namespace {

std::vector<double> numbers(const std::string& text) {
  std::vector<double> v;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t end = std::min(text.find(',', pos), text.size());
    v.push_back(std::strtod(text.substr(pos, end - pos).c_str(), nullptr));
    pos = end + 1;
  }
  return v;
}

int random_oracle(const std::string& out, const std::string& sizes_text, std::uint64_t seed) {
  const std::vector<double> sizes = numbers(sizes_text);
  if (sizes.size() < 2) return 2;
  std::vector<nn::LayerSpec> layers;
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i)
    layers.push_back({static_cast<Index>(sizes[i]), static_cast<Index>(sizes[i + 1]),
                      i + 2 < sizes.size() ? nn::Activation::relu : nn::Activation::identity});
  oracle::Oracle o;
  o.net = nn::Mlp<double>(layers);
  Rng rng(seed);
  o.net.init_glorot(rng);
  for (std::size_t i = 0; i < layers.size(); ++i)
    for (Index k = 0; k < layers[i].out; ++k)
      o.net.bias(i)[k] = rng.uniform(-0.1, 0.1);
  const Index n_in = layers.front().in, n_out = layers.back().out;
  for (Index i = 0; i < n_in; ++i)
    o.input_names.push_back("x" + std::to_string(i + 1));
  for (Index j = 0; j < n_out; ++j)
    o.output_names.push_back("y" + std::to_string(j + 1));
  o.input_scaler = nn::Scaler::identity(n_in);
  o.output_scaler = nn::Scaler::identity(n_out);
  o.input_lo = VectorD::Constant(n_in, -1.0);
  o.input_hi = VectorD::Constant(n_in, 1.0);
  oracle::save_oracle(out, o);
  return 0;
}

int maximize(const std::string& path, const std::string& lo, const std::string& hi, double tol, double seconds) {
  const oracle::Oracle o = oracle::load_oracle(path);
  const std::vector<double> l = numbers(lo), h = numbers(hi);
  if (static_cast<Index>(l.size()) != o.n_in() || static_cast<Index>(h.size()) != o.n_in()) {
    std::fprintf(stderr, "certify_bench: the box needs %ld values per end\n", static_cast<long>(o.n_in()));
    return 2;
  }
  certify::Box box{VectorD(o.n_in()), VectorD(o.n_in())};
  for (Index i = 0; i < o.n_in(); ++i) {
    box.lo[i] = l[static_cast<std::size_t>(i)];
    box.hi[i] = h[static_cast<std::size_t>(i)];
  }
  certify::BnbSettings s;
  s.tolerance = tol;
  s.time_limit = seconds;
  const VectorD c = VectorD::Unit(o.n_out(), 0);
  const auto t0 = std::chrono::steady_clock::now();
  const certify::OptimumResult r = certify::maximize(o, c, box, s);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("status=%d\nbound_lo=%.12g\nbound_hi=%.12g\nboxes=%lld\nseconds=%.4f\n", static_cast<int>(r.status),
              r.bound_lo, r.bound_hi, static_cast<long long>(r.boxes), wall);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> a(argv + 1, argv + argc);
  try {
    if (a.size() == 4 && a[0] == "random") return random_oracle(a[1], a[2], std::stoull(a[3]));
    if (a.size() >= 4 && a[0] == "maximize")
      return maximize(a[1], a[2], a[3], a.size() > 4 ? std::stod(a[4]) : 1e-4, a.size() > 5 ? std::stod(a[5]) : 600);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "certify_bench: %s\n", e.what());
    return 2;
  }
  std::fprintf(stderr, "usage: certify_bench random OUT.h5 SIZES SEED | maximize ORACLE.h5 LO HI [TOL] [SECONDS]\n");
  return 2;
}
