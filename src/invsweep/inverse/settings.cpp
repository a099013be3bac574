// The settings tables of the blocks every solver shares: [polish] and [regularize].
#include <fmt/format.h>

#include <cmath>

#include "invsweep/inverse/spec.hpp"
#include "invsweep/oracle/oracle.hpp"

namespace invsweep::inverse {

const config::SettingsTable<PolishSettings>& PolishSettings::table() {
  using S = PolishSettings;
  static const config::SettingsTable<S> table = [] {
    config::SettingsTable<S> t("polish",
                               "Levenberg–Marquardt refinement of every vector in double precision "
                               "(target and range objectives).");
    t.switch_on("enabled", &S::enabled, "polish the vectors (`false` turns a `[polish]` table off)")
        .integer("max_iter", &S::max_iter, 1, 1000000, "iterations at most")
        .number("tolerance", &S::tolerance, 0, 1, true,
                "stop when the residual ≤ tolerance · max(1, the target's magnitude)");
    return t;
  }();
  return table;
}

const config::SettingsTable<Regularize>& Regularize::table() {
  using S = Regularize;
  static const config::SettingsTable<S> table = [] {
    config::SettingsTable<S> t("regularize", "Terms added to the loss of the gradient solvers (scaled units).");
    t.number("diversity", &S::diversity, 0, 1e12, false,
             "RBF repulsion between the vectors of a task (bandwidth: median distance)")
        .number("min_norm", &S::min_norm, 0, 1e12, false, "λ·mean ‖x_free‖²")
        .number("proximity", &S::proximity, 0, 1e12, false, "λ·mean ‖x_free − reference‖²")
        .number("uncertainty", &S::uncertainty, 0, 1e12, false,
                "λ·mean over outputs of the ensemble members' variance (an ensemble oracle only; "
                "not with the sampler)")
        .fingerprint_unless_default();
    config::Field<S> ref;
    ref.key = "reference";
    ref.type = "table";
    ref.range = "{ feature = value, … }, finite values";
    ref.doc = "proximity's reference point, original units (features not named: the oracle's input mean)";
    ref.parse = [](const config::Table& tb, S& s, const config::Context& ctx) {
      const toml::table* r = tb.subtable("reference");
      if (r == nullptr) return;
      for (auto&& [k, node] : *r) {
        const Index i = tb.lookup(node, "reference", k.str(), ctx.oracle->input_names, "feature");
        s.reference[i] = tb.as_number(node, "reference");
        if (!std::isfinite(s.reference[i])) tb.fail(node, "reference", "a table of finite values");
      }
    };
    ref.hash = [](config::Fingerprint& f, const S& s) { f.vec(s.reference); };
    ref.show = [](const S& s) { return fmt::format("[{}]", fmt::join(s.reference, ", ")); };
    ref.example = "";  // needs a feature name: covered by the sweep parser's tests
    ref.default_doc = "the oracle's input mean";
    t.add(std::move(ref));
    return t;
  }();
  return table;
}

}  // namespace invsweep::inverse
