#pragma once
// File-system helpers that keep the "bad input loses nothing" promise.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace invsweep {

/// strerror(errno) as a string.
std::string errno_text();

/// Checks, before any work starts, that `path` can be created: its directory exists and is
/// writable — or does not exist yet and can be created, i.e. the nearest existing ancestor is
/// a writable directory — and the file does not exist unless `overwrite`. Creates nothing.
/// A dangling symbolic link is refused (writing would replace the link, not fill its target).
/// Throws IoError naming the path and `what` ("--out", "results file").
void check_output_path(const std::string& path, bool overwrite, std::string_view what);

/// Refuses a path that cannot name a file: empty, with a NUL byte, a component longer than
/// NAME_MAX bytes or the whole longer than PATH_MAX ("name too long", not "does not exist").
/// Throws ConfigError naming `what`.
void check_path_name(const std::string& path, std::string_view what);

/// Do `a` and `b` name the same existing file (same device and inode, whatever the spelling:
/// links, "./", symlinks)? False when either does not exist.
bool same_file(const std::string& a, const std::string& b);

/// Throws IoError when the output `out` is the same file as one of `inputs` (their `what`
/// named): writing it would destroy the input it is made from.
void check_not_an_input(const std::string& out, std::string_view out_what,
                        const std::vector<std::pair<std::string, std::string>>& inputs);

/// The folder `path` would be written to ("." for a bare file name).
std::string parent_dir(const std::string& path);

/// Creates the missing folders above `path` (like `mkdir -p "$(dirname path)"`). Commands call
/// it once every validation has passed, so bad input still creates nothing. Throws IoError
/// naming `what` and the folder that could not be made.
void create_parent_dirs(const std::string& path, std::string_view what);

/// Bytes available to unprivileged writers on the file system that holds `path` (a file that
/// may not exist yet: its nearest existing folder is asked); UINT64_MAX when that cannot be told.
std::uint64_t free_bytes(const std::string& path);

/// Writes to "<path>.tmp.<pid>" and renames onto `path` on commit(); the temporary file is
/// removed if the object is destroyed without commit (an error), so a failed run leaves no
/// partial output.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  /// The temporary path (for writers that need a name, such as HDF5).
  const std::string& temp_path() const { return tmp_; }
  void write(std::string_view bytes);  ///< appends text through a stream
  void commit();

 private:
  std::string path_, tmp_;
  bool committed_ = false;
};

}  // namespace invsweep
