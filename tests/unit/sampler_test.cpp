// Solver `sampler` against the true distribution on hand-built oracles. The truth comes from
// the closed-form functions by rejection sampling (uniform prior, a narrow band, many draws)
// or, for isolated roots, from their shares 1/|f′(root)| — never from the sampler itself.
#include "invsweep/solvers/sampler.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "closed_form.hpp"
#include "invsweep/core/errors.hpp"
#include "invsweep/core/rng.hpp"
#include "invsweep/solvers/registry.hpp"

using namespace invsweep;
using namespace invsweep::inverse;
using invsweep::solvers::SamplerMethod;
using invsweep::solvers::SamplerSettings;
using invsweep::testing::linear_oracle;

namespace {

using Fn = std::function<double(const VectorD&)>;

/// y = Σ_i softplus(x_i) + softplus(−x_i): a smooth 1-norm with a non-constant gradient.
oracle::Oracle norm_oracle(Index n) {
  oracle::Oracle o = linear_oracle(VectorD::Ones(n), 0.0);
  o.net = nn::Mlp<double>({{n, 2 * n, nn::Activation::softplus}, {2 * n, 1, nn::Activation::identity}});
  o.net.weight(0).setZero();
  for (Index i = 0; i < n; ++i) {
    o.net.weight(0)(2 * i, i) = 1.0;
    o.net.weight(0)(2 * i + 1, i) = -1.0;
  }
  o.net.bias(0).setZero();
  o.net.weight(1).setOnes();
  o.net.bias(1).setZero();
  return o;
}
double softplus(double v) {
  return v > 30 ? v : std::log1p(std::exp(v));
}
double norm_f(const VectorD& x) {
  double s = 0;
  for (Index i = 0; i < x.size(); ++i)
    s += softplus(x[i]) + softplus(-x[i]);
  return s;
}

/// y = g(x1) = Σ c·tanh(a(x1 − b)) − 0.3, four roots in [−5, 5]; x2 does not matter.
const double kRoots[4][3] = {{2, -3, 1}, {1.2, -0.5, -1}, {3, 2, 1}, {2.5, 3.8, -1}};
oracle::Oracle multiroot_oracle() {
  VectorD a(2);
  a << 1.0, 0.0;
  oracle::Oracle o = linear_oracle(a, 0.0);
  o.net = nn::Mlp<double>({{2, 4, nn::Activation::tanh}, {4, 1, nn::Activation::identity}});
  o.net.weight(0).setZero();
  for (Index i = 0; i < 4; ++i) {
    o.net.weight(0)(i, 0) = kRoots[i][0];
    o.net.bias(0)[i] = -kRoots[i][0] * kRoots[i][1];
    o.net.weight(1)(0, i) = kRoots[i][2];
  }
  o.net.bias(1)[0] = -0.3;
  return o;
}
double g_root(double x) {
  double s = -0.3;
  for (const auto& r : kRoots)
    s += r[2] * std::tanh(r[0] * (x - r[1]));
  return s;
}
double dg_root(double x) {
  double s = 0;
  for (const auto& r : kRoots)
    s += r[2] * r[0] / std::pow(std::cosh(r[0] * (x - r[1])), 2);
  return s;
}

TaskSpec sampler_task(const oracle::Oracle& o, Index samples, const SamplerSettings& ss) {
  TaskSpec s;
  s.seed = 11;
  s.samples = samples;
  s.solver = solvers::find("sampler");
  s.settings = ss;
  s.objective.kind = ObjectiveKind::target;
  s.constraint = Constraint::free(o.n_in());
  return s;
}

/// Uniform draws in [lo, hi] kept when keep(x): at most `want` of them, rows = features.
MatrixD rejection(const VectorD& lo, const VectorD& hi, const std::function<bool(const VectorD&)>& keep, Index want,
                  std::int64_t max_draws, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<VectorD> got;
  VectorD x(lo.size());
  for (std::int64_t d = 0; d < max_draws && static_cast<Index>(got.size()) < want; ++d) {
    for (Index k = 0; k < lo.size(); ++k)
      x[k] = rng.uniform(lo[k], hi[k]);
    if (keep(x)) got.push_back(x);
  }
  MatrixD m(lo.size(), static_cast<Index>(got.size()));
  for (std::size_t j = 0; j < got.size(); ++j)
    m.col(static_cast<Index>(j)) = got[j];
  return m;
}

/// Wasserstein-1 distance between two 1-D samples: ∫ |F(x) − G(x)| dx.
double w1(VectorD a, VectorD b) {
  std::sort(a.data(), a.data() + a.size());
  std::sort(b.data(), b.data() + b.size());
  std::vector<double> all(a.data(), a.data() + a.size());
  all.insert(all.end(), b.data(), b.data() + b.size());
  std::sort(all.begin(), all.end());
  double sum = 0;
  std::size_t ia = 0, ib = 0;
  for (std::size_t i = 0; i + 1 < all.size(); ++i) {
    while (ia < static_cast<std::size_t>(a.size()) && a[static_cast<Index>(ia)] <= all[i])
      ++ia;
    while (ib < static_cast<std::size_t>(b.size()) && b[static_cast<Index>(ib)] <= all[i])
      ++ib;
    const double fa = static_cast<double>(ia) / static_cast<double>(a.size());
    const double fb = static_cast<double>(ib) / static_cast<double>(b.size());
    sum += std::abs(fa - fb) * (all[i + 1] - all[i]);
  }
  return sum;
}

/// Every free feature's W1 to the truth ≤ frac × its box width; prints W1 and the noise floor
/// (W1 between two truth halves of the sampler's size).
void expect_w1(const MatrixD& got, const MatrixD& truth, const VectorD& lo, const VectorD& hi,
               const std::vector<Index>& features, double frac) {
  ASSERT_GE(truth.cols(), 2 * got.cols()) << "too few rejection draws";
  for (Index f : features) {
    const double width = hi[f] - lo[f];
    const double d = w1(got.row(f).transpose(), truth.row(f).transpose());
    const double floor =
        w1(truth.row(f).head(got.cols()).transpose(), truth.row(f).segment(got.cols(), got.cols()).transpose());
    std::printf("  feature %ld: W1 %.4f (%.2f%% of range), noise floor %.4f (%.2f%%)\n", static_cast<long>(f), d,
                100 * d / width, floor, 100 * floor / width);
    EXPECT_LE(d, frac * width) << "feature " << f << " (noise floor " << floor << ")";
  }
}

void print_diag(const TaskResult& r) {
  std::printf("  acceptance %.3f  ESS %.0f  R-hat %.4f  %.2f s\n  %s\n", r.acceptance, r.ess, r.rhat, r.wall_seconds,
              r.message.c_str());
}

}  // namespace

