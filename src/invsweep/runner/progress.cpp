#include "invsweep/runner/progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <string>

namespace invsweep::runner {

namespace {
std::string duration(double s) {
  if (!std::isfinite(s) || s < 0) return "--";
  const auto t = static_cast<long long>(s + 0.5);
  if (t < 60) return fmt::format("{}s", t);
  if (t < 3600) return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}h{:02}m", t / 3600, (t % 3600) / 60);
}
}  // namespace

Progress::Progress(std::int64_t total, std::int64_t sweep_total, bool quiet, double interval_seconds, std::FILE* out)
    : total_(total),
      sweep_total_(sweep_total),
      quiet_(quiet),
      tty_(::isatty(::fileno(out)) != 0),
      interval_(tty_ ? 0.25 : interval_seconds),
      out_(out),
      t0_(std::chrono::steady_clock::now()),
      last_(t0_) {}

double Progress::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
}

std::string Progress::line(const Counts& c) const {
  const double t = elapsed();
  const double rate = t > 0 ? static_cast<double>(c.finished()) / t : 0.0;
  const double eta =
      rate > 0 ? static_cast<double>(total_ - c.finished()) / rate : std::numeric_limits<double>::quiet_NaN();
  const double frac = total_ > 0 ? static_cast<double>(c.finished()) / static_cast<double>(total_) : 1.0;
  std::string bar;
  if (tty_) {
    constexpr int width = 24;
    const int fill = static_cast<int>(frac * width);
    bar = "[" + std::string(static_cast<std::size_t>(fill), '=') + (fill < width ? ">" : "") +
          std::string(static_cast<std::size_t>(std::max(0, width - fill - 1)), ' ') + "] ";
  }
  std::string skipped;
  if (sweep_total_ != total_) skipped = fmt::format(" (+{} done before)", sweep_total_ - total_);
  return fmt::format("{}{}/{} tasks{} {:5.1f}%  {:.3g} tasks/s  elapsed {}  ETA {}  diverged {}  failed {}", bar,
                     c.finished(), total_, skipped, 100.0 * frac, rate, duration(t), duration(eta), c.diverged,
                     c.failed);
}

void Progress::update(const Counts& c, bool force) {
  if (quiet_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && std::chrono::duration<double>(now - last_).count() < interval_) return;
  last_ = now;
  if (tty_) {
    fmt::print(out_, "\r{}\x1b[K", line(c));
    drawn_ = true;
  } else {
    fmt::print(out_, "progress: {}\n", line(c));
  }
  std::fflush(out_);
}

void Progress::finish(const Counts& c) {
  if (quiet_) return;
  if (tty_) {
    fmt::print(out_, "\r{}\x1b[K\n", line(c));
  } else {
    fmt::print(out_, "progress: {}\n", line(c));
  }
  std::fflush(out_);
}

}  // namespace invsweep::runner
