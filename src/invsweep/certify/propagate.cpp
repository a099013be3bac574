// Rounding in the back-substitution. A row claims f ≥ Λ·h_j + c for every feasible h_j, in
// exact arithmetic on the stored doubles. One step through layer j (relaxation, then the
// affine map z_j = W_j h_{j−1} + b_j) computes Λz = Λ⁺·diag(a_L) + Λ⁻·diag(a_U) (one
// rounding per entry), c += Λ⁺d_L + Λ⁻d_U + Λz·b_j, Λ ← Λz·W_j. The rounding errors of these
// products, applied to the true (bounded) variables, are at most
//   γ_N · ( |Λz|·(|z_j|max + |W_j|·|h_{j−1}|max + |b_j|) + |Λ|·|d|max + |c| ),
// which is subtracted from c (gamma2 carries a factor 2 for the rounding of this margin).
// The claim then holds for the computed Λ and c exactly, whatever their own errors.
#include "invsweep/certify/propagate.hpp"

#include <algorithm>

#include "invsweep/certify/activation_bounds.hpp"

namespace invsweep::certify {

Bounder::Bounder(const oracle::Oracle& oracle) : o_(oracle), n_layers_(oracle.net.n_layers()) {
  const nn::Mlp<double>& net = o_.net;
  for (std::size_t i = 0; i < n_layers_; ++i) {
    const MatrixD w = net.weight(i);
    wp_.push_back(w.cwiseMax(0.0));
    wn_.push_back(w.cwiseMin(0.0));
    wabs_.push_back(w.cwiseAbs());
    babs_.push_back(net.bias(i).cwiseAbs());
  }
  for (auto* v : {&zl_, &zu_, &hl_, &hu_, &hmag_, &v_, &al_, &dl_, &au_, &du_, &dmag_}) v->resize(n_layers_);
  for (std::size_t i = 0; i < n_layers_; ++i)
    for (auto* v : {&zl_, &zu_, &hl_, &hu_, &hmag_, &v_, &al_, &dl_, &au_, &du_, &dmag_})
      (*v)[i].resize(net.layer(i).out);
}

void Bounder::forward_bounds(const Box& box, Method method) {
  const nn::Mlp<double>& net = o_.net;
  const Index n0 = o_.n_in();
  xl_.resize(n0);
  xu_.resize(n0);
  for (Index i = 0; i < n0; ++i) {
    const double m = o_.input_scaler.mean[i], s = o_.input_scaler.scale[i];
    const double a = (box.lo[i] - m) / s, b = (box.hi[i] - m) / s;  // two roundings each
    xl_[i] = down(a, 3 * kUnit * std::abs(a) + kTiny);
    xu_[i] = up(b, 3 * kUnit * std::abs(b) + kTiny);
  }
  sanitize(xl_, xu_);
  xmag_ = xl_.cwiseAbs().cwiseMax(xu_.cwiseAbs());
  for (std::size_t k = 0; k < n_layers_; ++k) {
    const VectorD& hl = k == 0 ? xl_ : hl_[k - 1];
    const VectorD& hu = k == 0 ? xu_ : hu_[k - 1];
    const VectorD& hm = k == 0 ? xmag_ : hmag_[k - 1];
    const nn::LayerSpec& ls = net.layer(k);
    VectorD& zl = zl_[k];
    VectorD& zu = zu_[k];
    zl.noalias() = wp_[k] * hl;
    zl.noalias() += wn_[k] * hu;
    zl += net.bias(k);
    zu.noalias() = wp_[k] * hu;
    zu.noalias() += wn_[k] * hl;
    zu += net.bias(k);
    VectorD& mag = v_[k];
    mag.noalias() = wabs_[k] * hm;
    mag += babs_[k];
    const double g = gamma2(2 * ls.in + 3);
    const double tiny = static_cast<double>(2 * ls.in + 3) * kTiny;
    for (Index r = 0; r < ls.out; ++r) {
      zl[r] = down(zl[r], g * mag[r] + tiny);
      zu[r] = up(zu[r], g * mag[r] + tiny);
    }
    if (method == Method::crown && k >= 1) {
      const Index m = ls.out;
      lam_.resize(2 * m, ls.in);
      lam_.topRows(m) = net.weight(k);
      lam_.bottomRows(m) = -net.weight(k);
      cst_.resize(2 * m);
      cst_.head(m) = net.bias(k);
      cst_.tail(m) = -net.bias(k);
      backsub(k - 1, lam_, cst_, out_);
      for (Index r = 0; r < m; ++r) {
        zl[r] = std::max(zl[r], out_[r]);
        zu[r] = std::min(zu[r], -out_[m + r]);
      }
    }
    sanitize(zl, zu);
    // v = |z|max + |W||h|max + |b| (the margin weights of backsub).
    mag += zl.cwiseAbs().cwiseMax(zu.cwiseAbs());
    for (Index r = 0; r < ls.out; ++r) {
      const Interval h = act_range(ls.act, zl[r], zu[r]);
      hl_[k][r] = h.lo;
      hu_[k][r] = h.hi;
      if (method == Method::crown) {
        const Relaxation rx = relax(ls.act, zl[r], zu[r]);
        al_[k][r] = rx.lower.a;
        dl_[k][r] = rx.lower.d;
        au_[k][r] = rx.upper.a;
        du_[k][r] = rx.upper.d;
        dmag_[k][r] = std::max(std::abs(rx.lower.d), std::abs(rx.upper.d));
      }
    }
    hmag_[k] = hl_[k].cwiseAbs().cwiseMax(hu_[k].cwiseAbs());
  }
}

void Bounder::backsub(std::size_t layer, MatrixD& lam, VectorD& c, VectorD& out) {
  const nn::Mlp<double>& net = o_.net;
  for (std::size_t step = layer + 1; step-- > 0;) {
    const nn::LayerSpec& ls = net.layer(step);
    lp_ = lam.cwiseMax(0.0);
    ln_ = lam.cwiseMin(0.0);
    lamz_.noalias() = lp_ * al_[step].asDiagonal();
    lamz_.noalias() += ln_ * au_[step].asDiagonal();
    c.noalias() += lp_ * dl_[step];
    c.noalias() += ln_ * du_[step];
    const double g = gamma2(std::max(ls.in, ls.out) + 4);
    tmp_.noalias() = lamz_.cwiseAbs() * v_[step];
    tmp_.noalias() += lam.cwiseAbs() * dmag_[step];
    tmp_ += c.cwiseAbs();
    c.noalias() += lamz_ * net.bias(step);
    c -= g * tmp_ + VectorD::Constant(c.size(), static_cast<double>(ls.in + ls.out + 4) * kTiny);
    lam.resize(lam.rows(), ls.in);
    lam.noalias() = lamz_ * net.weight(step);
  }
  const Index n0 = o_.n_in();
  out.noalias() = lam.cwiseMax(0.0) * xl_;
  out.noalias() += lam.cwiseMin(0.0) * xu_;
  out += c;
  tmp_.noalias() = lam.cwiseAbs() * xmag_;
  tmp_ += c.cwiseAbs();
  const double g = gamma2(2 * n0 + 3);
  for (Index r = 0; r < out.size(); ++r) {
    out[r] = down(out[r], g * tmp_[r] + static_cast<double>(2 * n0 + 3) * kTiny);
    if (std::isnan(out[r])) out[r] = -kInf;
  }
}

Enclosure Bounder::last_layer_outputs() const {
  const std::size_t last = n_layers_ - 1;
  const Index n = o_.n_out();
  const VectorD& os = o_.output_scaler.scale;
  const VectorD& om = o_.output_scaler.mean;
  Enclosure e{VectorD(n), VectorD(n)};
  for (Index j = 0; j < n; ++j) {  // out.scale > 0
    const double lo = os[j] * hl_[last][j] + om[j], hi = os[j] * hu_[last][j] + om[j];
    e.lo[j] = down(lo, gamma2(3) * (std::abs(os[j] * hl_[last][j]) + std::abs(om[j])) + kTiny);
    e.hi[j] = up(hi, gamma2(3) * (std::abs(os[j] * hu_[last][j]) + std::abs(om[j])) + kTiny);
  }
  sanitize(e.lo, e.hi);
  return e;
}

Enclosure Bounder::outputs(const Box& box, Method method) {
  forward_bounds(box, method);
  Enclosure e = last_layer_outputs();
  const std::size_t last = n_layers_ - 1;
  const Index n = o_.n_out();
  const VectorD& os = o_.output_scaler.scale;
  const VectorD& om = o_.output_scaler.mean;
  if (method == Method::crown) {
    // Rows ±diag(out.scale) with constants ±out.mean: exact, no rounding in the set-up.
    lam_c_.setZero(2 * n, n);
    cst_.resize(2 * n);
    for (Index j = 0; j < n; ++j) {
      lam_c_(j, j) = os[j];
      lam_c_(n + j, j) = -os[j];
      cst_[j] = om[j];
      cst_[n + j] = -om[j];
    }
    backsub(last, lam_c_, cst_, out_);
    for (Index j = 0; j < n; ++j) {
      e.lo[j] = std::max(e.lo[j], out_[j]);
      e.hi[j] = std::min(e.hi[j], -out_[n + j]);
    }
  }
  sanitize(e.lo, e.hi);
  return e;
}

double Bounder::upper_linear(const VectorD& c, const Box& box, Method method, VectorD* slope) {
  forward_bounds(box, method);
  const Enclosure e = last_layer_outputs();
  // Interval bound from the per-output enclosure.
  double ub = 0.0, mag = 0.0;
  for (Index j = 0; j < c.size(); ++j) {
    if (c[j] == 0.0) continue;
    const double t = std::max(c[j] * e.lo[j], c[j] * e.hi[j]);
    ub += t;
    mag += std::abs(t);
  }
  ub = up(ub, gamma2(c.size() + 2) * mag + kTiny);
  if (std::isnan(ub)) ub = kInf;
  if (slope) slope->setZero(o_.n_in());
  if (method == Method::ibp) return ub;
  // −f = Σ (−c_j·os_j)·h_j − c·om: the rounding of the set-up is subtracted from the constant.
  const std::size_t last = n_layers_ - 1;
  const Index n = o_.n_out();
  lam_c_.resize(1, n);
  double cm = 0.0, cm_mag = 0.0;
  for (Index j = 0; j < n; ++j) {
    lam_c_(0, j) = -c[j] * o_.output_scaler.scale[j];
    cm += c[j] * o_.output_scaler.mean[j];
    cm_mag += std::abs(c[j] * o_.output_scaler.mean[j]);
  }
  const double setup_err = gamma2(n + 2) * (lam_c_.row(0).cwiseAbs().dot(hmag_[last]) + cm_mag) + kTiny;
  cst_.resize(1);
  cst_[0] = -cm - setup_err;
  backsub(last, lam_c_, cst_, out_);
  const double crown_ub = -out_[0];
  if (slope)
    for (Index i = 0; i < o_.n_in(); ++i) (*slope)[i] = -lam_c_(0, i) / o_.input_scaler.scale[i];
  return std::min(ub, crown_ub);
}

Enclosure bound_outputs(const oracle::Oracle& oracle, const Box& box, Method method) {
  Bounder b(oracle);
  return b.outputs(box, method);
}

Interval bound_linear(const oracle::Oracle& oracle, const VectorD& c, const Box& box, Method method) {
  Bounder b(oracle);
  const double hi = b.upper_linear(c, box, method);
  const double lo = b.lower_linear(c, box, method);
  return {lo, hi};
}

}  // namespace invsweep::certify
