// Solver `cmaes`: IPOP-CMA-ES (cmaes_core.hpp), a black-box baseline that uses oracle values
// only — for users who distrust gradients. It searches the free features in the same
// unbounded space as the other solvers (v, mapped into the bounds by the constraint's bound
// map; fixed features held), minimising each vector's objective value through the oracle in
// float64 (Problem::objective_values, plus the penalty method's penalty). The task's vectors
// are the runs' bests and the best members of their last generations (cmaes::candidates);
// IPOP sequences are repeated until there are `samples` of them or the evaluation budget is
// used. The generator solvers' regularisers do not apply (they act on a batch's gradient),
// except `uncertainty`, a value per vector: on an ensemble the members' view of the oracle is
// evaluated, the objective taken on the members' mean and λ·mean variance added.
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "invsweep/core/errors.hpp"
#include "invsweep/core/rng.hpp"
#include "invsweep/inverse/bounds.hpp"
#include "invsweep/inverse/polish.hpp"
#include "invsweep/inverse/uncertainty.hpp"
#include "invsweep/oracle/ensemble.hpp"
#include "invsweep/solvers/cmaes_core.hpp"
#include "invsweep/solvers/solver.hpp"

namespace invsweep::solvers {

using namespace inverse;

namespace {

struct CmaesSettings {
  Index population = 0;                   ///< λ of the first run (0: 4 + ⌊3 ln n⌋)
  double sigma0 = 0.5;                    ///< initial step size (scaled units)
  std::int64_t max_evaluations = 200000;  ///< per task, over every run
  int restarts = 6;                       ///< IPOP restarts per sequence (population doubles)

  static const config::SettingsTable<CmaesSettings>& table() {
    using S = CmaesSettings;
    static const config::SettingsTable<S> table = [] {
      config::SettingsTable<S> t("cmaes",
                                 "IPOP-CMA-ES on oracle values only: the vectors are the runs' bests and "
                                 "the best members of their last generations.");
      t.integer("population", &S::population, 0, 1000000, "λ of the first run (0: 4 + ⌊3 ln n⌋ for n free features)")
          .number("sigma0", &S::sigma0, 0, 1e6, true, "initial step size in scaled units (the bound map's space)")
          .integer("max_evaluations", &S::max_evaluations, 1, std::int64_t{1} << 50,
                   "oracle evaluations per task, over every run")
          .integer("restarts", &S::restarts, 0, 30, "IPOP restarts per sequence (the population doubles each time)");
      return t;
    }();
    return table;
  }
};

using Clock = std::chrono::steady_clock;

class Cmaes final : public SolverWith<CmaesSettings> {
 public:
  std::string_view name() const override { return "cmaes"; }
  std::string_view summary() const override {
    return "IPOP-CMA-ES, a black-box baseline on oracle values only (no gradients)";
  }

