// [objective]: the kind and the target axis (targets, ranges) or the output to optimise.
#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "invsweep/core/errors.hpp"
#include "invsweep/core/strings.hpp"
#include "invsweep/sweep/sweep.hpp"

namespace invsweep::sweep {

namespace {

using inverse::ObjectiveKind;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Per-output weights from a table {name = weight}; outputs not named get 0. Weights of a
/// squared error are ≥ 0; those of a sum to maximise or minimise may have either sign.
VectorD weights_table(const config::Table& t, std::string_view key, const oracle::Oracle& o, bool signed_weights) {
  const toml::table* w = t.subtable(key);
  VectorD v = VectorD::Zero(o.n_out());
  for (auto&& [k, node] : *w) {
    const Index i = t.lookup(node, key, k.str(), o.output_names, "output");
    v[i] = t.as_number(node, key);
    if (!std::isfinite(v[i]) || (!signed_weights && v[i] < 0))
      t.fail(node, key,
             signed_weights ? "a table of finite weights, one per output named"
                            : "a table of finite weights ≥ 0, one per output named");
  }
  if (signed_weights ? !(v.cwiseAbs().sum() > 0) : !(v.sum() > 0))
    t.fail(*t.get(key), key,
           signed_weights ? "a table with a non-zero weight on some output"
                          : "a table with a positive weight on some output");
  return v;
}

void parse_targets(const config::Table& t, Sweep& s, const oracle::Oracle& o) {
  const Index m = o.n_out();
  const toml::node& n = t.require("targets",
                                  "an array of target vectors, one value per output, or "
                                  "{ from = .., to = .., count = N }");
  if (const toml::table* r = n.as_table()) {
    const config::Table rt(t.file(), *r, "objective.targets", {"from", "to", "count"});
    const VectorD from = rt.numbers(rt.require("from", "first target"), "from", m, false, true);
    const VectorD to = rt.numbers(rt.require("to", "last target"), "to", m, false, true);
    for (Index k = 0; k < m; ++k)
      if (std::isnan(from[k]) != std::isnan(to[k]))
        rt.fail(*rt.get("to"), "to",
                fmt::format("nan exactly where 'from' is nan (output '{}' is free in one and not the other)",
                            o.output_names[static_cast<std::size_t>(k)]));
    rt.require("count", "number of targets");
    const auto count = static_cast<Index>(rt.integer("count", 1, 1, 1000000));
    for (Index i = 0; i < count; ++i) {
      const double f = count == 1 ? 0.0 : static_cast<double>(i) / static_cast<double>(count - 1);
      s.targets.push_back(from + f * (to - from));
    }
  } else if (const toml::array* a = n.as_array(); a != nullptr && !a->empty()) {
    for (const toml::node& e : *a) {
      if (e.is_number() && m != 1)
        t.fail(n, "targets",
               fmt::format("an array of target vectors of {} values each (the oracle has {} outputs: {})", m, m,
                           join(o.output_names)));
      s.targets.push_back(t.numbers(e, "targets", m, false, true));
    }
  } else {
    t.fail(n, "targets", "a non-empty array of target vectors, or { from = .., to = .., count = N }");
  }
  for (const VectorD& v : s.targets)  // nan leaves an output free; something must be targeted
    if (!v.array().isFinite().any())
      t.fail(n, "targets", "target vectors with at least one number that is not nan (nan = the output is free)");
}

/// `subject_to = { y2 = [lo, hi], … }`: hard ranges on outputs (either end ±inf).
void parse_subject_to(const config::Table& t, Sweep& s, const oracle::Oracle& o) {
  const toml::table* st = t.subtable("subject_to");
  s.sub_lo = VectorD::Constant(o.n_out(), -std::numeric_limits<double>::infinity());
  s.sub_hi = VectorD::Constant(o.n_out(), std::numeric_limits<double>::infinity());
  for (auto&& [k, node] : *st) {
    const Index i = t.lookup(node, "subject_to", k.str(), o.output_names, "output");
    const VectorD r = t.numbers(node, "subject_to", 2, true);
    if (!(r[0] <= r[1]) || r[0] == std::numeric_limits<double>::infinity() ||
        r[1] == -std::numeric_limits<double>::infinity())
      t.fail(node, "subject_to",
             fmt::format("a range [lo, hi] with lo ≤ hi for output '{}' (-inf / inf for an open end), not [{}, {}]",
                         k.str(), r[0], r[1]));
    s.sub_lo[i] = r[0];
    s.sub_hi[i] = r[1];
  }
  if (st->empty()) t.fail(*t.get("subject_to"), "subject_to", "a table { output = [lo, hi], … } naming some output");
}

void parse_ranges(const config::Table& t, Sweep& s, const oracle::Oracle& o) {
  const Index m = o.n_out();
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
      if (!(l[k] <= h[k]) || l[k] == std::numeric_limits<double>::infinity() ||
          h[k] == -std::numeric_limits<double>::infinity())
        t.fail(*his[i], "hi",
               fmt::format("≥ 'lo' for every output, with a finite value between (output '{}': lo {}, hi {})",
                           o.output_names[static_cast<std::size_t>(k)], l[k], h[k]));
    // [-inf, inf] leaves an output free (as nan in a target); some output must be constrained.
    if (!(l.array().isFinite() || h.array().isFinite()).any())
      t.fail(*his[i], "hi", "a range with a finite end for some output ([-inf, inf] leaves an output free)");
    VectorD centre(m);
    for (Index k = 0; k < m; ++k)  // a one-sided range's "target" is its finite end; a free output's is nan
      centre[k] = std::isinf(l[k]) && std::isinf(h[k]) ? kNaN
                  : std::isinf(l[k])                   ? h[k]
                  : std::isinf(h[k])                   ? l[k]
                                                       : 0.5 * (l[k] + h[k]);
    s.range_lo.push_back(l);
    s.range_hi.push_back(h);
    s.targets.push_back(centre);
  }
}

/// The whole table: which keys apply depends on `kind`.
void parse_objective(const config::Table& t, Sweep& s, const config::Context& ctx) {
  const oracle::Oracle& o = *ctx.oracle;
  t.require("kind", "target, range, maximize or minimize");
  s.kind = static_cast<ObjectiveKind>(t.choice("kind", 0, inverse::objective_names()));
  const auto refuse = [&](std::initializer_list<const char*> keys) {
    for (const char* k : keys)
      if (t.has(k))
        throw ConfigError(fmt::format("{}: '{}' does not apply to kind = \"{}\"", t.where(*t.get(k)), t.name(k),
                                      inverse::to_string(s.kind)));
  };
  if (t.has("weights") && s.kind != ObjectiveKind::maximize && s.kind != ObjectiveKind::minimize)
    s.weights = weights_table(t, "weights", o, false);
  if (t.has("subject_to")) parse_subject_to(t, s, o);
  switch (s.kind) {
    case ObjectiveKind::target:
      refuse({"lo", "hi", "output"});
      parse_targets(t, s, o);
      break;
    case ObjectiveKind::range:
      refuse({"targets", "output"});
      parse_ranges(t, s, o);
      break;
    case ObjectiveKind::maximize:
    case ObjectiveKind::minimize: {
      refuse({"targets", "lo", "hi"});
      if (t.has("output") == t.has("weights"))
        throw ConfigError(
            fmt::format("{}: kind = \"{}\" needs exactly one of 'objective.output' (an output name) or "
                        "'objective.weights' (a table of weights per output)",
                        t.where(), inverse::to_string(s.kind)));
      if (t.has("output")) {
        const toml::node& n = *t.get("output");
        if (!n.is_string()) t.fail(n, "output", "an output name");
        s.weights = VectorD::Zero(o.n_out());
        s.weights[t.lookup(n, "output", *n.value<std::string_view>(), o.output_names, "output")] = 1.0;
      } else {
        s.weights = weights_table(t, "weights", o, true);
      }
      s.targets.push_back(VectorD::Constant(o.n_out(), kNaN));
      break;
    }
  }
}

config::Field<Sweep> field(std::string key, std::string type, std::string range, std::string doc,
                           std::function<void(config::Fingerprint&, const Sweep&)> hash,
                           std::function<std::string(const Sweep&)> show, std::string default_doc) {
  config::Field<Sweep> f;
  f.key = std::move(key);
  f.type = std::move(type);
  f.range = std::move(range);
  f.doc = std::move(doc);
  f.parse = [](const config::Table&, Sweep&, const config::Context&) {};  // read by parse_objective
  f.hash = std::move(hash);
  f.show = std::move(show);
  f.default_doc = std::move(default_doc);
  return f;
}

std::string vectors(const std::vector<VectorD>& v) {
  std::vector<std::string> parts;
  for (const VectorD& x : v)
    parts.push_back(fmt::format("[{}]", fmt::join(x, ", ")));
  return fmt::format("[{}]", join(parts));
}

}  // namespace

