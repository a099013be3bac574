#include "invsweep/data/csv.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "invsweep/core/errors.hpp"
#include "scratch.hpp"

using namespace invsweep;
using invsweep::testing::ScratchTest;

namespace {
class Csv : public ScratchTest {
 protected:
  std::string write(const std::string& text) {
    const std::string p = path("d.csv");
    std::ofstream(p) << text;
    return p;
  }
  // Reads `text` and returns the DataError's message ("" when it parses).
  std::string error_of(const std::string& text) {
    try {
      data::read_csv(write(text));
    } catch (const DataError& e) {
      return e.what();
    }
    return "";
  }
};
}  // namespace

TEST_F(Csv, ReadsHeaderAndNumbers) {
  const data::Table t = data::read_csv(write("a, b,\"c\"\n1,2,3\n\n4.5,-1e3, 0x0\n"));
  ASSERT_EQ(t.columns, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_EQ(t.rows(), 2);
  EXPECT_EQ(t.values(1, 0), 4.5);
  EXPECT_EQ(t.values(1, 1), -1000.0);
  const MatrixD sel = t.select({"c", "a"});
  EXPECT_EQ(sel.rows(), 2);
  EXPECT_EQ(sel(1, 0), 1.0);
}

TEST_F(Csv, RoundTripsDoublesExactly) {
  MatrixD v(3, 2);
  v << 0.1, 1.0 / 3.0, -2.5e-300, 1e300, 123456789.123456789, -0.0;
  data::write_csv(path("o.csv"), {"p", "q"}, v);
  const data::Table t = data::read_csv(path("o.csv"));
  EXPECT_EQ((t.values - v).cwiseAbs().maxCoeff(), 0.0);
}

TEST_F(Csv, ErrorsNameLineColumnAndExpectation) {
  EXPECT_NE(error_of("").find("empty file"), std::string::npos);
  EXPECT_NE(error_of("a,b\n").find("no data rows"), std::string::npos);
  EXPECT_NE(error_of("a,b\n1,2\n3\n").find("line 3: 1 fields, expected 2"), std::string::npos);
  EXPECT_NE(error_of("a,b\n1,2\n3,x\n").find("line 3, column 'b': 'x' is not a number"), std::string::npos);
  EXPECT_NE(error_of("a,b\n1,nan\n").find("line 2, column 'b': 'nan' is not a finite number"), std::string::npos);
  EXPECT_NE(error_of("a,b\n1,inf\n").find("not a finite number"), std::string::npos);
  EXPECT_NE(error_of("a,b\n1,\n").find("'' is not a number"), std::string::npos);
  EXPECT_NE(error_of("a,a\n1,2\n").find("'a' appears twice"), std::string::npos);
  EXPECT_NE(error_of("a,b\n1,2 3\n").find("is not a number"), std::string::npos);
}

TEST_F(Csv, MissingColumnSuggestsTheClosestName) {
  const data::Table t = data::read_csv(write("x1,x2,y\n1,2,3\n"));
  try {
    t.select({"x3"});
    FAIL();
  } catch (const DataError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("no column 'x3'"), std::string::npos) << m;
    EXPECT_NE(m.find("did you mean"), std::string::npos) << m;
    EXPECT_NE(m.find("d.csv"), std::string::npos) << m;
  }
}

TEST_F(Csv, MissingFileIsAnIoError) {
  EXPECT_THROW(data::read_csv(path("nope.csv")), IoError);
}
