#include "invsweep/nn/scaler.hpp"

namespace invsweep::nn {

Scaler Scaler::identity(Index n) {
  return {VectorD::Zero(n), VectorD::Ones(n)};
}

Scaler Scaler::fit(const MatrixD& data) {
  Scaler s;
  const auto n = static_cast<double>(data.cols());
  s.mean = data.rowwise().sum() / n;
  s.scale = ((data.colwise() - s.mean).array().square().rowwise().sum() / n).sqrt().matrix();
  return s;
}

MatrixD Scaler::transform(const MatrixD& x) const {
  return ((x.colwise() - mean).array().colwise() / scale.array()).matrix();
}

MatrixD Scaler::inverse(const MatrixD& u) const {
  return ((u.array().colwise() * scale.array()).matrix().colwise() + mean);
}

}  // namespace invsweep::nn
