#pragma once
// The results file (docs/FILE_FORMATS.md, "Results file"): one HDF5 file shared by
// every rank of a run.
//
// Its whole structure — attributes, /oracle, /constraints, the task table and every result
// dataset at full size, filled with NaN / pending — is created by all ranks together and
// flushed before the first task runs. During the run a rank only writes the rows of the
// tasks it ran (independent I/O), the task's status last: a job killed at any moment leaves a
// file that opens, in which every row marked done is complete. Resume reopens the file, reads
// /tasks/status and runs what is not done.
#include <cstdint>
#include <string>
#include <vector>

#include "invsweep/h5/h5.hpp"
#include "invsweep/inverse/spec.hpp"
#include "invsweep/oracle/oracle.hpp"
#include "invsweep/sweep/sweep.hpp"

namespace invsweep::results {

inline constexpr const char* kResultsFormat = "invsweep-results";
inline constexpr std::int64_t kResultsFormatVersion = 1;
inline constexpr std::size_t kMessageWidth = 256;  ///< bytes of /tasks/message per task

/// The temporary name a new results file is built under before it is renamed to `path`.
inline std::string part_path(const std::string& path) {
  return path + ".part";
}

/// One finished task as a rank keeps it until its batch is written.
struct TaskRow {
  std::int64_t id = 0;
  inverse::TaskResult result;
  int rank = 0;
};

/// Bytes the result datasets of a sweep take (vectors, outputs, residuals, loss, tasks).
/// Throws ConfigError naming the sweep when that does not fit in 64 bits.
std::uint64_t estimated_size(const sweep::Sweep& s, const oracle::Oracle& o);

class ResultsFile {
 public:
  /// COLLECTIVE over `comm`: creates `path` (which must not exist), writes everything known
  /// before the run, and returns it opened for the run. The file is built as `path.part` and
  /// renamed when complete, so `path` never exists half-made.
  static ResultsFile create(const std::string& path, MPI_Comm comm, const sweep::Sweep& s, const oracle::Oracle& o,
                            const std::string& hash);
  /// COLLECTIVE over `comm`: opens a file that `check_resumable` accepted.
  static ResultsFile open(const std::string& path, MPI_Comm comm);
  /// Serial, on one rank: is `path` a readable results file of this sweep (same hash and
  /// shapes)? Throws IoError / ConfigError naming the file and the mismatch. Returns
  /// /tasks/status.
  static std::vector<std::uint8_t> check_resumable(const std::string& path, const sweep::Sweep& s,
                                                   const oracle::Oracle& o, const std::string& hash);

  /// INDEPENDENT: the rows of a batch of tasks (distinct ids, any order; sorted here): their
  /// vectors, outputs, residuals, loss curves, scalars and certificates, one H5Dwrite per
  /// dataset for the whole batch; then every task's /tasks/status, last, so a row is marked
  /// done only once all its data has been written. A `result.vectors` is [n_in, n_samples]
  /// (column per vector), as a TaskResult holds it.
  void write_tasks(std::vector<TaskRow>& batch) const;
  std::vector<std::uint8_t> read_status() const;

  void flush();  ///< COLLECTIVE
  void close();  ///< COLLECTIVE

 private:
  h5::File file_;
  h5::Dataset vectors_, outputs_, residuals_, loss_;
  h5::Dataset violations_, mahalanobis_;  ///< per vector; invalid when the file has none
  h5::Dataset status_, rank_, wall_, steps_, final_loss_, message_;
  // ---- Certificates (/tasks/certificate, bound_lo, bound_hi, reachable, n_roots) ----
  // Absent in files written before they existed; then not written.
  bool has_certificates_ = false;
  h5::Dataset certificate_, bound_lo_, bound_hi_, reachable_, n_roots_;
  h5::Dataset acceptance_, ess_, rhat_;  ///< sampling diagnostics (solver `sampler`)
  bool has_spread_ = false;              ///< /spread: only when the oracle is an ensemble
  h5::Dataset spread_;
  void open_datasets();
};

}  // namespace invsweep::results
