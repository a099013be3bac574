#pragma once
// Scheduling without a master: counters in a window on rank 0 that every rank updates with
// MPI-3 passive-target atomics (MPI_Fetch_and_op). The next task, the finished counts and
// the stop flags a signal on any rank raises.
#include <mpi.h>

#include <cstdint>

#include "invsweep/runner/progress.hpp"

namespace invsweep::runner {

enum Slot : int { kNext = 0, kDone = 1, kDiverged = 2, kFailed = 3, kStop = 4, kSlots = 5 };
/// Bits of the kStop slot, set by whichever rank received the signal.
inline constexpr std::int64_t kStopNow = 1, kDrain = 2;

class SharedCounters {
 public:
  /// COLLECTIVE over MPI_COMM_WORLD (creation and destruction).
  SharedCounters();
  ~SharedCounters();
  SharedCounters(const SharedCounters&) = delete;
  SharedCounters& operator=(const SharedCounters&) = delete;

  /// Adds v to `slot` and returns the value before (atomic).
  std::int64_t add(Slot slot, std::int64_t v);
  void set_bits(Slot slot, std::int64_t bits);
  std::int64_t get(Slot slot);
  Counts counts() { return {get(kDone), get(kDiverged), get(kFailed)}; }

 private:
  std::int64_t* base_ = nullptr;
  MPI_Win win_ = MPI_WIN_NULL;
};

}  // namespace invsweep::runner
