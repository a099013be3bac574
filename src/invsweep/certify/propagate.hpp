#pragma once
// Sound bounds of an oracle's outputs over a box of inputs.
//
//   oracle(x) = net((x − in.mean) / in.scale) · out.scale + out.mean     (oracle.hpp)
//
// Boxes are in the oracle's input units (a fixed feature has lo == hi); bounds are in output
// units and hold for the exact real-valued function, every floating-point error included
// (rounding.hpp). Two methods:
//   - ibp:   interval arithmetic layer by layer;
//   - crown: linear-relaxation bound propagation. Each pre-activation of layers ≥ 1 is
//            bounded by back-substituting per-neuron linear lower/upper bounds
//            (activation_bounds.hpp) down to the input box, and intersected with its IBP
//            bound; outputs and linear objectives c·y are bounded the same way, c being
//            carried through the back-substitution (tighter than combining per-output
//            intervals).
// Infinite or overflowing boxes give infinite bounds, never NaN.
#include "invsweep/certify/rounding.hpp"
#include "invsweep/oracle/oracle.hpp"

namespace invsweep::certify {

enum class Method { ibp, crown };

/// Per-output bounds: lo[j] ≤ oracle(x)[j] ≤ hi[j] for every x in the box. [n_out]
struct Enclosure {
  VectorD lo, hi;
};

/// Reusable state for bounding one oracle over many boxes (the branch and bound's inner
/// loop): buffers are sized once. Keeps a reference to the oracle. Not thread-safe.
class Bounder {
 public:
  explicit Bounder(const oracle::Oracle& oracle);

  const oracle::Oracle& oracle() const { return o_; }

  /// Per-output bounds over `box` (size n_in, lo ≤ hi).
  Enclosure outputs(const Box& box, Method method);

  /// An upper bound of c·oracle(x) over the box (c [n_out]). When `slope` is not null it
  /// receives the input-space slope [n_in] of the final linear upper bound (per input unit;
  /// zero for ibp), which the branch and bound uses to choose a split. Allocates nothing
  /// after the first call (when `slope` has size n_in).
  double upper_linear(const VectorD& c, const Box& box, Method method, VectorD* slope = nullptr);
  /// A lower bound of c·oracle(x) over the box.
  double lower_linear(const VectorD& c, const Box& box, Method method) { return -upper_linear(-c, box, method); }

  /// After outputs()/upper_linear(): bounds of layer i's pre-activation / post-activation.
  const VectorD& pre_lo(std::size_t i) const { return zl_[i]; }
  const VectorD& pre_hi(std::size_t i) const { return zu_[i]; }

 private:
  void forward_bounds(const Box& box, Method method);
  /// Output bounds from the last layer's interval bounds (after forward_bounds).
  void last_layer_outputs(Enclosure& e) const;
  /// The m rows in lam_buf_ ([m, n_layer_out], column-major) over h_layer with constants
  /// cst_[0, m) (claims f ≥ Λ·h + c) are carried down to the scaled input; lower bounds in
  /// out_[0, m), the final input-space rows in lam_buf_ ([m, n_in]). Allocation-free.
  void backsub(std::size_t layer, Index m);

  const oracle::Oracle& o_;
  std::size_t n_layers_;
  std::vector<MatrixD> wp_, wn_, wabs_;
  std::vector<VectorD> babs_;
  VectorD inv_scale_;
  // Per box: scaled input box, per-layer pre-/post-activation bounds and relaxations.
  VectorD xl_, xu_, xmag_;
  std::vector<VectorD> zl_, zu_, hl_, hu_, hmag_, v_, al_, dl_, au_, du_, dmag_;
  std::vector<double> lam_buf_, lamz_buf_;
  VectorD tmp_, cst_, out_;
  Enclosure ibp_;
};

/// Per-output bounds of the oracle over the box (convenience: builds a Bounder).
Enclosure bound_outputs(const oracle::Oracle& oracle, const Box& box, Method method);

/// Bounds of c·oracle(x) over the box, tighter than combining per-output bounds.
Interval bound_linear(const oracle::Oracle& oracle, const VectorD& c, const Box& box, Method method);

}  // namespace invsweep::certify
