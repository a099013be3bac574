// Interval arithmetic here is in midpoint–radius form (Rump): an interval matrix is
// mid ± rad. A product of a point matrix A and mid ± rad is A·mid ± (|A|·rad + γ|A||mid|);
// of two interval quantities, a·b ± (|a|·rb + ra·(|b| + rb)). Radii are sums of non-negative
// terms computed in floating point, so each is scaled by (1 + γ) and increased by a tiny
// constant before use (`round_up`).
#include "invsweep/certify/roots.hpp"

#include <Eigen/LU>
#include <algorithm>
#include <chrono>

#include "invsweep/certify/activation_bounds.hpp"

namespace invsweep::certify {

namespace {

void round_up(MatrixD& r, Index n) {
  r = (r.array() * (1.0 + gamma2(n + 4)) + kTiny).matrix();
}
void round_up(VectorD& r, Index n) {
  r = (r.array() * (1.0 + gamma2(n + 4)) + kTiny).matrix();
}

struct Krawczyk {
  bool valid = false;  // false: singular midpoint Jacobian or non-finite values
  VectorD lo, hi;      // K(X), free coordinates
};

class RootFinder {
 public:
  RootFinder(const oracle::Oracle& o, const VectorD& t, const Box& box, std::vector<Index> free)
      : o_(o), t_(t), box_(box), free_(std::move(free)), bounder_(o), full_(box) {}

  /// The full box with the free coordinates set to [lo, hi].
  const Box& full(const VectorD& lo, const VectorD& hi) {
    for (std::size_t j = 0; j < free_.size(); ++j) {
      full_.lo[free_[j]] = lo[static_cast<Index>(j)];
      full_.hi[free_[j]] = hi[static_cast<Index>(j)];
    }
    return full_;
  }

  /// True when the output enclosure over X excludes t (no root in X).
  bool excluded(const VectorD& lo, const VectorD& hi) {
    const Enclosure e = bounder_.outputs(full(lo, hi), Method::crown);
    for (Index j = 0; j < t_.size(); ++j)
      if (e.hi[j] < t_[j] || e.lo[j] > t_[j]) return true;
    return false;
  }

  Krawczyk krawczyk(const VectorD& xl, const VectorD& xu) {
    const Index k = xl.size();
    Krawczyk res;
    const VectorD m = 0.5 * (xl + xu);
    // F(m) = oracle(m) − t, enclosed.
    const Enclosure fe = bounder_.outputs(full(m, m), Method::crown);
    VectorD fm(k), fr(k);
    for (Index j = 0; j < k; ++j) {
      const double a = fe.lo[j] - t_[j], b = fe.hi[j] - t_[j];
      const double lo = down(a, 2 * kUnit * std::abs(a)), hi = up(b, 2 * kUnit * std::abs(b));
      fm[j] = 0.5 * (lo + hi);
      fr[j] = up(std::max(hi - fm[j], fm[j] - lo), 2 * kUnit * (hi - lo));
    }
    MatrixD jm, jr;
    jacobian_enclosure(bounder_, full(xl, xu), free_, jm, jr);
    if (!jm.allFinite() || !jr.allFinite() || !fm.allFinite() || !fr.allFinite()) return res;
    const Eigen::FullPivLU<MatrixD> lu(jm);
    if (!lu.isInvertible()) return res;
    const MatrixD y = lu.inverse();
    const MatrixD ya = y.cwiseAbs();
    const double g = gamma2(k + 2);
    // Y·F(m)
    const VectorD yf_mid = y * fm;
    VectorD yf_rad = ya * (fr + g * fm.cwiseAbs());
    round_up(yf_rad, k);
    // C = I − Y·J(X)
    MatrixD c_mid = MatrixD::Identity(k, k) - y * jm;
    MatrixD c_rad = ya * (jr + g * jm.cwiseAbs()) + 2 * kUnit * c_mid.cwiseAbs();
    round_up(c_rad, k);
    // X − m = 0 ± v
    VectorD v(k);
    for (Index i = 0; i < k; ++i)
      v[i] = up(std::max(m[i] - xl[i], xu[i] - m[i]), 2 * kUnit * (xu[i] - xl[i]));
    VectorD cv = (c_mid.cwiseAbs() + c_rad) * v;
    round_up(cv, k);
    const VectorD k_mid = m - yf_mid;
    VectorD k_rad = yf_rad + cv + 2 * kUnit * k_mid.cwiseAbs();
    round_up(k_rad, k);
    res.lo.resize(k);
    res.hi.resize(k);
    for (Index i = 0; i < k; ++i) {
      const double slack = 2 * kUnit * (std::abs(k_mid[i]) + k_rad[i]);
      res.lo[i] = down(k_mid[i] - k_rad[i], slack);
      res.hi[i] = up(k_mid[i] + k_rad[i], slack);
    }
    res.valid = res.lo.allFinite() && res.hi.allFinite();
    return res;
  }

