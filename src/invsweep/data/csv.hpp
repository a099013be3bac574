#pragma once
// CSV tables of numbers with a header row.
#include <string>
#include <string_view>
#include <vector>

#include "invsweep/core/eigen.hpp"

namespace invsweep::data {

struct Table {
  std::string source;                ///< file name, for messages
  std::vector<std::string> columns;  ///< header names
  MatrixD values;                    ///< [n_rows, n_columns]

  Index rows() const { return values.rows(); }
  /// Index of a column; throws DataError naming the file, the column and the header
  /// (with a "did you mean").
  Index column(std::string_view name) const;
  /// The named columns as [names.size(), n_rows] (one sample per column, the engine's layout).
  MatrixD select(const std::vector<std::string>& names) const;
};

/// Reads a comma-separated file with a header row. Every cell must be a finite number.
/// Throws DataError with file, line and column name: empty file, no data rows, a ragged
/// row, a non-numeric cell, NaN or infinity, duplicate or empty header names.
Table read_csv(const std::string& path);

/// Writes a table with full double precision (round-trips exactly). Throws IoError.
void write_csv(const std::string& path, const std::vector<std::string>& columns, const MatrixD& values);

}  // namespace invsweep::data
