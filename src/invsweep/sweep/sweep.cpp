#include "invsweep/sweep/sweep.hpp"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <toml++/toml.h>

#include "invsweep/core/errors.hpp"
#include "invsweep/core/io.hpp"
#include "invsweep/core/rng.hpp"
#include "invsweep/core/strings.hpp"

namespace invsweep::sweep {

namespace fs = std::filesystem;
using inverse::BoundMethod;
using inverse::ObjectiveKind;
using inverse::SolverKind;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// One table of the file, with the key path used in messages ("generator.steps") and the
/// keys it accepts: any other key is an error with a "did you mean".
class Table {
 public:
  Table(const std::string& file, const toml::table& t, std::string prefix, std::vector<std::string> allowed)
      : file_(file), t_(t), prefix_(std::move(prefix)) {
    for (auto&& [k, v] : t_) {
      const std::string key(k.str());
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
        throw ConfigError(fmt::format("{}: unknown key '{}'{}; expected one of: {}", where(v), name(key),
                                      did_you_mean(key, allowed), join(allowed)));
    }
  }

  std::string where(const toml::node& n) const {
    const toml::source_region& s = n.source();
    if (s.begin.line == 0) return file_;
    return fmt::format("{}:{}:{}", file_, s.begin.line, s.begin.column);
  }
  std::string where() const { return where(t_); }
  std::string name(std::string_view key) const { return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key); }
  const toml::node* get(std::string_view key) const { return t_.get(key); }
  bool has(std::string_view key) const { return t_.contains(key); }
  const toml::table& raw() const { return t_; }
  const std::string& file() const { return file_; }

  [[noreturn]] void fail(const toml::node& n, std::string_view key, std::string_view expected) const {
    throw ConfigError(fmt::format("{}: '{}' must be {}", where(n), name(key), expected));
  }

  const toml::node& require(std::string_view key, std::string_view what) const {
    const toml::node* n = get(key);
    if (n == nullptr) throw ConfigError(fmt::format("{}: missing key '{}' ({})", where(), name(key), what));
    return *n;
  }

  std::string string(std::string_view key, std::string def) const {
    const toml::node* n = get(key);
    if (n == nullptr) return def;
    if (!n->is_string()) fail(*n, key, "a string");
    return std::string(*n->value<std::string_view>());
  }
  bool boolean(std::string_view key, bool def) const {
    const toml::node* n = get(key);
    if (n == nullptr) return def;
    if (!n->is_boolean()) fail(*n, key, "true or false");
    return *n->value<bool>();
  }
  std::int64_t integer(std::string_view key, std::int64_t def, std::int64_t min, std::int64_t max) const {
    const toml::node* n = get(key);
    if (n == nullptr) return def;
    if (!n->is_integer()) fail(*n, key, fmt::format("an integer in [{}, {}]", min, max));
    const std::int64_t v = *n->value<std::int64_t>();
    if (v < min || v > max) fail(*n, key, fmt::format("an integer in [{}, {}], got {}", min, max, v));
    return v;
  }
  /// A finite number (integers accepted) with lo ≤ v (or lo < v when `open_lo`) and v ≤ hi.
  double number(std::string_view key, double def, double lo, double hi, bool open_lo = false) const {
    const toml::node* n = get(key);
    if (n == nullptr) return def;
    const double v = as_number(*n, key);
    const bool ok = std::isfinite(v) && (open_lo ? v > lo : v >= lo) && v <= hi;
    if (!ok) fail(*n, key, fmt::format("a number in {}{}, {}], got {}", open_lo ? "(" : "[", lo, hi, v));
    return v;
  }
  double as_number(const toml::node& n, std::string_view key) const {
    if (!n.is_number()) fail(n, key, "a number");
    return n.value<double>().value_or(0.0);
  }
  /// An array of numbers (a bare number accepted when `len` is 1).
  VectorD numbers(const toml::node& n, std::string_view key, Index len, bool allow_inf = false) const {
    VectorD v(len);
    if (n.is_number() && len == 1) {
      v[0] = as_number(n, key);
    } else {
      const toml::array* a = n.as_array();
      if (a == nullptr || static_cast<Index>(a->size()) != len)
        fail(n, key, fmt::format("an array of {} number{}", len, len == 1 ? "" : "s"));
      for (Index i = 0; i < len; ++i) v[i] = as_number(*a->get(static_cast<std::size_t>(i)), key);
    }
    for (Index i = 0; i < len; ++i)
      if (std::isnan(v[i]) || (!allow_inf && !std::isfinite(v[i]))) fail(n, key, "finite numbers");
    return v;
  }
  std::vector<Index> widths(std::string_view key, std::vector<Index> def) const {
    const toml::node* n = get(key);
    if (n == nullptr) return def;
    const toml::array* a = n->as_array();
    if (a == nullptr || a->empty()) fail(*n, key, "a non-empty array of layer widths, such as [64, 64]");
    std::vector<Index> out;
    for (const toml::node& e : *a) {
      if (!e.is_integer() || *e.value<std::int64_t>() < 1 || *e.value<std::int64_t>() > 65536)
        fail(*n, key, "an array of positive integers (layer widths, at most 65536)");
      out.push_back(static_cast<Index>(*e.value<std::int64_t>()));
    }
    return out;
  }
  const toml::table* subtable(std::string_view key) const {
    const toml::node* n = get(key);
    if (n == nullptr) return nullptr;
    if (!n->is_table()) fail(*n, key, "a table");
    return n->as_table();
  }
  template <class E>
  E choice(std::string_view key, E def, const std::vector<std::pair<std::string, E>>& options) const {
    const toml::node* n = get(key);
    if (n == nullptr) return def;
    std::vector<std::string> names;
    for (const auto& [s, e] : options) names.push_back(s);
    if (!n->is_string()) fail(*n, key, fmt::format("one of: {}", join(names)));
    const std::string v(*n->value<std::string_view>());
    for (const auto& [s, e] : options)
      if (s == v) return e;
    throw ConfigError(fmt::format("{}: '{}' = '{}' is not one of: {}{}", where(*n), name(key), v, join(names),
                                  did_you_mean(v, names)));
  }

