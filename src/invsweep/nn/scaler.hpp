#pragma once
// Affine standardisation of features: scaled = (x - mean) / scale.
#include "invsweep/core/eigen.hpp"

namespace invsweep::nn {

struct Scaler {
  VectorD mean;
  VectorD scale;  ///< > 0

  /// Identity scaler of size n.
  static Scaler identity(Index n);
  /// Mean and population standard deviation of each row of `data` [n_features, n_rows].
  /// A row with zero spread gets scale 0: callers reject it (a constant column).
  static Scaler fit(const MatrixD& data);

  Index size() const { return mean.size(); }
  /// (x - mean) / scale for x [n, batch].
  MatrixD transform(const MatrixD& x) const;
  /// u * scale + mean for u [n, batch].
  MatrixD inverse(const MatrixD& u) const;
};

}  // namespace invsweep::nn
