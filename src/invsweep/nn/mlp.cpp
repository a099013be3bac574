#include "invsweep/nn/mlp.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "invsweep/nn/gemm.hpp"

namespace invsweep::nn {

template <class T>
Mlp<T>::Mlp(std::vector<LayerSpec> layers) : layers_(std::move(layers)) {
  Index off = 0;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    const LayerSpec& l = layers_[i];
    if (l.in <= 0 || l.out <= 0) throw std::invalid_argument("layer " + std::to_string(i) + " has a zero size");
    if (i > 0 && layers_[i - 1].out != l.in)
      throw std::invalid_argument("layer " + std::to_string(i) + " takes " + std::to_string(l.in) +
                                  " inputs but the previous layer gives " + std::to_string(layers_[i - 1].out));
    w_off_.push_back(off);
    off += l.in * l.out;
    b_off_.push_back(off);
    off += l.out;
  }
  params_ = Vector<T>::Zero(off);
}

template <class T>
Mlp<T> Mlp<T>::make(Index n_in, std::span<const Index> hidden, Index n_out, Activation hidden_act, Activation out_act) {
  std::vector<LayerSpec> layers;
  Index prev = n_in;
  for (Index h : hidden) {
    layers.push_back({prev, h, hidden_act});
    prev = h;
  }
  layers.push_back({prev, n_out, out_act});
  return Mlp(std::move(layers));
}

template <class T>
void Mlp<T>::init_glorot(Rng& rng) {
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    const double limit = std::sqrt(6.0 / static_cast<double>(layers_[i].in + layers_[i].out));
    MatrixMap<T> w = weight(i);
    for (Index j = 0; j < w.size(); ++j)
      w.data()[j] = static_cast<T>(rng.uniform(-limit, limit));
    bias(i).setZero();
  }
}

template <class T>
Index Mlp<T>::max_width() const {
  Index w = n_in();
  for (const LayerSpec& l : layers_)
    w = std::max(w, l.out);
  return w;
}

namespace {

// Thin layers (2–8 values on one side) are multiplied in transposed form, so that the long
// side (the batch, or the wide layer) is the row dimension of Eigen's kernel: with 2–8 rows
// its micro-kernel runs on 4-wide registers and the wide operand is packed as the right-hand
// side. Measured on AVX-512 (batch 256, 64 ↔ 4): forward 4.6 → 3.5 µs, weight gradient
// 6.9 → 2.6 µs; with one row Eigen's matrix-vector path is faster, with 16 it is a wash
// except for the weight gradient (16 × 256, batch 1024: 135 → 92 µs).
constexpr bool thin_rows(Index rows) {
  return rows >= 2 && rows <= 8;
}

// A product with an inner size of 1–8 (an input layer; the input gradient through an output
// layer) is a few multiply-adds per value: Eigen's blocked product spends more time packing
// than multiplying. c [m, n] = a [m, k] · b [k, n], column-major; 64 rows of a column of c
// stay in registers over k. Measured (batch 256, 64 rows): k = 8 4.3 → 2.6 µs, k = 4
// 3.4 → 1.7 µs, k = 1 3.0 → 1.5 µs; at k = 16 Eigen is as fast.
constexpr Index kSmallInner = 8;

template <class T>
void product_small_inner(const T* a, Index m, Index k, const T* b, T* c, Index n) {
  using Block = Eigen::Array<T, 16, 1>;
  using In = Eigen::Map<const Block>;
  using Out = Eigen::Map<Block>;
  const Index m64 = m - m % 64, m16 = m - m % 16;
  for (Index j = 0; j < n; ++j) {
    const T* bj = b + j * k;
    T* cj = c + j * m;
    Index i = 0;
    for (; i < m64; i += 64) {
      Block c0 = In(a + i) * bj[0], c1 = In(a + i + 16) * bj[0], c2 = In(a + i + 32) * bj[0],
            c3 = In(a + i + 48) * bj[0];
      for (Index q = 1; q < k; ++q) {
        const T* aq = a + q * m + i;
        c0 += In(aq) * bj[q];
        c1 += In(aq + 16) * bj[q];
        c2 += In(aq + 32) * bj[q];
        c3 += In(aq + 48) * bj[q];
      }
      Out(cj + i) = c0;
      Out(cj + i + 16) = c1;
      Out(cj + i + 32) = c2;
      Out(cj + i + 48) = c3;
    }
    for (; i < m16; i += 16) {
      Block c0 = In(a + i) * bj[0];
      for (Index q = 1; q < k; ++q)
        c0 += In(a + q * m + i) * bj[q];
      Out(cj + i) = c0;
    }
    for (; i < m; ++i) {
      T v = a[i] * bj[0];
      for (Index q = 1; q < k; ++q)
        v += a[q * m + i] * bj[q];
      cj[i] = v;
    }
  }
}
constexpr bool thin_weight_grad(const LayerSpec& l) {
  return l.out >= 2 && l.out <= 16 && l.out < l.in;
}

// Products whose result has 16 to 256 rows go through gemm::product (float, AVX-512) instead
// of Eigen's blocked product: no packing, no zeroing of the destination, and bias + tanh
// applied while a block of the result is still in registers. Measured (one core, Zen 5,
// interleaved runs): small case (64-wide layers, batch 256) and large case (256-wide, batch
// 1024) both faster end to end; wider layers are not measured and stay with Eigen.
constexpr Index kGemmMaxRows = 256;
template <class T>
bool use_gemm(Index rows) {
  if constexpr (std::is_same_v<T, float> && gemm::kAvailable)
    return rows >= 16 && rows <= kGemmMaxRows;
  else
    return false;
}

}  // namespace