 private:
  const std::string& file_;
  const toml::table& t_;
  std::string prefix_;
};

const std::vector<std::pair<std::string, SolverKind>> kSolvers{
    {"generator", SolverKind::generator}, {"adjoint", SolverKind::adjoint}, {"amortized", SolverKind::amortized}};
const std::vector<std::pair<std::string, ObjectiveKind>> kObjectives{{"target", ObjectiveKind::target},
                                                                      {"range", ObjectiveKind::range},
                                                                      {"maximize", ObjectiveKind::maximize},
                                                                      {"minimize", ObjectiveKind::minimize}};
const std::vector<std::pair<std::string, BoundMethod>> kMethods{
    {"sigmoid", BoundMethod::sigmoid}, {"paper", BoundMethod::paper}, {"penalty", BoundMethod::penalty}};
const std::vector<std::pair<std::string, inverse::Schedule>> kSchedules{{"constant", inverse::Schedule::constant},
                                                                        {"cosine", inverse::Schedule::cosine},
                                                                        {"plateau", inverse::Schedule::plateau}};
const std::vector<std::pair<std::string, inverse::LatentDist>> kLatents{{"normal", inverse::LatentDist::normal},
                                                                        {"uniform", inverse::LatentDist::uniform}};

std::vector<std::pair<std::string, nn::Activation>> activations() {
  std::vector<std::pair<std::string, nn::Activation>> out;
  for (const char* n : {"identity", "relu", "tanh", "sigmoid", "softplus", "silu", "gelu"})
    out.emplace_back(n, *nn::parse_activation(n));
  return out;
}

std::string resolve_path(const std::string& sweep_path, const std::string& p) {
  const fs::path v(p);
  if (v.is_absolute()) return p;
  return (fs::path(sweep_path).parent_path() / v).lexically_normal().string();
}

/// Index of a named feature/output, or a ConfigError with a suggestion.
Index lookup(const Table& t, const toml::node& n, std::string_view key, std::string_view name,
             const std::vector<std::string>& names, std::string_view what) {
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<Index>(i);
  throw ConfigError(fmt::format("{}: '{}': the oracle has no {} '{}'{}; its {}s are: {}", t.where(n), t.name(key), what,
                                name, did_you_mean(name, names), what, join(names)));
}

