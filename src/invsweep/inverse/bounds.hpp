#pragma once
// Range constraints on the free features, in scaled units (docs/FILE_FORMATS.md, constraint settings).
//
//   sigmoid  s = lo + (hi − lo)·σ(v): always inside (one-sided: lo + softplus(v), hi − softplus(−v))
//   paper    on original units x: x/c1 where x ≥ upper, x·c2 where x ≤ lower, x between
//            (the constraint function of the generator paper), with its stopping rule
//   penalty  s = v, plus λ·mean Σ relu(lo − s) + relu(s − hi)
// Unbounded features pass through (s = v).
#include "invsweep/inverse/problem.hpp"

namespace invsweep::inverse {

class BoundMap {
 public:
  explicit BoundMap(const Problem& p);
  /// s = map(v), column-wise over [n_free, batch].
  void apply(const MatrixF& v, MatrixF& s) const;
  /// g ← g ⊙ ds/dv (turns dL/ds into dL/dv).
  void backprop(const MatrixF& v, MatrixF& g) const;
  /// Penalty method: adds λ·mean violation to the returned loss and its gradient into g.
  double penalty(const MatrixF& s, MatrixF& g) const;
  /// Penalty method: adds λ·Σ_k violation_k of each column of s to values [N] (per vector;
  /// other methods add nothing).
  void penalty_values(const MatrixF& s, VectorD& values) const;
  /// True when every value of s is within its bounds (tolerance in scaled units).
  bool inside(const MatrixF& s, double tol = 1e-6) const;
  /// Clamps s into the bounds.
  void project(MatrixF& s) const;
  /// A v with apply(v) = s, for s strictly inside (sigmoid method; identity otherwise).
  void invert(const MatrixF& s, MatrixF& v) const;
  BoundMethod method() const { return method_; }

 private:
  BoundMethod method_;
  VectorF lo_, hi_;
  std::vector<int> kind_;  // per free feature: 0 none, 1 both, 2 lower only, 3 upper only
  VectorF mean_, scale_;   // for the paper method (original units)
  float c1_, c2_, lambda_;
};

}  // namespace invsweep::inverse
