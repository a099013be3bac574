#pragma once
// The reference problems (`invsweep dataset --list` prints them): closed-form functions whose inverses are known,
// used for the ready sweeps in jobs/ and the tests.
//
//   paper4    y = 9·x1^0.87 + 8.97·x1^0.02 + 0.876·x3^0.12 + 2.9876·x4^0.987,
//             x1..x4 uniform on [0, 500] (as published: x1 appears twice, x2 does not enter)
//   sinc      y = sin(x)/x on [−10, 10] (y(0) = 1)
//   multiroot y = sin x − 0.3·ln(x+1) + 0.1·e^(−x/3) + 0.2·√x − 0.5 on (0, 10]
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "invsweep/core/eigen.hpp"

namespace invsweep::data {

struct ReferenceProblem {
  std::string name;
  std::string formula;
  std::vector<std::string> inputs, outputs;
  std::vector<double> lo, hi;  ///< sampling box per input
  bool open_lo = false;        ///< the domain excludes lo (sample on (lo, hi])
  std::function<double(const double*)> f;
};

/// All reference problems, in a fixed order.
const std::vector<ReferenceProblem>& reference_problems();
/// Throws ConfigError with the list of names (and a "did you mean") when unknown.
const ReferenceProblem& reference_problem(const std::string& name);

/// n rows drawn uniformly in the problem's box with the given seed: [n, inputs + outputs].
MatrixD sample_reference(const ReferenceProblem& p, Index n, std::uint64_t seed);

}  // namespace invsweep::data
