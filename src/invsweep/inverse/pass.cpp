#include "invsweep/inverse/pass.hpp"

#include "invsweep/inverse/uncertainty.hpp"

namespace invsweep::inverse {

OraclePass::OraclePass(const Problem& p, Index batch)
    : p_(p), net_(p.members_net() != nullptr ? *p.members_net() : p.net()), ws_(net_, batch) {
  p_.fill_fixed(ws_.input());
  if (p.members_net() != nullptr) {
    mean_.resize(p.n_out(), batch);
    grad_mean_.resize(p.n_out(), batch);
  }
}

double OraclePass::run(const MatrixF& s, MatrixF& g, const BoundMap& map) {
  p_.set_free(s, ws_.input());
  forward(net_, ws_);
  if (p_.members_net() != nullptr) return finish(s, g, map, members_objective(nullptr));
  const double loss = p_.objective_grad(ws_.output(), ws_.grad_output());
  return finish(s, g, map, loss);
}

double OraclePass::run(const MatrixF& s, MatrixF& g, const BoundMap& map, const MatrixF& targets_u) {
  p_.set_free(s, ws_.input());
  forward(net_, ws_);
  if (p_.members_net() != nullptr) return finish(s, g, map, members_objective(&targets_u));
  const double loss = p_.objective_grad(ws_.output(), targets_u, ws_.grad_output());
  return finish(s, g, map, loss);
}

double OraclePass::members_objective(const MatrixF* targets_u) {
  const Index m = p_.n_out(), n = ws_.output().cols(), members = p_.members();
  MatrixMap<float> mean(mean_.data(), m, n), grad_mean(grad_mean_.data(), m, n);
  MatrixMap<float> grad_um = ws_.grad_output();
  double loss = uncertainty_grad(ws_.output(), members, p_.uncertainty(), mean, grad_um);
  loss += targets_u != nullptr ? p_.objective_grad(mean, *targets_u, grad_mean) : p_.objective_grad(mean, grad_mean);
  grad_mean *= 1.0f / static_cast<float>(members);  // ū = (1/K) Σ_k u_k
  for (Index k = 0; k < members; ++k)
    grad_um.middleRows(k * m, m) += grad_mean;
  return loss;
}

double OraclePass::finish(const MatrixF& s, MatrixF& g, const BoundMap& map, double loss) {
  backward(net_, ws_, nullptr, true);
  p_.get_free(ws_.grad_input(), g);
  loss += p_.regularize(s, g, scratch_);
  loss += map.penalty(s, g);
  return loss;
}

void draw_latents(Rng& rng, LatentDist dist, MatrixMap<float> m, Index row0) {
  for (Index j = 0; j < m.cols(); ++j)
    for (Index r = row0; r < m.rows(); ++r)
      m(r, j) = static_cast<float>(dist == LatentDist::normal ? rng.normal() : rng.uniform(-1.0, 1.0));
}

}  // namespace invsweep::inverse
