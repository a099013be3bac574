#include "invsweep/oracle/train.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <span>

#include "invsweep/core/errors.hpp"
#include "invsweep/core/rng.hpp"
#include "invsweep/nn/adam.hpp"

namespace invsweep::oracle {

namespace {

using Clock = std::chrono::steady_clock;

std::vector<Index> shuffled(Index n, Rng& rng) {
  std::vector<Index> idx(static_cast<std::size_t>(n));
  std::iota(idx.begin(), idx.end(), Index{0});
  for (std::size_t i = idx.size(); i > 1; --i)
    std::swap(idx[i - 1], idx[rng.below(i)]);
  return idx;
}

/// Mean squared error of the net over a whole set, in chunks (no allocation).
template <class T>
double mse(const nn::Mlp<T>& net, nn::MlpWorkspace<T>& ws, const Matrix<T>& x, const Matrix<T>& y) {
  double sum = 0;
  for (Index start = 0; start < x.cols(); start += ws.capacity()) {
    const Index n = std::min(ws.capacity(), x.cols() - start);
    ws.set_batch(n);
    ws.input() = x.middleCols(start, n);
    forward(net, ws);
    sum += static_cast<double>((ws.output() - y.middleCols(start, n)).squaredNorm());
  }
  return sum / static_cast<double>(x.size() > 0 ? y.size() : 1);
}

template <class T>
nn::Mlp<double> fit(const MatrixD& xs, const MatrixD& ys, const MatrixD& xv, const MatrixD& yv, const TrainOptions& opt,
                    TrainResult& result, const ProgressFn& progress) {
  const Clock::time_point t0 = Clock::now();
  Rng rng(derive_seed({opt.seed, 1}));
  nn::Mlp<T> net = nn::Mlp<T>::make(xs.rows(), opt.hidden, ys.rows(), opt.activation);
  net.init_glorot(rng);
  const Matrix<T> xt = xs.cast<T>(), yt = ys.cast<T>(), xvt = xv.cast<T>(), yvt = yv.cast<T>();
  const Index n = xt.cols();
  const Index batch = std::min(opt.batch, n);
  nn::MlpWorkspace<T> ws(net, batch);
  nn::MlpWorkspace<T> eval_ws(net, std::max<Index>(batch, 1024));
  Matrix<T> ybatch(yt.rows(), batch);
  Vector<T> grad(net.n_params());
  Vector<T> best = net.params();
  nn::AdamState<T> adam(net.n_params());
  nn::AdamSettings settings;
  double lr = opt.lr;
  double best_val = std::numeric_limits<double>::infinity();
  int since_best = 0, since_lr = 0;
  std::vector<Index> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), Index{0});
  // Without validation rows there is nothing to stop on or to decay on: `epochs` epochs at
  // the initial rate, the last weights kept.
  const bool validate = xvt.cols() > 0;
  const T decay = static_cast<T>(opt.weight_decay.value_or(0.0));

  int epoch = 0;
  for (epoch = 1; epoch <= opt.epochs; ++epoch) {
    for (std::size_t i = order.size(); i > 1; --i)
      std::swap(order[i - 1], order[rng.below(i)]);
    double train_sum = 0;
    for (Index start = 0; start < n; start += batch) {
      const Index b = std::min(batch, n - start);
      ws.set_batch(b);
      MatrixMap<T> in = ws.input();
      for (Index j = 0; j < b; ++j) {
        const Index k = order[static_cast<std::size_t>(start + j)];
        in.col(j) = xt.col(k);
        ybatch.col(j) = yt.col(k);
      }
      forward(net, ws);
      MatrixMap<T> g = ws.grad_output();
      g = ws.output() - ybatch.leftCols(b);
      train_sum += static_cast<double>(g.squaredNorm());
      g *= T(2) / static_cast<T>(b * g.rows());
      grad.setZero();
      backward(net, ws, &grad, false);
      adam.step(settings, lr, net.params(), grad);
      if (decay > 0)  // decoupled (AdamW): the weights shrink, the biases do not
        for (std::size_t l = 0; l < net.n_layers(); ++l)
          net.weight(l) *= T(1) - static_cast<T>(lr) * decay;
    }
    const double train_loss = train_sum / static_cast<double>(yt.size());
    const double val_loss = validate ? mse(net, eval_ws, xvt, yvt) : std::numeric_limits<double>::quiet_NaN();
    if (!std::isfinite(validate ? val_loss : train_loss)) break;  // keep the best finite weights
    if (!validate) {
      best = net.params();
      result.best_epoch = epoch;
    } else if (val_loss < best_val * (1.0 - 1e-4)) {
      best_val = val_loss;
      best = net.params();
      result.best_epoch = epoch;
      since_best = 0;
      since_lr = 0;
    } else {
      ++since_best;
      if (++since_lr >= opt.lr_patience) {
        lr *= opt.lr_factor;
        since_lr = 0;
      }
    }
    if (progress)
      progress({epoch, opt.epochs, train_loss, val_loss, validate ? best_val : val_loss, lr,
                std::chrono::duration<double>(Clock::now() - t0).count()});
    if (validate && (since_best >= opt.patience || lr < opt.min_lr)) break;
  }
  result.epochs_run = std::min(epoch, opt.epochs);
  net.params() = best;
  return net.template cast<double>();
}

}  // namespace

