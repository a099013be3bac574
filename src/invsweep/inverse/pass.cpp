#include "invsweep/inverse/pass.hpp"

namespace invsweep::inverse {

OraclePass::OraclePass(const Problem& p, Index batch) : p_(p), ws_(p.net(), batch) {
  p_.fill_fixed(ws_.input());
}

double OraclePass::run(const MatrixF& s, MatrixF& g, const BoundMap& map) {
  p_.set_free(s, ws_.input());
  forward(p_.net(), ws_);
  const double loss = p_.objective_grad(ws_.output(), ws_.grad_output());
  return finish(s, g, map, loss);
}

double OraclePass::run(const MatrixF& s, MatrixF& g, const BoundMap& map, const MatrixF& targets_u) {
  p_.set_free(s, ws_.input());
  forward(p_.net(), ws_);
  const double loss = p_.objective_grad(ws_.output(), targets_u, ws_.grad_output());
  return finish(s, g, map, loss);
}

double OraclePass::finish(const MatrixF& s, MatrixF& g, const BoundMap& map, double loss) {
  backward(p_.net(), ws_, nullptr, true);
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
