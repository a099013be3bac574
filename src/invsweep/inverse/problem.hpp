#pragma once
// One inversion problem in the units the solvers work in: the objective-and-constraint
// evaluator that every solver, the polish and the amortized training use (value and gradient
// in float32 for training, residual vectors in float64 for polish, residuals in original
// units for the results). The objective is scaled into the oracle's output units here, once.
//
// Solvers optimise the *free* features in the oracle's scaled input units
// s = (x − mean_in)/scale_in; fixed features are inserted as constants before the oracle; the
// objective is computed on the oracle's scaled outputs u = (y − mean_out)/scale_out. The
// oracle network runs in float32 during training (frozen: only its input gradient is used);
// final vectors, outputs and residuals are recomputed in float64 (`finish`).
#include <vector>

#include "invsweep/inverse/spec.hpp"
#include "invsweep/nn/mlp.hpp"
#include "invsweep/oracle/oracle.hpp"

namespace invsweep::inverse {

/// The k-th smallest (from 0) of x[0..n), all non-negative or NaN: exactly the value
/// std::nth_element puts at k; x is overwritten. A radix select on the bit patterns (which
/// order non-negative floats as unsigned integers), used for the diversity bandwidth:
/// std::nth_element mispredicts about every other comparison on pairwise distances and took
/// three quarters of that term's time.
float kth_smallest(float* x, Index n, Index k);

class Problem {
 public:
  /// Validates the objective and constraint against the oracle's shapes (throws ConfigError).
  Problem(const oracle::Oracle& o, const nn::Mlp<float>& net, const Objective& obj, const Constraint& c,
          const Regularize& reg);

  const oracle::Oracle& oracle() const { return *oracle_; }
  const nn::Mlp<float>& net() const { return *net_; }
  const Objective& objective() const { return obj_; }
  const Constraint& constraint() const { return con_; }
  Index n_in() const { return oracle_->n_in(); }
  Index n_out() const { return oracle_->n_out(); }
  Index n_free() const { return static_cast<Index>(free_.size()); }
  /// Feature index of free feature i.
  Index free_index(Index i) const { return free_[static_cast<std::size_t>(i)]; }
  /// Bounds of the free features in scaled units (±inf where unbounded).
  const VectorD& lo() const { return lo_s_; }
  const VectorD& hi() const { return hi_s_; }
  bool has_bounds(Index i) const { return std::isfinite(lo_s_[i]) || std::isfinite(hi_s_[i]); }
  /// A box to draw starting points from, per free feature (scaled units): the bounds where
  /// finite, else the oracle's training range.
  double start_lo(Index i) const { return start_lo_[i]; }
  double start_hi(Index i) const { return start_hi_[i]; }

  // ---- [regularize] uncertainty (ensemble oracles; inverse/uncertainty.hpp) ----
  /// λ of the members' variance (0: off), and, when it is on, the members' view of the oracle
  /// in float32 (output [K·n_out], oracle/ensemble.hpp) and K; nullptr / 0 otherwise.
  double uncertainty() const { return reg_.uncertainty; }
  const nn::Mlp<float>* members_net() const { return members_.n_layers() > 0 ? &members_ : nullptr; }
  Index members() const { return oracle_->ensemble.members; }
  // ---- end uncertainty ----

  /// Writes the fixed features' scaled values into every column of `s_full` ([n_in, batch]).
  void fill_fixed(MatrixMap<float> s_full) const;
  /// Copies the free features (rows of `s_free`, [n_free, batch]) into `s_full`.
  void set_free(const Eigen::Ref<const MatrixF>& s_free, MatrixMap<float> s_full) const;
  /// Gathers dL/ds of the free features from dL/ds_full into `g_free` (overwrites).
  void get_free(const MatrixMap<float>& g_full, Eigen::Ref<MatrixF> g_free) const;

  /// Mean objective over the batch from scaled outputs `u` [n_out, batch]; writes
  /// dL/du (of the mean) into `grad_u`.
  double objective_grad(const MatrixMap<float>& u, MatrixMap<float> grad_u) const;
  /// The target objective with one target per column, `targets_u` [n_out, batch] in scaled
  /// output units (the amortized round trip): mean_j Σ_k w_k (u_kj − t_kj)², gradient into grad_u.
  double objective_grad(const MatrixMap<float>& u, const MatrixF& targets_u, MatrixMap<float> grad_u) const;
  /// Weighted residual vectors r [n_out, N] in scaled output units from u (float64; target
  /// and range kinds): √w_k (u_k − t_k), or √w_k times the distance outside the range.
  void residual_vectors(const MatrixMap<double>& u, MatrixD& r) const;
  /// The objective of each vector from scaled outputs u [n_out, N] in float64 (for solvers
  /// that use values only): Σ_k w_k d_k² for target and range (d = distance to the target or
  /// range), the signed normalised weighted sum for maximize/minimize (lower is better, as in
  /// objective_grad). Writes values [N].
  void objective_values(const MatrixMap<double>& u, VectorD& values) const;
  /// √w_k per output (target and range kinds).
  VectorD sqrt_weights() const { return weights_.cwiseSqrt(); }

  /// Outputs in original units → the oracle's scaled output units (y − mean_out)/scale_out.
  VectorD scale_outputs(const VectorD& y) const;
  /// The scaled value of every feature with the fixed ones at their values (free ones 0).
  const VectorD& fixed_scaled() const { return fixed_sd_; }

