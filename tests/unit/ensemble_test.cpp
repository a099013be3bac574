// Oracle ensembles: the combined network is the members' mean, members are recoverable from
// /oracle/ensemble.
#include "invsweep/oracle/ensemble.hpp"

#include <gtest/gtest.h>
#include <hdf5.h>

#include "invsweep/core/errors.hpp"
#include "invsweep/oracle/oracle_io.hpp"
#include "scratch.hpp"

using namespace invsweep;
using namespace invsweep::oracle;
using invsweep::testing::ScratchTest;

namespace {

/// A member with random weights and its own scalers (as train_oracle fits them per split).
Oracle make_member(std::uint64_t seed) {
  Rng rng(seed);
  Oracle o;
  o.input_names = {"a", "b", "c"};
  o.output_names = {"y", "z"};
  o.net =
      nn::Mlp<double>({{3, 5, nn::Activation::tanh}, {5, 4, nn::Activation::gelu}, {4, 2, nn::Activation::identity}});
  for (Index i = 0; i < o.net.n_params(); ++i)
    o.net.params()[i] = rng.normal();
  VectorD im(3), is(3), om(2), os(2);
  for (Index i = 0; i < 3; ++i) {
    im[i] = rng.uniform(-1.0, 1.0);
    is[i] = rng.uniform(0.5, 3.0);
  }
  for (Index i = 0; i < 2; ++i) {
    om[i] = rng.uniform(-10.0, 10.0);
    os[i] = rng.uniform(0.1, 5.0);
  }
  o.input_scaler = {im, is};
  o.output_scaler = {om, os};
  o.input_lo = VectorD::Constant(3, -1.0);
  o.input_hi = VectorD::Constant(3, 4.0);
  return o;
}

struct Fixture {
  std::vector<Oracle> members{make_member(1), make_member(2), make_member(3)};
  Oracle ensemble = combine_ensemble(members, {VectorD::Constant(3, 0.25), VectorD::Constant(3, 1.5)},
                                     {VectorD::Constant(2, 2.0), VectorD::Constant(2, 3.0)});
  MatrixD x = MatrixD::Random(3, 50) * 3.0;
};

double max_rel_diff(const MatrixD& a, const MatrixD& b) {
  return ((a - b).array().abs() / (1.0 + b.array().abs())).maxCoeff();
}

}  // namespace

TEST(Ensemble, CombinedNetworkIsTheMembersMean) {
  const Fixture f;
  MatrixD mean = MatrixD::Zero(2, f.x.cols());
  for (const Oracle& m : f.members)
    mean += m.predict(f.x) / 3.0;
  EXPECT_LT(max_rel_diff(f.ensemble.predict(f.x), mean), 1e-12);
  EXPECT_EQ(f.ensemble.net.layer(0).out, 15);
  EXPECT_EQ(f.ensemble.net.layer(1).out, 12);
  EXPECT_NO_THROW(f.ensemble.validate("combined"));
}

TEST(Ensemble, MembersAreRecoveredExactly) {
  const Fixture f;
  const MatrixD y = member_predictions(f.ensemble, f.x);
  ASSERT_EQ(y.rows(), 6);
  for (Index k = 0; k < 3; ++k)
    EXPECT_LT(max_rel_diff(y.middleRows(k * 2, 2), f.members[static_cast<std::size_t>(k)].predict(f.x)), 1e-12)
        << "member " << k;
  // The spread is numpy's std over members (divisor K); NaN where the input is.
  MatrixD x = f.x;
  x(1, 7) = std::numeric_limits<double>::quiet_NaN();
  const MatrixD s = member_spread(f.ensemble, x);
  for (Index j = 0; j < x.cols(); ++j)
    for (Index r = 0; r < 2; ++r) {
      if (j == 7) {
        EXPECT_TRUE(std::isnan(s(r, j)));
        continue;
      }
      const double m = (y(r, j) + y(2 + r, j) + y(4 + r, j)) / 3.0;
      const double v = (std::pow(y(r, j) - m, 2) + std::pow(y(2 + r, j) - m, 2) + std::pow(y(4 + r, j) - m, 2)) / 3.0;
      EXPECT_NEAR(s(r, j), std::sqrt(v), 1e-12 * (1.0 + std::sqrt(v)));
    }
}

class EnsembleFile : public ScratchTest {};

TEST_F(EnsembleFile, RoundTripKeepsTheMembers) {
  const Fixture f;
  const std::string p = path("ens.h5");
  save_oracle(p, f.ensemble);
  const Oracle o = load_oracle(p);
  ASSERT_TRUE(o.is_ensemble());
  EXPECT_EQ(o.ensemble.members, 3);
  const MatrixD y = member_predictions(o, f.x);
  for (Index k = 0; k < 3; ++k)
    EXPECT_LT(max_rel_diff(y.middleRows(k * 2, 2), f.members[static_cast<std::size_t>(k)].predict(f.x)), 1e-12);
  // A single network has no /oracle/ensemble.
  save_oracle(path("one.h5"), f.members[0]);
  EXPECT_FALSE(load_oracle(path("one.h5")).is_ensemble());
}

TEST_F(EnsembleFile, ALastLayerThatIsNotTheMeanIsRefused) {
  Fixture f;
  f.ensemble.ensemble.bias[1][0] += 0.5;
  const std::string p = path("bad.h5");
  try {
    f.ensemble.validate(p);
    FAIL() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("not the mean of the members"), std::string::npos) << e.what();
  }
  Fixture g;
  g.ensemble.net.weight(1)(0, 7) = 0.1;  // unit 0 (member 0) reads unit 7 (member 1)
  EXPECT_THROW(g.ensemble.validate("mixed"), IoError);
}

TEST(Ensemble, DifferentArchitecturesAreRefused) {
  std::vector<Oracle> m{make_member(1), make_member(2)};
  m[1].net = nn::Mlp<double>({{3, 6, nn::Activation::tanh}, {6, 2, nn::Activation::identity}});
  EXPECT_THROW(combine_ensemble(m, m[0].input_scaler, m[0].output_scaler), ConfigError);
}