template <class T>
void MlpWorkspace<T>::reserve(const Mlp<T>& net, Index capacity) {
  capacity_ = capacity;
  batch_ = capacity;
  const std::size_t n = net.n_layers();
  acts_.resize(n + 1);
  grads_.resize(n + 1);
  pre_.resize(n);
  Index scratch = 0;
  acts_[0].resize(net.n_in(), capacity);
  grads_[0].resize(net.n_in(), capacity);
  for (std::size_t i = 0; i < n; ++i) {
    const LayerSpec& l = net.layer(i);
    acts_[i + 1].resize(l.out, capacity);
    grads_[i + 1].resize(l.out, capacity);
    if (derivative_from_output(l.act))
      pre_[i].resize(0, 0);
    else
      pre_[i].resize(l.out, capacity);
    if (l.out <= kSmallInner) scratch = std::max(scratch, l.in * l.out);  // Wᵀ
    if (thin_rows(l.out)) scratch = std::max(scratch, l.out * capacity);
    if (thin_rows(l.in)) scratch = std::max(scratch, l.in * capacity);
    if (thin_weight_grad(l)) scratch = std::max(scratch, l.in * l.out);
    if (use_gemm<T>(l.in)) scratch = std::max(scratch, l.in * l.out);  // Wᵀ
  }
  scratch_.resize(scratch);
}

template <class T>
void MlpWorkspace<T>::set_batch(Index batch) {
  if (batch < 0 || batch > capacity_)
    throw std::invalid_argument("batch " + std::to_string(batch) + " exceeds workspace capacity " +
                                std::to_string(capacity_));
  batch_ = batch;
}

template <class T>
void forward(const Mlp<T>& net, MlpWorkspace<T>& ws) {
  for (std::size_t i = 0; i < net.n_layers(); ++i) {
    const LayerSpec& l = net.layer(i);
    MatrixMap<T> in = ws.act_map(i);
    MatrixMap<T> out = ws.act_map(i + 1);
    // z = W a, then bias and activation in one pass (in place unless z is kept).
    MatrixMap<T> z = ws.keeps_pre(i) ? ws.pre_map(i) : out;
    if (use_gemm<T>(l.out)) {
      const bool fuse = !ws.keeps_pre(i) && (l.act == Activation::tanh || l.act == Activation::identity);
      if constexpr (std::is_same_v<T, float>) {
        gemm::product(net.weight(i).data(), l.out, l.out, l.in, in.data(), 1, l.in, z.data(), l.out, in.cols(), false,
                      !fuse                       ? gemm::Epilogue::none
                      : l.act == Activation::tanh ? gemm::Epilogue::bias_tanh
                                                  : gemm::Epilogue::bias,
                      net.bias(i).data());
      }
      if (fuse) continue;
    } else if (l.in <= kSmallInner) {
      product_small_inner(net.weight(i).data(), l.out, l.in, in.data(), z.data(), in.cols());
    } else if (thin_rows(l.out)) {
      // zᵀ = aᵀ Wᵀ into scratch [batch, out], then transposed into z.
      MatrixMap<T> zt(ws.scratch(l.out * in.cols()), in.cols(), l.out);
      zt.noalias() = in.transpose() * net.weight(i).transpose();
      z = zt.transpose();
    } else {
      z.noalias() = net.weight(i) * in;
    }
    bias_activate(l.act, net.bias(i).data(), z.data(), out.data(), z.rows(), z.cols(), ws.keeps_pre(i));
  }
}