Index network_parameters(Index n_in, const std::vector<Index>& hidden, Index n_out) {
  Index total = 0, prev = n_in;
  for (Index w : hidden) {
    total += (prev + 1) * w;
    prev = w;
  }
  return total + (prev + 1) * n_out;
}

double automatic_weight_decay(std::int64_t training_values, Index n_params) {
  return training_values < n_params ? 1.0 : 0.0;
}

void set_data_statistics(Oracle& o, const MatrixD& x, const MatrixD& y) {
  const Index n = x.cols();
  o.input_mean = x.rowwise().mean();
  const MatrixD centred = x.colwise() - o.input_mean;
  // The sample covariance (divisor n − 1, as numpy.cov); one row has none.
  o.input_cov =
      n > 1 ? MatrixD(centred * centred.transpose() / static_cast<double>(n - 1)) : MatrixD::Zero(x.rows(), x.rows());
  const MatrixD p = precision_matrix(o.input_cov);
  o.input_max_distance = std::sqrt(std::max(0.0, centred.cwiseProduct(p * centred).colwise().sum().maxCoeff()));
  o.output_lo = y.rowwise().minCoeff();
  o.output_hi = y.rowwise().maxCoeff();
}

void regression_metrics(const MatrixD& pred, const MatrixD& truth, std::vector<double>& rmse, std::vector<double>& r2) {
  rmse.clear();
  r2.clear();
  const auto n = static_cast<double>(truth.cols());
  for (Index i = 0; i < truth.rows(); ++i) {
    const double sse = (pred.row(i) - truth.row(i)).squaredNorm();
    const double mean = truth.row(i).mean();
    const double sst = (truth.row(i).array() - mean).square().sum();
    rmse.push_back(std::sqrt(sse / n));
    r2.push_back(sst > 0 ? 1.0 - sse / sst : (sse == 0 ? 1.0 : 0.0));
  }
}