/// Per-output weights from a table {name = weight}; outputs not named get 0.
VectorD weights_table(const Table& t, std::string_view key, const oracle::Oracle& o) {
  const toml::table* w = t.subtable(key);
  VectorD v = VectorD::Zero(o.n_out());
  for (auto&& [k, node] : *w) {
    const Index i = lookup(t, node, key, k.str(), o.output_names, "output");
    v[i] = t.as_number(node, key);
    if (!std::isfinite(v[i]) || v[i] < 0) t.fail(node, key, "a table of finite weights ≥ 0, one per output named");
  }
  if (!(v.sum() > 0)) t.fail(*t.get(key), key, "a table with a positive weight on some output");
  return v;
}

void parse_objective(const Table& top, Sweep& s, const oracle::Oracle& o) {
  const toml::table* tbl = top.subtable("objective");
  if (tbl == nullptr)
    throw ConfigError(fmt::format("{}: missing table [objective] (kind = \"target\" with targets = [...], or range, "
                                  "maximize, minimize)", top.file()));
  const Table t(top.file(), *tbl, "objective", {"kind", "targets", "lo", "hi", "output", "weights"});
  const Index m = o.n_out();
  t.require("kind", "target, range, maximize or minimize");
  s.kind = t.choice("kind", ObjectiveKind::target, kObjectives);
  const auto refuse = [&](std::initializer_list<const char*> keys) {
    for (const char* k : keys)
      if (t.has(k))
        throw ConfigError(fmt::format("{}: '{}' does not apply to kind = \"{}\"", t.where(*t.get(k)), t.name(k),
                                      inverse::to_string(s.kind)));
  };
  if (t.has("weights") && s.kind != ObjectiveKind::maximize && s.kind != ObjectiveKind::minimize)
    s.weights = weights_table(t, "weights", o);
  switch (s.kind) {
    case ObjectiveKind::target: {
      refuse({"lo", "hi", "output"});
      const toml::node& n = t.require("targets", "an array of target vectors, one value per output, or "
                                                 "{ from = .., to = .., count = N }");
      if (const toml::table* r = n.as_table()) {
        const Table rt(t.file(), *r, "objective.targets", {"from", "to", "count"});
        const VectorD from = rt.numbers(rt.require("from", "first target"), "from", m);
        const VectorD to = rt.numbers(rt.require("to", "last target"), "to", m);
        rt.require("count", "number of targets");
        const auto count = static_cast<Index>(rt.integer("count", 1, 1, 1000000));
        for (Index i = 0; i < count; ++i) {
          const double f = count == 1 ? 0.0 : static_cast<double>(i) / static_cast<double>(count - 1);
          s.targets.push_back(from + f * (to - from));
        }
      } else if (const toml::array* a = n.as_array(); a != nullptr && !a->empty()) {
        for (const toml::node& e : *a) {
          if (e.is_number() && m != 1)
            t.fail(n, "targets", fmt::format("an array of target vectors of {} values each (the oracle has {} outputs: {})",
                                             m, m, join(o.output_names)));
          s.targets.push_back(t.numbers(e, "targets", m));
        }
      } else {
        t.fail(n, "targets", "a non-empty array of target vectors, or { from = .., to = .., count = N }");
      }
      break;
    }
    case ObjectiveKind::range: {
      refuse({"targets", "output"});
      const toml::node& lo = t.require("lo", "the lower end of the range, one value per output");
      const toml::node& hi = t.require("hi", "the upper end of the range, one value per output");
      // One range ([..] or a number) or an axis of ranges ([[..], [..]]).
      const toml::array* la = lo.as_array();
      const bool axis = la != nullptr && !la->empty() && la->get(0)->is_array();
      std::vector<const toml::node*> los, his;
      if (axis) {
        const toml::array* ha = hi.as_array();
        if (ha == nullptr || ha->size() != la->size())
          t.fail(hi, "hi", fmt::format("an array of {} ranges, like 'lo'", la->size()));
        for (std::size_t i = 0; i < la->size(); ++i) {
          los.push_back(la->get(i));
          his.push_back(ha->get(i));
        }
      } else {
        los.push_back(&lo);
        his.push_back(&hi);
      }
      for (std::size_t i = 0; i < los.size(); ++i) {
        VectorD l = t.numbers(*los[i], "lo", m, true), h = t.numbers(*his[i], "hi", m, true);
        for (Index k = 0; k < m; ++k)
          if (!(l[k] <= h[k]) || (std::isinf(l[k]) && std::isinf(h[k])))
            t.fail(*his[i], "hi", fmt::format("≥ 'lo' for every output (output '{}': lo {} > hi {}, or both infinite)",
                                              o.output_names[static_cast<std::size_t>(k)], l[k], h[k]));
        VectorD centre(m);
        for (Index k = 0; k < m; ++k)  // a one-sided range's "target" is its finite end
          centre[k] = std::isinf(l[k]) ? h[k] : std::isinf(h[k]) ? l[k] : 0.5 * (l[k] + h[k]);
        s.range_lo.push_back(l);
        s.range_hi.push_back(h);
        s.targets.push_back(centre);
      }
      break;
    }
    case ObjectiveKind::maximize:
    case ObjectiveKind::minimize: {
      refuse({"targets", "lo", "hi"});
      if (t.has("output") == t.has("weights"))
        throw ConfigError(fmt::format("{}: kind = \"{}\" needs exactly one of 'objective.output' (an output name) or "
                                      "'objective.weights' (a table of weights per output)",
                                      t.where(), inverse::to_string(s.kind)));
      if (t.has("output")) {
        const toml::node& n = *t.get("output");
        if (!n.is_string()) t.fail(n, "output", "an output name");
        s.weights = VectorD::Zero(m);
        s.weights[lookup(t, n, "output", *n.value<std::string_view>(), o.output_names, "output")] = 1.0;
      } else {
        s.weights = weights_table(t, "weights", o);
      }
      s.targets.push_back(VectorD::Constant(m, kNaN));
      break;
    }
  }
}

