#include "invsweep/inverse/amortized.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "invsweep/core/errors.hpp"
#include "invsweep/core/rng.hpp"
#include "invsweep/inverse/bounds.hpp"
#include "invsweep/inverse/solve.hpp"
#include "invsweep/nn/adam.hpp"

namespace invsweep::inverse {

namespace {

using Clock = std::chrono::steady_clock;

constexpr Index kPilotBatches = 16;  // batches of targets measured for the standardisation

void check_settings(const oracle::Oracle& o, const AmortizedSettings& a) {
  if (a.batch < 1)
    throw ConfigError(fmt::format("amortized: batch must be at least 1 (got {})", a.batch));
  if (a.latent < 0)
    throw ConfigError(fmt::format("amortized: latent must be 0 or more (got {})", a.latent));
  if (a.steps < 0)
    throw ConfigError(fmt::format("amortized: steps must be 0 or more (got {})", a.steps));
  if (!(a.lr > 0)) throw ConfigError(fmt::format("amortized: lr must be positive (got {})", a.lr));
  if (!(a.uniform_share >= 0 && a.uniform_share <= 1))
    throw ConfigError(
        fmt::format("amortized: uniform_share must be in [0, 1] (got {})", a.uniform_share));
  if (!(a.warmup >= 0 && a.warmup <= 1))
    throw ConfigError(fmt::format(
        "amortized: warmup must be a fraction of the steps in [0, 1] (got {})", a.warmup));
  for (Index h : a.hidden)
    if (h < 1)
      throw ConfigError(
          fmt::format("amortized: hidden layer widths must be at least 1 (got {})", h));
  if (a.target_lo.has_value() != a.target_hi.has_value())
    throw ConfigError("amortized: give both target_lo and target_hi, or neither");
  if (!a.target_lo) return;
  const VectorD& lo = *a.target_lo;
  const VectorD& hi = *a.target_hi;
  if (lo.size() != o.n_out() || hi.size() != o.n_out())
    throw ConfigError(fmt::format(
        "amortized: target_lo and target_hi need {} values (one per output)", o.n_out()));
  for (Index k = 0; k < lo.size(); ++k)
    if (!std::isfinite(lo[k]) || !std::isfinite(hi[k]) || lo[k] > hi[k])
      throw ConfigError(
          fmt::format("amortized: target range of '{}' is [{}, {}]; expected finite lo ≤ hi",
                      o.output_names[static_cast<std::size_t>(k)], lo[k], hi[k]));
}

void refuse_extremum(ObjectiveKind kind) {
  if (kind == ObjectiveKind::maximize || kind == ObjectiveKind::minimize)
    throw ConfigError(fmt::format(
        "the amortized solver answers targets; a '{}' objective has none (use generator "
        "or adjoint)",
        to_string(kind)));
}

bool same_constraint(const Constraint& a, const Constraint& b) {
  if (a.fixed != b.fixed || a.lower.size() != b.lower.size() || a.upper.size() != b.upper.size())
    return false;
  if (a.lower != b.lower || a.upper != b.upper || a.method != b.method) return false;
  for (std::size_t i = 0; i < a.fixed.size(); ++i)
    if (a.fixed[i] != 0 &&
        a.fixed_value[static_cast<Index>(i)] != b.fixed_value[static_cast<Index>(i)])
      return false;
  return a.paper_c1 == b.paper_c1 && a.paper_c2 == b.paper_c2 && a.penalty == b.penalty;
}

/// Writes latents into rows [row0, row0 + rows) of `m` (every column of the active batch).
void draw_latents(Rng& rng, LatentDist dist, MatrixMap<float> m, Index row0) {
  for (Index j = 0; j < m.cols(); ++j)
    for (Index r = row0; r < m.rows(); ++r)
      m(r, j) =
          static_cast<float>(dist == LatentDist::normal ? rng.normal() : rng.uniform(-1.0, 1.0));
}

/// Writes the standardised conditioning targets (y_u − mean)/scale into rows [0, n_out) of `m`.
void set_condition(const MatrixF& y, const VectorF& mean, const VectorF& scale,
                   MatrixMap<float> m) {
  for (Index j = 0; j < y.cols(); ++j)
    for (Index k = 0; k < y.rows(); ++k)
      m(k, j) = (y(k, j) - mean[k]) / scale[k];
}

/// Training targets in scaled output units: uniform over a given range, or the oracle's
/// outputs at inputs drawn uniformly inside the start box (the reachable range).
class TargetSampler {
 public:
  TargetSampler(const Problem& p, const AmortizedSettings& a)
      : p_(p), ws_(p.net(), a.batch), x_(p.n_free(), a.batch) {
    if (a.target_lo) {
      explicit_ = true;
      const nn::Scaler& os = p.oracle().output_scaler;
      lo_u_ = ((*a.target_lo - os.mean).array() / os.scale.array()).matrix().cast<float>();
      hi_u_ = ((*a.target_hi - os.mean).array() / os.scale.array()).matrix().cast<float>();
    }
    p.fill_fixed(ws_.input());
  }

