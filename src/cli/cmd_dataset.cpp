// invsweep dataset NAME --n N --seed S -o FILE.csv
#include <fmt/format.h>

#include <memory>

#include "commands.hpp"
#include "invsweep/core/errors.hpp"
#include "invsweep/core/io.hpp"
#include "invsweep/data/csv.hpp"
#include "invsweep/data/reference.hpp"

namespace invsweep::cli {

struct DatasetOptions {
  std::string name;
  long n = 10000;
  std::uint64_t seed = 0;
  std::string out;
  bool force = false;
  bool list = false;
};

int run_dataset(const DatasetOptions& o) {
  if (o.list || o.name.empty()) {
    for (const data::ReferenceProblem& p : data::reference_problems())
      fmt::print("{:<10} {}  ({})\n", p.name, p.formula, fmt::join(p.inputs, ", "));
    if (o.list) return 0;
    throw ConfigError("dataset: give a data set NAME (listed above) or --list");
  }
  const data::ReferenceProblem& p = data::reference_problem(o.name);
  if (o.n < 1) throw ConfigError(fmt::format("--n {}: expected a positive number of rows", o.n));
  if (o.out.empty()) throw ConfigError("dataset: --out/-o FILE.csv is required");
  check_output_path(o.out, o.force, "--out");
  std::vector<std::string> cols = p.inputs;
  cols.insert(cols.end(), p.outputs.begin(), p.outputs.end());
  const MatrixD rows = data::sample_reference(p, o.n, o.seed);
  create_parent_dirs(o.out, "--out");
  data::write_csv(o.out, cols, rows);
  fmt::print("wrote {} rows of '{}' ({}) to {}\n", o.n, p.name, p.formula, o.out);
  return 0;
}

void setup_dataset(CLI::App& app) {
  auto opt = std::make_shared<DatasetOptions>();
  CLI::App* sub = app.add_subcommand("dataset", "Write a reference data set (paper4, sinc, multiroot) as CSV");
  CLI::Option* name = sub->add_option("name", opt->name, "Data set name");
  CLI::Option* n = sub->add_option("--n", opt->n, "Number of rows")->capture_default_str();
  CLI::Option* seed = sub->add_option("--seed", opt->seed, "Random seed")->capture_default_str();
  CLI::Option* out = sub->add_option("-o,--out", opt->out, "Output CSV file");
  sub->add_flag("--force", opt->force, "Overwrite an existing output file");
  sub->add_flag("--list", opt->list, "List the data sets")->excludes(name)->excludes(n)->excludes(seed)->excludes(out);
  sub->callback([opt] { exit_code() = run_dataset(*opt); });
}

}  // namespace invsweep::cli
