#include "invsweep/oracle/oracle_io.hpp"

#include <fmt/format.h>

#include "invsweep/core/io.hpp"

namespace invsweep::oracle {

namespace {

VectorD read_vector(const h5::Node& g, const char* name) {
  std::vector<hsize_t> dims;
  std::vector<double> v = g.read_doubles(name, dims);
  if (dims.size() != 1)
    throw IoError(fmt::format("{}: expected a 1-D dataset, found {} dimensions", g.child_path(name), dims.size()));
  return Eigen::Map<VectorD>(v.data(), static_cast<Index>(v.size()));
}

void write_vector(const h5::Node& g, const char* name, const VectorD& v) {
  const hsize_t dims[1] = {static_cast<hsize_t>(v.size())};
  g.write_doubles(name, dims, {v.data(), static_cast<std::size_t>(v.size())});
}

nn::Scaler read_scaler(const h5::Node& parent, const char* name) {
  const h5::Node g = parent.open_group(name);
  return {read_vector(g, "mean"), read_vector(g, "scale")};
}

std::vector<double> attr_doubles(const h5::Node& g, const char* name) {
  std::vector<hsize_t> dims;
  (void)dims;
  // Small helper over attributes stored as 1-D double arrays.
  hid_t a = h5::check(H5Aopen(g.id(), name, H5P_DEFAULT), fmt::format("{}: attribute {}", g.path(), name));
  h5::Handle ah(a, H5Aclose);
  h5::Handle sp(h5::check(H5Aget_space(a), "attribute space"), H5Sclose);
  const auto n = static_cast<std::size_t>(H5Sget_simple_extent_npoints(sp.id()));
  std::vector<double> out(n);
  h5::check(H5Aread(a, H5T_NATIVE_DOUBLE, out.data()), fmt::format("{}: read {}", g.path(), name));
  return out;
}

void set_attr_doubles(const h5::Node& g, const char* name, const std::vector<double>& v) {
  const hsize_t dims[1] = {v.size()};
  h5::Handle sp(h5::check(H5Screate_simple(1, dims, nullptr), "dataspace"), H5Sclose);
  h5::Handle a(h5::check(H5Acreate2(g.id(), name, H5T_IEEE_F64LE, sp.id(), H5P_DEFAULT, H5P_DEFAULT),
                         fmt::format("{}: create attribute {}", g.path(), name)),
               H5Aclose);
  h5::check(H5Awrite(a.id(), H5T_NATIVE_DOUBLE, v.data()), fmt::format("{}: write {}", g.path(), name));
}

/// /oracle/ensemble: attr members = K, weight [K, n_out, h], bias [K, n_out] (oracle/ensemble.hpp).
void read_ensemble(const h5::Node& g, EnsembleLayers& e) {
  if (!g.has_attr("members")) throw IoError(fmt::format("{}: missing attribute 'members'", g.path()));
  e.members = g.attr_int("members");
  if (e.members < 1) throw IoError(fmt::format("{}: members = {}, expected at least 1", g.path(), e.members));
  std::vector<hsize_t> wd, bd;
  const std::vector<double> w = g.read_doubles("weight", wd);
  const std::vector<double> b = g.read_doubles("bias", bd);
  const auto K = static_cast<hsize_t>(e.members);
  if (wd.size() != 3 || wd[0] != K)
    throw IoError(fmt::format("{}: expected a 3-D dataset [members = {}, outputs, units]", g.child_path("weight"), K));
  if (bd.size() != 2 || bd[0] != K || bd[1] != wd[1])
    throw IoError(
        fmt::format("{}: expected a 2-D dataset [members = {}, outputs = {}]", g.child_path("bias"), K, wd[1]));
  using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const auto m = static_cast<Index>(wd[1]), h = static_cast<Index>(wd[2]);
  for (Index k = 0; k < e.members; ++k) {
    e.weight.emplace_back(Eigen::Map<const RowMajor>(w.data() + k * m * h, m, h));
    e.bias.emplace_back(Eigen::Map<const VectorD>(b.data() + k * m, m));
  }
}

void write_ensemble(const h5::Node& og, const EnsembleLayers& e) {
  const h5::Node g = og.create_group("ensemble");
  g.set_attr("members", static_cast<std::int64_t>(e.members));
  const Index m = e.weight.front().rows(), h = e.weight.front().cols();
  using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  std::vector<double> w, b;
  for (Index k = 0; k < e.members; ++k) {
    const RowMajor wk = e.weight[static_cast<std::size_t>(k)];
    w.insert(w.end(), wk.data(), wk.data() + wk.size());
    const VectorD& bk = e.bias[static_cast<std::size_t>(k)];
    b.insert(b.end(), bk.data(), bk.data() + bk.size());
  }
  const hsize_t wdims[3] = {static_cast<hsize_t>(e.members), static_cast<hsize_t>(m), static_cast<hsize_t>(h)};
  const hsize_t bdims[2] = {static_cast<hsize_t>(e.members), static_cast<hsize_t>(m)};
  g.write_doubles("weight", wdims, {w.data(), w.size()});
  g.write_doubles("bias", bdims, {b.data(), b.size()});
}

}  // namespace

Oracle read_oracle_group(const h5::Node& og) {
  const std::string& src = og.path();
  if (!og.has_attr("format"))
    throw IoError(
        fmt::format("{}: missing attribute 'format' (expected \"{}\"); not an oracle file?", src, kOracleFormat));
  const std::string format = og.attr_string("format");
  if (format != kOracleFormat)
    throw IoError(fmt::format("{}: format is \"{}\", expected \"{}\"", src, format, kOracleFormat));
  const std::int64_t version = og.attr_int("format_version");
  if (version != kOracleFormatVersion)
    throw IoError(fmt::format("{}: format_version {} is not supported (this invsweep reads version {})", src, version,
                              kOracleFormatVersion));
  Oracle o;
  o.input_names = og.attr_strings("input_names");
  o.output_names = og.attr_strings("output_names");

  const h5::Node layers = og.open_group("layers");
  const std::vector<std::string> names = layers.children();
  if (names.empty()) throw IoError(fmt::format("{}: no layers", layers.path()));
  std::vector<nn::LayerSpec> specs;
  std::vector<std::vector<double>> weights, biases;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string key = std::to_string(i);
    if (!layers.has(key))
      throw IoError(
          fmt::format("{}: layers must be named 0..{}; '{}' is missing", layers.path(), names.size() - 1, key));
    const h5::Node l = layers.open_group(key);
    const std::string act_name = l.attr_string("activation");
    const std::optional<nn::Activation> act = nn::parse_activation(act_name);
    if (!act) {
      std::vector<std::string> known(nn::activation_names().begin(), nn::activation_names().end());
      throw IoError(
          fmt::format("{}: unknown activation '{}' (expected one of: {})", l.path(), act_name, fmt::join(known, ", ")));
    }
    std::vector<hsize_t> wd, bd;
    weights.push_back(l.read_doubles("weight", wd));
    biases.push_back(l.read_doubles("bias", bd));
    if (wd.size() != 2) throw IoError(fmt::format("{}: weight must be 2-D [out, in]", l.path()));
    if (bd.size() != 1 || bd[0] != wd[0])
      throw IoError(fmt::format("{}: bias must be 1-D with {} values (the weight's rows)", l.path(), wd[0]));
    if (i > 0 && static_cast<Index>(wd[1]) != specs.back().out)
      throw IoError(
          fmt::format("{}: weight takes {} inputs but layer {} gives {}", l.path(), wd[1], i - 1, specs.back().out));
    if (wd[0] == 0 || wd[1] == 0) throw IoError(fmt::format("{}: weight has a zero dimension", l.path()));
    specs.push_back({static_cast<Index>(wd[1]), static_cast<Index>(wd[0]), *act});
  }
  o.net = nn::Mlp<double>(specs);
  for (std::size_t i = 0; i < specs.size(); ++i) {
    // File is row-major [out, in]; the engine is column-major.
    using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    o.net.weight(i) = Eigen::Map<const RowMajor>(weights[i].data(), specs[i].out, specs[i].in);
    o.net.bias(i) = Eigen::Map<const VectorD>(biases[i].data(), specs[i].out);
  }
  o.input_scaler = read_scaler(og, "input_scaler");
  o.output_scaler = read_scaler(og, "output_scaler");
  const h5::Node bounds = og.open_group("input_bounds");
  o.input_lo = read_vector(bounds, "lo");
  o.input_hi = read_vector(bounds, "hi");
  if (og.has("input_stats")) {
    const h5::Node st = og.open_group("input_stats");
    o.input_mean = read_vector(st, "mean");
    std::vector<hsize_t> dims;
    const std::vector<double> cov = st.read_doubles("cov", dims);
    if (dims.size() != 2) throw IoError(fmt::format("{}: expected a 2-D dataset", st.child_path("cov")));
    using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    o.input_cov = Eigen::Map<const RowMajor>(cov.data(), static_cast<Index>(dims[0]), static_cast<Index>(dims[1]));
    if (st.has_attr("max_distance")) o.input_max_distance = attr_doubles(st, "max_distance").at(0);
  }
  if (og.has("output_bounds")) {
    const h5::Node ob = og.open_group("output_bounds");
    o.output_lo = read_vector(ob, "lo");
    o.output_hi = read_vector(ob, "hi");
  }
  if (og.has("ensemble")) read_ensemble(og.open_group("ensemble"), o.ensemble);
  if (og.has("metrics")) {
    // Optional and informative only: a malformed attribute is reported and skipped, it does
    // not make an otherwise valid oracle unusable.
    try {
      const h5::Node m = og.open_group("metrics");
      if (m.has_attr("val_rmse")) o.metrics.val_rmse = attr_doubles(m, "val_rmse");
      if (m.has_attr("val_r2")) o.metrics.val_r2 = attr_doubles(m, "val_r2");
      if (m.has_attr("train_rmse")) o.metrics.train_rmse = attr_doubles(m, "train_rmse");
      if (m.has_attr("n_train")) o.metrics.n_train = m.attr_int("n_train");
      if (m.has_attr("n_val")) o.metrics.n_val = m.attr_int("n_val");
      if (m.has_attr("epochs")) o.metrics.epochs = m.attr_int("epochs");
      if (m.has_attr("test_rmse")) o.metrics.test_rmse = attr_doubles(m, "test_rmse");
      if (m.has_attr("test_r2")) o.metrics.test_r2 = attr_doubles(m, "test_r2");
      if (m.has_attr("n_test")) o.metrics.n_test = m.attr_int("n_test");
      if (m.has_attr("cv_r2_mean")) o.metrics.cv_r2_mean = attr_doubles(m, "cv_r2_mean");
      if (m.has_attr("cv_r2_sd")) o.metrics.cv_r2_sd = attr_doubles(m, "cv_r2_sd");
      if (m.has_attr("cv_folds")) o.metrics.cv_folds = m.attr_int("cv_folds");
    } catch (const std::exception& e) {
      o.metrics = {};
      fmt::print(stderr, "invsweep: warning: {}: /oracle/metrics is malformed and is ignored ({})\n", src, e.what());
    }
  }
  o.validate(src);
  return o;
}

