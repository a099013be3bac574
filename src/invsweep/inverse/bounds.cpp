#include "invsweep/inverse/bounds.hpp"

#include <cmath>

namespace invsweep::inverse {

namespace {
float sigmoid(float z) {
  return z >= 0 ? 1.0f / (1.0f + std::exp(-z)) : std::exp(z) / (1.0f + std::exp(z));
}
float softplus(float z) {
  return std::max(z, 0.0f) + std::log1p(std::exp(-std::abs(z)));
}
}  // namespace

BoundMap::BoundMap(const Problem& p)
    : method_(p.constraint().method),
      lo_(p.lo().cast<float>()),
      hi_(p.hi().cast<float>()),
      mean_(p.n_free()),
      scale_(p.n_free()),
      c1_(static_cast<float>(p.constraint().paper_c1)),
      c2_(static_cast<float>(p.constraint().paper_c2)),
      lambda_(static_cast<float>(p.constraint().penalty)) {
  for (Index k = 0; k < p.n_free(); ++k) {
    const bool l = std::isfinite(p.lo()[k]), h = std::isfinite(p.hi()[k]);
    kind_.push_back(l && h ? 1 : (l ? 2 : (h ? 3 : 0)));
    const Index i = p.free_index(k);
    mean_[k] = static_cast<float>(p.oracle().input_scaler.mean[i]);
    scale_[k] = static_cast<float>(p.oracle().input_scaler.scale[i]);
  }
}

void BoundMap::apply(const MatrixF& v, MatrixF& s) const {
  for (Index k = 0; k < v.rows(); ++k) {
    const int kind = kind_[static_cast<std::size_t>(k)];
    for (Index j = 0; j < v.cols(); ++j) {
      const float x = v(k, j);
      float out = x;
      if (kind != 0 && method_ == BoundMethod::sigmoid) {
        if (kind == 1)
          out = lo_[k] + (hi_[k] - lo_[k]) * sigmoid(x);
        else if (kind == 2)
          out = lo_[k] + softplus(x - lo_[k]);
        else
          out = hi_[k] - softplus(hi_[k] - x);
      } else if (kind != 0 && method_ == BoundMethod::paper) {
        const float xo = x * scale_[k] + mean_[k];  // original units
        float fo = xo;
        if (kind != 2 && x >= hi_[k])
          fo = xo / c1_;
        else if (kind != 3 && x <= lo_[k])
          fo = xo * c2_;
        out = (fo - mean_[k]) / scale_[k];
      }
      s(k, j) = out;
    }
  }
}

void BoundMap::backprop(const MatrixF& v, MatrixF& g) const {
  for (Index k = 0; k < v.rows(); ++k) {
    const int kind = kind_[static_cast<std::size_t>(k)];
    if (kind == 0 || method_ == BoundMethod::penalty) continue;
    for (Index j = 0; j < v.cols(); ++j) {
      const float x = v(k, j);
      float d = 1.0f;
      if (method_ == BoundMethod::sigmoid) {
        if (kind == 1) {
          const float sg = sigmoid(x);
          d = (hi_[k] - lo_[k]) * sg * (1.0f - sg);
        } else if (kind == 2) {
          d = sigmoid(x - lo_[k]);
        } else {
          d = sigmoid(hi_[k] - x);
        }
      } else {  // paper
        if (kind != 2 && x >= hi_[k])
          d = 1.0f / c1_;
        else if (kind != 3 && x <= lo_[k])
          d = c2_;
      }
      g(k, j) *= d;
    }
  }
}

double BoundMap::penalty(const MatrixF& s, MatrixF& g) const {
  if (method_ != BoundMethod::penalty) return 0.0;
  const float c = lambda_ / static_cast<float>(s.cols());
  double loss = 0;
  for (Index k = 0; k < s.rows(); ++k) {
    if (kind_[static_cast<std::size_t>(k)] == 0) continue;
    for (Index j = 0; j < s.cols(); ++j) {
      if (s(k, j) < lo_[k]) {
        loss += static_cast<double>(c * (lo_[k] - s(k, j)));
        g(k, j) -= c;
      } else if (s(k, j) > hi_[k]) {
        loss += static_cast<double>(c * (s(k, j) - hi_[k]));
        g(k, j) += c;
      }
    }
  }
  return loss;
}

void BoundMap::penalty_values(const MatrixF& s, VectorD& values) const {
  if (method_ != BoundMethod::penalty) return;
  for (Index j = 0; j < s.cols(); ++j)
    for (Index k = 0; k < s.rows(); ++k) {
      if (kind_[static_cast<std::size_t>(k)] == 0) continue;
      const float d = s(k, j) < lo_[k] ? lo_[k] - s(k, j) : (s(k, j) > hi_[k] ? s(k, j) - hi_[k] : 0.0f);
      values[j] += static_cast<double>(lambda_ * d);
    }
}

bool BoundMap::inside(const MatrixF& s, double tol) const {
  const auto t = static_cast<float>(tol);
  for (Index k = 0; k < s.rows(); ++k)
    for (Index j = 0; j < s.cols(); ++j)
      if (s(k, j) < lo_[k] - t || s(k, j) > hi_[k] + t) return false;
  return true;
}

void BoundMap::project(MatrixF& s) const {
  for (Index k = 0; k < s.rows(); ++k)
    for (Index j = 0; j < s.cols(); ++j)
      s(k, j) = std::clamp(s(k, j), lo_[k], hi_[k]);
}

void BoundMap::invert(const MatrixF& s, MatrixF& v) const {
  v = s;
  if (method_ != BoundMethod::sigmoid) return;
  for (Index k = 0; k < s.rows(); ++k) {
    const int kind = kind_[static_cast<std::size_t>(k)];
    for (Index j = 0; j < s.cols(); ++j) {
      if (kind == 1) {
        const float t = std::clamp((s(k, j) - lo_[k]) / (hi_[k] - lo_[k]), 1e-4f, 1.0f - 1e-4f);
        v(k, j) = std::log(t / (1.0f - t));
      } else if (kind == 2) {
        const float a = std::max(s(k, j) - lo_[k], 1e-4f);
        v(k, j) = lo_[k] + a + std::log(-std::expm1(-a));  // softplus⁻¹
      } else if (kind == 3) {
        const float a = std::max(hi_[k] - s(k, j), 1e-4f);
        v(k, j) = hi_[k] - (a + std::log(-std::expm1(-a)));
      }
    }
  }
}

}  // namespace invsweep::inverse
