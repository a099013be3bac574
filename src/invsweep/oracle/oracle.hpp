#pragma once
// The oracle: a trained forward model x → y, frozen during inversion.
//
//   oracle(x) = net((x - in.mean) / in.scale) * out.scale + out.mean
//
// with `net` an MLP in double precision, exactly as stored in an oracle file (docs/FILE_FORMATS.md,
// "Oracle file"). Inputs and outputs are in the user's units; x is [n_in, batch].
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "invsweep/core/eigen.hpp"
#include "invsweep/nn/mlp.hpp"
#include "invsweep/nn/scaler.hpp"

namespace invsweep::oracle {

/// Fit quality recorded by `train-oracle` (optional in files made elsewhere).
/// Every vector is per output, in output units; a vector is empty when its rows do not exist
/// (no validation rows with --val-fraction 0, no test rows with --test-fraction 0, no
/// cross-validation without --cv).
struct Metrics {
  std::vector<double> train_rmse, val_rmse, val_r2;
  std::vector<double> test_rmse, test_r2;    ///< on rows neither training nor early stopping saw
  std::vector<double> cv_r2_mean, cv_r2_sd;  ///< K-fold held-out R² (sd with divisor K − 1)
  std::int64_t n_train = 0, n_val = 0, n_test = 0, epochs = 0, cv_folds = 0;
  bool empty() const { return train_rmse.empty(); }
};

/// An ensemble's members' own last layers (/oracle/ensemble, oracle/ensemble.hpp); members = 0
/// when the oracle is not an ensemble. Member k owns units [k·h, (k+1)·h) of every hidden
/// layer (h = last hidden width / K); its output in scaled output units is
/// weight[k] · (its block of the last hidden activations) + bias[k].
struct EnsembleLayers {
  Index members = 0;            ///< K
  std::vector<MatrixD> weight;  ///< K × [n_out, h]
  std::vector<VectorD> bias;    ///< K × [n_out]
};

struct Oracle {
  std::vector<std::string> input_names, output_names;
  nn::Mlp<double> net;
  nn::Scaler input_scaler, output_scaler;
  VectorD input_lo, input_hi;  ///< range of the training data, per input
  /// Optional (empty when the file has none): the training inputs' mean [n_in] and covariance
  /// [n_in, n_in] (/oracle/input_stats; plausibility, Mahalanobis distances), and the range of
  /// the training outputs [n_out] (/oracle/output_bounds; extrapolation warnings).
  VectorD input_mean;
  MatrixD input_cov;
  VectorD output_lo, output_hi;
  /// The largest Mahalanobis distance of a training row (the data's envelope; NaN = unknown).
  double input_max_distance = std::numeric_limits<double>::quiet_NaN();
  Metrics metrics;
  EnsembleLayers ensemble;

  bool is_ensemble() const { return ensemble.members > 0; }
  bool has_input_stats() const { return input_mean.size() > 0; }
  bool has_output_bounds() const { return output_lo.size() > 0; }

  Index n_in() const { return static_cast<Index>(input_names.size()); }
  Index n_out() const { return static_cast<Index>(output_names.size()); }

  /// oracle(x) for x [n_in, batch] in input units; returns [n_out, batch] in output units.
  MatrixD predict(const MatrixD& x) const;

  /// Index of a named input / output, or -1.
  Index input_index(std::string_view name) const;
  Index output_index(std::string_view name) const;

  /// Checks every invariant of the file contract; throws IoError prefixed by `source`:
  /// names present and unique, layers chaining from n_in to n_out, finite numbers, scales
  /// > 0, lo ≤ hi.
  void validate(const std::string& source) const;
};

/// The inverse of a covariance matrix, or its pseudo-inverse when the data are (nearly)
/// collinear (eigenvalues below 1e-12 of the largest count as zero: distance along a
/// direction the data never varied in is not counted).
MatrixD precision_matrix(const MatrixD& cov);

}  // namespace invsweep::oracle
