#include "invsweep/solvers/generator.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>

#include "invsweep/core/rng.hpp"
#include "invsweep/inverse/bounds.hpp"
#include "invsweep/inverse/pass.hpp"
#include "invsweep/inverse/polish.hpp"
#include "invsweep/inverse/training.hpp"
#include "invsweep/solvers/solver.hpp"

namespace invsweep::solvers {

using namespace inverse;

const config::Names& activation_choices() {
  static const config::Names names(nn::activation_names().begin(), nn::activation_names().end());
  return names;
}

const config::SettingsTable<GeneratorSettings>& GeneratorSettings::table() {
  using S = GeneratorSettings;
  static const config::SettingsTable<S> table = [] {
    config::SettingsTable<S> t("generator",
                               "A network G(z) trained through the frozen oracle; one batch of "
                               "`samples` latents gives the vectors.");
    t.integer("latent", &S::latent, 1, 4096, "size of the latent noise z")
        .widths("hidden", &S::hidden, "widths of G's hidden layers")
        .choice("activation", &S::activation, activation_choices(), "activation of G's hidden layers")
        .integer("steps", &S::steps, 1, 100000000, "training steps (at most)")
        .number("lr", &S::lr, 0, 1e12, true, "Adam's learning rate")
        .choice("latent_dist", &S::latent_dist, latent_names(), "distribution of z (uniform: on [−1, 1])")
        .boolean("fresh_latents", &S::fresh_latents, "draw new latents every step (else one fixed batch)");
    schedule_keys<true>(t);
    return t;
  }();
  return table;
}

namespace {

using Clock = std::chrono::steady_clock;

/// G's training step: z → G → v → bound map → s → oracle pass; Adam on G's parameters.
class GeneratorTrainable : public Trainable {
 public:
  GeneratorTrainable(const Problem& p, const GeneratorSettings& gs, Index n, Rng& rng)
      : p_(p),
        gs_(gs),
        rng_(rng),
        g_(nn::Mlp<float>::make(gs.latent, gs.hidden, p.n_free(), gs.activation)),
        map_(p),
        pass_(p, n),
        v_(p.n_free(), n),
        s_(p.n_free(), n),
        gs_grad_(p.n_free(), n),
        z0_(gs.latent, n) {
    g_.init_glorot(rng_);
    // Start the generator's outputs near the middle of the start box: last-layer bias.
    // For the paper and penalty maps, which act only outside the box, the outputs also start
    // narrow (last-layer weights scaled to a fifth of the box width) so that the first
    // generator lies inside its bounds: the paper's stopping rule then keeps an in-range one.
    const std::size_t last_layer = g_.n_layers() - 1;
    for (Index k = 0; k < p.n_free(); ++k) {
      const double mid = 0.5 * (p.start_lo(k) + p.start_hi(k));
      const bool sigmoid = p.constraint().method == BoundMethod::sigmoid && p.has_bounds(k);
      g_.bias(last_layer)[k] = static_cast<float>(sigmoid ? 0.0 : mid);
      if (!sigmoid && std::isfinite(p.hi()[k] - p.lo()[k])) {
        const double width = p.hi()[k] - p.lo()[k];
        const float norm = std::max(g_.weight(last_layer).row(k).cwiseAbs().sum(), 1e-12f);
        g_.weight(last_layer).row(k) *= static_cast<float>(std::min(1.0, 0.2 * width / static_cast<double>(norm)));
      }
    }
    gws_ = nn::MlpWorkspace<float>(g_, n);
    grad_ = VectorF(g_.n_params());
    best_ = g_.params();
    draw_latents(rng_, gs.latent_dist, MatrixMap<float>(z0_.data(), z0_.rows(), z0_.cols()));
    gws_.input() = z0_;
  }

