// Derivation of the relaxations.
//
// Each activation σ is split at its inflection points into pieces on which it is convex or
// concave (σ'' of constant sign):
//   identity, relu, softplus: one convex piece (relu and identity are handled exactly);
//   tanh, sigmoid:            convex on (−∞, 0], concave on [0, ∞);
//   silu:                     concave on (−∞, −c], convex on [−c, c], concave on [c, ∞),
//                             c = 2.39935728…  (silu''(z) = σ(z)σ(−z)(2 + z(σ(−z) − σ(z))));
//   gelu:                     concave on (−∞, −√2], convex on [−√2, √2], concave on [√2, ∞)
//                             (gelu''(z) = φ(z)(2 − z²)).
// For any slope a, the smallest valid intercept of an upper line over [l, u] is
// d*(a) = max_z (σ(z) − a·z), taken piece by piece:
//   - on a convex piece [p, q], σ − a·z is convex, so its maximum is at p or q;
//   - on a concave piece, σ(z) ≤ σ(t) + σ'(t)(z − t) for any t in the piece (tangent above a
//     concave function), so max ≤ max over z ∈ {p, q} of σ(t) + σ'(t)(z − t) − a·z; with t
//     the point where σ'(t) = a (σ' is monotone there: bisection) this is the exact maximum.
// `upper_intercept` evaluates this bound with every evaluation error and rounding added, so
// *any* slope gives a sound line; the slope only decides tightness. Lower lines are upper
// lines of −σ (convexity flipped), negated. Slopes: on one convex piece the chord; on one
// concave piece the tangent at the midpoint (the area-optimal tangent); across inflection
// points the best (least area, i.e. lowest value at the midpoint) of the chord's slope, the
// midpoint's tangent slope and — for two pieces — the tangent through the far end point
// (the classical S-shape construction: the tangent at t in the concave piece that passes
// through (l, σ(l))), for three pieces the tangent slopes at l and u, and slope 0 (the
// constant bound, which wins on very wide intervals of tanh and sigmoid). The inflection points of silu and gelu are
// not doubles; a piece boundary off by δ ≈ 1e-16 changes the maximum by O(δ²·σ'''), covered by a 1e-13 margin.
#include "invsweep/certify/activation_bounds.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>

