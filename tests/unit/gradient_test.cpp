// Every hand-written gradient against central finite differences in double precision.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "invsweep/nn/mlp.hpp"

using namespace invsweep;
using namespace invsweep::nn;

namespace {

struct Shape {
  Index n_in;
  std::vector<Index> hidden;
  Index n_out;
  Index batch;
};

// L = Σ c ⊙ net(x): dL/d(out) = c.
double loss(const Mlp<double>& net, const MatrixD& x, const MatrixD& c) {
  return (predict(net, x).array() * c.array()).sum();
}

struct Check {
  double worst = 0;
  std::string table;
  void add(const std::string& what, double analytic, double numeric) {
    const double err = std::abs(analytic - numeric) / std::max({std::abs(analytic), std::abs(numeric), 1e-3});
    if (err > worst) worst = err;
    if (err > 1e-6)
      table += fmt::format("  {:<24} analytic {:+.12e} numeric {:+.12e} rel {:.2e}\n", what, analytic, numeric, err);
  }
};

void check_gradients(Activation act, Activation out_act, const Shape& s, std::uint64_t seed) {
  Rng rng(seed);
  Mlp<double> net = Mlp<double>::make(s.n_in, s.hidden, s.n_out, act, out_act);
  net.init_glorot(rng);
  for (Index i = 0; i < net.n_params(); ++i)
    net.params()[i] += 0.1 * rng.normal();  // non-zero biases
  MatrixD x(s.n_in, s.batch), c(s.n_out, s.batch);
  for (Index i = 0; i < x.size(); ++i)
    x.data()[i] = 1.5 * rng.normal();
  for (Index i = 0; i < c.size(); ++i)
    c.data()[i] = rng.normal();

  MlpWorkspace<double> ws(net, s.batch);
  ws.input() = x;
  forward(net, ws);
  ws.grad_output() = c;
  VectorD grad = VectorD::Zero(net.n_params());
  backward(net, ws, &grad, true);
  const MatrixD gx = ws.grad_input();

  const double h = 1e-6;
  Check chk;
  for (Index p = 0; p < net.n_params(); ++p) {
    Mlp<double> plus = net, minus = net;
    plus.params()[p] += h;
    minus.params()[p] -= h;
    chk.add(fmt::format("param[{}]", p), grad[p], (loss(plus, x, c) - loss(minus, x, c)) / (2 * h));
  }
  for (Index i = 0; i < x.size(); ++i) {
    MatrixD xp = x, xm = x;
    xp.data()[i] += h;
    xm.data()[i] -= h;
    chk.add(fmt::format("input[{}]", i), gx.data()[i], (loss(net, xp, c) - loss(net, xm, c)) / (2 * h));
  }
  EXPECT_LE(chk.worst, 1e-6) << "activation " << to_string(act) << " / output " << to_string(out_act) << ", shape "
                             << s.n_in << "→" << fmt::format("{}", fmt::join(s.hidden, "→")) << "→" << s.n_out
                             << " batch " << s.batch << "\n"
                             << chk.table;
}

}  // namespace

class GradientCheck : public ::testing::TestWithParam<Activation> {};

TEST_P(GradientCheck, WeightsBiasesAndInputsMatchFiniteDifferences) {
  const std::vector<Shape> shapes = {
      {1, {8}, 1, 5}, {4, {7, 5}, 2, 6},   {3, {6, 6, 4}, 3, 3},
      {5, {}, 2, 4},  {2, {24, 12}, 2, 3},  // 12 rows < 24 columns: the transposed weight gradient (mlp.cpp)
      {3, {90}, 2, 2}};                     // 90 rows from 3 inputs: the small-inner product's 64- and 16-row blocks
  std::uint64_t seed = 100;
  for (const Shape& s : shapes) {
    check_gradients(GetParam(), Activation::identity, s, seed++);
    check_gradients(GetParam(), GetParam(), s, seed++);  // activation on the output layer too
  }
}

