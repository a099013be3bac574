#pragma once
// Random and hand-built oracles for the certificate tests.
#include <string>
#include <vector>

#include "invsweep/core/rng.hpp"
#include "invsweep/oracle/oracle.hpp"

namespace invsweep::testing {

/// An oracle around `net` with identity scalers and inputs bounded to [−5, 5].
inline oracle::Oracle wrap(nn::Mlp<double> net) {
  oracle::Oracle o;
  for (Index i = 0; i < net.n_in(); ++i) o.input_names.push_back("x" + std::to_string(i + 1));
  for (Index j = 0; j < net.n_out(); ++j) o.output_names.push_back("y" + std::to_string(j + 1));
  o.input_scaler = nn::Scaler::identity(net.n_in());
  o.output_scaler = nn::Scaler::identity(net.n_out());
  o.input_lo = VectorD::Constant(net.n_in(), -5);
  o.input_hi = VectorD::Constant(net.n_in(), 5);
  o.net = std::move(net);
  return o;
}

/// A random MLP n_in → hidden… → n_out with the given activations per layer (one per
/// layer), weights ~ N(0, gain²/fan_in), biases ~ N(0, 0.5²).
inline nn::Mlp<double> random_net(Rng& rng, const std::vector<Index>& sizes, const std::vector<nn::Activation>& acts,
                                  double gain = 1.5) {
  std::vector<nn::LayerSpec> layers;
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) layers.push_back({sizes[i], sizes[i + 1], acts[i]});
  nn::Mlp<double> net(layers);
  for (std::size_t i = 0; i < net.n_layers(); ++i) {
    const double sd = gain / std::sqrt(static_cast<double>(layers[i].in));
    for (Index k = 0; k < net.weight(i).size(); ++k) net.weight(i).data()[k] = sd * rng.normal();
    for (Index k = 0; k < net.bias(i).size(); ++k) net.bias(i)[k] = 0.5 * rng.normal();
  }
  return net;
}

}  // namespace invsweep::testing
