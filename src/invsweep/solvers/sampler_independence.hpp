#pragma once
// Independence Metropolis–Hastings on a solution set (docs/SAMPLER.md, "Independence
// proposals"). A proposal picks one of K kernels uniformly, centred at points c_k of the set's
// middle level, draws a tangent offset ξ ~ N(0, h² I) in the tangent space of c_k's level set,
// a level τ (fixed for a level set, uniform over the band or range otherwise), and projects
// c_k + T_k ξ onto u = τ along the normal space N_k of c_k (Newton). The proposal stands only
// when c_k is the centre nearest to the result x (otherwise it fails: the chain stays), so
// each x can come from one kernel only, k(x), with one (ξ, τ) = (T_kᵀ(x − c_k), u(x)). In the
// orthonormal frame [N_k T_k] the map (ξ, a) ↦ x is orthogonal and (ξ, a) ↦ (ξ, τ) has
// Jacobian det(J(x) N_k), so the proposal density at x — with respect to volume for a band or
// range, and to surface measure times det(J Jᵀ)^½ for a level set — is
//     q(x) = 1/K · N(ξ; 0, h² I) · p(u(x)) · |det(J(x) N_k(x))|.
// The importance weight π/q is then 1/q up to a constant in both cases (for a level set the
// co-area weight det(J Jᵀ)^−½ cancels against the surface element). Proposals do not depend on
// the chains' states: they go through the oracle in large batches, and a chain moves between
// disconnected families in one step, so the families' shares come from the chains.
#include <functional>
#include <vector>

#include "invsweep/core/eigen.hpp"
#include "invsweep/core/rng.hpp"

namespace invsweep::solvers {

class LevelSetKernels {
 public:
  /// centres [nf, K] (distinct); jac[k] the [m, nf] Jacobian of the constrained outputs at
  /// centre k (full row rank); h the tangent bandwidth.
  LevelSetKernels(MatrixD centres, const std::vector<MatrixD>& jac, double h);

  Index dim() const { return centres_.rows(); }
  Index size() const { return centres_.cols(); }
  Index m() const { return m_; }
  /// Kernel k's centre and normal basis N_k [nf, m] (orthonormal).
  auto centre(Index k) const { return centres_.col(k); }
  auto normal(Index k) const { return basis_[static_cast<std::size_t>(k)].leftCols(m_); }
  /// c_k + T_k ξ with ξ ~ N(0, h² I).
  VectorD tangent_draw(Index k, Rng& rng) const;
  /// The projection of x onto kernel k's tangent plane: c_k + T_k T_kᵀ (x − c_k).
  VectorD tangent_point(Index k, const Eigen::Ref<const VectorD>& x) const;
  /// The centre nearest to x (Euclidean).
  Index nearest(const Eigen::Ref<const VectorD>& x) const;
  /// log[N(ξ; 0, h² I) · |det(J(x) N_k)|] for x produced by kernel k (the constant 1/K and
  /// the level density p(u(x)) left out); j the [m, nf] Jacobian at x.
  double log_density(Index k, const Eigen::Ref<const VectorD>& x, const MatrixD& j) const;

 private:
  MatrixD centres_;
  std::vector<MatrixD> basis_;  // Q_k [nf, nf]: normal columns first, then tangent
  Index m_;
  double h_;
};

struct IndependenceChains {
  std::vector<MatrixD> kept;  ///< per chain [nf, per_chain]
  double acceptance = 0;      ///< accepted proposals / proposals after warm-up
  Index proposals = 0;        ///< proposals drawn in all (warm-up included)
  int thin = 1;               ///< proposals per kept state
};

/// Fills y [nf, n] with n proposals and logw [n] with their log importance weights
/// log π(y) − log q(y) (−∞ for a proposal that failed or lies outside the set).
using ProposeFn = std::function<void(Index n, MatrixD& y, VectorD& logw)>;

/// Runs starts.cols() chains from the given states (whose log weights are start_logw): a
/// pilot of `warmup` proposals per chain estimates the acceptance rate a, then each chain keeps
/// a state every ⌈1.5/a⌉ proposals (at most max_thin) until it holds per_chain. Proposals are
/// requested in batches of about `batch`.
IndependenceChains independence_chains(const ProposeFn& propose, const MatrixD& starts, const VectorD& start_logw,
                                       Index per_chain, int warmup, int max_thin, Rng& rng, Index batch = 8192);

}  // namespace invsweep::solvers
