// The terms of a task's loss beyond its objective (problem.hpp): the exact penalties of the
// output ranges (subject_to) and of plausibility with their adaptive weights, the violation
// measure and the Mahalanobis distance, and the regularizer (diversity, with its bandwidth from
// a radix select, and the ensemble's uncertainty).
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>

#include "invsweep/inverse/problem.hpp"
#include "invsweep/oracle/ensemble.hpp"

namespace invsweep::inverse {

namespace {
/// The adaptive weight of an exact penalty: doubles (up to 1e4) when the mean excess over a
/// window of 25 steps is above 1e-3 (scaled units), so that it ends above the constraint's
/// multiplier and the penalised optimum is the constrained one.
void adapt_penalty(double mean_excess, double& mu, double& window, int& calls) {
  window += mean_excess;
  if (++calls < 25) return;
  if (window / calls > 1e-3) mu = std::min(2.0 * mu, 1e4);
  window = 0;
  calls = 0;
}

/// How far v is outside [lo, hi] (0 inside; NaN stays NaN), and the side (+1 above, −1 below).
template <class T>
T excess(T v, T lo, T hi, T& side) {
  side = v > hi ? T(1) : (v < lo ? T(-1) : T(0));
  return v > hi ? v - hi : (v < lo ? lo - v : T(0));
}
}  // namespace

double Problem::output_penalty(const MatrixMap<float>& u, MatrixMap<float> grad_u) const {
  if (con_out_.empty()) return 0.0;
  const Index n = u.cols();
  const auto mu = static_cast<float>(mu_out_);
  const float inv_n = 1.0f / static_cast<float>(n);
  double total = 0, sum_excess = 0;
  for (Index j = 0; j < n; ++j)
    for (const Index k : con_out_) {
      float side = 0;
      const float e = excess(u(k, j), static_cast<float>(sub_lo_ud_[k]), static_cast<float>(sub_hi_ud_[k]), side);
      if (!(e > 0)) continue;
      total += static_cast<double>(mu * (e + e * e));
      grad_u(k, j) += side * mu * (1.0f + 2.0f * e) * inv_n;
      sum_excess += static_cast<double>(e);
    }
  adapt_penalty(sum_excess / static_cast<double>(n), mu_out_, window_out_, calls_out_);
  return total / static_cast<double>(n);
}

double Problem::mahalanobis_grad(const Eigen::Ref<const VectorD>& s_free, VectorD* grad) const {
  const nn::Scaler& is = oracle_->input_scaler;
  VectorD v = centre_;
  for (Index k = 0; k < n_free(); ++k) {
    const Index i = free_[static_cast<std::size_t>(k)];
    v[i] += is.scale[i] * s_free[k];
  }
  const VectorD pv = precision_ * v;
  const double d = std::sqrt(std::max(v.dot(pv), 0.0));
  if (grad != nullptr) {
    grad->resize(n_free());
    for (Index k = 0; k < n_free(); ++k) {
      const Index i = free_[static_cast<std::size_t>(k)];
      (*grad)[k] = d > 0 ? is.scale[i] * pv[i] / d : 0.0;
    }
  }
  return d;
}

VectorD Problem::mahalanobis(const MatrixD& x) const {
  if (!oracle_->has_input_stats()) return {};
  const MatrixD v = x.colwise() - oracle_->input_mean;
  return (v.cwiseProduct(precision_ * v)).colwise().sum().cwiseMax(0.0).cwiseSqrt().transpose();
}

VectorD Problem::violations(const MatrixD& x, const MatrixD& y) const {
  const Index n = x.cols();
  VectorD out = VectorD::Zero(n);
  const auto rel = [](double e, double limit) { return e / std::max(1.0, std::abs(limit)); };
  const VectorD dm = has_plausibility() ? mahalanobis(x) : VectorD();
  for (Index j = 0; j < n; ++j) {
    double acc = 0, side = 0;
    for (const Index k : con_out_) {
      const double e = excess(y(k, j), obj_.sub_lo[k], obj_.sub_hi[k], side);
      acc += std::pow(rel(e, side > 0 ? obj_.sub_hi[k] : obj_.sub_lo[k]), 2);
    }
    for (const Index i : free_) {
      const double e = excess(x(i, j), con_.lower[i], con_.upper[i], side);
      if (e > 0) acc += std::pow(rel(e, side > 0 ? con_.upper[i] : con_.lower[i]), 2);
    }
    if (has_plausibility()) acc += std::pow(rel(std::max(dm[j] - con_.plausible, 0.0), con_.plausible), 2);
    out[j] = x.col(j).allFinite() && y.col(j).allFinite() ? std::sqrt(acc) : std::numeric_limits<double>::quiet_NaN();
  }
  return out;
}

void Problem::penalty_values(const MatrixD& s_free, const MatrixMap<double>& u, VectorD& values) const {
  if (!has_hard_constraints()) return;
  for (Index j = 0; j < u.cols(); ++j) {
    double e = 0, side = 0;
    for (const Index k : con_out_)
      e += excess(u(k, j), sub_lo_ud_[k], sub_hi_ud_[k], side);
    if (has_plausibility()) e += std::max(mahalanobis_grad(s_free.col(j), nullptr) - con_.plausible, 0.0);
    values[j] += kValuePenalty * e;
  }
}

float kth_smallest(float* x, Index n, Index k) {
  // Per byte from the top, a histogram finds the byte of the k-th value and the candidates
  // are compacted without a data-dependent branch. Four interleaved histograms, because
  // neighbouring distances often share a byte and one counter would be a dependency chain.
  for (int shift = 24; shift >= 0 && n > 1; shift -= 8) {
    std::array<std::array<Index, 256>, 4> hist{};
    const auto byte_of = [shift](float v) { return (std::bit_cast<std::uint32_t>(v) >> shift) & 0xFFu; };
    Index i = 0;
    for (; i + 4 <= n; i += 4)
      for (std::size_t u = 0; u < 4; ++u)
        ++hist[u][byte_of(x[i + static_cast<Index>(u)])];
    for (; i < n; ++i)
      ++hist[0][byte_of(x[i])];
    std::uint32_t byte = 0;
    for (;; ++byte) {
      const Index c = hist[0][byte] + hist[1][byte] + hist[2][byte] + hist[3][byte];
      if (k < c) break;
      k -= c;
    }
    Index m = 0;
    for (i = 0; i < n; ++i) {
      const float v = x[i];
      x[m] = v;
      m += byte_of(v) == byte ? 1 : 0;
    }
    n = m;
  }
  return x[0];
}

double Problem::regularize(const Eigen::Ref<const MatrixF>& s, Eigen::Ref<MatrixF> g, VectorF& scratch) const {
  const Index n = s.cols();
  const float inv_n = 1.0f / static_cast<float>(n);
  double loss = 0;
  if (reg_.min_norm > 0) {
    const auto lam = static_cast<float>(reg_.min_norm);
    loss += reg_.min_norm * static_cast<double>(s.squaredNorm()) / static_cast<double>(n);
    g += (2.0f * lam * inv_n) * s;
  }
  if (reg_.proximity > 0) {
    const auto lam = static_cast<float>(reg_.proximity);
    for (Index j = 0; j < n; ++j) {
      loss += reg_.proximity * static_cast<double>((s.col(j) - reference_s_).squaredNorm()) / static_cast<double>(n);
      g.col(j) += (2.0f * lam * inv_n) * (s.col(j) - reference_s_);
    }
  }
  if (reg_.diversity > 0 && n > 1) {
    // RBF repulsion: λ/(n(n−1)) Σ_{i≠j} exp(−|s_i − s_j|²/h), bandwidth h = median(d²)/log(n+1)
    // (treated as a constant in the gradient). Vectorised along j: the features are copied
    // transposed (st [n, n_free]), so that the pairs (i, j > i) of one i are a contiguous
    // segment of every column; the gradient of the j side accumulates in gt [n, n_free].
    const Index nf = s.rows();
    const Index pairs = n * (n - 1) / 2;
    const Index need = 2 * pairs + 2 * n * nf + n;
    if (scratch.size() < need) scratch.resize(need);  // sized once, on the first step
    float* d2 = scratch.data();
    float* sorted = d2 + pairs;
    MatrixMap<float> st(sorted + pairs, n, nf), gt(sorted + pairs + n * nf, n, nf);
    float* kbuf = gt.data() + n * nf;
    using ArrayMap = Eigen::Map<Eigen::ArrayXf>;
    st = s.transpose();
    for (Index i = 0, p = 0; i + 1 < n; p += n - 1 - i, ++i) {
      const Index len = n - 1 - i;
      ArrayMap d(d2 + p, len);
      d = (st.col(0).segment(i + 1, len).array() - s(0, i)).square();
      for (Index r = 1; r < nf; ++r)
        d += (st.col(r).segment(i + 1, len).array() - s(r, i)).square();
    }
    std::copy(d2, d2 + pairs, sorted);
    const float h = std::max(kth_smallest(sorted, pairs, pairs / 2) / std::log(static_cast<float>(n) + 1.0f), 1e-8f);
    const float c = static_cast<float>(reg_.diversity) / static_cast<float>(n * (n - 1));
    gt.setZero();
    double sum = 0;
    for (Index i = 0, p = 0; i + 1 < n; p += n - 1 - i, ++i) {
      const Index len = n - 1 - i;
      ArrayMap k(kbuf, len);
      k = (-ArrayMap(d2 + p, len) / h).exp();
      sum += 2.0 * static_cast<double>(k.sum());
      // d/ds_i of 2·k_ij = 2·k·(−2(s_i − s_j)/h); the opposite for s_j.
      k *= -4.0f * c / h;
      for (Index r = 0; r < nf; ++r) {
        const float si = s(r, i);
        g(r, i) += (k * (si - st.col(r).segment(i + 1, len).array())).sum();
        gt.col(r).segment(i + 1, len).array() -= k * (si - st.col(r).segment(i + 1, len).array());
      }
    }
    g += gt.transpose();
    loss += static_cast<double>(c) * sum;
  }
  if (has_plausibility()) {  // the exact penalty of d_M ≤ plausible, like output_penalty
    VectorD grad;
    double sum_excess = 0;
    for (Index j = 0; j < n; ++j) {
      const double e = mahalanobis_grad(s.col(j).cast<double>(), &grad) - con_.plausible;
      if (!(e > 0)) continue;
      loss += mu_x_ * (e + e * e) / static_cast<double>(n);
      g.col(j) += (mu_x_ * (1.0 + 2.0 * e) / static_cast<double>(n) * grad).cast<float>();
      sum_excess += e;
    }
    adapt_penalty(sum_excess / static_cast<double>(n), mu_x_, window_x_, calls_x_);
  }
  return loss;
}

}  // namespace invsweep::inverse
