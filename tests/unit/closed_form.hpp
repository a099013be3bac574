#pragma once
// Oracles built by hand whose inverses are known in closed form (solver tests).
#include <string>

#include "invsweep/oracle/oracle.hpp"

namespace invsweep::testing {

/// y = a·x + b with one identity layer (scalers identity), inputs bounded to [−5, 5].
inline oracle::Oracle linear_oracle(const VectorD& a, double b) {
  oracle::Oracle o;
  for (Index i = 0; i < a.size(); ++i)
    o.input_names.push_back("x" + std::to_string(i + 1));
  o.output_names = {"y"};
  o.net = nn::Mlp<double>({{a.size(), 1, nn::Activation::identity}});
  o.net.weight(0) = a.transpose();
  o.net.bias(0)[0] = b;
  o.input_scaler = nn::Scaler::identity(a.size());
  o.output_scaler = nn::Scaler::identity(1);
  o.input_lo = VectorD::Constant(a.size(), -5);
  o.input_hi = VectorD::Constant(a.size(), 5);
  return o;
}

/// y = tanh(x), one input.
inline oracle::Oracle tanh_oracle() {
  oracle::Oracle o = linear_oracle(VectorD::Ones(1), 0.0);
  o.net = nn::Mlp<double>({{1, 1, nn::Activation::tanh}});
  o.net.weight(0)(0, 0) = 1.0;
  return o;
}

}  // namespace invsweep::testing
