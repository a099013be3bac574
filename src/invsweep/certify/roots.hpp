#pragma once
// Proven root counts of square systems oracle(x) = t: as many free features (lo < hi) as
// outputs, every target component given.
//
// The box is bisected; a piece is discarded when the output enclosure over it excludes t
// (propagate.hpp) or its Krawczyk image misses it; a piece is settled when the Krawczyk
// operator
//   K(X) = m − Y·F(m) + (I − Y·J(X))·(X − m),   F = oracle − t, Y ≈ mid(J(X))⁻¹,
// maps a slightly inflated copy X⁺ of it strictly into its own interior: then X⁺ holds
// exactly one root, inside K(X⁺). J(X) is an interval enclosure of the Jacobian over the box
// (interval derivatives propagated forward through the layers; for relu the Clarke hull, so
// the mean-value inclusion F(x) − F(y) ∈ J(X)(x − y) holds for these Lipschitz functions).
// Each root of the box lies in some settled piece; a root found from two pieces (on a shared
// face) is merged when one enclosure lies in the other's uniqueness box; roots whose
// enclosure lies outside the box are dropped. All interval arithmetic is outward rounded.
#include <cstdint>
#include <vector>

#include "invsweep/certify/propagate.hpp"

namespace invsweep::certify {

/// Enclosure of the Jacobian d oracle / d x over a box: mid ± rad, [n_out, n_free] (output
/// units per input unit), for the features listed in `free`. Uses (and overwrites) the
/// Bounder's pre-activation bounds for the box.
void jacobian_enclosure(Bounder& bounder, const Box& box, const std::vector<Index>& free, MatrixD& mid, MatrixD& rad);

struct RootSettings {
  double time_limit = 30.0;          ///< seconds
  std::int64_t max_boxes = 200'000;  ///< boxes examined
  double inflate = 1e-3;             ///< X⁺ = X widened by this fraction of its width per side
};

struct RootResult {
  bool square = false;          ///< false: not a square target system (n_roots = −1)
  int n_roots = -1;             ///< proven number of roots in the box; −1 undecided
  std::vector<Box> enclosures;  ///< one box per proven root (full input vectors, [n_in])
  std::int64_t boxes = 0;       ///< boxes examined
  std::int64_t undecided = 0;   ///< pieces left open at the budget, or roots not separable
  double seconds = 0.0;
};

/// Counts the x in `box` with oracle(x) = t exactly (t [n_out], no NaN).
RootResult count_roots(const oracle::Oracle& oracle, const VectorD& t, const Box& box, const RootSettings& s = {});

}  // namespace invsweep::certify
