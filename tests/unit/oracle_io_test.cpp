#include "invsweep/oracle/oracle_io.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "invsweep/core/errors.hpp"
#include "scratch.hpp"

using namespace invsweep;
using namespace invsweep::oracle;
using invsweep::testing::ScratchTest;

namespace {

Oracle make_oracle(std::uint64_t seed) {
  Rng rng(seed);
  Oracle o;
  o.input_names = {"a", "b", "c"};
  o.output_names = {"y", "z"};
  o.net =
      nn::Mlp<double>({{3, 5, nn::Activation::tanh}, {5, 4, nn::Activation::gelu}, {4, 2, nn::Activation::identity}});
  for (Index i = 0; i < o.net.n_params(); ++i)
    o.net.params()[i] = rng.normal();
  o.input_scaler = {VectorD::Random(3), VectorD::Constant(3, 2.5)};
  o.output_scaler = {VectorD::Random(2), VectorD::Constant(2, 0.3)};
  o.input_lo = VectorD::Constant(3, -1.0);
  o.input_hi = VectorD::Constant(3, 4.0);
  o.metrics.val_rmse = {0.1, 0.2};
  o.metrics.val_r2 = {0.99, 0.98};
  o.metrics.train_rmse = {0.09, 0.19};
  o.metrics.n_train = 90;
  o.metrics.n_val = 10;
  o.metrics.epochs = 7;
  return o;
}

class OracleFile : public ScratchTest {
 protected:
  std::string error_loading(const std::string& p) {
    try {
      load_oracle(p);
    } catch (const IoError& e) {
      return e.what();
    }
    return "";
  }
  // Writes an oracle, then lets `edit` damage its /oracle group through the raw C API.
  std::string damaged(const std::function<void(hid_t)>& edit) {
    const std::string p = path("bad.h5");
    save_oracle(p, make_oracle(1));
    const hid_t f = H5Fopen(p.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    const hid_t g = H5Gopen2(f, "oracle", H5P_DEFAULT);
    edit(g);
    H5Gclose(g);
    H5Fclose(f);
    return p;
  }
};

}  // namespace

TEST_F(OracleFile, RoundTripsExactly) {
  const Oracle o = make_oracle(7);
  save_oracle(path("o.h5"), o);
  const Oracle r = load_oracle(path("o.h5"));
  EXPECT_EQ(r.input_names, o.input_names);
  EXPECT_EQ(r.output_names, o.output_names);
  EXPECT_EQ(r.net.layers(), o.net.layers());
  EXPECT_EQ(r.net.params(), o.net.params());
  EXPECT_EQ(r.input_scaler.mean, o.input_scaler.mean);
  EXPECT_EQ(r.output_scaler.scale, o.output_scaler.scale);
  EXPECT_EQ(r.input_hi, o.input_hi);
  EXPECT_EQ(r.metrics.val_r2, o.metrics.val_r2);
  EXPECT_EQ(r.metrics.epochs, 7);
  const MatrixD x = MatrixD::Random(3, 20);
  EXPECT_EQ(r.predict(x), o.predict(x));
}

TEST_F(OracleFile, LoadsFromAnInMemoryImage) {
  save_oracle(path("o.h5"), make_oracle(3));
  std::ifstream in(path("o.h5"), std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> bytes(raw.size());
  std::memcpy(bytes.data(), raw.data(), raw.size());
  const Oracle r = load_oracle_image(bytes, "broadcast");
  EXPECT_EQ(r.net.params(), make_oracle(3).net.params());
}

TEST_F(OracleFile, PredictFollowsTheDocumentedFormula) {
  const Oracle o = make_oracle(2);
  VectorD x(3);
  x << 0.3, -1.2, 2.0;
  // By hand: scale, three layers, unscale.
  VectorD h = (x - o.input_scaler.mean).cwiseQuotient(o.input_scaler.scale);
  h = (o.net.weight(0) * h + o.net.bias(0)).array().tanh().matrix();
  VectorD z = o.net.weight(1) * h + o.net.bias(1);
  for (Index i = 0; i < z.size(); ++i)
    z[i] = 0.5 * z[i] * (1 + std::erf(z[i] / std::sqrt(2.0)));
  const VectorD u = o.net.weight(2) * z + o.net.bias(2);
  const VectorD y = u.cwiseProduct(o.output_scaler.scale) + o.output_scaler.mean;
  EXPECT_LT((o.predict(x) - y).cwiseAbs().maxCoeff(), 1e-12);
}

TEST_F(OracleFile, RejectsMissingNonHdf5AndTruncatedFiles) {
  EXPECT_NE(error_loading(path("missing.h5")).find("no such file"), std::string::npos);
  std::ofstream(path("text.h5")) << "hello, not hdf5\n";
  EXPECT_NE(error_loading(path("text.h5")).find("not an HDF5 file"), std::string::npos);
  save_oracle(path("full.h5"), make_oracle(1));
  const auto size = std::filesystem::file_size(path("full.h5"));
  std::filesystem::copy_file(path("full.h5"), path("cut.h5"));
  std::filesystem::resize_file(path("cut.h5"), size / 2);
  const std::string m = error_loading(path("cut.h5"));
  EXPECT_FALSE(m.empty());
  EXPECT_NE(m.find("cut.h5"), std::string::npos) << m;
}

TEST_F(OracleFile, RejectsWrongFormatVersion) {
  const std::string p = damaged([](hid_t g) {
    const hid_t a = H5Aopen(g, "format_version", H5P_DEFAULT);
    const long long v = 2;
    H5Awrite(a, H5T_NATIVE_LLONG, &v);
    H5Aclose(a);
  });
  EXPECT_NE(error_loading(p).find("format_version 2 is not supported"), std::string::npos);
}

TEST_F(OracleFile, RejectsUnknownActivation) {
  const std::string p = damaged([](hid_t g) {
    const hid_t l = H5Gopen2(g, "layers/1", H5P_DEFAULT);
    H5Adelete(l, "activation");
    h5::Node(h5::Handle(H5Gopen2(g, "layers/1", H5P_DEFAULT), H5Gclose), "x")
        .set_attr("activation", std::string_view("swish"));
    H5Gclose(l);
  });
  const std::string m = error_loading(p);
  EXPECT_NE(m.find("unknown activation 'swish'"), std::string::npos) << m;
  EXPECT_NE(m.find("layers/1"), std::string::npos) << m;
}

TEST_F(OracleFile, RejectsInconsistentShapesNonFiniteAndBadScales) {
  {
    const std::string p = damaged([](hid_t g) {
      H5Ldelete(g, "layers/1/bias", H5P_DEFAULT);
      const hsize_t d[1] = {3};
      h5::Node(h5::Handle(H5Gopen2(g, "layers/1", H5P_DEFAULT), H5Gclose), "x")
          .write_doubles("bias", d, std::vector<double>{1, 2, 3});
    });
    EXPECT_NE(error_loading(p).find("bias must be 1-D with 4 values"), std::string::npos) << error_loading(p);
  }
  {
    const std::string p = damaged([](hid_t g) {
      H5Ldelete(g, "input_scaler/scale", H5P_DEFAULT);
      const hsize_t d[1] = {3};
      h5::Node(h5::Handle(H5Gopen2(g, "input_scaler", H5P_DEFAULT), H5Gclose), "x")
          .write_doubles("scale", d, std::vector<double>{1, 0, 3});
    });
    EXPECT_NE(error_loading(p).find("input_scaler/scale[1] = 0 must be > 0"), std::string::npos) << error_loading(p);
  }
  {
    const std::string p = damaged([](hid_t g) {
      H5Ldelete(g, "layers/0/weight", H5P_DEFAULT);
      std::vector<double> w(15, 0.1);
      w[4] = std::numeric_limits<double>::quiet_NaN();
      const hsize_t d[2] = {5, 3};
      h5::Node(h5::Handle(H5Gopen2(g, "layers/0", H5P_DEFAULT), H5Gclose), "x").write_doubles("weight", d, w);
    });
    EXPECT_NE(error_loading(p).find("non-finite weight"), std::string::npos) << error_loading(p);
  }
  {
    const std::string p = damaged([](hid_t g) {
      H5Ldelete(g, "layers/1/weight", H5P_DEFAULT);
      const hsize_t d[2] = {4, 6};
      h5::Node(h5::Handle(H5Gopen2(g, "layers/1", H5P_DEFAULT), H5Gclose), "x")
          .write_doubles("weight", d, std::vector<double>(24, 0.0));
    });
    EXPECT_NE(error_loading(p).find("takes 6 inputs but layer 0 gives 5"), std::string::npos) << error_loading(p);
  }
}

TEST_F(OracleFile, SaveLeavesNoTemporaryBehind) {
  save_oracle(path("o.h5"), make_oracle(1));
  int n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_))
    ++n;
  EXPECT_EQ(n, 1);
}