// Every distribution test runs with each method alone (no fallback from one to the other).
class SamplerMethods : public ::testing::TestWithParam<SamplerMethod> {};

SamplerSettings with_method(SamplerMethod m) {
  SamplerSettings ss;
  ss.method = m;
  return ss;
}

TEST_P(SamplerMethods, LinearLevelSetIsUniformOnTheSegment) {
  VectorD a(2);
  a << 2.0, 1.0;
  const oracle::Oracle o = linear_oracle(a, 0.0);
  const nn::Mlp<float> net = o.net.cast<float>();
  SamplerSettings ss;
  ss.method = GetParam();
  TaskSpec spec = sampler_task(o, 2000, ss);
  spec.objective.target = VectorD::Constant(1, 3.0);
  const TaskResult r = solvers::solve(o, net, spec);
  print_diag(r);
  ASSERT_EQ(r.status, Status::done) << r.message;
  for (Index j = 0; j < r.vectors.cols(); ++j) {
    EXPECT_NEAR(r.outputs(0, j), 3.0, 1e-6 * 3.0);
    EXPECT_TRUE((r.vectors.col(j).array() >= -5).all() && (r.vectors.col(j).array() <= 5).all());
  }
  const VectorD lo = VectorD::Constant(2, -5), hi = VectorD::Constant(2, 5);
  const MatrixD truth = rejection(
      lo, hi, [&](const VectorD& x) { return std::abs(a.dot(x) - 3.0) <= 1e-2; }, 10000, std::int64_t{1} << 30, 5);
  expect_w1(r.vectors, truth, lo, hi, {0, 1}, 0.02);
  EXPECT_GT(r.acceptance, 0.1);
  EXPECT_LT(r.rhat, 1.05);
}

