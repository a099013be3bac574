// Solver `sampler` (sampler.hpp, docs/SAMPLER.md). Everything runs in the oracle's scaled
// units s = (x − mean)/scale over the free features: the prior is uniform there too, and the
// co-area distribution is intrinsic (the same distribution whatever affine coordinates are
// used), so the weight 1/sqrt(det(J Jᵀ)) is taken with J = du/ds of the constrained outputs.
// All chains move together: one batched forward pass (and one backward pass per constrained
// output) per Newton iteration.
// This file: the settings, the run (starting points, warm-up, chains, family shares) and the
// solver; the set is in sampler_set.cpp, the independence proposals and picks in sampler_pick.cpp.
#include "invsweep/solvers/sampler.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <Eigen/Cholesky>
#include <Eigen/LU>
#include <algorithm>
#include <cmath>

#include "invsweep/core/errors.hpp"
#include "invsweep/solvers/sampler_run.hpp"
#include "invsweep/solvers/solver.hpp"

namespace invsweep::solvers {

using namespace inverse;

const config::SettingsTable<SamplerSettings>& SamplerSettings::table() {
  using S = SamplerSettings;
  static const config::SettingsTable<S> table = [] {
    config::SettingsTable<S> tab("sampler",
                                 "MCMC draws from the uniform prior over the box restricted to the solution "
                                 "set (the level set with its co-area density, a band, or a range).");
    static const config::Names methods = {"auto", "independence", "chains"};
    tab.choice("method", &S::method, methods,
               "independence proposals on the solution set, random-walk chains on it, or auto (independence; "
               "chains when its acceptance is below 2 %)")
        .integer("chains", &S::chains, 1, 100000, "Markov chains per task")
        .integer("warmup", &S::warmup, 0, 100000000, "iterations per chain that adapt the step size (discarded)")
        .integer("thin", &S::thin, 1, 1000000, "keep every thin-th state after warm-up")
        .number("band", &S::band, 0, 1e300, false,
                "kind = target: 0 = the level set f = t, else the shell where the distance of f to t is at most band "
                "times the magnitude of t")
        .number("acceptance", &S::acceptance, 0, 1, true, "warm-up adapts the step size toward this acceptance rate")
        .number("step", &S::step, 0, 1e300, false, "initial step size in scaled units (0: a tenth of the box)")
        .integer("shell", &S::shell, 100, 100000000, "uniform prior draws for starting points and family shares")
        .integer("oversample", &S::oversample, 1, 1000, "draws kept per returned vector (the pool they come from)");
    return tab;
  }();
  return table;
}

namespace sampling {

TaskResult Run::run() {
  const Index n = spec_.samples, m = ev_->m();
  TaskResult res;
  res.loss = VectorD::Constant(spec_.log_points, kNaN);
  const auto fail = [&](std::string msg) {
    res.status = Status::diverged;
    res.message = std::move(msg);
    MatrixD s = MatrixD::Constant(nf_, n, kNaN);
    p_.finish(s, res);
    return res;
  };

  // 1. The shell: uniform prior draws, the ones closest to the set kept.
  // The independence sampler comes first; it needs the shell only for the
  // centres of its proposal: a small one.
  const bool full_shell = imh_failed_ || ss_.method == SamplerMethod::chains;
  if (ss_.method == SamplerMethod::chains) imh_failed_ = true;
  const Index n_shell = full_shell ? ss_.shell : std::min<Index>(ss_.shell, kIndependenceShell);
  MatrixD shell(nf_, n_shell);
  for (Index j = 0; j < n_shell; ++j)
    for (Index k = 0; k < nf_; ++k)
      shell(k, j) = rng_.uniform(lo_[k], hi_[k]);
  VectorD sc(n_shell);
  for (Index j0 = 0; j0 < n_shell; j0 += 8192) {
    const Index b = std::min<Index>(8192, n_shell - j0);
    sc.segment(j0, b) = score(shell.middleCols(j0, b));
  }
  std::vector<Index> order(static_cast<std::size_t>(n_shell));
  std::iota(order.begin(), order.end(), 0);
  const Index k_min = std::max<Index>(std::min<Index>(200, n_shell), n_shell / 50);
  Index n_in = 0;
  if (mode_ != Mode::manifold) {
    const double edge = mode_ == Mode::band ? 1.0 : 0.0;
    for (Index j = 0; j < n_shell; ++j)
      n_in += sc[j] <= edge ? 1 : 0;
  }
  const Index k_shell = std::max(n_in, k_min);
  std::partial_sort(order.begin(), order.begin() + k_shell, order.end(),
                    [&](Index a, Index b) { return sc[a] < sc[b]; });
  MatrixD shell_pts(nf_, k_shell);
  for (Index j = 0; j < k_shell; ++j)
    shell_pts.col(j) = shell.col(order[static_cast<std::size_t>(j)]);
  const double eps = sc[order[static_cast<std::size_t>(k_shell - 1)]];
  if (mode_ != Mode::manifold && n_in < k_min && imh_failed_)
    notes_ += fmt::format("; only {} of {} prior draws fell in the set: family shares use the {} closest", n_in,
                          n_shell, k_shell);

  if (!imh_failed_ && ss_.method != SamplerMethod::chains) {
    std::vector<MatrixD> kept;
    Index per_chain = 0;
    if (independence(shell_pts, kept, per_chain, res)) {
      const std::vector<Index> fam_of(kept.size(), 0);
      return pick(res, kept, fam_of, VectorD::Ones(1), per_chain, false);
    }
    if (ss_.method == SamplerMethod::independence)
      return fail("sampler: independence proposals do not work here" + notes_ +
                  " (method = \"auto\" falls back to random-walk chains)");
    imh_failed_ = true;  // the random-walk chains, with the full shell
    return run();
  }

  // Band and range: shell points inside the set are exact draws, and a chain started at one
  // stays exact; so there is a chain for each of them, up to `samples` (the chains then only
  // need to decorrelate from their start, not to cross the set).
  const Index nc = mode_ == Mode::manifold ? ss_.chains : std::max<Index>(ss_.chains, std::min(n_in, n));

  // 2. Starting points: shell points (random, so families get chains about in proportion to
  //    their mass) that are in the set, or projected onto the level set.
  //    Band and range with draws inside the set: those draws (the first n_in of the shell).
  const bool from_inside = mode_ != Mode::manifold && n_in > 0;
  const Index pool_n = from_inside ? n_in : k_shell;
  MatrixD cand(nf_, std::min<Index>(pool_n, from_inside ? nc : std::max<Index>(4 * nc, 128)));
  {  // distinct shell points in random order (a partial Fisher–Yates shuffle)
    std::vector<Index> idx(static_cast<std::size_t>(pool_n));
    std::iota(idx.begin(), idx.end(), 0);
    for (Index j = 0; j < cand.cols(); ++j) {
      const auto pick = static_cast<Index>(rng_.below(static_cast<std::uint64_t>(pool_n - j))) + j;
      std::swap(idx[static_cast<std::size_t>(j)], idx[static_cast<std::size_t>(pick)]);
      cand.col(j) = shell_pts.col(idx[static_cast<std::size_t>(j)]);
    }
  }
  std::vector<char> ok(static_cast<std::size_t>(cand.cols()), 0);
  if (!from_inside) {
    newton_to_set(cand, ok);
  } else {
    const VectorD s2 = score(cand);
    for (Index j = 0; j < cand.cols(); ++j)
      ok[static_cast<std::size_t>(j)] = s2[j] <= (mode_ == Mode::band ? 1.0 : 0.0);
  }
  if (mode_ == Mode::range && n_in == 0) {  // projected to the range centre: keep those inside
    const VectorD s2 = score(cand);
    for (Index j = 0; j < cand.cols(); ++j)
      ok[static_cast<std::size_t>(j)] = ok[static_cast<std::size_t>(j)] && s2[j] <= 0.0;
  }
  std::vector<Index> good;
  for (Index j = 0; j < cand.cols(); ++j)
    if (ok[static_cast<std::size_t>(j)] != 0) good.push_back(j);
  if (!from_inside) notes_ += fmt::format("; {} of {} projected starts reached the set", good.size(), cand.cols());
  if (good.empty())
    return fail(
        fmt::format("sampler: no starting point: {} prior draws projected onto the solution set left none "
                    "inside the box (is the target reachable?)",
                    cand.cols()));
  MatrixD x(nf_, nc);
  for (Index c = 0; c < nc; ++c)
    x.col(c) = cand.col(good[static_cast<std::size_t>(c) % good.size()]);

  // Chains that all start from distinct exact draws (band, range) are already spread over the
  // families in proportion to their mass: they are one family (no linking below).
  const bool exact_starts = from_inside && n_in >= nc;

  // 3. The chains.
  const Index per_chain = std::max<Index>(4, (ss_.oversample * n + nc - 1) / nc);
  const std::int64_t iters = ss_.warmup + static_cast<std::int64_t>(ss_.thin) * per_chain;
  const std::int64_t link_from = ss_.warmup / 2;
  const std::int64_t link_every = std::max<std::int64_t>(1, (iters - link_from) / 400);  // ≤ ~400 states per chain
  double sigma0 = ss_.step > 0 ? ss_.step : 0.1 * (hi_ - lo_).mean();
  VectorD log_sigma = VectorD::Constant(nc, std::log(sigma0));
  std::vector<MatrixD> kept(static_cast<std::size_t>(nc), MatrixD(nf_, per_chain));
  std::vector<std::vector<VectorD>> link(static_cast<std::size_t>(nc));
  std::vector<MatrixD> jx, jy, jback;
  VectorD logw(nc);
  MatrixD r;
  VectorD log_sigma_w = log_sigma;
  // Band/range: moves along the level sets as well, unless every vector can come from its own
  // exact start (then mixing is not needed for correctness, and the walk alone is much cheaper).
  const bool levels_move = mode_ != Mode::manifold && nf_ > m && !(from_inside && n_in >= n);
  // The chains' Jacobians and co-area weights at x (and, for band/range, their levels).
  const auto refresh_levels = [&] {
    if (levels_move) {
      at_levels_ = false;
      ev_->residual(x, r);
      levels_ = r.colwise() + t_u_;
      at_levels_ = true;
    }
    ev_->residual(x, r, at_levels_ ? &levels_ : nullptr);
    ev_->jacobian(jx);
    for (Index c = 0; c < nc; ++c)
      logw[c] = log_weight(jac_at(jx, c));
  };
  if (mode_ == Mode::manifold || levels_move) refresh_levels();
  const bool moves = mode_ != Mode::manifold || nf_ > m;
  double acc_sum = 0;
  std::int64_t acc_n = 0;
  MatrixD v(nf_, nc), v_back(nf_, nc), y, x_back, base;
  std::vector<char> alive(static_cast<std::size_t>(nc));
  const int every = std::max(1, spec_.log_every);
  for (std::int64_t it = 0; it < iters; ++it) {
    if (spec_.heartbeat && it % every == 0) spec_.heartbeat();
    VectorD accepted = VectorD::Zero(nc);
    VectorD accepted_w = VectorD::Zero(nc);
    if (moves && (mode_ == Mode::manifold || levels_move)) {
      // A move along the (current) level set: tangent step, projection, co-area weight,
      // reverse-projection check.
      for (Index c = 0; c < nc; ++c)
        for (Index k = 0; k < nf_; ++k)
          v(k, c) = rng_.normal();
      std::fill(alive.begin(), alive.end(), 1);
      for (Index c = 0; c < nc; ++c) {
        const MatrixD j = jac_at(jx, c);
        const VectorD xi = v.col(c);
        v.col(c) = std::exp(log_sigma[c]) * (xi - j.transpose() * (j * j.transpose()).ldlt().solve(j * xi));
      }
      base = x + v;
      project(base, jx, alive, y, jy);
      VectorD logw_y = VectorD::Constant(nc, -std::numeric_limits<double>::infinity());
      VectorD log_u(nc);
      for (Index c = 0; c < nc; ++c)
        log_u[c] = std::log(rng_.uniform());
      for (Index c = 0; c < nc; ++c) {
        auto& a = alive[static_cast<std::size_t>(c)];
        if (a == 0 || !inside_box(y.col(c))) {
          a = 0;
          continue;
        }
        const MatrixD j = jac_at(jy, c);
        logw_y[c] = log_weight(j);
        const VectorD dxy = x.col(c) - y.col(c);
        v_back.col(c) = dxy - j.transpose() * (j * j.transpose()).ldlt().solve(j * dxy);
        const double s2 = std::exp(2 * log_sigma[c]);
        const double log_alpha =
            logw_y[c] - logw[c] - (v_back.col(c).squaredNorm() - v.col(c).squaredNorm()) / (2 * s2);
        if (!(log_u[c] < log_alpha)) a = 0;
      }
      // Reverse projection: from y + v' along y's normal space it must come back to x.
      base = y + v_back;
      project(base, jy, alive, x_back, jback);
      for (Index c = 0; c < nc; ++c) {
        if (alive[static_cast<std::size_t>(c)] == 0) continue;
        if ((x_back.col(c) - x.col(c)).norm() > 1e-7 * (1.0 + x.col(c).norm())) continue;
        x.col(c) = y.col(c);
        for (Index k = 0; k < m; ++k)
          jx[static_cast<std::size_t>(k)].col(c) = jy[static_cast<std::size_t>(k)].col(c);
        logw[c] = logw_y[c];
        accepted[c] = 1;
      }
    }
    if (moves && mode_ != Mode::manifold) {
      // A random-walk step in the full space, kept when it stays in the box and the set.
      for (Index c = 0; c < nc; ++c)
        for (Index k = 0; k < nf_; ++k)
          v(k, c) = rng_.normal();
      y = x;
      for (Index c = 0; c < nc; ++c)
        y.col(c) += std::exp(log_sigma_w[c]) * v.col(c);
      const VectorD s2 = score(y);
      const double edge = mode_ == Mode::band ? 1.0 : 0.0;
      for (Index c = 0; c < nc; ++c)
        if (inside_box(y.col(c)) && s2[c] <= edge) {
          x.col(c) = y.col(c);
          accepted_w[c] = 1;
        }
      if (levels_move && accepted_w.sum() > 0) refresh_levels();
    }
    if (!moves) accepted.setOnes();  // the solution set is isolated points: nothing to move
    if (mode_ != Mode::manifold && !levels_move) accepted = accepted_w;
    if (it < ss_.warmup) {
      const double gain = 1.0 / std::pow(static_cast<double>(it) + 1.0, 0.6);
      log_sigma.array() += gain * (accepted.array() - ss_.acceptance);
      log_sigma_w.array() += gain * (accepted_w.array() - ss_.acceptance);
    } else {
      acc_sum += levels_move ? 0.5 * (accepted.sum() + accepted_w.sum()) : accepted.sum();
      acc_n += nc;
      const std::int64_t after = it - ss_.warmup + 1;
      if (after % ss_.thin == 0)
        for (Index c = 0; c < nc; ++c)
          kept[static_cast<std::size_t>(c)].col(after / ss_.thin - 1) = x.col(c);
    }
    if (!exact_starts && it >= link_from && (it - link_from) % link_every == 0)
      for (Index c = 0; c < nc; ++c)
        link[static_cast<std::size_t>(c)].push_back(x.col(c));
    const std::int64_t slot = it / every;
    if (it % every == 0 && slot < res.loss.size()) res.loss[slot] = accepted.mean();
  }
  res.acceptance = acc_n > 0 ? acc_sum / static_cast<double>(acc_n) : kNaN;

  // 4. Families: chains whose visited states come within δ of each other are joined, δ three
  //    times the larger of the two chains' median nearest-neighbour spacing (1e-6 at least).
  VectorD spacing = VectorD::Zero(nc);
  for (Index c = 0; c < nc && !exact_starts; ++c) {
    const auto& l = link[static_cast<std::size_t>(c)];
    std::vector<double> nn;
    for (std::size_t i = 0; i < l.size(); ++i) {
      double best = std::numeric_limits<double>::infinity();
      for (std::size_t j = 0; j < l.size(); ++j) {
        const double d2 = (l[i] - l[j]).squaredNorm();
        if (j != i && d2 > 0) best = std::min(best, d2);  // repeats (rejections) are not spacing
      }
      if (std::isfinite(best)) nn.push_back(std::sqrt(best));
    }
    std::nth_element(nn.begin(), nn.begin() + static_cast<std::ptrdiff_t>(nn.size() / 2), nn.end());
    spacing[c] = nn.empty() ? 0.0 : nn[nn.size() / 2];
  }
  Families fam(nc);
  for (Index a = 0; a < nc; ++a)
    for (Index b = a + 1; b < nc; ++b) {
      if (exact_starts) {
        fam.join(a, b);
        continue;
      }
      if (fam.find(a) == fam.find(b)) continue;
      const double delta = std::max(1e-6, 3.0 * std::max(spacing[a], spacing[b]));
      bool near = false;
      for (const VectorD& pa : link[static_cast<std::size_t>(a)]) {
        for (const VectorD& pb : link[static_cast<std::size_t>(b)])
          if ((pa - pb).squaredNorm() <= delta * delta) {
            near = true;
            break;
          }
        if (near) break;
      }
      if (near) fam.join(a, b);
    }
  std::vector<Index> roots;
  std::vector<Index> fam_of(static_cast<std::size_t>(nc));
  for (Index c = 0; c < nc; ++c) {
    const Index root = fam.find(c);
    auto pos = std::find(roots.begin(), roots.end(), root);
    if (pos == roots.end()) {
      roots.push_back(root);
      pos = roots.end() - 1;
    }
    fam_of[static_cast<std::size_t>(c)] = static_cast<Index>(pos - roots.begin());
  }
  const auto n_fam = static_cast<Index>(roots.size());

  // 5. Family shares: each shell point counts for the family of its nearest visited state.
  VectorD share = VectorD::Ones(n_fam);
  if (n_fam > 1) {
    share.setZero();
    std::vector<std::pair<Index, const VectorD*>> pts;
    for (Index c = 0; c < nc; ++c) {
      const auto& l = link[static_cast<std::size_t>(c)];
      const std::size_t stride = std::max<std::size_t>(1, l.size() * static_cast<std::size_t>(nc) / 20000);
      for (std::size_t i = 0; i < l.size(); i += stride)
        pts.emplace_back(fam_of[static_cast<std::size_t>(c)], &l[i]);
    }
    for (Index j = 0; j < k_shell; ++j) {
      double best = std::numeric_limits<double>::infinity();
      Index bf = 0;
      for (const auto& [f, pt] : pts) {
        const double d2 = (shell_pts.col(j) - *pt).squaredNorm();
        if (d2 < best) {
          best = d2;
          bf = f;
        }
      }
      share[bf] += 1;
    }
    share /= static_cast<double>(k_shell);
    notes_ += fmt::format("; {} families, shares {:.3f} from {} shell draws (shell width {:.3g})", n_fam,
                          fmt::join(share, "/"), k_shell, eps);
  }

  res.steps = iters;
  return pick(res, kept, fam_of, share, per_chain, exact_starts);
}

}  // namespace sampling

namespace {

using sampling::Clock;
using sampling::Run;

class Sampler final : public SolverWith<SamplerSettings> {
 public:
  std::string_view name() const override { return "sampler"; }
  std::string_view summary() const override {
    return "MCMC draws from the uniform prior over the box restricted to the solution set (level set, band or range)";
  }
  void check_objective(ObjectiveKind kind) const override {
    if (kind == ObjectiveKind::maximize || kind == ObjectiveKind::minimize)
      throw ConfigError(
          fmt::format("the sampler draws from a solution set, and '{}' has none to sample (its answer is "
                      "one optimum); use kind = \"target\" or \"range\", or remove 'sampler' from "
                      "'solvers'",
                      to_string(kind)));
  }
  bool supports_uncertainty() const override { return false; }

