#pragma once
// A multi-layer perceptron: layers L_i(h) = act_i(W_i h + b_i), batch in columns.
//
// All parameters live in one flat vector (`params()`), layer by layer, each layer's weight
// [out, in] column-major followed by its bias [out]. Gradients use the same layout, so an
// optimizer updates a network with one vectorised loop. Scratch memory for a batch lives in
// an `MlpWorkspace`, allocated once for a maximum batch size: forward and backward passes
// never allocate.
#include <span>
#include <type_traits>
#include <vector>

#include "invsweep/core/eigen.hpp"
#include "invsweep/core/rng.hpp"
#include "invsweep/nn/activation.hpp"

namespace invsweep::nn {

struct LayerSpec {
  Index in = 0;
  Index out = 0;
  Activation act = Activation::identity;
  bool operator==(const LayerSpec&) const = default;
};

template <class T>
class Mlp {
 public:
  Mlp() = default;
  /// A network of the given layers with all parameters zero. Consecutive layers must chain
  /// (`layers[i].out == layers[i+1].in`); throws std::invalid_argument otherwise.
  explicit Mlp(std::vector<LayerSpec> layers);

  /// n_in → hidden… → n_out; `hidden_act` on hidden layers, `out_act` on the last.
  static Mlp make(Index n_in, std::span<const Index> hidden, Index n_out, Activation hidden_act,
                  Activation out_act = Activation::identity);

  /// Glorot-uniform weights, zero biases.
  void init_glorot(Rng& rng);

  Index n_in() const { return layers_.empty() ? 0 : layers_.front().in; }
  Index n_out() const { return layers_.empty() ? 0 : layers_.back().out; }
  std::size_t n_layers() const { return layers_.size(); }
  Index n_params() const { return params_.size(); }
  const LayerSpec& layer(std::size_t i) const { return layers_[i]; }
  const std::vector<LayerSpec>& layers() const { return layers_; }
  /// Widest layer output (sizes the workspace).
  Index max_width() const;

  MatrixMap<T> weight(std::size_t i) { return {params_.data() + w_off_[i], layers_[i].out, layers_[i].in}; }
  ConstMatrixMap<T> weight(std::size_t i) const { return {params_.data() + w_off_[i], layers_[i].out, layers_[i].in}; }
  VectorMap<T> bias(std::size_t i) { return {params_.data() + b_off_[i], layers_[i].out}; }
  ConstVectorMap<T> bias(std::size_t i) const { return {params_.data() + b_off_[i], layers_[i].out}; }

  /// Views of layer i's weight / bias inside any flat vector of this layout (a gradient).
  MatrixMap<T> weight_in(Vector<T>& flat, std::size_t i) const {
    return {flat.data() + w_off_[i], layers_[i].out, layers_[i].in};
  }
  VectorMap<T> bias_in(Vector<T>& flat, std::size_t i) const { return {flat.data() + b_off_[i], layers_[i].out}; }

  Vector<T>& params() { return params_; }
  const Vector<T>& params() const { return params_; }

  /// The same network in another scalar type.
  template <class U>
  Mlp<U> cast() const {
    Mlp<U> m(layers_);
    m.params() = params_.template cast<U>();
    return m;
  }

 private:
  std::vector<LayerSpec> layers_;
  std::vector<Index> w_off_, b_off_;
  Vector<T> params_;
};

/// Scratch buffers for forward/backward passes of one network, for batches of up to
/// `capacity` columns. `set_batch` selects the active batch size without allocating.
template <class T>
class MlpWorkspace {
 public:
  MlpWorkspace() = default;
  MlpWorkspace(const Mlp<T>& net, Index capacity) { reserve(net, capacity); }
  /// Allocates for `net` and batches up to `capacity` (the only allocating call).
  void reserve(const Mlp<T>& net, Index capacity);
  void set_batch(Index batch);
  Index batch() const { return batch_; }
  Index capacity() const { return capacity_; }

  /// The input batch [n_in, batch]: fill before `forward`.
  MatrixMap<T> input() { return act_map(0); }
  /// The output batch [n_out, batch] after `forward`.
  MatrixMap<T> output() { return act_map(acts_.size() - 1); }
  /// dL/d(output) [n_out, batch]: fill before `backward` (it is overwritten there).
  MatrixMap<T> grad_output() { return grad_map(grads_.size() - 1); }
  /// dL/d(input) [n_in, batch] after `backward(..., want_input_grad = true)`.
  MatrixMap<T> grad_input() { return grad_map(0); }

  // Internal buffers used by forward/backward: acts_[0] input, acts_[i+1] output of layer i,
  // pre_[i] pre-activation of layer i (only for activations whose derivative needs it),
  // grads_[i] dL/d acts_[i].
  MatrixMap<T> act_map(std::size_t i) { return {acts_[i].data(), acts_[i].rows(), batch_}; }
  MatrixMap<T> pre_map(std::size_t i) { return {pre_[i].data(), pre_[i].rows(), batch_}; }
  MatrixMap<T> grad_map(std::size_t i) { return {grads_[i].data(), grads_[i].rows(), batch_}; }
  bool keeps_pre(std::size_t i) const { return pre_[i].size() > 0; }
  /// Scratch for the transposed products of thin layers (mlp.cpp), `size` values.
  T* scratch(Index size) { return size <= scratch_.size() ? scratch_.data() : nullptr; }

 private:
  Index capacity_ = 0;
  Index batch_ = 0;
  std::vector<Matrix<T>> acts_, pre_, grads_;
  Vector<T> scratch_;
};

/// Forward pass: ws.output() = net(ws.input()) over the active batch.
template <class T>
void forward(const Mlp<T>& net, MlpWorkspace<T>& ws);

/// Backward pass after `forward` on the same workspace, starting from ws.grad_output().
/// Adds dL/dθ to `grad_params` (same layout as net.params(); may be nullptr to skip the
/// parameter gradient, as when backpropagating through a frozen oracle), and when
/// `want_input_grad` writes dL/dx into ws.grad_input(). Overwrites ws.grad_output().
template <class T>
void backward(const Mlp<T>& net, MlpWorkspace<T>& ws, std::type_identity_t<Vector<T>>* grad_params,
              bool want_input_grad);

/// True when all `n` values are finite. A vectorised sum of 0·x (0 for a finite x, NaN for
/// ±inf or NaN; a sum of zeros cannot overflow): Eigen's allFinite() is a scalar loop, and
/// the solvers check parameters and gradients every step.
template <class T>
bool all_finite(const T* x, Index n) {
  return (Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>(x, n) * T(0)).sum() == T(0);
}

/// Convenience (allocates): net(x) for x [n_in, batch].
template <class T>
Matrix<T> predict(const Mlp<T>& net, const Matrix<T>& x);

}  // namespace invsweep::nn
