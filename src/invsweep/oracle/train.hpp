#pragma once
// Training an oracle from data: standardisation, a seeded test/validation/training split,
// mini-batch Adam with decoupled weight decay, learning-rate decay on plateau, early stopping
// with the best weights kept; optional K-fold cross-validation.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "invsweep/oracle/oracle.hpp"

namespace invsweep::oracle {

struct TrainOptions {
  std::vector<Index> hidden{64, 64};
  nn::Activation activation = nn::Activation::tanh;
  int epochs = 2000;           ///< maximum number of epochs
  Index batch = 64;            ///< mini-batch size
  double lr = 3e-3;            ///< initial Adam learning rate
  std::uint64_t seed = 0;      ///< split, initialisation and shuffling
  double test_fraction = 0.1;  ///< share of rows held out for testing only: 0 or [0.01, 0.5]
  double val_fraction = 0.1;   ///< share for early stopping: 0 (train `epochs` epochs) or [0.01, 0.5]
  /// Decoupled weight decay λ (AdamW): after each step the weights (not the biases) are
  /// multiplied by 1 − lr·λ. Unset: automatic_weight_decay().
  std::optional<double> weight_decay;
  int cv_folds = 0;      ///< K-fold cross-validation of the non-test rows (0 = none, else ≥ 2)
  int lr_patience = 40;  ///< epochs without improvement before the rate is halved
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
  Oracle oracle;  ///< with metrics filled in (test, validation, training and CV figures)
  int epochs_run = 0;
  int best_epoch = 0;
  double weight_decay = 0;  ///< the λ used (given, or automatic)
  double seconds = 0;
  std::vector<Index> val_rows;  ///< the columns of x held out for validation (ensembles' out-of-bag metrics)
};

/// Trains on x [n_in, N], y [n_out, N] (one sample per column). A seeded permutation puts the
/// first round(test_fraction·N) rows into the test set, the next round(val_fraction·N) into the
/// validation set (early stopping), the rest into training; the test rows are used only for
/// the test metrics. With cv_folds = K the non-test rows are cut into K folds and K more models
/// are trained (each with its own validation rows from the other folds) for the held-out R²;
/// the returned oracle is the one trained on the usual split. `source` names the data for
/// errors: a constant input or output column, or too few rows for the split or the folds,
/// throws DataError; options out of range throw ConfigError naming the flag.
TrainResult train_oracle(const MatrixD& x, const MatrixD& y, const std::vector<std::string>& input_names,
                         const std::vector<std::string>& output_names, const TrainOptions& opt,
                         const std::string& source, const ProgressFn& progress = {});

/// Number of weights and biases of an MLP n_in → hidden… → n_out.
Index network_parameters(Index n_in, const std::vector<Index>& hidden, Index n_out);

/// The default weight decay: 1 when the training values (rows × outputs) are fewer than the
/// network's parameters — the data cannot determine the weights, and the decay picks the
/// smallest ones that fit (measured on the diabetes data, docs/ORACLES.md) — else 0, so that
/// well-determined fits keep their full precision.
double automatic_weight_decay(std::int64_t training_values, Index n_params);

/// The test rows train_oracle() holds out of n rows with these options (its seeded split):
/// an ensemble holds out the same rows for all its members.
std::vector<Index> test_rows(Index n, const TrainOptions& opt, const std::string& source);

/// Records the data's input mean and covariance (divisor N − 1) and output range in `o`
/// (x [n_in, N], y [n_out, N]): /oracle/input_stats and /oracle/output_bounds.
void set_data_statistics(Oracle& o, const MatrixD& x, const MatrixD& y);

/// Warnings about a trained oracle's honesty, each one sentence naming its numbers: fewer
/// training values (rows × outputs) than network parameters, fewer than 30 validation rows,
/// an output whose test R² (validation R² without test rows) is below 0.5.
std::vector<std::string> training_warnings(const Oracle& o);

/// RMSE and R² of `pred` against `truth` ([n_out, N]), per output.
void regression_metrics(const MatrixD& pred, const MatrixD& truth, std::vector<double>& rmse, std::vector<double>& r2);

}  // namespace invsweep::oracle
