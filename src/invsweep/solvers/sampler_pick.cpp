// The sampler's independence proposals and its returned vectors (sampler_run.hpp): kernels
// fitted to points of the set's middle level (sampler_independence.hpp), and the picks from
// the chains' kept draws by family share, with the diagnostics and the message.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <Eigen/Cholesky>
#include <Eigen/LU>
#include <algorithm>
#include <cmath>

#include "invsweep/core/errors.hpp"
#include "invsweep/solvers/sampler_independence.hpp"
#include "invsweep/solvers/sampler_run.hpp"

namespace invsweep::solvers::sampling {

bool Run::independence(const MatrixD& shell_pts, std::vector<MatrixD>& kept, Index& per_chain, TaskResult& res) {
  const Index n = spec_.samples, m = ev_->m();
  if (nf_ < m) return false;
  if (mode_ == Mode::range && !(rlo_u_.allFinite() && rhi_u_.allFinite())) {
    notes_ += "; a one-sided range: random-walk chains";
    return false;
  }
  // Centres: shell points (closest to the set first, in random order) projected onto the
  // middle level u = t_u (the target, or the range's centre); the ones in the box.
  const Index want = std::clamp<Index>(n / 2, 64, 512);
  MatrixD cand(nf_, std::min<Index>(shell_pts.cols(), 2 * want));
  {
    std::vector<Index> idx(static_cast<std::size_t>(shell_pts.cols()));
    std::iota(idx.begin(), idx.end(), 0);
    for (Index j = 0; j < cand.cols(); ++j) {
      const auto pick = static_cast<Index>(rng_.below(static_cast<std::uint64_t>(shell_pts.cols() - j))) + j;
      std::swap(idx[static_cast<std::size_t>(j)], idx[static_cast<std::size_t>(pick)]);
      cand.col(j) = shell_pts.col(idx[static_cast<std::size_t>(j)]);
    }
  }
  std::vector<char> ok;
  newton_to_set(cand, ok);
  // Distinct centres only: where the set is isolated points, many projections land on the same
  // root, and a root's chance to be proposed must not grow with their number.
  const double same = 1e-7 * (hi_ - lo_).norm();
  std::vector<Index> good;
  for (Index j = 0; j < cand.cols() && static_cast<Index>(good.size()) < want; ++j) {
    if (ok[static_cast<std::size_t>(j)] == 0) continue;
    bool repeat = false;
    for (Index g : good)
      repeat = repeat || (cand.col(j) - cand.col(g)).norm() <= same;
    if (!repeat) good.push_back(j);
  }
  const auto k = static_cast<Index>(good.size());
  if (k < (nf_ > m ? 8 : 1)) {
    notes_ += fmt::format("; {} of {} projected points in the set: random-walk chains", k, cand.cols());
    return false;
  }
  MatrixD centres(nf_, k);
  for (Index j = 0; j < k; ++j)
    centres.col(j) = cand.col(good[static_cast<std::size_t>(j)]);
  MatrixD r;
  std::vector<MatrixD> jac;
  ev_->residual(centres, r);
  ev_->jacobian(jac);
  std::vector<MatrixD> jrows;
  jrows.reserve(static_cast<std::size_t>(k));
  for (Index j = 0; j < k; ++j) {
    jrows.push_back(jac_at(jac, j));
    if ((jrows.back() * jrows.back().transpose()).llt().info() != Eigen::Success) return false;
  }
  // Tangent bandwidth: a multiple of the median distance from a centre to its nearest
  // neighbour (a proposal counts only in its own centre's Voronoi cell), at least a millionth
  // of the box.
  std::vector<double> nn_dist(static_cast<std::size_t>(k));
  for (Index j = 0; j < k; ++j) {
    VectorD d2 = (centres.colwise() - centres.col(j)).colwise().squaredNorm().transpose();
    d2[j] = std::numeric_limits<double>::infinity();
    nn_dist[static_cast<std::size_t>(j)] = std::sqrt(d2.minCoeff());
  }
  std::nth_element(nn_dist.begin(), nn_dist.begin() + k / 2, nn_dist.end());
  const double spacing = nn_dist[static_cast<std::size_t>(k / 2)];
  std::unique_ptr<LevelSetKernels> kernels;
  const auto with_bandwidth = [&](double factor) {
    kernels = std::make_unique<LevelSetKernels>(centres, jrows, std::max(factor * spacing, 1e-6 * (hi_ - lo_).mean()));
  };
  // Kernel probabilities ∝ the co-area weight det(J Jᵀ)^−½ at the centre: with the cells of
  // equally spread centres, q then follows the target's density and the weights stay near 1.
  VectorD log_rho(k);
  for (Index j = 0; j < k; ++j)
    log_rho[j] = log_weight(jrows[static_cast<std::size_t>(j)]);
  log_rho.array() -= log_rho.maxCoeff();
  std::vector<double> cum(static_cast<std::size_t>(k));
  double acc_rho = 0;
  for (Index j = 0; j < k; ++j)
    cum[static_cast<std::size_t>(j)] = acc_rho += std::exp(log_rho[j]);
  log_rho.array() -= std::log(acc_rho);

  // A proposal's log importance weight: −log of its density (the level density p(τ) is the
  // same for every proposal, and for a level set the co-area weight cancels against the
  // surface element of the parametrisation: sampler_independence.hpp).
  std::vector<MatrixD> dir(static_cast<std::size_t>(m)), jy;
  MatrixD base;
  const double edge = mode_ == Mode::band ? 1.0 : 0.0;
  const ProposeFn propose = [&](Index np, MatrixD& y, VectorD& logw) {
    if (spec_.heartbeat) spec_.heartbeat();
    const LevelSetKernels& ker = *kernels;
    std::vector<Index> kid(static_cast<std::size_t>(np));
    base.resize(nf_, np);
    for (auto& d : dir)
      d.resize(nf_, np);
    for (Index j = 0; j < np; ++j) {
      // Kernel and tangent point, drawn again until the point's nearest centre is the kernel's
      // own (a rule on the proposal alone, so the draws left out only rescale q).
      Index c = 0;
      for (int attempt = 0; attempt < kMaxDraws; ++attempt) {
        c = static_cast<Index>(std::upper_bound(cum.begin(), cum.end(), rng_.uniform() * cum.back()) - cum.begin());
        c = std::min(c, k - 1);
        base.col(j) = ker.tangent_draw(c, rng_);
        if (ker.nearest(base.col(j)) == c) break;
      }
      kid[static_cast<std::size_t>(j)] = c;
      for (Index q = 0; q < m; ++q)
        dir[static_cast<std::size_t>(q)].col(j) = ker.normal(c).col(q);
    }
    if (mode_ != Mode::manifold) {
      levels_.resize(m, np);
      for (Index j = 0; j < np; ++j)
        for (Index q = 0; q < m; ++q)
          levels_(q, j) = mode_ == Mode::band ? t_u_[q] + half_u_[q] * (2 * rng_.uniform() - 1)
                                              : rlo_u_[q] + (rhi_u_[q] - rlo_u_[q]) * rng_.uniform();
      at_levels_ = true;
    }
    std::vector<char> conv(static_cast<std::size_t>(np), 1);
    project(base, dir, conv, y, jy);
    at_levels_ = false;
    logw = VectorD::Constant(np, -std::numeric_limits<double>::infinity());
    const VectorD sc = mode_ == Mode::manifold ? VectorD::Zero(np) : score(y);
    for (Index j = 0; j < np; ++j) {
      const Index c = kid[static_cast<std::size_t>(j)];
      if (conv[static_cast<std::size_t>(j)] == 0 || !inside_box(y.col(j)) || sc[j] > edge) continue;
      if (ker.nearest(y.col(j)) != c) continue;  // only the nearest centre's kernel may propose x
      if (ker.nearest(ker.tangent_point(c, y.col(j))) != c) continue;
      logw[j] = -log_rho[c] - ker.log_density(c, y.col(j), jac_at(jy, j));
    }
  };
  const Index nc = ss_.chains;
  MatrixD starts(nf_, nc);
  for (Index c = 0; c < nc; ++c)
    starts.col(c) = centres.col(c % k);
  std::vector<MatrixD> jstart;
  ev_->residual(starts, r);
  ev_->jacobian(jstart);
  VectorD start_logw(nc);
  const auto start_weights = [&] {
    for (Index c = 0; c < nc; ++c)
      start_logw[c] = -log_rho[c % k] - kernels->log_density(c % k, starts.col(c), jac_at(jstart, c));
  };
  // The bandwidth: wider kernels smooth the weights, but more of their proposals land in
  // another centre's cell. A pilot batch per candidate measures the proposals' efficiency as
  // the importance-sampling ESS per proposal, (Σw)²/(n Σw²) with failed proposals at w = 0 —
  // it sees heavy weights (which make chains stick) as well as failures. The chains proper
  // start afresh with the best, so the choice does not bias them.
  double best_factor = kBandwidths.front(), best_eff = -1;
  for (double factor : kBandwidths) {
    with_bandwidth(factor);
    MatrixD y;
    VectorD lw;
    propose(kPilotProposals, y, lw);
    const double top = lw.maxCoeff();
    double eff = 0;
    if (std::isfinite(top)) {
      const VectorD w = (lw.array() - top).exp().matrix();
      eff = w.sum() * w.sum() / (static_cast<double>(kPilotProposals) * w.squaredNorm());
    }
    if (eff > best_eff) {
      best_eff = eff;
      best_factor = factor;
    }
  }
  with_bandwidth(best_factor);
  start_weights();
  per_chain = std::max<Index>(4, (ss_.oversample * n + nc - 1) / nc);
  IndependenceChains ch =
      independence_chains(propose, starts, start_logw, per_chain, kIndependenceWarmup, kIndependenceMaxThin, rng_);
  if (ch.acceptance < kIndependenceMinAcceptance) {
    notes_ += fmt::format("; independence proposals accepted {:.3f}: random-walk chains", ch.acceptance);
    return false;
  }
  notes_ += fmt::format("; independence MH: {} kernels, bandwidth {:g} spacings, {} proposals, thin {}", k, best_factor,
                        ch.proposals, ch.thin);
  kept = std::move(ch.kept);
  res.acceptance = ch.acceptance;
  res.steps = ch.proposals / nc;
  return true;
}

TaskResult Run::pick(TaskResult& res, const std::vector<MatrixD>& kept, const std::vector<Index>& fam_of,
                     const VectorD& share, Index per_chain, bool exact_starts) {
  const Index n = spec_.samples, nc = static_cast<Index>(kept.size()), n_fam = share.size();
  // The vectors: each family gets its share (largest remainder), evenly spaced picks from
  //    the family's pooled kept draws (chains interleaved).
  std::vector<Index> count(static_cast<std::size_t>(n_fam));
  {
    Index given = 0;
    std::vector<std::pair<double, Index>> rem;
    for (Index f = 0; f < n_fam; ++f) {
      const double want = share[f] * static_cast<double>(n);
      count[static_cast<std::size_t>(f)] = static_cast<Index>(std::floor(want));
      given += count[static_cast<std::size_t>(f)];
      rem.emplace_back(want - std::floor(want), f);
    }
    std::sort(rem.begin(), rem.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (std::size_t i = 0; given < n; ++i, ++given)
      ++count[static_cast<std::size_t>(rem[i % rem.size()].second)];
  }
  MatrixD s(nf_, n);
  Index col = 0, reused = 0;
  double rhat = kNaN, ess_min = kNaN;
  VectorD ess_sum = VectorD::Zero(nf_);
  bool any_ess = false;
  for (Index f = 0; f < n_fam; ++f) {
    std::vector<MatrixD> draws;
    for (Index c = 0; c < nc; ++c)
      if (fam_of[static_cast<std::size_t>(c)] == f) draws.push_back(kept[static_cast<std::size_t>(c)]);
    const auto nch = static_cast<Index>(draws.size());
    const Index pool = nch * per_chain, want = count[static_cast<std::size_t>(f)];
    if (want > pool) reused += want - pool;
    for (Index i = 0; i < want; ++i) {  // chain-major, so every chain contributes
      const Index q = (i * pool) / want % pool;
      s.col(col++) = draws[static_cast<std::size_t>(q / per_chain)].col(q % per_chain);
    }
    const ChainDiagnostics d = chain_diagnostics(draws);
    for (Index k = 0; k < d.rhat.size(); ++k)
      if (std::isfinite(d.rhat[k])) rhat = std::isfinite(rhat) ? std::max(rhat, d.rhat[k]) : d.rhat[k];
    for (Index k = 0; k < d.ess.size(); ++k)
      if (std::isfinite(d.ess[k])) {
        ess_sum[k] += d.ess[k];
        any_ess = true;
      }
  }
  if (any_ess) {
    ess_min = std::numeric_limits<double>::infinity();
    for (Index k = 0; k < nf_; ++k)
      if (ess_sum[k] > 0) ess_min = std::min(ess_min, ess_sum[k]);
  }
  // Chains that start from exact draws are stationary from the start: R̂, which asks whether
  // they have forgotten their starting points, does not apply (ESS still counts their draws).
  res.rhat = exact_starts ? kNaN : rhat;
  if (exact_starts) notes_ += fmt::format("; {} chains from exact draws (R̂ not applicable)", nc);
  res.ess = ess_min;
  if (reused > 0) notes_ += fmt::format("; {} vectors repeat a draw (a family had fewer draws than its share)", reused);

  res.status = Status::done;
  std::string warn;
  if (std::isfinite(res.rhat) && res.rhat > 1.05) warn += fmt::format("split-R̂ {:.3f} > 1.05", res.rhat);
  if (std::isfinite(ess_min) && ess_min < static_cast<double>(n) / 4)
    warn += fmt::format("{}ESS {:.0f} < samples/4", warn.empty() ? "" : ", ", ess_min);
  if (!warn.empty()) warn = "warning: chains not mixed (" + warn + "): raise sampler.warmup, thin or chains";
  // The warning first: /tasks/message keeps 256 bytes.
  res.message = fmt::format("{}sampler: acceptance {:.2f}, ESS {:.0f}, R̂ {:.3f}{}", warn.empty() ? "" : warn + "; ",
                            res.acceptance, ess_min, res.rhat, notes_);
  const Index bad = p_.finish(s, res);
  res.final_loss = res.residuals.maxCoeff();
  if (bad > 0) {
    res.status = Status::diverged;
    res.message = fmt::format("{} of {} vectors were not finite", bad, n);
  }
  return res;
}

}  // namespace invsweep::solvers::sampling
