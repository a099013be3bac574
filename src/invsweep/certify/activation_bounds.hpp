#pragma once
// Sound enclosures of the activations of nn/activation.hpp over an interval [l, u] of their
// argument (pre-activation units): the value range, the derivative range, and a linear
// relaxation (a lower and an upper line). Every result holds for the exact real function,
// floating-point evaluation error included (rounding.hpp); l and u may be ±inf.
#include "invsweep/certify/rounding.hpp"
#include "invsweep/nn/activation.hpp"

namespace invsweep::certify {

/// A value with an error bound: |f(z) − v| ≤ err for the exact f.
struct Eval {
  double v = 0.0, err = 0.0;
};

/// act(z) and act'(z) (relu'(0) = 0) with error bounds; ±inf arguments give the limits.
Eval act_value(nn::Activation act, double z);
Eval act_derivative(nn::Activation act, double z);

/// {act(z) : z ∈ [l, u]} ⊆ result (l ≤ u).
Interval act_range(nn::Activation act, double l, double u);
/// {act'(z) : z ∈ [l, u]} ⊆ result; for relu the Clarke hull [0, 1] when 0 ∈ [l, u] (what a
/// mean-value inclusion over a box needs).
Interval derivative_range(nn::Activation act, double l, double u);

/// The line a·z + d.
struct Line {
  double a = 0.0, d = 0.0;
};

/// lower.a·z + lower.d ≤ act(z) ≤ upper.a·z + upper.d for every real z ∈ [l, u] (exact
/// arithmetic on the stored doubles a, d).
struct Relaxation {
  Line lower, upper;
};

/// A linear relaxation of act over [l, u] (l ≤ u). Constant lines when an end is infinite
/// or the interval is a point; exact lines for identity and for relu off its kink.
Relaxation relax(nn::Activation act, double l, double u);

}  // namespace invsweep::certify