INSTANTIATE_TEST_SUITE_P(AllActivations, GradientCheck,
                         ::testing::Values(Activation::identity, Activation::relu, Activation::tanh,
                                           Activation::sigmoid, Activation::softplus, Activation::silu,
                                           Activation::gelu),
                         [](const ::testing::TestParamInfo<Activation>& i) { return std::string(to_string(i.param)); });

TEST(Activation, NamesRoundTripAndUnknownIsRejected) {
  for (std::string_view n : activation_names()) {
    ASSERT_TRUE(parse_activation(n).has_value());
    EXPECT_EQ(to_string(*parse_activation(n)), n);
  }
  EXPECT_FALSE(parse_activation("swish").has_value());
}

TEST(Activation, ValuesMatchClosedForms) {
  const double z[] = {-30.0, -2.0, -0.3, 0.0, 0.7, 3.0, 40.0};
  for (double v : z) {
    double a = 0;
    activate(Activation::softplus, &v, &a, 1);
    EXPECT_NEAR(a, v > 20 ? v : std::log1p(std::exp(v)), 1e-12);
    activate(Activation::gelu, &v, &a, 1);
    EXPECT_NEAR(a, 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))), 1e-12);
    activate(Activation::silu, &v, &a, 1);
    EXPECT_NEAR(a, v / (1 + std::exp(-v)), 1e-12);
    activate(Activation::sigmoid, &v, &a, 1);
    EXPECT_NEAR(a, 1 / (1 + std::exp(-v)), 1e-12);
  }
}

// tanh in double is computed by the project (vectorised), not by std::tanh: within a few
// ulp of it everywhere, across the switch at |z| = 0.625, on the vectorised part of an array
// and on its scalar tail, and exact at the special values.
TEST(Activation, TanhInDoubleMatchesStdTanh) {
  Rng rng(11);
  std::vector<double> z;
  for (double scale : {1e-3, 0.3, 1.0, 4.0, 30.0})
    for (int i = 0; i < 1000; ++i)
      z.push_back(scale * rng.normal());
  for (double v : {0.625, std::nextafter(0.625, 0.0), std::nextafter(0.625, 1.0), 1e-300, 19.0, 400.0}) {
    z.push_back(v);
    z.push_back(-v);
  }
  z.push_back(0.1);  // an odd length: the last values go through the scalar tail
  std::vector<double> a(z.size());
  activate(Activation::tanh, z.data(), a.data(), static_cast<Index>(z.size()));
  for (std::size_t i = 0; i < z.size(); ++i)
    EXPECT_LE(std::abs(a[i] - std::tanh(z[i])), 4 * std::numeric_limits<double>::epsilon() * std::abs(std::tanh(z[i])))
        << "tanh(" << z[i] << ")";
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> special = {0.0, inf, -inf, std::nan(""), 0.0, 0.0, 0.0, 0.0, 0.0};
  std::vector<double> out(special.size());
  activate(Activation::tanh, special.data(), out.data(), static_cast<Index>(special.size()));
  EXPECT_EQ(out[0], 0.0);
  EXPECT_EQ(out[1], 1.0);
  EXPECT_EQ(out[2], -1.0);
  EXPECT_TRUE(std::isnan(out[3]));
}

TEST(Mlp, FloatAndDoubleAgree) {
  Rng rng(5);
  Mlp<double> net = Mlp<double>::make(4, std::vector<Index>{16, 16}, 2, Activation::tanh);
  net.init_glorot(rng);
  MatrixD x = MatrixD::Random(4, 10);
  const MatrixD yd = predict(net, x);
  const MatrixF yf = predict(net.cast<float>(), MatrixF(x.cast<float>()));
  EXPECT_LT((yd - yf.cast<double>()).cwiseAbs().maxCoeff(), 1e-5);
}

TEST(Mlp, RejectsLayersThatDoNotChain) {
  EXPECT_THROW(Mlp<double>({{2, 3, Activation::tanh}, {4, 1, Activation::identity}}), std::invalid_argument);
}
