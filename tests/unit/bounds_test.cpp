// BoundMap for every method: apply against the closed forms of bounds.hpp computed here in
// double, backprop (g ← g ⊙ ds/dv) against central differences of apply, the penalty's
// gradient against central differences of its value, invert, project and inside.
//
// Free features of the test problem, in scaled units: 0 in [−1, 1.5], 1 ≥ −0.5, 2 ≤ 0.8,
// 3 unbounded, 4 in [0.2, 0.6]; oracle feature 4 is fixed (so free 4 is oracle feature 5),
// and every feature has its own mean and scale (the paper method works in original units).
#include "invsweep/inverse/bounds.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "fd_check.hpp"

using namespace invsweep;
using namespace invsweep::inverse;
using invsweep::testing::FdTable;
using invsweep::testing::random_oracle;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
const std::vector<Index> kFree = {0, 1, 2, 3, 5};
const double kLo[] = {-1.0, -0.5, -kInf, -kInf, 0.2};  // scaled, per free feature
const double kHi[] = {1.5, kInf, 0.8, kInf, 0.6};

struct Method {
  BoundMethod method;
  double c1, c2;
  std::string name;
};

void PrintTo(const Method& m, std::ostream* os) {
  *os << m.name;
}

double softplus(double z) {
  return std::max(z, 0.0) + std::log1p(std::exp(-std::abs(z)));
}

struct Fixture {
  oracle::Oracle o = random_oracle(6, 1, 400);
  nn::Mlp<float> net = o.net.cast<float>();
  Constraint c = Constraint::free(6);
  Objective obj;
  Fixture(const Method& m) {
    c.method = m.method;
    c.paper_c1 = m.c1;
    c.paper_c2 = m.c2;
    c.penalty = 3.0;
    c.fixed[4] = 1;
    c.fixed_value[4] = o.input_scaler.mean[4];
    for (std::size_t k = 0; k < kFree.size(); ++k) {
      const Index i = kFree[k];
      c.lower[i] = o.input_scaler.mean[i] + kLo[k] * o.input_scaler.scale[i];
      c.upper[i] = o.input_scaler.mean[i] + kHi[k] * o.input_scaler.scale[i];
    }
    obj.target = VectorD::Zero(1);
  }
  double mean(Index k) const { return o.input_scaler.mean[kFree[static_cast<std::size_t>(k)]]; }
  double scale(Index k) const { return o.input_scaler.scale[kFree[static_cast<std::size_t>(k)]]; }
  double lower(Index k) const { return c.lower[kFree[static_cast<std::size_t>(k)]]; }  // original units
  double upper(Index k) const { return c.upper[kFree[static_cast<std::size_t>(k)]]; }
};

// The map of bounds.hpp for free feature k at v (double). For the one-sided sigmoid map the
// softplus is taken of the distance to the bound, so that s ≈ v far from it (bounds.cpp; the
// header's shorthand writes lo + softplus(v)).
double apply_closed_form(const Method& m, const Fixture& st, Index k, double v) {
  const auto uk = static_cast<std::size_t>(k);
  const bool l = std::isfinite(kLo[uk]), h = std::isfinite(kHi[uk]);
  switch (m.method) {
    case BoundMethod::sigmoid:
      if (l && h) return kLo[uk] + (kHi[uk] - kLo[uk]) / (1.0 + std::exp(-v));
      if (l) return kLo[uk] + softplus(v - kLo[uk]);
      if (h) return kHi[uk] - softplus(kHi[uk] - v);
      return v;
    case BoundMethod::paper: {
      const double x = v * st.scale(k) + st.mean(k);
      double f = x;
      if (h && x >= st.upper(k))
        f = x / m.c1;
      else if (l && x <= st.lower(k))
        f = x * m.c2;
      return (f - st.mean(k)) / st.scale(k);
    }
    case BoundMethod::penalty:
      return v;
  }
  return v;
}

// Values of v [5, batch], none within `margin` of a bound (the paper map jumps there, the
// penalty has a kink).
MatrixF values(Rng& rng, Index batch, double sigma, double margin) {
  MatrixF v(5, batch);
  for (Index j = 0; j < batch; ++j)
    for (Index k = 0; k < 5; ++k)
      for (;;) {
        const double x = sigma * rng.normal();
        const auto uk = static_cast<std::size_t>(k);
        if (std::abs(x - kLo[uk]) < margin || std::abs(x - kHi[uk]) < margin) continue;
        v(k, j) = static_cast<float>(x);
        break;
      }
  return v;
}

}  // namespace

class BoundMapCheck : public ::testing::TestWithParam<Method> {};

