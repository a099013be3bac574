#include "invsweep/solvers/cmaes_core.hpp"

#include <fmt/format.h>

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "invsweep/core/errors.hpp"

namespace invsweep::solvers::cmaes {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kMaxCondition = 1e14;
constexpr Index kStagnationCapacity = 20000;  // generations of history kept for stagnation

// Non-finite values rank behind every finite one.
double rank_key(double v) {
  return std::isfinite(v) ? v : kInf;
}

// The tutorial's default strategy parameters (Hansen 2016, appendix A), positive weights only.
struct Constants {
  Index n = 0, lambda = 0, mu = 0;
  VectorD weights;       // [μ], decreasing, sum 1
  VectorD sqrt_weights;  // [μ]
  double mueff = 0, cs = 0, ds = 0, cc = 0, c1 = 0, cmu = 0, chi_n = 0;
  int eigen_every = 1;     // generations between eigendecompositions
  int tolfun_history = 0;  // generations of best values in TolFun
  int stagnation_min = 0;  // generations before stagnation is checked

  Constants(Index n_, Index lambda_) : n(n_), lambda(lambda_), mu(lambda_ / 2) {
    const double dn = static_cast<double>(n);
    weights.resize(mu);
    for (Index i = 0; i < mu; ++i)
      weights[i] = std::log((static_cast<double>(lambda) + 1.0) / 2.0) - std::log(static_cast<double>(i + 1));
    weights /= weights.sum();
    sqrt_weights = weights.cwiseSqrt();
    mueff = 1.0 / weights.squaredNorm();
    cs = (mueff + 2.0) / (dn + mueff + 5.0);
    ds = 1.0 + 2.0 * std::max(0.0, std::sqrt((mueff - 1.0) / (dn + 1.0)) - 1.0) + cs;
    cc = (4.0 + mueff / dn) / (dn + 4.0 + 2.0 * mueff / dn);
    c1 = 2.0 / ((dn + 1.3) * (dn + 1.3) + mueff);
    cmu = std::min(1.0 - c1, 2.0 * (mueff - 2.0 + 1.0 / mueff) / ((dn + 2.0) * (dn + 2.0) + mueff));
    chi_n = std::sqrt(dn) * (1.0 - 1.0 / (4.0 * dn) + 1.0 / (21.0 * dn * dn));
    eigen_every = std::max(1, static_cast<int>(1.0 / (10.0 * dn * (c1 + cmu))));
    const double per_lambda = dn / static_cast<double>(lambda);
    tolfun_history = 10 + static_cast<int>(std::ceil(30.0 * per_lambda));
    stagnation_min = 100 + static_cast<int>(std::ceil(100.0 * dn * std::sqrt(dn) / static_cast<double>(lambda)));
  }
};

// The state of one run, allocated once; the generation loop only writes into it.
class Run {
 public:
  Run(const Constants& k, const VectorD& x0, double sigma0, Index history_capacity)
      : k_(k),
        sigma0_(sigma0),
        sigma_(sigma0),
        mean_(x0),
        ps_(VectorD::Zero(k.n)),
        pc_(VectorD::Zero(k.n)),
        yw_(k.n),
        zw_(k.n),
        tmp_(k.n),
        C_(MatrixD::Identity(k.n, k.n)),
        B_(MatrixD::Identity(k.n, k.n)),
        BD_(MatrixD::Identity(k.n, k.n)),
        eigvals_(VectorD::Ones(k.n)),
        Z_(k.n, k.lambda),
        Y_(k.n, k.lambda),
        X_(k.n, k.lambda),
        Ysel_(k.n, k.mu),
        values_(k.lambda),
        order_(static_cast<std::size_t>(k.lambda)),
        eig_(k.n),
        tri_(k.n),
        Q_(k.n, k.n),
        diag_(k.n),
        subdiag_(k.n - 1),
        work_(k.n),
        tolfun_ring_(static_cast<std::size_t>(k.tolfun_history)),
        hist_best_(static_cast<std::size_t>(history_capacity)),
        hist_median_(static_cast<std::size_t>(history_capacity)),
        scratch_(static_cast<std::size_t>(history_capacity)) {}

