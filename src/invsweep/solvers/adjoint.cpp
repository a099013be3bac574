#include "invsweep/solvers/adjoint.hpp"

#include <chrono>

#include "invsweep/core/rng.hpp"
#include "invsweep/inverse/bounds.hpp"
#include "invsweep/inverse/pass.hpp"
#include "invsweep/inverse/polish.hpp"
#include "invsweep/inverse/training.hpp"
#include "invsweep/solvers/solver.hpp"

namespace invsweep::solvers {

using namespace inverse;

const config::SettingsTable<AdjointSettings>& AdjointSettings::table() {
  using S = AdjointSettings;
  static const config::SettingsTable<S> table = [] {
    config::SettingsTable<S> t("adjoint",
                               "The vectors themselves are the parameters: `samples` random starts "
                               "in the start box, Adam through the frozen oracle.");
    t.integer("steps", &S::steps, 1, 100000000, "steps (at most)")
        .number("lr", &S::lr, 0, 1e12, true, "Adam's learning rate (scaled input units)");
    schedule_keys<true>(t);
    return t;
  }();
  return table;
}

namespace {

using Clock = std::chrono::steady_clock;

/// The parameters are v [n_free, N]: s = v, or s = map(v) for the sigmoid map; the paper map
/// projects v back into the box after each step.
class AdjointTrainable : public Trainable {
 public:
  AdjointTrainable(const Problem& p, Index n, Rng& rng)
      : map_(p), pass_(p, n), s_(p.n_free(), n), v_(p.n_free(), n), g_(p.n_free(), n) {
    for (Index j = 0; j < n; ++j)
      for (Index k = 0; k < p.n_free(); ++k)
        s_(k, j) = static_cast<float>(rng.uniform(p.start_lo(k), p.start_hi(k)));
    map_.invert(s_, v_);  // v = s unless the sigmoid reparametrisation is used
    best_ = v_;
  }
  std::optional<double> forward(int /*step*/) override {
    if (reparam())
      map_.apply(v_, s_);
    else
      s_ = v_;
    return pass_.run(s_, g_, map_);
  }
  void backward() override {
    if (reparam()) map_.backprop(v_, g_);
  }
  Eigen::Map<VectorF> params() override { return {v_.data(), v_.size()}; }
  Eigen::Map<const VectorF> gradient() override { return {g_.data(), g_.size()}; }
  void keep_best() override { best_ = v_; }
  void after_update() override {
    if (map_.method() == BoundMethod::paper) map_.project(v_);
  }
  MatrixD vectors() {
    if (reparam())
      map_.apply(best_, s_);
    else
      s_ = best_;
    return s_.cast<double>();
  }

 private:
  bool reparam() const { return map_.method() == BoundMethod::sigmoid; }
  BoundMap map_;
  OraclePass pass_;
  MatrixF s_, v_, g_, best_;
};

class Adjoint final : public SolverWith<AdjointSettings> {
 public:
  std::string_view name() const override { return "adjoint"; }
  std::string_view summary() const override {
    return "gradient descent on the vectors themselves from random starts (backpropagation to the inputs)";
  }

  TaskResult run(const TaskContext& ctx) const override {
    const Clock::time_point t0 = Clock::now();
    const TaskSpec& spec = ctx.spec;
    const AdjointSettings& as = get(spec.settings);
    const Problem p(ctx.oracle, ctx.net, spec.objective, spec.constraint, spec.regularize);
    Rng rng(derive_seed({spec.seed, 0xAD1}));
    AdjointTrainable t(p, spec.samples, rng);
    const LoopSettings ls{as.steps, as.lr, as.schedule, as.final_lr_fraction, as.patience, as.tolerance, 0.0};
    const LoopOutcome out = train_loop(t, ls, spec.log_every, spec.log_points, spec.heartbeat);
    TaskResult r = result_of(out);
    MatrixD s = t.vectors();
    finish_task(p, spec.polish, s, r);
    r.wall_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return r;
  }

  std::int64_t work(const std::any& s) const override { return get(s).steps; }
  std::any with_work(const std::any& s, std::int64_t units) const override {
    AdjointSettings a = get(s);
    a.steps = static_cast<int>(units);
    a.patience = 0;
    a.tolerance = 0;
    return a;
  }
};

}  // namespace

const Solver& adjoint_solver() {
  static const Adjoint s;
  return s;
}

}  // namespace invsweep::solvers
