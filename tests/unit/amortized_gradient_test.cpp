// The amortized solver's training gradient: the round trip with one target per column
// (OraclePass::run with targets, Problem::objective_grad with targets), through the bound map,
// to dL/dv of the generator's outputs — checked by central differences of the same loss
// computed in double from its definition, mean_j Σ_k w_k (u_kj − t_kj)² (u, t in scaled output
// units), with fixed features and a two-sided sigmoid bound. The rest of the amortized chain,
// G's parameter gradient, is nn::backward (gradient_test.cpp).
#include <gtest/gtest.h>

#include <cmath>

#include "fd_check.hpp"
#include "invsweep/core/rng.hpp"
#include "invsweep/inverse/bounds.hpp"
#include "invsweep/inverse/pass.hpp"
#include "invsweep/inverse/problem.hpp"

using namespace invsweep;
using namespace invsweep::inverse;
using invsweep::testing::FdTable;
using invsweep::testing::random_oracle;

TEST(AmortizedGradient, RoundTripWithPerColumnTargetsMatchesFiniteDifferences) {
  const Index n_in = 4, m = 2, n = 9;
  const oracle::Oracle o = random_oracle(n_in, m, 31);
  const nn::Mlp<float> net = o.net.cast<float>();
  Constraint c = Constraint::free(n_in);
  c.fixed[1] = 1;
  c.fixed_value[1] = o.input_scaler.mean[1] + 0.4 * o.input_scaler.scale[1];
  c.lower[0] = o.input_scaler.mean[0] - 1.5 * o.input_scaler.scale[0];  // sigmoid-mapped
  c.upper[0] = o.input_scaler.mean[0] + 1.5 * o.input_scaler.scale[0];
  Objective obj;
  obj.kind = ObjectiveKind::target;
  obj.target = VectorD::Zero(m);  // a placeholder, as in amortized training
  obj.weights = VectorD(m);
  obj.weights << 1.7, 0.6;
  const Problem p(o, net, obj, c, Regularize{});
  const BoundMap map(p);
  Rng rng(5);
  const Index nf = p.n_free();
  MatrixF v(nf, n), targets(m, n);
  for (Index j = 0; j < n; ++j) {
    for (Index k = 0; k < nf; ++k)
      v(k, j) = static_cast<float>(rng.normal());
    for (Index k = 0; k < m; ++k)
      targets(k, j) = static_cast<float>(0.8 * rng.normal());
  }
  // Analytic: the pass gives dL/ds, the bound map turns it into dL/dv.
  OraclePass pass(p, n);
  MatrixF s(nf, n), g(nf, n);
  map.apply(v, s);
  const double loss = pass.run(s, g, map, targets);
  map.backprop(v, g);

  // The same loss in double from its definition, as a function of v.
  const auto loss_at = [&](const MatrixD& vd) {
    MatrixF sf(nf, n);
    map.apply(vd.cast<float>(), sf);  // the map itself is checked in bounds_test.cpp
    MatrixD full(n_in, n);
    for (Index i = 0; i < n_in; ++i)
      full.row(i).setConstant(p.fixed_scaled()[i]);
    for (Index k = 0; k < nf; ++k)
      full.row(p.free_index(k)) = sf.row(k).cast<double>();
    const MatrixD u = nn::predict(o.net, full);
    double total = 0;
    for (Index j = 0; j < n; ++j)
      for (Index k = 0; k < m; ++k)
        total += obj.weights[k] * std::pow(u(k, j) - targets(k, j), 2);
    return total / static_cast<double>(n);
  };
  const MatrixD v0 = v.cast<double>();
  EXPECT_NEAR(loss, loss_at(v0), 2e-5 * (1 + std::abs(loss)));
  FdTable t;
  const double h = 1e-2;
  for (Index j = 0; j < n; ++j)
    for (Index k = 0; k < nf; ++k) {
      MatrixD up = v0, down = v0;
      up(k, j) += h;
      down(k, j) -= h;
      t.add("dL/dv(" + std::to_string(k) + "," + std::to_string(j) + ")", g(k, j),
            (loss_at(up) - loss_at(down)) / (2 * h));
    }
  t.floor_at(1e-2);
  EXPECT_LT(t.worst, 2e-3) << t.table(2e-3);
}
