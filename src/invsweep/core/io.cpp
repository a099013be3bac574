#include "invsweep/core/io.hpp"

#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>

#include "invsweep/core/errors.hpp"

namespace fs = std::filesystem;

namespace invsweep {

std::string errno_text() { return std::strerror(errno); }

std::uint64_t free_bytes(const std::string& path) {
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return UINT64_MAX;
  return static_cast<std::uint64_t>(st.f_bavail) * static_cast<std::uint64_t>(st.f_frsize);
}

void check_output_path(const std::string& path, bool overwrite, std::string_view what) {
  if (path.empty()) throw ConfigError(fmt::format("{}: empty path", what));
  const fs::path p(path);
  fs::path dir = p.parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw IoError(fmt::format("{} {}: directory '{}' does not exist", what, path, dir.string()));
  if (::access(dir.c_str(), W_OK) != 0)
    throw IoError(fmt::format("{} {}: directory '{}' is not writable", what, path, dir.string()));
  if (fs::is_directory(p, ec)) throw IoError(fmt::format("{} {}: is a directory", what, path));
  if (!overwrite && fs::exists(p, ec))
    throw IoError(fmt::format("{} {}: file exists; remove it or choose another name", what, path));
}

AtomicFile::AtomicFile(std::string path)
    : path_(std::move(path)), tmp_(fmt::format("{}.tmp.{}", path_, ::getpid())) {
  std::ofstream(tmp_, std::ios::binary | std::ios::trunc);  // create empty
}

AtomicFile::~AtomicFile() {
  if (!committed_) {
    std::error_code ec;
    fs::remove(tmp_, ec);
  }
}

void AtomicFile::write(std::string_view bytes) {
  std::ofstream out(tmp_, std::ios::binary | std::ios::app);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw IoError(fmt::format("{}: write failed ({})", path_, errno_text()));
}

void AtomicFile::commit() {
  std::error_code ec;
  fs::rename(tmp_, path_, ec);
  if (ec) throw IoError(fmt::format("{}: cannot move the finished file into place ({})", path_, ec.message()));
  committed_ = true;
}

}  // namespace invsweep
