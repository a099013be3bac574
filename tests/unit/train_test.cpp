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
  const TrainResult a = train_oracle(x, y, {"x"}, {"y"}, opt, "sinc");
  const TrainResult b = train_oracle(x, y, {"x"}, {"y"}, opt, "sinc");
  EXPECT_EQ(a.oracle.net.params(), b.oracle.net.params());
  EXPECT_GT(a.oracle.metrics.val_r2[0], 0.99);
  EXPECT_EQ(a.oracle.metrics.n_val + a.oracle.metrics.n_train, 800);
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
