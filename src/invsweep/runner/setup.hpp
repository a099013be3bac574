#pragma once
// The start of a run: rank 0 checks everything the user gave (sweep file, oracle, results
// path, resume) before any output exists, then every rank receives the sweep text and the
// oracle's bytes (one file read, not one per rank), parses and validates them again, and
// knows which tasks are pending. And the collective helpers of the runner.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "invsweep/core/lock.hpp"
#include "invsweep/oracle/oracle.hpp"
#include "invsweep/results/reader.hpp"
#include "invsweep/runner/runner.hpp"
#include "invsweep/sweep/sweep.hpp"

namespace invsweep::runner {

/// What rank 0 prepares and every rank receives.
struct Setup {
  std::string sweep_path, sweep_text, oracle_path, oracle_bytes, out;
  bool resume_existing = false;
  std::vector<std::uint8_t> status;  ///< /tasks/status of a resumed file (rank 0)
  std::shared_ptr<WriterLock> lock;  ///< rank 0: the results file's writer lock, held for the run
};

/// What the results path holds for a run.
struct OutputVerdict {
  bool resume_existing = false;           ///< an existing file of this sweep, to continue
  std::vector<std::uint8_t> status;       ///< its /tasks/status, done rows that fail validation as pending
  std::vector<results::BadRow> bad_rows;  ///< those rows, and why
};

/// Serial: every check `run` makes of its results path `out` — a usable name, not a directory,
/// not a dangling link, not the sweep or oracle file itself (same inode), its folder writable;
/// with `resume` an existing file must be a results file of this sweep; without, it must not
/// exist; a new file must fit on its file system (`bytes`). `check` calls it too, so that it
/// approves exactly what `run` accepts. `validate_rows` = false skips reading the done rows
/// (`bad_rows` stays empty): a first look before the writer lock is taken. Throws UserError.
OutputVerdict check_results_output(const std::string& out, bool resume, const std::string& sweep_path,
                                   const std::string& oracle_path, const sweep::Sweep& sw, const oracle::Oracle& o,
                                   std::uint64_t bytes, bool validate_rows = true);

/// Rank 0: everything that can be wrong with the user's input, checked before any output.
/// `ranks_per_node` ranks share the memory of rank 0's node. Throws UserError.
Setup prepare(const RunOptions& opt, int ranks_per_node = 1);

/// What every rank knows after the start.
struct Prepared {
  Setup setup;
  oracle::Oracle oracle;
  sweep::Sweep sweep;
  std::string hash;
  std::vector<std::int64_t> pending;  ///< task ids not done, in id order
};

/// COLLECTIVE: prepare() on rank 0, its verdict and result broadcast. Bad input: rethrown as
/// ConfigError on rank 0, nullopt on the others (every rank stops together).
std::optional<Prepared> prepare_all(const RunOptions& opt);

/// " — … is the disk full?" when the file system holding `path` has (almost) no space left:
/// the likely cause of a failed write, which HDF5's own message does not say.
std::string disk_hint(const std::string& path);
/// Prints the error and ends every rank through MPI_Abort (no rank is left waiting).
[[noreturn]] void fatal(int rank, const std::string& what, int code);
/// COLLECTIVE: rank `root`'s string on every rank (any size).
void bcast_bytes(std::string& s, int root = 0);

}  // namespace invsweep::runner
