#include "invsweep/nn/adam.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "alloc_counter.hpp"
#include "invsweep/nn/mlp.hpp"

using namespace invsweep;
using namespace invsweep::nn;

TEST(Adam, FirstStepMovesEachParameterByLrAgainstTheGradientSign) {
  AdamState<double> st(3);
  AdamSettings s;
  VectorD p(3), g(3);
  p << 1.0, -2.0, 0.5;
  g << 0.3, -4.0, 1e-3;
  const VectorD p0 = p;
  st.step(s, 0.01, p, g);
  for (int i = 0; i < 3; ++i)
    EXPECT_NEAR(p0[i] - p[i], 0.01 * (g[i] > 0 ? 1 : -1), 1e-7);
}

TEST(Adam, MatchesAReferenceRecurrence) {
  // Independent re-implementation of the published recurrence.
  AdamSettings s;
  const double lr = 0.05;
  AdamState<double> st(1);
  VectorD p(1);
  p << 3.0;
  double q = 3.0, m = 0, v = 0;
  for (int t = 1; t <= 50; ++t) {
    VectorD g(1);
    g << 2 * (p[0] - 1.0);  // d/dp (p-1)²
    st.step(s, lr, p, g);
    const double gq = 2 * (q - 1.0);
    m = 0.9 * m + 0.1 * gq;
    v = 0.999 * v + 0.001 * gq * gq;
    const double mh = m / (1 - std::pow(0.9, t)), vh = v / (1 - std::pow(0.999, t));
    q -= 0.05 * mh / (std::sqrt(vh) + 1e-8);
    ASSERT_NEAR(p[0], q, 1e-12) << "step " << t;
  }
}

TEST(Adam, MinimisesAQuadratic) {
  AdamSettings s;
  AdamState<float> st(2);
  VectorF p(2);
  p << 5.0f, -3.0f;
  for (int t = 0; t < 3000; ++t) {
    VectorF g = 2.0f * (p - VectorF::Constant(2, 1.0f));
    st.step(s, 0.01, p, g);
  }
  EXPECT_NEAR(p[0], 1.0f, 1e-3f);
  EXPECT_NEAR(p[1], 1.0f, 1e-3f);
}

// A whole training step (forward, backward, Adam) allocates nothing once the workspace exists,
// from tiny to large shapes.
TEST(TrainingStep, DoesNotAllocate) {
  if (!testing_alloc::available()) GTEST_SKIP() << "allocation counting is off under sanitizers";
  struct Case {
    Index in, width, depth, out, batch;
  };
  for (const Case c : {Case{1, 32, 2, 1, 64}, Case{4, 64, 2, 1, 256}, Case{16, 256, 3, 4, 1024}}) {
    for (Activation act : {Activation::tanh, Activation::gelu}) {
      Rng rng(1);
      std::vector<Index> hidden(static_cast<std::size_t>(c.depth), c.width);
      Mlp<float> net = Mlp<float>::make(c.in, hidden, c.out, act);
      net.init_glorot(rng);
      MlpWorkspace<float> ws(net, c.batch);
      VectorF grad = VectorF::Zero(net.n_params());
      AdamState<float> adam(net.n_params());
      AdamSettings s;
      ws.input().setRandom();
      auto step = [&] {
        forward(net, ws);
        ws.grad_output() = ws.output();
        grad.setZero();
        backward(net, ws, &grad, true);
        adam.step(s, 1e-3, net.params(), grad);
      };
      step();  // warm-up
      const long before = testing_alloc::count();
      step();
      step();
      EXPECT_EQ(testing_alloc::count() - before, 0)
          << "allocations in a step of " << c.in << "-" << c.width << "x" << c.depth << "-" << c.out << " batch "
          << c.batch << " " << to_string(act);
    }
  }
}