namespace invsweep::certify {

using nn::Activation;

namespace {

constexpr double kRel = 32 * kUnit;  // 16 ulp relative for composed libm evaluations
constexpr double kSiluInfl = 2.399357280515467667832739697282283888523;
constexpr double kSiluMinAt = -1.278464542761073795109358739022980155439;
constexpr double kSiluMin = -0.2784645427610737951093587390229801554395;
constexpr double kSiluDmin = -0.09983932012886691695818492432057097213073;
constexpr double kSiluDmax = 1.099839320128866916958184924320570972131;
constexpr double kGeluMinAt = -0.7517915246935644574579049467795240396645;
constexpr double kGeluMin = -0.1699712074799036616938684709824339228329;
constexpr double kGeluDmin = -0.1289041451851547863407444422619733123325;
constexpr double kGeluDmax = 1.128904145185154786340744442261973312332;
constexpr double kConstSlack = 1e-13;  // slack on the constants above (accurate to 1e-17)

double sigmoid(double z) {
  if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1.0 + e);
}

struct Shape {
  int n = 0;                     // number of inflection points
  std::array<double, 2> infl{};  // sorted
  bool first_convex = true;      // convexity of the leftmost piece
  double margin = 0.0;           // slack for inexact inflection points
};

Shape shape_of(Activation act) {
  switch (act) {
    case Activation::tanh:
    case Activation::sigmoid:
      return {1, {0.0, 0.0}, true, 0.0};
    case Activation::silu:
      return {2, {-kSiluInfl, kSiluInfl}, false, 1e-13};
    case Activation::gelu:
      return {2, {-std::numbers::sqrt2, std::numbers::sqrt2}, false, 1e-13};
    default:
      return {0, {0.0, 0.0}, true, 0.0};
  }
}

/// The pieces of [l, u]: boundaries b[0] = l < … < b[k] = u and the convexity of σ on each.
struct Pieces {
  int k = 0;
  std::array<double, 4> b{};
  std::array<bool, 3> convex{};
  std::array<Eval, 4> val{};  // σ at the boundaries (unsigned)
};

Pieces pieces_of(const Shape& sh, double l, double u) {
  Pieces p;
  p.b[0] = l;
  bool conv = sh.first_convex;
  int idx = 0;
  for (int i = 0; i < sh.n; ++i) {
    if (sh.infl[static_cast<std::size_t>(i)] <= l) {
      conv = !conv;
      continue;
    }
    if (sh.infl[static_cast<std::size_t>(i)] >= u) break;
    p.convex[static_cast<std::size_t>(idx)] = conv;
    p.b[static_cast<std::size_t>(++idx)] = sh.infl[static_cast<std::size_t>(i)];
    conv = !conv;
  }
  p.convex[static_cast<std::size_t>(idx)] = conv;
  p.b[static_cast<std::size_t>(++idx)] = u;
  p.k = idx;
  return p;
}

void evaluate_boundaries(Activation act, Pieces& p) {
  for (int i = 0; i <= p.k; ++i)
    p.val[static_cast<std::size_t>(i)] = act_value(act, p.b[static_cast<std::size_t>(i)]);
}

/// g = s·σ on [l, u] (s = ±1): evaluation helpers.
struct Signed {
  Activation act;
  double s;
  Eval value(double z) const {
    const Eval e = act_value(act, z);
    return {s * e.v, e.err};
  }
  Eval deriv(double z) const {
    const Eval e = act_derivative(act, z);
    return {s * e.v, e.err};
  }
};

/// A point t of the concave piece [p, q] of g where g'(t) ≈ a (g' decreasing there).
double tangent_point(const Signed& g, double a, double p, double q) {
  if (g.deriv(p).v <= a) return p;
  if (g.deriv(q).v >= a) return q;
  for (int it = 0; it < 12; ++it) {
    const double m = 0.5 * (p + q);
    (g.deriv(m).v > a ? p : q) = m;
  }
  return 0.5 * (p + q);
}

/// A rigorous upper bound (rounded up) of max_{z∈[l,u]} g(z) − a·z; `hint` is used as the
/// tangent point on the concave piece that contains it.
double upper_intercept(const Signed& g, const Shape& sh, const Pieces& pc, double a, double hint) {
  double d = -kInf;
  for (int i = 0; i < pc.k; ++i) {
    const double p = pc.b[static_cast<std::size_t>(i)], q = pc.b[static_cast<std::size_t>(i) + 1];
    const bool convex = pc.convex[static_cast<std::size_t>(i)] == (g.s > 0);
    if (convex) {
      for (int end = 0; end < 2; ++end) {
        const double z = end == 0 ? p : q;
        const Eval& e0 = pc.val[static_cast<std::size_t>(i + end)];
        const Eval e{g.s * e0.v, e0.err};
        const double v = e.v + e.err, az = a * z;
        const double term = v - az + 2 * kUnit * (std::abs(v) + std::abs(az)) + kTiny + sh.margin * (1 + (q - p));
        d = std::max(d, term);
      }
    } else {
      const double t = (hint >= p && hint <= q) ? hint : tangent_point(g, a, p, q);
      const Eval e = g.value(t), de = g.deriv(t);
      const double w = std::max(t - p, q - t), diff = de.v - a, at = a * t;
      const double m = std::max(diff * (p - t), diff * (q - t)) + de.err * w;
      const double term = e.v + e.err - at + m +
                          4 * kUnit * (std::abs(e.v) + std::abs(at) + std::abs(diff) * w + de.err * w) + kTiny +
                          sh.margin * (1 + w);
      d = std::max(d, term);
    }
  }
  return up(d);
}

/// Root of φ on [p, q] by bisection, φ increasing (sign +1) or decreasing (−1); the end
/// where φ has the root's sign when there is none.
template <class F>
double bisect(F phi, double p, double q, double sign) {
  if (sign * phi(q) <= 0) return q;
  if (sign * phi(p) >= 0) return p;
  for (int it = 0; it < 14; ++it) {
    const double m = 0.5 * (p + q);
    (sign * phi(m) < 0 ? p : q) = m;
  }
  return 0.5 * (p + q);
}

/// An upper line of g over [l, u] (finite, l < u); `pc` the pieces with their values.
Line upper_line(const Signed& g, const Shape& sh, const Pieces& pc, double l, double u) {
  const double mid = 0.5 * (l + u);
  const Eval gl{g.s * pc.val[0].v, pc.val[0].err};
  const Eval gu{g.s * pc.val[static_cast<std::size_t>(pc.k)].v, pc.val[static_cast<std::size_t>(pc.k)].err};
  const double chord = (gu.v - gl.v) / (u - l);
  const bool first_convex = pc.convex[0] == (g.s > 0);
  if (pc.k == 1) {
    if (first_convex) return {chord, upper_intercept(g, sh, pc, chord, kInf)};
    const double a = g.deriv(mid).v;
    return {a, upper_intercept(g, sh, pc, a, mid)};
  }
  Line best{0.0, kInf};
  double best_val = kInf;
  const auto consider = [&](double a, double hint) {
    if (!std::isfinite(a)) return;
    const double d = upper_intercept(g, sh, pc, a, hint);
    const double val = a * mid + d;
    if (val < best_val) {
      best_val = val;
      best = {a, d};
    }
  };
  consider(chord, kInf);
  consider(g.deriv(mid).v, mid);
  consider(0.0, kInf);  // the constant bound, best on very wide intervals of bounded σ
  if (pc.k == 3) {
    consider(g.deriv(l).v, l);
    consider(g.deriv(u).v, u);
  } else {
    const double p = pc.b[1];
    if (first_convex) {  // tangent at t ∈ [p, u] through (l, g(l)); φ increasing
      const double t = bisect([&](double x) { return g.value(x).v + g.deriv(x).v * (l - x) - gl.v; }, p, u, 1.0);
      consider(g.deriv(t).v, t);
    } else {  // tangent at t ∈ [l, p] through (u, g(u)); φ decreasing
      const double t = bisect([&](double x) { return g.value(x).v + g.deriv(x).v * (u - x) - gu.v; }, l, p, -1.0);
      consider(g.deriv(t).v, t);
    }
  }
  return best;
}

Relaxation constant(const Interval& r) {
  return {{0.0, r.lo}, {0.0, r.hi}};
}

}  // namespace