  TaskResult run(const TaskContext& ctx) const override {
    const Clock::time_point t0 = Clock::now();
    const TaskSpec& spec = ctx.spec;
    check_objective(spec.objective.kind);
    const Problem p(ctx.oracle, ctx.net, spec.objective, spec.constraint, spec.regularize);
    Run run(p, get(spec.settings), spec);
    TaskResult r = run.run();
    r.wall_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return r;
  }

  std::int64_t work(const std::any& s) const override { return get(s).warmup; }
  std::any with_work(const std::any& s, std::int64_t units) const override {
    SamplerSettings g = get(s);
    g.warmup = static_cast<int>(units);
    return g;
  }
  /// A task's cost is mostly fixed (prior draws, the proposal, the kept draws), and with
  /// independence proposals the warm-up does not enter it at all: runs of 20 and 60 warm-up
  /// iterations extrapolated to 1000 multiplied timing noise by 25 and overestimated by 70 %.
  /// So a task of up to 2000 warm-up iterations is timed whole; a longer one at a twelfth and a
  /// quarter of its warm-up.
  std::pair<std::int64_t, std::int64_t> calibration_work(const std::any& s) const override {
    const std::int64_t w = get(s).warmup;
    if (w <= 2000) return {std::max<std::int64_t>(w, 1), std::max<std::int64_t>(w, 1)};
    return {w / 12, w / 4};
  }
};

}  // namespace

const Solver& sampler_solver() {
  static const Sampler s;
  return s;
}

}  // namespace invsweep::solvers
