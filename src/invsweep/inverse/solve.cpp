#include "invsweep/inverse/solve.hpp"

#include <chrono>
#include <cmath>
#include <fmt/format.h>

#include "invsweep/core/rng.hpp"
#include "invsweep/inverse/amortized.hpp"
#include "invsweep/inverse/bounds.hpp"
#include "invsweep/nn/adam.hpp"

namespace invsweep::inverse {

namespace {

using Clock = std::chrono::steady_clock;

/// The per-step path shared by both solvers: free features s [n_free, N] → oracle → objective,
/// regularisers and penalty; leaves dL/ds in g. Returns the loss.
struct OraclePass {
  const Problem& p;
  nn::MlpWorkspace<float> ws;
  VectorF scratch;
  OraclePass(const Problem& prob, Index n) : p(prob), ws(prob.net(), n) { p.fill_fixed(ws.input()); }

  double run(const MatrixF& s, MatrixF& g, const BoundMap& map) {
    p.set_free(s, ws.input());
    forward(p.net(), ws);
    double loss = p.objective_grad(ws.output(), ws.grad_output());
    backward(p.net(), ws, nullptr, true);
    p.get_free(ws.grad_input(), g);
    loss += p.regularize(s, g, scratch);
    loss += map.penalty(s, g);
    return loss;
  }
};

bool finite(const Eigen::Ref<const VectorF>& v) { return nn::all_finite(v.data(), v.size()); }

void draw_latents(Rng& rng, LatentDist dist, MatrixMap<float> z) {
  for (Index i = 0; i < z.size(); ++i)
    z.data()[i] = static_cast<float>(dist == LatentDist::normal ? rng.normal() : rng.uniform(-1.0, 1.0));
}

/// Records the run's steps, loss curve and best loss in r, and marks it diverged if it did.
void close_run(const StepControl& ctl, int steps, double last, TaskResult& r) {
  r.steps = steps;
  r.loss = ctl.log();
  r.final_loss = ctl.best();
  const std::string div = divergence(ctl, last);
  if (!div.empty()) {
    r.status = Status::diverged;
    r.message = div;
  }
}

MatrixD run_generator(const Problem& p, const TaskSpec& spec, TaskResult& r) {
  const GeneratorSettings& gs = spec.generator;
  const Index n = spec.samples, nf = p.n_free();
  Rng rng(derive_seed({spec.seed, 0x6E4}));
  nn::Mlp<float> g = nn::Mlp<float>::make(gs.latent, gs.hidden, nf, gs.activation);
  g.init_glorot(rng);
  // Start the generator's outputs near the middle of the start box: last-layer bias.
  // For the paper and penalty maps, which act only outside the box, the outputs also start
  // narrow (last-layer weights scaled to a fifth of the box width) so that the first
  // generator lies inside its bounds: the paper's stopping rule then keeps an in-range one.
  const std::size_t last_layer = g.n_layers() - 1;
  for (Index k = 0; k < nf; ++k) {
    const double mid = 0.5 * (p.start_lo(k) + p.start_hi(k));
    const bool sigmoid = p.constraint().method == BoundMethod::sigmoid && p.has_bounds(k);
    g.bias(last_layer)[k] = static_cast<float>(sigmoid ? 0.0 : mid);
    if (!sigmoid && std::isfinite(p.hi()[k] - p.lo()[k])) {
      const double width = p.hi()[k] - p.lo()[k];
      const float norm = std::max(g.weight(last_layer).row(k).cwiseAbs().sum(), 1e-12f);
      g.weight(last_layer).row(k) *= static_cast<float>(std::min(1.0, 0.2 * width / static_cast<double>(norm)));
    }
  }
  const BoundMap map(p);
  nn::MlpWorkspace<float> gws(g, n);
  OraclePass pass(p, n);
  MatrixF v(nf, n), s(nf, n), gs_(nf, n);
  VectorF grad(g.n_params()), best = g.params();
  nn::AdamState<float> adam(g.n_params());
  nn::AdamSettings adam_settings;
  StepControl ctl(gs.steps, gs.lr, gs.schedule, gs.final_lr_fraction, gs.patience, gs.tolerance, spec.log_every,
                  spec.log_points);
  MatrixF z0(gs.latent, n);
  draw_latents(rng, gs.latent_dist, MatrixMap<float>(z0.data(), z0.rows(), z0.cols()));
  gws.input() = z0;
  double last = 0;
  int step = 0;
  for (; step < gs.steps; ++step) {
    if (spec.heartbeat && step % spec.log_every == 0) spec.heartbeat();  // may throw Interrupted
    if (gs.fresh_latents && step > 0) draw_latents(rng, gs.latent_dist, gws.input());
    forward(g, gws);
    v = gws.output();
    map.apply(v, s);
    if (map.method() == BoundMethod::paper && p.constraint().paper_stop && step > 0 && !map.inside(s)) {
      r.message = fmt::format("paper constraint: a feature left its range at step {}; kept the last in-range generator", step);
      break;
    }
    last = pass.run(s, gs_, map);
    if (!std::isfinite(last)) break;
    const bool go = ctl.record(step, last);
    if (ctl.improved()) best = g.params();
    if (!go) {
      ++step;
      break;
    }
    map.backprop(v, gs_);
    gws.grad_output() = gs_;
    grad.setZero();
    backward(g, gws, &grad, false);
    if (!finite(grad)) {
      last = std::numeric_limits<double>::quiet_NaN();
      break;
    }
    adam.step(adam_settings, ctl.lr(step), g.params(), grad);
    if (!finite(g.params())) {
      last = std::numeric_limits<double>::quiet_NaN();
      break;
    }
  }
  close_run(ctl, step, last, r);
  // The vectors: the best generator on a fresh batch (or the fixed one).
  g.params() = best;
  gws.input() = z0;
  if (gs.fresh_latents) draw_latents(rng, gs.latent_dist, gws.input());
  forward(g, gws);
  v = gws.output();
  map.apply(v, s);
  return s.cast<double>();
}

MatrixD run_adjoint(const Problem& p, const TaskSpec& spec, TaskResult& r) {
  const AdjointSettings& as = spec.adjoint;
  const Index n = spec.samples, nf = p.n_free();
  Rng rng(derive_seed({spec.seed, 0xAD1}));
  const BoundMap map(p);
  const bool reparam = map.method() == BoundMethod::sigmoid;
  const bool project = map.method() == BoundMethod::paper;
  MatrixF s(nf, n), v(nf, n), g(nf, n), best(nf, n);
  for (Index j = 0; j < n; ++j)
    for (Index k = 0; k < nf; ++k) s(k, j) = static_cast<float>(rng.uniform(p.start_lo(k), p.start_hi(k)));
  map.invert(s, v);  // v = s unless the sigmoid reparametrisation is used
  best = v;
  OraclePass pass(p, n);
  nn::AdamState<float> adam(v.size());
  nn::AdamSettings adam_settings;
  StepControl ctl(as.steps, as.lr, as.schedule, as.final_lr_fraction, as.patience, as.tolerance, spec.log_every,
                  spec.log_points);
  double last = 0;
  int step = 0;
  for (; step < as.steps; ++step) {
    if (spec.heartbeat && step % spec.log_every == 0) spec.heartbeat();  // may throw Interrupted
    if (reparam) map.apply(v, s); else s = v;
    last = pass.run(s, g, map);
    if (!std::isfinite(last)) break;
    const bool go = ctl.record(step, last);
    if (ctl.improved()) best = v;
    if (!go) {
      ++step;
      break;
    }
    if (reparam) map.backprop(v, g);
    adam.step(adam_settings, ctl.lr(step), Eigen::Map<VectorF>(v.data(), v.size()),
              Eigen::Map<const VectorF>(g.data(), g.size()));
    if (project) map.project(v);
    if (!nn::all_finite(v.data(), v.size())) {
      last = std::numeric_limits<double>::quiet_NaN();
      break;
    }
  }
  close_run(ctl, step, last, r);
  if (reparam) map.apply(best, s); else s = best;
  return s.cast<double>();
}

}  // namespace

void finish_task(const Problem& p, const PolishSettings& polish_settings, MatrixD& s_free, TaskResult& r) {
  if (polish_settings.enabled && r.status == Status::done && s_free.allFinite()) polish(p, polish_settings, s_free);
  const Index bad = p.finish(s_free, r);
  if (bad > 0 && r.status == Status::done) {
    r.status = Status::diverged;
    r.message = fmt::format("{} of {} vectors were not finite", bad, s_free.cols());
  }
}

TaskResult solve(const oracle::Oracle& oracle, const nn::Mlp<float>& net, const TaskSpec& spec) {
  if (spec.solver == SolverKind::amortized)
    return solve_amortized(oracle, net, spec, AmortizedModel::train(oracle, net, spec), true);
  const Clock::time_point t0 = Clock::now();
  const Problem p(oracle, net, spec.objective, spec.constraint, spec.regularize);
  TaskResult r;
  r.status = Status::done;
  MatrixD s;
  switch (spec.solver) {
    case SolverKind::generator:
      s = run_generator(p, spec, r);
      break;
    case SolverKind::adjoint:
      s = run_adjoint(p, spec, r);
      break;
    case SolverKind::amortized:
      break;  // handled above
  }
  finish_task(p, spec.polish, s, r);
  r.wall_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

}  // namespace invsweep::inverse
