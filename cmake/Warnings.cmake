# One INTERFACE target carries the project's warning flags and the compile options that
# every project target shares (instruction set, sanitizers).
add_library(invsweep_warnings INTERFACE)
target_compile_options(invsweep_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wconversion -Wsign-conversion -Wnull-dereference -Wdouble-promotion
  -Wformat=2 -Wimplicit-fallthrough)

add_library(invsweep_options INTERFACE)
if(INVSWEEP_NATIVE)
  target_compile_options(invsweep_options INTERFACE -march=native)
endif()
if(INVSWEEP_SANITIZE)
  target_compile_options(invsweep_options INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(invsweep_options INTERFACE -fsanitize=address,undefined)
endif()
# Eigen runs single-threaded inside a rank (parallelism is MPI's job), and never
# allocates silently in the hot loops without us knowing in debug builds.
# GEMM blocking buffers up to this size live on the stack, so that a training step of the
# benchmark shapes (256-wide layers, batch 1024) never touches the heap.
target_compile_definitions(invsweep_options INTERFACE EIGEN_DONT_PARALLELIZE OMPI_SKIP_MPICXX
  EIGEN_STACK_ALLOCATION_LIMIT=2097152)

# The flags a build was made with, printed by `invsweep --version` and the benchmarks.
string(TOUPPER "${CMAKE_BUILD_TYPE}" _bt)
set(INVSWEEP_BUILD_FLAGS "${CMAKE_CXX_FLAGS} ${CMAKE_CXX_FLAGS_${_bt}}")
if(INVSWEEP_NATIVE)
  string(APPEND INVSWEEP_BUILD_FLAGS " -march=native")
endif()
if(INVSWEEP_SANITIZE)
  string(APPEND INVSWEEP_BUILD_FLAGS " -fsanitize=address,undefined")
endif()
string(STRIP "${INVSWEEP_BUILD_FLAGS}" INVSWEEP_BUILD_FLAGS)

# Third-party headers (Eigen, HDF5, MPI, fmt, toml++, CLI11, GoogleTest) come in as system
# headers (-isystem: imported targets, and SYSTEM for HDF5's plain include path), so the
# warnings above apply to the project's code only. Two false positives that GCC 12 reports
# inside its own headers need one more step:
# see cmake/gcc12_quiet.hpp.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(invsweep_options INTERFACE
    "SHELL:-include ${CMAKE_CURRENT_LIST_DIR}/gcc12_quiet.hpp")
endif()
