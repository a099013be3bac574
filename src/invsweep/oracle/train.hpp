#pragma once
// Training an oracle from data: standardisation, seeded train/validation split, mini-batch
// Adam, learning-rate decay on plateau, early stopping with the best weights kept.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "invsweep/oracle/oracle.hpp"

namespace invsweep::oracle {

struct TrainOptions {
  std::vector<Index> hidden{64, 64};
  nn::Activation activation = nn::Activation::tanh;
  int epochs = 2000;          ///< maximum number of epochs
  Index batch = 64;           ///< mini-batch size
  double lr = 3e-3;           ///< initial Adam learning rate
  std::uint64_t seed = 0;     ///< split, initialisation and shuffling
  double val_fraction = 0.1;  ///< share of rows held out for validation, in [0.01, 0.5]
  int lr_patience = 40;       ///< epochs without improvement before the rate is halved
  double lr_factor = 0.5;
  double min_lr = 1e-6;  ///< training stops once the rate falls below this
  int patience = 200;    ///< epochs without improvement before stopping
  bool float64 = false;  ///< train in double precision (default: float32, see docs)
};

/// One line of progress, after each epoch (losses are MSE in standardised units).
struct EpochInfo {
  int epoch = 0, max_epochs = 0;
  double train_loss = 0, val_loss = 0, best_val_loss = 0, lr = 0, seconds = 0;
};
using ProgressFn = std::function<void(const EpochInfo&)>;

struct TrainResult {
  Oracle oracle;  ///< with metrics filled in (validation RMSE and R² per output)
  int epochs_run = 0;
  int best_epoch = 0;
  double seconds = 0;
  std::vector<Index> val_rows;  ///< the columns of x held out for validation (ensembles' out-of-bag metrics)
};

/// Trains on x [n_in, N], y [n_out, N] (one sample per column). `source` names the data for
/// errors: a constant input or output column throws DataError; too few rows for the split
/// throws DataError.
TrainResult train_oracle(const MatrixD& x, const MatrixD& y, const std::vector<std::string>& input_names,
                         const std::vector<std::string>& output_names, const TrainOptions& opt,
                         const std::string& source, const ProgressFn& progress = {});

/// Records the data's input mean and covariance (divisor N − 1) and output range in `o`
/// (x [n_in, N], y [n_out, N]): /oracle/input_stats and /oracle/output_bounds.
void set_data_statistics(Oracle& o, const MatrixD& x, const MatrixD& y);

/// RMSE and R² of `pred` against `truth` ([n_out, N]), per output.
void regression_metrics(const MatrixD& pred, const MatrixD& truth, std::vector<double>& rmse, std::vector<double>& r2);

}  // namespace invsweep::oracle