TEST_P(BoundMapCheck, ApplyMatchesTheDocumentedClosedForms) {
  const Method& m = GetParam();
  const Fixture st(m);
  const Problem p(st.o, st.net, st.obj, st.c, Regularize{});
  const BoundMap map(p);
  ASSERT_EQ(map.method(), m.method);
  Rng rng(410);
  for (Index batch : {1, 7, 64}) {
    const MatrixF v = values(rng, batch, 2.5, 1e-2);
    MatrixF s(5, batch);
    map.apply(v, s);
    for (Index k = 0; k < 5; ++k)
      for (Index j = 0; j < batch; ++j) {
        const double expected = apply_closed_form(m, st, k, v(k, j));
        EXPECT_NEAR(s(k, j), expected, 1e-5 * (1 + std::abs(expected) + std::abs(st.mean(k)) / st.scale(k)))
            << m.name << ": feature " << k << " v " << v(k, j);
      }
  }
}

// ds/dv by central differences of apply in float32 with step 2^-6 (the difference divided by
// the step actually taken between the two float inputs); error |a − n| / max(|a|, |n|, 1).
TEST_P(BoundMapCheck, BackpropMultipliesByTheDerivativeOfApply) {
  const Method& m = GetParam();
  const Fixture st(m);
  const Problem p(st.o, st.net, st.obj, st.c, Regularize{});
  const BoundMap map(p);
  const float h = 1.0f / 64.0f;
  const double tol = 5e-4;
  invsweep::testing::WorstError worst;
  Rng rng(420);
  for (Index batch : {1, 7, 64}) {
    const MatrixF v = values(rng, batch, 2.5, 0.05);
    MatrixF g0(5, batch);
    for (Index i = 0; i < g0.size(); ++i)
      g0.data()[i] = static_cast<float>((rng.uniform() < 0.5 ? -1 : 1) * rng.uniform(0.5, 2.0));
    MatrixF g = g0;
    map.backprop(v, g);
    FdTable t;
    t.floor = 1.0;
    MatrixF sp(5, batch), sm(5, batch);
    for (Index i = 0; i < v.size(); ++i) {
      MatrixF vp = v, vm = v;
      vp.data()[i] += h;
      vm.data()[i] -= h;
      map.apply(vp, sp);
      map.apply(vm, sm);
      const double numeric = (static_cast<double>(sp.data()[i]) - static_cast<double>(sm.data()[i])) /
                             (static_cast<double>(vp.data()[i]) - static_cast<double>(vm.data()[i]));
      t.add(fmt::format("feature {} v {:+.3f}", i % 5, static_cast<double>(v.data()[i])),
            static_cast<double>(g.data()[i]) / static_cast<double>(g0.data()[i]), numeric);
    }
    worst.update(t.worst);
    EXPECT_LE(t.worst, tol) << m.name << ", batch " << batch << "\n" << t.table(tol);
  }
}

// The penalty method adds λ·mean_j Σ_k relu(lo_k − s_kj) + relu(s_kj − hi_k) and its gradient;
// the other methods add nothing.
TEST_P(BoundMapCheck, PenaltyValueAndGradientMatch) {
  const Method& m = GetParam();
  const Fixture st(m);
  const Problem p(st.o, st.net, st.obj, st.c, Regularize{});
  const BoundMap map(p);
  const float h = 1.0f / 64.0f;
  invsweep::testing::WorstError worst;
  Rng rng(430);
  for (Index batch : {1, 7, 64}) {
    const MatrixF s = values(rng, batch, 2.5, 0.05);
    const MatrixF g0 = invsweep::testing::random_matrix(rng, 5, batch, 1.0);
    MatrixF g = g0;
    const double pen = map.penalty(s, g);
    if (m.method != BoundMethod::penalty) {
      EXPECT_EQ(pen, 0.0) << m.name;
      EXPECT_TRUE(g == g0) << m.name;
      continue;
    }
    double expected = 0;
    for (Index k = 0; k < 5; ++k)
      for (Index j = 0; j < batch; ++j)
        expected +=
            std::max(kLo[k] - static_cast<double>(s(k, j)), 0.0) + std::max(static_cast<double>(s(k, j)) - kHi[k], 0.0);
    expected *= st.c.penalty / static_cast<double>(batch);
    EXPECT_NEAR(pen, expected, 1e-6 * (1 + expected)) << "batch " << batch;
    FdTable t;
    t.floor = st.c.penalty / static_cast<double>(batch);  // the size of a non-zero component
    MatrixF scratch(5, batch);
    for (Index i = 0; i < s.size(); ++i) {
      MatrixF spl = s, smi = s;
      spl.data()[i] += h;
      smi.data()[i] -= h;
      const double numeric = (map.penalty(spl, scratch) - map.penalty(smi, scratch)) /
                             (static_cast<double>(spl.data()[i]) - static_cast<double>(smi.data()[i]));
      t.add(fmt::format("feature {} s {:+.3f}", i % 5, static_cast<double>(s.data()[i])),
            static_cast<double>(g.data()[i]) - static_cast<double>(g0.data()[i]), numeric);
    }
    worst.update(t.worst);
    EXPECT_LE(t.worst, 1e-4) << "batch " << batch << "\n" << t.table(1e-4);
  }
}

