#!/usr/bin/env bash
# The README's test command: installs the Debian packages, builds, and runs every test through
# CTest — unit, mpi, slurm, e2e, python, and quickstart (the README's main command,
# jobs/quickstart.sh, in a fresh clone of HEAD installed into a temporary prefix: ignored
# files such as jobs/results/ are absent there, as on a newcomer's machine) on the release
# build — then the memory checks: the
# unit and MPI tests again under AddressSanitizer + UndefinedBehaviorSanitizer (preset
# sanitize) and one run under valgrind (preset debug).
#   tests/run-all.sh                  everything
#   tests/run-all.sh -L unit          only the release tests selected by these ctest options
#   INVSWEEP_SKIP_MEMCHECK=1 tests/run-all.sh    everything but the memory checks
set -euo pipefail
cd "$(dirname "$0")/.."
./.ci/install-deps
echo "== format: clang-format --dry-run --Werror over src, tests, bench (.clang-format)"
find src tests bench \( -name '*.cpp' -o -name '*.hpp' \) -print0 | xargs -0 clang-format --dry-run --Werror
./.ci/build
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ctest --preset release "$@"
if [ $# -gt 0 ] || [ "${INVSWEEP_SKIP_MEMCHECK:-0}" = 1 ]; then exit 0; fi

echo "== memory checks: sanitizers (unit, mpi), valgrind (one run)"
INVSWEEP_PRESET=sanitize ./.ci/build
ctest --preset sanitize
cmake --preset debug >/dev/null
cmake --build --preset debug -j "$(nproc)" --target invsweep
ctest --preset valgrind
