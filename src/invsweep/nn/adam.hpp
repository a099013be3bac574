#pragma once
// Adam (Kingma & Ba), with PyTorch's bias-correction arithmetic.
//
// Settings are a small value type; the moments live in an `AdamState` allocated once per run
// for a parameter count and never reallocated in the step.
#include "invsweep/core/eigen.hpp"

namespace invsweep::nn {

/// The learning rate is not a setting: it is passed to every step (schedules).
struct AdamSettings {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  ///< L2 added to the gradient (PyTorch Adam's weight_decay).
};

template <class T>
class AdamState {
 public:
  AdamState() = default;
  explicit AdamState(Index n_params) { reset(n_params); }
  void reset(Index n_params);
  /// One step: params -= lr · m̂ / (√v̂ + eps).
  void step(const AdamSettings& s, double lr, Eigen::Ref<Vector<T>> params, const Eigen::Ref<const Vector<T>>& grad);
  long steps() const { return t_; }

 private:
  Vector<T> m_, v_;
  long t_ = 0;
};

}  // namespace invsweep::nn