  /// Reachable mode: from now on the last `cols` columns of each batch are drawn uniformly
  /// over [lo, hi] (scaled output units) instead.
  void spread(const VectorF& lo, const VectorF& hi, Index cols) {
    lo_u_ = lo;
    hi_u_ = hi;
    uniform_cols_ = cols;
  }

  /// Fills y [n_out, batch].
  void draw(Rng& rng, MatrixF& y) {
    Index from = 0;
    if (!explicit_) {
      for (Index j = 0; j < x_.cols(); ++j)
        for (Index k = 0; k < x_.rows(); ++k)
          x_(k, j) = static_cast<float>(rng.uniform(p_.start_lo(k), p_.start_hi(k)));
      p_.set_free(x_, ws_.input());
      forward(p_.net(), ws_);
      y = ws_.output();
      from = y.cols() - uniform_cols_;
    }
    for (Index j = from; j < y.cols(); ++j)
      for (Index k = 0; k < y.rows(); ++k)
        y(k, j) = static_cast<float>(rng.uniform(lo_u_[k], hi_u_[k]));
  }

 private:
  const Problem& p_;
  nn::MlpWorkspace<float> ws_;
  MatrixF x_;
  bool explicit_ = false;
  Index uniform_cols_ = 0;
  VectorF lo_u_, hi_u_;
};

/// Mean over the batch of Σ_k w_k (u_k − y_k)²; writes its gradient into grad_u.
double round_trip(const MatrixMap<float>& u, const MatrixF& y, const VectorF& w,
                  MatrixMap<float> grad_u) {
  const Index n = u.cols();
  const float inv_n = 1.0f / static_cast<float>(n);
  double total = 0;
  for (Index j = 0; j < n; ++j)
    for (Index k = 0; k < u.rows(); ++k) {
      const float d = u(k, j) - y(k, j);
      total += static_cast<double>(w[k] * d * d);
      grad_u(k, j) = 2.0f * w[k] * d * inv_n;
    }
  return total / static_cast<double>(n);
}

}  // namespace

AmortizedModel AmortizedModel::train(const oracle::Oracle& o, const nn::Mlp<float>& net,
                                     const TaskSpec& spec) {
  const Clock::time_point t0 = Clock::now();
  refuse_extremum(spec.objective.kind);
  const AmortizedSettings& as = spec.amortized;
  check_settings(o, as);
  // The training problem: the task's constraint, regularisers and weights; the target itself is
  // a placeholder (each column of a batch has its own).
  Objective train_obj;
  train_obj.kind = ObjectiveKind::target;
  train_obj.target = VectorD::Zero(o.n_out());
  train_obj.weights = spec.objective.weights;
  const Problem p(o, net, train_obj, spec.constraint, spec.regularize);
  const Index n = as.batch, nf = p.n_free(), m = p.n_out();
  const VectorF w = (spec.objective.weights.size() == m ? spec.objective.weights : VectorD::Ones(m))
                        .cast<float>();

  AmortizedModel model;
  model.settings_ = as;
  model.constraint_ = spec.constraint;
  Rng rng(derive_seed({spec.seed, 0xA70}));
  TargetSampler sampler(p, as);
  MatrixF y(m, n);

  // Standardisation of the conditioning input, from a pilot sample of training targets.
  VectorD sum = VectorD::Zero(m), sum2 = VectorD::Zero(m);
  VectorF ymin = VectorF::Constant(m, std::numeric_limits<float>::infinity()), ymax = -ymin;
  for (Index b = 0; b < kPilotBatches; ++b) {
    sampler.draw(rng, y);
    const MatrixD yd = y.cast<double>();
    sum += yd.rowwise().sum();
    sum2 += yd.array().square().matrix().rowwise().sum();
    ymin = ymin.cwiseMin(y.rowwise().minCoeff());
    ymax = ymax.cwiseMax(y.rowwise().maxCoeff());
  }
  if (!as.target_lo && m == 1 && ymin.allFinite() && ymax.allFinite())
    sampler.spread(ymin, ymax,
                   static_cast<Index>(std::lround(as.uniform_share * static_cast<double>(n))));
  const double count = static_cast<double>(kPilotBatches * n);
  model.cond_mean_.resize(m);
  model.cond_scale_.resize(m);
  for (Index k = 0; k < m; ++k) {
    const double mean = sum[k] / count;
    const double sd = std::sqrt(std::max(sum2[k] / count - mean * mean, 0.0));
    model.cond_mean_[k] = static_cast<float>(mean);
    model.cond_scale_[k] = static_cast<float>(std::isfinite(sd) && sd > 1e-6 ? sd : 1.0);
  }

  nn::Mlp<float>& g = model.g_;
  g = nn::Mlp<float>::make(m + as.latent, as.hidden, nf, as.activation);
  g.init_glorot(rng);
  // Start G's outputs near the middle of the start box (as the generator solver does).
  for (Index k = 0; k < nf; ++k) {
    const double mid = 0.5 * (p.start_lo(k) + p.start_hi(k));
    const bool centred = p.constraint().method == BoundMethod::sigmoid && p.has_bounds(k);
    g.bias(g.n_layers() - 1)[k] = static_cast<float>(centred ? 0.0 : mid);
  }

  const BoundMap map(p);
  nn::MlpWorkspace<float> gws(g, n);
  nn::MlpWorkspace<float> ows(net, n);
  p.fill_fixed(ows.input());
  VectorF scratch;
  MatrixF v(nf, n), s(nf, n), gs(nf, n);
  VectorF grad(g.n_params()), best = g.params();
  nn::AdamState<float> adam(g.n_params());
  const nn::AdamSettings adam_settings;
  StepControl ctl(as.steps, as.lr, as.schedule, as.final_lr_fraction, 0, 0.0, spec.log_every,
                  spec.log_points);
  double last = 0;
  int step = 0;
  const double warm_steps = as.warmup * as.steps;
  const int every = std::max(1, spec.log_every);
  for (; step < as.steps; ++step) {
    if (spec.heartbeat && step % every == 0) spec.heartbeat();  // may throw Interrupted
    sampler.draw(rng, y);
    set_condition(y, model.cond_mean_, model.cond_scale_, gws.input());
    draw_latents(rng, as.latent_dist, gws.input(), m);
    forward(g, gws);
    v = gws.output();
    map.apply(v, s);
    p.set_free(s, ows.input());
    forward(net, ows);
    last = round_trip(ows.output(), y, w, ows.grad_output());
    backward(net, ows, nullptr, true);
    p.get_free(ows.grad_input(), gs);
    last += p.regularize(s, gs, scratch);
    last += map.penalty(s, gs);
    if (!std::isfinite(last)) break;
    ctl.record(step, last);  // no early stopping: the schedule runs to its end
    if (ctl.improved()) best = g.params();
    map.backprop(v, gs);
    gws.grad_output() = gs;
    grad.setZero();
    backward(g, gws, &grad, false);
    if (!nn::all_finite(grad.data(), grad.size())) {
      last = std::numeric_limits<double>::quiet_NaN();
      break;
    }
    const double ramp = step + 1 < warm_steps ? (step + 1) / warm_steps : 1.0;
    adam.step(adam_settings, ramp * ctl.lr(step), g.params(), grad);
    if (!nn::all_finite(g.params().data(), g.params().size())) {
      last = std::numeric_limits<double>::quiet_NaN();
      break;
    }
  }
  model.steps_ = step;
  model.loss_ = ctl.log();
  model.best_loss_ = ctl.best();
  model.message_ = divergence(ctl, last);
  if (!model.message_.empty()) {
    model.status_ = Status::diverged;
    g.params() = best;
  }
  model.train_seconds_ = std::chrono::duration<double>(Clock::now() - t0).count();
  return model;
}

TaskResult solve_amortized(const oracle::Oracle& o, const nn::Mlp<float>& net, const TaskSpec& spec,
                           const AmortizedModel& model, bool include_training) {
  const Clock::time_point t0 = Clock::now();
  refuse_extremum(spec.objective.kind);
  const Problem p(o, net, spec.objective, spec.constraint, spec.regularize);
  if (!same_constraint(spec.constraint, model.constraint()))
    throw std::invalid_argument(
        fmt::format("solve_amortized: the task's constraint '{}' is not the one the model "
                    "was trained under ('{}')",
                    spec.constraint.name, model.constraint().name));
  const Objective& obj = spec.objective;
  const VectorD target =
      obj.kind == ObjectiveKind::target ? obj.target : VectorD(0.5 * (obj.lo + obj.hi));
  const nn::Scaler& os = o.output_scaler;
  const MatrixF y = ((target - os.mean).array() / os.scale.array())
                        .matrix()
                        .cast<float>()
                        .replicate(1, spec.samples);

  const nn::Mlp<float>& g = model.generator();
  const Index n = spec.samples, nf = p.n_free();
  nn::MlpWorkspace<float> gws(g, n);
  Rng rng(derive_seed({spec.seed, 0xA75}));
  set_condition(y, model.cond_mean(), model.cond_scale(), gws.input());
  draw_latents(rng, model.settings().latent_dist, gws.input(), p.n_out());
  forward(g, gws);
  const MatrixF v = gws.output();
  MatrixF s(nf, n);
  const BoundMap map(p);
  map.apply(v, s);
  if (map.method() == BoundMethod::paper) map.project(s);
  MatrixD sd = s.cast<double>();

  TaskResult r;
  r.status = model.status();
  r.message = model.message();
  r.loss = model.loss();
  r.steps = model.steps();
  r.final_loss = model.best_loss();
  finish_task(p, spec.polish, sd, r);
  r.wall_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (include_training) r.wall_seconds += model.train_seconds();
  return r;
}

}  // namespace invsweep::inverse
