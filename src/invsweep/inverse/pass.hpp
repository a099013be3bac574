#pragma once
// One pass through the frozen oracle for a batch of candidates, as every gradient solver
// takes it: free features s [n_free, N] (scaled) → oracle (float32) → objective, regularisers
// and the bound map's penalty; leaves dL/ds in g and returns the loss. With `[regularize]
// uncertainty` on an ensemble the pass runs the members' view of the oracle instead: the
// objective is taken on the members' mean and their variance is added (inverse/uncertainty.hpp).
#include "invsweep/core/rng.hpp"
#include "invsweep/inverse/bounds.hpp"
#include "invsweep/inverse/problem.hpp"
#include "invsweep/nn/mlp.hpp"

namespace invsweep::inverse {

class OraclePass {
 public:
  OraclePass(const Problem& p, Index batch);
  /// The task's objective.
  double run(const MatrixF& s, MatrixF& g, const BoundMap& map);
  /// The target objective with one target per column (scaled output units).
  double run(const MatrixF& s, MatrixF& g, const BoundMap& map, const MatrixF& targets_u);

 private:
  const Problem& p_;
  const nn::Mlp<float>& net_;  // the oracle, or the members' view
  nn::MlpWorkspace<float> ws_;
  VectorF scratch_;
  MatrixF mean_, grad_mean_;  // members' view: their mean and dL/d(mean) [n_out, batch]
  double finish(const MatrixF& s, MatrixF& g, const BoundMap& map, double loss);
  double members_objective(const MatrixF* targets_u);
};

/// Latent draws (normal or uniform on [−1, 1]) into rows [row0, rows) of every column of m,
/// column by column.
void draw_latents(Rng& rng, LatentDist dist, MatrixMap<float> m, Index row0 = 0);

}  // namespace invsweep::inverse