  const MatrixD& X() const { return X_; }
  VectorD& values() { return values_; }
  const std::vector<Index>& order() const { return order_; }
  int generations() const { return gen_; }

  // Draws λ points X = m + σ·B·D·Z (column-major order of Z's normals).
  void sample(Rng& rng) {
    double* z = Z_.data();
    for (Index i = 0, size = Z_.size(); i < size; ++i)
      z[i] = rng.normal();
    Y_.noalias() = BD_ * Z_;
    X_ = (sigma_ * Y_).colwise() + mean_;
  }

  // Sorts the first `count` values (non-finite last, ties by index).
  void rank(Index count) {
    std::iota(order_.begin(), order_.begin() + count, Index{0});
    std::sort(order_.begin(), order_.begin() + count, [this](Index a, Index b) {
      const double va = rank_key(values_[a]), vb = rank_key(values_[b]);
      return va < vb || (va == vb && a < b);
    });
  }

  // Mean, evolution paths, covariance and step size from a full ranked generation.
  void update() {
    ++gen_;
    yw_.setZero();
    zw_.setZero();
    for (Index i = 0; i < k_.mu; ++i) {
      const Index j = order_[static_cast<std::size_t>(i)];
      yw_ += k_.weights[i] * Y_.col(j);
      zw_ += k_.weights[i] * Z_.col(j);
      Ysel_.col(i) = k_.sqrt_weights[i] * Y_.col(j);
    }
    mean_ += sigma_ * yw_;

    // C^(-1/2)·y_w = B·z_w because the samples were drawn with the current B and D.
    tmp_.noalias() = B_ * zw_;
    ps_ = (1.0 - k_.cs) * ps_ + std::sqrt(k_.cs * (2.0 - k_.cs) * k_.mueff) * tmp_;
    const double ps_norm = ps_.norm();
    const double ps_bias = std::sqrt(1.0 - std::pow(1.0 - k_.cs, 2.0 * gen_));
    const bool hsig = ps_norm / ps_bias / k_.chi_n < 1.4 + 2.0 / (static_cast<double>(k_.n) + 1.0);
    pc_ *= 1.0 - k_.cc;
    if (hsig) pc_ += std::sqrt(k_.cc * (2.0 - k_.cc) * k_.mueff) * yw_;
    const double delta = hsig ? 0.0 : k_.cc * (2.0 - k_.cc);

    // Only the lower triangle of C is kept up to date (the eigensolver reads nothing else).
    C_ *= 1.0 - k_.c1 - k_.cmu + k_.c1 * delta;
    C_.selfadjointView<Eigen::Lower>().rankUpdate(pc_, k_.c1);
    C_.selfadjointView<Eigen::Lower>().rankUpdate(Ysel_, k_.cmu);

    sigma_ *= std::exp(k_.cs / k_.ds * (ps_norm / k_.chi_n - 1.0));

    if (gen_ - eigen_gen_ >= k_.eigen_every) decompose();
  }

  // Records the generation's best and median (ranked values of a full generation).
  void record_history() {
    const double best = rank_key(values_[order_[0]]);
    const double median = rank_key(values_[order_[static_cast<std::size_t>(k_.lambda / 2)]]);
    const auto g = static_cast<std::size_t>(gen_ - 1);
    tolfun_ring_[g % tolfun_ring_.size()] = best;
    if (!hist_best_.empty()) {
      hist_best_[g % hist_best_.size()] = best;
      hist_median_[g % hist_median_.size()] = median;
    }
  }

