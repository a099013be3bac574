// The whole gradient chain the solvers use, for every objective kind: free features s (scaled)
// → fill_fixed / set_free → oracle forward (float32) → objective_grad → backward → get_free
// gives dL/ds_free, checked by central differences over s_free of the same loss computed in
// double from the definitions (fixed features inserted by the test, the closed-form
// objective of fd_check.hpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "fd_check.hpp"
#include "invsweep/inverse/problem.hpp"

using namespace invsweep;
using namespace invsweep::inverse;
using invsweep::testing::FdTable;
using invsweep::testing::objective_closed_form;
using invsweep::testing::random_oracle;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr Index kIn = 5;
const std::vector<Index> kFree = {0, 2, 4};  // features 1 and 3 are fixed

Constraint with_fixed(const oracle::Oracle& o) {
  Constraint c = Constraint::free(kIn);
  c.fixed[1] = 1;
  c.fixed_value[1] = o.input_scaler.mean[1] + 0.7 * o.input_scaler.scale[1];
  c.fixed[3] = 1;
  c.fixed_value[3] = o.input_scaler.mean[3] - 1.1 * o.input_scaler.scale[3];
  return c;
}

// Scaled oracle inputs [n_in, N] with the fixed features at their scaled values.
MatrixD full_input(const oracle::Oracle& o, const Constraint& c, const MatrixD& s) {
  MatrixD full(kIn, s.cols());
  for (Index i = 0; i < kIn; ++i)
    if (c.fixed[static_cast<std::size_t>(i)] != 0)
      full.row(i).setConstant((c.fixed_value[i] - o.input_scaler.mean[i]) / o.input_scaler.scale[i]);
  for (std::size_t k = 0; k < kFree.size(); ++k)
    full.row(kFree[k]) = s.row(static_cast<Index>(k));
  return full;
}

// Per output and column: −1 below the range, 0 inside, 1 above (0 for other objectives).
Eigen::MatrixXi sides(const Objective& obj, const nn::Scaler& os, const MatrixD& u) {
  Eigen::MatrixXi r = Eigen::MatrixXi::Zero(u.rows(), u.cols());
  if (obj.kind != ObjectiveKind::range) return r;
  for (Index j = 0; j < u.cols(); ++j)
    for (Index k = 0; k < u.rows(); ++k) {
      const double y = u(k, j) * os.scale[k] + os.mean[k];
      r(k, j) = y < obj.lo[k] ? -1 : (y > obj.hi[k] ? 1 : 0);
    }
  return r;
}

// The loss in double; `side` (optional) gets sides() of the outputs.
double chain_loss(const nn::Mlp<double>& net, const oracle::Oracle& o, const Constraint& c, const Objective& obj,
                  const MatrixD& s, double* magnitude = nullptr, Eigen::MatrixXi* side = nullptr) {
  const MatrixD u = nn::predict(net, full_input(o, c, s));
  if (side != nullptr) *side = sides(obj, o.output_scaler, u);
  return objective_closed_form(obj, o.output_scaler, u, magnitude);
}

// The midpoint of the widest gap between sorted[i] and sorted[i + 1], i in [from, to).
double gap_middle(const std::vector<double>& sorted, std::size_t from, std::size_t to) {
  std::size_t best = from;
  for (std::size_t i = from; i < to; ++i)
    if (sorted[i + 1] - sorted[i] > sorted[best + 1] - sorted[best]) best = i;
  return 0.5 * (sorted[best] + sorted[best + 1]);
}

// An objective of `kind` for outputs u (scaled) at the starting point. Ranges put some
// columns below, some inside and some above, with ends in the widest gaps between them (no
// kink near any column); with 3 outputs the second is lower-bounded only, the third
// upper-bounded only.
Objective make_objective(ObjectiveKind kind, const oracle::Oracle& o, const MatrixD& u, bool default_weights,
                         Rng& rng) {
  const Index m = u.rows(), n = u.cols();
  const nn::Scaler& os = o.output_scaler;
  Objective obj;
  obj.kind = kind;
  if (!default_weights) {
    obj.weights = VectorD(m);
    if (m == 1)
      obj.weights << 2.5;
    else if (kind == ObjectiveKind::maximize || kind == ObjectiveKind::minimize)
      obj.weights << -0.8, 0.3, 0.0;
    else
      obj.weights << 1.5, 0.0, 0.7;
  }
  if (kind == ObjectiveKind::target) {
    MatrixD x(kIn, 1);
    for (Index i = 0; i < kIn; ++i)
      x(i, 0) = o.input_scaler.mean[i] + o.input_scaler.scale[i] * rng.normal();
    obj.target = o.predict(x).col(0);
  } else if (kind == ObjectiveKind::range) {
    VectorD lo(m), hi(m);
    for (Index k = 0; k < m; ++k) {
      if (n >= 3) {
        std::vector<double> v;
        for (Index j = 0; j < n; ++j)
          v.push_back(u(k, j));
        std::sort(v.begin(), v.end());
        const auto un = static_cast<std::size_t>(n);
        lo[k] = gap_middle(v, un / 8, un / 2);
        hi[k] = gap_middle(v, un / 2, std::max(7 * un / 8, un / 2 + 1));
        if (m == 3 && k == 1) hi[k] = kInf;
        if (m == 3 && k == 2) lo[k] = -kInf;
      } else {  // one column: below, inside, above the range by output
        const double c = u(k, 0);
        const Index where = k % 3;
        lo[k] = where == 0 ? c + 0.4 : (where == 1 ? c - 0.4 : -kInf);
        hi[k] = where == 0 ? kInf : (where == 1 ? c + 0.4 : c - 0.4);
      }
    }
    obj.lo = (lo.array() * os.scale.array() + os.mean.array()).matrix();
    obj.hi = (hi.array() * os.scale.array() + os.mean.array()).matrix();
  }
  return obj;
}

}  // namespace

