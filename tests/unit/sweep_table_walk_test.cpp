// Tests that walk every settings table of the sweep file (config/settings.hpp): each key's
// example parses into its field, an absent key keeps the documented default, a wrong type or
// an out-of-range value is refused naming file:line:col and the key path, and — the
// fingerprint — setting any hashed key to its example changes Sweep::hash. A key added to a
// table later is walked too: it fails here until it is parsed, documented and hashed.
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <limits>
#include <set>

#include "invsweep/oracle/ensemble.hpp"
#include "invsweep/solvers/registry.hpp"
#include "sweep_fixture.hpp"

namespace invsweep::testing {
namespace {

using Shown = std::vector<std::pair<std::string, std::string>>;

/// One table as the walk sees it: where its keys go in a sweep text and how to read them back.
struct TableCase {
  std::string heading;  ///< as in settings_markdown()
  std::string header;   ///< "" (top level), "[generator]", "[[constraints]]"
  std::string prefix;   ///< of key paths in messages: "", "generator", "constraints[0]"
  std::string top;      ///< top-level lines the table needs (its solver in `solvers`)
  std::vector<config::FieldInfo> fields;
  std::function<Shown(const sweep::Sweep&)> show;

  /// A minimal sweep with this table present (empty) and `line` in it.
  std::string text(const std::string& line = "") const {
    if (header.empty()) return sweep_text(top + line);
    return sweep_text(top, header + "\n" + line);
  }
  std::string path(const std::string& key) const { return prefix.empty() ? key : prefix + "." + key; }
};

std::vector<TableCase> tables() {
  std::vector<TableCase> t;
  t.push_back({"Top level", "", "", "", sweep::top_table().info(),
               [](const sweep::Sweep& s) { return sweep::top_table().show(s); }});
  t.push_back({"`[[constraints]]`", "[[constraints]]", "constraints[0]", "", sweep::constraint_table().info(),
               [](const sweep::Sweep& s) { return sweep::constraint_table().show(s.constraints.at(0)); }});
  t.push_back({"`[regularize]`", "[regularize]", "regularize", "", inverse::Regularize::table().info(),
               [](const sweep::Sweep& s) { return inverse::Regularize::table().show(s.regularize); }});
  t.push_back({"`[polish]`", "[polish]", "polish", "", inverse::PolishSettings::table().info(),
               [](const sweep::Sweep& s) { return inverse::PolishSettings::table().show(s.polish); }});
  t.push_back({"`[certify]`", "[certify]", "certify", "", inverse::CertifySettings::table().info(),
               [](const sweep::Sweep& s) { return inverse::CertifySettings::table().show(s.certify); }});
  for (const solvers::Solver* solver : solvers::all()) {
    const std::string name(solver->name());
    const auto id = static_cast<std::size_t>(solvers::find(name));
    t.push_back({fmt::format("`[{}]`", name), fmt::format("[{}]", name), name,
                 fmt::format("solvers = [\"{}\"]\n", name), solver->fields(),
                 [solver, id](const sweep::Sweep& s) { return solver->show(s.solver_settings.at(id)); }});
  }
  return t;
}

std::string shown(const Shown& all, const std::string& key) {
  for (const auto& [k, v] : all)
    if (k == key) return v;
  ADD_FAILURE() << "show() has no key " << key;
  return "";
}

/// sweep_oracle() as an ensemble of two identical members: every key of every table (the
/// ensemble's `uncertainty` included) is valid with it.
const oracle::Oracle& walk_oracle() {
  static const oracle::Oracle o = [] {
    oracle::Oracle m = sweep_oracle();
    m.net = nn::Mlp<double>({{3, 2, nn::Activation::identity}, {2, 2, nn::Activation::identity}});
    m.net.weight(0) = sweep_oracle().net.weight(0);
    m.net.bias(0) = sweep_oracle().net.bias(0);
    m.net.weight(1).setIdentity();
    return oracle::combine_ensemble({m, m}, m.input_scaler, m.output_scaler);
  }();
  return o;
}

std::string hash_of(const std::string& text) {
  return parse(text, walk_oracle()).hash(walk_oracle());
}

TEST(SweepTableWalk, EveryTableOfTheDocsIsWalked) {
  const std::string md = sweep::settings_markdown();
  std::size_t headings = 0;
  for (std::size_t p = md.find("### "); p != std::string::npos; p = md.find("### ", p + 1))
    ++headings;
  const std::vector<TableCase> all = tables();
  EXPECT_EQ(headings, all.size() + 1) << "a table in settings_markdown() that this test does not walk "
                                         "(the +1 is [objective], covered by explicit cases)";
  for (const TableCase& t : all) {
    EXPECT_NE(md.find("### " + t.heading + "\n"), std::string::npos) << t.heading;
    EXPECT_FALSE(t.fields.empty()) << t.heading;
    for (const config::FieldInfo& f : t.fields) {
      EXPECT_FALSE(f.type.empty() || f.doc.empty()) << t.heading << " " << f.key;
      EXPECT_EQ(f.doc.find('|'), std::string::npos) << f.key << ": a '|' breaks the Markdown table";
      EXPECT_EQ(f.range.find('|'), std::string::npos) << f.key << ": a '|' breaks the Markdown table";
    }
  }
}

TEST(SweepTableWalk, EachExampleParsesIntoItsField) {
  for (const TableCase& t : tables())
    for (const config::FieldInfo& f : t.fields) {
      if (f.example.empty()) continue;
      SCOPED_TRACE(t.path(f.key) + " = " + f.example);
      const sweep::Sweep s = parse(t.text(f.key + " = " + f.example + "\n"), walk_oracle());
      EXPECT_EQ(shown(t.show(s), f.key), f.example);
      EXPECT_NE(shown(t.show(parse(t.text())), f.key), f.example) << "the example is the default";
    }
}

TEST(SweepTableWalk, AnAbsentKeyKeepsTheDocumentedDefault) {
  for (const TableCase& t : tables()) {
    const Shown parsed = t.show(parse(t.text()));
    for (const config::FieldInfo& f : t.fields) {
      if (!f.default_from_type) continue;  // context-dependent: explicit tests in the sweep_*_test files
      SCOPED_TRACE(t.path(f.key));
      EXPECT_EQ(shown(parsed, f.key), f.shown_default);
    }
  }
}

TEST(SweepTableWalk, AWrongTypeIsRefusedWithItsPosition) {
  for (const TableCase& t : tables())
    for (const config::FieldInfo& f : t.fields) {
      if (f.example.empty()) continue;
      const bool choice = f.range.rfind("one of:", 0) == 0;
      const std::string bad = choice ? "\"nonesuch\"" : f.type == "string" ? "3" : "\"oops\"";
      const std::string text = t.text(f.key + " = " + bad + "\n");
      SCOPED_TRACE(text);
      const std::string msg = error_of(text);
      EXPECT_EQ(msg.rfind(value_at(text, "\n" + f.key + " = ") + ": '" + t.path(f.key) + "'", 0), 0u) << msg;
      EXPECT_NE(msg.find(choice ? "is not one of" : "must be"), std::string::npos) << msg;
    }
}

/// The bounds of a "[a, b]" or "(a, b]" range.
bool bounds_of(const std::string& range, double& lo, double& hi, bool& open_lo) {
  if (range.empty() || (range[0] != '[' && range[0] != '(')) return false;
  open_lo = range[0] == '(';
  return std::sscanf(range.c_str() + 1, "%lf, %lf]", &lo, &hi) == 2;
}

TEST(SweepTableWalk, OutOfRangeAndNonFiniteValuesAreRefused) {
  int walked = 0;
  for (const TableCase& t : tables())
    for (const config::FieldInfo& f : t.fields) {
      double lo = 0, hi = 0;
      bool open_lo = false;
      if ((f.type != "integer" && f.type != "number") || !bounds_of(f.range, lo, hi, open_lo)) continue;
      ++walked;
      std::vector<std::string> bad = {"nan", "inf", "-inf"};
      if (f.type == "integer") {
        bad = {"1.5"};
        if (lo > -9e18) bad.push_back(fmt::format("{}", static_cast<std::int64_t>(lo) - 1));
        if (hi < 9e18) bad.push_back(fmt::format("{}", static_cast<std::int64_t>(hi) + 1));
      } else {
        bad.push_back(open_lo ? fmt::format("{}", lo) : fmt::format("{}", lo - 1));
        bad.push_back(fmt::format("{}", hi * 2 + 1));
      }
      for (const std::string& v : bad) {
        const std::string text = t.text(f.key + " = " + v + "\n");
        SCOPED_TRACE(text);
        const std::string msg = error_of(text);
        EXPECT_EQ(msg.rfind(value_at(text, "\n" + f.key + " = ") + ": '" + t.path(f.key) + "' must be", 0), 0u) << msg;
      }
    }
  EXPECT_GT(walked, 30);
}

// The fingerprint ---------------------------------------------------------------------------

/// Keys whose example is "" because they need context (names, other keys): each has an
/// explicit case in ContextKeysChangeTheFingerprint.
const std::set<std::string> kContextKeys = {"regularize.reference", "amortized.target_lo", "amortized.target_hi",
                                            "constraints[0].bounds", "constraints[0].fixed"};
/// Keys that cannot change results.
const std::set<std::string> kUnhashedKeys = {"oracle", "output", "description"};

TEST(SweepFingerprint, EveryHashedKeyChangesTheHash) {
  for (const TableCase& t : tables())
    for (const config::FieldInfo& f : t.fields) {
      const std::string key = t.path(f.key);
      SCOPED_TRACE(key + " = " + f.example);
      if (!f.fingerprinted) {
        EXPECT_TRUE(kUnhashedKeys.count(key)) << "a key left out of the fingerprint: can it really not change "
                                                 "results? Then add it to kUnhashedKeys";
        continue;
      }
      if (f.example.empty()) {
        EXPECT_TRUE(kContextKeys.count(key)) << "a hashed key without an example: give it one, or an explicit "
                                                "case in ContextKeysChangeTheFingerprint";
        continue;
      }
      EXPECT_NE(hash_of(t.text()), hash_of(t.text(f.key + " = " + f.example + "\n")))
          << "setting the key does not change Sweep::hash: is it hashed?";
    }
}

TEST(SweepFingerprint, ContextKeysChangeTheFingerprint) {
  const auto differ = [](const std::string& a, const std::string& b) {
    EXPECT_NE(hash_of(a), hash_of(b)) << a << "\n---\n" << b;
  };
  const auto obj = [](const std::string& body) { return sweep_text("", "", body); };
  // [objective]: every key, each changed alone.
  differ(obj("kind = \"maximize\"\noutput = \"y\"\n"), obj("kind = \"minimize\"\noutput = \"y\"\n"));
  differ(obj("kind = \"maximize\"\noutput = \"y\"\n"), obj("kind = \"maximize\"\noutput = \"z\"\n"));
  differ(obj("kind = \"maximize\"\nweights = { y = 1.0 }\n"), obj("kind = \"maximize\"\nweights = { y = 2.0 }\n"));
  differ(obj("kind = \"target\"\ntargets = [[1.0, 2.0]]\n"), obj("kind = \"target\"\ntargets = [[1.0, 2.5]]\n"));
  differ(obj("kind = \"target\"\ntargets = [[1.0, 2.0]]\n"), obj("kind = \"target\"\ntargets = [[1, 2], [1, 2]]\n"));
  differ(obj("kind = \"target\"\ntargets = [[1.0, 2.0]]\n"),
         obj("kind = \"target\"\ntargets = [[1.0, 2.0]]\nweights = { y = 1.0 }\n"));
  const std::string range = "kind = \"range\"\nlo = [0.0, 0.0]\nhi = [1.0, 1.0]\n";
  differ(obj(range), obj("kind = \"range\"\nlo = [0.0, -1.0]\nhi = [1.0, 1.0]\n"));
  differ(obj(range), obj("kind = \"range\"\nlo = [0.0, 0.0]\nhi = [1.0, 3.0]\n"));
  // [[constraints]] bounds and fixed; [regularize] reference; [amortized] target range.
  const std::string c = "[[constraints]]\n";
  differ(sweep_text("", c), sweep_text("", c + "bounds = { x1 = [0.0, 1.0] }\n"));
  differ(sweep_text("", c + "bounds = { x1 = [0.0, 1.0] }\n"), sweep_text("", c + "bounds = { x1 = [0.0, 2.0] }\n"));
  differ(sweep_text("", c), sweep_text("", c + "fixed = { x2 = 1.0 }\n"));
  differ(sweep_text("", c + "fixed = { x2 = 1.0 }\n"), sweep_text("", c + "fixed = { x2 = 1.5 }\n"));
  differ(sweep_text("", c + "fixed = { x2 = 1.0 }\n"), sweep_text("", c + "fixed = { x3 = 1.0 }\n"));
  differ(sweep_text("", "[regularize]\n"), sweep_text("", "[regularize]\nreference = { x1 = 0.5 }\n"));
  const std::string a = "solvers = [\"amortized\"]\n";
  const std::string lo = "[amortized]\ntarget_lo = [0.0, 0.0]\n";
  differ(sweep_text(a, "[amortized]\n"), sweep_text(a, lo + "target_hi = [1.0, 1.0]\n"));
  differ(sweep_text(a, lo + "target_hi = [1.0, 1.0]\n"), sweep_text(a, lo + "target_hi = [1.0, 2.0]\n"));
  differ(sweep_text(a, lo + "target_hi = [1.0, 1.0]\n"),
         sweep_text(a, "[amortized]\ntarget_lo = [0.5, 0.0]\ntarget_hi = [1.0, 1.0]\n"));
  // Constraint names and order, and the oracle's parameters.
  differ(sweep_text("", "[[constraints]]\nname = \"a\"\n[[constraints]]\nname = \"b\"\n"),
         sweep_text("", "[[constraints]]\nname = \"b\"\n[[constraints]]\nname = \"a\"\n"));
  oracle::Oracle other = sweep_oracle();
  other.net.bias(0)[1] = 0.25;
  EXPECT_NE(parse(sweep_text()).hash(sweep_oracle()), parse(sweep_text(), other).hash(other));
}

TEST(SweepFingerprint, AKeyAddedLaterDoesNotChangeTheHashAtItsDefault) {
  // `[regularize] uncertainty` came after files were written: at 0 it is not hashed, so those
  // sweeps keep their fingerprints (and --resume).
  EXPECT_EQ(hash_of(sweep_text()), hash_of(sweep_text("", "[regularize]\nuncertainty = 0.0\n")));
  EXPECT_NE(hash_of(sweep_text()), hash_of(sweep_text("", "[regularize]\nuncertainty = 0.5\n")));
}

TEST(SweepFingerprint, UnhashedKeysCommentsAndFormattingDoNotChangeIt) {
  const std::string base = sweep_text("seed = 3\n", "[generator]\nsteps = 10\nhidden = [4, 4]\n");
  const std::string h = hash_of(base);
  EXPECT_EQ(h.size(), 16u);
  EXPECT_EQ(h, hash_of(sweep_text("seed = 3\ndescription = \"another run\"\noutput = \"elsewhere/r.h5\"\n",
                                  "[generator]\nsteps = 10\nhidden = [4, 4]\n")));
  EXPECT_EQ(h, hash_of("# a comment\n" + base + "\n# the end\n"));
  EXPECT_EQ(h, hash_of("oracle   =   \"copy/of/oracle.h5\"  # same parameters\nseed=3\n[generator]\nhidden=[ 4,4 ]\n"
                       "steps = 1_0\n[objective]\ntargets = [ [ 1.0, 2.0 ] ]\nkind = 'target'\n"));
  EXPECT_EQ(h, hash_of("oracle = \"oracle.h5\"\nseed = 3\ngenerator = { steps = 10, hidden = [4, 4] }\n"
                       "objective = { kind = \"target\", targets = [[1, 2.0]] }\n"));
  // Defaults written out are the defaults.
  EXPECT_EQ(h, hash_of(sweep_text("seed = 3\nsamples = 256\nsolvers = [\"generator\"]\n",
                                  "[generator]\nsteps = 10\nhidden = [4, 4]\nlr = 1e-3\n[adjoint]\nsteps = 5\n")))
      << "settings of a solver not in 'solvers' cannot change results";
}

}  // namespace
}  // namespace invsweep::testing
