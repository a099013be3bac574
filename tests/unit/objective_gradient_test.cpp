// Problem::objective_grad for every objective kind: the returned mean loss against the closed
// form of its definition (fd_check.hpp, computed in double), dL/du against central finite
// differences of that closed form. Also residuals() and the unit conversions.
#include <gtest/gtest.h>

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

struct Setting {
  std::string name;
  Objective obj;
};

VectorD vec(std::initializer_list<double> v) {
  VectorD r(static_cast<Index>(v.size()));
  Index i = 0;
  for (double x : v)
    r[i++] = x;
  return r;
}

// Objectives of one kind for an oracle with output scaler `os` (1 or 3 outputs): default
// weights and explicit ones (with a zero weight when there are 3 outputs); for ranges also
// one-sided ones with ±inf ends.
std::vector<Setting> settings(ObjectiveKind kind, const nn::Scaler& os, Rng& rng) {
  const Index m = os.size();
  const std::vector<VectorD> weights =
      m == 1 ? std::vector<VectorD>{VectorD(), vec({2.5})}
             : std::vector<VectorD>{VectorD(), vec({1.5, 0.0, 0.7}), vec({-0.8, 0.3, 0.0})};
  std::vector<Setting> out;
  for (const VectorD& w : weights) {
    if (kind == ObjectiveKind::target && w.size() > 0 && w.minCoeff() < 0) continue;  // squared-error weights ≥ 0
    if (kind == ObjectiveKind::range && w.size() > 0 && w.minCoeff() < 0) continue;
    const std::string wname = w.size() == 0 ? "default weights" : fmt::format("weights [{}]", fmt::join(w, ", "));
    Objective o;
    o.kind = kind;
    o.weights = w;
    if (kind == ObjectiveKind::target) {
      o.target = os.mean + os.scale.cwiseProduct(VectorD::NullaryExpr(m, [&] { return rng.normal(); }));
      out.push_back({wname, o});
    } else if (kind == ObjectiveKind::range) {
      o.lo = os.mean - 0.5 * os.scale;
      o.hi = os.mean + 0.8 * os.scale;
      out.push_back({"two-sided, " + wname, o});
      Objective lower = o, upper = o, mixed = o;
      lower.hi.setConstant(kInf);
      out.push_back({"lower only (hi = +inf), " + wname, lower});
      upper.lo.setConstant(-kInf);
      out.push_back({"upper only (lo = -inf), " + wname, upper});
      if (m == 3) {
        mixed.hi[1] = kInf;
        mixed.lo[2] = -kInf;
        out.push_back({"two-sided / lower only / upper only, " + wname, mixed});
      }
    } else {
      out.push_back({wname, o});
    }
  }
  return out;
}

// Scaled outputs, none within `margin` of a finite range end (the loss has a kink there).
MatrixF outputs(const Objective& obj, const nn::Scaler& os, Index batch, Rng& rng, double margin) {
  MatrixF u(os.size(), batch);
  for (Index j = 0; j < batch; ++j)
    for (Index k = 0; k < os.size(); ++k) {
      for (;;) {
        const double v = 1.5 * rng.normal();
        bool near = false;
        if (obj.kind == ObjectiveKind::range)
          for (double end : {obj.lo[k], obj.hi[k]})
            near = near || (std::isfinite(end) && std::abs(v - (end - os.mean[k]) / os.scale[k]) < margin);
        if (near) continue;
        u(k, j) = static_cast<float>(v);
        break;
      }
    }
  return u;
}

}  // namespace

class ObjectiveGradient : public ::testing::TestWithParam<ObjectiveKind> {};