  std::optional<double> forward(int step) override {
    if (gs_.fresh_latents && step > 0) draw_latents(rng_, gs_.latent_dist, gws_.input());
    nn::forward(g_, gws_);
    v_ = gws_.output();
    map_.apply(v_, s_);
    if (map_.method() == BoundMethod::paper && p_.constraint().paper_stop && step > 0 && !map_.inside(s_)) {
      message =
          fmt::format("paper constraint: a feature left its range at step {}; kept the last in-range generator", step);
      return std::nullopt;
    }
    return pass_.run(s_, gs_grad_, map_);
  }
  void backward() override {
    map_.backprop(v_, gs_grad_);
    gws_.grad_output() = gs_grad_;
    grad_.setZero();
    nn::backward(g_, gws_, &grad_, false);
  }
  Eigen::Map<VectorF> params() override { return {g_.params().data(), g_.params().size()}; }
  Eigen::Map<const VectorF> gradient() override { return {grad_.data(), grad_.size()}; }
  void keep_best() override { best_ = g_.params(); }

  /// The vectors: the best generator on the fixed batch (or a fresh one).
  MatrixD vectors() {
    g_.params() = best_;
    gws_.input() = z0_;
    if (gs_.fresh_latents) draw_latents(rng_, gs_.latent_dist, gws_.input());
    nn::forward(g_, gws_);
    v_ = gws_.output();
    map_.apply(v_, s_);
    return s_.cast<double>();
  }

 private:
  const Problem& p_;
  const GeneratorSettings& gs_;
  Rng& rng_;
  nn::Mlp<float> g_;
  BoundMap map_;
  OraclePass pass_;
  nn::MlpWorkspace<float> gws_;
  MatrixF v_, s_, gs_grad_, z0_;
  VectorF grad_, best_;
};

class Generator final : public SolverWith<GeneratorSettings> {
 public:
  std::string_view name() const override { return "generator"; }
  std::string_view summary() const override {
    return "a generator network G(z) trained through the frozen oracle (many vectors from one training run)";
  }

  TaskResult run(const TaskContext& ctx) const override {
    const Clock::time_point t0 = Clock::now();
    const TaskSpec& spec = ctx.spec;
    const GeneratorSettings& gs = get(spec.settings);
    const Problem p(ctx.oracle, ctx.net, spec.objective, spec.constraint, spec.regularize);
    Rng rng(derive_seed({spec.seed, 0x6E4}));
    GeneratorTrainable t(p, gs, spec.samples, rng);
    const LoopOutcome out = train_loop(t, loop_settings(gs), spec.log_every, spec.log_points, spec.heartbeat);
    TaskResult r = result_of(out);
    MatrixD s = t.vectors();
    finish_task(p, spec.polish, s, r);
    r.wall_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return r;
  }

  MemoryNeed memory(const std::any& s, const MemoryInput& in) const override {
    const GeneratorSettings& g = get(s);
    // G's parameters with their gradient and Adam's two moments, and its activations for the
    // batch of `samples` latents (forward and backward, float32).
    double params = 0, width = static_cast<double>(g.latent + in.n_in);
    double prev = static_cast<double>(g.latent);
    for (Index h : g.hidden) {
      params += (prev + 1) * static_cast<double>(h);
      prev = static_cast<double>(h);
      width += static_cast<double>(h);
    }
    params += (prev + 1) * static_cast<double>(in.n_in);
    const double weights = 4 * params * 4, activations = 4 * width * static_cast<double>(in.samples) * 4;
    return {weights + activations, weights > activations ? "generator.hidden" : "samples"};
  }

  std::int64_t work(const std::any& s) const override { return get(s).steps; }
  std::any with_work(const std::any& s, std::int64_t units) const override {
    GeneratorSettings g = get(s);
    g.steps = static_cast<int>(units);
    g.patience = 0;
    g.tolerance = 0;
    return g;
  }

  static LoopSettings loop_settings(const GeneratorSettings& gs) {
    return {gs.steps, gs.lr, gs.schedule, gs.final_lr_fraction, gs.patience, gs.tolerance, 0.0};
  }
};

}  // namespace

const Solver& generator_solver() {
  static const Generator s;
  return s;
}

}  // namespace invsweep::solvers