  const std::vector<Index>& free() const { return free_; }

 private:
  const oracle::Oracle& o_;
  VectorD t_;
  Box box_;
  std::vector<Index> free_;
  Bounder bounder_;
  Box full_;
};

bool inside(const VectorD& lo, const VectorD& hi, const VectorD& blo, const VectorD& bhi) {
  return (lo.array() >= blo.array()).all() && (hi.array() <= bhi.array()).all();
}
bool strictly_inside(const VectorD& lo, const VectorD& hi, const VectorD& blo, const VectorD& bhi) {
  return (lo.array() > blo.array()).all() && (hi.array() < bhi.array()).all();
}
bool disjoint(const VectorD& lo, const VectorD& hi, const VectorD& blo, const VectorD& bhi) {
  return (hi.array() < blo.array()).any() || (lo.array() > bhi.array()).any();
}

struct Record {
  VectorD klo, khi;  // the root's enclosure
  VectorD plo, phi;  // the box in which it is the only root
};

}  // namespace

void jacobian_enclosure(Bounder& bounder, const Box& box, const std::vector<Index>& free, MatrixD& mid, MatrixD& rad) {
  const oracle::Oracle& o = bounder.oracle();
  bounder.outputs(box, Method::crown);  // pre-activation bounds of every layer
  const Index k = static_cast<Index>(free.size());
  MatrixD m = MatrixD::Zero(o.n_in(), k), r = MatrixD::Zero(o.n_in(), k), mz, rz;
  for (Index j = 0; j < k; ++j) {
    const Index i = free[static_cast<std::size_t>(j)];
    m(i, j) = 1.0 / o.input_scaler.scale[i];
    r(i, j) = 2 * kUnit * m(i, j);
  }
  for (std::size_t layer = 0; layer < o.net.n_layers(); ++layer) {
    const ConstMatrixMap<double> w = o.net.weight(layer);
    const nn::LayerSpec& ls = o.net.layer(layer);
    mz.noalias() = w * m;
    rz.noalias() = w.cwiseAbs() * (r + gamma2(ls.in + 2) * m.cwiseAbs());
    round_up(rz, ls.in);
    for (Index row = 0; row < ls.out; ++row) {
      const Interval g = derivative_range(ls.act, bounder.pre_lo(layer)[row], bounder.pre_hi(layer)[row]);
      const double gm = 0.5 * (g.lo + g.hi);
      const double gr = up(std::max(g.hi - gm, gm - g.lo), 2 * kUnit * (std::abs(g.lo) + std::abs(g.hi)));
      rz.row(row) = (std::abs(gm) * rz.row(row).array() + gr * (mz.row(row).array().abs() + rz.row(row).array()) +
                     2 * kUnit * std::abs(gm) * mz.row(row).array().abs())
                        .matrix();
      mz.row(row) *= gm;
    }
    round_up(rz, 4);
    m.swap(mz);
    r.swap(rz);
  }
  const VectorD& os = o.output_scaler.scale;
  mid = os.asDiagonal() * m;
  rad = os.asDiagonal() * r + 2 * kUnit * mid.cwiseAbs();
  round_up(rad, 4);
  for (Index i = 0; i < rad.size(); ++i)
    if (std::isnan(rad.data()[i]) || std::isnan(mid.data()[i])) rad.data()[i] = kInf;
}

RootResult count_roots(const oracle::Oracle& o, const VectorD& t, const Box& box, const RootSettings& s) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  RootResult res;
  std::vector<Index> free;
  for (Index i = 0; i < box.size(); ++i)
    if (box.hi[i] > box.lo[i]) free.push_back(i);
  if (static_cast<Index>(free.size()) != o.n_out() || t.size() != o.n_out() || t.hasNaN()) return res;
  res.square = true;
  const Index k = o.n_out();
  RootFinder rf(o, t, box, free);
  VectorD blo(k), bhi(k);
  for (Index j = 0; j < k; ++j)
    blo[j] = box.lo[free[static_cast<std::size_t>(j)]], bhi[j] = box.hi[free[static_cast<std::size_t>(j)]];