inverse::Constraint parse_constraint(const Table& c, const oracle::Oracle& o, Index index) {
  const Index n = o.n_in();
  inverse::Constraint out = inverse::Constraint::free(n);
  out.name = c.string("name", fmt::format("setting {}", index));
  out.method = c.choice("method", BoundMethod::sigmoid, kMethods);
  out.paper_c1 = c.number("c1", out.paper_c1, 0, 1e12, true);
  out.paper_c2 = c.number("c2", out.paper_c2, 0, 1e12, true);
  out.penalty = c.number("penalty", out.penalty, 0, 1e12, true);
  out.paper_stop = c.boolean("paper_stop", out.paper_stop);
  const bool domain = c.boolean("domain", true);
  std::vector<std::uint8_t> explicit_bounds(static_cast<std::size_t>(n), 0);
  if (const toml::table* b = c.subtable("bounds")) {
    for (auto&& [k, node] : *b) {
      const Index i = lookup(c, node, "bounds", k.str(), o.input_names, "feature");
      const VectorD lh = c.numbers(node, "bounds", 2, true);
      if (lh[0] > lh[1])
        throw ConfigError(fmt::format("{}: '{}.{}' has lower bound {} > upper bound {} in constraint '{}'",
                                      c.where(node), c.name("bounds"), k.str(), lh[0], lh[1], out.name));
      out.lower[i] = lh[0];
      out.upper[i] = lh[1];
      explicit_bounds[static_cast<std::size_t>(i)] = 1;
    }
  }
  if (const toml::table* f = c.subtable("fixed")) {
    for (auto&& [k, node] : *f) {
      const Index i = lookup(c, node, "fixed", k.str(), o.input_names, "feature");
      const double v = c.as_number(node, "fixed");
      if (!std::isfinite(v)) c.fail(node, "fixed", "a table of finite values");
      if (v < out.lower[i] || v > out.upper[i])
        throw ConfigError(fmt::format("{}: '{}.{}' = {} lies outside its bounds [{}, {}] in constraint '{}'", c.where(node),
                                      c.name("fixed"), k.str(), v, out.lower[i], out.upper[i], out.name));
      out.fixed[static_cast<std::size_t>(i)] = 1;
      out.fixed_value[i] = v;
    }
  }
  // Free features without explicit bounds stay inside the oracle's training domain, where
  // it is trustworthy (domain = false lifts that).
  for (Index i = 0; i < n; ++i) {
    if (!domain || explicit_bounds[static_cast<std::size_t>(i)] != 0 || out.fixed[static_cast<std::size_t>(i)] != 0) continue;
    out.lower[i] = o.input_lo[i];
    out.upper[i] = o.input_hi[i];
  }
  if (std::all_of(out.fixed.begin(), out.fixed.end(), [](std::uint8_t v) { return v != 0; }))
    throw ConfigError(fmt::format("{}: constraint '{}' fixes every feature; at least one must be free", c.where(),
                                  out.name));
  return out;
}

