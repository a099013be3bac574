#include "invsweep/solvers/amortized.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <stdexcept>
#include <vector>

#include "invsweep/core/errors.hpp"
#include "invsweep/core/rng.hpp"
#include "invsweep/inverse/bounds.hpp"
#include "invsweep/inverse/pass.hpp"
#include "invsweep/inverse/polish.hpp"
#include "invsweep/inverse/training.hpp"
#include "invsweep/solvers/generator.hpp"
#include "invsweep/solvers/solver.hpp"

namespace invsweep::solvers {

using namespace inverse;

const config::SettingsTable<AmortizedSettings>& AmortizedSettings::table() {
  using S = AmortizedSettings;
  static const config::SettingsTable<S> table = [] {
    config::SettingsTable<S> t("amortized",
                               "One conditional generator G(y, z) per (constraint setting, replicate), "
                               "trained over a range of targets; each target is answered by forward "
                               "passes.");
    t.integer("latent", &S::latent, 1, 4096, "size of the latent noise z")
        .widths("hidden", &S::hidden, "widths of G's hidden layers")
        .choice("activation", &S::activation, activation_choices(), "activation of G's hidden layers")
        .integer("steps", &S::steps, 1, 100000000, "training steps")
        .number("lr", &S::lr, 0, 1e12, true, "Adam's learning rate")
        .integer("batch", &S::batch, 1, 1000000, "targets (each with its own latent) per training step")
        .choice("latent_dist", &S::latent_dist, latent_names(), "distribution of z (uniform: on [−1, 1])");
    schedule_keys<false>(t);
    t.number("warmup", &S::warmup, 0, 1, false, "the rate ramps up linearly over this fraction of the steps")
        .number("uniform_share", &S::uniform_share, 0, 1, false,
                "one output, no target range: share of each batch drawn uniformly over the outputs seen");
    const auto range_end = [](std::string key, std::optional<VectorD> S::*m, std::string doc) {
      config::Field<S> f;
      f.key = key;
      f.type = "array of numbers";
      f.range = "one finite value per output; both keys or neither";
      f.doc = std::move(doc);
      f.parse = [key, m](const config::Table& tb, S& s, const config::Context& ctx) {
        if (tb.has("target_lo") != tb.has("target_hi"))
          throw ConfigError(
              fmt::format("{}: give both '{}' and '{}' (the range of training targets), or neither "
                          "(the oracle's reachable outputs)",
                          tb.where(), tb.name("target_lo"), tb.name("target_hi")));
        if (const toml::node* n = tb.get(key)) s.*m = tb.numbers(*n, key, ctx.oracle->n_out());
        if (key == "target_hi" && s.target_lo && s.target_hi)
          for (Index k = 0; k < s.target_hi->size(); ++k)
            if ((*s.target_lo)[k] > (*s.target_hi)[k])
              tb.fail(*tb.get(key), key,
                      fmt::format("≥ 'target_lo' for every output (output '{}': {} > {})",
                                  ctx.oracle->output_names[static_cast<std::size_t>(k)], (*s.target_lo)[k],
                                  (*s.target_hi)[k]));
      };
      f.hash = [m](config::Fingerprint& fp, const S& s) {
        if (s.*m) fp.vec(*(s.*m));
      };
      f.show = [m](const S& s) { return s.*m ? fmt::format("[{}]", fmt::join(*(s.*m), ", ")) : std::string("(none)"); };
      f.default_doc = "none: the outputs the oracle reaches under the constraint";
      return f;
    };
    t.add(range_end("target_lo", &S::target_lo, "lower end of the range of training targets"))
        .add(range_end("target_hi", &S::target_hi, "upper end of the range of training targets (≥ target_lo)"));
    return t;
  }();
  return table;
}

namespace {

using Clock = std::chrono::steady_clock;

constexpr Index kPilotBatches = 16;  // batches of targets measured for the standardisation

void check_settings(const oracle::Oracle& o, const AmortizedSettings& a) {
  if (a.batch < 1) throw ConfigError(fmt::format("amortized: batch must be at least 1 (got {})", a.batch));
  if (a.latent < 0) throw ConfigError(fmt::format("amortized: latent must be 0 or more (got {})", a.latent));
  if (a.steps < 0) throw ConfigError(fmt::format("amortized: steps must be 0 or more (got {})", a.steps));
  if (!(a.lr > 0)) throw ConfigError(fmt::format("amortized: lr must be positive (got {})", a.lr));
  if (!(a.uniform_share >= 0 && a.uniform_share <= 1))
    throw ConfigError(fmt::format("amortized: uniform_share must be in [0, 1] (got {})", a.uniform_share));
  if (!(a.warmup >= 0 && a.warmup <= 1))
    throw ConfigError(fmt::format("amortized: warmup must be a fraction of the steps in [0, 1] (got {})", a.warmup));
  for (Index h : a.hidden)
    if (h < 1) throw ConfigError(fmt::format("amortized: hidden layer widths must be at least 1 (got {})", h));
  if (a.target_lo.has_value() != a.target_hi.has_value())
    throw ConfigError("amortized: give both target_lo and target_hi, or neither");
  if (!a.target_lo) return;
  const VectorD& lo = *a.target_lo;
  const VectorD& hi = *a.target_hi;
  if (lo.size() != o.n_out() || hi.size() != o.n_out())
    throw ConfigError(fmt::format("amortized: target_lo and target_hi need {} values (one per output)", o.n_out()));
  for (Index k = 0; k < lo.size(); ++k)
    if (!std::isfinite(lo[k]) || !std::isfinite(hi[k]) || lo[k] > hi[k])
      throw ConfigError(fmt::format("amortized: target range of '{}' is [{}, {}]; expected finite lo ≤ hi",
                                    o.output_names[static_cast<std::size_t>(k)], lo[k], hi[k]));
}

void refuse_extremum(ObjectiveKind kind) {
  if (kind == ObjectiveKind::maximize || kind == ObjectiveKind::minimize)
    throw ConfigError(
        fmt::format("the amortized solver answers targets; a '{}' objective has none (use generator "
                    "or adjoint)",
                    to_string(kind)));
}

bool same_constraint(const Constraint& a, const Constraint& b) {
  if (a.fixed != b.fixed || a.lower.size() != b.lower.size() || a.upper.size() != b.upper.size()) return false;
  if (a.lower != b.lower || a.upper != b.upper || a.method != b.method) return false;
  for (std::size_t i = 0; i < a.fixed.size(); ++i)
    if (a.fixed[i] != 0 && a.fixed_value[static_cast<Index>(i)] != b.fixed_value[static_cast<Index>(i)]) return false;
  return a.paper_c1 == b.paper_c1 && a.paper_c2 == b.paper_c2 && a.penalty == b.penalty;
}

/// Writes the standardised conditioning targets (y_u − mean)/scale into rows [0, n_out) of `m`.
void set_condition(const MatrixF& y, const VectorF& mean, const VectorF& scale, MatrixMap<float> m) {
  for (Index j = 0; j < y.cols(); ++j)
    for (Index k = 0; k < y.rows(); ++k)
      m(k, j) = (y(k, j) - mean[k]) / scale[k];
}

/// Training targets in scaled output units: uniform over a given range, or the oracle's
/// outputs at inputs drawn uniformly inside the start box (the reachable range).
class TargetSampler {
 public:
  TargetSampler(const Problem& p, const AmortizedSettings& a) : p_(p), ws_(p.net(), a.batch), x_(p.n_free(), a.batch) {
    if (a.target_lo) {
      explicit_ = true;
      lo_u_ = p.scale_outputs(*a.target_lo).cast<float>();
      hi_u_ = p.scale_outputs(*a.target_hi).cast<float>();
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

/// One training step of G: a fresh batch of targets and latents → G → bound map → oracle →
/// round-trip loss against the batch's targets.
class AmortizedTrainable : public Trainable {
 public:
  AmortizedTrainable(const Problem& p, const AmortizedSettings& as, nn::Mlp<float>& g, const VectorF& cond_mean,
                     const VectorF& cond_scale, TargetSampler& sampler, Rng& rng)
      : p_(p),
        as_(as),
        g_(g),
        cond_mean_(cond_mean),
        cond_scale_(cond_scale),
        sampler_(sampler),
        rng_(rng),
        map_(p),
        gws_(g, as.batch),
        pass_(p, as.batch),
        y_(p.n_out(), as.batch),
        v_(p.n_free(), as.batch),
        s_(p.n_free(), as.batch),
        gs_(p.n_free(), as.batch),
        grad_(g.n_params()),
        best_(g.params()) {}

  std::optional<double> forward(int /*step*/) override {
    sampler_.draw(rng_, y_);
    set_condition(y_, cond_mean_, cond_scale_, gws_.input());
    draw_latents(rng_, as_.latent_dist, gws_.input(), p_.n_out());
    nn::forward(g_, gws_);
    v_ = gws_.output();
    map_.apply(v_, s_);
    return pass_.run(s_, gs_, map_, y_);
  }
  void backward() override {
    map_.backprop(v_, gs_);
    gws_.grad_output() = gs_;
    grad_.setZero();
    nn::backward(g_, gws_, &grad_, false);
  }
  Eigen::Map<VectorF> params() override { return {g_.params().data(), g_.params().size()}; }
  Eigen::Map<const VectorF> gradient() override { return {grad_.data(), grad_.size()}; }
  void keep_best() override { best_ = g_.params(); }
  const VectorF& best() const { return best_; }

 private:
  const Problem& p_;
  const AmortizedSettings& as_;
  nn::Mlp<float>& g_;
  const VectorF &cond_mean_, &cond_scale_;
  TargetSampler& sampler_;
  Rng& rng_;
  BoundMap map_;
  nn::MlpWorkspace<float> gws_;
  OraclePass pass_;
  MatrixF y_, v_, s_, gs_;
  VectorF grad_, best_;
};

}  // namespace

AmortizedModel AmortizedModel::train(const oracle::Oracle& o, const nn::Mlp<float>& net, const TaskSpec& spec) {
  const Clock::time_point t0 = Clock::now();
  refuse_extremum(spec.objective.kind);
  const AmortizedSettings& as = std::any_cast<const AmortizedSettings&>(spec.settings);
  check_settings(o, as);
  // The training problem: the task's constraint, regularisers and weights; the target itself is
  // a placeholder (each column of a batch has its own).
  Objective train_obj;
  train_obj.kind = ObjectiveKind::target;
  train_obj.target = VectorD::Zero(o.n_out());
  train_obj.weights = spec.objective.weights;
  const Problem p(o, net, train_obj, spec.constraint, spec.regularize);
  const Index n = as.batch, nf = p.n_free(), m = p.n_out();

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
    sampler.spread(ymin, ymax, static_cast<Index>(std::lround(as.uniform_share * static_cast<double>(n))));
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

  AmortizedTrainable t(p, as, g, model.cond_mean_, model.cond_scale_, sampler, rng);
  const LoopSettings ls{as.steps, as.lr, as.schedule, as.final_lr_fraction, 0, 0.0, as.warmup};
  const LoopOutcome out = train_loop(t, ls, spec.log_every, spec.log_points, spec.heartbeat);
  model.steps_ = out.steps;
  model.loss_ = out.log;
  model.best_loss_ = out.best;
  model.message_ = out.diverged;
  if (!model.message_.empty()) {
    model.status_ = Status::diverged;
    g.params() = t.best();
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
  const VectorD target = obj.kind == ObjectiveKind::target ? obj.target : VectorD(0.5 * (obj.lo + obj.hi));
  const MatrixF y = p.scale_outputs(target).cast<float>().replicate(1, spec.samples);

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

namespace {

/// The models a rank has trained in this run, per (constraint setting, replicate).
class AmortizedState : public RunState {
 public:
  std::map<std::pair<Index, Index>, std::unique_ptr<AmortizedModel>> models;
};

class Amortized final : public SolverWith<AmortizedSettings> {
 public:
  std::string_view name() const override { return "amortized"; }
  std::string_view summary() const override {
    return "one conditional generator G(y, z) per constraint setting and replicate, trained over a range of "
           "targets; answers each target with forward passes";
  }
  void check_objective(ObjectiveKind kind) const override {
    if (kind == ObjectiveKind::maximize || kind == ObjectiveKind::minimize)
      throw ConfigError(fmt::format("the amortized solver answers targets; it cannot {} (remove it from 'solvers')",
                                    to_string(kind)));
  }
  std::unique_ptr<RunState> make_state() const override { return std::make_unique<AmortizedState>(); }

  /// With run state, the model of the task's (constraint, replicate) is trained once, from
  /// spec.shared_seed, by the first task that needs it (whose time includes the training);
  /// alone, a task trains its own from spec.seed.
  TaskResult run(const TaskContext& ctx) const override {
    const TaskSpec& spec = ctx.spec;
    auto* state = dynamic_cast<AmortizedState*>(ctx.state);
    if (state == nullptr)
      return solve_amortized(ctx.oracle, ctx.net, spec, AmortizedModel::train(ctx.oracle, ctx.net, spec), true);
    std::unique_ptr<AmortizedModel>& model = state->models[{spec.constraint_index, spec.replicate}];
    const bool fresh = model == nullptr;
    if (fresh) {
      TaskSpec train = spec;
      train.seed = spec.shared_seed;
      model = std::make_unique<AmortizedModel>(AmortizedModel::train(ctx.oracle, ctx.net, train));
    }
    return solve_amortized(ctx.oracle, ctx.net, spec, *model, fresh);
  }

  std::int64_t work(const std::any& s) const override { return get(s).steps; }
  std::any with_work(const std::any& s, std::int64_t units) const override {
    AmortizedSettings a = get(s);
    a.steps = static_cast<int>(units);
    return a;
  }

  /// One model per (constraint, replicate) and rank that needs it, then forward passes.
  CostEstimate estimate(const CostInput& in) const override {
    TaskSpec train = in.sample.front();
    const int full = get(train.settings).steps;
    const int short_steps = std::min(full, 60);
    train.settings = with_work(train.settings, short_steps);
    const Clock::time_point t0 = Clock::now();
    const AmortizedModel m = AmortizedModel::train(in.oracle, in.net, train);
    const double t_train = std::chrono::duration<double>(Clock::now() - t0).count() * full / short_steps;
    const Clock::time_point t1 = Clock::now();
    (void)solve_amortized(in.oracle, in.net, in.sample.front(), m, false);
    const double t_answer = std::chrono::duration<double>(Clock::now() - t1).count();
    CostEstimate e;
    e.per_task = t_answer;
    e.shared = t_train;
    e.shared_units = in.constraints * in.replicates * std::min<Index>(in.ranks, in.targets);
    e.detail = fmt::format("{} model{} of {} steps, then forward passes per target", e.shared_units,
                           e.shared_units == 1 ? "" : "s", full);
    return e;
  }
};

}  // namespace

const Solver& amortized_solver() {
  static const Amortized s;
  return s;
}

}  // namespace invsweep::solvers