// dL/du of the batch mean; the loss in float32 with double accumulation, so a relative
// tolerance of 1e-5 on the loss and 1e-4 on the gradient (components below 1e-3 of the
// largest one compared in absolute terms). Central differences of the closed form in double
// are exact for these quadratic / linear functions up to rounding (step 1e-3, no kink within
// 1e-2).
TEST_P(ObjectiveGradient, LossMatchesClosedFormAndGradientMatchesFiniteDifferences) {
  const ObjectiveKind kind = GetParam();
  const double h = 1e-3, tol = 1e-4;
  invsweep::testing::WorstError worst;
  std::uint64_t seed = 1000 + static_cast<std::uint64_t>(kind) * 100;
  for (Index m : {1, 3}) {
    const oracle::Oracle o = random_oracle(2, m, seed++);
    const nn::Mlp<float> net = o.net.cast<float>();
    Rng rng(seed++);
    for (const Setting& st : settings(kind, o.output_scaler, rng)) {
      const Problem p(o, net, st.obj, Constraint::free(2), Regularize{});
      for (Index batch : {1, 7, 64}) {
        MatrixF u = outputs(st.obj, o.output_scaler, batch, rng, 10 * h);
        MatrixF g = MatrixF::Constant(m, batch, std::numeric_limits<float>::quiet_NaN());
        const double loss =
            p.objective_grad(MatrixMap<float>(u.data(), m, batch), MatrixMap<float>(g.data(), m, batch));
        const std::string where = fmt::format("{}: {} outputs, {}, batch {}", to_string(kind), m, st.name, batch);

        const MatrixD ud = u.cast<double>();
        double magnitude = 0;
        const double expected = objective_closed_form(st.obj, o.output_scaler, ud, &magnitude);
        EXPECT_NEAR(loss, expected, 1e-5 * magnitude + 1e-9) << where;

        ASSERT_TRUE(g.allFinite()) << where << ": some dL/du not written";
        FdTable t;
        for (Index i = 0; i < ud.size(); ++i) {
          MatrixD up = ud, um = ud;
          up.data()[i] += h;
          um.data()[i] -= h;
          const double numeric = (objective_closed_form(st.obj, o.output_scaler, up) -
                                  objective_closed_form(st.obj, o.output_scaler, um)) /
                                 (2 * h);
          t.add(fmt::format("u({}, {})", i % m, i / m), g.data()[i], numeric);
        }
        t.floor_at(1e-3);
        worst.update(t.worst);
        EXPECT_LE(t.worst, tol) << where << "\n" << t.table(tol);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, ObjectiveGradient,
                         ::testing::Values(ObjectiveKind::target, ObjectiveKind::range, ObjectiveKind::maximize,
                                           ObjectiveKind::minimize),
                         [](const ::testing::TestParamInfo<ObjectiveKind>& i) {
                           return std::string(to_string(i.param));
                         });

// A zero weight removes the output from the loss and from the gradient exactly, and inside a
// range the gradient is exactly zero.
TEST(ObjectiveGradient, ZeroWeightAndInsideRangeGiveExactZeros) {
  const oracle::Oracle o = random_oracle(2, 3, 77);
  const nn::Mlp<float> net = o.net.cast<float>();
  const nn::Scaler& os = o.output_scaler;
  Objective obj;
  obj.kind = ObjectiveKind::range;
  obj.lo = os.mean - os.scale;
  obj.hi = os.mean + os.scale;
  obj.weights = vec({1.0, 0.0, 1.0});
  const Problem p(o, net, obj, Constraint::free(2), Regularize{});
  MatrixF u(3, 4);
  u << -3.0f, -0.5f, 0.5f, 3.0f,  // below, inside, inside, above
      -9.0f, 9.0f, 0.0f, 40.0f,   // zero weight: anything
      0.9f, -0.9f, 0.0f, 0.99f;   // inside
  MatrixF g = MatrixF::Constant(3, 4, 1.0f);
  const double loss = p.objective_grad(MatrixMap<float>(u.data(), 3, 4), MatrixMap<float>(g.data(), 3, 4));
  EXPECT_NEAR(loss, (2.0 * 2.0 + 2.0 * 2.0) / 4.0, 1e-6);  // (u − ∓1)² for the first and last column
  EXPECT_EQ(g(0, 0), 2.0f * -2.0f / 4.0f);
  EXPECT_EQ(g(0, 3), 2.0f * 2.0f / 4.0f);
  EXPECT_TRUE((g.row(1).array() == 0.0f).all()) << g;
  EXPECT_TRUE((g.row(2).array() == 0.0f).all()) << g;
  EXPECT_EQ(g(0, 1), 0.0f);
  EXPECT_EQ(g(0, 2), 0.0f);
}

// residuals(): Euclidean distance in original units to the target or the range over the
// outputs with a non-zero weight; the weighted sum of the outputs for maximize / minimize.
TEST(ObjectiveResiduals, MatchDistancesInOriginalUnits) {
  const oracle::Oracle o = random_oracle(2, 3, 78);
  const nn::Mlp<float> net = o.net.cast<float>();
  Rng rng(79);
  MatrixD y(3, 9);
  for (Index i = 0; i < y.size(); ++i)
    y.data()[i] = 5.0 * rng.normal();
  for (ObjectiveKind kind :
       {ObjectiveKind::target, ObjectiveKind::range, ObjectiveKind::maximize, ObjectiveKind::minimize}) {
    Objective obj;
    obj.kind = kind;
    obj.weights = vec({2.0, 0.0, 0.5});
    obj.target = vec({1.0, -2.0, 3.0});
    obj.lo = vec({-1.0, -kInf, 0.0});
    obj.hi = vec({1.0, 2.0, kInf});
    const Problem p(o, net, obj, Constraint::free(2), Regularize{});
    const VectorD r = p.residuals(y);
    for (Index j = 0; j < y.cols(); ++j) {
      double expected = 0;
      if (kind == ObjectiveKind::target) {
        expected = std::hypot(y(0, j) - 1.0, y(2, j) - 3.0);
      } else if (kind == ObjectiveKind::range) {
        const double d0 = std::max({-1.0 - y(0, j), y(0, j) - 1.0, 0.0}), d2 = std::max(-y(2, j), 0.0);
        expected = std::hypot(d0, d2);
      } else {
        expected = 2.0 * y(0, j) + 0.5 * y(2, j);
      }
      EXPECT_NEAR(r[j], expected, 1e-12 * (1 + std::abs(expected))) << to_string(kind) << " column " << j;
    }
  }
}

// to_original / to_scaled_free: x = s·scale + mean on the free features, fixed features at
// their values, and back.
TEST(ProblemUnits, ScaledAndOriginalRoundTripWithFixedFeatures) {
  const oracle::Oracle o = random_oracle(4, 1, 80);
  const nn::Mlp<float> net = o.net.cast<float>();
  Constraint c = Constraint::free(4);
  c.fixed[1] = 1;
  c.fixed_value[1] = 0.75;
  Objective obj;
  obj.target = vec({0.0});
  const Problem p(o, net, obj, c, Regularize{});
  ASSERT_EQ(p.n_free(), 3);
  Rng rng(81);
  MatrixD s(3, 5);
  for (Index i = 0; i < s.size(); ++i)
    s.data()[i] = rng.normal();
  const MatrixD x = p.to_original(s);
  const Index free_rows[] = {0, 2, 3};
  for (Index j = 0; j < 5; ++j) {
    EXPECT_EQ(x(1, j), 0.75);
    for (Index k = 0; k < 3; ++k) {
      const Index i = free_rows[k];
      EXPECT_NEAR(x(i, j), s(k, j) * o.input_scaler.scale[i] + o.input_scaler.mean[i], 1e-12);
    }
  }
  EXPECT_LE((p.to_scaled_free(x) - s).cwiseAbs().maxCoeff(), 1e-12);
}