void parse_constraints(const Table& top, Sweep& s, const oracle::Oracle& o) {
  const toml::node* n = top.get("constraints");
  if (n == nullptr) {
    const toml::table empty;
    const Table c(top.file(), empty, "constraints[0]", {});
    s.constraints.push_back(parse_constraint(c, o, 0));
    s.constraints.back().name = "free";
    return;
  }
  const toml::array* a = n->as_array();
  if (a == nullptr || a->empty() || !a->is_array_of_tables())
    top.fail(*n, "constraints", "an array of tables: [[constraints]] sections");
  std::set<std::string> names;
  for (std::size_t i = 0; i < a->size(); ++i) {
    const Table c(top.file(), *a->get(i)->as_table(), fmt::format("constraints[{}]", i),
                  {"name", "fixed", "bounds", "method", "c1", "c2", "penalty", "paper_stop", "domain"});
    s.constraints.push_back(parse_constraint(c, o, static_cast<Index>(i)));
    if (!names.insert(s.constraints.back().name).second)
      throw ConfigError(fmt::format("{}: constraint name '{}' is used twice", c.where(), s.constraints.back().name));
  }
}

void parse_generator(const Table& top, inverse::GeneratorSettings& g) {
  const toml::table* tbl = top.subtable("generator");
  if (tbl == nullptr) return;
  const Table t(top.file(), *tbl, "generator",
                {"latent", "hidden", "activation", "steps", "lr", "latent_dist", "fresh_latents", "schedule",
                 "final_lr_fraction", "patience", "tolerance"});
  g.latent = static_cast<Index>(t.integer("latent", g.latent, 1, 4096));
  g.hidden = t.widths("hidden", g.hidden);
  g.activation = t.choice("activation", g.activation, activations());
  g.steps = static_cast<int>(t.integer("steps", g.steps, 1, 100000000));
  g.lr = t.number("lr", g.lr, 0, 1e12, true);
  g.latent_dist = t.choice("latent_dist", g.latent_dist, kLatents);
  g.fresh_latents = t.boolean("fresh_latents", g.fresh_latents);
  g.schedule = t.choice("schedule", g.schedule, kSchedules);
  g.final_lr_fraction = t.number("final_lr_fraction", g.final_lr_fraction, 0, 1);
  g.patience = static_cast<int>(t.integer("patience", g.patience, 0, 100000000));
  g.tolerance = t.number("tolerance", g.tolerance, 0, 1e300);
}

void parse_adjoint(const Table& top, inverse::AdjointSettings& a) {
  const toml::table* tbl = top.subtable("adjoint");
  if (tbl == nullptr) return;
  const Table t(top.file(), *tbl, "adjoint", {"steps", "lr", "schedule", "final_lr_fraction", "patience", "tolerance"});
  a.steps = static_cast<int>(t.integer("steps", a.steps, 1, 100000000));
  a.lr = t.number("lr", a.lr, 0, 1e12, true);
  a.schedule = t.choice("schedule", a.schedule, kSchedules);
  a.final_lr_fraction = t.number("final_lr_fraction", a.final_lr_fraction, 0, 1);
  a.patience = static_cast<int>(t.integer("patience", a.patience, 0, 100000000));
  a.tolerance = t.number("tolerance", a.tolerance, 0, 1e300);
}

