// A task's problem (problem.hpp): names of the enums, the set-up from objective, constraint and
// oracle, the maps between scaled free features and original vectors, the objective and its
// residuals, and a task's finish. The penalties and the regularizer are in penalties.cpp.
#include "invsweep/inverse/problem.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>

#include "invsweep/core/errors.hpp"
#include "invsweep/oracle/ensemble.hpp"

namespace invsweep::inverse {

const std::vector<std::string>& objective_names() {
  static const std::vector<std::string> names{"target", "range", "maximize", "minimize"};
  return names;
}
const std::vector<std::string>& bound_method_names() {
  static const std::vector<std::string> names{"sigmoid", "paper", "penalty"};
  return names;
}
const std::vector<std::string>& latent_names() {
  static const std::vector<std::string> names{"normal", "uniform"};
  return names;
}
const std::vector<std::string>& schedule_names() {
  static const std::vector<std::string> names{"constant", "cosine", "plateau"};
  return names;
}
const std::vector<std::string>& status_names() {
  static const std::vector<std::string> names{"pending", "done", "diverged", "failed"};
  return names;
}
const std::string& to_string(ObjectiveKind k) {
  return objective_names().at(static_cast<std::size_t>(k));
}
const std::string& to_string(BoundMethod k) {
  return bound_method_names().at(static_cast<std::size_t>(k));
}
const std::string& to_string(Status k) {
  return status_names().at(static_cast<std::size_t>(k));
}

Constraint Constraint::free(Index n) {
  Constraint c;
  c.fixed.assign(static_cast<std::size_t>(n), 0);
  c.fixed_value = VectorD::Constant(n, std::numeric_limits<double>::quiet_NaN());
  c.lower = VectorD::Constant(n, -std::numeric_limits<double>::infinity());
  c.upper = VectorD::Constant(n, std::numeric_limits<double>::infinity());
  return c;
}

Problem::Problem(const oracle::Oracle& o, const nn::Mlp<float>& net, const Objective& obj, const Constraint& c,
                 const Regularize& reg)
    : oracle_(&o), net_(&net), obj_(obj), con_(c), reg_(reg) {
  const Index n = o.n_in(), m = o.n_out();
  if (static_cast<Index>(c.fixed.size()) != n || c.lower.size() != n || c.upper.size() != n ||
      c.fixed_value.size() != n)
    throw ConfigError(fmt::format("constraint '{}': expected {} features", c.name, n));
  const nn::Scaler& is = o.input_scaler;
  fixed_sd_ = VectorD::Zero(n);
  for (Index i = 0; i < n; ++i) {
    const std::string& name = o.input_names[static_cast<std::size_t>(i)];
    if (c.lower[i] > c.upper[i])
      throw ConfigError(fmt::format("constraint '{}': bounds of '{}' have lower {} > upper {}", c.name, name,
                                    c.lower[i], c.upper[i]));
    if (c.fixed[static_cast<std::size_t>(i)] != 0) {
      const double v = c.fixed_value[i];
      if (!std::isfinite(v))
        throw ConfigError(fmt::format("constraint '{}': fixed value of '{}' is not finite", c.name, name));
      if (v < c.lower[i] || v > c.upper[i])
        throw ConfigError(fmt::format("constraint '{}': '{}' is fixed at {} outside its bounds [{}, {}]", c.name, name,
                                      v, c.lower[i], c.upper[i]));
      fixed_sd_[i] = (v - is.mean[i]) / is.scale[i];
    } else {
      free_.push_back(i);
    }
  }
  fixed_s_ = fixed_sd_.cast<float>();
  if (free_.empty())
    throw ConfigError(fmt::format("constraint '{}': every feature is fixed; nothing to solve for", c.name));
  const Index nf = n_free();
  lo_s_.resize(nf);
  hi_s_.resize(nf);
  start_lo_.resize(nf);
  start_hi_.resize(nf);
  for (Index k = 0; k < nf; ++k) {
    const Index i = free_[static_cast<std::size_t>(k)];
    lo_s_[k] = (c.lower[i] - is.mean[i]) / is.scale[i];
    hi_s_[k] = (c.upper[i] - is.mean[i]) / is.scale[i];
    const double dlo = std::isfinite(o.input_lo[i]) ? (o.input_lo[i] - is.mean[i]) / is.scale[i] : -2.0;
    const double dhi = std::isfinite(o.input_hi[i]) ? (o.input_hi[i] - is.mean[i]) / is.scale[i] : 2.0;
    start_lo_[k] = std::isfinite(lo_s_[k]) ? lo_s_[k] : std::min(dlo, hi_s_[k] - (dhi - dlo));
    start_hi_[k] = std::isfinite(hi_s_[k]) ? hi_s_[k] : std::max(dhi, start_lo_[k] + (dhi - dlo));
  }

  VectorD w = obj.weights.size() == m ? obj.weights : VectorD::Ones(m);
  if (w.size() != m) throw ConfigError(fmt::format("objective: expected {} weights", m));
  weights_ = w;
  switch (obj.kind) {
    case ObjectiveKind::target:
      if (obj.target.size() != m)
        throw ConfigError(
            fmt::format("objective: target has {} values, the oracle has {} outputs", obj.target.size(), m));
      if (!obj.target.array().isFinite().any())
        throw ConfigError("objective: every target value is nan; at least one output must be targeted");
      target_ud_ = scale_outputs(obj.target);
      for (Index k = 0; k < m; ++k)
        if (std::isnan(obj.target[k])) {  // nan: the output is free
          target_ud_[k] = 0.0;
          weights_[k] = 0.0;
        } else if (!std::isfinite(obj.target[k])) {
          throw ConfigError(fmt::format("objective: target of output '{}' is {} (expected a number, or nan = free)",
                                        o.output_names[static_cast<std::size_t>(k)], obj.target[k]));
        }
      target_u_ = target_ud_.cast<float>();
      w_ = weights_.cast<float>();
      break;
    case ObjectiveKind::range:
      if (obj.lo.size() != m || obj.hi.size() != m)
        throw ConfigError(fmt::format("objective: range needs {} lo and hi values", m));
      lo_ud_ = scale_outputs(obj.lo);
      hi_ud_ = scale_outputs(obj.hi);
      lo_u_ = lo_ud_.cast<float>();
      hi_u_ = hi_ud_.cast<float>();
      w_ = w.cast<float>();
      break;
    case ObjectiveKind::maximize:
    case ObjectiveKind::minimize: {
      // Σ w·y = Σ (w·scale)·u + const: normalised so the gradient is O(1).
      VectorD ws = w.cwiseProduct(o.output_scaler.scale);
      const double norm = ws.norm();
      if (!(norm > 0)) throw ConfigError("objective: maximize/minimize needs a non-zero weight on some output");
      ws /= norm;
      if (obj.kind == ObjectiveKind::maximize) ws = -ws;
      linear_w_ = ws;
      w_ = ws.cast<float>();
      break;
    }
  }
  if (obj.has_output_constraints()) {
    if (obj.sub_lo.size() != m || obj.sub_hi.size() != m)
      throw ConfigError(fmt::format("objective: subject_to needs {} lo and hi values", m));
    sub_lo_ud_ = scale_outputs(obj.sub_lo);
    sub_hi_ud_ = scale_outputs(obj.sub_hi);
    for (Index k = 0; k < m; ++k) {
      if (!(obj.sub_lo[k] <= obj.sub_hi[k]))
        throw ConfigError(fmt::format("objective: subject_to range of '{}' has lo {} > hi {}",
                                      o.output_names[static_cast<std::size_t>(k)], obj.sub_lo[k], obj.sub_hi[k]));
      if (std::isfinite(obj.sub_lo[k]) || std::isfinite(obj.sub_hi[k])) con_out_.push_back(k);
    }
  }
  if (o.has_input_stats()) {
    precision_ = oracle::precision_matrix(o.input_cov);
    centre_.resize(n);
    for (Index i = 0; i < n; ++i)
      centre_[i] = (c.fixed[static_cast<std::size_t>(i)] != 0 ? c.fixed_value[i] : is.mean[i]) - o.input_mean[i];
  } else if (c.plausible > 0) {
    throw ConfigError(
        fmt::format("constraint '{}': plausible = {} needs the oracle's /oracle/input_stats", c.name, c.plausible));
  }
  if (reg.uncertainty > 0) {  // the members' variance (inverse/uncertainty.hpp)
    if (!o.is_ensemble())
      throw ConfigError("regularize: uncertainty > 0 needs an ensemble oracle (train-oracle --ensemble K)");
    members_ = oracle::members_net(o).cast<float>();
  }
  if (reg.proximity > 0) {
    if (reg.reference.size() != n) throw ConfigError(fmt::format("regularize: reference needs {} values", n));
    reference_s_.resize(nf);
    for (Index k = 0; k < nf; ++k) {
      const Index i = free_[static_cast<std::size_t>(k)];
      reference_s_[k] = static_cast<float>((reg.reference[i] - is.mean[i]) / is.scale[i]);
    }
  }
}

void Problem::fill_fixed(MatrixMap<float> s_full) const {
  for (Index i = 0; i < n_in(); ++i)
    if (con_.fixed[static_cast<std::size_t>(i)] != 0) s_full.row(i).setConstant(fixed_s_[i]);
}

void Problem::set_free(const Eigen::Ref<const MatrixF>& s_free, MatrixMap<float> s_full) const {
  for (Index k = 0; k < n_free(); ++k)
    s_full.row(free_[static_cast<std::size_t>(k)]) = s_free.row(k);
}

void Problem::get_free(const MatrixMap<float>& g_full, Eigen::Ref<MatrixF> g_free) const {
  for (Index k = 0; k < n_free(); ++k)
    g_free.row(k) = g_full.row(free_[static_cast<std::size_t>(k)]);
}

double Problem::objective_grad(const MatrixMap<float>& u, MatrixMap<float> grad_u) const {
  const Index n = u.cols();
  const float inv_n = 1.0f / static_cast<float>(n);
  double total = 0;
  switch (obj_.kind) {
    case ObjectiveKind::target:
      for (Index j = 0; j < n; ++j)
        for (Index k = 0; k < u.rows(); ++k) {
          const float d = u(k, j) - target_u_[k];
          total += static_cast<double>(w_[k] * d * d);
          grad_u(k, j) = 2.0f * w_[k] * d * inv_n;
        }
      break;
    case ObjectiveKind::range:
      for (Index j = 0; j < n; ++j)
        for (Index k = 0; k < u.rows(); ++k) {
          const float d = u(k, j) < lo_u_[k] ? u(k, j) - lo_u_[k] : (u(k, j) > hi_u_[k] ? u(k, j) - hi_u_[k] : 0.0f);
          total += static_cast<double>(w_[k] * d * d);
          grad_u(k, j) = 2.0f * w_[k] * d * inv_n;
        }
      break;
    case ObjectiveKind::maximize:
    case ObjectiveKind::minimize:
      for (Index j = 0; j < n; ++j)
        for (Index k = 0; k < u.rows(); ++k) {
          total += static_cast<double>(w_[k] * u(k, j));
          grad_u(k, j) = w_[k] * inv_n;
        }
      break;
  }
  return total / static_cast<double>(n) + output_penalty(u, grad_u);
}

double Problem::objective_grad(const MatrixMap<float>& u, const MatrixF& t, MatrixMap<float> grad_u) const {
  const Index n = u.cols();
  const float inv_n = 1.0f / static_cast<float>(n);
  double total = 0;
  for (Index j = 0; j < n; ++j)
    for (Index k = 0; k < u.rows(); ++k) {
      const float d = u(k, j) - t(k, j);
      total += static_cast<double>(w_[k] * d * d);
      grad_u(k, j) = 2.0f * w_[k] * d * inv_n;
    }
  return total / static_cast<double>(n) + output_penalty(u, grad_u);
}

void Problem::residual_vectors(const MatrixMap<double>& u, MatrixD& r) const {
  const bool target = obj_.kind == ObjectiveKind::target;
  for (Index j = 0; j < u.cols(); ++j)
    for (Index k = 0; k < u.rows(); ++k) {
      const double sw = std::sqrt(weights_[k]);
      if (target) {
        r(k, j) = sw * (u(k, j) - target_ud_[k]);
      } else {
        r(k, j) = sw * (u(k, j) < lo_ud_[k] ? u(k, j) - lo_ud_[k] : (u(k, j) > hi_ud_[k] ? u(k, j) - hi_ud_[k] : 0.0));
      }
    }
}

void Problem::objective_values(const MatrixMap<double>& u, VectorD& values) const {
  if (obj_.kind == ObjectiveKind::maximize || obj_.kind == ObjectiveKind::minimize) {
    values = (linear_w_.transpose() * u).transpose();
    return;
  }
  MatrixD r(u.rows(), u.cols());
  residual_vectors(u, r);
  values = r.colwise().squaredNorm().transpose();
}

VectorD Problem::scale_outputs(const VectorD& y) const {
  const nn::Scaler& os = oracle_->output_scaler;
  return ((y - os.mean).array() / os.scale.array()).matrix();
}

MatrixD Problem::to_original(const MatrixD& s_free) const {
  const nn::Scaler& is = oracle_->input_scaler;
  MatrixD x(n_in(), s_free.cols());
  for (Index i = 0; i < n_in(); ++i)
    if (con_.fixed[static_cast<std::size_t>(i)] != 0) x.row(i).setConstant(con_.fixed_value[i]);
  for (Index k = 0; k < n_free(); ++k) {
    const Index i = free_[static_cast<std::size_t>(k)];
    x.row(i) = (s_free.row(k).array() * is.scale[i] + is.mean[i]).matrix();
  }
  return x;
}

MatrixD Problem::to_scaled_free(const MatrixD& x) const {
  const nn::Scaler& is = oracle_->input_scaler;
  MatrixD s(n_free(), x.cols());
  for (Index k = 0; k < n_free(); ++k) {
    const Index i = free_[static_cast<std::size_t>(k)];
    s.row(k) = ((x.row(i).array() - is.mean[i]) / is.scale[i]).matrix();
  }
  return s;
}

VectorD Problem::residuals(const MatrixD& y) const {
  VectorD r(y.cols());
  const VectorD& w = weights_;
  for (Index j = 0; j < y.cols(); ++j) {
    double acc = 0;
    for (Index k = 0; k < y.rows(); ++k) {
      switch (obj_.kind) {
        case ObjectiveKind::target:
          if (w[k] != 0) acc += (y(k, j) - obj_.target[k]) * (y(k, j) - obj_.target[k]);
          break;
        case ObjectiveKind::range: {
          const double d =
              y(k, j) < obj_.lo[k] ? obj_.lo[k] - y(k, j) : (y(k, j) > obj_.hi[k] ? y(k, j) - obj_.hi[k] : 0.0);
          if (w[k] != 0) acc += d * d;
          break;
        }
        case ObjectiveKind::maximize:
        case ObjectiveKind::minimize:
          acc += w[k] * y(k, j);
          break;
      }
    }
    const bool dist = obj_.kind == ObjectiveKind::target || obj_.kind == ObjectiveKind::range;
    r[j] = dist ? std::sqrt(acc) : acc;
  }
  return r;
}

Index Problem::finish(const MatrixD& s_free, TaskResult& r) const {
  r.vectors = to_original(s_free);
  // Values past a bound by rounding alone (float32 steps, unit conversion) are put on the
  // bound, so that "inside the box" holds exactly; real excursions (the paper map is soft)
  // are kept as they are.
  for (Index k = 0; k < n_free(); ++k) {
    const Index i = free_index(k);
    const double lo = con_.lower[i], hi = con_.upper[i];
    const double tol = 1e-5 * (std::isfinite(hi - lo) ? hi - lo : oracle_->input_scaler.scale[i]);
    for (Index j = 0; j < r.vectors.cols(); ++j) {
      double& x = r.vectors(i, j);
      if (x < lo && x >= lo - tol) x = lo;
      if (x > hi && x <= hi + tol) x = hi;
    }
  }
  r.outputs = oracle_->predict(r.vectors);
  r.residuals = residuals(r.outputs);
  r.violations = violations(r.vectors, r.outputs);
  r.mahalanobis = mahalanobis(r.vectors);
  Index bad = 0;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (Index j = 0; j < r.vectors.cols(); ++j) {
    if (r.vectors.col(j).allFinite() && r.outputs.col(j).allFinite() && std::isfinite(r.residuals[j])) continue;
    ++bad;
    r.vectors.col(j).setConstant(nan);
    r.outputs.col(j).setConstant(nan);
    r.residuals[j] = nan;
    r.violations[j] = nan;
    if (r.mahalanobis.size() > 0) r.mahalanobis[j] = nan;
  }
  return bad;
}

}  // namespace invsweep::inverse
