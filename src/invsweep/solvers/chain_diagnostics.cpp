// Split-R̂ and multi-chain effective sample size (sampler.hpp, ChainDiagnostics).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "invsweep/solvers/sampler.hpp"

namespace invsweep::solvers {

ChainDiagnostics chain_diagnostics(const std::vector<MatrixD>& draws) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  ChainDiagnostics d;
  if (draws.empty()) return d;
  const Index nf = draws[0].rows(), n2 = draws[0].cols() / 2;
  d.rhat = VectorD::Constant(nf, nan);
  d.ess = VectorD::Constant(nf, nan);
  if (n2 < 2) return d;
  const auto m = static_cast<Index>(2 * draws.size());
  VectorD mean(m), var(m);
  std::vector<VectorD> seq(static_cast<std::size_t>(m), VectorD(n2));
  for (Index f = 0; f < nf; ++f) {
    for (Index c = 0; c < m; ++c) {
      const MatrixD& x = draws[static_cast<std::size_t>(c / 2)];
      VectorD& s = seq[static_cast<std::size_t>(c)];
      for (Index i = 0; i < n2; ++i)
        s[i] = x(f, (c % 2) * n2 + i);
      mean[c] = s.mean();
      var[c] = (s.array() - mean[c]).square().sum() / static_cast<double>(n2 - 1);
    }
    const double w = var.mean();
    // A feature that does not vary (an isolated root: only rounding noise) has no R̂ or ESS.
    if (!(std::sqrt(w) > 1e-9 * (1.0 + std::abs(mean.mean())))) continue;
    const double b = static_cast<double>(n2) * (mean.array() - mean.mean()).square().sum() / static_cast<double>(m - 1);
    const double vplus = (static_cast<double>(n2 - 1) * w + b) / static_cast<double>(n2);
    d.rhat[f] = std::sqrt(vplus / w);
    // Averaged autocovariance → autocorrelation ρ_t = 1 − (W − mean acov_t)/var⁺; Geyer's
    // initial positive, monotone sequence of pair sums.
    const auto rho = [&](Index lag) {
      double acov = 0;
      for (Index c = 0; c < m; ++c) {
        const VectorD& s = seq[static_cast<std::size_t>(c)];
        double a = 0;
        for (Index i = 0; i + lag < n2; ++i)
          a += (s[i] - mean[c]) * (s[i + lag] - mean[c]);
        acov += a / static_cast<double>(n2);
      }
      acov /= static_cast<double>(m);
      return 1.0 - (w * static_cast<double>(n2 - 1) / static_cast<double>(n2) - acov) / vplus;
    };
    double tau = -1.0, prev = std::numeric_limits<double>::infinity();
    for (Index k = 0; 2 * k + 1 < n2; ++k) {
      double pk = rho(2 * k) + rho(2 * k + 1);
      if (pk < 0) break;
      pk = std::min(pk, prev);
      prev = pk;
      tau += 2.0 * pk;
    }
    tau = std::max(tau, 1.0 / std::log10(static_cast<double>(m * n2)));  // Stan's cap on antithetic chains
    d.ess[f] = static_cast<double>(m * n2) / tau;
  }
  return d;
}

}  // namespace invsweep::solvers
