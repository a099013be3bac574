#pragma once
// Settings declared once.
//
// A `SettingsTable<S>` lists the keys of one settings block (a TOML table such as
// [generator]) and binds each to a field of the value type S: its name, type, default (the
// value S{} holds), valid range and one line of documentation. The same declaration drives
// parsing with the error messages (file:line:col, key, what was expected, "did you mean"),
// the sweep's fingerprint (every declared key is hashed: nothing can be forgotten), the
// print-out of `invsweep check` and the settings tables in the docs (`invsweep settings`).
// A unit test walks every table and changes each key to prove the fingerprint sees it.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "invsweep/config/table.hpp"
#include "invsweep/core/strings.hpp"

namespace invsweep::oracle {
struct Oracle;
}

namespace invsweep::config {

/// What a parser may need besides the TOML: the oracle that names features and outputs.
struct Context {
  const oracle::Oracle* oracle = nullptr;
};

/// One key of a table: how it is read, hashed, shown, documented and (in tests) changed.
template <class S>
struct Field {
  std::string key, type, range, doc;
  std::function<void(const Table&, S&, const Context&)> parse;  ///< absent key: leave S's value
  std::function<void(Fingerprint&, const S&)> hash;
  std::function<std::string(const S&)> show;  ///< the value as TOML
  /// A valid TOML value other than the default ("" when the key only makes sense with
  /// others): the fingerprint test sets each key to it and expects another hash.
  std::string example;
  bool fingerprinted = true;  ///< false only for keys that cannot change results (description)
  /// The default as the docs state it, when S{} does not hold it because it depends on
  /// context (the oracle's training range, "required", the presence of the table); "" = show(S{}).
  std::string default_doc{};
  /// When set and false for a value, the key is left out of the fingerprint (see
  /// SettingsTable::fingerprint_unless_default).
  std::function<bool(const S&)> hash_if{};
};

/// A field without its value type: what the docs and the tests need to walk every table.
struct FieldInfo {
  std::string key, type, range, doc, example;
  bool fingerprinted = true;
  std::string shown_default;      ///< as in the docs: default_doc, or show(S{})
  bool default_from_type = true;  ///< shown_default is show(S{}) (false: from default_doc)
};

/// The names of an enum whose values are 0, 1, 2, … (stored in files: never renumber).
using Names = std::vector<std::string>;

template <class S>
class SettingsTable {
 public:
  SettingsTable(std::string name, std::string doc) : name_(std::move(name)), doc_(std::move(doc)) {}

  const std::string& name() const { return name_; }
  const std::string& doc() const { return doc_; }
  /// The docs' heading when it is not "`[name]`" (top-level keys, arrays of tables).
  SettingsTable& heading(std::string h) {
    heading_ = std::move(h);
    return *this;
  }
  const std::vector<Field<S>>& fields() const { return fields_; }
  std::vector<std::string> keys() const {
    std::vector<std::string> k;
    for (const Field<S>& f : fields_)
      k.push_back(f.key);
    return k;
  }

  std::vector<FieldInfo> info() const {
    std::vector<FieldInfo> out;
    for (const Field<S>& f : fields_)
      out.push_back(
          {f.key, f.type, f.range, f.doc, f.example, f.fingerprinted, default_text(f), f.default_doc.empty()});
    return out;
  }

  SettingsTable& add(Field<S> f) {
    fields_.push_back(std::move(f));
    return *this;
  }

  template <class M>
  SettingsTable& integer(std::string key, M S::*m, std::int64_t min, std::int64_t max, std::string doc) {
    static_assert(std::is_integral_v<M>);
    const std::string k = key;
    return add({std::move(key), "integer", fmt::format("[{}, {}]", min, max), std::move(doc),
                [=](const Table& t, S& s, const Context&) {
                  s.*m = static_cast<M>(t.integer(k, static_cast<std::int64_t>(s.*m), min, max));
                },
                [=](Fingerprint& f, const S& s) { f.add(s.*m); }, [=](const S& s) { return fmt::format("{}", s.*m); },
                fmt::format("{}", static_cast<std::int64_t>(S{}.*m) < max ? static_cast<std::int64_t>(S{}.*m) + 1
                                                                          : static_cast<std::int64_t>(S{}.*m) - 1)});
  }

  /// The last key added enters the fingerprint only when it differs from its default: a key
  /// added later keeps the fingerprints (and `--resume`) of the sweeps that do not use it.
  SettingsTable& fingerprint_unless_default() {
    fields_.back().hash_if = [show = fields_.back().show](const S& s) { return show(s) != show(S{}); };
    return *this;
  }

  /// A finite number in [lo, hi] ((lo, hi] when `open_lo`).
  SettingsTable& number(std::string key, double S::*m, double lo, double hi, bool open_lo, std::string doc) {
    const std::string k = key;
    return add({std::move(key), "number", fmt::format("{}{:g}, {:g}]", open_lo ? "(" : "[", lo, hi), std::move(doc),
                [=](const Table& t, S& s, const Context&) { s.*m = t.number(k, s.*m, lo, hi, open_lo); },
                [=](Fingerprint& f, const S& s) { f.add(s.*m); }, [=](const S& s) { return fmt::format("{}", s.*m); },
                other_number(S{}.*m, lo, hi)});
  }

