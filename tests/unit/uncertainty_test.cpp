// The `[regularize] uncertainty` term (the ensemble members' variance): its gradient matches
// finite differences, and the float32 and float64 forms agree.
#include "invsweep/inverse/uncertainty.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>

#include "invsweep/core/rng.hpp"

using namespace invsweep;
using invsweep::inverse::uncertainty_grad;
using invsweep::inverse::uncertainty_values;

TEST(Uncertainty, GradientMatchesFiniteDifferences) {
  Rng rng(7);
  for (const Index members : {2, 3, 5})
    for (const Index m : {1, 3}) {
      const Index n = 4;
      MatrixF um(members * m, n), mean(m, n), g(members * m, n), gd(members * m, n);
      for (Index i = 0; i < um.size(); ++i)
        um.data()[i] = static_cast<float>(rng.normal());
      const double lambda = 0.7;
      const auto value = [&](const MatrixF& u) {
        MatrixF mm(m, n), gg(members * m, n);
        return uncertainty_grad(MatrixMap<float>(const_cast<float*>(u.data()), u.rows(), u.cols()), members, lambda,
                                MatrixMap<float>(mm.data(), m, n), MatrixMap<float>(gg.data(), gg.rows(), n));
      };
      const double p = uncertainty_grad(MatrixMap<float>(um.data(), um.rows(), n), members, lambda,
                                        MatrixMap<float>(mean.data(), m, n), MatrixMap<float>(g.data(), g.rows(), n));
      EXPECT_NEAR(p, value(um), 1e-12);
      std::string table;
      double worst = 0;
      for (Index i = 0; i < um.size(); ++i) {
        MatrixF up = um, dn = um;
        up.data()[i] += 1e-2f;
        dn.data()[i] -= 1e-2f;
        const double fd = (value(up) - value(dn)) / 2e-2;
        worst = std::max(worst, std::abs(fd - g.data()[i]));
        table += fmt::format("  {:>3} analytic {:+.6e} fd {:+.6e}\n", i, g.data()[i], fd);
      }
      EXPECT_LT(worst, 2e-4) << "K=" << members << " n_out=" << m << "\n" << table;
      // The variance penalty in double agrees with the float one.
      const MatrixD umd = um.cast<double>();
      MatrixD md;
      VectorD values = VectorD::Zero(n);
      uncertainty_values(MatrixMap<double>(const_cast<double*>(umd.data()), umd.rows(), n), members, lambda, md,
                         values);
      EXPECT_NEAR(values.mean(), p, 1e-5);
      EXPECT_LT((md.cast<float>() - mean).cwiseAbs().maxCoeff(), 1e-6f);
    }
}
