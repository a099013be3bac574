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
  for (auto* v : {&zl_, &zu_, &hl_, &hu_, &hmag_, &v_, &al_, &dl_, &au_, &du_, &dmag_})
    v->resize(n_layers_);
  Index rows = 2 * o_.n_out(), cols = o_.n_in();
  for (std::size_t i = 0; i < n_layers_; ++i)
    rows = std::max(rows, 2 * net.layer(i).out), cols = std::max(cols, net.layer(i).out);
  lam_buf_.resize(static_cast<std::size_t>(rows * cols));
  lamz_buf_.resize(static_cast<std::size_t>(rows * cols));
  cst_.resize(rows);
  tmp_.resize(rows);
  out_.resize(rows);
  xl_.resize(o_.n_in());
  xu_.resize(o_.n_in());
  xmag_.resize(o_.n_in());
  for (std::size_t i = 0; i < n_layers_; ++i)
    for (auto* v : {&zl_, &zu_, &hl_, &hu_, &hmag_, &v_, &al_, &dl_, &au_, &du_, &dmag_})
      (*v)[i].resize(net.layer(i).out);
}

void Bounder::forward_bounds(const Box& box, Method method) {
  const nn::Mlp<double>& net = o_.net;
  const Index n0 = o_.n_in();
  for (Index i = 0; i < n0; ++i) {
    const double m = o_.input_scaler.mean[i], s = o_.input_scaler.scale[i];
    const double a = (box.lo[i] - m) / s, b = (box.hi[i] - m) / s;  // two roundings each
    xl_[i] = down(a, 3 * kUnit * std::abs(a) + kTiny);
    xu_[i] = up(b, 3 * kUnit * std::abs(b) + kTiny);
  }
  sanitize(xl_, xu_);
  xmag_.noalias() = xl_.cwiseAbs().cwiseMax(xu_.cwiseAbs());
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
      MatrixMap<double> lam(lam_buf_.data(), 2 * m, ls.in);
      lam.topRows(m) = net.weight(k);
      lam.bottomRows(m) = -net.weight(k);
      cst_.head(m) = net.bias(k);
      cst_.segment(m, m) = -net.bias(k);
      backsub(k - 1, 2 * m);
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

void Bounder::backsub(std::size_t layer, Index m) {
  const nn::Mlp<double>& net = o_.net;
  double* lam = lam_buf_.data();
  double* lamz = lamz_buf_.data();
  VectorMap<double> c(cst_.data(), m), tmp(tmp_.data(), m);
  for (std::size_t step = layer + 1; step-- > 0;) {
    const nn::LayerSpec& ls = net.layer(step);
    const Index n = ls.out;
    const double *al = al_[step].data(), *au = au_[step].data(), *dl = dl_[step].data(), *du = du_[step].data();
    const double *v = v_[step].data(), *dm = dmag_[step].data();
    tmp.setZero();
    // Λz = Λ⁺·diag(a_L) + Λ⁻·diag(a_U), c += Λ⁺d_L + Λ⁻d_U and the margin weights, in one
    // pass (a zero coefficient contributes nothing, even against an infinite bound).
    for (Index j = 0; j < n; ++j) {
      const double* lc = lam + j * m;
      double* zc = lamz + j * m;
      for (Index r = 0; r < m; ++r) {
        const double x = lc[r];
        const bool pos = x >= 0;
        const double a = pos ? al[j] : au[j], d = pos ? dl[j] : du[j];
        const double z = x * a;
        zc[r] = z;
        if (x != 0) {
          c[r] += x * d;
          tmp[r] += std::abs(z) * v[j] + std::abs(x) * dm[j];
        }
      }
    }
    const ConstMatrixMap<double> lz(lamz, m, n);
    const double g = gamma2(std::max(ls.in, ls.out) + 4);
    tmp += c.cwiseAbs();
    c.noalias() += lz * net.bias(step);
    c -= g * tmp;
    c.array() -= static_cast<double>(ls.in + ls.out + 4) * kTiny;
    MatrixMap<double>(lam, m, ls.in).noalias() = lz * net.weight(step);
  }
  const Index n0 = o_.n_in();
  const double g = gamma2(2 * n0 + 3);
  for (Index r = 0; r < m; ++r) {
    double s = c[r], mag = std::abs(c[r]);
    for (Index i = 0; i < n0; ++i) {
      const double x = lam[i * m + r];
      if (x == 0) continue;
      s += x * (x > 0 ? xl_[i] : xu_[i]);
      mag += std::abs(x) * xmag_[i];
    }
    out_[r] = down(s, g * mag + static_cast<double>(2 * n0 + 3) * kTiny);
    if (std::isnan(out_[r])) out_[r] = -kInf;
  }
}

void Bounder::last_layer_outputs(Enclosure& e) const {
  const std::size_t last = n_layers_ - 1;
  const Index n = o_.n_out();
  const VectorD& os = o_.output_scaler.scale;
  const VectorD& om = o_.output_scaler.mean;
  e.lo.resize(n);
  e.hi.resize(n);
  for (Index j = 0; j < n; ++j) {  // out.scale > 0
    const double lo = os[j] * hl_[last][j] + om[j], hi = os[j] * hu_[last][j] + om[j];
    e.lo[j] = down(lo, gamma2(3) * (std::abs(os[j] * hl_[last][j]) + std::abs(om[j])) + kTiny);
    e.hi[j] = up(hi, gamma2(3) * (std::abs(os[j] * hu_[last][j]) + std::abs(om[j])) + kTiny);
  }
  sanitize(e.lo, e.hi);
}

Enclosure Bounder::outputs(const Box& box, Method method) {
  forward_bounds(box, method);
  Enclosure e;
  last_layer_outputs(e);
  const std::size_t last = n_layers_ - 1;
  const Index n = o_.n_out();
  const VectorD& os = o_.output_scaler.scale;
  const VectorD& om = o_.output_scaler.mean;
  if (method == Method::crown) {
    // Rows ±diag(out.scale) with constants ±out.mean: exact, no rounding in the set-up.
    MatrixMap<double> lam(lam_buf_.data(), 2 * n, n);
    lam.setZero();
    for (Index j = 0; j < n; ++j) {
      lam(j, j) = os[j];
      lam(n + j, j) = -os[j];
      cst_[j] = om[j];
      cst_[n + j] = -om[j];
    }
    backsub(last, 2 * n);
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
  last_layer_outputs(ibp_);
  const Enclosure& e = ibp_;
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
  MatrixMap<double> lam(lam_buf_.data(), 1, n);
  double cm = 0.0, cm_mag = 0.0;
  for (Index j = 0; j < n; ++j) {
    lam(0, j) = -c[j] * o_.output_scaler.scale[j];
    cm += c[j] * o_.output_scaler.mean[j];
    cm_mag += std::abs(c[j] * o_.output_scaler.mean[j]);
  }
  const double setup_err = gamma2(n + 2) * (lam.row(0).cwiseAbs().dot(hmag_[last]) + cm_mag) + kTiny;
  cst_[0] = -cm - setup_err;
  backsub(last, 1);
  const double crown_ub = -out_[0];
  if (slope)
    for (Index i = 0; i < o_.n_in(); ++i)
      (*slope)[i] = -lam_buf_[static_cast<std::size_t>(i)] / o_.input_scaler.scale[i];
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
