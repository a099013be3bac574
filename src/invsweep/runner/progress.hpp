#pragma once
// Progress of a sweep on rank 0: tasks done / total, rate, ETA and failures. On a terminal a
// live bar redrawn in place; otherwise (Slurm logs, pipes) a plain line every few seconds.
#include <chrono>
#include <cstdint>
#include <cstdio>

namespace invsweep::runner {

struct Counts {
  std::int64_t done = 0, diverged = 0, failed = 0;
  std::int64_t finished() const { return done + diverged + failed; }
};

class Progress {
 public:
  /// `total` tasks to run in this job (pending ones), out of `sweep_total` in the sweep.
  Progress(std::int64_t total, std::int64_t sweep_total, bool quiet, double interval_seconds, std::FILE* out = stderr);
  /// Redraws if the interval has passed (or always with `force`).
  void update(const Counts& c, bool force = false);
  /// The final line (ends the live bar).
  void finish(const Counts& c);
  double elapsed() const;

 private:
  std::string line(const Counts& c) const;
  std::int64_t total_, sweep_total_;
  bool quiet_, tty_;
  double interval_;
  std::FILE* out_;
  std::chrono::steady_clock::time_point t0_, last_;
  bool drawn_ = false;
};

}  // namespace invsweep::runner