template <class T>
void backward(const Mlp<T>& net, MlpWorkspace<T>& ws, std::type_identity_t<Vector<T>>* grad_params,
              bool want_input_grad) {
  for (std::size_t k = net.n_layers(); k-- > 0;) {
    const LayerSpec& l = net.layer(k);
    MatrixMap<T> g = ws.grad_map(k + 1);  // dL/d a_{k+1} → becomes dL/d z_k
    MatrixMap<T> a = ws.act_map(k + 1);
    const T* z = ws.keeps_pre(k) ? ws.pre_map(k).data() : a.data();
    // g ⊙ act'(z) and the bias gradient in one pass, then the weight gradient.
    T* bias_grad = grad_params != nullptr ? net.bias_in(*grad_params, k).data() : nullptr;
    derivative_bias_grad(l.act, z, a.data(), g.data(), g.rows(), g.cols(), bias_grad);
    if (grad_params != nullptr) {
      MatrixMap<T> gw = net.weight_in(*grad_params, k);
      if (thin_weight_grad(l)) {
        // dWᵀ = a gᵀ into scratch [in, out], then added transposed.
        MatrixMap<T> gwt(ws.scratch(l.in * l.out), l.in, l.out);
        gwt.noalias() = ws.act_map(k) * g.transpose();
        gw += gwt.transpose();
      } else if (use_gemm<T>(l.out)) {
        // dW += g aᵀ: a's column j gives the broadcast values of batch element j.
        if constexpr (std::is_same_v<T, float>)
          gemm::product(g.data(), l.out, l.out, g.cols(), ws.act_map(k).data(), l.in, 1, gw.data(), l.out, l.in, true);
      } else {
        gw.noalias() += g * ws.act_map(k).transpose();
      }
    }
    if (k > 0 || want_input_grad) {
      MatrixMap<T> gin = ws.grad_map(k);
      if (use_gemm<T>(l.in)) {
        // Wᵀ copied into scratch [in, out], then dL/da = Wᵀ g.
        MatrixMap<T> wt(ws.scratch(l.in * l.out), l.in, l.out);
        wt = net.weight(k).transpose();
        if constexpr (std::is_same_v<T, float>)
          gemm::product(wt.data(), l.in, l.in, l.out, g.data(), 1, l.out, gin.data(), l.in, g.cols(), false);
      } else if (l.out <= kSmallInner) {
        // Inner size `out`: Wᵀ copied into scratch [in, out], then the small-inner product.
        MatrixMap<T> wt(ws.scratch(l.in * l.out), l.in, l.out);
        wt = net.weight(k).transpose();
        product_small_inner(wt.data(), l.in, l.out, g.data(), gin.data(), g.cols());
      } else if (thin_rows(l.in)) {
        // dL/daᵀ = gᵀ W into scratch [batch, in], then transposed.
        MatrixMap<T> gt(ws.scratch(l.in * g.cols()), g.cols(), l.in);
        gt.noalias() = g.transpose() * net.weight(k);
        gin = gt.transpose();
      } else {
        gin.noalias() = net.weight(k).transpose() * g;
      }
    }
  }
}

template <class T>
Matrix<T> predict(const Mlp<T>& net, const Matrix<T>& x) {
  MlpWorkspace<T> ws(net, x.cols());
  ws.input() = x;
  forward(net, ws);
  return ws.output();
}

template class Mlp<float>;
template class Mlp<double>;
template class MlpWorkspace<float>;
template class MlpWorkspace<double>;
template void forward(const Mlp<float>&, MlpWorkspace<float>&);
template void forward(const Mlp<double>&, MlpWorkspace<double>&);
template void backward(const Mlp<float>&, MlpWorkspace<float>&, Vector<float>*, bool);
template void backward(const Mlp<double>&, MlpWorkspace<double>&, Vector<double>*, bool);
template Matrix<float> predict(const Mlp<float>&, const Matrix<float>&);
template Matrix<double> predict(const Mlp<double>&, const Matrix<double>&);

}  // namespace invsweep::nn
