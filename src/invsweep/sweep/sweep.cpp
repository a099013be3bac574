// The grid: task coordinates, task specs, and the fingerprint.
#include "invsweep/sweep/sweep.hpp"

#include <algorithm>

#include "invsweep/core/rng.hpp"
#include "invsweep/solvers/registry.hpp"

namespace invsweep::sweep {

TaskCoords Sweep::coords(Index task) const {
  TaskCoords c;
  c.replicate = task % replicates;
  task /= replicates;
  c.solver = task % n_solvers();
  task /= n_solvers();
  c.constraint = task % n_constraints();
  c.target = task / n_constraints();
  return c;
}

Index Sweep::first_task_of_solver(Index k) const {
  return k * replicates;
}

std::vector<Index> Sweep::sample_tasks_of_solver(Index k, Index n) const {
  n = std::min(n, n_targets() * n_constraints() * replicates);
  // The middle of the i-th of n equal slices of an axis of `size` points.
  const auto slice = [n](Index i, Index size) { return (2 * i + 1) * size / (2 * n); };
  std::vector<Index> ids;
  for (Index i = 0; i < n; ++i) {
    // Targets in order, settings in reverse order (so that both vary together), replicates cycled.
    const Index t = slice(i, n_targets()), c = slice(n - 1 - i, n_constraints());
    ids.push_back(((t * n_constraints() + c) * n_solvers() + k) * replicates + i % replicates);
  }
  return ids;
}

std::uint64_t Sweep::shared_seed(Index constraint, Index replicate) const {
  return derive_seed({seed, 0xA40E7ULL, static_cast<std::uint64_t>(constraint), static_cast<std::uint64_t>(replicate)});
}

inverse::TaskSpec Sweep::task(Index id) const {
  const TaskCoords c = coords(id);
  inverse::TaskSpec t;
  t.seed = derive_seed({seed, static_cast<std::uint64_t>(id)});
  t.samples = samples;
  t.solver = solvers[static_cast<std::size_t>(c.solver)];
  t.settings = solver_settings.at(static_cast<std::size_t>(t.solver));
  t.objective.kind = kind;
  t.objective.weights = weights;
  t.objective.sub_lo = sub_lo;
  t.objective.sub_hi = sub_hi;
  const auto ti = static_cast<std::size_t>(c.target);
  if (kind == inverse::ObjectiveKind::target) t.objective.target = targets[ti];
  if (kind == inverse::ObjectiveKind::range) {
    t.objective.lo = range_lo[ti];
    t.objective.hi = range_hi[ti];
  }
  t.constraint = constraints[static_cast<std::size_t>(c.constraint)];
  t.regularize = regularize;
  t.polish = polish;
  t.certify = certify;
  t.log_every = log_every;
  t.log_points = log_points;
  t.constraint_index = c.constraint;
  t.replicate = c.replicate;
  t.shared_seed = shared_seed(c.constraint, c.replicate);
  return t;
}

std::string Sweep::hash(const oracle::Oracle& o) const {
  config::Fingerprint f;
  f.text("invsweep-sweep-2");
  top_table().hash(f, *this);
  objective_table().hash(f, *this);
  for (const inverse::Constraint& c : constraints)
    constraint_table().hash(f, c);
  inverse::Regularize::table().hash(f, regularize);
  inverse::PolishSettings::table().hash(f, polish);
  // Only when enabled, so that sweeps without certificates keep their fingerprints.
  if (certify.enabled) inverse::CertifySettings::table().hash(f, certify);
  for (Index id : solvers)
    solvers::get(id).hash(f, solver_settings.at(static_cast<std::size_t>(id)));
  // The oracle: names, scalers, bounds and every parameter.
  for (const std::string& n : o.input_names)
    f.text(n);
  for (const std::string& n : o.output_names)
    f.text(n);
  f.vec(o.input_scaler.mean);
  f.vec(o.input_scaler.scale);
  f.vec(o.output_scaler.mean);
  f.vec(o.output_scaler.scale);
  f.vec(o.input_lo);
  f.vec(o.input_hi);
  const VectorD params = o.net.params();
  f.vec(params);
  for (const nn::LayerSpec& l : o.net.layers())
    f.add(l.act);
  // An ensemble's members (they decide /spread and `uncertainty`); nothing for a single net.
  for (std::size_t k = 0; k < o.ensemble.weight.size(); ++k) {
    f.vec(VectorD(o.ensemble.weight[k].reshaped()));
    f.vec(o.ensemble.bias[k]);
  }
  return f.hex();
}

}  // namespace invsweep::sweep
