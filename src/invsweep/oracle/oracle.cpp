#include "invsweep/oracle/oracle.hpp"

#include <fmt/format.h>

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "invsweep/core/errors.hpp"
#include "invsweep/oracle/ensemble.hpp"

namespace invsweep::oracle {

MatrixD Oracle::predict(const MatrixD& x) const {
  const MatrixD u = nn::predict(net, input_scaler.transform(x));
  return output_scaler.inverse(u);
}

Index Oracle::input_index(std::string_view name) const {
  for (std::size_t i = 0; i < input_names.size(); ++i)
    if (input_names[i] == name) return static_cast<Index>(i);
  return -1;
}

Index Oracle::output_index(std::string_view name) const {
  for (std::size_t i = 0; i < output_names.size(); ++i)
    if (output_names[i] == name) return static_cast<Index>(i);
  return -1;
}

MatrixD precision_matrix(const MatrixD& cov) {
  const Eigen::SelfAdjointEigenSolver<MatrixD> eig(cov);
  const VectorD& ev = eig.eigenvalues();
  const double cut = 1e-12 * std::max(ev.maxCoeff(), 0.0);
  VectorD inv = VectorD::Zero(ev.size());
  for (Index i = 0; i < ev.size(); ++i)
    if (ev[i] > cut && ev[i] > 0) inv[i] = 1.0 / ev[i];
  return eig.eigenvectors() * inv.asDiagonal() * eig.eigenvectors().transpose();
}

namespace {
void check_names(const std::string& source, const std::vector<std::string>& names, const char* what) {
  if (names.empty()) throw IoError(fmt::format("{}: {} is empty", source, what));
  std::set<std::string> seen;
  for (const std::string& n : names) {
    if (n.empty()) throw IoError(fmt::format("{}: {} contains an empty name", source, what));
    if (!seen.insert(n).second) throw IoError(fmt::format("{}: {} has '{}' twice", source, what, n));
  }
}

template <class V>
void check_vector(const std::string& source, const V& v, Index n, const char* what, bool positive,
                  bool allow_inf = false) {
  if (v.size() != n) throw IoError(fmt::format("{}: {} has {} values, expected {}", source, what, v.size(), n));
  for (Index i = 0; i < v.size(); ++i) {
    if (allow_inf ? std::isnan(v[i]) : !std::isfinite(v[i]))
      throw IoError(fmt::format("{}: {}[{}] is not finite", source, what, i));
    if (positive && !(v[i] > 0)) throw IoError(fmt::format("{}: {}[{}] = {} must be > 0", source, what, i, v[i]));
  }
}
}  // namespace

void Oracle::validate(const std::string& source) const {
  check_names(source, input_names, "input_names");
  check_names(source, output_names, "output_names");
  if (net.n_layers() == 0) throw IoError(fmt::format("{}: the network has no layers", source));
  if (net.n_in() != n_in())
    throw IoError(fmt::format("{}: layer 0 takes {} inputs but there are {} input_names", source, net.n_in(), n_in()));
  if (net.n_out() != n_out())
    throw IoError(
        fmt::format("{}: the last layer gives {} outputs but there are {} output_names", source, net.n_out(), n_out()));
  for (Index i = 0; i < net.params().size(); ++i)
    if (!std::isfinite(net.params()[i]))
      throw IoError(fmt::format("{}: the network has a non-finite weight or bias", source));
  check_vector(source, input_scaler.mean, n_in(), "input_scaler/mean", false);
  check_vector(source, input_scaler.scale, n_in(), "input_scaler/scale", true);
  check_vector(source, output_scaler.mean, n_out(), "output_scaler/mean", false);
  check_vector(source, output_scaler.scale, n_out(), "output_scaler/scale", true);
  check_vector(source, input_lo, n_in(), "input_bounds/lo", false, true);
  check_vector(source, input_hi, n_in(), "input_bounds/hi", false, true);
  if (has_input_stats() || input_cov.size() > 0) {
    check_vector(source, input_mean, n_in(), "input_stats/mean", false);
    if (input_cov.rows() != n_in() || input_cov.cols() != n_in())
      throw IoError(fmt::format("{}: input_stats/cov is [{}, {}], expected [{}, {}]", source, input_cov.rows(),
                                input_cov.cols(), n_in(), n_in()));
    if (!input_cov.allFinite()) throw IoError(fmt::format("{}: input_stats/cov has a non-finite value", source));
    const double sym = (input_cov - input_cov.transpose()).cwiseAbs().maxCoeff();
    if (sym > 1e-9 * std::max(1.0, input_cov.cwiseAbs().maxCoeff()))
      throw IoError(fmt::format("{}: input_stats/cov is not symmetric", source));
    for (Index i = 0; i < n_in(); ++i)
      if (!(input_cov(i, i) >= 0))
        throw IoError(fmt::format("{}: input_stats/cov has a negative variance for input '{}'", source,
                                  input_names[static_cast<std::size_t>(i)]));
  }
  if (has_output_bounds() || output_hi.size() > 0) {
    check_vector(source, output_lo, n_out(), "output_bounds/lo", false);
    check_vector(source, output_hi, n_out(), "output_bounds/hi", false);
    for (Index k = 0; k < n_out(); ++k)
      if (output_lo[k] > output_hi[k])
        throw IoError(fmt::format("{}: output_bounds lo > hi for output '{}'", source,
                                  output_names[static_cast<std::size_t>(k)]));
  }
  if (is_ensemble()) validate_ensemble(*this, source);
  for (Index i = 0; i < n_in(); ++i) {
    const std::string& name = input_names[static_cast<std::size_t>(i)];
    if (input_lo[i] > input_hi[i]) throw IoError(fmt::format("{}: input_bounds lo > hi for input '{}'", source, name));
    // (-inf, inf) records "unbounded"; an end at +inf below or -inf above holds no value at all.
    if (input_lo[i] == std::numeric_limits<double>::infinity() ||
        input_hi[i] == -std::numeric_limits<double>::infinity())
      throw IoError(fmt::format("{}: input_bounds of input '{}' are [{}, {}], which contain no finite value", source,
                                name, input_lo[i], input_hi[i]));
  }
}

}  // namespace invsweep::oracle
