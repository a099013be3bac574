#pragma once
// Solver `sampler`: draws from the prior (uniform over the constraint setting's box, fixed
// features held) restricted to the solution set (DESIGN.md, "Sampling"; docs/SAMPLER.md).
//
//  - kind = target, band = 0: the level set f(x) = t with the co-area density
//    prior(x) / sqrt(det(J Jᵀ)), by constrained random-walk Metropolis on the manifold
//    (Zappa, Holmes-Cerfon & Goodman 2018): tangent Gaussian step, Newton projection along
//    the normal space, reverse-projection check, co-area weight and box in the acceptance.
//  - kind = target, band > 0 (|f − t| ≤ band·|t|) and kind = range: random-walk Metropolis
//    inside the (full-dimensional) set with the uniform prior.
//  - First method: independence Metropolis–Hastings with kernels on the set's middle level
//    (sampler_independence.hpp); chains jump between disconnected families, so their shares
//    come from the chains. The random-walk chains are the fallback, with family shares from a
//    shell estimate over uniform prior draws (docs/SAMPLER.md explains both and their limits).
#include <vector>

#include "invsweep/config/settings.hpp"
#include "invsweep/core/eigen.hpp"

namespace invsweep::solvers {

/// auto: independence proposals, random-walk chains when their acceptance is below 2 %;
/// independence: only those (a task fails when they do not work); chains: only the chains.
enum class SamplerMethod { automatic, independence, chains };

struct SamplerSettings {
  SamplerMethod method = SamplerMethod::automatic;
  Index chains = 32;        ///< Markov chains per task
  int warmup = 1000;        ///< iterations per chain that adapt the step size (discarded)
  int thin = 10;            ///< keep every thin-th state after warm-up
  double band = 0.0;        ///< kind = target: 0 = the level set, else |f − t| ≤ band·|t|
  double acceptance = 0.4;  ///< warm-up adapts the step size toward this acceptance rate
  double step = 0.0;        ///< initial step size in scaled units (0: a tenth of the box)
  Index shell = 100000;     ///< uniform prior draws for the starting points and family shares
  int oversample = 2;       ///< draws kept per returned vector (the pool the vectors come from)

  static const config::SettingsTable<SamplerSettings>& table();
};

/// Convergence diagnostics over chains of equal length: draws[c] is chain c's [n_features,
/// n_draws] matrix. Split-R̂ (the classic between/within ratio over half-chains) and the
/// multi-chain effective sample size (Geyer's initial monotone sequence on the averaged
/// autocorrelation, as in Stan), per feature. Features with no variance give NaN.
struct ChainDiagnostics {
  VectorD rhat, ess;
};
ChainDiagnostics chain_diagnostics(const std::vector<MatrixD>& draws);

}  // namespace invsweep::solvers