namespace {

MatrixD gather(const MatrixD& m, std::span<const Index> cols) {
  MatrixD out(m.rows(), static_cast<Index>(cols.size()));
  for (std::size_t j = 0; j < cols.size(); ++j)
    out.col(static_cast<Index>(j)) = m.col(cols[j]);
  return out;
}

void check_fraction(double f, const char* flag) {
  if (!(f == 0 || (f >= 0.01 && f <= 0.5)))
    throw ConfigError(fmt::format("{} {}: expected 0 or a value in [0.01, 0.5]", flag, f));
}

/// round(fraction · n) rows, at least one unless the fraction is 0.
Index held_out(double fraction, Index n, const char* flag, const std::string& source) {
  if (fraction == 0) return 0;
  const auto k = static_cast<Index>(std::llround(fraction * static_cast<double>(n)));
  if (k < 1)
    throw DataError(
        fmt::format("{}: {} data rows are too few for {} {} (it would hold out no row); give more "
                    "data or {} 0",
                    source, n, flag, fraction, flag));
  return k;
}

/// Scalers from the training rows, the network, and the training and validation figures.
Oracle fit_on(const MatrixD& xtr, const MatrixD& ytr, const MatrixD& xva, const MatrixD& yva,
              const std::vector<std::string>& input_names, const std::vector<std::string>& output_names,
              const TrainOptions& opt, const std::string& source, TrainResult& result, const ProgressFn& progress) {
  Oracle o;
  o.input_names = input_names;
  o.output_names = output_names;
  o.input_scaler = nn::Scaler::fit(xtr);
  o.output_scaler = nn::Scaler::fit(ytr);
  for (Index i = 0; i < xtr.rows(); ++i)
    if (!(o.input_scaler.scale[i] > 0))
      throw DataError(
          fmt::format("{}: input column '{}' is constant ({}); it cannot inform the oracle — "
                      "drop it from --inputs",
                      source, input_names[static_cast<std::size_t>(i)], xtr(i, 0)));
  for (Index i = 0; i < ytr.rows(); ++i)
    if (!(o.output_scaler.scale[i] > 0))
      throw DataError(fmt::format("{}: output column '{}' is constant ({}); there is nothing to learn", source,
                                  output_names[static_cast<std::size_t>(i)], ytr(i, 0)));
  const MatrixD xs = o.input_scaler.transform(xtr), ys = o.output_scaler.transform(ytr);
  const MatrixD xvs = o.input_scaler.transform(xva), yvs = o.output_scaler.transform(yva);
  TrainOptions eff = opt;
  if (!eff.weight_decay)
    eff.weight_decay =
        automatic_weight_decay(xtr.cols() * ytr.rows(), network_parameters(xtr.rows(), opt.hidden, ytr.rows()));
  result.weight_decay = *eff.weight_decay;
  o.net = opt.float64 ? fit<double>(xs, ys, xvs, yvs, eff, result, progress)
                      : fit<float>(xs, ys, xvs, yvs, eff, result, progress);
  std::vector<double> r2_train;
  regression_metrics(o.predict(xtr), ytr, o.metrics.train_rmse, r2_train);
  if (xva.cols() > 0) regression_metrics(o.predict(xva), yva, o.metrics.val_rmse, o.metrics.val_r2);
  o.metrics.n_train = xtr.cols();
  o.metrics.n_val = xva.cols();
  o.metrics.epochs = result.epochs_run;
  return o;
}

/// K models, fold k held out, each trained on the other folds (validation rows taken from
/// them as usual); per output the mean and standard deviation of the held-out R².
void cross_validate(const MatrixD& x, const MatrixD& y, std::span<const Index> rows,
                    const std::vector<std::string>& input_names, const std::vector<std::string>& output_names,
                    const TrainOptions& opt, const std::string& source, Metrics& m) {
  const auto n = static_cast<Index>(rows.size());
  const Index k_folds = opt.cv_folds;
  if (k_folds > n)
    throw ConfigError(
        fmt::format("--cv {}: more folds than the {} rows outside the test set (expected 2 … {})", k_folds, n, n));
  const auto n_out = static_cast<std::size_t>(y.rows());
  std::vector<std::vector<double>> r2s(n_out);
  for (Index k = 0; k < k_folds; ++k) {
    const Index lo = k * n / k_folds, hi = (k + 1) * n / k_folds;
    std::vector<Index> held(rows.begin() + lo, rows.begin() + hi), rest(rows.begin(), rows.begin() + lo);
    rest.insert(rest.end(), rows.begin() + hi, rows.end());
    const std::string where = fmt::format("{} (cross-validation fold {} of {})", source, k + 1, k_folds);
    const auto rest_n = static_cast<Index>(rest.size());
    const Index n_val = held_out(opt.val_fraction, rest_n, "--val-fraction", where);
    if (rest_n - n_val < 2)
      throw DataError(
          fmt::format("{}: {} rows leave too few for training (need at least 2); use a smaller --cv", where, rest_n));
    const std::span<const Index> r(rest);
    TrainOptions fo = opt;
    fo.seed = derive_seed({opt.seed, 2, static_cast<std::uint64_t>(k)});
    TrainResult scratch;
    const Oracle fold = fit_on(
        gather(x, r.subspan(static_cast<std::size_t>(n_val))), gather(y, r.subspan(static_cast<std::size_t>(n_val))),
        gather(x, r.first(static_cast<std::size_t>(n_val))), gather(y, r.first(static_cast<std::size_t>(n_val))),
        input_names, output_names, fo, where, scratch, {});
    std::vector<double> rmse, r2;
    regression_metrics(fold.predict(gather(x, held)), gather(y, held), rmse, r2);
    for (std::size_t i = 0; i < n_out; ++i)
      r2s[i].push_back(r2[i]);
  }
  m.cv_folds = k_folds;
  m.cv_r2_mean.clear();
  m.cv_r2_sd.clear();
  for (const std::vector<double>& v : r2s) {
    const double mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
    double ss = 0;
    for (double r : v)
      ss += (r - mean) * (r - mean);
    m.cv_r2_mean.push_back(mean);
    m.cv_r2_sd.push_back(std::sqrt(ss / static_cast<double>(v.size() - 1)));
  }
}

}  // namespace

std::vector<Index> test_rows(Index n, const TrainOptions& opt, const std::string& source) {
  const Index n_test = held_out(opt.test_fraction, n, "--test-fraction", source);
  Rng split_rng(derive_seed({opt.seed, 0}));
  std::vector<Index> perm = shuffled(n, split_rng);
  perm.resize(static_cast<std::size_t>(n_test));
  return perm;
}

