#include "invsweep/core/strings.hpp"

#include <gtest/gtest.h>

using namespace invsweep;

TEST(Strings, SplitListTrims) {
  EXPECT_EQ(split_list(" a, b ,c"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(split_list("  ").empty());
  EXPECT_EQ(split_list("a,,b"), (std::vector<std::string>{"a", "", "b"}));
}

TEST(Strings, DidYouMean) {
  const std::vector<std::string> names{"samples", "replicates", "solvers"};
  EXPECT_EQ(did_you_mean("sampels", names), " (did you mean 'samples'?)");
  EXPECT_EQ(did_you_mean("zzzzzzzz", names), "");
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}
