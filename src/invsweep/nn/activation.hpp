#pragma once
// Element-wise activations of the MLP layers and their derivatives.
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "invsweep/core/eigen.hpp"

namespace invsweep::nn {

/// The activations an oracle or generator layer may use. The names (`to_string`) are the
/// ones stored in oracle files.
enum class Activation : std::uint8_t { identity, relu, tanh, sigmoid, softplus, silu, gelu };

std::string_view to_string(Activation a);
/// Parses a name as stored in files; nullopt when unknown.
std::optional<Activation> parse_activation(std::string_view name);
/// All names, for error messages and `--help`.
std::span<const std::string_view> activation_names();

/// a = act(z), element-wise over `n` contiguous values (a may alias z).
/// softplus(z) = log(1 + e^z) computed stably; gelu is the exact erf form
/// 0.5·z·(1 + erf(z/√2)); silu(z) = z·σ(z).
template <class T>
void activate(Activation act, const T* z, T* a, Index n);

/// g *= act'(z), element-wise over `n` values; `a` is act(z) (used where cheaper).
template <class T>
void multiply_derivative(Activation act, const T* z, const T* a, T* g, Index n);

/// The forward step after a layer's matrix product, in one pass over z [rows, cols]
/// (column-major): a = act(z + b) column by column; z is overwritten with z + b when
/// `keep_pre` (activations whose derivative needs the pre-activation), else it may alias a.
template <class T>
void bias_activate(Activation act, const T* b, T* z, T* a, Index rows, Index cols, bool keep_pre);

/// The backward step before a layer's matrix products, in one pass over g [rows, cols]:
/// g ← g ⊙ act'(z) (`a` = act(z)), and when `bias_grad` is not null, bias_grad[r] += Σ_j g(r, j).
template <class T>
void derivative_bias_grad(Activation act, const T* z, const T* a, T* g, Index rows, Index cols, T* bias_grad);

/// True when act' can be computed from the output alone, so z need not be kept.
constexpr bool derivative_from_output(Activation act) {
  return act == Activation::identity || act == Activation::relu || act == Activation::tanh ||
         act == Activation::sigmoid;
}

}  // namespace invsweep::nn