  // The first per-run stopping criterion that holds after update(), if any.
  bool should_stop(double tol_fun, double tol_x, StopReason& why) {
    const Index n = k_.n;
    if (!std::isfinite(sigma_) || !mean_.allFinite() || !C_.diagonal().allFinite()) {
      why = StopReason::diverged;
      return true;
    }
    if (gen_ >= k_.tolfun_history && values_.allFinite()) {
      double lo = values_.minCoeff(), hi = values_.maxCoeff();
      for (double v : tolfun_ring_) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
      if (hi - lo < tol_fun) {
        why = StopReason::tol_fun;
        return true;
      }
    }
    double spread = 0;
    for (Index i = 0; i < n; ++i)
      spread = std::max(spread, std::max(std::sqrt(C_(i, i)), std::abs(pc_[i])));
    if (sigma_ * spread < tol_x * sigma0_) {
      why = StopReason::tol_x;
      return true;
    }
    const Index axis = static_cast<Index>(gen_) % n;
    tmp_ = mean_ + 0.1 * sigma_ * BD_.col(axis);
    if ((tmp_.array() == mean_.array()).all()) {
      why = StopReason::no_effect_axis;
      return true;
    }
    for (Index i = 0; i < n; ++i) {
      if (mean_[i] == mean_[i] + 0.2 * sigma_ * std::sqrt(C_(i, i))) {
        why = StopReason::no_effect_coord;
        return true;
      }
    }
    const double lo_eig = eigvals_.minCoeff();
    if (!(lo_eig > 0.0) || eigvals_.maxCoeff() > kMaxCondition * lo_eig) {
      why = StopReason::condition_cov;
      return true;
    }
    if (stagnated()) {
      why = StopReason::stagnation;
      return true;
    }
    return false;
  }

 private:
  // B·D from C = B·diag(eigvals)·Bᵀ. SelfAdjointEigenSolver::compute would allocate a
  // workspace each time, so the tridiagonal reduction is done here with preallocated storage.
  void decompose() {
    eigen_gen_ = gen_;
    tri_.compute(C_);
    diag_ = tri_.diagonal();
    subdiag_ = tri_.subDiagonal();
    tri_.matrixQ().evalTo(Q_, work_);
    eig_.computeFromTridiagonal(diag_, subdiag_, Eigen::ComputeEigenvectors);
    if (eig_.info() != Eigen::Success) {
      eigvals_.setConstant(std::numeric_limits<double>::quiet_NaN());  // stops the run
      return;
    }
    eigvals_ = eig_.eigenvalues();
    B_.noalias() = Q_ * eig_.eigenvectors();
    BD_.noalias() = B_ * eigvals_.cwiseMax(0.0).cwiseSqrt().asDiagonal();
  }

  // Median of the window's newest 30 % of best and of median values no better than its
  // oldest 30 %; the window is the last 20 % of the run, at least stagnation_min generations.
  bool stagnated() {
    const auto cap = static_cast<Index>(hist_best_.size());
    const Index g = gen_;
    if (g < k_.stagnation_min || cap < k_.stagnation_min) return false;
    const Index window = std::min({g, cap, std::max<Index>(k_.stagnation_min, (g + 4) / 5)});
    const Index part = (3 * window + 9) / 10;
    const auto median_of = [&](const std::vector<double>& h, Index first) {
      for (Index i = 0; i < part; ++i)
        scratch_[static_cast<std::size_t>(i)] = h[static_cast<std::size_t>((first + i) % cap)];
      const auto mid = scratch_.begin() + part / 2;
      std::nth_element(scratch_.begin(), mid, scratch_.begin() + part);
      return *mid;
    };
    const Index old_first = g - window, new_first = g - part;
    return median_of(hist_best_, new_first) >= median_of(hist_best_, old_first) &&
           median_of(hist_median_, new_first) >= median_of(hist_median_, old_first);
  }

  const Constants& k_;
  double sigma0_, sigma_;
  VectorD mean_, ps_, pc_, yw_, zw_, tmp_;
  MatrixD C_, B_, BD_;
  VectorD eigvals_;
  MatrixD Z_, Y_, X_, Ysel_;
  VectorD values_;
  std::vector<Index> order_;
  Eigen::SelfAdjointEigenSolver<MatrixD> eig_;
  Eigen::Tridiagonalization<MatrixD> tri_;
  MatrixD Q_;
  VectorD diag_, subdiag_, work_;
  std::vector<double> tolfun_ring_, hist_best_, hist_median_, scratch_;
  int gen_ = 0, eigen_gen_ = 0;
};

// Keeps the best finite value seen in `x` columns `order[0..count)` into (best_x, best).
void note_best(const MatrixD& X, const VectorD& values, const std::vector<Index>& order, VectorD& best_x,
               double& best) {
  const Index j = order[0];
  if (std::isfinite(values[j]) && values[j] < best) {
    best = values[j];
    best_x = X.col(j);
  }
}

}  // namespace

