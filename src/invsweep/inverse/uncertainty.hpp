#pragma once
// The `[regularize] uncertainty` term on an ensemble oracle (oracle/ensemble.hpp): λ times the
// mean over outputs of the members' variance (divisor K) at each vector, in scaled output units.
// Both functions read the members' outputs um [K·n_out, N] (member k at rows [k·n_out,
// (k+1)·n_out)), as the members' view of the oracle gives them, and write the ensemble mean
// over members [n_out, N], on which the objective is computed.
#include "invsweep/core/eigen.hpp"

namespace invsweep::inverse {

/// For the gradient solvers (float32): writes the mean into `mean` and dP/dum of the batch
/// mean P = λ/N Σ_j mean_o Var_k(um) into `grad_um` (overwritten), and returns P.
double uncertainty_grad(const MatrixMap<float>& um, Index members, double lambda, MatrixMap<float> mean,
                        MatrixMap<float> grad_um);

/// For the value-only solvers (float64): writes the mean into `mean` and adds λ·mean_o Var_k(um)
/// of each vector to `values` [N].
void uncertainty_values(const MatrixMap<double>& um, Index members, double lambda, MatrixD& mean, VectorD& values);

}  // namespace invsweep::inverse