  SettingsTable& boolean(std::string key, bool S::*m, std::string doc) {
    const std::string k = key;
    return add({std::move(key), "boolean", "true, false", std::move(doc),
                [=](const Table& t, S& s, const Context&) { s.*m = t.boolean(k, s.*m); },
                [=](Fingerprint& f, const S& s) { f.add(s.*m); },
                [=](const S& s) { return std::string(s.*m ? "true" : "false"); },
                std::string(S{}.*m ? "false" : "true")});
  }

  /// The switch of an optional block ([polish], [certify]): read only when the table is there,
  /// where it defaults to true — giving the table means "do it" unless it says `key = false`.
  SettingsTable& switch_on(std::string key, bool S::*m, std::string doc) {
    Field<S> f;
    f.key = key;
    f.type = "boolean";
    f.range = "true, false";
    f.doc = std::move(doc);
    f.parse = [key, m](const Table& t, S& s, const Context&) { s.*m = t.boolean(key, true); };
    f.hash = [m](Fingerprint& fp, const S& s) { fp.add(s.*m); };
    f.show = [m](const S& s) { return std::string(s.*m ? "true" : "false"); };
    f.example = "false";
    f.default_doc = fmt::format("`true` with a `[{}]` table, `false` without one", name_);
    return add(std::move(f));
  }

  /// A name from `names`; the field holds its index as the enum E.
  template <class E>
  SettingsTable& choice(std::string key, E S::*m, const Names& names, std::string doc) {
    const std::string k = key;
    return add({std::move(key), "string", fmt::format("one of: {}", join(names)), std::move(doc),
                [=](const Table& t, S& s, const Context&) {
                  s.*m = static_cast<E>(t.choice(k, static_cast<std::size_t>(s.*m), names));
                },
                [=](Fingerprint& f, const S& s) { f.add(s.*m); },
                [=](const S& s) { return fmt::format("\"{}\"", names.at(static_cast<std::size_t>(s.*m))); },
                fmt::format("\"{}\"", names.at((static_cast<std::size_t>(S{}.*m) + 1) % names.size()))});
  }

  /// An array of layer widths.
  SettingsTable& widths(std::string key, std::vector<Index> S::*m, std::string doc) {
    const std::string k = key;
    return add({std::move(key), "array of integers", "non-empty, each in [1, 65536]", std::move(doc),
                [=](const Table& t, S& s, const Context&) { s.*m = t.widths(k, s.*m); },
                [=](Fingerprint& f, const S& s) {
                  f.add(static_cast<std::uint64_t>((s.*m).size()));
                  for (Index w : s.*m)
                    f.add(w);
                },
                [=](const S& s) { return fmt::format("[{}]", fmt::join(s.*m, ", ")); }, "[3, 5]"});
  }

  /// Reads every declared key of `t` into `s` (unknown keys were refused by Table).
  void parse(const Table& t, S& s, const Context& ctx) const {
    for (const Field<S>& f : fields_)
      f.parse(t, s, ctx);
  }
  /// Reads the sub-table `key` of `parent` (absent: S keeps its values).
  void parse_subtable(const Table& parent, std::string_view key, S& s, const Context& ctx) const {
    const toml::table* tbl = parent.subtable(key);
    if (tbl == nullptr) return;
    const Table t(parent.file(), *tbl, parent.name(key), keys());
    parse(t, s, ctx);
  }
  void hash(Fingerprint& f, const S& s) const {
    f.text(name_);
    for (const Field<S>& fd : fields_) {
      if (!fd.fingerprinted || (fd.hash_if && !fd.hash_if(s))) continue;
      f.text(fd.key);
      fd.hash(f, s);
    }
  }
  /// key = value lines, as TOML.
  std::vector<std::pair<std::string, std::string>> show(const S& s) const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const Field<S>& f : fields_)
      out.emplace_back(f.key, f.show(s));
    return out;
  }
  /// The documentation table (Markdown), defaults from `defaults`.
  std::string markdown(const S& defaults) const {
    std::string out = fmt::format("### {}\n\n{}\n\n| key | type | default | valid | meaning |\n|---|---|---|---|---|\n",
                                  heading_.empty() ? fmt::format("`[{}]`", name_) : heading_, doc_);
    for (const Field<S>& f : fields_)
      out += fmt::format("| `{}` | {} | {} | {} | {} |\n", f.key, f.type,
                         f.default_doc.empty() ? fmt::format("`{}`", f.show(defaults)) : f.default_doc,
                         f.range.empty() ? "—" : f.range, f.doc);
    return out;
  }

 private:
  static std::string default_text(const Field<S>& f) { return f.default_doc.empty() ? f.show(S{}) : f.default_doc; }
  /// A valid number other than v: v + d, else v − d, else the middle of the range.
  static std::string other_number(double v, double lo, double hi) {
    const double d = std::max(std::abs(v) * 0.125, 1e-3);
    const double x = v + d <= hi ? v + d : v - d > lo ? v - d : 0.5 * (lo + hi);
    return fmt::format("{}", x);
  }
  std::string name_, doc_, heading_;
  std::vector<Field<S>> fields_;
};

}  // namespace invsweep::config
