#pragma once
// Random and hand-built oracles for the certificate tests.
#include <cmath>
#include <string>
#include <vector>

#include "invsweep/core/rng.hpp"
#include "invsweep/oracle/oracle.hpp"

namespace invsweep::testing {

/// An oracle around `net` with identity scalers and inputs bounded to [−5, 5].
inline oracle::Oracle wrap(nn::Mlp<double> net) {
  oracle::Oracle o;
  for (Index i = 0; i < net.n_in(); ++i)
    o.input_names.push_back("x" + std::to_string(i + 1));
  for (Index j = 0; j < net.n_out(); ++j)
    o.output_names.push_back("y" + std::to_string(j + 1));
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
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i)
    layers.push_back({sizes[i], sizes[i + 1], acts[i]});
  nn::Mlp<double> net(layers);
  for (std::size_t i = 0; i < net.n_layers(); ++i) {
    const double sd = gain / std::sqrt(static_cast<double>(layers[i].in));
    for (Index k = 0; k < net.weight(i).size(); ++k)
      net.weight(i).data()[k] = sd * rng.normal();
    for (Index k = 0; k < net.bias(i).size(); ++k)
      net.bias(i)[k] = 0.5 * rng.normal();
  }
  return net;
}

using LD = long double;

inline LD ref_value(nn::Activation act, LD z) {
  switch (act) {
    case nn::Activation::identity:
      return z;
    case nn::Activation::relu:
      return z > 0 ? z : 0;
    case nn::Activation::tanh:
      return std::tanh(z);
    case nn::Activation::sigmoid:
      return 1 / (1 + std::exp(-z));
    case nn::Activation::softplus:
      return (z > 0 ? z : 0) + std::log1p(std::exp(-std::fabs(z)));
    case nn::Activation::silu:
      return z / (1 + std::exp(-z));
    case nn::Activation::gelu:
      return 0.5L * z * std::erfc(-z / std::sqrt(2.0L));
  }
  return z;
}

inline LD ref_derivative(nn::Activation act, LD z) {
  const LD s = 1 / (1 + std::exp(-z));
  switch (act) {
    case nn::Activation::identity:
      return 1;
    case nn::Activation::relu:
      return z > 0 ? 1 : 0;
    case nn::Activation::tanh: {
      const LD c = std::cosh(z);
      return 1 / (c * c);
    }
    case nn::Activation::sigmoid:
      return s * (1 - s);
    case nn::Activation::softplus:
      return s;
    case nn::Activation::silu:
      return s * (1 + z * (1 - s));
    case nn::Activation::gelu:
      return 0.5L * std::erfc(-z / std::sqrt(2.0L)) +
             z * std::exp(-0.5L * z * z) / std::sqrt(2 * 3.14159265358979323846L);
  }
  return 1;
}

/// The exact network in long double (a reference closer to the real-valued function than
/// Oracle::predict), x in input units.
inline std::vector<LD> predict_ld(const oracle::Oracle& o, const VectorD& x) {
  std::vector<LD> h(static_cast<std::size_t>(x.size()));
  for (Index i = 0; i < x.size(); ++i)
    h[static_cast<std::size_t>(i)] = (LD(x[i]) - LD(o.input_scaler.mean[i])) / LD(o.input_scaler.scale[i]);
  for (std::size_t k = 0; k < o.net.n_layers(); ++k) {
    const nn::LayerSpec& ls = o.net.layer(k);
    std::vector<LD> z(static_cast<std::size_t>(ls.out));
    for (Index r = 0; r < ls.out; ++r) {
      LD s = o.net.bias(k)[r];
      for (Index c = 0; c < ls.in; ++c)
        s += LD(o.net.weight(k)(r, c)) * h[static_cast<std::size_t>(c)];
      z[static_cast<std::size_t>(r)] = ref_value(ls.act, s);
    }
    h = std::move(z);
  }
  for (Index j = 0; j < o.n_out(); ++j)
    h[static_cast<std::size_t>(j)] =
        h[static_cast<std::size_t>(j)] * LD(o.output_scaler.scale[j]) + LD(o.output_scaler.mean[j]);
  return h;
}

}  // namespace invsweep::testing