TEST_P(SamplerMethods, TwoOutputsMeetOnALine) {
  // y = A x, A = [[1, 1, 1], [1, −1, 0]], targets (1, 0.5): the level set is a line through
  // the box, uniform on the segment inside it (J constant). Truth: uniform on that segment.
  oracle::Oracle o = linear_oracle(VectorD::Ones(3), 0.0);
  o.output_names = {"y1", "y2"};
  o.output_scaler = nn::Scaler::identity(2);
  o.net = nn::Mlp<double>({{3, 2, nn::Activation::identity}});
  o.net.weight(0) << 1, 1, 1, 1, -1, 0;
  o.net.bias(0).setZero();
  const nn::Mlp<float> net = o.net.cast<float>();
  TaskSpec spec = sampler_task(o, 2000, with_method(GetParam()));
  spec.objective.target = VectorD(2);
  spec.objective.target << 1.0, 0.5;
  const TaskResult r = solvers::solve(o, net, spec);
  print_diag(r);
  ASSERT_EQ(r.status, Status::done) << r.message;
  for (Index j = 0; j < r.vectors.cols(); ++j) {
    EXPECT_NEAR(r.outputs(0, j), 1.0, 1e-9);
    EXPECT_NEAR(r.outputs(1, j), 0.5, 1e-9);
  }
  // x = x0 + s·d with d = (1, 1, −2) ⟂ both rows, x0 = (0.75, 0.25, 0).
  VectorD x0(3), d(3);
  x0 << 0.75, 0.25, 0.0;
  d << 1.0, 1.0, -2.0;
  double s_lo = -1e300, s_hi = 1e300;
  for (Index k = 0; k < 3; ++k) {
    const double a = (-5 - x0[k]) / d[k], b = (5 - x0[k]) / d[k];
    s_lo = std::max(s_lo, std::min(a, b));
    s_hi = std::min(s_hi, std::max(a, b));
  }
  Rng rng(13);
  MatrixD truth(3, 20000);
  for (Index j = 0; j < truth.cols(); ++j)
    truth.col(j) = x0 + rng.uniform(s_lo, s_hi) * d;
  expect_w1(r.vectors, truth, VectorD::Constant(3, -5), VectorD::Constant(3, 5), {0, 1, 2}, 0.02);
}

TEST_P(SamplerMethods, CurvedSurfaceHasTheCoAreaDensityWithFixedAndBoundedFeatures) {
  // 4 inputs, x4 fixed at 1, x1 bounded to [−2, 4]: the level set is a 2-D surface in 3-D
  // whose density ∝ 1/|∇f| is far from uniform.
  const oracle::Oracle o = norm_oracle(4);
  const nn::Mlp<float> net = o.net.cast<float>();
  SamplerSettings ss;
  ss.method = GetParam();
  TaskSpec spec = sampler_task(o, 2000, ss);
  spec.objective.target = VectorD::Constant(1, 8.0);
  spec.constraint.fixed[3] = 1;
  spec.constraint.fixed_value[3] = 1.0;
  spec.constraint.lower[0] = -2.0;
  spec.constraint.upper[0] = 4.0;
  const TaskResult r = solvers::solve(o, net, spec);
  print_diag(r);
  ASSERT_EQ(r.status, Status::done) << r.message;
  VectorD lo = VectorD::Constant(4, -5), hi = VectorD::Constant(4, 5);
  lo[0] = -2;
  hi[0] = 4;
  for (Index j = 0; j < r.vectors.cols(); ++j) {
    EXPECT_NEAR(r.outputs(0, j), 8.0, 1e-6 * 8.0);
    EXPECT_EQ(r.vectors(3, j), 1.0);
    EXPECT_TRUE((r.vectors.col(j).array() >= lo.array()).all() && (r.vectors.col(j).array() <= hi.array()).all());
  }
  VectorD lo3 = lo, hi3 = hi;
  lo3[3] = hi3[3] = 1.0;
  const MatrixD truth = rejection(
      lo3, hi3, [](const VectorD& x) { return std::abs(norm_f(x) - 8.0) <= 1e-2; }, 10000, std::int64_t{1} << 30, 6);
  expect_w1(r.vectors, truth, lo, hi, {0, 1, 2}, 0.02);
  EXPECT_LT(r.rhat, 1.05);
}

