// Solver `sampler` (sampler.hpp, docs/SAMPLER.md). Everything runs in the oracle's scaled
// units s = (x − mean)/scale over the free features: the prior is uniform there too, and the
// co-area distribution is intrinsic (the same distribution whatever affine coordinates are
// used), so the weight 1/sqrt(det(J Jᵀ)) is taken with J = du/ds of the constrained outputs.
// All chains move together: one batched forward pass (and one backward pass per constrained
// output) per Newton iteration.
#include "invsweep/solvers/sampler.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <Eigen/Cholesky>
#include <Eigen/LU>
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>

#include "invsweep/core/errors.hpp"
#include "invsweep/core/rng.hpp"
#include "invsweep/inverse/problem.hpp"
#include "invsweep/solvers/sampler_independence.hpp"
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

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Independence sampler: the bandwidths tried, in median nearest-centre distances, the
// pilot's proposals per chain, the largest thinning, the acceptance below which the
// random-walk chains are used instead, and the shell it draws its centres from.
constexpr std::array<double, 3> kBandwidths = {1.0, 2.0, 4.0};
constexpr int kIndependenceWarmup = 10;
constexpr int kIndependenceMaxThin = 50;
constexpr double kIndependenceMinAcceptance = 0.02;
constexpr Index kIndependenceShell = 32768;
constexpr int kMaxDraws = 256;
constexpr Index kPilotProposals = 1024;

/// The oracle in double over batches of free features (scaled units): the constrained
/// outputs' residuals u − t and their Jacobians du/ds.
class Evaluator {
 public:
  Evaluator(const Problem& p, std::vector<Index> outs, VectorD target_u)
      : p_(p), outs_(std::move(outs)), t_u_(std::move(target_u)) {}

  Index m() const { return static_cast<Index>(outs_.size()); }

  /// Scaled outputs u [n_out, B] of the columns of s (valid until the next call).
  MatrixMap<double> outputs(const MatrixD& s) {
    const Index b = s.cols();
    if (ws_.capacity() < b) ws_.reserve(p_.oracle().net, b);
    ws_.set_batch(b);
    MatrixMap<double> in = ws_.input();
    for (Index j = 0; j < b; ++j)
      in.col(j) = p_.fixed_scaled();
    for (Index k = 0; k < p_.n_free(); ++k)
      in.row(p_.free_index(k)) = s.row(k);
    nn::forward(p_.oracle().net, ws_);
    return ws_.output();
  }
  /// Residuals r [m, B] = u − t of the constrained outputs, or u − levels (one level per
  /// column, [m, B]) when `levels` is given.
  void residual(const MatrixD& s, MatrixD& r, const MatrixD* levels = nullptr) {
    const MatrixMap<double> u = outputs(s);
    r.resize(m(), s.cols());
    for (Index k = 0; k < m(); ++k) {
      r.row(k) = u.row(outs_[static_cast<std::size_t>(k)]);
      if (levels != nullptr)
        r.row(k) -= levels->row(k);
      else
        r.row(k).array() -= t_u_[k];
    }
  }
  /// Jacobian rows at the point of the last call: jac[k] [n_free, B] = du_k/ds.
  void jacobian(std::vector<MatrixD>& jac) {
    jac.resize(outs_.size());
    for (Index k = 0; k < m(); ++k) {
      ws_.grad_output().setZero();
      ws_.grad_output().row(outs_[static_cast<std::size_t>(k)]).setOnes();
      nn::backward(p_.oracle().net, ws_, nullptr, true);
      MatrixD& j = jac[static_cast<std::size_t>(k)];
      j.resize(p_.n_free(), ws_.batch());
      for (Index f = 0; f < p_.n_free(); ++f)
        j.row(f) = ws_.grad_input().row(p_.free_index(f));
    }
  }

 private:
  const Problem& p_;
  std::vector<Index> outs_;
  VectorD t_u_;
  nn::MlpWorkspace<double> ws_;
};

