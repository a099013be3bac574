#include "invsweep/oracle/train.hpp"

#include <gtest/gtest.h>

#include "invsweep/core/errors.hpp"
#include "invsweep/data/reference.hpp"

using namespace invsweep;
using namespace invsweep::oracle;

TEST(TrainOracle, FitsASmoothFunctionAndIsReproducible) {
  const data::ReferenceProblem& p = data::reference_problem("sinc");
  const MatrixD d = data::sample_reference(p, 800, 1);
  const MatrixD x = d.leftCols(1).transpose(), y = d.rightCols(1).transpose();
  TrainOptions opt;
  opt.epochs = 150;
  opt.hidden = {32, 32};
  opt.weight_decay = 0.0;  // noise-free data: the automatic decay (640 values < 1153 parameters) would cost precision
  const TrainResult a = train_oracle(x, y, {"x"}, {"y"}, opt, "sinc");
  const TrainResult b = train_oracle(x, y, {"x"}, {"y"}, opt, "sinc");
  EXPECT_EQ(a.oracle.net.params(), b.oracle.net.params());
  EXPECT_GT(a.oracle.metrics.val_r2[0], 0.99);
  EXPECT_EQ(a.oracle.metrics.n_test, 80);
  EXPECT_EQ(a.oracle.metrics.n_val, 80);
  EXPECT_EQ(a.oracle.metrics.n_train, 640);
  EXPECT_GT(a.oracle.metrics.test_r2[0], 0.99);
  EXPECT_EQ(a.oracle.input_lo[0], x.minCoeff());
  EXPECT_EQ(a.oracle.input_hi[0], x.maxCoeff());
}

TEST(TrainOracle, RejectsAConstantColumn) {
  MatrixD x(2, 50), y(1, 50);
  x.row(0).setLinSpaced(0, 1);
  x.row(1).setConstant(3.0);
  y.row(0).setLinSpaced(1, 2);
  try {
    train_oracle(x, y, {"a", "b"}, {"y"}, TrainOptions{}, "data.csv");
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("input column 'b' is constant"), std::string::npos) << e.what();
  }
}

TEST(TrainOracle, ParameterCountAndAutomaticDecay) {
  const std::vector<Index> hidden{64, 64};
  EXPECT_EQ(network_parameters(10, hidden, 1), nn::Mlp<double>::make(10, hidden, 1, nn::Activation::tanh).n_params());
  const std::vector<Index> none;
  EXPECT_EQ(network_parameters(3, none, 2), nn::Mlp<double>::make(3, none, 2, nn::Activation::tanh).n_params());
  EXPECT_EQ(automatic_weight_decay(354, 4929), 1.0);
  EXPECT_EQ(automatic_weight_decay(8000, 4545), 0.0);
}

TEST(TrainOracle, WarningsNameTheirNumbers) {
  Oracle o;
  o.output_names = {"y", "z"};
  const std::vector<Index> eight{8};
  o.net = nn::Mlp<double>::make(3, eight, 2, nn::Activation::tanh);  // 50 parameters
  o.metrics.train_rmse = {1, 1};
  o.metrics.n_train = 24;  // 48 values
  o.metrics.n_val = 29;
  o.metrics.val_r2 = {0.2, 0.9};
  const std::vector<std::string> w = training_warnings(o);
  ASSERT_EQ(w.size(), 3u);
  EXPECT_NE(w[0].find("48 training values (24 rows × 2 outputs) for 50 network parameters"), std::string::npos) << w[0];
  EXPECT_NE(w[1].find("only 29 validation rows"), std::string::npos) << w[1];
  EXPECT_NE(w[2].find("output 'y': validation R² 0.200 is below 0.5 (29 validation rows)"), std::string::npos) << w[2];
  o.metrics.n_train = 25;
  o.metrics.n_val = 30;
  o.metrics.test_r2 = {0.5, 0.9};  // the test figure is judged when there is one
  o.metrics.n_test = 30;
  EXPECT_TRUE(training_warnings(o).empty());
}

TEST(ReferenceData, FunctionsMatchTheirFormulas) {
  const data::ReferenceProblem& p = data::reference_problem("paper4");
  const double x[4] = {100, 250, 30, 400};
  EXPECT_NEAR(
      p.f(x),
      9 * std::pow(100, 0.87) + 8.97 * std::pow(100, 0.02) + 0.876 * std::pow(30, 0.12) + 2.9876 * std::pow(400, 0.987),
      1e-9);
  const MatrixD d = data::sample_reference(data::reference_problem("multiroot"), 1000, 3);
  EXPECT_GT(d.col(0).minCoeff(), 0.0);
  EXPECT_LE(d.col(0).maxCoeff(), 10.0);
  EXPECT_THROW(data::reference_problem("paper5"), ConfigError);
}
