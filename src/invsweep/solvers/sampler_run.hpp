#pragma once
// The sampler's state for one task (sampler.hpp, docs/SAMPLER.md), shared by its three
// files: sampler.cpp (the run: starting points, warm-up, chains, families), sampler_set.cpp
// (the box, the solution set, projections onto it) and sampler_pick.cpp (independence
// proposals and the returned vectors). Everything runs in the oracle's scaled units
// s = (x − mean)/scale over the free features.
#include <array>
#include <chrono>
#include <limits>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "invsweep/core/eigen.hpp"
#include "invsweep/core/rng.hpp"
#include "invsweep/inverse/problem.hpp"
#include "invsweep/inverse/spec.hpp"
#include "invsweep/nn/mlp.hpp"
#include "invsweep/solvers/sampler.hpp"

namespace invsweep::solvers::sampling {

using namespace inverse;

using Clock = std::chrono::steady_clock;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Independence sampler: the bandwidths tried, in median nearest-centre distances, the
// pilot's proposals per chain, the largest thinning, the acceptance below which the
// random-walk chains are used instead, and the shell it draws its centres from.
constexpr std::array<double, 3> kBandwidths = {1.0, 2.0, 4.0};
constexpr int kIndependenceWarmup = 10;
constexpr int kIndependenceMaxThin = 50;
constexpr double kIndependenceMinAcceptance = 0.02;
constexpr Index kIndependenceShell = 32768;
constexpr int kMaxDraws = 256;
constexpr Index kPilotProposals = 1024;

/// The oracle in double over batches of free features (scaled units): the constrained
/// outputs' residuals u − t and their Jacobians du/ds.
class Evaluator {
 public:
  Evaluator(const Problem& p, std::vector<Index> outs, VectorD target_u)
      : p_(p), outs_(std::move(outs)), t_u_(std::move(target_u)) {}

  Index m() const { return static_cast<Index>(outs_.size()); }

  /// Scaled outputs u [n_out, B] of the columns of s (valid until the next call).
  MatrixMap<double> outputs(const MatrixD& s) {
    const Index b = s.cols();
    if (ws_.capacity() < b) ws_.reserve(p_.oracle().net, b);
    ws_.set_batch(b);
    MatrixMap<double> in = ws_.input();
    for (Index j = 0; j < b; ++j)
      in.col(j) = p_.fixed_scaled();
    for (Index k = 0; k < p_.n_free(); ++k)
      in.row(p_.free_index(k)) = s.row(k);
    nn::forward(p_.oracle().net, ws_);
    return ws_.output();
  }
  /// Residuals r [m, B] = u − t of the constrained outputs, or u − levels (one level per
  /// column, [m, B]) when `levels` is given.
  void residual(const MatrixD& s, MatrixD& r, const MatrixD* levels = nullptr) {
    const MatrixMap<double> u = outputs(s);
    r.resize(m(), s.cols());
    for (Index k = 0; k < m(); ++k) {
      r.row(k) = u.row(outs_[static_cast<std::size_t>(k)]);
      if (levels != nullptr)
        r.row(k) -= levels->row(k);
      else
        r.row(k).array() -= t_u_[k];
    }
  }
  /// Jacobian rows at the point of the last call: jac[k] [n_free, B] = du_k/ds.
  void jacobian(std::vector<MatrixD>& jac) {
    jac.resize(outs_.size());
    for (Index k = 0; k < m(); ++k) {
      ws_.grad_output().setZero();
      ws_.grad_output().row(outs_[static_cast<std::size_t>(k)]).setOnes();
      nn::backward(p_.oracle().net, ws_, nullptr, true);
      MatrixD& j = jac[static_cast<std::size_t>(k)];
      j.resize(p_.n_free(), ws_.batch());
      for (Index f = 0; f < p_.n_free(); ++f)
        j.row(f) = ws_.grad_input().row(p_.free_index(f));
    }
  }

