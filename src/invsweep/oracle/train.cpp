#include "invsweep/oracle/train.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

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
    }
    const double train_loss = train_sum / static_cast<double>(yt.size());
    const double val_loss = mse(net, eval_ws, xvt, yvt);
    if (!std::isfinite(val_loss)) break;  // keep the best finite weights
    if (val_loss < best_val * (1.0 - 1e-4)) {
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
      progress({epoch, opt.epochs, train_loss, val_loss, best_val, lr,
                std::chrono::duration<double>(Clock::now() - t0).count()});
    if (since_best >= opt.patience || lr < opt.min_lr) break;
  }
  result.epochs_run = std::min(epoch, opt.epochs);
  net.params() = best;
  return net.template cast<double>();
}

}  // namespace

void set_data_statistics(Oracle& o, const MatrixD& x, const MatrixD& y) {
  const Index n = x.cols();
  o.input_mean = x.rowwise().mean();
  const MatrixD centred = x.colwise() - o.input_mean;
  // The sample covariance (divisor n − 1, as numpy.cov); one row has none.
  o.input_cov = n > 1 ? MatrixD(centred * centred.transpose() / static_cast<double>(n - 1))
                      : MatrixD::Zero(x.rows(), x.rows());
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

TrainResult train_oracle(const MatrixD& x, const MatrixD& y, const std::vector<std::string>& input_names,
                         const std::vector<std::string>& output_names, const TrainOptions& opt,
                         const std::string& source, const ProgressFn& progress) {
  const Index n = x.cols();
  if (opt.val_fraction < 0.01 || opt.val_fraction > 0.5)
    throw ConfigError(fmt::format("--val-fraction {}: expected a value in [0.01, 0.5]", opt.val_fraction));
  const auto n_val = static_cast<Index>(std::llround(opt.val_fraction * static_cast<double>(n)));
  if (n_val < 1 || n - n_val < 2)
    throw DataError(
        fmt::format("{}: {} data rows are too few for a training/validation split "
                    "(need at least 3, with one validation row)",
                    source, n));
  Rng split_rng(derive_seed({opt.seed, 0}));
  const std::vector<Index> perm = shuffled(n, split_rng);
  MatrixD xtr(x.rows(), n - n_val), ytr(y.rows(), n - n_val), xva(x.rows(), n_val), yva(y.rows(), n_val);
  for (Index j = 0; j < n; ++j) {
    const Index k = perm[static_cast<std::size_t>(j)];
    if (j < n_val) {
      xva.col(j) = x.col(k);
      yva.col(j) = y.col(k);
    } else {
      xtr.col(j - n_val) = x.col(k);
      ytr.col(j - n_val) = y.col(k);
    }
  }
  Oracle o;
  o.input_names = input_names;
  o.output_names = output_names;
  o.input_scaler = nn::Scaler::fit(xtr);
  o.output_scaler = nn::Scaler::fit(ytr);
  for (Index i = 0; i < x.rows(); ++i)
    if (!(o.input_scaler.scale[i] > 0))
      throw DataError(
          fmt::format("{}: input column '{}' is constant ({}); it cannot inform the oracle — "
                      "drop it from --inputs",
                      source, input_names[static_cast<std::size_t>(i)], x(i, 0)));
  for (Index i = 0; i < y.rows(); ++i)
    if (!(o.output_scaler.scale[i] > 0))
      throw DataError(fmt::format("{}: output column '{}' is constant ({}); there is nothing to learn", source,
                                  output_names[static_cast<std::size_t>(i)], y(i, 0)));
  o.input_lo = x.rowwise().minCoeff();
  o.input_hi = x.rowwise().maxCoeff();
  set_data_statistics(o, x, y);

  const Clock::time_point t0 = Clock::now();
  TrainResult result;
  const MatrixD xs = o.input_scaler.transform(xtr), ys = o.output_scaler.transform(ytr);
  const MatrixD xvs = o.input_scaler.transform(xva), yvs = o.output_scaler.transform(yva);
  o.net = opt.float64 ? fit<double>(xs, ys, xvs, yvs, opt, result, progress)
                      : fit<float>(xs, ys, xvs, yvs, opt, result, progress);
  result.seconds = std::chrono::duration<double>(Clock::now() - t0).count();

  std::vector<double> r2_train;
  regression_metrics(o.predict(xva), yva, o.metrics.val_rmse, o.metrics.val_r2);
  regression_metrics(o.predict(xtr), ytr, o.metrics.train_rmse, r2_train);
  o.metrics.n_train = n - n_val;
  o.metrics.n_val = n_val;
  o.metrics.epochs = result.epochs_run;
  result.val_rows.assign(perm.begin(), perm.begin() + n_val);
  result.oracle = std::move(o);
  return result;
}

}  // namespace invsweep::oracle
