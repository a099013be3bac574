#include "invsweep/runner/shared.hpp"

namespace invsweep::runner {

SharedCounters::SharedCounters() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  const MPI_Aint size = rank == 0 ? kSlots * static_cast<MPI_Aint>(sizeof(std::int64_t)) : 0;
  // Every rank on one node: a shared-memory window, whose atomics each rank performs itself.
  // Otherwise the library picks its one-sided transport (network atomics, or messages that
  // rank 0 serves whenever it enters MPI: see the runner's heartbeat). OpenMPI picks the
  // message-based one for MPI_Win_allocate even on one node, where it made a task fetch wait
  // for rank 0's next time slice when ranks outnumber cores.
  MPI_Comm node = MPI_COMM_NULL;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  int on_node = 0, world = 0;
  MPI_Comm_size(node, &on_node);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  MPI_Comm_free(&node);
  if (on_node == world)
    MPI_Win_allocate_shared(size, sizeof(std::int64_t), MPI_INFO_NULL, MPI_COMM_WORLD, &base_, &win_);
  else
    MPI_Win_allocate(size, sizeof(std::int64_t), MPI_INFO_NULL, MPI_COMM_WORLD, &base_, &win_);
  if (rank == 0)
    for (int i = 0; i < kSlots; ++i)
      base_[i] = 0;
  MPI_Barrier(MPI_COMM_WORLD);
  MPI_Win_lock_all(MPI_MODE_NOCHECK, win_);
}

SharedCounters::~SharedCounters() {
  MPI_Win_unlock_all(win_);
  MPI_Win_free(&win_);
}

std::int64_t SharedCounters::add(Slot slot, std::int64_t v) {
  std::int64_t old = 0;
  MPI_Fetch_and_op(&v, &old, MPI_INT64_T, 0, slot, MPI_SUM, win_);
  MPI_Win_flush(0, win_);
  return old;
}

void SharedCounters::set_bits(Slot slot, std::int64_t bits) {
  std::int64_t old = 0;
  MPI_Fetch_and_op(&bits, &old, MPI_INT64_T, 0, slot, MPI_BOR, win_);
  MPI_Win_flush(0, win_);
}

std::int64_t SharedCounters::get(Slot slot) {
  std::int64_t v = 0, dummy = 0;
  MPI_Fetch_and_op(&dummy, &v, MPI_INT64_T, 0, slot, MPI_NO_OP, win_);
  MPI_Win_flush(0, win_);
  return v;
}

}  // namespace invsweep::runner