/// Column c of a Jacobian stored by rows: the [m, n_free] matrix J.
MatrixD jac_at(const std::vector<MatrixD>& jac, Index c) {
  MatrixD j(static_cast<Index>(jac.size()), jac.empty() ? 0 : jac[0].rows());
  for (std::size_t k = 0; k < jac.size(); ++k)
    j.row(static_cast<Index>(k)) = jac[k].col(c).transpose();
  return j;
}

/// Union–find over chains.
struct Families {
  std::vector<Index> parent;
  explicit Families(Index n) : parent(static_cast<std::size_t>(n)) { std::iota(parent.begin(), parent.end(), 0); }
  Index find(Index a) {
    while (parent[static_cast<std::size_t>(a)] != a)
      a = parent[static_cast<std::size_t>(a)] = parent[static_cast<std::size_t>(parent[static_cast<std::size_t>(a)])];
    return a;
  }
  void join(Index a, Index b) { parent[static_cast<std::size_t>(find(a))] = find(b); }
};

/// One task's sampling run: state lives here, settings in SamplerSettings.
class Run {
 public:
  Run(const Problem& p, const SamplerSettings& ss, const TaskSpec& spec)
      : p_(p), ss_(ss), spec_(spec), nf_(p.n_free()), rng_(derive_seed({spec.seed, 0x5A3})) {
    resolve_box();
    resolve_set();
  }

  TaskResult run();

 private:
  enum class Mode { manifold, band, range };

  const Problem& p_;
  const SamplerSettings& ss_;
  const TaskSpec& spec_;
  Index nf_;
  Rng rng_;
  Mode mode_ = Mode::manifold;
  VectorD lo_, hi_;          // the prior's box, scaled units
  std::vector<Index> outs_;  // constrained outputs
  VectorD t_u_, half_u_;     // target (or range centre) and band half-width / range half-width, scaled
  VectorD rlo_u_, rhi_u_;    // range bounds, scaled
  std::unique_ptr<Evaluator> ev_;
  std::string notes_;
  // Band and range: each chain's manifold moves stay on its current level set u = levels
  // (the conditional of the uniform prior on the set given u is the co-area density there).
  MatrixD levels_;
  bool at_levels_ = false;
  bool imh_failed_ = false;

  void resolve_box();
  void resolve_set();
  /// In the prior's support: the box, and the plausibility ellipsoid when the setting has one.
  bool inside_box(const Eigen::Ref<const VectorD>& s) const {
    return (s.array() >= lo_.array()).all() && (s.array() <= hi_.array()).all() && plausible(s);
  }
  bool plausible(const Eigen::Ref<const VectorD>& s) const {
    return !p_.has_plausibility() || p_.mahalanobis_grad(s, nullptr) <= p_.constraint().plausible;
  }
  /// Distance-like score of each column of s to the set: band/range: ≤ 1 / = 0 inside;
  /// manifold: the residual norm.
  VectorD score(const MatrixD& s);
  double tol_u() const { return 1e-10 * std::max(1.0, t_u_.cwiseAbs().maxCoeff()); }
  /// Newton along fixed normal directions dir (rows of J at the start) from base, for the
  /// active columns: y = base + dirᵀ a with r(y) = 0. ok[c] = converged; jy = J(y).
  void project(const MatrixD& base, const std::vector<MatrixD>& dir, std::vector<char>& ok, MatrixD& y,
               std::vector<MatrixD>& jy);
  /// Minimal-norm Gauss–Newton with backtracking from each column of s (clamped to the box).
  void newton_to_set(MatrixD& s, std::vector<char>& ok);
  double log_weight(const MatrixD& j) const;
  /// The returned vectors from the chains' kept draws: each family (fam_of[c] for chain c)
  /// gets share × samples of them (largest remainder), evenly spaced picks from its chains'
  /// pooled draws; diagnostics and the message.
  TaskResult pick(TaskResult& res, const std::vector<MatrixD>& kept, const std::vector<Index>& fam_of,
                  const VectorD& share, Index per_chain, bool exact_starts);
  /// Band and range: independence Metropolis–Hastings with a kernel-mixture proposal fitted to
  /// points of the set's middle level (sampler_independence.hpp). False (and nothing changed
  /// but notes) when it does not apply or its acceptance is too low to be useful.
  bool independence(const MatrixD& shell_pts, std::vector<MatrixD>& kept, Index& per_chain, TaskResult& res);
};

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
    t_u_.resize(m);
    half_u_.resize(m);
    rlo_u_.resize(m);
    rhi_u_.resize(m);
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
  t_u_.resize(m);
  half_u_.resize(m);
  rlo_u_.resize(m);
  rhi_u_.resize(m);
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