void parse_amortized(const Table& top, inverse::AmortizedSettings& a, const oracle::Oracle& o) {
  const toml::table* tbl = top.subtable("amortized");
  if (tbl == nullptr) return;
  const Table t(top.file(), *tbl, "amortized",
                {"latent", "hidden", "activation", "steps", "lr", "batch", "latent_dist", "schedule",
                 "final_lr_fraction", "warmup", "uniform_share", "target_lo", "target_hi"});
  a.latent = static_cast<Index>(t.integer("latent", a.latent, 1, 4096));
  a.hidden = t.widths("hidden", a.hidden);
  a.activation = t.choice("activation", a.activation, activations());
  a.steps = static_cast<int>(t.integer("steps", a.steps, 1, 100000000));
  a.lr = t.number("lr", a.lr, 0, 1e12, true);
  a.batch = static_cast<Index>(t.integer("batch", a.batch, 1, 1000000));
  a.latent_dist = t.choice("latent_dist", a.latent_dist, kLatents);
  a.schedule = t.choice("schedule", a.schedule, kSchedules);
  a.final_lr_fraction = t.number("final_lr_fraction", a.final_lr_fraction, 0, 1);
  a.warmup = t.number("warmup", a.warmup, 0, 1);
  a.uniform_share = t.number("uniform_share", a.uniform_share, 0, 1);
  if (t.has("target_lo") != t.has("target_hi"))
    throw ConfigError(fmt::format("{}: give both 'amortized.target_lo' and 'amortized.target_hi' (the range of "
                                  "training targets), or neither (the oracle's reachable outputs)", t.where()));
  if (t.has("target_lo")) {
    a.target_lo = t.numbers(*t.get("target_lo"), "target_lo", o.n_out());
    a.target_hi = t.numbers(*t.get("target_hi"), "target_hi", o.n_out());
    for (Index k = 0; k < o.n_out(); ++k)
      if ((*a.target_lo)[k] > (*a.target_hi)[k])
        t.fail(*t.get("target_hi"), "target_hi", "≥ 'amortized.target_lo' for every output");
  }
}

void parse_polish(const Table& top, inverse::PolishSettings& p) {
  const toml::table* tbl = top.subtable("polish");
  if (tbl == nullptr) return;
  const Table t(top.file(), *tbl, "polish", {"enabled", "max_iter", "tolerance"});
  p.enabled = t.boolean("enabled", true);  // a [polish] table means "polish" unless said otherwise
  p.max_iter = static_cast<int>(t.integer("max_iter", p.max_iter, 1, 1000000));
  p.tolerance = t.number("tolerance", p.tolerance, 0, 1, true);
}

void parse_regularize(const Table& top, inverse::Regularize& r, const oracle::Oracle& o) {
  r.reference = o.input_scaler.mean;
  const toml::table* tbl = top.subtable("regularize");
  if (tbl == nullptr) return;
  const Table t(top.file(), *tbl, "regularize", {"diversity", "min_norm", "proximity", "reference"});
  r.diversity = t.number("diversity", r.diversity, 0, 1e12);
  r.min_norm = t.number("min_norm", r.min_norm, 0, 1e12);
  r.proximity = t.number("proximity", r.proximity, 0, 1e12);
  if (const toml::table* ref = t.subtable("reference")) {
    for (auto&& [k, node] : *ref) {
      const Index i = lookup(t, node, "reference", k.str(), o.input_names, "feature");
      r.reference[i] = t.as_number(node, "reference");
      if (!std::isfinite(r.reference[i])) t.fail(node, "reference", "a table of finite values");
    }
  }
}

// FNV-1a, 64 bit: a fingerprint against accidental mismatches, not a cryptographic hash.
class Fingerprint {
 public:
  void bytes(const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) h_ = (h_ ^ b[i]) * 0x100000001b3ULL;
  }
  void text(std::string_view s) {
    add(static_cast<std::uint64_t>(s.size()));
    bytes(s.data(), s.size());
  }
  template <class T>
  void add(const T& v) {
    bytes(&v, sizeof(T));
  }
  void vec(const VectorD& v) {
    add(static_cast<std::uint64_t>(v.size()));
    bytes(v.data(), static_cast<std::size_t>(v.size()) * sizeof(double));
  }
  std::string hex() const { return fmt::format("{:016x}", h_); }

 private:
  std::uint64_t h_ = 0xcbf29ce484222325ULL;
};

}  // namespace

