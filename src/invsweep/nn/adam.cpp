#include "invsweep/nn/adam.hpp"

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
  const Index n = params.size();
  T* p = params.data();
  const T* g = grad.data();
  T* m = m_.data();
  T* v = v_.data();
  for (Index i = 0; i < n; ++i) {
    const T gi = g[i] + wd * p[i];
    m[i] = b1 * m[i] + (T(1) - b1) * gi;
    v[i] = b2 * v[i] + (T(1) - b2) * gi * gi;
    p[i] -= step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + eps);
  }
}

template class AdamState<float>;
template class AdamState<double>;

}  // namespace invsweep::nn
