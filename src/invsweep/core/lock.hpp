#pragma once
// One writer per results file. A run holds an advisory lock on "<results>.lock" (an
// open-file-description lock, so HDF5 and MPI-IO opening and closing the results file on the
// same rank never drop it) from before it looks at the results file until after it closed
// it. The lock file names its holder; the kernel releases the lock when the holder dies, so a
// lock file left by a killed run blocks nobody.
#include <string>

namespace invsweep {

/// The lock file of a results file.
inline std::string lock_path(const std::string& path) {
  return path + ".lock";
}

class WriterLock {
 public:
  WriterLock() = default;
  /// Takes the lock of `path` (the results file) without waiting. Throws IoError naming the
  /// holder ("pid 1234 on host node7, since …") when another process has it. The folder of
  /// `path` must exist.
  static WriterLock acquire(const std::string& path);
  ~WriterLock();  ///< removes the lock file and releases the lock
  WriterLock(WriterLock&& o) noexcept;
  WriterLock& operator=(WriterLock&& o) noexcept;
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;
  bool held() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
  std::string path_;
  void release() noexcept;
};

}  // namespace invsweep