Eval act_value(Activation act, double z) {
  if (std::isinf(z)) {
    switch (act) {
      case Activation::tanh:
        return {z > 0 ? 1.0 : -1.0, 0.0};
      case Activation::sigmoid:
        return {z > 0 ? 1.0 : 0.0, 0.0};
      case Activation::identity:
        return {z, 0.0};
      default:
        return {z > 0 ? z : 0.0, 0.0};
    }
  }
  switch (act) {
    case Activation::identity:
      return {z, 0.0};
    case Activation::relu:
      return {std::max(z, 0.0), 0.0};
    case Activation::tanh: {
      const double v = std::tanh(z);
      return {v, kRel * std::abs(v) + kTiny};
    }
    case Activation::sigmoid: {
      const double v = sigmoid(z);
      return {v, kRel * std::abs(v) + kTiny};
    }
    case Activation::softplus: {
      const double v = std::max(z, 0.0) + std::log1p(std::exp(-std::abs(z)));
      return {v, kRel * std::abs(v) + kTiny};
    }
    case Activation::silu: {
      const double v = z * sigmoid(z);
      return {v, kRel * std::abs(v) + kTiny};
    }
    case Activation::gelu: {
      // erfc keeps the relative accuracy for z < 0 (1 + erf cancels). The rounding of the
      // argument w = −z/√2 (relative 1.5u) moves erfc by ≤ (2/√π)·e^{−w²}·1.5u·|w|, so the
      // value by ≤ 1.2u·w²·e^{−w²} ≤ 0.5u absolute: covered by 4u.
      const double v = 0.5 * z * std::erfc(-z * (std::numbers::sqrt2 / 2));
      return {v, kRel * std::abs(v) + 4 * kUnit};
    }
  }
  return {z, 0.0};
}

Eval act_derivative(Activation act, double z) {
  if (std::isinf(z)) {
    const bool pos = z > 0;
    switch (act) {
      case Activation::identity:
        return {1.0, 0.0};
      case Activation::tanh:
      case Activation::sigmoid:
        return {0.0, 0.0};
      default:
        return {pos ? 1.0 : 0.0, 0.0};
    }
  }
  switch (act) {
    case Activation::identity:
      return {1.0, 0.0};
    case Activation::relu:
      return {z > 0 ? 1.0 : 0.0, 0.0};
    case Activation::tanh: {  // sech²(z) = 4e/(1 + e)², e = exp(−2|z|): no cancellation
      const double e = std::exp(-2.0 * std::abs(z));
      const double v = 4.0 * e / ((1.0 + e) * (1.0 + e));
      return {v, kRel * v + kTiny};
    }
    case Activation::sigmoid: {
      const double v = sigmoid(z) * sigmoid(-z);
      return {v, kRel * v + kTiny};
    }
    case Activation::softplus: {
      const double v = sigmoid(z);
      return {v, kRel * v + kTiny};
    }
    case Activation::silu: {  // σ(z)(1 + z·σ(−z)); cancellation near the minimum: 16u absolute
      const double v = sigmoid(z) * (1.0 + z * sigmoid(-z));
      return {v, kRel * std::abs(v) + 16 * kUnit};
    }
    case Activation::gelu: {  // Φ(z) + z·φ(z)
      const double v = 0.5 * std::erfc(-z * (std::numbers::sqrt2 / 2)) +
                       z * std::exp(-0.5 * z * z) * (0.5 * std::numbers::inv_sqrtpi * std::numbers::sqrt2);
      return {v, kRel * std::abs(v) + 16 * kUnit};
    }
  }
  return {1.0, 0.0};
}