bool Run::independence(const MatrixD& shell_pts, std::vector<MatrixD>& kept, Index& per_chain, TaskResult& res) {
  const Index n = spec_.samples, m = ev_->m();
  if (nf_ < m) return false;
  if (mode_ == Mode::range && !(rlo_u_.allFinite() && rhi_u_.allFinite())) {
    notes_ += "; a one-sided range: random-walk chains";
    return false;
  }
  // Centres: shell points (closest to the set first, in random order) projected onto the
  // middle level u = t_u (the target, or the range's centre); the ones in the box.
  const Index want = std::clamp<Index>(n / 2, 64, 512);
  MatrixD cand(nf_, std::min<Index>(shell_pts.cols(), 2 * want));
  {
    std::vector<Index> idx(static_cast<std::size_t>(shell_pts.cols()));
    std::iota(idx.begin(), idx.end(), 0);
    for (Index j = 0; j < cand.cols(); ++j) {
      const auto pick = static_cast<Index>(rng_.below(static_cast<std::uint64_t>(shell_pts.cols() - j))) + j;
      std::swap(idx[static_cast<std::size_t>(j)], idx[static_cast<std::size_t>(pick)]);
      cand.col(j) = shell_pts.col(idx[static_cast<std::size_t>(j)]);
    }
  }
  std::vector<char> ok;
  newton_to_set(cand, ok);
  // Distinct centres only: where the set is isolated points, many projections land on the same
  // root, and a root's chance to be proposed must not grow with their number.
  const double same = 1e-7 * (hi_ - lo_).norm();
  std::vector<Index> good;
  for (Index j = 0; j < cand.cols() && static_cast<Index>(good.size()) < want; ++j) {
    if (ok[static_cast<std::size_t>(j)] == 0) continue;
    bool repeat = false;
    for (Index g : good)
      repeat = repeat || (cand.col(j) - cand.col(g)).norm() <= same;
    if (!repeat) good.push_back(j);
  }
  const auto k = static_cast<Index>(good.size());
  if (k < (nf_ > m ? 8 : 1)) {
    notes_ += fmt::format("; {} of {} projected points in the set: random-walk chains", k, cand.cols());
    return false;
  }
  MatrixD centres(nf_, k);
  for (Index j = 0; j < k; ++j)
    centres.col(j) = cand.col(good[static_cast<std::size_t>(j)]);
  MatrixD r;
  std::vector<MatrixD> jac;
  ev_->residual(centres, r);
  ev_->jacobian(jac);
  std::vector<MatrixD> jrows;
  jrows.reserve(static_cast<std::size_t>(k));
  for (Index j = 0; j < k; ++j) {
    jrows.push_back(jac_at(jac, j));
    if ((jrows.back() * jrows.back().transpose()).llt().info() != Eigen::Success) return false;
  }
  // Tangent bandwidth: a multiple of the median distance from a centre to its nearest
  // neighbour (a proposal counts only in its own centre's Voronoi cell), at least a millionth
  // of the box.
  std::vector<double> nn_dist(static_cast<std::size_t>(k));
  for (Index j = 0; j < k; ++j) {
    VectorD d2 = (centres.colwise() - centres.col(j)).colwise().squaredNorm().transpose();
    d2[j] = std::numeric_limits<double>::infinity();
    nn_dist[static_cast<std::size_t>(j)] = std::sqrt(d2.minCoeff());
  }
  std::nth_element(nn_dist.begin(), nn_dist.begin() + k / 2, nn_dist.end());
  const double spacing = nn_dist[static_cast<std::size_t>(k / 2)];
  std::unique_ptr<LevelSetKernels> kernels;
  const auto with_bandwidth = [&](double factor) {
    kernels = std::make_unique<LevelSetKernels>(centres, jrows, std::max(factor * spacing, 1e-6 * (hi_ - lo_).mean()));
  };
  // Kernel probabilities ∝ the co-area weight det(J Jᵀ)^−½ at the centre: with the cells of
  // equally spread centres, q then follows the target's density and the weights stay near 1.
  VectorD log_rho(k);
  for (Index j = 0; j < k; ++j)
    log_rho[j] = log_weight(jrows[static_cast<std::size_t>(j)]);
  log_rho.array() -= log_rho.maxCoeff();
  std::vector<double> cum(static_cast<std::size_t>(k));
  double acc_rho = 0;
  for (Index j = 0; j < k; ++j)
    cum[static_cast<std::size_t>(j)] = acc_rho += std::exp(log_rho[j]);
  log_rho.array() -= std::log(acc_rho);

  // A proposal's log importance weight: −log of its density (the level density p(τ) is the
  // same for every proposal, and for a level set the co-area weight cancels against the
  // surface element of the parametrisation: sampler_independence.hpp).
  std::vector<MatrixD> dir(static_cast<std::size_t>(m)), jy;
  MatrixD base;
  const double edge = mode_ == Mode::band ? 1.0 : 0.0;
  const ProposeFn propose = [&](Index np, MatrixD& y, VectorD& logw) {
    if (spec_.heartbeat) spec_.heartbeat();
    const LevelSetKernels& ker = *kernels;
    std::vector<Index> kid(static_cast<std::size_t>(np));
    base.resize(nf_, np);
    for (auto& d : dir)
      d.resize(nf_, np);
    for (Index j = 0; j < np; ++j) {
      // Kernel and tangent point, drawn again until the point's nearest centre is the kernel's
      // own (a rule on the proposal alone, so the draws left out only rescale q).
      Index c = 0;
      for (int attempt = 0; attempt < kMaxDraws; ++attempt) {
        c = static_cast<Index>(std::upper_bound(cum.begin(), cum.end(), rng_.uniform() * cum.back()) - cum.begin());
        c = std::min(c, k - 1);
        base.col(j) = ker.tangent_draw(c, rng_);
        if (ker.nearest(base.col(j)) == c) break;
      }
      kid[static_cast<std::size_t>(j)] = c;
      for (Index q = 0; q < m; ++q)
        dir[static_cast<std::size_t>(q)].col(j) = ker.normal(c).col(q);
    }
    if (mode_ != Mode::manifold) {
      levels_.resize(m, np);
      for (Index j = 0; j < np; ++j)
        for (Index q = 0; q < m; ++q)
          levels_(q, j) = mode_ == Mode::band ? t_u_[q] + half_u_[q] * (2 * rng_.uniform() - 1)
                                              : rlo_u_[q] + (rhi_u_[q] - rlo_u_[q]) * rng_.uniform();
      at_levels_ = true;
    }
    std::vector<char> conv(static_cast<std::size_t>(np), 1);
    project(base, dir, conv, y, jy);
    at_levels_ = false;
    logw = VectorD::Constant(np, -std::numeric_limits<double>::infinity());
    const VectorD sc = mode_ == Mode::manifold ? VectorD::Zero(np) : score(y);
    for (Index j = 0; j < np; ++j) {
      const Index c = kid[static_cast<std::size_t>(j)];
      if (conv[static_cast<std::size_t>(j)] == 0 || !inside_box(y.col(j)) || sc[j] > edge) continue;
      if (ker.nearest(y.col(j)) != c) continue;  // only the nearest centre's kernel may propose x
      if (ker.nearest(ker.tangent_point(c, y.col(j))) != c) continue;
      logw[j] = -log_rho[c] - ker.log_density(c, y.col(j), jac_at(jy, j));
    }
  };
  const Index nc = ss_.chains;
  MatrixD starts(nf_, nc);
  for (Index c = 0; c < nc; ++c)
    starts.col(c) = centres.col(c % k);
  std::vector<MatrixD> jstart;
  ev_->residual(starts, r);
  ev_->jacobian(jstart);
  VectorD start_logw(nc);
  const auto start_weights = [&] {
    for (Index c = 0; c < nc; ++c)
      start_logw[c] = -log_rho[c % k] - kernels->log_density(c % k, starts.col(c), jac_at(jstart, c));
  };
  // The bandwidth: wider kernels smooth the weights, but more of their proposals land in
  // another centre's cell. A pilot batch per candidate measures the proposals' efficiency as
  // the importance-sampling ESS per proposal, (Σw)²/(n Σw²) with failed proposals at w = 0 —
  // it sees heavy weights (which make chains stick) as well as failures. The chains proper
  // start afresh with the best, so the choice does not bias them.
  double best_factor = kBandwidths.front(), best_eff = -1;
  for (double factor : kBandwidths) {
    with_bandwidth(factor);
    MatrixD y;
    VectorD lw;
    propose(kPilotProposals, y, lw);
    const double top = lw.maxCoeff();
    double eff = 0;
    if (std::isfinite(top)) {
      const VectorD w = (lw.array() - top).exp().matrix();
      eff = w.sum() * w.sum() / (static_cast<double>(kPilotProposals) * w.squaredNorm());
    }
    if (eff > best_eff) {
      best_eff = eff;
      best_factor = factor;
    }
  }
  with_bandwidth(best_factor);
  start_weights();
  per_chain = std::max<Index>(4, (ss_.oversample * n + nc - 1) / nc);
  IndependenceChains ch =
      independence_chains(propose, starts, start_logw, per_chain, kIndependenceWarmup, kIndependenceMaxThin, rng_);
  if (ch.acceptance < kIndependenceMinAcceptance) {
    notes_ += fmt::format("; independence proposals accepted {:.3f}: random-walk chains", ch.acceptance);
    return false;
  }
  notes_ += fmt::format("; independence MH: {} kernels, bandwidth {:g} spacings, {} proposals, thin {}", k, best_factor,
                        ch.proposals, ch.thin);
  kept = std::move(ch.kept);
  res.acceptance = ch.acceptance;
  res.steps = ch.proposals / nc;
  return true;
}

