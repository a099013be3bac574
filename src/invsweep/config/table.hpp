#pragma once
// One table of a TOML settings file, as the parsers see it: the key path used in messages
// ("generator.steps"), the keys it accepts (any other key is a ConfigError with a "did you
// mean"), typed getters that check type and range and name file:line:column, key and what
// was expected. And the fingerprint that settings feed to identify a sweep.
#include <toml++/toml.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "invsweep/core/eigen.hpp"

namespace invsweep::config {

class Table {
 public:
  /// Throws ConfigError for any key of `t` not in `allowed`.
  Table(const std::string& file, const toml::table& t, std::string prefix, const std::vector<std::string>& allowed);

  /// "file:line:col" of a node ("file" when it has no position).
  std::string where(const toml::node& n) const;
  std::string where() const { return where(t_); }
  /// The full key path of `key` for messages ("generator.steps").
  std::string name(std::string_view key) const;
  const toml::node* get(std::string_view key) const { return t_.get(key); }
  bool has(std::string_view key) const { return t_.contains(key); }
  const toml::table& raw() const { return t_; }
  const std::string& file() const { return file_; }
  const std::string& prefix() const { return prefix_; }

  [[noreturn]] void fail(const toml::node& n, std::string_view key, std::string_view expected) const;
  const toml::node& require(std::string_view key, std::string_view what) const;

  std::string string(std::string_view key, std::string def) const;
  bool boolean(std::string_view key, bool def) const;
  std::int64_t integer(std::string_view key, std::int64_t def, std::int64_t min, std::int64_t max) const;
  /// A finite number (integers accepted) with lo ≤ v (or lo < v when `open_lo`) and v ≤ hi.
  double number(std::string_view key, double def, double lo, double hi, bool open_lo = false) const;
  double as_number(const toml::node& n, std::string_view key) const;
  /// An array of `len` numbers (a bare number accepted when `len` is 1); NaN never, ±inf only
  /// when `allow_inf`.
  VectorD numbers(const toml::node& n, std::string_view key, Index len, bool allow_inf = false,
                  bool allow_nan = false) const;
  /// A non-empty array of layer widths in [1, 65536].
  std::vector<Index> widths(std::string_view key, std::vector<Index> def) const;
  /// A sub-table (nullptr when absent; ConfigError when not a table).
  const toml::table* subtable(std::string_view key) const;
  /// Index of the feature or output `name` (a key of the sub-table `key`) in `names`;
  /// ConfigError "the oracle has no <what> 'name' (did you mean …); its <what>s are: …".
  Index lookup(const toml::node& n, std::string_view key, std::string_view name, const std::vector<std::string>& names,
               std::string_view what) const;
  /// Index of `value` in `names` (ConfigError with "did you mean" when absent).
  std::size_t choice(std::string_view key, std::size_t def, const std::vector<std::string>& names) const;

 private:
  const std::string& file_;
  const toml::table& t_;
  std::string prefix_;
};

/// Parses TOML text; a syntax error becomes a ConfigError with file:line:col.
toml::table parse_toml(const std::string& path, const std::string& text);

/// FNV-1a, 64 bit: a fingerprint against accidental mismatches, not a cryptographic hash.
class Fingerprint {
 public:
  void bytes(const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i)
      h_ = (h_ ^ b[i]) * 0x100000001b3ULL;
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
  std::uint64_t value() const { return h_; }
  std::string hex() const;

 private:
  std::uint64_t h_ = 0xcbf29ce484222325ULL;
};

}  // namespace invsweep::config
