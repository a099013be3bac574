#include "invsweep/core/io.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "invsweep/core/errors.hpp"

namespace fs = std::filesystem;

namespace invsweep {

std::string errno_text() {
  return std::strerror(errno);
}

std::string parent_dir(const std::string& path) {
  const fs::path dir = fs::path(path).parent_path();
  return dir.empty() ? std::string(".") : dir.string();
}

namespace {

/// The nearest of `dir` and its ancestors that exists (as anything); "." or "/" at the latest.
fs::path nearest_existing(fs::path dir) {
  std::error_code ec;
  while (!fs::exists(dir, ec)) {
    const fs::path up = dir.parent_path();
    if (up.empty() || up == dir) return up.empty() ? fs::path(".") : up;
    dir = up;
  }
  return dir;
}

}  // namespace

std::uint64_t free_bytes(const std::string& path) {
  const fs::path dir = nearest_existing(parent_dir(path));
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return UINT64_MAX;
  return static_cast<std::uint64_t>(st.f_bavail) * static_cast<std::uint64_t>(st.f_frsize);
}

void check_path_name(const std::string& path, std::string_view what) {
  if (path.empty()) throw ConfigError(fmt::format("{}: empty path", what));
  if (path.find('\0') != std::string::npos)
    throw ConfigError(fmt::format("{} '{}': the path contains a NUL byte", what, path.substr(0, path.find('\0'))));
  if (path.size() >= PATH_MAX)
    throw ConfigError(fmt::format("{} {}…: name too long ({} bytes, at most {})", what, path.substr(0, 40), path.size(),
                                  PATH_MAX - 1));
  for (const fs::path& part : fs::path(path))
    if (part.native().size() > NAME_MAX)
      throw ConfigError(fmt::format("{} {}: name too long: the component '{}…' has {} bytes, at most {}", what, path,
                                    part.native().substr(0, 40), part.native().size(), NAME_MAX));
}

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {
  }, sb{};
  if (::stat(a.c_str(), &sa) != 0 || ::stat(b.c_str(), &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

void check_not_an_input(const std::string& out, std::string_view out_what,
                        const std::vector<std::pair<std::string, std::string>>& inputs) {
  for (const auto& [path, what] : inputs)
    if (!path.empty() && same_file(out, path))
      throw IoError(
          fmt::format("{} {}: is the same file as the {} {}; writing it would destroy that input — choose "
                      "another output",
                      out_what, out, what, path));
}

void check_output_path(const std::string& path, bool overwrite, std::string_view what) {
  check_path_name(path, what);
  const fs::path p(path);
  std::error_code lec;
  if (fs::is_symlink(p, lec) && !fs::exists(p, lec))
    throw IoError(
        fmt::format("{} {}: is a symbolic link to '{}', which does not exist; give the target's path or "
                    "remove the link",
                    what, path, fs::read_symlink(p, lec).string()));
  const fs::path dir = parent_dir(path);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    // A missing folder is made when the command writes; its nearest existing ancestor must
    // be a writable directory for that to work.
    const fs::path base = nearest_existing(dir);
    if (!fs::is_directory(base, ec))
      throw IoError(fmt::format("{} {}: cannot create directory '{}': '{}' is not a directory", what, path,
                                dir.string(), base.string()));
    if (::access(base.c_str(), W_OK | X_OK) != 0)
      throw IoError(fmt::format("{} {}: cannot create directory '{}': '{}' is not writable", what, path, dir.string(),
                                base.string()));
    return;
  }
  if (::access(dir.c_str(), W_OK) != 0)
    throw IoError(fmt::format("{} {}: directory '{}' is not writable", what, path, dir.string()));
  if (fs::is_directory(p, ec)) throw IoError(fmt::format("{} {}: is a directory", what, path));
  if (!overwrite && fs::exists(p, ec))
    throw IoError(fmt::format("{} {}: file exists; remove it or choose another name", what, path));
}

void create_parent_dirs(const std::string& path, std::string_view what) {
  const fs::path dir = parent_dir(path);
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return;
  fs::create_directories(dir, ec);
  if (ec)
    throw IoError(fmt::format("{} {}: cannot create directory '{}' ({})", what, path, dir.string(), ec.message()));
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)), tmp_(fmt::format("{}.tmp.{}", path_, ::getpid())) {
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
