#include "invsweep/inverse/uncertainty.hpp"

namespace invsweep::inverse {

double uncertainty_grad(const MatrixMap<float>& um, Index members, double lambda, MatrixMap<float> mean,
                        MatrixMap<float> grad_um) {
  const Index m = mean.rows(), n = um.cols();
  const float inv_k = 1.0f / static_cast<float>(members);
  // d/du_k of (1/K) Σ_k (u_k − ū)² is 2(u_k − ū)/K: the terms through ū sum to zero.
  const float c = static_cast<float>(lambda) * 2.0f * inv_k / static_cast<float>(n * m);
  mean = um.topRows(m);
  for (Index k = 1; k < members; ++k)
    mean += um.middleRows(k * m, m);
  mean *= inv_k;
  double var = 0;
  for (Index k = 0; k < members; ++k) {
    grad_um.middleRows(k * m, m) = um.middleRows(k * m, m) - mean;
    var += static_cast<double>(grad_um.middleRows(k * m, m).squaredNorm());
  }
  grad_um *= c;
  return lambda * var / static_cast<double>(members * n * m);
}

void uncertainty_values(const MatrixMap<double>& um, Index members, double lambda, MatrixD& mean, VectorD& values) {
  const Index m = um.rows() / members;
  mean = um.topRows(m);
  for (Index k = 1; k < members; ++k)
    mean += um.middleRows(k * m, m);
  mean /= static_cast<double>(members);
  for (Index j = 0; j < um.cols(); ++j) {
    double var = 0;
    for (Index k = 0; k < members; ++k)
      var += (um.col(j).segment(k * m, m) - mean.col(j)).squaredNorm();
    values[j] += lambda * var / static_cast<double>(members * m);
  }
}

}  // namespace invsweep::inverse