  std::vector<std::pair<VectorD, VectorD>> stack{{blo, bhi}};
  std::vector<Record> records;
  while (!stack.empty()) {
    if (res.boxes >= s.max_boxes || elapsed() > s.time_limit) break;
    auto [xl, xu] = std::move(stack.back());
    stack.pop_back();
    ++res.boxes;
    if (rf.excluded(xl, xu)) continue;
    const VectorD w = xu - xl;
    const VectorD pl = xl - s.inflate * w, pu = xu + s.inflate * w;
    const Krawczyk kp = rf.krawczyk(pl, pu);
    if (kp.valid && strictly_inside(kp.lo, kp.hi, pl, pu)) {
      records.push_back({kp.lo, kp.hi, pl, pu});
      continue;
    }
    const Krawczyk kx = rf.krawczyk(xl, xu);
    if (kx.valid) {
      if (disjoint(kx.lo, kx.hi, xl, xu)) continue;
      // Every root of X lies in K(X) ∩ X: keep that when it is much smaller.
      const VectorD nl = kx.lo.cwiseMax(xl), nu = kx.hi.cwiseMin(xu);
      if (((nu - nl).array() <= 0.5 * w.array()).all()) {
        stack.emplace_back(nl, nu);
        continue;
      }
    }
    Index split = 0;
    double widest = -1;
    for (Index j = 0; j < k; ++j) {
      const double sw = w[j] / o.input_scaler.scale[free[static_cast<std::size_t>(j)]];
      if (sw > widest) widest = sw, split = j;
    }
    const double mid = 0.5 * (xl[split] + xu[split]);
    if (!(mid > xl[split] && mid < xu[split])) {  // cannot split any further
      ++res.undecided;
      continue;
    }
    VectorD au = xu, bl = xl;
    au[split] = mid;
    bl[split] = mid;
    stack.emplace_back(xl, au);
    stack.emplace_back(bl, xu);
  }
  res.undecided += static_cast<std::int64_t>(stack.size());

  // Roots inside the box, each counted once.
  std::vector<const Record*> kept;
  for (Record& r : records) {
    for (int it = 0; it < 8 && !inside(r.klo, r.khi, blo, bhi) && !disjoint(r.klo, r.khi, blo, bhi); ++it) {
      const Krawczyk kk = rf.krawczyk(r.klo, r.khi);  // the root is in K, so in K(K) ∩ K
      if (!kk.valid) break;
      r.klo = r.klo.cwiseMax(kk.lo);
      r.khi = r.khi.cwiseMin(kk.hi);
    }
    if (disjoint(r.klo, r.khi, blo, bhi)) continue;
    if (!inside(r.klo, r.khi, blo, bhi)) {  // on the boundary to floating-point resolution
      ++res.undecided;
      continue;
    }
    bool duplicate = false;
    for (const Record* q : kept) {
      if (disjoint(r.klo, r.khi, q->klo, q->khi)) continue;
      if (inside(r.klo, r.khi, q->plo, q->phi) || inside(q->klo, q->khi, r.plo, r.phi)) {
        duplicate = true;
        break;
      }
      ++res.undecided;  // overlapping enclosures not known to be the same root
    }
    if (!duplicate) kept.push_back(&r);
  }
  for (const Record* r : kept) {
    Box b = rf.full(r->klo, r->khi);
    res.enclosures.push_back(b);
  }
  res.n_roots = res.undecided == 0 ? static_cast<int>(kept.size()) : -1;
  res.seconds = elapsed();
  return res;
}

}  // namespace invsweep::certify