  TaskResult run(const TaskContext& ctx) const override {
    const Clock::time_point t0 = Clock::now();
    const TaskSpec& spec = ctx.spec;
    const CmaesSettings& cs = get(spec.settings);
    const Problem p(ctx.oracle, ctx.net, spec.objective, spec.constraint, spec.regularize);
    const Index nf = p.n_free(), n = spec.samples;
    const BoundMap map(p);
    Rng rng(derive_seed({spec.seed, 0xC3A}));

    // The objective: v → bound map → s → oracle (float64) → value per vector.
    nn::MlpWorkspace<double> ws;
    const nn::Mlp<double> members = p.uncertainty() > 0 ? oracle::members_net(ctx.oracle) : nn::Mlp<double>{};
    const nn::Mlp<double>& net = p.uncertainty() > 0 ? members : ctx.oracle.net;
    MatrixD mean;
    MatrixF vf, sf;
    MatrixD full;
    VectorD loss = VectorD::Constant(spec.log_points, std::numeric_limits<double>::quiet_NaN());
    std::int64_t generation = 0;
    const int every = std::max(1, spec.log_every);
    const auto to_scaled = [&](const MatrixD& v, MatrixD& s) {
      vf = v.cast<float>();
      sf.resize(nf, v.cols());
      map.apply(vf, sf);
      if (map.method() == BoundMethod::paper) map.project(sf);
      s = sf.cast<double>();
    };
    const cmaes::Objective f = [&](const MatrixD& v, VectorD& values) {
      if (spec.heartbeat && generation % every == 0) spec.heartbeat();  // may throw Interrupted
      if (ws.capacity() < v.cols()) ws.reserve(net, v.cols());
      ws.set_batch(v.cols());
      MatrixD s;
      to_scaled(v, s);
      full = p.fixed_scaled().replicate(1, v.cols());
      for (Index k = 0; k < nf; ++k)
        full.row(p.free_index(k)) = s.row(k);
      ws.input() = full;
      nn::forward(net, ws);
      if (p.uncertainty() > 0) {
        values.setZero(v.cols());
        uncertainty_values(ws.output(), p.members(), p.uncertainty(), mean, values);
        VectorD objective;
        p.objective_values(MatrixMap<double>(mean.data(), mean.rows(), mean.cols()), objective);
        values += objective;
        p.penalty_values(s, MatrixMap<double>(mean.data(), mean.rows(), mean.cols()), values);
      } else {
        p.objective_values(ws.output(), values);
        p.penalty_values(s, ws.output(), values);
      }
      map.penalty_values(sf, values);
      if (generation % every == 0 && generation / every < loss.size()) loss[generation / every] = values.minCoeff();
      ++generation;
    };
    const cmaes::StartPoint start = [&](Rng& r) {
      MatrixF s0(nf, 1), v0(nf, 1);
      for (Index k = 0; k < nf; ++k)
        s0(k, 0) = static_cast<float>(r.uniform(p.start_lo(k), p.start_hi(k)));
      map.invert(s0, v0);
      return VectorD(v0.col(0).cast<double>());
    };

    cmaes::Settings core;
    core.population = cs.population;
    core.sigma0 = cs.sigma0;
    core.restarts = cs.restarts;
    MatrixD v(nf, n), got;
    VectorD values(n), got_values;
    Index have = 0;
    std::int64_t used = 0;
    double best = std::numeric_limits<double>::infinity();
    while (have < n && cs.max_evaluations - used >= std::max<Index>(cs.population, 2)) {
      core.max_evaluations = cs.max_evaluations - used;
      cmaes::Result res;
      try {
        res = cmaes::minimize(f, nf, start, core, rng);
      } catch (const ConfigError&) {
        break;  // what is left of the budget is less than one generation
      }
      used += res.evaluations;
      best = std::min(best, res.best_value);
      cmaes::candidates(res, n - have, got, got_values);
      v.middleCols(have, got.cols()) = got;
      values.segment(have, got.cols()) = got_values;
      have += got.cols();
      if (got.cols() == 0) break;  // nothing finite: more sequences will not help
    }
    TaskResult r;
    r.status = Status::done;
    r.steps = generation;
    r.loss = loss;
    r.final_loss = best;
    MatrixD s(nf, n);
    s.setConstant(std::numeric_limits<double>::quiet_NaN());
    if (have > 0) {
      MatrixD sh;
      to_scaled(v.leftCols(have), sh);
      s.leftCols(have) = sh;
    }
    if (!std::isfinite(best)) {
      r.status = Status::diverged;
      r.message = "cmaes: no candidate had a finite objective (the oracle gives NaN or Inf in the search box?)";
    } else if (have < n) {
      r.status = Status::diverged;
      r.message =
          fmt::format("cmaes: {} evaluations gave {} of {} vectors; raise cmaes.max_evaluations", used, have, n);
    }
    finish_task(p, spec.polish, s, r);
    r.wall_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return r;
  }

  std::int64_t work(const std::any& s) const override { return get(s).max_evaluations; }
  std::any with_work(const std::any& s, std::int64_t units) const override {
    CmaesSettings c = get(s);
    c.max_evaluations = std::max<std::int64_t>(units, 1);
    return c;
  }
  std::pair<std::int64_t, std::int64_t> calibration_work(const std::any& s) const override {
    const std::int64_t full = get(s).max_evaluations;
    return {std::min<std::int64_t>(full, 2000), std::min<std::int64_t>(full, 6000)};
  }
};

}  // namespace

const Solver& cmaes_solver() {
  static const Cmaes s;
  return s;
}

}  // namespace invsweep::solvers
