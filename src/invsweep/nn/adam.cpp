#include "invsweep/nn/adam.hpp"

#include <algorithm>
#include <cmath>

namespace invsweep::nn {

template <class T>
void AdamState<T>::reset(Index n_params) {
  m_ = Vector<T>::Zero(n_params);
  v_ = Vector<T>::Zero(n_params);
  t_ = 0;
}

template <class T>
void AdamState<T>::step(const AdamSettings& s, double lr, Eigen::Ref<Vector<T>> params,
                        const Eigen::Ref<const Vector<T>>& grad) {
  ++t_;
  const double bc1 = 1.0 - std::pow(s.beta1, static_cast<double>(t_));
  const double bc2 = 1.0 - std::pow(s.beta2, static_cast<double>(t_));
  const T b1 = static_cast<T>(s.beta1);
  const T b2 = static_cast<T>(s.beta2);
  const T step_size = static_cast<T>(lr / bc1);
  const T inv_sqrt_bc2 = static_cast<T>(1.0 / std::sqrt(bc2));
  const T eps = static_cast<T>(s.eps);
  const T wd = static_cast<T>(s.weight_decay);
  // Eigen array expressions (vectorised sqrt and division; a plain loop over std::sqrt is not
  // vectorised without -fno-math-errno), over chunks that stay in L1 between the three passes.
  using Arr = Eigen::Array<T, Eigen::Dynamic, 1>;
  constexpr Index kChunk = 2048;
  const Index n = params.size();
  for (Index i0 = 0; i0 < n; i0 += kChunk) {
    const Index len = std::min(kChunk, n - i0);
    Eigen::Map<Arr> p(params.data() + i0, len), m(m_.data() + i0, len), v(v_.data() + i0, len);
    const Eigen::Map<const Arr> g(grad.data() + i0, len);
    if (wd != T(0)) {
      m = b1 * m + (T(1) - b1) * (g + wd * p);
      v = b2 * v + (T(1) - b2) * (g + wd * p).square();
    } else {
      m = b1 * m + (T(1) - b1) * g;
      v = b2 * v + (T(1) - b2) * g.square();
    }
    p -= step_size * m / (v.sqrt() * inv_sqrt_bc2 + eps);
  }
}

template class AdamState<float>;
template class AdamState<double>;

}  // namespace invsweep::nn
