#include "invsweep/certify/local_search.hpp"

#include <Eigen/Cholesky>
#include <algorithm>

namespace invsweep::certify {

PointEvaluator::PointEvaluator(const oracle::Oracle& oracle)
    : o_(oracle), ws_(oracle.net, std::max<Index>(1, oracle.n_out())) {
  ws_.set_batch(1);
}

void PointEvaluator::forward(const VectorD& x) {
  ws_.set_batch(1);
  // The same operations as Scaler::transform / Scaler::inverse.
  ws_.input().col(0) = ((x - o_.input_scaler.mean).array() / o_.input_scaler.scale.array()).matrix();
  nn::forward(o_.net, ws_);
}

void PointEvaluator::outputs(const VectorD& x, VectorD& y) {
  forward(x);
  y = ((ws_.output().col(0).array() * o_.output_scaler.scale.array()).matrix() + o_.output_scaler.mean);
}

double PointEvaluator::linear(const VectorD& c, const VectorD& x, VectorD* grad) {
  outputs(x, y_);
  const double v = c.dot(y_);
  if (grad) {
    ws_.grad_output().col(0) = (c.array() * o_.output_scaler.scale.array()).matrix();
    nn::backward(o_.net, ws_, nullptr, true);
    *grad = (ws_.grad_input().col(0).array() / o_.input_scaler.scale.array()).matrix();
  }
  return v;
}

void PointEvaluator::jacobian(MatrixD& jac) {
  const Index n_out = o_.n_out(), n_in = o_.n_in();
  jac.resize(n_out, n_in);
  // One backward pass per output over copies of the forward state in a batch of n_out.
  const VectorD u = ws_.input().col(0);
  ws_.set_batch(n_out);
  for (Index j = 0; j < n_out; ++j)
    ws_.input().col(j) = u;
  nn::forward(o_.net, ws_);
  ws_.grad_output().setZero();
  for (Index j = 0; j < n_out; ++j)
    ws_.grad_output()(j, j) = o_.output_scaler.scale[j];
  nn::backward(o_.net, ws_, nullptr, true);
  for (Index j = 0; j < n_out; ++j)
    jac.row(j) = (ws_.grad_input().col(j).array() / o_.input_scaler.scale.array()).matrix().transpose();
  ws_.set_batch(1);
}

double PointEvaluator::ascend(const VectorD& c, const Box& box, VectorD& x, int steps) {
  const VectorD w = box.hi - box.lo;
  double fx = linear(c, x, &grad_);
  double alpha = -1;
  int accepted = 0;
  for (int it = 0; it < 4 * steps && accepted < steps; ++it) {
    step_ = (grad_.array() * w.array().square()).matrix();
    const double scale = (grad_.array().abs() * w.array()).maxCoeff();
    if (!(scale > 0) || !std::isfinite(scale)) break;
    if (alpha < 0) alpha = 0.25 / scale;
    trial_ = (x + alpha * step_).cwiseMax(box.lo).cwiseMin(box.hi);
    const double ft = linear(c, trial_, nullptr);
    if (ft > fx) {
      x = trial_;
      fx = linear(c, x, &grad_);
      alpha *= 2;
      ++accepted;
    } else {
      alpha *= 0.25;
      if (alpha * scale < 1e-12) break;
    }
  }
  return fx;
}

double PointEvaluator::solve(const VectorD& lo, const VectorD& hi, const VectorD& scale, const Box& box, VectorD& x,
                             int steps) {
  const Index n_out = o_.n_out();
  const auto residual = [&](const VectorD& at, VectorD& r) {
    outputs(at, y_);
    r.resize(n_out);
    for (Index j = 0; j < n_out; ++j) {
      const double d = y_[j] < lo[j] ? y_[j] - lo[j] : (y_[j] > hi[j] ? y_[j] - hi[j] : 0.0);
      r[j] = d / scale[j];
    }
  };
  residual(x, r_);
  double cost = r_.squaredNorm();
  double lambda = 1e-3;
  const VectorD w = box.hi - box.lo;
  for (int it = 0; it < steps && cost > 0; ++it) {
    residual(x, r_);
    jacobian(jac_);
    for (Index j = 0; j < n_out; ++j)
      jac_.row(j) /= scale[j];
    jac_ = (jac_.array().rowwise() * w.transpose().array()).matrix();  // in units of box widths
    const MatrixD jtj = jac_.transpose() * jac_;
    const VectorD g = jac_.transpose() * r_;
    bool improved = false;
    for (int tries = 0; tries < 8 && !improved; ++tries) {
      MatrixD a = jtj;
      a.diagonal().array() += lambda * (1.0 + jtj.diagonal().array());
      step_ = -a.ldlt().solve(g);
      trial_ = (x + (step_.array() * w.array()).matrix()).cwiseMax(box.lo).cwiseMin(box.hi);
      residual(trial_, r_trial_);
      const double ct = r_trial_.squaredNorm();
      if (std::isfinite(ct) && ct < cost) {
        x = trial_;
        cost = ct;
        lambda = std::max(lambda * 0.3, 1e-12);
        improved = true;
      } else {
        lambda *= 10;
      }
    }
    if (!improved) break;
  }
  residual(x, r_);
  double worst = 0;
  for (Index j = 0; j < n_out; ++j)
    worst = std::max(worst, std::abs(r_[j]) * scale[j]);
  return worst;
}

}  // namespace invsweep::certify