TrainResult train_oracle(const MatrixD& x, const MatrixD& y, const std::vector<std::string>& input_names,
                         const std::vector<std::string>& output_names, const TrainOptions& opt,
                         const std::string& source, const ProgressFn& progress) {
  const Index n = x.cols();
  check_fraction(opt.test_fraction, "--test-fraction");
  check_fraction(opt.val_fraction, "--val-fraction");
  if (opt.weight_decay && (!(*opt.weight_decay >= 0) || !std::isfinite(*opt.weight_decay)))
    throw ConfigError(fmt::format("--weight-decay {}: expected a number ≥ 0", *opt.weight_decay));
  if (opt.cv_folds != 0 && opt.cv_folds < 2)
    throw ConfigError(fmt::format("--cv {}: expected at least 2 folds (or 0 for none)", opt.cv_folds));
  const Index n_test = held_out(opt.test_fraction, n, "--test-fraction", source);
  const Index n_val = held_out(opt.val_fraction, n, "--val-fraction", source);
  // (test_rows() below makes the same split: keep the two in step.)
  if (n - n_test - n_val < 2)
    throw DataError(
        fmt::format("{}: {} data rows are too few for {} test and {} validation rows and at least 2 "
                    "training rows",
                    source, n, n_test, n_val));
  Rng split_rng(derive_seed({opt.seed, 0}));
  const std::vector<Index> perm = shuffled(n, split_rng);
  const std::span<const Index> all(perm);
  const std::span<const Index> test = all.first(static_cast<std::size_t>(n_test));
  const std::span<const Index> val = all.subspan(static_cast<std::size_t>(n_test), static_cast<std::size_t>(n_val));
  const std::span<const Index> train = all.subspan(static_cast<std::size_t>(n_test + n_val));
  if (opt.cv_folds > 0 && opt.cv_folds > n - n_test)
    throw ConfigError(fmt::format("--cv {}: more folds than the {} rows outside the test set (expected 2 … {})",
                                  opt.cv_folds, n - n_test, n - n_test));

  const Clock::time_point t0 = Clock::now();
  TrainResult result;
  Oracle o = fit_on(gather(x, train), gather(y, train), gather(x, val), gather(y, val), input_names, output_names, opt,
                    source, result, progress);
  result.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  o.input_lo = x.rowwise().minCoeff();
  o.input_hi = x.rowwise().maxCoeff();
  set_data_statistics(o, x, y);
  o.metrics.n_test = n_test;
  if (n_test > 0)
    regression_metrics(o.predict(gather(x, test)), gather(y, test), o.metrics.test_rmse, o.metrics.test_r2);
  if (opt.cv_folds > 0)
    cross_validate(x, y, all.subspan(static_cast<std::size_t>(n_test)), input_names, output_names, opt, source,
                   o.metrics);
  result.val_rows.assign(val.begin(), val.end());
  result.oracle = std::move(o);
  return result;
}

std::vector<std::string> training_warnings(const Oracle& o) {
  std::vector<std::string> out;
  const Metrics& m = o.metrics;
  const Index n_params = o.net.n_params();
  const std::int64_t values = m.n_train * o.n_out();
  if (values < n_params)
    out.push_back(fmt::format(
        "{} training values ({} rows × {} output{}) for {} network parameters ({:.2f} per parameter, fewer than "
        "1): the data cannot determine the weights, and the predictions between the training rows rest on weight "
        "decay and early stopping; compare the test R² with a simpler model, or use a smaller --hidden or more data",
        values, m.n_train, o.n_out(), o.n_out() == 1 ? "" : "s", n_params,
        static_cast<double>(values) / static_cast<double>(n_params)));
  if (m.n_val > 0 && m.n_val < 30)
    out.push_back(fmt::format(
        "only {} validation rows (fewer than 30): early stopping follows the noise of a few rows; use more data or "
        "a larger --val-fraction",
        m.n_val));
  const bool test = !m.test_r2.empty();
  const std::vector<double>& r2 = test ? m.test_r2 : m.val_r2;
  for (std::size_t i = 0; i < r2.size() && i < o.output_names.size(); ++i)
    if (!(r2[i] >= 0.5))
      out.push_back(
          fmt::format("output '{}': {} R² {:.3f} is below 0.5 ({} {} rows): the oracle explains less than "
                      "half of its variance",
                      o.output_names[i], test ? "test" : "validation", r2[i], test ? m.n_test : m.n_val,
                      test ? "test" : "validation"));
  return out;
}

}  // namespace invsweep::oracle