Interval act_range(Activation act, double l, double u) {
  const Eval el = act_value(act, l), eu = act_value(act, u);
  const Interval at_l{down(el.v, el.err), up(el.v, el.err)}, at_u{down(eu.v, eu.err), up(eu.v, eu.err)};
  if (act != Activation::silu && act != Activation::gelu) return {at_l.lo, at_u.hi};  // monotone
  // Decreasing left of the minimiser, increasing right of it: the maximum is at an end.
  const double at = act == Activation::silu ? kSiluMinAt : kGeluMinAt;
  const double mn = act == Activation::silu ? kSiluMin : kGeluMin;
  double lo = std::min(at_l.lo, at_u.lo);
  if (l <= at + 1e-9 && u >= at - 1e-9) lo = std::min(lo, mn - kConstSlack);
  // silu/gelu → 0 as z → −inf (the limit value 0 is an upper bound there).
  return {lo, std::max(at_l.hi, at_u.hi)};
}

Interval derivative_range(Activation act, double l, double u) {
  switch (act) {
    case Activation::identity:
      return {1.0, 1.0};
    case Activation::relu:
      if (u < 0) return {0.0, 0.0};
      if (l > 0) return {1.0, 1.0};
      return {0.0, 1.0};
    default:
      break;
  }
  const Eval el = act_derivative(act, l), eu = act_derivative(act, u);
  double lo = std::min(down(el.v, el.err), down(eu.v, eu.err));
  double hi = std::max(up(el.v, el.err), up(eu.v, eu.err));
  switch (act) {
    case Activation::tanh:  // even, largest at 0, positive
    case Activation::sigmoid:
      if (l <= 0 && u >= 0) hi = act == Activation::tanh ? 1.0 : 0.25;
      lo = std::max(lo, 0.0);
      break;
    case Activation::softplus:  // increasing in (0, 1)
      lo = std::max(lo, 0.0);
      hi = std::min(hi, 1.0);
      break;
    case Activation::silu:
    case Activation::gelu: {  // minimum at −c, maximum at +c
      const double c = act == Activation::silu ? kSiluInfl : std::numbers::sqrt2;
      const double dmin = act == Activation::silu ? kSiluDmin : kGeluDmin;
      const double dmax = act == Activation::silu ? kSiluDmax : kGeluDmax;
      if (l <= -c + 1e-9 && u >= -c - 1e-9) lo = std::min(lo, dmin - kConstSlack);
      if (l <= c + 1e-9 && u >= c - 1e-9) hi = std::max(hi, dmax + kConstSlack);
      break;
    }
    default:
      break;
  }
  return {lo, hi};
}

Relaxation relax(Activation act, double l, double u) {
  if (act == Activation::identity) return {{1.0, 0.0}, {1.0, 0.0}};
  if (act == Activation::relu) {
    if (u <= 0) return {{0.0, 0.0}, {0.0, 0.0}};
    if (l >= 0) return {{1.0, 0.0}, {1.0, 0.0}};
  }
  if (!std::isfinite(l) || !std::isfinite(u) || u - l <= 4 * kUnit * std::max(std::abs(l), std::abs(u)) + kTiny)
    return constant(act_range(act, l, u));
  const Shape sh = shape_of(act);
  Pieces pc = pieces_of(sh, l, u);
  evaluate_boundaries(act, pc);
  Relaxation r;
  r.upper = upper_line(Signed{act, 1.0}, sh, pc, l, u);
  if (act == Activation::relu) {
    r.lower = {u > -l ? 1.0 : 0.0, 0.0};
  } else {
    const Line g = upper_line(Signed{act, -1.0}, sh, pc, l, u);
    r.lower = {-g.a, -g.d};
  }
  if (!std::isfinite(r.lower.a) || !std::isfinite(r.lower.d) || !std::isfinite(r.upper.a) || !std::isfinite(r.upper.d))
    return constant(act_range(act, l, u));
  return r;
}

}  // namespace invsweep::certify