std::string read_text_file(const std::string& path, std::string_view what) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw IoError(fmt::format("{} '{}' is a directory, not a file", what, path));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("cannot read {} '{}': {}", what, path, errno_text()));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {
toml::table parse_toml(const std::string& path, const std::string& text) {
  try {
    return toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    const toml::source_region& s = e.source();
    throw ConfigError(fmt::format("{}:{}:{}: not valid TOML: {}", path, s.begin.line, s.begin.column, e.description()));
  }
}
}  // namespace

std::string peek_oracle_path(const std::string& path, const std::string& text) {
  const toml::table root = parse_toml(path, text);
  const toml::node* n = root.get("oracle");
  if (n == nullptr)
    throw ConfigError(fmt::format("{}: missing key 'oracle' (the oracle file, relative to the sweep file)", path));
  if (!n->is_string()) {
    const toml::source_region& s = n->source();
    throw ConfigError(fmt::format("{}:{}:{}: 'oracle' must be a string (a path)", path, s.begin.line, s.begin.column));
  }
  return resolve_path(path, std::string(*n->value<std::string_view>()));
}

Sweep parse_sweep(const std::string& path, const std::string& text, const oracle::Oracle& oracle) {
  const toml::table root = parse_toml(path, text);
  const Table top(path, root, "",
                  {"oracle", "output", "description", "seed", "samples", "replicates", "solvers", "log_every",
                   "log_points", "objective", "constraints", "generator", "adjoint", "amortized", "polish",
                   "regularize"});
  Sweep s;
  s.path = path;
  s.text = text;
  s.oracle_path = peek_oracle_path(path, text);
  if (top.has("output")) s.output_path = resolve_path(path, top.string("output", ""));
  if (top.has("output") && top.string("output", "").empty()) top.fail(*top.get("output"), "output", "a file path");
  s.seed = static_cast<std::uint64_t>(top.integer("seed", 0, 0, std::numeric_limits<std::int64_t>::max()));
  s.samples = static_cast<Index>(top.integer("samples", s.samples, 1, 10000000));
  s.replicates = static_cast<Index>(top.integer("replicates", s.replicates, 1, 10000000));
  s.log_every = static_cast<int>(top.integer("log_every", s.log_every, 1, 100000000));
  s.log_points = static_cast<Index>(top.integer("log_points", s.log_points, 2, 1000000));
  (void)top.string("description", "");
  if (const toml::node* n = top.get("solvers")) {
    const toml::array* a = n->as_array();
    if (a == nullptr || a->empty()) top.fail(*n, "solvers", "a non-empty array such as [\"generator\", \"adjoint\"]");
    s.solvers.clear();
    for (const toml::node& e : *a) {
      if (!e.is_string()) top.fail(*n, "solvers", "an array of solver names: generator, adjoint, amortized");
      const std::string v(*e.value<std::string_view>());
      const auto it = std::find_if(kSolvers.begin(), kSolvers.end(), [&](const auto& p) { return p.first == v; });
      if (it == kSolvers.end()) {
        const std::vector<std::string> names{"generator", "adjoint", "amortized"};
        throw ConfigError(fmt::format("{}: unknown solver '{}' in 'solvers'{}; expected: {}", top.where(e), v,
                                      did_you_mean(v, names), join(names)));
      }
      if (std::find(s.solvers.begin(), s.solvers.end(), it->second) != s.solvers.end())
        top.fail(*n, "solvers", fmt::format("a list without repeats ('{}' appears twice)", v));
      s.solvers.push_back(it->second);
    }
  }
  parse_objective(top, s, oracle);
  if ((s.kind == ObjectiveKind::maximize || s.kind == ObjectiveKind::minimize) &&
      std::find(s.solvers.begin(), s.solvers.end(), SolverKind::amortized) != s.solvers.end())
    throw ConfigError(fmt::format("{}: the amortized solver answers targets; it cannot {} (remove it from 'solvers')",
                                  top.where(*top.get("solvers")), inverse::to_string(s.kind)));
  parse_constraints(top, s, oracle);
  parse_regularize(top, s.regularize, oracle);
  parse_generator(top, s.generator);
  parse_adjoint(top, s.adjoint);
  parse_amortized(top, s.amortized, oracle);
  parse_polish(top, s.polish);
  return s;
}

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

