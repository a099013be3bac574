// Levenberg–Marquardt polish in double precision, batched over the vectors of a task: one
// forward pass and n_out backward passes give every vector's residual and input Jacobian;
// each vector then solves its own small damped normal equations.
#include "invsweep/inverse/polish.hpp"

#include <fmt/format.h>

#include <Eigen/Cholesky>
#include <cmath>

namespace invsweep::inverse {

namespace {

struct Evaluator {
  const Problem& p;
  nn::MlpWorkspace<double> ws;
  MatrixD full;    // [n_in, N] scaled inputs with fixed features filled in
  VectorD sqrt_w;  // per output

  Evaluator(const Problem& prob, Index n)
      : p(prob), ws(prob.oracle().net, n), full(prob.n_in(), n), sqrt_w(prob.sqrt_weights()) {
    for (Index j = 0; j < n; ++j)
      full.col(j) = p.fixed_scaled();  // free rows overwritten
  }

  /// Residual vectors r [n_out, N] (scaled output units, weighted) at s.
  void residual(const MatrixD& s, MatrixD& r) {
    for (Index k = 0; k < p.n_free(); ++k)
      full.row(p.free_index(k)) = s.row(k);
    ws.input() = full;
    forward(p.oracle().net, ws);
    p.residual_vectors(ws.output(), r);
  }

  /// Jacobians dr/ds_free at the point of the last `residual` call: J[k] is [n_free, N] for output k.
  void jacobian(std::vector<MatrixD>& jac) {
    for (Index k = 0; k < p.n_out(); ++k) {
      // Backward overwrites intermediate gradients only; activations from the forward pass stay.
      ws.grad_output().setZero();
      ws.grad_output().row(k).setConstant(sqrt_w[k]);
      backward(p.oracle().net, ws, nullptr, true);
      for (Index f = 0; f < p.n_free(); ++f)
        jac[static_cast<std::size_t>(k)].row(f) = ws.grad_input().row(p.free_index(f));
    }
  }
};

}  // namespace

int polish(const Problem& p, const PolishSettings& settings, MatrixD& s) {
  const ObjectiveKind kind = p.objective().kind;
  if (kind != ObjectiveKind::target && kind != ObjectiveKind::range) return 0;
  const Index n = s.cols(), nf = p.n_free(), m = p.n_out();
  Evaluator ev(p, n);
  MatrixD r(m, n), r_try(m, n), s_try = s;
  std::vector<MatrixD> jac(static_cast<std::size_t>(m), MatrixD(nf, n));
  VectorD mu = VectorD::Constant(n, 1e-3);
  // Stop per vector when its residual is below tolerance in original output units.
  const VectorD& scale_out = p.oracle().output_scaler.scale;
  const double tmax = kind == ObjectiveKind::target ? p.objective().target.cwiseAbs().maxCoeff() : 0.0;
  const double tol_u = settings.tolerance * std::max(1.0, tmax) / scale_out.maxCoeff();
  std::vector<char> active(static_cast<std::size_t>(n), 1);
  ev.residual(s, r);
  MatrixD a(nf, nf);
  VectorD b(nf), delta(nf);
  int it = 0;
  for (; it < settings.max_iter; ++it) {
    bool any = false;
    for (Index j = 0; j < n; ++j) {
      if (r.col(j).norm() <= tol_u || mu[j] > 1e12) active[static_cast<std::size_t>(j)] = 0;
      any = any || active[static_cast<std::size_t>(j)] != 0;
    }
    if (!any) break;
    ev.residual(s, r);  // re-evaluate so the workspace holds s's activations
    ev.jacobian(jac);
    s_try = s;
    for (Index j = 0; j < n; ++j) {
      if (active[static_cast<std::size_t>(j)] == 0) continue;
      a.setZero();
      b.setZero();
      for (Index k = 0; k < m; ++k) {
        const auto jk = jac[static_cast<std::size_t>(k)].col(j);
        a.noalias() += jk * jk.transpose();
        b.noalias() += jk * r(k, j);
      }
      a.diagonal().array() += mu[j] * (1.0 + a.diagonal().array());
      delta = a.ldlt().solve(-b);
      for (Index f = 0; f < nf; ++f)
        s_try(f, j) = std::clamp(s(f, j) + delta[f], p.lo()[f], p.hi()[f]);
    }
    ev.residual(s_try, r_try);
    for (Index j = 0; j < n; ++j) {
      if (active[static_cast<std::size_t>(j)] == 0) continue;
      if (r_try.col(j).allFinite() && r_try.col(j).squaredNorm() < r.col(j).squaredNorm()) {
        s.col(j) = s_try.col(j);
        r.col(j) = r_try.col(j);
        mu[j] = std::max(mu[j] / 3.0, 1e-12);
      } else {
        mu[j] *= 4.0;
      }
    }
  }
  return it;
}

void finish_task(const Problem& p, const PolishSettings& polish_settings, MatrixD& s_free, TaskResult& r) {
  if (polish_settings.enabled && r.status == Status::done && s_free.allFinite()) polish(p, polish_settings, s_free);
  const Index bad = p.finish(s_free, r);
  if (bad > 0 && r.status == Status::done) {
    r.status = Status::diverged;
    r.message = fmt::format("{} of {} vectors were not finite", bad, s_free.cols());
  }
}

}  // namespace invsweep::inverse
