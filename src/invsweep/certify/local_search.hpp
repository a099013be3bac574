#pragma once
// Verified points for the branch and bound: the oracle evaluated in double at given inputs,
// and short local searches (projected gradient ascent, projected Levenberg–Marquardt) that
// look for good points inside a box. These give *feasible* values (lower bounds of a
// maximum, witnesses of reachability), never bounds; nothing here is needed for soundness.
#include "invsweep/certify/rounding.hpp"
#include "invsweep/nn/mlp.hpp"
#include "invsweep/oracle/oracle.hpp"

namespace invsweep::certify {

/// Evaluates one oracle at single points without allocating (buffers sized once). Values
/// equal oracle.predict() up to the order of floating-point operations.
class PointEvaluator {
 public:
  explicit PointEvaluator(const oracle::Oracle& oracle);

  /// y = oracle(x), x [n_in] in input units, y [n_out] in output units.
  void outputs(const VectorD& x, VectorD& y);
  /// c·oracle(x); with `grad` not null also d(c·oracle)/dx [n_in] (per input unit).
  double linear(const VectorD& c, const VectorD& x, VectorD* grad = nullptr);
  /// Jacobian dy/dx [n_out, n_in] at the point of the last outputs()/linear() call.
  void jacobian(MatrixD& jac);

  /// Projected gradient ascent of c·oracle(x) from x inside `box` (fixed features stay),
  /// with a diagonal preconditioner (box widths) and backtracking; at most `steps`
  /// accepted steps. x is replaced by the best point found; returns its value.
  double ascend(const VectorD& c, const Box& box, VectorD& x, int steps);

  /// Projected Levenberg–Marquardt on the residuals r_j = dist(oracle(x)_j, [lo_j, hi_j]) /
  /// max(1, scale_j) from x inside `box`; returns the largest |r_j|·max(1, scale_j) (the
  /// worst distance) at the best point, which replaces x.
  double solve(const VectorD& lo, const VectorD& hi, const VectorD& scale, const Box& box, VectorD& x, int steps);

 private:
  void forward(const VectorD& x);
  const oracle::Oracle& o_;
  nn::MlpWorkspace<double> ws_;
  VectorD y_, trial_, grad_, step_, r_, r_trial_;
  MatrixD jac_;
};

}  // namespace invsweep::certify