TEST_P(SamplerMethods, DisconnectedRootsGetTheirTrueShares) {
  // y = g(x1): four vertical lines x1 = root_i; the mass of line i ∝ 1/|g′(root_i)|, and x2 is
  // uniform on each.
  const oracle::Oracle o = multiroot_oracle();
  const nn::Mlp<float> net = o.net.cast<float>();
  SamplerSettings ss;
  ss.method = GetParam();
  TaskSpec spec = sampler_task(o, 2000, ss);
  spec.objective.target = VectorD::Constant(1, 0.0);
  const TaskResult r = solvers::solve(o, net, spec);
  print_diag(r);
  ASSERT_EQ(r.status, Status::done) << r.message;
  std::vector<double> roots;
  for (double x = -5; x < 5; x += 1e-3)
    if ((g_root(x) < 0) != (g_root(x + 1e-3) < 0)) {
      double a = x, b = x + 1e-3;
      for (int i = 0; i < 60; ++i)
        ((g_root(a) < 0) == (g_root(0.5 * (a + b)) < 0) ? a : b) = 0.5 * (a + b);
      roots.push_back(a);
    }
  ASSERT_EQ(roots.size(), 4U);
  double total = 0;
  for (double x : roots)
    total += 1 / std::abs(dg_root(x));
  for (std::size_t i = 0; i < roots.size(); ++i) {
    Index hits = 0;
    for (Index j = 0; j < r.vectors.cols(); ++j)
      hits += std::abs(r.vectors(0, j) - roots[i]) < 1e-6 ? 1 : 0;
    const double share = static_cast<double>(hits) / static_cast<double>(r.vectors.cols());
    const double truth = 1 / std::abs(dg_root(roots[i])) / total;
    std::printf("  root %.4f: share %.4f, truth %.4f\n", roots[i], share, truth);
    EXPECT_NEAR(share, truth, 0.03) << "root " << roots[i];
  }
  const VectorD lo = VectorD::Constant(2, -5), hi = VectorD::Constant(2, 5);
  const MatrixD truth = rejection(
      lo, hi, [](const VectorD&) { return true; }, 40000, 40000, 8);
  expect_w1(r.vectors, truth, lo, hi, {1}, 0.02);  // x2: uniform on every line
  EXPECT_LT(r.rhat, 1.05);
  for (Index j = 0; j < r.vectors.cols(); ++j)
    EXPECT_NEAR(r.outputs(0, j), 0.0, 1e-9);
}

TEST_P(SamplerMethods, BandIsThePriorRestrictedToTheShell) {
  const oracle::Oracle o = norm_oracle(2);
  const nn::Mlp<float> net = o.net.cast<float>();
  SamplerSettings ss;
  ss.method = GetParam();
  ss.band = 0.05;
  TaskSpec spec = sampler_task(o, 2000, ss);
  spec.objective.target = VectorD::Constant(1, 5.0);
  const TaskResult r = solvers::solve(o, net, spec);
  print_diag(r);
  ASSERT_EQ(r.status, Status::done) << r.message;
  for (Index j = 0; j < r.vectors.cols(); ++j)
    EXPECT_LE(std::abs(r.outputs(0, j) - 5.0), 0.05 * 5.0 + 1e-12);
  const VectorD lo = VectorD::Constant(2, -5), hi = VectorD::Constant(2, 5);
  const MatrixD truth = rejection(
      lo, hi, [](const VectorD& x) { return std::abs(norm_f(x) - 5.0) <= 0.25; }, 40000, std::int64_t{1} << 30, 9);
  expect_w1(r.vectors, truth, lo, hi, {0, 1}, 0.02);
}