 private:
  const Problem& p_;
  std::vector<Index> outs_;
  VectorD t_u_;
  nn::MlpWorkspace<double> ws_;
};

/// Column c of a Jacobian stored by rows: the [m, n_free] matrix J.
MatrixD jac_at(const std::vector<MatrixD>& jac, Index c);

/// Union–find over chains.
struct Families {
  std::vector<Index> parent;
  explicit Families(Index n) : parent(static_cast<std::size_t>(n)) { std::iota(parent.begin(), parent.end(), 0); }
  Index find(Index a) {
    while (parent[static_cast<std::size_t>(a)] != a)
      a = parent[static_cast<std::size_t>(a)] = parent[static_cast<std::size_t>(parent[static_cast<std::size_t>(a)])];
    return a;
  }
  void join(Index a, Index b) { parent[static_cast<std::size_t>(find(a))] = find(b); }
};

/// One task's sampling run: state lives here, settings in SamplerSettings.
class Run {
 public:
  Run(const Problem& p, const SamplerSettings& ss, const TaskSpec& spec)
      : p_(p), ss_(ss), spec_(spec), nf_(p.n_free()), rng_(derive_seed({spec.seed, 0x5A3})) {
    resolve_box();
    resolve_set();
  }

  TaskResult run();

 private:
  enum class Mode { manifold, band, range };

  const Problem& p_;
  const SamplerSettings& ss_;
  const TaskSpec& spec_;
  Index nf_;
  Rng rng_;
  Mode mode_ = Mode::manifold;
  VectorD lo_, hi_;          // the prior's box, scaled units
  std::vector<Index> outs_;  // constrained outputs
  VectorD t_u_, half_u_;     // target (or range centre) and band half-width / range half-width, scaled
  VectorD rlo_u_, rhi_u_;    // range bounds, scaled
  std::unique_ptr<Evaluator> ev_;
  std::string notes_;
  // Band and range: each chain's manifold moves stay on its current level set u = levels
  // (the conditional of the uniform prior on the set given u is the co-area density there).
  MatrixD levels_;
  bool at_levels_ = false;
  bool imh_failed_ = false;

  void resolve_box();
  void resolve_set();
  /// Sizes the per-constrained-output vectors (target, half-width, range ends) to m outputs.
  void size_set(Index m);
  /// In the prior's support: the box, and the plausibility ellipsoid when the setting has one.
  bool inside_box(const Eigen::Ref<const VectorD>& s) const {
    return (s.array() >= lo_.array()).all() && (s.array() <= hi_.array()).all() && plausible(s);
  }
  bool plausible(const Eigen::Ref<const VectorD>& s) const {
    return !p_.has_plausibility() || p_.mahalanobis_grad(s, nullptr) <= p_.constraint().plausible;
  }
  /// Distance-like score of each column of s to the set: band/range: ≤ 1 / = 0 inside;
  /// manifold: the residual norm.
  VectorD score(const MatrixD& s);
  double tol_u() const { return 1e-10 * std::max(1.0, t_u_.cwiseAbs().maxCoeff()); }
  /// Newton along fixed normal directions dir (rows of J at the start) from base, for the
  /// active columns: y = base + dirᵀ a with r(y) = 0. ok[c] = converged; jy = J(y).
  void project(const MatrixD& base, const std::vector<MatrixD>& dir, std::vector<char>& ok, MatrixD& y,
               std::vector<MatrixD>& jy);
  /// Minimal-norm Gauss–Newton with backtracking from each column of s (clamped to the box).
  void newton_to_set(MatrixD& s, std::vector<char>& ok);
  double log_weight(const MatrixD& j) const;
  /// The returned vectors from the chains' kept draws: each family (fam_of[c] for chain c)
  /// gets share × samples of them (largest remainder), evenly spaced picks from its chains'
  /// pooled draws; diagnostics and the message.
  TaskResult pick(TaskResult& res, const std::vector<MatrixD>& kept, const std::vector<Index>& fam_of,
                  const VectorD& share, Index per_chain, bool exact_starts);
  /// Band and range: independence Metropolis–Hastings with a kernel-mixture proposal fitted to
  /// points of the set's middle level (sampler_independence.hpp). False (and nothing changed
  /// but notes) when it does not apply or its acceptance is too low to be useful.
  bool independence(const MatrixD& shell_pts, std::vector<MatrixD>& kept, Index& per_chain, TaskResult& res);
};

}  // namespace invsweep::solvers::sampling
