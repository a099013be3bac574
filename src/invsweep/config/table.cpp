#include "invsweep/config/table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "invsweep/core/errors.hpp"
#include "invsweep/core/strings.hpp"

namespace invsweep::config {

Table::Table(const std::string& file, const toml::table& t, std::string prefix, const std::vector<std::string>& allowed)
    : file_(file), t_(t), prefix_(std::move(prefix)) {
  for (auto&& [k, v] : t_) {
    const std::string key(k.str());
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      throw ConfigError(fmt::format("{}: unknown key '{}'{}; expected one of: {}", where(v), name(key),
                                    did_you_mean(key, allowed), join(allowed)));
  }
}

std::string Table::where(const toml::node& n) const {
  const toml::source_region& s = n.source();
  if (s.begin.line == 0) return file_;
  return fmt::format("{}:{}:{}", file_, s.begin.line, s.begin.column);
}

std::string Table::name(std::string_view key) const {
  return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
}

void Table::fail(const toml::node& n, std::string_view key, std::string_view expected) const {
  throw ConfigError(fmt::format("{}: '{}' must be {}", where(n), name(key), expected));
}

const toml::node& Table::require(std::string_view key, std::string_view what) const {
  const toml::node* n = get(key);
  if (n == nullptr) throw ConfigError(fmt::format("{}: missing key '{}' ({})", where(), name(key), what));
  return *n;
}

std::string Table::string(std::string_view key, std::string def) const {
  const toml::node* n = get(key);
  if (n == nullptr) return def;
  if (!n->is_string()) fail(*n, key, "a string");
  return std::string(*n->value<std::string_view>());
}

bool Table::boolean(std::string_view key, bool def) const {
  const toml::node* n = get(key);
  if (n == nullptr) return def;
  if (!n->is_boolean()) fail(*n, key, "true or false");
  return *n->value<bool>();
}

std::int64_t Table::integer(std::string_view key, std::int64_t def, std::int64_t min, std::int64_t max) const {
  const toml::node* n = get(key);
  if (n == nullptr) return def;
  if (!n->is_integer()) fail(*n, key, fmt::format("an integer in [{}, {}]", min, max));
  const std::int64_t v = *n->value<std::int64_t>();
  if (v < min || v > max) fail(*n, key, fmt::format("an integer in [{}, {}], got {}", min, max, v));
  return v;
}

double Table::number(std::string_view key, double def, double lo, double hi, bool open_lo) const {
  const toml::node* n = get(key);
  if (n == nullptr) return def;
  const double v = as_number(*n, key);
  const bool ok = std::isfinite(v) && (open_lo ? v > lo : v >= lo) && v <= hi;
  if (!ok) fail(*n, key, fmt::format("a number in {}{:g}, {:g}], got {}", open_lo ? "(" : "[", lo, hi, v));
  return v;
}

double Table::as_number(const toml::node& n, std::string_view key) const {
  if (!n.is_number()) fail(n, key, "a number");
  return n.value<double>().value_or(0.0);
}

VectorD Table::numbers(const toml::node& n, std::string_view key, Index len, bool allow_inf, bool allow_nan) const {
  VectorD v(len);
  if (n.is_number() && len == 1) {
    v[0] = as_number(n, key);
  } else {
    const toml::array* a = n.as_array();
    if (a == nullptr || static_cast<Index>(a->size()) != len)
      fail(n, key, fmt::format("an array of {} number{}", len, len == 1 ? "" : "s"));
    for (Index i = 0; i < len; ++i)
      v[i] = as_number(*a->get(static_cast<std::size_t>(i)), key);
  }
  for (Index i = 0; i < len; ++i)
    if ((std::isnan(v[i]) && !allow_nan) || (std::isinf(v[i]) && !allow_inf))
      fail(n, key, allow_nan ? "numbers, finite or nan" : "finite numbers");
  return v;
}

std::vector<Index> Table::widths(std::string_view key, std::vector<Index> def) const {
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

const toml::table* Table::subtable(std::string_view key) const {
  const toml::node* n = get(key);
  if (n == nullptr) return nullptr;
  if (!n->is_table()) fail(*n, key, "a table");
  return n->as_table();
}

std::size_t Table::choice(std::string_view key, std::size_t def, const std::vector<std::string>& names) const {
  const toml::node* n = get(key);
  if (n == nullptr) return def;
  if (!n->is_string()) fail(*n, key, fmt::format("one of: {}", join(names)));
  const std::string v(*n->value<std::string_view>());
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == v) return i;
  throw ConfigError(
      fmt::format("{}: '{}' = '{}' is not one of: {}{}", where(*n), name(key), v, join(names), did_you_mean(v, names)));
}

Index Table::lookup(const toml::node& n, std::string_view key, std::string_view nm,
                    const std::vector<std::string>& names, std::string_view what) const {
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == nm) return static_cast<Index>(i);
  throw ConfigError(fmt::format("{}: '{}': the oracle has no {} '{}'{}; its {}s are: {}", where(n), name(key), what, nm,
                                did_you_mean(nm, names), what, join(names)));
}

toml::table parse_toml(const std::string& path, const std::string& text) {
  try {
    return toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    const toml::source_region& s = e.source();
    throw ConfigError(fmt::format("{}:{}:{}: not valid TOML: {}", path, s.begin.line, s.begin.column, e.description()));
  }
}

std::string Fingerprint::hex() const {
  return fmt::format("{:016x}", h_);
}

}  // namespace invsweep::config