const char* to_string(StopReason r) {
  switch (r) {
    case StopReason::target:
      return "target";
    case StopReason::max_evaluations:
      return "max_evaluations";
    case StopReason::tol_fun:
      return "tol_fun";
    case StopReason::tol_x:
      return "tol_x";
    case StopReason::no_effect_axis:
      return "no_effect_axis";
    case StopReason::no_effect_coord:
      return "no_effect_coord";
    case StopReason::condition_cov:
      return "condition_cov";
    case StopReason::stagnation:
      return "stagnation";
    case StopReason::non_finite:
      return "non_finite";
    case StopReason::diverged:
      return "diverged";
  }
  return "unknown";
}

void validate(const Settings& s) {
  if (s.population != 0 && s.population < 2)
    throw ConfigError(fmt::format("cmaes.population: expected 0 (default) or an integer >= 2, got {}", s.population));
  if (!(s.sigma0 > 0.0) || !std::isfinite(s.sigma0))
    throw ConfigError(fmt::format("cmaes.sigma0: expected a finite number > 0, got {}", s.sigma0));
  if (s.max_evaluations < 1)
    throw ConfigError(fmt::format("cmaes.max_evaluations: expected an integer >= 1, got {}", s.max_evaluations));
  if (s.restarts < 0) throw ConfigError(fmt::format("cmaes.restarts: expected an integer >= 0, got {}", s.restarts));
  if (!(s.tol_fun >= 0.0) || !std::isfinite(s.tol_fun))
    throw ConfigError(fmt::format("cmaes.tol_fun: expected a finite number >= 0, got {}", s.tol_fun));
  if (!(s.tol_x >= 0.0) || !std::isfinite(s.tol_x))
    throw ConfigError(fmt::format("cmaes.tol_x: expected a finite number >= 0, got {}", s.tol_x));
  if (std::isnan(s.target)) throw ConfigError("cmaes.target: expected a number, got NaN");
}

