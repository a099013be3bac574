// The sampler's box and solution set (sampler_run.hpp): the prior's box in scaled units, the
// level set, band or range and its intersection with output ranges, the distance score to the
// set, the co-area weight, and Newton projections onto the set.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <Eigen/Cholesky>
#include <Eigen/LU>
#include <algorithm>
#include <cmath>

#include "invsweep/core/errors.hpp"
#include "invsweep/solvers/sampler_run.hpp"

namespace invsweep::solvers::sampling {

MatrixD jac_at(const std::vector<MatrixD>& jac, Index c) {
  MatrixD j(static_cast<Index>(jac.size()), jac.empty() ? 0 : jac[0].rows());
  for (std::size_t k = 0; k < jac.size(); ++k)
    j.row(static_cast<Index>(k)) = jac[k].col(c).transpose();
  return j;
}

namespace {
/// Where starting points that miss a range [lo, hi] are projected: its centre, or just inside
/// its finite end when the other is open.
double range_centre(double lo, double hi) {
  return std::isfinite(lo) && std::isfinite(hi) ? 0.5 * (lo + hi) : std::isfinite(lo) ? lo + 1e-6 : hi - 1e-6;
}
}  // namespace

void Run::resolve_box() {
  const oracle::Oracle& o = p_.oracle();
  lo_.resize(nf_);
  hi_.resize(nf_);
  for (Index k = 0; k < nf_; ++k) {
    const Index i = p_.free_index(k);
    const double mean = o.input_scaler.mean[i], scale = o.input_scaler.scale[i];
    lo_[k] = std::isfinite(p_.lo()[k]) ? p_.lo()[k] : (o.input_lo[i] - mean) / scale;
    hi_[k] = std::isfinite(p_.hi()[k]) ? p_.hi()[k] : (o.input_hi[i] - mean) / scale;
    if (!std::isfinite(lo_[k]) || !std::isfinite(hi_[k]) || !(hi_[k] > lo_[k]))
      throw ConfigError(
          fmt::format("sampler: constraint '{}': free feature '{}' has no finite box (bounds or the "
                      "oracle's input_bounds): the uniform prior needs one",
                      p_.constraint().name, o.input_names[static_cast<std::size_t>(i)]));
  }
}

void Run::size_set(Index m) {
  t_u_.resize(m);
  half_u_.resize(m);
  rlo_u_.resize(m);
  rhi_u_.resize(m);
}

void Run::resolve_set() {
  const Objective& obj = p_.objective();
  const nn::Scaler& os = p_.oracle().output_scaler;
  const VectorD w = obj.weights.size() == p_.n_out() ? obj.weights : VectorD::Ones(p_.n_out());
  for (Index k = 0; k < p_.n_out(); ++k) {
    if (!(w[k] > 0)) continue;
    if (obj.kind == ObjectiveKind::target && !std::isfinite(obj.target[k])) continue;  // a free output
    if (obj.kind == ObjectiveKind::range && !std::isfinite(obj.lo[k]) && !std::isfinite(obj.hi[k])) continue;
    outs_.push_back(k);
  }
  if (outs_.empty()) throw ConfigError("sampler: the objective constrains no output");
  if (p_.has_output_constraints()) {
    // subject_to: the solution set is the band (or range) intersected with the output ranges,
    // itself a set of output ranges: sampled as kind = range over their union of outputs.
    if (obj.kind == ObjectiveKind::target && !(ss_.band > 0))
      throw ConfigError(
          "sampler: subject_to with kind = \"target\" needs [sampler] band > 0 (the level set itself "
          "under output ranges is not supported)");
    const Index n_out = p_.n_out();
    VectorD lo = VectorD::Constant(n_out, -std::numeric_limits<double>::infinity());
    VectorD hi = VectorD::Constant(n_out, std::numeric_limits<double>::infinity());
    for (const Index k : outs_) {
      if (obj.kind == ObjectiveKind::target) {
        const double t = (obj.target[k] - os.mean[k]) / os.scale[k],
                     h = ss_.band * std::abs(obj.target[k]) / os.scale[k];
        if (!(h > 0))
          throw ConfigError(
              "sampler: band is relative to |target|, and a constrained target is 0 (use band = 0 or a range)");
        lo[k] = t - h;
        hi[k] = t + h;
      } else {
        lo[k] = (obj.lo[k] - os.mean[k]) / os.scale[k];
        hi[k] = (obj.hi[k] - os.mean[k]) / os.scale[k];
      }
    }
    for (const Index k : p_.constrained_outputs()) {
      if (std::find(outs_.begin(), outs_.end(), k) == outs_.end()) outs_.push_back(k);
      lo[k] = std::max(lo[k], p_.sub_lo_u(k));
      hi[k] = std::min(hi[k], p_.sub_hi_u(k));
      if (!(lo[k] <= hi[k]))
        throw ConfigError(fmt::format("sampler: output '{}': the objective and subject_to leave no value",
                                      p_.oracle().output_names[static_cast<std::size_t>(k)]));
    }
    const auto m = static_cast<Index>(outs_.size());
    size_set(m);
    for (Index q = 0; q < m; ++q) {
      const Index k = outs_[static_cast<std::size_t>(q)];
      rlo_u_[q] = lo[k];
      rhi_u_[q] = hi[k];
      t_u_[q] = range_centre(lo[k], hi[k]);
    }
    mode_ = Mode::range;
    ev_ = std::make_unique<Evaluator>(p_, outs_, t_u_);
    return;
  }
  const auto m = static_cast<Index>(outs_.size());
  size_set(m);
  for (Index q = 0; q < m; ++q) {
    const Index k = outs_[static_cast<std::size_t>(q)];
    if (obj.kind == ObjectiveKind::target) {
      t_u_[q] = (obj.target[k] - os.mean[k]) / os.scale[k];
      half_u_[q] = ss_.band * std::abs(obj.target[k]) / os.scale[k];
    } else {
      rlo_u_[q] = (obj.lo[k] - os.mean[k]) / os.scale[k];
      rhi_u_[q] = (obj.hi[k] - os.mean[k]) / os.scale[k];
      t_u_[q] = range_centre(rlo_u_[q], rhi_u_[q]);
    }
  }
  if (obj.kind == ObjectiveKind::range) {
    mode_ = Mode::range;
  } else if (ss_.band > 0) {
    mode_ = Mode::band;
    if (!(half_u_.minCoeff() > 0))
      throw ConfigError(
          "sampler: band is relative to |target|, and a constrained target is 0 (use band = 0 or a range)");
  }
  ev_ = std::make_unique<Evaluator>(p_, outs_, t_u_);
}

VectorD Run::score(const MatrixD& s) {
  MatrixD r;
  ev_->residual(s, r);
  VectorD d(s.cols());
  for (Index j = 0; j < s.cols(); ++j) {
    switch (mode_) {
      case Mode::manifold:
        d[j] = r.col(j).norm();
        break;
      case Mode::band:
        d[j] = r.col(j).cwiseAbs().cwiseQuotient(half_u_).maxCoeff();
        break;
      case Mode::range: {
        const VectorD u = r.col(j) + t_u_;
        d[j] = (rlo_u_ - u).cwiseMax(u - rhi_u_).cwiseMax(0.0).maxCoeff();
        break;
      }
    }
    if (!std::isfinite(d[j]) || (mode_ != Mode::manifold && !plausible(s.col(j))))
      d[j] = std::numeric_limits<double>::infinity();
  }
  return d;
}

double Run::log_weight(const MatrixD& j) const {
  const MatrixD g = j * j.transpose();
  const Eigen::LLT<MatrixD> llt(g);
  if (llt.info() != Eigen::Success) return -std::numeric_limits<double>::infinity();
  return -llt.matrixL().toDenseMatrix().diagonal().array().log().sum();  // −½ log det G
}

void Run::project(const MatrixD& base, const std::vector<MatrixD>& dir, std::vector<char>& ok, MatrixD& y,
                  std::vector<MatrixD>& jy) {
  const Index b = base.cols(), m = ev_->m();
  MatrixD a = MatrixD::Zero(m, b), r;
  std::vector<MatrixD> jac;
  std::vector<char> active = ok;
  std::fill(ok.begin(), ok.end(), 0);
  y = base;
  jy.assign(static_cast<std::size_t>(m), MatrixD::Zero(nf_, b));
  const double tol = tol_u();
  for (int it = 0; it < 30; ++it) {
    ev_->residual(y, r, at_levels_ ? &levels_ : nullptr);
    ev_->jacobian(jac);
    bool any = false;
    for (Index c = 0; c < b; ++c) {
      if (active[static_cast<std::size_t>(c)] == 0) continue;
      if (!r.col(c).allFinite()) {
        active[static_cast<std::size_t>(c)] = 0;
        continue;
      }
      if (r.col(c).norm() <= tol) {
        ok[static_cast<std::size_t>(c)] = 1;
        active[static_cast<std::size_t>(c)] = 0;
        for (Index k = 0; k < m; ++k)
          jy[static_cast<std::size_t>(k)].col(c) = jac[static_cast<std::size_t>(k)].col(c);
        continue;
      }
      const MatrixD d = jac_at(dir, c);
      const MatrixD jd = jac_at(jac, c) * d.transpose();
      const VectorD delta = jd.partialPivLu().solve(-r.col(c));
      a.col(c) += delta;
      if (!a.col(c).allFinite() || a.col(c).norm() > 1e6) {
        active[static_cast<std::size_t>(c)] = 0;
        continue;
      }
      y.col(c) = base.col(c) + d.transpose() * a.col(c);
      any = true;
    }
    if (!any) break;
  }
}

void Run::newton_to_set(MatrixD& s, std::vector<char>& ok) {
  const Index b = s.cols();
  MatrixD r, r_try, sa, s_try;
  std::vector<MatrixD> jac;
  VectorD step = VectorD::Ones(b);
  ok.assign(static_cast<std::size_t>(b), 0);
  std::vector<Index> active(static_cast<std::size_t>(b));  // only these go through the oracle
  std::iota(active.begin(), active.end(), 0);
  const double tol = tol_u();
  for (int it = 0; it < 60 && !active.empty(); ++it) {
    const auto na = static_cast<Index>(active.size());
    sa.resize(nf_, na);
    for (Index q = 0; q < na; ++q)
      sa.col(q) = s.col(active[static_cast<std::size_t>(q)]);
    ev_->residual(sa, r);
    ev_->jacobian(jac);
    s_try = sa;
    std::size_t kept = 0;
    for (Index q = 0; q < na; ++q) {
      const Index c = active[static_cast<std::size_t>(q)];
      if (!r.col(q).allFinite()) continue;
      if (r.col(q).norm() <= tol) {
        ok[static_cast<std::size_t>(c)] = inside_box(s.col(c)) ? 1 : 0;
        continue;
      }
      const MatrixD j = jac_at(jac, q);
      const MatrixD g = j * j.transpose();
      const VectorD delta = -(j.transpose() * g.ldlt().solve(r.col(q)));
      s_try.col(static_cast<Index>(kept)) = (sa.col(q) + step[c] * delta).cwiseMax(lo_).cwiseMin(hi_);
      r.col(static_cast<Index>(kept)) = r.col(q);
      active[kept++] = c;
    }
    active.resize(kept);
    if (active.empty()) break;
    const auto nk = static_cast<Index>(kept);
    s_try.conservativeResize(nf_, nk);
    ev_->residual(s_try, r_try);
    kept = 0;
    for (Index q = 0; q < nk; ++q) {
      const Index c = active[static_cast<std::size_t>(q)];
      if (r_try.col(q).allFinite() && r_try.col(q).norm() < r.col(q).norm()) {
        s.col(c) = s_try.col(q);
        step[c] = std::min(1.0, 2.0 * step[c]);
      } else {
        step[c] *= 0.5;
        if (step[c] < 1e-8) continue;
      }
      active[kept++] = c;
    }
    active.resize(kept);
  }
}

}  // namespace invsweep::solvers::sampling