TEST_P(SamplerMethods, ThinBandMixesAlongItsLevelSets) {
  // A small shell leaves fewer draws inside the band than chains: the chains start from
  // projections and must travel along the band (level-set moves) and across it (the walk).
  const oracle::Oracle o = norm_oracle(2);
  const nn::Mlp<float> net = o.net.cast<float>();
  SamplerSettings ss;
  ss.method = GetParam();
  ss.band = 0.002;
  ss.shell = 2000;
  TaskSpec spec = sampler_task(o, 2000, ss);
  spec.objective.target = VectorD::Constant(1, 5.0);
  const TaskResult r = solvers::solve(o, net, spec);
  print_diag(r);
  ASSERT_EQ(r.status, Status::done) << r.message;
  EXPECT_LT(r.rhat, 1.05);
  for (Index j = 0; j < r.vectors.cols(); ++j)
    EXPECT_LE(std::abs(r.outputs(0, j) - 5.0), 0.002 * 5.0 + 1e-12);
  const VectorD lo = VectorD::Constant(2, -5), hi = VectorD::Constant(2, 5);
  const MatrixD truth = rejection(
      lo, hi, [](const VectorD& x) { return std::abs(norm_f(x) - 5.0) <= 0.01; }, 10000, std::int64_t{1} << 30, 12);
  expect_w1(r.vectors, truth, lo, hi, {0, 1}, 0.02);
}

TEST_P(SamplerMethods, RangeIsThePriorRestrictedToTheRange) {
  VectorD a(2);
  a << 2.0, 1.0;
  const oracle::Oracle o = linear_oracle(a, 0.0);
  const nn::Mlp<float> net = o.net.cast<float>();
  TaskSpec spec = sampler_task(o, 2000, with_method(GetParam()));
  spec.objective.kind = ObjectiveKind::range;
  spec.objective.lo = VectorD::Constant(1, 1.0);
  spec.objective.hi = VectorD::Constant(1, 4.0);
  const TaskResult r = solvers::solve(o, net, spec);
  print_diag(r);
  ASSERT_EQ(r.status, Status::done) << r.message;
  for (Index j = 0; j < r.vectors.cols(); ++j) {
    EXPECT_GE(r.outputs(0, j), 1.0);
    EXPECT_LE(r.outputs(0, j), 4.0);
  }
  const VectorD lo = VectorD::Constant(2, -5), hi = VectorD::Constant(2, 5);
  const MatrixD truth = rejection(
      lo, hi, [&](const VectorD& x) { return a.dot(x) >= 1 && a.dot(x) <= 4; }, 40000, std::int64_t{1} << 30, 10);
  expect_w1(r.vectors, truth, lo, hi, {0, 1}, 0.02);
}

INSTANTIATE_TEST_SUITE_P(Sampler, SamplerMethods, ::testing::Values(SamplerMethod::independence, SamplerMethod::chains),
                         [](const ::testing::TestParamInfo<SamplerMethod>& i) {
                           return i.param == SamplerMethod::independence ? "independence" : "chains";
                         });

TEST(Sampler, RefusesMaximizeAndUnboundedBoxes) {
  const solvers::Solver& s = solvers::get(solvers::find("sampler"));
  EXPECT_THROW(s.check_objective(ObjectiveKind::maximize), ConfigError);
  EXPECT_THROW(s.check_objective(ObjectiveKind::minimize), ConfigError);
  EXPECT_NO_THROW(s.check_objective(ObjectiveKind::range));
  VectorD a(2);
  a << 1.0, 1.0;
  oracle::Oracle o = linear_oracle(a, 0.0);
  o.input_lo[1] = -std::numeric_limits<double>::infinity();
  const nn::Mlp<float> net = o.net.cast<float>();
  TaskSpec spec = sampler_task(o, 16, SamplerSettings{});
  spec.objective.target = VectorD::Constant(1, 1.0);
  EXPECT_THROW(solvers::solve(o, net, spec), ConfigError);
}

TEST(Sampler, DiagnosticsSeeMixedAndStuckChains) {
  Rng rng(3);
  std::vector<MatrixD> mixed(4, MatrixD(1, 1000)), stuck(4, MatrixD(1, 1000));
  for (std::size_t c = 0; c < 4; ++c)
    for (Index i = 0; i < 1000; ++i) {
      mixed[c](0, i) = rng.normal();
      stuck[c](0, i) = rng.normal() + static_cast<double>(c);
    }
  const solvers::ChainDiagnostics m = solvers::chain_diagnostics(mixed), s = solvers::chain_diagnostics(stuck);
  EXPECT_LT(m.rhat[0], 1.01);
  EXPECT_GT(m.ess[0], 2500);
  EXPECT_GT(s.rhat[0], 1.5);
}
