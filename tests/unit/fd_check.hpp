#pragma once
// Shared pieces of the finite-difference tests of the inversion code (objective, regularisers,
// bound maps): an error table for the failure message and a small random oracle.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "invsweep/core/rng.hpp"
#include "invsweep/inverse/spec.hpp"
#include "invsweep/oracle/oracle.hpp"

namespace invsweep::testing {

/// Analytic against numeric values. error = |a − n| / max(|a|, |n|, floor): relative where the
/// value is large, absolute (in units of `floor`) where it should be about zero. The functions
/// under test work in float32, so callers set `floor` to a small fraction of the largest
/// component of the gradient they check.
struct FdTable {
  struct Row {
    std::string what;
    double analytic, numeric, err;
  };
  double floor = 1e-6;
  double worst = 0;
  std::vector<Row> rows;

  void add(const std::string& what, double analytic, double numeric) {
    const double err = std::abs(analytic - numeric) / std::max({std::abs(analytic), std::abs(numeric), floor});
    worst = std::isnan(err) ? HUGE_VAL : std::max(worst, err);
    rows.push_back({what, analytic, numeric, std::isnan(err) ? HUGE_VAL : err});
  }
  /// Sets the floor to `fraction` of the largest |numeric| value and recomputes the errors.
  void floor_at(double fraction) {
    double big = 0;
    for (const Row& r : rows)
      big = std::max(big, std::abs(r.numeric));
    floor = std::max(fraction * big, 1e-12);
    worst = 0;
    for (Row& r : rows) {
      r.err = std::abs(r.analytic - r.numeric) / std::max({std::abs(r.analytic), std::abs(r.numeric), floor});
      worst = std::isnan(r.err) ? HUGE_VAL : std::max(worst, r.err);
    }
  }
  /// The rows with error above `tol` (at most 30, worst first), or the worst row.
  std::string table(double tol) const {
    std::vector<Row> r = rows;
    std::sort(r.begin(), r.end(), [](const Row& a, const Row& b) { return a.err > b.err; });
    std::string out = fmt::format("  {} values, worst error {:.3e} (floor {:.2e}, tolerance {:.1e})\n", rows.size(),
                                  worst, floor, tol);
    for (std::size_t i = 0; i < r.size() && i < 30 && (i == 0 || r[i].err > tol); ++i)
      out += fmt::format("  {:<28} analytic {:+.9e} numeric {:+.9e} err {:.2e}\n", r[i].what, r[i].analytic,
                         r[i].numeric, r[i].err);
    return out;
  }
};

/// Keeps the worst error of one test for its XML report (property "worst_fd_error").
struct WorstError {
  double value = 0;
  void update(double e) { value = std::max(value, e); }
  ~WorstError() { ::testing::Test::RecordProperty("worst_fd_error", fmt::format("{:.3e}", value)); }
};

/// A small random oracle: n_in → 6 (tanh) → 5 (softplus) → n_out, non-zero biases, input and
/// output scalers with non-trivial means and scales; training range mean ± 2·scale.
inline oracle::Oracle random_oracle(Index n_in, Index n_out, std::uint64_t seed) {
  Rng rng(seed);
  oracle::Oracle o;
  for (Index i = 0; i < n_in; ++i)
    o.input_names.push_back(fmt::format("x{}", i + 1));
  for (Index k = 0; k < n_out; ++k)
    o.output_names.push_back(fmt::format("y{}", k + 1));
  o.net = nn::Mlp<double>(
      {{n_in, 6, nn::Activation::tanh}, {6, 5, nn::Activation::softplus}, {5, n_out, nn::Activation::identity}});
  o.net.init_glorot(rng);
  for (Index p = 0; p < o.net.n_params(); ++p)
    o.net.params()[p] += 0.3 * rng.normal();
  o.input_scaler.mean.resize(n_in);
  o.input_scaler.scale.resize(n_in);
  for (Index i = 0; i < n_in; ++i) {
    o.input_scaler.mean[i] = rng.uniform(-3.0, 3.0);
    o.input_scaler.scale[i] = rng.uniform(0.5, 4.0);
  }
  o.output_scaler.mean.resize(n_out);
  o.output_scaler.scale.resize(n_out);
  for (Index k = 0; k < n_out; ++k) {
    o.output_scaler.mean[k] = rng.uniform(-10.0, 10.0);
    o.output_scaler.scale[k] = rng.uniform(0.3, 5.0);
  }
  o.input_lo = o.input_scaler.mean - 2.0 * o.input_scaler.scale;
  o.input_hi = o.input_scaler.mean + 2.0 * o.input_scaler.scale;
  return o;
}

/// A float matrix of normal deviates times `sigma`.
inline MatrixF random_matrix(Rng& rng, Index rows, Index cols, double sigma) {
  MatrixF m(rows, cols);
  for (Index i = 0; i < m.size(); ++i)
    m.data()[i] = static_cast<float>(sigma * rng.normal());
  return m;
}

/// The objective from its definitions, in double, for scaled outputs u [n_out, N] (y = u·scale
/// + mean): the mean over columns of Σ_k w_k·d_k² with d = u − (target − mean)/scale (target)
/// or the distance from y to [lo, hi] in scaled units (range); for maximize / minimize
/// ∓Σ_k w_k·(y_k − mean_k) / ||w ⊙ scale||: the weighted sum of the outputs up to a constant,
/// normalised so that the gradient is O(1) (problem.cpp). Weights default to one.
/// `magnitude` (optional) gets the mean of Σ_k |term|, the scale of its rounding errors.
inline double objective_closed_form(const inverse::Objective& obj, const nn::Scaler& os, const MatrixD& u,
                                    double* magnitude = nullptr) {
  const Index m = u.rows(), n = u.cols();
  const VectorD w = obj.weights.size() == m ? obj.weights : VectorD::Ones(m);
  const double norm = std::sqrt((w.array() * os.scale.array()).square().sum());
  double total = 0, mag = 0;
  for (Index j = 0; j < n; ++j)
    for (Index k = 0; k < m; ++k) {
      const double y = u(k, j) * os.scale[k] + os.mean[k];
      double term = 0;
      switch (obj.kind) {
        case inverse::ObjectiveKind::target: {
          const double d = (y - obj.target[k]) / os.scale[k];
          term = w[k] * d * d;
          break;
        }
        case inverse::ObjectiveKind::range: {
          const double d =
              y < obj.lo[k] ? (obj.lo[k] - y) / os.scale[k] : (y > obj.hi[k] ? (y - obj.hi[k]) / os.scale[k] : 0.0);
          term = w[k] * d * d;
          break;
        }
        case inverse::ObjectiveKind::maximize:
          term = -w[k] * (y - os.mean[k]) / norm;
          break;
        case inverse::ObjectiveKind::minimize:
          term = w[k] * (y - os.mean[k]) / norm;
          break;
      }
      total += term;
      mag += std::abs(term);
    }
  if (magnitude != nullptr) *magnitude = mag / static_cast<double>(n);
  return total / static_cast<double>(n);
}

}  // namespace invsweep::testing
