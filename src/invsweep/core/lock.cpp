#include "invsweep/core/lock.hpp"

#include <fcntl.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <ctime>
#include <utility>

#include "invsweep/core/errors.hpp"
#include "invsweep/core/io.hpp"

namespace invsweep {

namespace {

bool try_lock(int fd) {
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  return ::fcntl(fd, F_OFD_SETLK, &fl) == 0;
}

std::string read_all(int fd) {
  std::string text(512, '\0');
  const ssize_t n = ::pread(fd, text.data(), text.size(), 0);
  text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0'))
    text.pop_back();
  return text;
}

std::string holder_text() {
  char host[HOST_NAME_MAX + 1] = {};
  ::gethostname(host, sizeof host - 1);
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  return fmt::format("pid {} on host {}, since {:%Y-%m-%dT%H:%M:%SZ}\n", ::getpid(), host, fmt::gmtime(t));
}

}  // namespace

WriterLock WriterLock::acquire(const std::string& path) {
  const std::string lp = lock_path(path);
  // A holder that is stopping (a killed or requeued job whose ranks are still exiting) gets a
  // few seconds to let go before the file counts as taken.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int fd = ::open(lp.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
      throw IoError(fmt::format("results file {}: cannot create its lock file {} ({})", path, lp, errno_text()));
    if (!try_lock(fd)) {
      const int err = errno;
      const std::string who = read_all(fd);
      ::close(fd);
      if ((err == EACCES || err == EAGAIN) && std::chrono::steady_clock::now() < give_up) {
        ::usleep(100000);
        --attempt;  // waiting for the holder is not a retry on a changing file
        continue;
      }
      if (err == EACCES || err == EAGAIN)
        throw IoError(
            fmt::format("results file {}: another invsweep run is writing it ({}; lock file {}); a results "
                        "file has one writer — wait for that run, or choose another --out",
                        path, who.empty() ? "holder unknown" : who, lp));
      throw IoError(fmt::format("results file {}: cannot lock {} ({})", path, lp, std::strerror(err)));
    }
    // The previous holder may have removed the file between our open and our lock: then we
    // hold a lock on a name that no longer exists — try again.
    struct stat a {
    }, b{};
    if (::fstat(fd, &a) != 0 || ::stat(lp.c_str(), &b) != 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
      ::close(fd);
      continue;
    }
    const std::string who = holder_text();
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, who.data(), who.size(), 0) != static_cast<ssize_t>(who.size())) {
      ::close(fd);
      throw IoError(fmt::format("results file {}: cannot write its lock file {} ({})", path, lp, errno_text()));
    }
    WriterLock lock;
    lock.fd_ = fd;
    lock.path_ = lp;
    return lock;
  }
  throw IoError(fmt::format("results file {}: cannot take the lock {} (it keeps changing)", path, lp));
}

void WriterLock::release() noexcept {
  if (fd_ < 0) return;
  ::unlink(path_.c_str());  // while still holding it: a waiting opener then retries on a fresh file
  ::close(fd_);
  fd_ = -1;
}

WriterLock::~WriterLock() {
  release();
}

WriterLock::WriterLock(WriterLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)), path_(std::move(o.path_)) {}

WriterLock& WriterLock::operator=(WriterLock&& o) noexcept {
  if (this != &o) {
    release();
    fd_ = std::exchange(o.fd_, -1);
    path_ = std::move(o.path_);
  }
  return *this;
}

}  // namespace invsweep
