// nn::gemm::product against a plain product in double, and the float network passes that use
// it against the double ones (which use Eigen's product and are checked against finite
// differences in gradient_test.cpp).
#include "invsweep/nn/gemm.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "invsweep/core/rng.hpp"
#include "invsweep/nn/mlp.hpp"

using namespace invsweep;
using namespace invsweep::nn;

namespace {

std::vector<float> random_values(Rng& rng, Index n) {
  std::vector<float> v(static_cast<std::size_t>(n));
  for (float& x : v)
    x = static_cast<float>(rng.normal());
  return v;
}

// One product of the given shape, r stored as [k, n] (`transposed` false) or as [n, k]
// (true, read through the strides as its transpose), c with a leading dimension larger than m.
void check_product(Index m, Index k, Index n, bool transposed, bool accumulate, gemm::Epilogue epi, Rng& rng) {
  const Index ldl = m + 3, ldc = m + 5;
  const std::vector<float> l = random_values(rng, ldl * std::max<Index>(k, 1));
  const std::vector<float> r = random_values(rng, std::max<Index>(k * n, 1));
  const std::vector<float> bias = random_values(rng, m);
  std::vector<float> c = random_values(rng, ldc * n);
  const std::vector<float> c0 = c;
  const Index rs_p = transposed ? n : 1, rs_j = transposed ? 1 : k;
  gemm::product(l.data(), ldl, m, k, r.data(), rs_p, rs_j, c.data(), ldc, n, accumulate, epi, bias.data());
  for (Index j = 0; j < n; ++j) {
    for (Index i = 0; i < ldc; ++i) {
      const auto at = static_cast<std::size_t>(i + j * ldc);
      if (i >= m) {
        ASSERT_EQ(c[at], c0[at]) << "wrote outside the result at row " << i;
        continue;
      }
      double want = accumulate ? static_cast<double>(c0[at]) : 0.0, scale = std::abs(want);
      for (Index p = 0; p < k; ++p) {
        const double t = static_cast<double>(l[static_cast<std::size_t>(i + p * ldl)]) *
                         static_cast<double>(r[static_cast<std::size_t>(p * rs_p + j * rs_j)]);
        want += t;
        scale += std::abs(t);
      }
      if (epi != gemm::Epilogue::none) {
        want += static_cast<double>(bias[static_cast<std::size_t>(i)]);
        scale += std::abs(static_cast<double>(bias[static_cast<std::size_t>(i)]));
      }
      // Each multiply-add rounds once: |error| ≤ (k + 1)·2⁻²⁴·Σ|terms| (bias added once more).
      double tol = static_cast<double>(k + 2) * 0x1p-24 * scale + 1e-30;
      if (epi == gemm::Epilogue::bias_tanh) {
        want = std::tanh(want);  // |tanh'| ≤ 1: the sum's error carries over, plus tanh's own
        tol += 1e-6;
      }
      ASSERT_NEAR(c[at], want, tol) << "m " << m << " k " << k << " n " << n << " at (" << i << ", " << j << ")"
                                    << (transposed ? " transposed" : "") << (accumulate ? " accumulate" : "");
    }
  }
}

}  // namespace

TEST(Gemm, MatchesAPlainProductOverShapesLayoutsAndEpilogues) {
  if (!gemm::kAvailable) GTEST_SKIP() << "built without AVX-512";
  Rng rng(77);
  // Rows: partial and full packets, one and several 64-row blocks. Inner: empty, short, past
  // the 128-value chunk. Columns: partial and full 6-column blocks.
  for (Index m : {1, 5, 16, 17, 33, 64, 65, 130})
    for (Index k : {0, 1, 7, 64, 129, 300})
      for (Index n : {1, 5, 6, 7, 13}) {
        check_product(m, k, n, false, false, gemm::Epilogue::none, rng);
        check_product(m, k, n, true, true, gemm::Epilogue::none, rng);
      }
  for (gemm::Epilogue epi : {gemm::Epilogue::bias, gemm::Epilogue::bias_tanh})
    for (Index m : {3, 64, 70})
      for (Index k : {0, 8, 200})
        for (bool acc : {false, true})
          check_product(m, k, 11, false, acc, epi, rng);
}

TEST(Gemm, FloatNetworkPassesMatchDouble) {
  // Shapes whose products go through gemm::product in float (16–128 rows), with activations
  // fused into it (tanh, identity) and not (relu, gelu); thin layers on either side.
  struct Case {
    Index n_in;
    std::vector<Index> hidden;
    Index n_out;
    Activation act, out_act;
  };
  const std::vector<Case> cases = {{8, {64, 64}, 4, Activation::tanh, Activation::identity},
                                   {20, {33, 70}, 17, Activation::relu, Activation::tanh},
                                   {4, {64, 64}, 1, Activation::gelu, Activation::identity},
                                   {24, {100}, 40, Activation::identity, Activation::identity}};
  Rng rng(8);
  for (const Case& cs : cases) {
    Mlp<double> net = Mlp<double>::make(cs.n_in, cs.hidden, cs.n_out, cs.act, cs.out_act);
    net.init_glorot(rng);
    for (Index i = 0; i < net.n_params(); ++i)
      net.params()[i] += 0.05 * rng.normal();
    net.params() = net.params().cast<float>().cast<double>();  // the same parameters in both
    const Mlp<float> netf = net.cast<float>();
    const Index batch = 37;
    MatrixD x(cs.n_in, batch), c(cs.n_out, batch);
    for (Index i = 0; i < x.size(); ++i)
      x.data()[i] = static_cast<double>(static_cast<float>(rng.normal()));
    for (Index i = 0; i < c.size(); ++i)
      c.data()[i] = static_cast<double>(static_cast<float>(rng.normal()));

    MlpWorkspace<double> wd(net, batch);
    MlpWorkspace<float> wf(netf, batch);
    wd.input() = x;
    wf.input() = x.cast<float>();
    forward(net, wd);
    forward(netf, wf);
    EXPECT_LT((wd.output() - wf.output().cast<double>()).cwiseAbs().maxCoeff(),
              2e-5 * (1.0 + wd.output().cwiseAbs().maxCoeff()));
    wd.grad_output() = c;
    wf.grad_output() = c.cast<float>();
    VectorD gd = VectorD::Zero(net.n_params());
    VectorF gf = VectorF::Zero(netf.n_params());
    backward(net, wd, &gd, true);
    backward(netf, wf, &gf, true);
    EXPECT_LT((gd - gf.cast<double>()).cwiseAbs().maxCoeff(), 2e-5 * (1.0 + gd.cwiseAbs().maxCoeff()));
    EXPECT_LT((wd.grad_input() - wf.grad_input().cast<double>()).cwiseAbs().maxCoeff(),
              2e-5 * (1.0 + wd.grad_input().cwiseAbs().maxCoeff()));
  }
}
