#!/usr/bin/env bash
# The README's test command: installs the Debian packages, builds, and runs every test
# (unit, mpi, e2e, python) through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
./.ci/install-deps
./.ci/build
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ctest --preset release "$@"
