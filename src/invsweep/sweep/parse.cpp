// The sweep file's top level: paths, scalars and the solver axis; then every table.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "invsweep/core/errors.hpp"
#include "invsweep/core/io.hpp"
#include "invsweep/core/strings.hpp"
#include "invsweep/solvers/registry.hpp"
#include "invsweep/sweep/sweep.hpp"

namespace invsweep::sweep {

namespace fs = std::filesystem;

namespace {

std::string resolve_path(const std::string& sweep_path, const std::string& p) {
  const fs::path v(p);
  if (v.is_absolute()) return p;
  return (fs::path(sweep_path).parent_path() / v).lexically_normal().string();
}

/// A key that is read elsewhere (paths) or documents only: listed, not hashed.
config::Field<Sweep> unhashed(std::string key, std::string range, std::string doc, std::string default_doc,
                              std::string Sweep::*m) {
  config::Field<Sweep> f;
  f.key = std::move(key);
  f.type = "string";
  f.range = std::move(range);
  f.doc = std::move(doc);
  f.parse = [](const config::Table&, Sweep&, const config::Context&) {};
  f.hash = [](config::Fingerprint&, const Sweep&) {};
  f.show = [m](const Sweep& s) { return fmt::format("\"{}\"", s.*m); };
  f.fingerprinted = false;
  f.default_doc = std::move(default_doc);
  return f;
}

config::Field<Sweep> solvers_field() {
  config::Field<Sweep> f;
  f.key = "solvers";
  f.type = "array of strings";
  f.range = fmt::format("each one of: {}; no repeats", join(solvers::names()));
  f.doc = "the solver axis; each solver's settings are in the table of its name";
  f.parse = [](const config::Table& top, Sweep& s, const config::Context&) {
    const toml::node* n = top.get("solvers");
    if (n == nullptr) return;
    const toml::array* a = n->as_array();
    if (a == nullptr || a->empty()) top.fail(*n, "solvers", "a non-empty array such as [\"generator\", \"adjoint\"]");
    s.solvers.clear();
    for (const toml::node& e : *a) {
      if (!e.is_string()) top.fail(*n, "solvers", fmt::format("an array of solver names: {}", join(solvers::names())));
      const std::string v(*e.value<std::string_view>());
      const Index id = solvers::find(v);
      if (id < 0)
        throw ConfigError(fmt::format("{}: unknown solver '{}' in 'solvers'{}; expected: {}", top.where(e), v,
                                      did_you_mean(v, solvers::names()), join(solvers::names())));
      if (std::find(s.solvers.begin(), s.solvers.end(), id) != s.solvers.end())
        top.fail(*n, "solvers", fmt::format("a list without repeats ('{}' appears twice)", v));
      s.solvers.push_back(id);
    }
  };
  f.hash = [](config::Fingerprint& fp, const Sweep& s) {
    for (Index id : s.solvers)
      fp.text(solvers::get(id).name());
  };
  f.show = [](const Sweep& s) {
    std::vector<std::string> n;
    for (Index id : s.solvers)
      n.push_back(fmt::format("\"{}\"", solvers::get(id).name()));
    return fmt::format("[{}]", join(n));
  };
  f.example = fmt::format("[\"{}\"]", solvers::get(1).name());
  return f;
}

}  // namespace

const config::SettingsTable<Sweep>& top_table() {
  static const config::SettingsTable<Sweep> table = [] {
    config::SettingsTable<Sweep> t("sweep", "Top-level keys (before any table).");
    t.heading("Top level");
    t.add(unhashed("oracle", "a path", "the oracle file, relative to the sweep file (its contents are fingerprinted)",
                   "required", &Sweep::oracle_path))
        .add(unhashed("output", "a path", "the results file, relative to the sweep file (or `run --out`)", "—",
                      &Sweep::output_path))
        .add(unhashed("description", "any text", "free text", "—", &Sweep::description))
        .integer("seed", &Sweep::seed, 0, std::numeric_limits<std::int64_t>::max(),
                 "base seed; task seeds derive from (seed, task id)")
        .integer("samples", &Sweep::samples, 1, 10000000, "vectors per task")
        .integer("replicates", &Sweep::replicates, 1, 10000000, "independent runs per setting (an axis)")
        .add(solvers_field())
        .integer("log_every", &Sweep::log_every, 1, 100000000, "record the loss every this many steps")
        .integer("log_points", &Sweep::log_points, 2, 1000000, "length of the stored loss curve");
    return t;
  }();
  return table;
}

std::string read_text_file(const std::string& path, std::string_view what) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw IoError(fmt::format("{} '{}' is a directory, not a file", what, path));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("cannot read {} '{}': {}", what, path, errno_text()));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string peek_oracle_path(const std::string& path, const std::string& text) {
  const toml::table root = config::parse_toml(path, text);
  const toml::node* n = root.get("oracle");
  if (n == nullptr)
    throw ConfigError(fmt::format("{}: missing key 'oracle' (the oracle file, relative to the sweep file)", path));
  if (!n->is_string()) {
    const toml::source_region& s = n->source();
    throw ConfigError(fmt::format("{}:{}:{}: 'oracle' must be a string (a path)", path, s.begin.line, s.begin.column));
  }
  return resolve_path(path, std::string(*n->value<std::string_view>()));
}

