#include "invsweep/solvers/registry.hpp"

#include <fmt/format.h>

#include <chrono>
#include <stdexcept>

#include "invsweep/certify/task.hpp"

namespace invsweep::solvers {

// Each solver's file defines its accessor; the registration is the line in kSolvers.
const Solver& generator_solver();
const Solver& adjoint_solver();
const Solver& amortized_solver();
const Solver& cmaes_solver();
const Solver& sampler_solver();

namespace {
std::span<const Solver* const> table() {
  static const Solver* const solvers[] = {
      &generator_solver(), &adjoint_solver(), &amortized_solver(), &cmaes_solver(), &sampler_solver(),
  };
  return solvers;
}
}  // namespace

std::span<const Solver* const> all() {
  return table();
}

const Solver& get(Index id) {
  if (id < 0 || static_cast<std::size_t>(id) >= table().size())
    throw std::out_of_range(fmt::format("no solver with id {}", id));
  return *table()[static_cast<std::size_t>(id)];
}

Index find(std::string_view name) {
  for (std::size_t i = 0; i < table().size(); ++i)
    if (table()[i]->name() == name) return static_cast<Index>(i);
  return -1;
}

const std::vector<std::string>& names() {
  static const std::vector<std::string> n = [] {
    std::vector<std::string> v;
    for (const Solver* s : table())
      v.emplace_back(s->name());
    return v;
  }();
  return n;
}

inverse::TaskResult solve(const oracle::Oracle& oracle, const nn::Mlp<float>& net, const inverse::TaskSpec& spec,
                          RunState* state) {
  inverse::TaskResult r = get(spec.solver).run(TaskContext{oracle, net, spec, state});
  const auto t0 = std::chrono::steady_clock::now();
  certify::certify_task(oracle, spec, r);
  if (spec.certify.enabled)
    r.wall_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace invsweep::solvers
