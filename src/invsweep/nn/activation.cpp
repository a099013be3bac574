#include "invsweep/nn/activation.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <type_traits>

namespace invsweep::nn {

namespace {
constexpr std::array<std::string_view, 7> kNames = {"identity", "relu", "tanh", "sigmoid", "softplus", "silu", "gelu"};

template <class T>
T sigmoid(T z) {
  // Stable for large |z|.
  if (z >= T(0)) return T(1) / (T(1) + std::exp(-z));
  const T e = std::exp(z);
  return e / (T(1) + e);
}
/// a = tanh(z) over n values (a may alias z). Eigen 3.4 vectorises tanh for float only; for
/// double it calls std::tanh per value, which was 11 % of a sweep (polish and the final
/// outputs run the oracle in double). The double form here is vectorised: for |z| < 0.625
/// the rational approximation z + z·w·P(w)/Q(w), w = z² (Cephes' tanh, relative error about
/// 2.5e-16), else sign(z)·(1 − 2/(e^{2|z|} + 1)) with Eigen's vectorised exp.
void tanh_n(const float* z, float* a, Index n) {
  Eigen::Map<Eigen::ArrayXf>(a, n) = Eigen::Map<const Eigen::ArrayXf>(z, n).tanh();
}
void tanh_n(const double* z, double* a, Index n) {
  // Written with Eigen's packet functions: Eigen 3.4's select() has no vectorised form.
  namespace ei = Eigen::internal;
  using Packet = ei::packet_traits<double>::type;
  constexpr Index kSize = ei::packet_traits<double>::size;
  const Packet p0 = ei::pset1<Packet>(-9.64399179425052238628e-1), p1 = ei::pset1<Packet>(-9.92877231001918586564e1),
               p2 = ei::pset1<Packet>(-1.61468768441708447952e3), q0 = ei::pset1<Packet>(1.12811678491632931402e2),
               q1 = ei::pset1<Packet>(2.23548839060100448583e3), q2 = ei::pset1<Packet>(4.84406305325125486048e3);
  const Packet one = ei::pset1<Packet>(1.0), two = ei::pset1<Packet>(2.0), cut = ei::pset1<Packet>(0.625);
  Index i = 0;
  for (; i + kSize <= n; i += kSize) {
    const Packet x = ei::ploadu<Packet>(z + i);
    const Packet ax = ei::pabs(x);
    const Packet w = ei::pmul(x, x);
    const Packet p = ei::pmadd(ei::pmadd(p0, w, p1), w, p2);
    const Packet q = ei::pmadd(ei::pmadd(ei::padd(w, q0), w, q1), w, q2);
    const Packet small = ei::pmadd(ei::pmul(x, w), ei::pdiv(p, q), x);
    // 1 − 2/(e^{2|x|} + 1), with the sign of x put back by xor of the sign bit.
    const Packet t = ei::psub(one, ei::pdiv(two, ei::padd(ei::pexp(ei::pmul(two, ax)), one)));
    const Packet large = ei::por(t, ei::pand(x, ei::pset1<Packet>(-0.0)));
    ei::pstoreu(a + i, ei::pselect(ei::pcmp_lt(ax, cut), small, large));
  }
  for (; i < n; ++i) {
    const double x = z[i], ax = std::abs(x), w = x * x;
    const double p = (-9.64399179425052238628e-1 * w - 9.92877231001918586564e1) * w - 1.61468768441708447952e3;
    const double q = ((w + 1.12811678491632931402e2) * w + 2.23548839060100448583e3) * w + 4.84406305325125486048e3;
    a[i] = ax < 0.625 ? x * w * (p / q) + x : std::copysign(1.0 - 2.0 / (std::exp(2.0 * ax) + 1.0), x);
  }
}

}  // namespace

std::string_view to_string(Activation a) {
  return kNames[static_cast<std::size_t>(a)];
}

std::optional<Activation> parse_activation(std::string_view name) {
  for (std::size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == name) return static_cast<Activation>(i);
  return std::nullopt;
}

std::span<const std::string_view> activation_names() {
  return kNames;
}

template <class T>
void activate(Activation act, const T* z, T* a, Index n) {
  using Arr = Eigen::Array<T, Eigen::Dynamic, 1>;
  Eigen::Map<const Arr> zv(z, n);
  Eigen::Map<Arr> av(a, n);
  switch (act) {
    case Activation::identity:
      if (a != z) av = zv;
      return;
    case Activation::relu:
      av = zv.max(T(0));
      return;
    case Activation::tanh:
      tanh_n(z, a, n);
      return;
    case Activation::sigmoid:
      for (Index i = 0; i < n; ++i)
        a[i] = sigmoid(z[i]);
      return;
    case Activation::softplus:
      for (Index i = 0; i < n; ++i)
        a[i] = std::max(z[i], T(0)) + std::log1p(std::exp(-std::abs(z[i])));
      return;
    case Activation::silu:
      for (Index i = 0; i < n; ++i)
        a[i] = z[i] * sigmoid(z[i]);
      return;
    case Activation::gelu:
      for (Index i = 0; i < n; ++i)
        a[i] = T(0.5) * z[i] * (T(1) + std::erf(z[i] * T(std::numbers::sqrt2 / 2)));
      return;
  }
}

template <class T>
void multiply_derivative(Activation act, const T* z, const T* a, T* g, Index n) {
  using Arr = Eigen::Array<T, Eigen::Dynamic, 1>;
  Eigen::Map<const Arr> av(a, n);
  Eigen::Map<Arr> gv(g, n);
  switch (act) {
    case Activation::identity:
      return;
    case Activation::relu:
      gv = (av > T(0)).select(gv, T(0));
      return;
    case Activation::tanh:
      gv *= T(1) - av.square();
      return;
    case Activation::sigmoid:
      gv *= av * (T(1) - av);
      return;
    case Activation::softplus:
      for (Index i = 0; i < n; ++i)
        g[i] *= sigmoid(z[i]);
      return;
    case Activation::silu:
      for (Index i = 0; i < n; ++i) {
        const T s = sigmoid(z[i]);
        g[i] *= s * (T(1) + z[i] * (T(1) - s));
      }
      return;
    case Activation::gelu: {
      const T inv_sqrt2 = T(std::numbers::sqrt2 / 2);
      const T inv_sqrt2pi = T(0.5 * std::numbers::inv_sqrtpi * std::numbers::sqrt2);
      for (Index i = 0; i < n; ++i) {
        const T x = z[i];
        g[i] *= T(0.5) * (T(1) + std::erf(x * inv_sqrt2)) + x * inv_sqrt2pi * std::exp(T(-0.5) * x * x);
      }
      return;
    }
  }
}

template <class T>
void bias_activate(Activation act, const T* b, T* z, T* a, Index rows, Index cols, bool keep_pre) {
  using Arr = Eigen::Array<T, Eigen::Dynamic, 1>;
  using Mat = Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic>;
  const Eigen::Map<const Arr> bv(b, rows);
  if (act == Activation::identity || rows < 4) {
    // Narrow layers (an output of one to three values): whole-matrix operations, as the
    // per-column loop would cost more in overhead than in arithmetic.
    Eigen::Map<Mat> zm(z, rows, cols);
    zm.colwise() += bv;
    if (act != Activation::identity || a != z) activate(act, z, a, rows * cols);
    return;
  }
  // Column by column: `(z.colwise() + b).tanh()` over the whole matrix is not vectorised by
  // Eigen 3.4 (scalar tanh through the replicated bias; 2.3x slower steps, measured).
  for (Index j = 0; j < cols; ++j) {
    T* zj = z + j * rows;
    T* aj = a + j * rows;
    Eigen::Map<Arr> zc(zj, rows), ac(aj, rows);
    switch (act) {
      case Activation::relu:
        ac = (zc + bv).max(T(0));
        break;
      case Activation::tanh:
        if constexpr (std::is_same_v<T, float>) {
          ac = (zc + bv).tanh();
        } else {
          ac = zc + bv;
          tanh_n(aj, aj, rows);
        }
        break;
      default:
        // Exact scalar forms (sigmoid, softplus, silu, gelu): bias first, then act on the
        // column while it is in L1.
        if (keep_pre) {
          zc += bv;
          activate(act, zj, aj, rows);
        } else {
          ac = zc + bv;
          activate(act, aj, aj, rows);
        }
        break;
    }
  }
}

template <class T>
void derivative_bias_grad(Activation act, const T* z, const T* a, T* g, Index rows, Index cols, T* bias_grad) {
  using Arr = Eigen::Array<T, Eigen::Dynamic, 1>;
  using Mat = Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic>;
  if (act == Activation::identity || rows < 4 ||
      (act != Activation::tanh && act != Activation::relu && act != Activation::sigmoid)) {
    multiply_derivative(act, z, a, g, rows * cols);
    if (bias_grad != nullptr) Eigen::Map<Arr>(bias_grad, rows) += Eigen::Map<const Mat>(g, rows, cols).rowwise().sum();
    return;
  }
  // Blocks of 4 packets of rows over all columns, the bias gradient summed in registers (a
  // column-by-column `bias_grad += g` is a load-add-store through memory per column); the
  // rows left over (rows % (4 · packet)) column by column below.
  namespace ei = Eigen::internal;
  using Packet = typename ei::packet_traits<T>::type;
  constexpr Index kP = ei::packet_traits<T>::size;
  const Index blocked = rows - rows % (4 * kP);
  const Packet one = ei::pset1<Packet>(T(1)), zero = ei::pzero(one);
  const auto times_derivative = [&](Packet gv, Packet av) {
    switch (act) {
      case Activation::tanh:
        return ei::pmul(gv, ei::psub(one, ei::pmul(av, av)));
      case Activation::relu:
        return ei::pselect(ei::pcmp_lt(zero, av), gv, zero);
      default:  // sigmoid
        return ei::pmul(gv, ei::pmul(av, ei::psub(one, av)));
    }
  };
  for (Index r0 = 0; r0 < blocked; r0 += 4 * kP) {
    Packet s[4] = {zero, zero, zero, zero};
    for (Index j = 0; j < cols; ++j) {
      T* gj = g + j * rows + r0;
      const T* aj = a + j * rows + r0;
      for (Index q = 0; q < 4; ++q) {
        const Packet gv = times_derivative(ei::ploadu<Packet>(gj + q * kP), ei::ploadu<Packet>(aj + q * kP));
        ei::pstoreu(gj + q * kP, gv);
        s[q] = ei::padd(s[q], gv);
      }
    }
    if (bias_grad != nullptr)
      for (Index q = 0; q < 4; ++q)
        ei::pstoreu(bias_grad + r0 + q * kP, ei::padd(ei::ploadu<Packet>(bias_grad + r0 + q * kP), s[q]));
  }
  if (blocked == rows) return;
  const Index left = rows - blocked;
  for (Index j = 0; j < cols; ++j) {
    Eigen::Map<Arr> gc(g + j * rows + blocked, left);
    const Eigen::Map<const Arr> ac(a + j * rows + blocked, left);
    switch (act) {
      case Activation::tanh:
        gc *= T(1) - ac.square();
        break;
      case Activation::relu:
        gc = (ac > T(0)).select(gc, T(0));
        break;
      default:  // sigmoid
        gc *= ac * (T(1) - ac);
        break;
    }
    if (bias_grad != nullptr) Eigen::Map<Arr>(bias_grad + blocked, left) += gc;
  }
}

template void activate<float>(Activation, const float*, float*, Index);
template void activate<double>(Activation, const double*, double*, Index);
template void multiply_derivative<float>(Activation, const float*, const float*, float*, Index);
template void multiply_derivative<double>(Activation, const double*, const double*, double*, Index);
template void bias_activate<float>(Activation, const float*, float*, float*, Index, Index, bool);
template void bias_activate<double>(Activation, const double*, double*, double*, Index, Index, bool);
template void derivative_bias_grad<float>(Activation, const float*, const float*, float*, Index, Index, float*);
template void derivative_bias_grad<double>(Activation, const double*, const double*, double*, Index, Index, double*);

}  // namespace invsweep::nn