const config::SettingsTable<Sweep>& objective_table() {
  static const config::SettingsTable<Sweep> table = [] {
    config::SettingsTable<Sweep> t("objective", "What every task asks of the oracle's outputs; the target axis.");
    config::Field<Sweep> kind = field(
        "kind", "string", fmt::format("one of: {}", join(inverse::objective_names())),
        "target: hit each target vector; range: land in [lo, hi]; maximize/minimize: an output or a weighted sum",
        [](config::Fingerprint& f, const Sweep& s) { f.add(s.kind); },
        [](const Sweep& s) { return fmt::format("\"{}\"", inverse::to_string(s.kind)); }, "required");
    kind.parse = parse_objective;
    t.add(std::move(kind))
        .add(field(
            "targets", "array of arrays, or table",
            "one value per output each; or { from = [..], to = [..], count = N }", "kind = target: the target axis",
            [](config::Fingerprint& f, const Sweep& s) {
              f.add(static_cast<std::uint64_t>(s.targets.size()));
              for (const VectorD& v : s.targets)
                f.vec(v);
            },
            [](const Sweep& s) { return vectors(s.targets); }, "required for kind = target"))
        .add(field(
            "lo", "array (or array of arrays)", "one value per output; -inf allowed",
            "kind = range: lower ends (an array of ranges makes an axis)",
            [](config::Fingerprint& f, const Sweep& s) {
              for (const VectorD& v : s.range_lo)
                f.vec(v);
            },
            [](const Sweep& s) { return vectors(s.range_lo); }, "required for kind = range"))
        .add(field(
            "hi", "array (or array of arrays)", "one value per output; inf allowed", "kind = range: upper ends",
            [](config::Fingerprint& f, const Sweep& s) {
              for (const VectorD& v : s.range_hi)
                f.vec(v);
            },
            [](const Sweep& s) { return vectors(s.range_hi); }, "required for kind = range"))
        .add(field(
            "output", "string", "an output name", "kind = maximize/minimize: the output to optimise",
            [](config::Fingerprint& f, const Sweep& s) { f.vec(s.weights); },
            [](const Sweep& s) { return fmt::format("weights [{}]", fmt::join(s.weights, ", ")); },
            "— (maximize/minimize: this or `weights`)"))
        .add(field(
            "weights", "table",
            "{ output = weight, … }: target, range: ≥ 0, some positive; maximize, minimize: any sign, "
            "some non-zero",
            "per-output weights of the squared error (target, range; outputs not named: 0) or of the sum "
            "to optimise",
            [](config::Fingerprint& f, const Sweep& s) { f.vec(s.weights); },
            [](const Sweep& s) { return fmt::format("[{}]", fmt::join(s.weights, ", ")); },
            "every output 1 (target, range)"))
        .add(field(
            "subject_to", "table", "{ output = [lo, hi], … }; -inf / inf for an open end",
            "hard ranges on outputs, for every kind: every vector must keep these outputs in range (an "
            "adaptive exact penalty in the solvers, then a feasibility phase in float64); /violations "
            "records how far each vector is outside",
            [](config::Fingerprint& f, const Sweep& s) {
              if (s.sub_lo.size() == 0) return;  // sweeps without it keep their fingerprint
              f.text("subject_to");
              f.vec(s.sub_lo);
              f.vec(s.sub_hi);
            },
            [](const Sweep& s) {
              return s.sub_lo.size() == 0
                         ? std::string("{}")
                         : fmt::format("lo [{}], hi [{}]", fmt::join(s.sub_lo, ", "), fmt::join(s.sub_hi, ", "));
            },
            "no output constraint"));
    return t;
  }();
  return table;
}

}  // namespace invsweep::sweep