std::uint64_t Sweep::amortized_seed(Index constraint, Index replicate) const {
  return derive_seed({seed, 0xA40E7ULL, static_cast<std::uint64_t>(constraint), static_cast<std::uint64_t>(replicate)});
}

inverse::TaskSpec Sweep::task(Index id) const {
  const TaskCoords c = coords(id);
  inverse::TaskSpec t;
  t.seed = derive_seed({seed, static_cast<std::uint64_t>(id)});
  t.samples = samples;
  t.solver = solvers[static_cast<std::size_t>(c.solver)];
  t.objective.kind = kind;
  t.objective.weights = weights;
  const auto ti = static_cast<std::size_t>(c.target);
  if (kind == ObjectiveKind::target) t.objective.target = targets[ti];
  if (kind == ObjectiveKind::range) {
    t.objective.lo = range_lo[ti];
    t.objective.hi = range_hi[ti];
  }
  t.constraint = constraints[static_cast<std::size_t>(c.constraint)];
  t.regularize = regularize;
  t.generator = generator;
  t.adjoint = adjoint;
  t.amortized = amortized;
  t.polish = polish;
  t.log_every = log_every;
  t.log_points = log_points;
  return t;
}

std::string Sweep::hash(const oracle::Oracle& o) const {
  Fingerprint f;
  f.text("invsweep-sweep-1");
  f.add(seed);
  f.add(samples);
  f.add(replicates);
  for (SolverKind k : solvers) f.add(k);
  f.add(kind);
  for (const VectorD& v : targets) f.vec(v);
  for (const VectorD& v : range_lo) f.vec(v);
  for (const VectorD& v : range_hi) f.vec(v);
  f.vec(weights);
  for (const inverse::Constraint& c : constraints) {
    f.text(c.name);
    f.bytes(c.fixed.data(), c.fixed.size());
    f.vec(c.fixed_value);
    f.vec(c.lower);
    f.vec(c.upper);
    f.add(c.method);
    f.add(c.paper_c1);
    f.add(c.paper_c2);
    f.add(c.penalty);
    f.add(c.paper_stop);
  }
  f.add(regularize.diversity);
  f.add(regularize.min_norm);
  f.add(regularize.proximity);
  f.vec(regularize.reference);
  const inverse::GeneratorSettings& g = generator;
  f.add(g.latent);
  for (Index w : g.hidden) f.add(w);
  f.add(g.activation);
  f.add(g.steps);
  f.add(g.lr);
  f.add(g.latent_dist);
  f.add(g.fresh_latents);
  f.add(g.schedule);
  f.add(g.final_lr_fraction);
  f.add(g.patience);
  f.add(g.tolerance);
  const inverse::AdjointSettings& a = adjoint;
  f.add(a.steps);
  f.add(a.lr);
  f.add(a.schedule);
  f.add(a.final_lr_fraction);
  f.add(a.patience);
  f.add(a.tolerance);
  const inverse::AmortizedSettings& m = amortized;
  f.add(m.latent);
  for (Index w : m.hidden) f.add(w);
  f.add(m.activation);
  f.add(m.steps);
  f.add(m.lr);
  f.add(m.batch);
  f.add(m.latent_dist);
  f.add(m.schedule);
  f.add(m.final_lr_fraction);
  f.add(m.warmup);
  f.add(m.uniform_share);
  if (m.target_lo) f.vec(*m.target_lo);
  if (m.target_hi) f.vec(*m.target_hi);
  f.add(polish.enabled);
  f.add(polish.max_iter);
  f.add(polish.tolerance);
  f.add(log_every);
  f.add(log_points);
  // The oracle: names, scalers, bounds and every parameter.
  for (const std::string& n : o.input_names) f.text(n);
  for (const std::string& n : o.output_names) f.text(n);
  f.vec(o.input_scaler.mean);
  f.vec(o.input_scaler.scale);
  f.vec(o.output_scaler.mean);
  f.vec(o.output_scaler.scale);
  f.vec(o.input_lo);
  f.vec(o.input_hi);
  const VectorD params = o.net.params();
  f.vec(params);
  for (const nn::LayerSpec& l : o.net.layers()) f.add(l.act);
  return f.hex();
}

}  // namespace invsweep::sweep
