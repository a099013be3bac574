#include "invsweep/oracle/ensemble.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "invsweep/core/errors.hpp"

namespace invsweep::oracle {

namespace {

/// Member k's rows of a width-h block are [k·h, (k+1)·h).
Index member_width(const Oracle& o, std::size_t layer) {
  return o.net.layer(layer).out / o.ensemble.members;
}

}  // namespace

Oracle combine_ensemble(const std::vector<Oracle>& members, const nn::Scaler& in, const nn::Scaler& out) {
  if (members.empty()) throw ConfigError("an ensemble needs at least one member");
  const Oracle& m0 = members.front();
  const std::size_t n_layers = m0.net.n_layers();
  if (n_layers < 2) throw ConfigError("an ensemble's members need at least one hidden layer");
  if (m0.net.layer(n_layers - 1).act != nn::Activation::identity)
    throw ConfigError("an ensemble's members need an identity last activation (their mean is the ensemble's output)");
  if (in.size() != m0.n_in() || out.size() != m0.n_out())
    throw ConfigError("the ensemble's scalers do not match the members' inputs and outputs");
  for (std::size_t k = 1; k < members.size(); ++k) {
    const Oracle& m = members[k];
    if (m.input_names != m0.input_names || m.output_names != m0.output_names || m.net.layers() != m0.net.layers())
      throw ConfigError(fmt::format("ensemble member {} differs from member 0 in its names or layers", k));
  }
  const auto K = static_cast<Index>(members.size());
  std::vector<nn::LayerSpec> specs;
  for (std::size_t i = 0; i < n_layers; ++i) {
    const nn::LayerSpec& l = m0.net.layer(i);
    const bool first = i == 0, last = i + 1 == n_layers;
    specs.push_back({first ? l.in : K * l.in, last ? l.out : K * l.out, l.act});
  }
  Oracle e;
  e.input_names = m0.input_names;
  e.output_names = m0.output_names;
  e.net = nn::Mlp<double>(specs);  // zero: the off-diagonal blocks stay 0
  e.input_scaler = in;
  e.output_scaler = out;
  e.input_lo = m0.input_lo;
  e.input_hi = m0.input_hi;
  e.input_mean = m0.input_mean;
  e.input_cov = m0.input_cov;
  e.output_lo = m0.output_lo;
  e.output_hi = m0.output_hi;
  e.ensemble.members = K;
  const std::size_t L = n_layers - 1;
  e.net.weight(L).setZero();
  e.net.bias(L).setZero();
  for (Index k = 0; k < K; ++k) {
    const Oracle& m = members[static_cast<std::size_t>(k)];
    const nn::Mlp<double>& net = m.net;
    // Member k sees z_k = (x − m_k)/s_k = z ⊙ (s/s_k) + (m − m_k)/s_k with z = (x − m)/s.
    const VectorD ratio = (in.scale.array() / m.input_scaler.scale.array()).matrix();
    const VectorD shift = ((in.mean - m.input_scaler.mean).array() / m.input_scaler.scale.array()).matrix();
    for (std::size_t i = 0; i < L; ++i) {
      const Index h = net.layer(i).out;
      if (i == 0) {
        e.net.weight(0).middleRows(k * h, h) = net.weight(0) * ratio.asDiagonal();
        e.net.bias(0).segment(k * h, h) = net.bias(0) + net.weight(0) * shift;
      } else {
        const Index hp = net.layer(i).in;
        e.net.weight(i).block(k * h, k * hp, h, hp) = net.weight(i);
        e.net.bias(i).segment(k * h, h) = net.bias(i);
      }
    }
    // Its output u_k in its own units is y = u_k ⊙ so_k + mo_k; in the shared ones
    // u = u_k ⊙ (so_k/so) + (mo_k − mo)/so.
    const nn::Scaler& os = m.output_scaler;
    const VectorD oratio = (os.scale.array() / out.scale.array()).matrix();
    MatrixD w = oratio.asDiagonal() * net.weight(L);
    VectorD b =
        ((os.scale.array() * net.bias(L).array() + os.mean.array() - out.mean.array()) / out.scale.array()).matrix();
    const Index h = net.layer(L).in;
    e.net.weight(L).middleCols(k * h, h) = w / static_cast<double>(K);
    e.net.bias(L) += b / static_cast<double>(K);
    e.ensemble.weight.push_back(std::move(w));
    e.ensemble.bias.push_back(std::move(b));
  }
  return e;
}

EnsembleTrainResult train_ensemble(const MatrixD& x, const MatrixD& y, const std::vector<std::string>& input_names,
                                   const std::vector<std::string>& output_names, const TrainOptions& opt, Index members,
                                   const std::string& source,
                                   const std::function<void(Index, const EpochInfo&)>& progress) {
  if (members < 1) throw ConfigError(fmt::format("--ensemble {}: expected a whole number ≥ 1", members));
  EnsembleTrainResult r;
  // One test split for the whole ensemble (the base seed's, as a single network's): rows no
  // member sees, on which the ensemble is scored. The members split the rest, each its own way.
  const std::vector<Index> test = test_rows(x.cols(), opt, source);
  std::vector<char> is_test(static_cast<std::size_t>(x.cols()), 0);
  for (const Index j : test)
    is_test[static_cast<std::size_t>(j)] = 1;
  std::vector<Index> rest;
  for (Index j = 0; j < x.cols(); ++j)
    if (is_test[static_cast<std::size_t>(j)] == 0) rest.push_back(j);
  const auto columns = [](const MatrixD& m, const std::vector<Index>& cols) {
    MatrixD out(m.rows(), static_cast<Index>(cols.size()));
    for (std::size_t c = 0; c < cols.size(); ++c)
      out.col(static_cast<Index>(c)) = m.col(cols[c]);
    return out;
  };
  const MatrixD xr = columns(x, rest), yr = columns(y, rest);
  std::vector<Oracle> nets;
  for (Index k = 0; k < members; ++k) {
    TrainOptions o = opt;
    o.seed = opt.seed + static_cast<std::uint64_t>(k);
    o.test_fraction = 0;
    o.cv_folds = 0;
    ProgressFn p;
    if (progress) p = [&progress, k](const EpochInfo& e) { progress(k, e); };
    r.members.push_back(train_oracle(xr, yr, input_names, output_names, o, source, p));
    for (Index& j : r.members.back().val_rows)  // columns of xr → columns of x
      j = rest[static_cast<std::size_t>(j)];
    r.seconds += r.members.back().seconds;
    nets.push_back(r.members.back().oracle);
  }
  // The shared scalers: every row the members learnt from (training or validation).
  r.oracle = combine_ensemble(nets, nn::Scaler::fit(xr), nn::Scaler::fit(yr));
  // The data's range and statistics over every row, as a single network records them.
  r.oracle.input_lo = x.rowwise().minCoeff();
  r.oracle.input_hi = x.rowwise().maxCoeff();
  set_data_statistics(r.oracle, x, y);
  Metrics& m = r.oracle.metrics;
  std::vector<double> r2;
  regression_metrics(r.oracle.predict(xr), yr, m.train_rmse, r2);
  m.n_test = static_cast<std::int64_t>(test.size());
  if (!test.empty()) regression_metrics(r.oracle.predict(columns(x, test)), columns(y, test), m.test_rmse, m.test_r2);
  const Index n_out = y.rows();
  r.member_val_rmse.assign(static_cast<std::size_t>(n_out), 0.0);
  r.member_val_r2.assign(static_cast<std::size_t>(n_out), 0.0);
  for (const TrainResult& t : r.members)
    for (std::size_t i = 0; i < r.member_val_rmse.size(); ++i) {
      r.member_val_rmse[i] += t.oracle.metrics.val_rmse[i] / static_cast<double>(members);
      r.member_val_r2[i] += t.oracle.metrics.val_r2[i] / static_cast<double>(members);
    }
  // Out of bag: every row some member held out, predicted by the mean of those members only
  // (no member that predicts a row has trained on it).
  const MatrixD each = member_predictions(r.oracle, x);
  MatrixD sum = MatrixD::Zero(n_out, x.cols());
  VectorD count = VectorD::Zero(x.cols());
  for (Index k = 0; k < members; ++k)
    for (const Index j : r.members[static_cast<std::size_t>(k)].val_rows) {
      sum.col(j) += each.block(k * n_out, j, n_out, 1);
      count[j] += 1;
    }
  std::vector<Index> oob;
  for (Index j = 0; j < x.cols(); ++j)
    if (count[j] > 0) oob.push_back(j);
  MatrixD pred(n_out, static_cast<Index>(oob.size())), truth(n_out, static_cast<Index>(oob.size()));
  for (std::size_t c = 0; c < oob.size(); ++c) {
    pred.col(static_cast<Index>(c)) = sum.col(oob[c]) / count[oob[c]];
    truth.col(static_cast<Index>(c)) = y.col(oob[c]);
  }
  regression_metrics(pred, truth, m.val_rmse, m.val_r2);
  m.n_train = xr.cols();
  m.n_val = static_cast<Index>(oob.size());
  m.epochs = r.members.front().oracle.metrics.epochs;
  const MatrixD spread = member_spread(r.oracle, x);
  for (Index i = 0; i < n_out; ++i)
    r.data_spread.push_back(spread.row(i).mean());
  return r;
}

nn::Mlp<double> members_net(const Oracle& o) {
  const std::size_t L = o.net.n_layers() - 1;
  const Index K = o.ensemble.members, m = o.n_out(), h = o.net.layer(L).in / K;
  std::vector<nn::LayerSpec> specs = o.net.layers();
  specs.back().out = K * m;
  nn::Mlp<double> net(specs);
  for (std::size_t i = 0; i < L; ++i) {
    net.weight(i) = o.net.weight(i);
    net.bias(i) = o.net.bias(i);
  }
  net.weight(L).setZero();
  for (Index k = 0; k < K; ++k) {
    const auto ku = static_cast<std::size_t>(k);
    net.weight(L).block(k * m, k * h, m, h) = o.ensemble.weight[ku];
    net.bias(L).segment(k * m, m) = o.ensemble.bias[ku];
  }
  return net;
}

MatrixD member_predictions(const Oracle& o, const MatrixD& x) {
  const nn::Mlp<double> net = members_net(o);
  MatrixD u = nn::predict(net, o.input_scaler.transform(x));
  const Index m = o.n_out();
  for (Index k = 0; k < o.ensemble.members; ++k)
    u.middleRows(k * m, m) = o.output_scaler.inverse(u.middleRows(k * m, m));
  return u;
}

MatrixD member_spread(const Oracle& o, const MatrixD& x) {
  const MatrixD y = member_predictions(o, x);
  const Index K = o.ensemble.members, m = o.n_out();
  MatrixD spread(m, x.cols());
  for (Index j = 0; j < x.cols(); ++j) {
    const bool finite = x.col(j).allFinite() && y.col(j).allFinite();
    for (Index r = 0; r < m; ++r) {
      double mean = 0;
      for (Index k = 0; k < K; ++k)
        mean += y(k * m + r, j);
      mean /= static_cast<double>(K);
      double var = 0;
      for (Index k = 0; k < K; ++k)
        var += (y(k * m + r, j) - mean) * (y(k * m + r, j) - mean);
      spread(r, j) = finite ? std::sqrt(var / static_cast<double>(K)) : std::numeric_limits<double>::quiet_NaN();
    }
  }
  return spread;
}

void validate_ensemble(const Oracle& o, const std::string& source) {
  const EnsembleLayers& e = o.ensemble;
  const Index K = e.members;
  const std::size_t n_layers = o.net.n_layers();
  const std::string where = source + ": /oracle/ensemble";
  if (K < 1) throw IoError(fmt::format("{}: members = {}, expected at least 1", where, K));
  if (n_layers < 2) throw IoError(fmt::format("{}: an ensemble needs at least one hidden layer", where));
  const std::size_t L = n_layers - 1;
  if (o.net.layer(L).act != nn::Activation::identity)
    throw IoError(fmt::format("{}: the last layer's activation must be identity (it averages the members)", where));
  for (std::size_t i = 0; i < L; ++i)
    if (o.net.layer(i).out % K != 0)
      throw IoError(fmt::format("{}: hidden layer {} has {} units, not a multiple of members = {}", where, i,
                                o.net.layer(i).out, K));
  const Index m = o.n_out(), h = member_width(o, L - 1);
  if (static_cast<Index>(e.weight.size()) != K || static_cast<Index>(e.bias.size()) != K)
    throw IoError(fmt::format("{}: expected weight and bias for {} members", where, K));
  double scale = 1.0;
  for (Index k = 0; k < K; ++k) {
    const auto ku = static_cast<std::size_t>(k);
    if (e.weight[ku].rows() != m || e.weight[ku].cols() != h)
      throw IoError(fmt::format("{}: weight must be [{}, {}, {}] (members, outputs, last hidden units / members)",
                                where, K, m, h));
    if (e.bias[ku].size() != m) throw IoError(fmt::format("{}: bias must be [{}, {}] (members, outputs)", where, K, m));
    if (!e.weight[ku].allFinite() || !e.bias[ku].allFinite())
      throw IoError(fmt::format("{}: member {} has a non-finite weight or bias", where, k));
    scale = std::max({scale, e.weight[ku].cwiseAbs().maxCoeff(), e.bias[ku].cwiseAbs().maxCoeff()});
  }
  // The hidden layers must not mix members (later ones block-diagonal) ...
  for (std::size_t i = 1; i < L; ++i) {
    const Index hi = member_width(o, i), hp = member_width(o, i - 1);
    MatrixD w = o.net.weight(i);
    for (Index k = 0; k < K; ++k)
      w.block(k * hi, k * hp, hi, hp).setZero();
    if (w.cwiseAbs().maxCoeff() != 0)
      throw IoError(
          fmt::format("{}: hidden layer {} connects units of different members (expected block-diagonal)", where, i));
  }
  // ... and the last layer must be the members' mean (to rounding).
  MatrixD w = MatrixD::Zero(m, K * h);
  VectorD b = VectorD::Zero(m);
  for (Index k = 0; k < K; ++k) {
    const auto ku = static_cast<std::size_t>(k);
    w.middleCols(k * h, h) = e.weight[ku] / static_cast<double>(K);
    b += e.bias[ku] / static_cast<double>(K);
  }
  const double dw = (w - MatrixD(o.net.weight(L))).cwiseAbs().maxCoeff();
  const double db = (b - VectorD(o.net.bias(L))).cwiseAbs().maxCoeff();
  if (dw > 1e-9 * scale || db > 1e-9 * scale)
    throw IoError(
        fmt::format("{}: the last layer of /oracle/layers is not the mean of the members' last layers "
                    "(largest difference {:.3g})",
                    where, std::max(dw, db)));
}

}  // namespace invsweep::oracle
