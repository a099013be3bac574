#pragma once
// Reading and writing the oracle group of an oracle or results file (docs/FILE_FORMATS.md, format_version 1).
//
//   /oracle  attrs format="invsweep-oracle", format_version=1, input_names, output_names
//   /oracle/layers/<i>/weight [out, in] float64, bias [out]; attr activation on <i>
//   /oracle/input_scaler/{mean,scale}, /oracle/output_scaler/{mean,scale}
//   /oracle/input_bounds/{lo,hi}
//   /oracle/metrics  attrs train_rmse, val_rmse, val_r2, test_rmse, test_r2, cv_r2_mean, cv_r2_sd
//                    (per output, each only when its rows exist), n_train, n_val, n_test, epochs,
//                    cv_folds
//   /oracle/ensemble attr members = K, weight [K, n_out, h/K], bias [K, n_out] (ensembles only;
//                    oracle/ensemble.hpp)
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "invsweep/h5/h5.hpp"
#include "invsweep/oracle/oracle.hpp"

namespace invsweep::oracle {

inline constexpr const char* kOracleFormat = "invsweep-oracle";
inline constexpr std::int64_t kOracleFormatVersion = 1;

/// Reads and validates the `/oracle` group of an HDF5 file. Throws IoError naming the file
/// and what is wrong (missing, not HDF5, truncated, wrong format or version, bad shapes,
/// unknown activation, non-finite numbers, non-positive scales).
Oracle load_oracle(const std::string& path);
/// The same from the bytes of an oracle file (as broadcast between MPI ranks).
Oracle load_oracle_image(std::span<const std::byte> bytes, const std::string& label);
/// Reads and validates an oracle group (for example `/oracle` inside a results file).
Oracle read_oracle_group(const h5::Node& group);

/// Writes `o` as group `name` under `parent` (collective in parallel files).
void write_oracle_group(const h5::Node& parent, const Oracle& o, const std::string& name = "oracle");
/// Writes a new oracle file atomically (temporary file renamed into place).
void save_oracle(const std::string& path, const Oracle& o);

}  // namespace invsweep::oracle
