#pragma once
// What h5.cpp and h5_dataset.cpp share and nothing else uses.
#include <cstdint>
#include <span>

#include "invsweep/h5/h5.hpp"

namespace invsweep::h5::detail {

/// Row write calls of this process (row_write_calls() reads it).
extern std::uint64_t g_row_write_calls;
/// A simple dataspace of shape `dims`.
Handle simple_space(std::span<const hsize_t> dims);

}  // namespace invsweep::h5::detail
