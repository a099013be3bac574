// Independence Metropolis–Hastings with level-set kernels (sampler_independence.hpp).
#include "invsweep/solvers/sampler_independence.hpp"

#include <Eigen/LU>
#include <Eigen/QR>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace invsweep::solvers {

LevelSetKernels::LevelSetKernels(MatrixD centres, const std::vector<MatrixD>& jac, double h)
    : centres_(std::move(centres)), m_(jac.empty() ? 0 : jac[0].rows()), h_(h) {
  const Index nf = centres_.rows();
  basis_.reserve(jac.size());
  for (const MatrixD& j : jac) {
    const Eigen::HouseholderQR<MatrixD> qr(j.transpose());  // Q's first m columns span the rows of J
    basis_.emplace_back(qr.householderQ() * MatrixD::Identity(nf, nf));
  }
}

VectorD LevelSetKernels::tangent_draw(Index k, Rng& rng) const {
  const Index nf = dim();
  VectorD xi(nf - m_);
  for (Index i = 0; i < xi.size(); ++i)
    xi[i] = h_ * rng.normal();
  return centres_.col(k) + basis_[static_cast<std::size_t>(k)].rightCols(nf - m_) * xi;
}

VectorD LevelSetKernels::tangent_point(Index k, const Eigen::Ref<const VectorD>& x) const {
  const auto t = basis_[static_cast<std::size_t>(k)].rightCols(dim() - m_);
  return centres_.col(k) + t * (t.transpose() * (x - centres_.col(k)));
}

Index LevelSetKernels::nearest(const Eigen::Ref<const VectorD>& x) const {
  Index best = 0;
  (centres_.colwise() - x).colwise().squaredNorm().minCoeff(&best);
  return best;
}

double LevelSetKernels::log_density(Index k, const Eigen::Ref<const VectorD>& x, const MatrixD& j) const {
  const Index nf = dim(), dt = nf - m_;
  const MatrixD& q = basis_[static_cast<std::size_t>(k)];
  const VectorD xi = q.rightCols(dt).transpose() * (x - centres_.col(k));
  const double det = m_ == 1 ? j.row(0).dot(q.col(0)) : (j * q.leftCols(m_)).partialPivLu().determinant();
  return -0.5 * static_cast<double>(dt) * std::log(2 * std::numbers::pi * h_ * h_) -
         0.5 * xi.squaredNorm() / (h_ * h_) + std::log(std::abs(det));
}

IndependenceChains independence_chains(const ProposeFn& propose, const MatrixD& starts, const VectorD& start_logw,
                                       Index per_chain, int warmup, int max_thin, Rng& rng, Index batch) {
  const Index nf = starts.rows(), nc = starts.cols();
  IndependenceChains out;
  MatrixD x = starts;
  VectorD logw = start_logw;
  out.kept.assign(static_cast<std::size_t>(nc), MatrixD(nf, per_chain));
  const Index rounds_per_batch = std::max<Index>(1, batch / std::max<Index>(nc, 1));
  MatrixD y;
  VectorD lw;
  // Proposal column r·nc + c of a batch goes to chain c in round r.
  const auto advance = [&](Index rounds, const std::function<void(Index)>& after_round) {
    Index accepted = 0;
    for (Index r0 = 0; r0 < rounds; r0 += rounds_per_batch) {
      const Index nr = std::min(rounds_per_batch, rounds - r0);
      propose(nr * nc, y, lw);
      out.proposals += nr * nc;
      for (Index r = 0; r < nr; ++r) {
        for (Index c = 0; c < nc; ++c) {
          const Index j = r * nc + c;
          if (!(lw[j] > -std::numeric_limits<double>::infinity())) continue;
          if (std::log(rng.uniform()) < lw[j] - logw[c]) {
            x.col(c) = y.col(j);
            logw[c] = lw[j];
            ++accepted;
          }
        }
        after_round(r0 + r);
      }
    }
    return accepted;
  };
  const Index acc_warm = advance(warmup, [](Index) {});
  const double a_warm = static_cast<double>(acc_warm) / static_cast<double>(std::max<Index>(1, warmup * nc));
  out.thin = static_cast<int>(std::clamp(std::ceil(1.5 / std::max(a_warm, 1e-9)), 1.0, static_cast<double>(max_thin)));
  const int thin = out.thin;
  const Index acc = advance(per_chain * thin, [&](Index r) {
    if ((r + 1) % thin == 0)
      for (Index c = 0; c < nc; ++c)
        out.kept[static_cast<std::size_t>(c)].col((r + 1) / thin - 1) = x.col(c);
  });
  out.acceptance = static_cast<double>(acc) / static_cast<double>(std::max<Index>(1, per_chain * thin * nc));
  return out;
}

}  // namespace invsweep::solvers
