#include "invsweep/runner/memory.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "invsweep/core/errors.hpp"
#include "invsweep/core/strings.hpp"
#include "invsweep/solvers/registry.hpp"

namespace invsweep::runner {

MemoryEstimate memory_estimate(const sweep::Sweep& s, const oracle::Oracle& o) {
  solvers::MemoryInput in;
  in.n_in = o.n_in();
  in.n_out = o.n_out();
  in.samples = s.samples;
  for (const nn::LayerSpec& l : o.net.layers())
    in.oracle_width += l.out;
  const auto samples = static_cast<double>(s.samples);
  // Results in double with two working copies; the oracle's activations for every sample in
  // float32: pre-activations, activations, their gradients and a workspace.
  const double base = samples * static_cast<double>(in.n_in + in.n_out + 1) * 8 * 3 +
                      samples * static_cast<double>(in.oracle_width + in.n_in) * 4 * 4 +
                      static_cast<double>(s.log_points) * 8;
  MemoryEstimate best{base, "samples"};
  for (Index id : s.solvers) {
    const solvers::Solver& solver = solvers::get(id);
    const solvers::MemoryNeed need = solver.memory(s.solver_settings[static_cast<std::size_t>(id)], in);
    if (base + need.bytes > best.bytes) best = {base + need.bytes, need.bytes > base ? need.key : "samples"};
  }
  return best;
}

std::uint64_t available_memory() {
  std::uint64_t avail = UINT64_MAX;
  std::ifstream meminfo("/proc/meminfo");
  for (std::string line; std::getline(meminfo, line);) {
    std::istringstream ls(line);
    std::string key;
    std::uint64_t kib = 0;
    if (ls >> key >> kib && key == "MemAvailable:") avail = kib * 1024;
  }
  std::ifstream cg("/sys/fs/cgroup/memory.max");  // cgroup v2; "max" when unlimited
  std::uint64_t limit = 0;
  if (cg >> limit && limit > 0) avail = std::min(avail, limit);
  return avail;
}

void check_memory(const sweep::Sweep& s, const oracle::Oracle& o, const std::string& sweep_path, int ranks_per_node) {
  const MemoryEstimate e = memory_estimate(s, o);
  const double need = e.bytes * std::max(ranks_per_node, 1);
  const std::uint64_t avail = available_memory();
  if (avail == UINT64_MAX || need <= static_cast<double>(avail)) return;
  throw ConfigError(fmt::format(
      "{}: '{}' makes a task need about {} of memory per rank ({} on {} rank{} of this "
      "node), but {} is available; lower '{}'{}",
      sweep_path, e.key, human_bytes(e.bytes), human_bytes(need), ranks_per_node, ranks_per_node == 1 ? "" : "s",
      human_bytes(static_cast<double>(avail)), e.key, e.key == "samples" ? "" : " or 'samples'"));
}

}  // namespace invsweep::runner
