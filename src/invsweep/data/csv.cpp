#include "invsweep/data/csv.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>

#include "invsweep/core/errors.hpp"
#include "invsweep/core/io.hpp"
#include "invsweep/core/strings.hpp"

namespace invsweep::data {

Index Table::column(std::string_view name) const {
  for (std::size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == name) return static_cast<Index>(i);
  throw DataError(fmt::format("{}: no column '{}'{}; the header has: {}", source, name, did_you_mean(name, columns),
                              join(columns)));
}

MatrixD Table::select(const std::vector<std::string>& names) const {
  MatrixD out(static_cast<Index>(names.size()), rows());
  for (std::size_t i = 0; i < names.size(); ++i)
    out.row(static_cast<Index>(i)) = values.col(column(names[i])).transpose();
  return out;
}

namespace {
std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t pos = line.find(',', start);
    out.push_back(trim(line.substr(start, pos == std::string_view::npos ? line.npos : pos - start)));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

std::string unquote(std::string_view s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return std::string(s);
}
}  // namespace

Table read_csv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("{}: cannot open for reading ({})", path, errno_text()));
  Table t;
  t.source = path;
  std::string line;
  std::size_t lineno = 0;
  // Header: the first non-blank line.
  bool have_header = false;
  while (std::getline(in, line)) {
    ++lineno;
    if (lineno == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // UTF-8 BOM
    if (trim(line).empty()) continue;
    std::set<std::string> seen;
    for (std::string_view f : split_fields(line)) {
      std::string name = unquote(f);
      if (name.empty())
        throw DataError(
            fmt::format("{} line {}: empty column name in the header (column {})", path, lineno, t.columns.size() + 1));
      if (!seen.insert(name).second)
        throw DataError(fmt::format("{} line {}: column '{}' appears twice in the header", path, lineno, name));
      t.columns.push_back(std::move(name));
    }
    have_header = true;
    break;
  }
  if (!have_header) throw DataError(fmt::format("{}: empty file, expected a header row of column names", path));
  const std::size_t ncol = t.columns.size();
  std::vector<double> cells;
  std::size_t nrows = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (trim(line).empty()) continue;
    const std::vector<std::string_view> fields = split_fields(line);
    if (fields.size() != ncol)
      throw DataError(
          fmt::format("{} line {}: {} fields, expected {} as in the header", path, lineno, fields.size(), ncol));
    for (std::size_t j = 0; j < ncol; ++j) {
      const std::string cell(fields[j]);
      const char* b = cell.c_str();
      char* e = nullptr;
      errno = 0;
      const double v = std::strtod(b, &e);
      if (cell.empty() || e != b + cell.size())
        throw DataError(fmt::format("{} line {}, column '{}': '{}' is not a number", path, lineno, t.columns[j], cell));
      if (!std::isfinite(v))
        throw DataError(
            fmt::format("{} line {}, column '{}': '{}' is not a finite number (NaN and "
                        "infinity are not allowed)",
                        path, lineno, t.columns[j], cell));
      cells.push_back(v);
    }
    ++nrows;
  }
  if (in.bad()) throw IoError(fmt::format("{}: read error ({})", path, errno_text()));
  if (nrows == 0) throw DataError(fmt::format("{}: no data rows after the header", path));
  t.values.resize(static_cast<Index>(nrows), static_cast<Index>(ncol));
  for (std::size_t i = 0; i < nrows; ++i)
    for (std::size_t j = 0; j < ncol; ++j)
      t.values(static_cast<Index>(i), static_cast<Index>(j)) = cells[i * ncol + j];
  return t;
}

void write_csv(const std::string& path, const std::vector<std::string>& columns, const MatrixD& values) {
  AtomicFile out(path);
  std::string buf = join(columns, ",") + "\n";
  for (Index i = 0; i < values.rows(); ++i) {
    for (Index j = 0; j < values.cols(); ++j) {
      if (j > 0) buf.push_back(',');
      fmt::format_to(std::back_inserter(buf), "{}", values(i, j));  // shortest round-trip form
    }
    buf.push_back('\n');
  }
  out.write(buf);
  out.commit();
}

}  // namespace invsweep::data
