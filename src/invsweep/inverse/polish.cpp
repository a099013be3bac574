// Levenberg–Marquardt polish in double precision, batched over the vectors of a task: one
// forward pass and n_out backward passes give every vector's residual and input Jacobian;
// each vector then solves its own small damped normal equations.
#include "invsweep/inverse/polish.hpp"

#include <fmt/format.h>

#include <Eigen/Cholesky>
#include <cmath>

namespace invsweep::inverse {

namespace {

/// Residual rows of the least squares, per vector: the objective's weighted residuals (target
/// and range kinds, when `objective`), then one row per `subject_to` output (its signed
/// excess outside the range, scaled units), then plausibility (the Mahalanobis excess).
/// Every row is zero at a feasible solution of the objective, so their sum of squares has
/// the feasible solutions as its zeros: no trade between feasibility and objective.
struct Evaluator {
  const Problem& p;
  bool objective;
  nn::MlpWorkspace<double> ws;
  MatrixD full;    // [n_in, N] scaled inputs with fixed features filled in
  VectorD sqrt_w;  // per output
  Index rows;
  MatrixD obj_r;  // [n_out, N] objective rows

  Evaluator(const Problem& prob, Index n, bool with_objective)
      : p(prob),
        objective(with_objective),
        ws(prob.oracle().net, n),
        full(prob.n_in(), n),
        sqrt_w(prob.sqrt_weights()),
        rows((with_objective ? prob.n_out() : 0) + static_cast<Index>(prob.constrained_outputs().size()) +
             (prob.has_plausibility() ? 1 : 0)),
        obj_r(prob.n_out(), n) {
    for (Index j = 0; j < n; ++j)
      full.col(j) = p.fixed_scaled();  // free rows overwritten
  }

  /// Residual rows r [rows, N] at s.
  void residual(const MatrixD& s, MatrixD& r) {
    for (Index k = 0; k < p.n_free(); ++k)
      full.row(p.free_index(k)) = s.row(k);
    ws.input() = full;
    forward(p.oracle().net, ws);
    const auto u = ws.output();
    Index row = 0;
    if (objective) {
      p.residual_vectors(u, obj_r);
      r.topRows(p.n_out()) = obj_r;
      row = p.n_out();
    }
    for (const Index k : p.constrained_outputs()) {
      for (Index j = 0; j < s.cols(); ++j) {
        const double v = u(k, j), lo = p.sub_lo_u(k), hi = p.sub_hi_u(k);
        r(row, j) = v > hi ? v - hi : (v < lo ? v - lo : 0.0);
      }
      ++row;
    }
    if (p.has_plausibility())
      for (Index j = 0; j < s.cols(); ++j)
        r(row, j) = std::max(p.mahalanobis_grad(s.col(j), nullptr) - p.constraint().plausible, 0.0);
  }

  /// Jacobians of the rows at the point of the last `residual` call (whose r is passed):
  /// jac[row] is [n_free, N].
  void jacobian(const MatrixD& s, const MatrixD& r, std::vector<MatrixD>& jac) {
    const auto output_row = [&](Index k, MatrixD& out) {
      // Backward overwrites intermediate gradients only; activations from the forward pass stay.
      ws.grad_output().setZero();
      ws.grad_output().row(k).setOnes();
      backward(p.oracle().net, ws, nullptr, true);
      for (Index f = 0; f < p.n_free(); ++f)
        out.row(f) = ws.grad_input().row(p.free_index(f));
    };
    MatrixD du(p.n_free(), s.cols());
    Index row = 0;
    if (objective) {
      for (Index k = 0; k < p.n_out(); ++k) {
        output_row(k, du);
        jac[static_cast<std::size_t>(k)] = sqrt_w[k] * du;
      }
      row = p.n_out();
    }
    for (const Index k : p.constrained_outputs()) {
      output_row(k, du);
      MatrixD& jr = jac[static_cast<std::size_t>(row)];
      for (Index j = 0; j < s.cols(); ++j)
        jr.col(j) = r(row, j) != 0 ? VectorD(du.col(j)) : VectorD::Zero(p.n_free());
      ++row;
    }
    if (p.has_plausibility()) {
      VectorD g;
      MatrixD& jr = jac[static_cast<std::size_t>(row)];
      for (Index j = 0; j < s.cols(); ++j) {
        p.mahalanobis_grad(s.col(j), &g);
        jr.col(j) = r(row, j) > 0 ? g : VectorD::Zero(p.n_free());
      }
    }
  }
};

/// Levenberg–Marquardt over the rows of an Evaluator, per vector, with projection on the box.
int least_squares(const Problem& p, const PolishSettings& settings, MatrixD& s, bool objective) {
  const ObjectiveKind kind = p.objective().kind;
  const Index n = s.cols(), nf = p.n_free();
  Evaluator ev(p, n, objective);
  const Index m = ev.rows;
  if (m == 0) return 0;
  MatrixD r(m, n), r_try(m, n), s_try = s;
  std::vector<MatrixD> jac(static_cast<std::size_t>(m), MatrixD(nf, n));
  VectorD mu = VectorD::Constant(n, 1e-3);
  // Stop per vector when its residual is below tolerance in original output units.
  const VectorD& scale_out = p.oracle().output_scaler.scale;
  const double tmax = kind == ObjectiveKind::target ? p.objective().target.cwiseAbs().maxCoeff() : 0.0;
  const double tol_u = settings.tolerance * std::max(1.0, std::isfinite(tmax) ? tmax : 0.0) / scale_out.maxCoeff();
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
    ev.jacobian(s, r, jac);
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

}  // namespace

int polish(const Problem& p, const PolishSettings& settings, MatrixD& s) {
  const ObjectiveKind kind = p.objective().kind;
  if (kind != ObjectiveKind::target && kind != ObjectiveKind::range) return 0;
  return least_squares(p, settings, s, true);
}

int restore_feasibility(const Problem& p, const PolishSettings& settings, MatrixD& s) {
  if (!p.has_hard_constraints()) return 0;
  const ObjectiveKind kind = p.objective().kind;
  return least_squares(p, settings, s, kind == ObjectiveKind::target || kind == ObjectiveKind::range);
}

void finish_task(const Problem& p, const PolishSettings& polish_settings, MatrixD& s_free, TaskResult& r) {
  if (r.status == Status::done && s_free.allFinite()) {
    if (p.has_hard_constraints())
      restore_feasibility(p, polish_settings, s_free);
    else if (polish_settings.enabled)
      polish(p, polish_settings, s_free);
  }
  const Index bad = p.finish(s_free, r);
  if (bad > 0 && r.status == Status::done) {
    r.status = Status::diverged;
    r.message = fmt::format("{} of {} vectors were not finite", bad, s_free.cols());
  }
  if (r.status == Status::done && p.has_hard_constraints()) {
    // Solvers that cannot meet the constraints say so: the task stays done (its vectors are
    // the best it found), and /violations says which.
    Index infeasible = 0;
    for (Index j = 0; j < r.violations.size(); ++j)
      infeasible += r.violations[j] > Problem::kFeasibleTolerance ? 1 : 0;
    if (infeasible > 0)
      r.message = fmt::format("{} of {} vectors violate the constraints (largest violation {:.3g})", infeasible,
                              r.violations.size(), r.violations.maxCoeff());
  }
}

}  // namespace invsweep::inverse