class ObjectiveChain : public ::testing::TestWithParam<ObjectiveKind> {};

// Float32 forward and backward passes: a relative tolerance of 5e-4 on dL/ds (components below
// 1e-2 of the largest one compared in absolute terms) and 2e-5 on the loss. Step 1e-3 in
// scaled units; the network is smooth (tanh, softplus) and no step takes an output across a
// range end (checked).
TEST_P(ObjectiveChain, FreeFeatureGradientMatchesFiniteDifferences) {
  const ObjectiveKind kind = GetParam();
  const double h = 1e-3, tol = 5e-4;
  invsweep::testing::WorstError worst;
  std::uint64_t seed = 2000 + static_cast<std::uint64_t>(kind) * 100;
  for (Index m : {1, 3}) {
    const oracle::Oracle o = random_oracle(kIn, m, seed++);
    const nn::Mlp<float> net = o.net.cast<float>();
    const nn::Mlp<double> net_d = net.cast<double>();  // the same weights in double
    const Constraint c = with_fixed(o);
    for (Index batch : {1, 7, 64}) {
      Rng rng(seed++);
      const auto nf = static_cast<Index>(kFree.size());
      const MatrixF s = invsweep::testing::random_matrix(rng, nf, batch, 1.0);
      const MatrixD sd = s.cast<double>();
      const MatrixD u0 = nn::predict(net_d, full_input(o, c, sd));
      const Objective obj = make_objective(kind, o, u0, batch == 7, rng);
      const Problem p(o, net, obj, c, Regularize{});
      ASSERT_EQ(p.n_free(), nf);
      const std::string where = fmt::format("{}: {} outputs, batch {}, weights [{}]", to_string(kind), m, batch,
                                            fmt::join(obj.weights, ", "));
      nn::MlpWorkspace<float> ws(net, batch);
      ws.input().setConstant(std::numeric_limits<float>::quiet_NaN());
      p.fill_fixed(ws.input());
      p.set_free(s, ws.input());
      nn::forward(net, ws);
      const double loss = p.objective_grad(ws.output(), ws.grad_output());
      nn::backward(net, ws, nullptr, true);
      MatrixF g(nf, batch);
      p.get_free(ws.grad_input(), g);

      double magnitude = 0;
      Eigen::MatrixXi side0, side;
      const double expected = chain_loss(net_d, o, c, obj, sd, &magnitude, &side0);
      if (kind == ObjectiveKind::range && batch > 1) {  // columns below, inside and above
        EXPECT_TRUE((side0.row(0).array() == -1).any() && (side0.row(0).array() == 0).any() &&
                    (side0.row(0).array() == 1).any())
            << where << "\n"
            << side0;
      }
      EXPECT_NEAR(loss, expected, 2e-5 * magnitude + 1e-9) << where;

      FdTable t;
      for (Index i = 0; i < sd.size(); ++i) {
        MatrixD sp = sd, sm = sd;
        sp.data()[i] += h;
        sm.data()[i] -= h;
        const double lp = chain_loss(net_d, o, c, obj, sp, nullptr, &side);
        ASSERT_TRUE(side == side0) << where << ": a step crosses a range end (choose other range ends)";
        const double lm = chain_loss(net_d, o, c, obj, sm, nullptr, &side);
        ASSERT_TRUE(side == side0) << where << ": a step crosses a range end (choose other range ends)";
        const double numeric = (lp - lm) / (2 * h);
        t.add(fmt::format("s_free({}, {})", i % nf, i / nf), g.data()[i], numeric);
      }
      t.floor_at(1e-2);
      worst.update(t.worst);
      EXPECT_LE(t.worst, tol) << where << "\n" << t.table(tol);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, ObjectiveChain,
                         ::testing::Values(ObjectiveKind::target, ObjectiveKind::range, ObjectiveKind::maximize,
                                           ObjectiveKind::minimize),
                         [](const ::testing::TestParamInfo<ObjectiveKind>& i) {
                           return std::string(to_string(i.param));
                         });