TaskResult Run::pick(TaskResult& res, const std::vector<MatrixD>& kept, const std::vector<Index>& fam_of,
                     const VectorD& share, Index per_chain, bool exact_starts) {
  const Index n = spec_.samples, nc = static_cast<Index>(kept.size()), n_fam = share.size();
  // The vectors: each family gets its share (largest remainder), evenly spaced picks from
  //    the family's pooled kept draws (chains interleaved).
  std::vector<Index> count(static_cast<std::size_t>(n_fam));
  {
    Index given = 0;
    std::vector<std::pair<double, Index>> rem;
    for (Index f = 0; f < n_fam; ++f) {
      const double want = share[f] * static_cast<double>(n);
      count[static_cast<std::size_t>(f)] = static_cast<Index>(std::floor(want));
      given += count[static_cast<std::size_t>(f)];
      rem.emplace_back(want - std::floor(want), f);
    }
    std::sort(rem.begin(), rem.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (std::size_t i = 0; given < n; ++i, ++given)
      ++count[static_cast<std::size_t>(rem[i % rem.size()].second)];
  }
  MatrixD s(nf_, n);
  Index col = 0, reused = 0;
  double rhat = kNaN, ess_min = kNaN;
  VectorD ess_sum = VectorD::Zero(nf_);
  bool any_ess = false;
  for (Index f = 0; f < n_fam; ++f) {
    std::vector<MatrixD> draws;
    for (Index c = 0; c < nc; ++c)
      if (fam_of[static_cast<std::size_t>(c)] == f) draws.push_back(kept[static_cast<std::size_t>(c)]);
    const auto nch = static_cast<Index>(draws.size());
    const Index pool = nch * per_chain, want = count[static_cast<std::size_t>(f)];
    if (want > pool) reused += want - pool;
    for (Index i = 0; i < want; ++i) {  // chain-major, so every chain contributes
      const Index q = (i * pool) / want % pool;
      s.col(col++) = draws[static_cast<std::size_t>(q / per_chain)].col(q % per_chain);
    }
    const ChainDiagnostics d = chain_diagnostics(draws);
    for (Index k = 0; k < d.rhat.size(); ++k)
      if (std::isfinite(d.rhat[k])) rhat = std::isfinite(rhat) ? std::max(rhat, d.rhat[k]) : d.rhat[k];
    for (Index k = 0; k < d.ess.size(); ++k)
      if (std::isfinite(d.ess[k])) {
        ess_sum[k] += d.ess[k];
        any_ess = true;
      }
  }
  if (any_ess) {
    ess_min = std::numeric_limits<double>::infinity();
    for (Index k = 0; k < nf_; ++k)
      if (ess_sum[k] > 0) ess_min = std::min(ess_min, ess_sum[k]);
  }
  // Chains that start from exact draws are stationary from the start: R̂, which asks whether
  // they have forgotten their starting points, does not apply (ESS still counts their draws).
  res.rhat = exact_starts ? kNaN : rhat;
  if (exact_starts) notes_ += fmt::format("; {} chains from exact draws (R̂ not applicable)", nc);
  res.ess = ess_min;
  if (reused > 0) notes_ += fmt::format("; {} vectors repeat a draw (a family had fewer draws than its share)", reused);

  res.status = Status::done;
  std::string warn;
  if (std::isfinite(res.rhat) && res.rhat > 1.05) warn += fmt::format("split-R̂ {:.3f} > 1.05", res.rhat);
  if (std::isfinite(ess_min) && ess_min < static_cast<double>(n) / 4)
    warn += fmt::format("{}ESS {:.0f} < samples/4", warn.empty() ? "" : ", ", ess_min);
  if (!warn.empty()) warn = "warning: chains not mixed (" + warn + "): raise sampler.warmup, thin or chains";
  // The warning first: /tasks/message keeps 256 bytes.
  res.message = fmt::format("{}sampler: acceptance {:.2f}, ESS {:.0f}, R̂ {:.3f}{}", warn.empty() ? "" : warn + "; ",
                            res.acceptance, ess_min, res.rhat, notes_);
  const Index bad = p_.finish(s, res);
  res.final_loss = res.residuals.maxCoeff();
  if (bad > 0) {
    res.status = Status::diverged;
    res.message = fmt::format("{} of {} vectors were not finite", bad, n);
  }
  return res;
}

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
  /// A task's fixed cost (prior draws, the proposal, the kept draws) is most of it, so runs of
  /// 20 and 60 warm-up iterations extrapolated to 1000 multiply their timing noise by 25: time
  /// a twelfth and a quarter of the warm-up instead (at least 20 and 60).
  std::pair<std::int64_t, std::int64_t> calibration_work(const std::any& s) const override {
    const std::int64_t w = get(s).warmup;
    return {std::max<std::int64_t>(20, w / 12), std::max<std::int64_t>(60, w / 4)};
  }
};

}  // namespace

const Solver& sampler_solver() {
  static const Sampler s;
  return s;
}

}  // namespace invsweep::solvers
