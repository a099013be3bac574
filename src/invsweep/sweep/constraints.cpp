// [[constraints]]: the constraint-setting axis (fixed features, bounds, the bound method).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "invsweep/core/errors.hpp"
#include "invsweep/core/strings.hpp"
#include "invsweep/sweep/sweep.hpp"

namespace invsweep::sweep {

namespace {

using inverse::Constraint;

config::Field<Constraint> custom(std::string key, std::string type, std::string range, std::string doc) {
  config::Field<Constraint> f;
  f.key = std::move(key);
  f.type = std::move(type);
  f.range = std::move(range);
  f.doc = std::move(doc);
  return f;
}

void parse_bounds(const config::Table& c, Constraint& out, const config::Context& ctx) {
  const toml::table* b = c.subtable("bounds");
  if (b == nullptr) return;
  for (auto&& [k, node] : *b) {
    const Index i = c.lookup(node, "bounds", k.str(), ctx.oracle->input_names, "feature");
    const VectorD lh = c.numbers(node, "bounds", 2, true);
    if (lh[0] > lh[1])
      throw ConfigError(fmt::format("{}: '{}.{}' has lower bound {} > upper bound {} in constraint '{}'", c.where(node),
                                    c.name("bounds"), k.str(), lh[0], lh[1], out.name));
    // An end at +inf below or -inf above leaves no finite value to search.
    if (lh[0] == std::numeric_limits<double>::infinity() || lh[1] == -std::numeric_limits<double>::infinity())
      throw ConfigError(
          fmt::format("{}: '{}.{}' = [{}, {}] contains no finite value in constraint '{}'; expected "
                      "finite ends (one end may be -inf or inf)",
                      c.where(node), c.name("bounds"), k.str(), lh[0], lh[1], out.name));
    if (lh[0] == lh[1])
      throw ConfigError(
          fmt::format("{}: '{}.{}' = [{}, {}] is a single value in constraint '{}'; use "
                      "fixed = {{ {} = {} }} to hold a feature at a value",
                      c.where(node), c.name("bounds"), k.str(), lh[0], lh[1], out.name, k.str(), lh[0]));
    out.lower[i] = lh[0];
    out.upper[i] = lh[1];
  }
}

void parse_fixed(const config::Table& c, Constraint& out, const config::Context& ctx) {
  const toml::table* f = c.subtable("fixed");
  if (f == nullptr) return;
  for (auto&& [k, node] : *f) {
    const Index i = c.lookup(node, "fixed", k.str(), ctx.oracle->input_names, "feature");
    const double v = c.as_number(node, "fixed");
    if (!std::isfinite(v)) c.fail(node, "fixed", "a table of finite values");
    if (v < out.lower[i] || v > out.upper[i])
      throw ConfigError(fmt::format("{}: '{}.{}' = {} lies outside its bounds [{}, {}] in constraint '{}'",
                                    c.where(node), c.name("fixed"), k.str(), v, out.lower[i], out.upper[i], out.name));
    out.fixed[static_cast<std::size_t>(i)] = 1;
    out.fixed_value[i] = v;
  }
}

/// Free features without explicit bounds stay inside the oracle's training domain, where it
/// is trustworthy (domain = false lifts that).
void apply_domain(const config::Table& c, Constraint& out, const config::Context& ctx) {
  const oracle::Oracle& o = *ctx.oracle;
  out.domain = c.boolean("domain", out.domain);
  if (!out.domain) return;
  std::vector<std::uint8_t> explicit_bounds(static_cast<std::size_t>(o.n_in()), 0);
  if (const toml::table* b = c.subtable("bounds"))
    for (auto&& [k, node] : *b)
      explicit_bounds[static_cast<std::size_t>(c.lookup(node, "bounds", k.str(), o.input_names, "feature"))] = 1;
  for (Index i = 0; i < o.n_in(); ++i) {
    if (explicit_bounds[static_cast<std::size_t>(i)] != 0 || out.fixed[static_cast<std::size_t>(i)] != 0) continue;
    out.lower[i] = o.input_lo[i];
    out.upper[i] = o.input_hi[i];
  }
}

}  // namespace

const config::SettingsTable<Constraint>& constraint_table() {
  static const config::SettingsTable<Constraint> table = [] {
    config::SettingsTable<Constraint> t("constraints",
                                        "One entry per constraint setting (an axis); none = one "
                                        "setting \"free\".");
    t.heading("`[[constraints]]`");
    config::Field<Constraint> name = custom("name", "string", "unique", "the setting's name");
    name.default_doc = "`\"setting <i>\"` (no `[[constraints]]`: one setting `\"free\"`)";
    name.parse = [](const config::Table& c, Constraint& s, const config::Context&) {
      s.name = c.string("name", s.name);
    };
    name.hash = [](config::Fingerprint& f, const Constraint& s) { f.text(s.name); };
    name.show = [](const Constraint& s) { return fmt::format("\"{}\"", s.name); };
    name.example = "\"renamed\"";
    t.add(std::move(name))
        .choice("method", &Constraint::method, inverse::bound_method_names(),
                "how bounds are kept (sigmoid map, "
                "the paper's map and stopping rule, a "
                "penalty)")
        .number("c1", &Constraint::paper_c1, 0, 1e12, true, "paper method: x/c1 where x ≥ upper")
        .number("c2", &Constraint::paper_c2, 0, 1e12, true, "paper method: x·c2 where x ≤ lower")
        .number("penalty", &Constraint::penalty, 0, 1e12, true, "penalty method: λ (scaled units)")
        .boolean("paper_stop", &Constraint::paper_stop, "paper method: stop once a feature leaves its range");
    config::Field<Constraint> bounds =
        custom("bounds", "table", "{ feature = [lo, hi], … }, lo ≤ hi, ±inf allowed", "ranges of features");
    bounds.parse = parse_bounds;
    bounds.hash = [](config::Fingerprint& f, const Constraint& s) {
      f.vec(s.lower);
      f.vec(s.upper);
    };
    bounds.show = [](const Constraint& s) {
      return fmt::format("lower [{}], upper [{}]", fmt::join(s.lower, ", "), fmt::join(s.upper, ", "));
    };
    bounds.default_doc = "none (see `domain`)";
    config::Field<Constraint> fixed =
        custom("fixed", "table", "{ feature = value, … }, finite, within the bounds", "features held at a value");
    fixed.parse = parse_fixed;
    fixed.hash = [](config::Fingerprint& f, const Constraint& s) {
      f.bytes(s.fixed.data(), s.fixed.size());
      f.vec(s.fixed_value);
    };
    fixed.show = [](const Constraint& s) { return fmt::format("[{}]", fmt::join(s.fixed_value, ", ")); };
    fixed.default_doc = "none";
    config::Field<Constraint> domain =
        custom("domain", "boolean", "true, false", "free features without bounds stay in the oracle's training range");
    domain.parse = apply_domain;
    domain.hash = [](config::Fingerprint& f, const Constraint& s) {  // its effect is in the bounds
      f.vec(s.lower);
      f.vec(s.upper);
    };
    domain.show = [](const Constraint& s) { return std::string(s.domain ? "true" : "false"); };
    domain.example = "false";
    config::Field<Constraint> plausible =
        custom("plausible", "number", "≥ 0 (0 = off)",
               "every vector's Mahalanobis distance to the training inputs stays ≤ this (hard, like the bounds; "
               "needs the oracle's /oracle/input_stats)");
    plausible.parse = [](const config::Table& c, Constraint& s, const config::Context& ctx) {
      s.plausible = c.number("plausible", s.plausible, 0.0, 1e6, false);
      if (s.plausible > 0 && !ctx.oracle->has_input_stats())
        throw ConfigError(
            fmt::format("{}: '{}' needs the training inputs' mean and covariance, and this oracle has none "
                        "(/oracle/input_stats: train-oracle records them; import-model records them with --data)",
                        c.where(*c.get("plausible")), c.name("plausible")));
    };
    plausible.hash = [](config::Fingerprint& f, const Constraint& s) {
      if (s.plausible > 0) f.add(s.plausible);  // off: the fingerprint of sweeps without it
    };
    plausible.show = [](const Constraint& s) { return fmt::format("{}", s.plausible); };
    plausible.default_doc = "0 (off)";
    plausible.example = "2.5";
    t.add(std::move(bounds)).add(std::move(fixed)).add(std::move(domain)).add(std::move(plausible));
    return t;
  }();
  return table;
}

void parse_constraints(const config::Table& top, Sweep& s, const oracle::Oracle& o) {
  const config::Context ctx{&o};
  const auto one = [&](const config::Table& c, Index index) {
    Constraint out = Constraint::free(o.n_in());
    out.name = fmt::format("setting {}", index);
    constraint_table().parse(c, out, ctx);
    if (std::all_of(out.fixed.begin(), out.fixed.end(), [](std::uint8_t v) { return v != 0; }))
      throw ConfigError(
          fmt::format("{}: constraint '{}' fixes every feature; at least one must be free", c.where(), out.name));
    return out;
  };
  const toml::node* n = top.get("constraints");
  if (n == nullptr) {
    const toml::table empty;
    const config::Table c(top.file(), empty, "constraints[0]", {});
    s.constraints.push_back(one(c, 0));
    s.constraints.back().name = "free";
    return;
  }
  const toml::array* a = n->as_array();
  if (a == nullptr || a->empty() || !a->is_array_of_tables())
    top.fail(*n, "constraints", "an array of tables: [[constraints]] sections");
  std::set<std::string> names;
  for (std::size_t i = 0; i < a->size(); ++i) {
    const config::Table c(top.file(), *a->get(i)->as_table(), fmt::format("constraints[{}]", i),
                          constraint_table().keys());
    s.constraints.push_back(one(c, static_cast<Index>(i)));
    if (!names.insert(s.constraints.back().name).second)
      throw ConfigError(fmt::format("{}: constraint name '{}' is used twice", c.where(), s.constraints.back().name));
  }
}

}  // namespace invsweep::sweep
