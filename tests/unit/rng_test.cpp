#include "invsweep/core/rng.hpp"

#include <gtest/gtest.h>

#include <cmath>

using invsweep::Rng;

TEST(Rng, SameSeedSameStream) {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) {
    const auto x = a.next();
    EXPECT_EQ(x, b.next());
    EXPECT_NE(x, c.next());
  }
}

TEST(Rng, DeriveSeedDependsOnEveryPartAndOrder) {
  EXPECT_NE(invsweep::derive_seed({1, 2}), invsweep::derive_seed({2, 1}));
  EXPECT_NE(invsweep::derive_seed({1, 2}), invsweep::derive_seed({1, 3}));
  EXPECT_EQ(invsweep::derive_seed({7, 9}), invsweep::derive_seed({7, 9}));
}

TEST(Rng, UniformAndNormalMoments) {
  Rng r(1);
  const int n = 200000;
  double su = 0, sn = 0, sn2 = 0, mn = 1, mx = 0;
  for (int i = 0; i < n; ++i) {
    const double u = r.uniform();
    su += u;
    mn = std::min(mn, u);
    mx = std::max(mx, u);
    const double z = r.normal();
    sn += z;
    sn2 += z * z;
  }
  EXPECT_NEAR(su / n, 0.5, 0.005);
  EXPECT_GE(mn, 0.0);
  EXPECT_LT(mx, 1.0);
  EXPECT_NEAR(sn / n, 0.0, 0.01);
  EXPECT_NEAR(sn2 / n, 1.0, 0.01);
}

TEST(Rng, BelowIsInRangeAndCoversIt) {
  Rng r(3);
  int counts[7] = {};
  for (int i = 0; i < 70000; ++i) {
    const auto k = r.below(7);
    ASSERT_LT(k, 7u);
    ++counts[k];
  }
  for (int c : counts)
    EXPECT_NEAR(c, 10000, 500);
}