  /// Adds the regularisers' mean loss (returned) and gradient (into g_free) for s_free.
  /// `scratch` is the diversity term's working memory (batch² + 2·batch·(n_free + 1) floats),
  /// grown on the first call and reused. An Eigen vector (aligned to the widest SIMD register),
  /// so that its vectorised sums and exponentials split into packets the same way on every
  /// run and rank: the results stay bit-identical.
  double regularize(const Eigen::Ref<const MatrixF>& s_free, Eigen::Ref<MatrixF> g_free, VectorF& scratch) const;

  /// Full vectors in original units from scaled free features [n_free, N] (double).
  MatrixD to_original(const MatrixD& s_free) const;
  /// Residual of each column of `y` (original units): Euclidean distance to the target or the
  /// range; for maximise/minimise the weighted sum of outputs.
  VectorD residuals(const MatrixD& y) const;
  /// Scaled free features of full vectors in original units.
  MatrixD to_scaled_free(const MatrixD& x) const;

  /// Fills r.vectors, r.outputs, r.residuals, r.violations (and r.mahalanobis when the oracle
  /// has input statistics) from scaled free features (double), marking columns with any
  /// non-finite value as NaN; returns how many columns were non-finite.
  Index finish(const MatrixD& s_free, TaskResult& r) const;

  // ---- Hard constraints: `subject_to` (output ranges) and `plausible` (Mahalanobis) -------
  // In the gradient solvers they are an exact (L1 + quadratic) penalty whose weight doubles
  // while the batch stays outside (objective_grad for outputs, regularize for plausibility);
  // value-only solvers add a fixed large exact penalty (penalty_values); afterwards the
  // feasibility phase (polish.hpp) moves every vector into the set in float64.
  bool has_output_constraints() const { return !con_out_.empty(); }
  bool has_plausibility() const { return con_.plausible > 0; }
  bool has_hard_constraints() const { return has_output_constraints() || has_plausibility(); }
  /// Outputs with a `subject_to` range, and that range in scaled output units.
  const std::vector<Index>& constrained_outputs() const { return con_out_; }
  double sub_lo_u(Index k) const { return sub_lo_ud_[k]; }
  double sub_hi_u(Index k) const { return sub_hi_ud_[k]; }
  /// Mahalanobis distance to the training inputs of full vectors x [n_in, N] (original units);
  /// empty when the oracle has no input statistics.
  VectorD mahalanobis(const MatrixD& x) const;
  /// Mahalanobis distance d of one vector given by its scaled free features, and dd/ds_free.
  double mahalanobis_grad(const Eigen::Ref<const VectorD>& s_free, VectorD* grad) const;
  /// Per vector: how far outside the feasible set (subject_to ranges, feature bounds,
  /// plausibility), each part relative to max(1, |the limit it passes|), combined in the
  /// Euclidean norm: 0 = feasible. x [n_in, N], y [n_out, N] in original units.
  VectorD violations(const MatrixD& x, const MatrixD& y) const;
  /// Value-only solvers: adds the exact penalty (weight kValuePenalty, scaled units) of the
  /// output constraints and plausibility to `values`, from scaled free features s_free
  /// [n_free, N] and scaled outputs u [n_out, N].
  void penalty_values(const MatrixD& s_free, const MatrixMap<double>& u, VectorD& values) const;
  static constexpr double kValuePenalty = 1e3;
  /// The vectors judged feasible: violation ≤ this.
  static constexpr double kFeasibleTolerance = 1e-6;

 private:
  const oracle::Oracle* oracle_;
  const nn::Mlp<float>* net_;
  Objective obj_;
  Constraint con_;
  Regularize reg_;
  std::vector<Index> free_;
  VectorD fixed_sd_;                   // per feature (0 where free), scaled
  VectorF fixed_s_;                    // the same in float
  VectorD weights_;                    // per output: the objective's weights (ones when not given)
  VectorD target_ud_, lo_ud_, hi_ud_;  // target / range in scaled output units
  VectorD linear_w_;                   // maximize/minimize: signed normalised weights (scaled outputs)
  VectorD lo_s_, hi_s_, start_lo_, start_hi_;
  VectorF target_u_, lo_u_, hi_u_, w_;  // objective in scaled output units
  VectorF reference_s_;                 // proximity reference, free features, scaled
  // Hard constraints.
  std::vector<Index> con_out_;     // outputs with a subject_to range
  VectorD sub_lo_ud_, sub_hi_ud_;  // per output, scaled (±inf open)
  MatrixD precision_;              // inverse covariance of the training inputs (original units)
  VectorD centre_;                 // per feature: x − mean_data with free features at s = 0
  // The adaptive penalty weights and their window (the gradient solvers run one task per
  // Problem on one thread).
  mutable double mu_out_ = 10.0, mu_x_ = 10.0;
  mutable double window_out_ = 0, window_x_ = 0;
  mutable int calls_out_ = 0, calls_x_ = 0;
  double output_penalty(const MatrixMap<float>& u, MatrixMap<float> grad_u) const;
  nn::Mlp<float> members_;  // uncertainty > 0: the members' view (else empty)
};

}  // namespace invsweep::inverse