Result minimize(const Objective& f, Index n, const StartPoint& start, const Settings& s, Rng& rng) {
  validate(s);
  if (n < 1) throw std::invalid_argument(fmt::format("cmaes: dimension must be >= 1, got {}", n));
  const Index lambda0 =
      s.population > 0 ? s.population : 4 + static_cast<Index>(std::floor(3.0 * std::log(static_cast<double>(n))));
  if (lambda0 > s.max_evaluations)
    throw ConfigError(fmt::format("cmaes.max_evaluations: {} is less than one generation (population {})",
                                  s.max_evaluations, lambda0));

  Result res;
  res.best_x = VectorD::Zero(n);
  Index lambda = lambda0;
  for (int r = 0; r <= s.restarts; ++r) {
    if (r > 0) {
      // A restart needs room for one full generation of the doubled population.
      if (lambda > (s.max_evaluations - res.evaluations) / 2) {
        res.stop = StopReason::max_evaluations;
        break;
      }
      lambda *= 2;
    }
    const std::int64_t budget = s.max_evaluations - res.evaluations;

    RunRecord rec;
    rec.population = lambda;
    rec.start = start(rng);
    if (rec.start.size() != n || !rec.start.allFinite())
      throw std::invalid_argument(
          fmt::format("cmaes: start point must be {} finite numbers, got size {}", n, rec.start.size()));
    rec.best_x = rec.start;
    if (r == 0) res.best_x = rec.start;

    const Constants k(n, lambda);
    const Index history = std::min<Index>(kStagnationCapacity, budget / lambda + 1);
    Run run(k, rec.start, s.sigma0, history);
    MatrixD partial_x;  // only for a last generation cut short by the budget
    VectorD partial_values;
    Index evaluated = 0;  // members of the last generation that were evaluated
    bool stopped_all = false;
    while (true) {
      const std::int64_t remaining = s.max_evaluations - res.evaluations;
      if (remaining <= 0) {
        rec.stop = StopReason::max_evaluations;
        stopped_all = true;
        break;
      }
      run.sample(rng);
      if (remaining < lambda) {
        // The budget ends inside this generation: evaluate what it allows and stop.
        evaluated = static_cast<Index>(remaining);
        partial_x = run.X().leftCols(evaluated);
        partial_values.resize(evaluated);
        f(partial_x, partial_values);
        if (partial_values.size() != evaluated) throw std::logic_error("cmaes: the objective resized its values");
        run.values().head(evaluated) = partial_values;
      } else {
        evaluated = lambda;
        f(run.X(), run.values());
        if (run.values().size() != lambda) throw std::logic_error("cmaes: the objective resized its values");
      }
      rec.evaluations += evaluated;
      res.evaluations += evaluated;
      ++rec.generations;
      run.rank(evaluated);
      note_best(run.X(), run.values(), run.order(), rec.best_x, rec.best_value);

      if (rec.best_value <= s.target) {
        rec.stop = StopReason::target;
        stopped_all = true;
        break;
      }
      if (evaluated < lambda) {
        rec.stop = StopReason::max_evaluations;
        stopped_all = true;
        break;
      }
      if (!std::isfinite(run.values()[run.order()[0]])) {
        rec.stop = StopReason::non_finite;
        break;
      }
      run.update();
      run.record_history();
      if (run.should_stop(s.tol_fun, s.tol_x, rec.stop)) break;
    }

    // The last generation, best first.
    rec.last_x.resize(n, evaluated);
    rec.last_values.resize(evaluated);
    for (Index j = 0; j < evaluated; ++j) {
      const Index src = run.order()[static_cast<std::size_t>(j)];
      rec.last_x.col(j) = run.X().col(src);
      rec.last_values[j] = run.values()[src];
    }
    if (rec.best_value < res.best_value) {
      res.best_value = rec.best_value;
      res.best_x = rec.best_x;
    }
    res.stop = rec.stop;
    res.runs.push_back(std::move(rec));
    if (stopped_all) break;
  }
  return res;
}

void candidates(const Result& r, Index count, MatrixD& x, VectorD& values) {
  struct Pick {
    double value;
    const RunRecord* run;
    Index col;  // -1: the run's best
  };
  std::vector<Pick> firsts, others;
  for (const RunRecord& run : r.runs) {
    if (std::isfinite(run.best_value)) firsts.push_back({run.best_value, &run, -1});
    for (Index j = 0; j < run.last_values.size(); ++j)
      if (std::isfinite(run.last_values[j])) others.push_back({run.last_values[j], &run, j});
  }
  const auto by_value = [](const Pick& a, const Pick& b) { return a.value < b.value; };
  std::stable_sort(firsts.begin(), firsts.end(), by_value);
  std::stable_sort(others.begin(), others.end(), by_value);
  firsts.insert(firsts.end(), others.begin(), others.end());

  const Index n = r.best_x.size();
  x.resize(n, std::max<Index>(count, 0));
  values.resize(std::max<Index>(count, 0));
  Index k = 0;
  for (const Pick& p : firsts) {
    if (k >= count) break;
    const Eigen::Ref<const VectorD> point =
        p.col < 0 ? Eigen::Ref<const VectorD>(p.run->best_x) : Eigen::Ref<const VectorD>(p.run->last_x.col(p.col));
    bool duplicate = false;
    for (Index j = 0; j < k && !duplicate; ++j)
      duplicate = (x.col(j).array() == point.array()).all();
    if (duplicate) continue;
    x.col(k) = point;
    values[k] = p.value;
    ++k;
  }
  x.conservativeResize(n, k);
  values.conservativeResize(k);
}

}  // namespace invsweep::solvers::cmaes
