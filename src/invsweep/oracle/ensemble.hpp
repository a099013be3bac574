#pragma once
// Oracle ensembles (docs/FILE_FORMATS.md, "Oracle ensembles").
//
// K members of one architecture are stored as ONE ordinary MLP whose output is their mean:
// member k owns a contiguous block of h_i/K units in every hidden layer i (the first layer
// stacks the members' first layers, later hidden layers are block-diagonal) and the last layer
// averages the members' last layers. Every reader of an oracle (predict, certification, the
// numpy evaluator, the solvers) therefore evaluates the ensemble mean unchanged. The members'
// own last layers are kept in `Oracle::ensemble` (/oracle/ensemble) so that each member's output
// can be recovered: its block of the last hidden activations through its own last layer.
// All members share the input and output scalers.
#include <string>
#include <vector>

#include "invsweep/nn/mlp.hpp"
#include "invsweep/nn/scaler.hpp"
#include "invsweep/oracle/oracle.hpp"
#include "invsweep/oracle/train.hpp"

namespace invsweep::oracle {

/// Combines K ≥ 1 trained members into one ensemble oracle whose scalers are `in` and `out`
/// (each member was trained with its own scalers: they are folded exactly into its first and
/// last layers). The members must have the same names and layer shapes and an identity last
/// activation. Names, input bounds and data statistics are taken from member 0; metrics are
/// left empty (the caller fills them). Throws ConfigError naming what differs.
Oracle combine_ensemble(const std::vector<Oracle>& members, const nn::Scaler& in, const nn::Scaler& out);

struct EnsembleTrainResult {
  Oracle oracle;                                       ///< the combined ensemble, metrics filled in (below)
  std::vector<TrainResult> members;                    ///< each member as trained (its own scalers and metrics)
  std::vector<double> data_spread;                     ///< per output: mean over the data rows of member_spread
  std::vector<double> member_val_rmse, member_val_r2;  ///< per output: the members' mean validation fit (own splits)
  double seconds = 0;
};

/// Trains K ≥ 1 members with train_oracle, member k with seed `opt.seed + k` (so its own
/// train/validation split, initialisation and shuffling), and combines them with scalers
/// fitted on all of x, y. The ensemble's metrics: train_rmse over all rows (n_train); val_rmse,
/// val_r2 out of bag — over the n_val rows that some member held out, each predicted by the
/// mean of the members that held it out; epochs of member 0.
/// `progress` receives (member, epoch info). Errors as train_oracle.
EnsembleTrainResult train_ensemble(const MatrixD& x, const MatrixD& y, const std::vector<std::string>& input_names,
                                   const std::vector<std::string>& output_names, const TrainOptions& opt, Index members,
                                   const std::string& source,
                                   const std::function<void(Index, const EpochInfo&)>& progress = {});

/// The members' view of an ensemble: its network with the last layer replaced by the K members'
/// last layers stacked, so that the output is [K·n_out, batch] in scaled output units, member k
/// at rows [k·n_out, (k+1)·n_out). Requires o.is_ensemble().
nn::Mlp<double> members_net(const Oracle& o);

/// Each member's prediction for x [n_in, batch] in the user's units: [K·n_out, batch], member k
/// at rows [k·n_out, (k+1)·n_out). Requires o.is_ensemble().
MatrixD member_predictions(const Oracle& o, const MatrixD& x);

/// The members' spread at x [n_in, batch]: the standard deviation over members (divisor K, as
/// numpy.std) of each output in the user's units, [n_out, batch]; NaN in a column whose x or
/// any prediction is not finite. Requires o.is_ensemble().
MatrixD member_spread(const Oracle& o, const MatrixD& x);

/// Checks the ensemble invariants of `o` (called by Oracle::validate when o.is_ensemble()):
/// shapes, finite numbers, hidden layers block-diagonal, the last layer the members' mean, an
/// identity last activation. Throws IoError prefixed by `source`.
void validate_ensemble(const Oracle& o, const std::string& source);

}  // namespace invsweep::oracle
