// Problem::regularize: each term's returned loss against its documented formula computed here
// in double, and the gradient it adds against central differences of that formula.
//
//   min_norm   λ·mean_j ||s_j||²
//   proximity  λ·mean_j ||s_j − r||², r the reference's free features in scaled units
//   diversity  λ/(n(n−1)) Σ_{i≠j} exp(−|s_i − s_j|²/h), h = median_{i<j}(|s_i − s_j|²)/log(n+1),
//              the median being the ⌊P/2⌋-th smallest of the P pair distances (kth_smallest),
//              h treated as a constant in the gradient: the finite differences freeze it too.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "fd_check.hpp"
#include "invsweep/inverse/problem.hpp"

using namespace invsweep;
using namespace invsweep::inverse;
using invsweep::testing::FdTable;
using invsweep::testing::random_oracle;

namespace {

constexpr Index kIn = 5;
const std::vector<Index> kFree = {0, 1, 3, 4};  // feature 2 is fixed

struct Terms {
  double min_norm = 0, proximity = 0, diversity = 0;
};

// The bandwidth of the diversity term at s (double), as documented.
double bandwidth(const MatrixD& s) {
  const Index n = s.cols();
  std::vector<double> d2;
  for (Index i = 0; i < n; ++i)
    for (Index j = i + 1; j < n; ++j)
      d2.push_back((s.col(i) - s.col(j)).squaredNorm());
  std::sort(d2.begin(), d2.end());
  return std::max(d2[d2.size() / 2] / std::log(static_cast<double>(n) + 1.0), 1e-8);
}

// The regularisers' loss at s with the diversity bandwidth `h` given (frozen).
double reg_loss(const Terms& lam, const VectorD& reference_s, const MatrixD& s, double h) {
  const Index n = s.cols();
  const auto dn = static_cast<double>(n);
  double loss = lam.min_norm * s.squaredNorm() / dn;
  for (Index j = 0; j < n; ++j)
    loss += lam.proximity * (s.col(j) - reference_s).squaredNorm() / dn;
  if (lam.diversity > 0 && n > 1) {
    double sum = 0;
    for (Index i = 0; i < n; ++i)
      for (Index j = 0; j < n; ++j)
        if (i != j) sum += std::exp(-(s.col(i) - s.col(j)).squaredNorm() / h);
    loss += lam.diversity / (dn * (dn - 1)) * sum;
  }
  return loss;
}

struct Fixture {
  oracle::Oracle o = random_oracle(kIn, 1, 300);
  nn::Mlp<float> net = o.net.cast<float>();
  Constraint c = Constraint::free(kIn);
  Objective obj;
  VectorD reference = VectorD(kIn);  // original units
  VectorD reference_s;               // free features, scaled
  Fixture() {
    c.fixed[2] = 1;
    c.fixed_value[2] = o.input_scaler.mean[2];
    obj.target = VectorD::Zero(1);
    Rng rng(301);
    for (Index i = 0; i < kIn; ++i)
      reference[i] = o.input_scaler.mean[i] + o.input_scaler.scale[i] * rng.normal();
    reference[2] = 1e6;  // a fixed feature's reference is not used
    reference_s.resize(static_cast<Index>(kFree.size()));
    for (std::size_t k = 0; k < kFree.size(); ++k) {
      const Index i = kFree[k];
      reference_s[static_cast<Index>(k)] = (reference[i] - o.input_scaler.mean[i]) / o.input_scaler.scale[i];
    }
  }
  Problem problem(const Terms& lam) const {
    Regularize r;
    r.min_norm = lam.min_norm;
    r.proximity = lam.proximity;
    r.diversity = lam.diversity;
    r.reference = reference;
    return Problem(o, net, obj, c, r);
  }
};

// One setting of the terms over several batch sizes (one scratch buffer for all, sizes going
// up and down): loss against the formula, added gradient against central differences.
// Float32 arithmetic: loss to 1e-5 relative; gradient to `tol` relative, components below
// 1e-2 of the largest compared in absolute terms.
double check_terms(const Terms& lam, double tol, std::uint64_t seed) {
  const Fixture f;
  const Problem p = f.problem(lam);
  const auto nf = static_cast<Index>(kFree.size());
  EXPECT_EQ(p.n_free(), nf);
  VectorF scratch;
  double worst = 0;
  const double step = 1e-3;
  for (Index batch : {64, 1, 2, 7, 33}) {
    Rng rng(seed++);
    const MatrixF s = invsweep::testing::random_matrix(rng, nf, batch, 1.0);
    const MatrixF g0 = invsweep::testing::random_matrix(rng, nf, batch, 0.01);
    MatrixF g = g0;
    const double loss = p.regularize(s, g, scratch);
    const MatrixD sd = s.cast<double>();
    const double h = batch > 1 ? bandwidth(sd) : 1.0;
    const std::string where = fmt::format("min_norm {} proximity {} diversity {}, batch {}", lam.min_norm,
                                          lam.proximity, lam.diversity, batch);
    const double expected = reg_loss(lam, f.reference_s, sd, h);
    EXPECT_NEAR(loss, expected, 1e-5 * std::abs(expected) + 1e-9) << where;

    FdTable t;
    for (Index i = 0; i < sd.size(); ++i) {
      MatrixD sp = sd, sm = sd;
      sp.data()[i] += step;
      sm.data()[i] -= step;
      const double numeric = (reg_loss(lam, f.reference_s, sp, h) - reg_loss(lam, f.reference_s, sm, h)) / (2 * step);
      t.add(fmt::format("s_free({}, {})", i % nf, i / nf), g.data()[i] - g0.data()[i], numeric);
    }
    t.floor_at(1e-2);
    worst = std::max(worst, t.worst);
    EXPECT_LE(t.worst, tol) << where << "\n" << t.table(tol);
  }
  return worst;
}

}  // namespace