// invert gives a v with apply(v) = s for s strictly inside the bounds.
TEST_P(BoundMapCheck, InvertIsTheInverseOfApplyStrictlyInside) {
  const Method& m = GetParam();
  const Fixture st(m);
  const Problem p(st.o, st.net, st.obj, st.c, Regularize{});
  const BoundMap map(p);
  Rng rng(440);
  const Index batch = 64;
  MatrixF s(5, batch), v(5, batch), back(5, batch);
  for (Index j = 0; j < batch; ++j)
    for (Index k = 0; k < 5; ++k) {
      const bool l = std::isfinite(kLo[k]), hb = std::isfinite(kHi[k]);
      const double x =
          l && hb ? kLo[k] + (kHi[k] - kLo[k]) * rng.uniform(0.02, 0.98)
                  : (l ? kLo[k] + rng.uniform(0.02, 6.0) : (hb ? kHi[k] - rng.uniform(0.02, 6.0) : 3 * rng.normal()));
      s(k, j) = static_cast<float>(x);
    }
  map.invert(s, v);
  map.apply(v, back);
  for (Index k = 0; k < 5; ++k)
    for (Index j = 0; j < batch; ++j)
      EXPECT_NEAR(back(k, j), s(k, j),
                  2e-5 * (1 + std::abs(static_cast<double>(s(k, j))) + std::abs(st.mean(k)) / st.scale(k)))
          << m.name << ": feature " << k << " s " << s(k, j) << " v " << v(k, j);
  if (m.method != BoundMethod::sigmoid) {
    EXPECT_TRUE(v == s) << "identity for " << m.name;
  }
}

// project clamps into [lo, hi] (unbounded features untouched); inside() allows `tol`.
TEST_P(BoundMapCheck, ProjectClampsAndInsideHonoursTheTolerance) {
  const Method& m = GetParam();
  const Fixture st(m);
  const Problem p(st.o, st.net, st.obj, st.c, Regularize{});
  const BoundMap map(p);
  Rng rng(450);
  MatrixF s = invsweep::testing::random_matrix(rng, 5, 64, 3.0);
  s(3, 0) = 1e30f;
  s(3, 1) = -1e30f;
  const MatrixF before = s;
  EXPECT_FALSE(map.inside(s));
  map.project(s);
  EXPECT_TRUE(map.inside(s, 0.0));
  for (Index k = 0; k < 5; ++k)
    for (Index j = 0; j < s.cols(); ++j) {
      const auto lo = static_cast<float>(p.lo()[k]), hi = static_cast<float>(p.hi()[k]);
      if (std::isfinite(kLo[k])) {
        EXPECT_NEAR(static_cast<double>(lo), kLo[k], 1e-6 * (1 + std::abs(kLo[k])));
      }
      if (std::isfinite(kHi[k])) {
        EXPECT_NEAR(static_cast<double>(hi), kHi[k], 1e-6 * (1 + std::abs(kHi[k])));
      }
      EXPECT_EQ(s(k, j), std::clamp(before(k, j), lo, hi)) << "feature " << k;
    }
  const double tol = 1e-3;
  for (Index k : {0, 1, 4}) {  // lower bounds
    MatrixF t = s;
    t(k, 5) = static_cast<float>(kLo[k] - 0.5 * tol);
    EXPECT_TRUE(map.inside(t, tol)) << "feature " << k;
    t(k, 5) = static_cast<float>(kLo[k] - 2 * tol);
    EXPECT_FALSE(map.inside(t, tol)) << "feature " << k;
  }
  for (Index k : {0, 2, 4}) {  // upper bounds
    MatrixF t = s;
    t(k, 6) = static_cast<float>(kHi[k] + 0.5 * tol);
    EXPECT_TRUE(map.inside(t, tol)) << "feature " << k;
    t(k, 6) = static_cast<float>(kHi[k] + 2 * tol);
    EXPECT_FALSE(map.inside(t, tol)) << "feature " << k;
  }
}

INSTANTIATE_TEST_SUITE_P(Methods, BoundMapCheck,
                         ::testing::Values(Method{BoundMethod::sigmoid, 10, 50, "sigmoid"},
                                           Method{BoundMethod::paper, 10, 50, "paper_c1_10_c2_50"},
                                           Method{BoundMethod::paper, 3, 7, "paper_c1_3_c2_7"},
                                           Method{BoundMethod::penalty, 10, 50, "penalty"}),
                         [](const ::testing::TestParamInfo<Method>& i) { return i.param.name; });