Oracle load_oracle(const std::string& path) {
  const h5::File f = h5::File::open(path, h5::Mode::read_only);
  if (!f.has("oracle")) throw IoError(fmt::format("{}: no /oracle group; not an invsweep oracle file", path));
  return read_oracle_group(f.open_group("oracle"));
}

Oracle load_oracle_image(std::span<const std::byte> bytes, const std::string& label) {
  const h5::File f = h5::File::open_image(bytes, label);
  if (!f.has("oracle")) throw IoError(fmt::format("{}: no /oracle group; not an invsweep oracle file", label));
  return read_oracle_group(f.open_group("oracle"));
}

void write_oracle_group(const h5::Node& parent, const Oracle& o, const std::string& name) {
  const h5::Node og = parent.create_group(name);
  og.set_attr("format", std::string_view(kOracleFormat));
  og.set_attr("format_version", kOracleFormatVersion);
  og.set_attr("input_names", o.input_names);
  og.set_attr("output_names", o.output_names);
  const h5::Node layers = og.create_group("layers");
  for (std::size_t i = 0; i < o.net.n_layers(); ++i) {
    const h5::Node l = layers.create_group(std::to_string(i));
    l.set_attr("activation", nn::to_string(o.net.layer(i).act));
    using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const RowMajor w = o.net.weight(i);
    const hsize_t wd[2] = {static_cast<hsize_t>(w.rows()), static_cast<hsize_t>(w.cols())};
    l.write_doubles("weight", wd, {w.data(), static_cast<std::size_t>(w.size())});
    write_vector(l, "bias", o.net.bias(i));
  }
  const h5::Node is = og.create_group("input_scaler");
  write_vector(is, "mean", o.input_scaler.mean);
  write_vector(is, "scale", o.input_scaler.scale);
  const h5::Node os = og.create_group("output_scaler");
  write_vector(os, "mean", o.output_scaler.mean);
  write_vector(os, "scale", o.output_scaler.scale);
  const h5::Node b = og.create_group("input_bounds");
  write_vector(b, "lo", o.input_lo);
  write_vector(b, "hi", o.input_hi);
  if (o.has_input_stats()) {
    const h5::Node st = og.create_group("input_stats");
    write_vector(st, "mean", o.input_mean);
    using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const RowMajor c = o.input_cov;
    const hsize_t cd[2] = {static_cast<hsize_t>(c.rows()), static_cast<hsize_t>(c.cols())};
    st.write_doubles("cov", cd, {c.data(), static_cast<std::size_t>(c.size())});
    if (std::isfinite(o.input_max_distance)) set_attr_doubles(st, "max_distance", {o.input_max_distance});
  }
  if (o.has_output_bounds()) {
    const h5::Node ob = og.create_group("output_bounds");
    write_vector(ob, "lo", o.output_lo);
    write_vector(ob, "hi", o.output_hi);
  }
  if (o.is_ensemble()) write_ensemble(og, o.ensemble);
  if (!o.metrics.empty()) {
    const h5::Node m = og.create_group("metrics");
    // Figures of rows that do not exist (no validation, test or cross-validation) are left out.
    const auto set_if = [&m](const char* key, const std::vector<double>& v) {
      if (!v.empty()) set_attr_doubles(m, key, v);
    };
    set_if("val_rmse", o.metrics.val_rmse);
    set_if("val_r2", o.metrics.val_r2);
    set_if("train_rmse", o.metrics.train_rmse);
    set_if("test_rmse", o.metrics.test_rmse);
    set_if("test_r2", o.metrics.test_r2);
    set_if("cv_r2_mean", o.metrics.cv_r2_mean);
    set_if("cv_r2_sd", o.metrics.cv_r2_sd);
    m.set_attr("n_train", o.metrics.n_train);
    m.set_attr("n_val", o.metrics.n_val);
    m.set_attr("n_test", o.metrics.n_test);
    m.set_attr("epochs", o.metrics.epochs);
    if (o.metrics.cv_folds > 0) m.set_attr("cv_folds", o.metrics.cv_folds);
  }
}

void save_oracle(const std::string& path, const Oracle& o) {
  o.validate(path);
  AtomicFile out(path);
  {
    h5::File f = h5::File::create(out.temp_path(), true);
    write_oracle_group(f, o);
    f.close();
  }
  out.commit();
}

}  // namespace invsweep::oracle