TEST(RegularizeGradient, MinNormMatchesFormulaAndFiniteDifferences) {
  invsweep::testing::WorstError worst;
  worst.update(check_terms({0.3, 0.0, 0.0}, 1e-4, 310));
  worst.update(check_terms({2.0, 0.0, 0.0}, 1e-4, 320));
}

TEST(RegularizeGradient, ProximityToAReferenceMatchesFormulaAndFiniteDifferences) {
  invsweep::testing::WorstError worst;
  worst.update(check_terms({0.0, 0.7, 0.0}, 1e-4, 330));
}

TEST(RegularizeGradient, DiversityWithFrozenBandwidthMatchesFormulaAndFiniteDifferences) {
  invsweep::testing::WorstError worst;
  worst.update(check_terms({0.0, 0.0, 0.5}, 5e-4, 340));
  worst.update(check_terms({0.0, 0.0, 3.0}, 5e-4, 350));
}

TEST(RegularizeGradient, AllTermsTogetherAddUp) {
  invsweep::testing::WorstError worst;
  worst.update(check_terms({0.3, 0.7, 0.5}, 5e-4, 360));
}

// Clustered points: the median pair distance, hence the bandwidth, is set by the pairs inside
// the clusters, and most kernel values between clusters are tiny.
TEST(RegularizeGradient, DiversityOnClusteredPoints) {
  const Fixture f;
  const Terms lam{0.0, 0.0, 1.0};
  const Problem p = f.problem(lam);
  const Index nf = p.n_free(), batch = 12;
  Rng rng(370);
  MatrixF s = invsweep::testing::random_matrix(rng, nf, batch, 0.05);
  for (Index j = batch / 2; j < batch; ++j)
    s.col(j).array() += 1.0f;
  MatrixF g = MatrixF::Zero(nf, batch);
  VectorF scratch;
  const double loss = p.regularize(s, g, scratch);
  const MatrixD sd = s.cast<double>();
  const double h = bandwidth(sd);
  EXPECT_NEAR(loss, reg_loss(lam, f.reference_s, sd, h), 1e-5 * loss);
  FdTable t;
  for (Index i = 0; i < sd.size(); ++i) {
    MatrixD sp = sd, sm = sd;
    sp.data()[i] += 1e-4;
    sm.data()[i] -= 1e-4;
    t.add(fmt::format("s_free({}, {})", i % nf, i / nf), g.data()[i],
          (reg_loss(lam, f.reference_s, sp, h) - reg_loss(lam, f.reference_s, sm, h)) / 2e-4);
  }
  t.floor_at(1e-2);
  invsweep::testing::WorstError worst;
  worst.update(t.worst);
  EXPECT_LE(t.worst, 5e-4) << t.table(5e-4);
}

// kth_smallest is what std::nth_element puts at k.
TEST(RegularizeGradient, KthSmallestMatchesNthElement) {
  Rng rng(380);
  for (Index n : {1, 2, 3, 17, 1000}) {
    std::vector<float> x(static_cast<std::size_t>(n));
    for (float& v : x)
      v = static_cast<float>(std::abs(rng.normal()) * (rng.uniform() < 0.1 ? 1e-30 : 3.0));
    for (Index k : {Index{0}, n / 2, n - 1}) {
      std::vector<float> a = x, b = x;
      std::nth_element(b.begin(), b.begin() + k, b.end());
      EXPECT_EQ(kth_smallest(a.data(), n, k), b[static_cast<std::size_t>(k)]) << "n " << n << " k " << k;
    }
  }
}
