#pragma once
// The sweep parser's tests: a small oracle with named features and outputs, sweep texts built
// from parts, the position of a value in a text, and checks that a text is refused with a
// message naming file:line:col and the key.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <initializer_list>
#include <string>

#include "closed_form.hpp"
#include "invsweep/core/errors.hpp"
#include "invsweep/sweep/sweep.hpp"

namespace invsweep::testing {

inline constexpr const char* kSweepPath = "jobs/sweep.toml";
inline constexpr const char* kTargetObjective = "kind = \"target\"\ntargets = [[1.0, 2.0]]\n";

/// Features x1, x2, x3 (training range [−5, 5], input mean (1, 2, 3), identity covariance);
/// outputs y, z (training range [−10, 10]).
inline const oracle::Oracle& sweep_oracle() {
  static const oracle::Oracle o = [] {
    oracle::Oracle r = linear_oracle(VectorD::Ones(3), 0.0);
    r.output_names = {"y", "z"};
    r.net = nn::Mlp<double>({{3, 2, nn::Activation::identity}});
    r.net.weight(0) << 1, 2, -1, 1, -1, 0;
    r.net.bias(0) << 1, 0;
    r.output_scaler = nn::Scaler::identity(2);
    r.input_scaler.mean = (VectorD(3) << 1.0, 2.0, 3.0).finished();
    r.input_mean = r.input_scaler.mean;  // training statistics (plausibility)
    r.input_cov = MatrixD::Identity(3, 3);
    r.output_lo = (VectorD(2) << -10.0, -10.0).finished();
    r.output_hi = (VectorD(2) << 10.0, 10.0).finished();
    return r;
  }();
  return o;
}

/// `oracle = …`, the `top` lines, [objective] with `objective`, then `tables`.
inline std::string sweep_text(const std::string& top = "", const std::string& tables = "",
                              const std::string& objective = kTargetObjective) {
  return "oracle = \"oracle.h5\"\n" + top + "\n[objective]\n" + objective + "\n" + tables;
}

inline sweep::Sweep parse(const std::string& text, const oracle::Oracle& o = sweep_oracle()) {
  return sweep::parse_sweep(kSweepPath, text, o);
}

/// "jobs/sweep.toml:line:col" of the character just after the first `needle` in `text`
/// (the value of "\nkey = ").
inline std::string value_at(const std::string& text, const std::string& needle) {
  const std::size_t p = text.find(needle);
  if (p == std::string::npos) {
    ADD_FAILURE() << "'" << needle << "' not in:\n" << text;
    return "?";
  }
  const std::size_t end = p + needle.size();
  const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(end), '\n');
  const std::size_t nl = text.rfind('\n', end - 1);
  const std::size_t col = end - (nl == std::string::npos ? 0 : nl + 1) + 1;
  return fmt::format("{}:{}:{}", kSweepPath, line, col);
}

/// "jobs/sweep.toml:line:1" of the line where `needle` starts (a table's header).
inline std::string line_at(const std::string& text, const std::string& needle) {
  const std::size_t p = text.find(needle);
  if (p == std::string::npos) {
    ADD_FAILURE() << "'" << needle << "' not in:\n" << text;
    return "?";
  }
  return fmt::format("{}:{}:1", kSweepPath,
                     1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(p), '\n'));
}

/// The ConfigError message of parsing `text` ("" and a test failure when it parses).
inline std::string error_of(const std::string& text, const oracle::Oracle& o = sweep_oracle()) {
  try {
    (void)parse(text, o);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted:\n" << text;
  return "";
}

/// Parsing `text` throws a ConfigError whose message contains every fragment.
inline void expect_refused(const std::string& text, std::initializer_list<std::string> fragments,
                           const oracle::Oracle& o = sweep_oracle()) {
  const std::string msg = error_of(text, o);
  for (const std::string& f : fragments)
    EXPECT_NE(msg.find(f), std::string::npos) << "the message lacks '" << f << "':\n"
                                              << msg << "\nsweep file:\n"
                                              << text;
}

}  // namespace invsweep::testing
