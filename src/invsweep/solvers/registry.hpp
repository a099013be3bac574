#pragma once
// Every solver, in the order of their ids: the id is what /tasks/solver stores and the index
// of the name in the results file's `solver_names`. Append only; never reorder.
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "invsweep/inverse/spec.hpp"
#include "invsweep/solvers/solver.hpp"

namespace invsweep::solvers {

std::span<const Solver* const> all();
const Solver& get(Index id);
/// The id of `name`, or -1.
Index find(std::string_view name);
/// Every name, in id order.
const std::vector<std::string>& names();

/// Runs one task: the solver spec.solver names (with the rank's run state, or none for a task
/// on its own), then its certificates when spec.certify.enabled (certify/task.hpp). The one
/// place a task is run: the runner and the tests both come here. The certificate's time is
/// added to wall_seconds.
inverse::TaskResult solve(const oracle::Oracle& oracle, const nn::Mlp<float>& net, const inverse::TaskSpec& spec,
                          RunState* state = nullptr);

}  // namespace invsweep::solvers