void parse_constraints(const config::Table& top, Sweep& s, const oracle::Oracle& o);  // constraints.cpp

Sweep parse_sweep(const std::string& path, const std::string& text, const oracle::Oracle& oracle) {
  const toml::table root = config::parse_toml(path, text);
  std::vector<std::string> allowed = top_table().keys();
  for (const char* k : {"objective", "constraints", "regularize", "polish", "certify"})
    allowed.emplace_back(k);
  for (const std::string& n : solvers::names())
    allowed.push_back(n);
  const config::Table top(path, root, "", allowed);
  const config::Context ctx{&oracle};
  Sweep s;
  s.path = path;
  s.text = text;
  s.oracle_path = peek_oracle_path(path, text);
  s.description = top.string("description", "");
  if (top.has("output")) {
    const std::string out = top.string("output", "");
    if (out.empty()) top.fail(*top.get("output"), "output", "a file path");
    s.output_path = resolve_path(path, out);
  }
  top_table().parse(top, s, ctx);

  // [objective]
  const toml::table* obj = top.subtable("objective");
  if (obj == nullptr)
    throw ConfigError(
        fmt::format("{}: missing table [objective] (kind = \"target\" with targets = [...], or range, "
                    "maximize, minimize)",
                    path));
  objective_table().parse(config::Table(path, *obj, "objective", objective_table().keys()), s, ctx);
  for (Index id : s.solvers) {
    try {
      solvers::get(id).check_objective(s.kind);
    } catch (const ConfigError& e) {
      throw ConfigError(fmt::format("{}: {}", top.where(*top.get("solvers")), e.what()));
    }
  }

  parse_constraints(top, s, oracle);
  s.regularize.reference = oracle.input_scaler.mean;
  inverse::Regularize::table().parse_subtable(top, "regularize", s.regularize, ctx);
  if (s.regularize.uncertainty > 0) {
    // Penalising the members' disagreement needs members, and a solver whose loss takes it.
    const config::Table reg(path, *top.subtable("regularize"), "regularize", inverse::Regularize::table().keys());
    const std::string at = reg.where(*reg.get("uncertainty"));
    if (!oracle.is_ensemble())
      throw ConfigError(
          fmt::format("{}: 'regularize.uncertainty' = {} needs an ensemble oracle (train-oracle "
                      "--ensemble K), but {} is a single network; remove the key or set it to 0",
                      at, s.regularize.uncertainty, s.oracle_path));
    for (Index id : s.solvers)
      if (!solvers::get(id).supports_uncertainty())
        throw ConfigError(
            fmt::format("{}: 'regularize.uncertainty' is not supported by the solver '{}' "
                        "(it samples the solution set, it has no loss to add it to)",
                        at, solvers::get(id).name()));
  }
  // Every solver's table is read (so that a typo in an unused one is found too).
  for (const solvers::Solver* solver : solvers::all()) {
    const std::string name(solver->name());
    const toml::table* tbl = top.subtable(name);
    if (tbl == nullptr) {
      s.solver_settings.push_back(solver->parse(nullptr, ctx));
    } else {
      const config::Table t(path, *tbl, name, solver->keys());
      s.solver_settings.push_back(solver->parse(&t, ctx));
    }
  }
  inverse::PolishSettings::table().parse_subtable(top, "polish", s.polish, ctx);
  inverse::CertifySettings::table().parse_subtable(top, "certify", s.certify, ctx);
  // Task ids are 64-bit: a product of axes that does not fit is refused, never wrapped.
  std::int64_t n = 1;
  for (const Index k : {s.n_targets(), s.n_constraints(), s.n_solvers(), static_cast<Index>(s.replicates)})
    if (__builtin_mul_overflow(n, static_cast<std::int64_t>(k), &n))
      throw ConfigError(
          fmt::format("{}: the sweep's task count does not fit in 64 bits ({} targets × {} constraint "
                      "settings × {} solvers × {} replicates); make it smaller",
                      path, s.n_targets(), s.n_constraints(), s.n_solvers(), s.replicates));
  return s;
}

std::string settings_markdown() {
  std::string out = top_table().markdown(Sweep{});
  out += "\n" + objective_table().markdown(Sweep{});
  out += "\n" + constraint_table().markdown(inverse::Constraint{});
  out += "\n" + inverse::Regularize::table().markdown(inverse::Regularize{});
  out += "\n" + inverse::PolishSettings::table().markdown(inverse::PolishSettings{});
  out += "\n" + inverse::CertifySettings::table().markdown(inverse::CertifySettings{});
  for (const solvers::Solver* solver : solvers::all())
    out += "\n" + solver->markdown();
  return out;
}

}  // namespace invsweep::sweep
