#include "invsweep/data/reference.hpp"

#include <fmt/format.h>

#include <cmath>

#include "invsweep/core/errors.hpp"
#include "invsweep/core/rng.hpp"
#include "invsweep/core/strings.hpp"

namespace invsweep::data {

const std::vector<ReferenceProblem>& reference_problems() {
  static const std::vector<ReferenceProblem> problems = {
      {"paper4",
       "y = 9*x1^0.87 + 8.97*x1^0.02 + 0.876*x3^0.12 + 2.9876*x4^0.987",
       {"x1", "x2", "x3", "x4"},
       {"y"},
       {0, 0, 0, 0},
       {500, 500, 500, 500},
       false,
       [](const double* x) {
         return 9.0 * std::pow(x[0], 0.87) + 8.97 * std::pow(x[0], 0.02) + 0.876 * std::pow(x[2], 0.12) +
                2.9876 * std::pow(x[3], 0.987);
       }},
      {"sinc",
       "y = sin(x)/x",
       {"x"},
       {"y"},
       {-10},
       {10},
       false,
       [](const double* x) { return x[0] == 0.0 ? 1.0 : std::sin(x[0]) / x[0]; }},
      {"multiroot",
       "y = sin(x) - 0.3*ln(x+1) + 0.1*exp(-x/3) + 0.2*sqrt(x) - 0.5",
       {"x"},
       {"y"},
       {0},
       {10},
       true,
       [](const double* x) {
         const double v = x[0];
         return std::sin(v) - 0.3 * std::log(v + 1.0) + 0.1 * std::exp(-v / 3.0) + 0.2 * std::sqrt(v) - 0.5;
       }},
  };
  return problems;
}

const ReferenceProblem& reference_problem(const std::string& name) {
  std::vector<std::string> names;
  for (const ReferenceProblem& p : reference_problems()) {
    if (p.name == name) return p;
    names.push_back(p.name);
  }
  throw ConfigError(
      fmt::format("unknown data set '{}'{}; expected one of: {}", name, did_you_mean(name, names), join(names)));
}

MatrixD sample_reference(const ReferenceProblem& p, Index n, std::uint64_t seed) {
  const auto n_in = static_cast<Index>(p.inputs.size());
  MatrixD out(n, n_in + 1);
  Rng rng(derive_seed({seed, 0x5A4D}));
  std::vector<double> x(static_cast<std::size_t>(n_in));
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < n_in; ++j) {
      const auto k = static_cast<std::size_t>(j);
      const double u = p.open_lo ? 1.0 - rng.uniform() : rng.uniform();  // (0,1] or [0,1)
      x[k] = p.lo[k] + (p.hi[k] - p.lo[k]) * u;
      out(i, j) = x[k];
    }
    out(i, n_in) = p.f(x.data());
  }
  return out;
}

}  // namespace invsweep::data
