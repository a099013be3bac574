#!/usr/bin/env bash
# The README's main command: installs the Debian packages, builds, trains the paper
# function's oracle, and runs the demo sweep (320 tasks) with mpirun on all local cores,
# then prints the results file's status and writes the analysis report.
set -euo pipefail
cd "$(dirname "$0")/.."
./.ci/install-deps
./.ci/build
./jobs/make-oracles.sh paper4
bin=build/release/src/invsweep
"$bin" check jobs/demo.toml --ranks "$(nproc)"
# Running as root (containers, CI) needs OpenMPI's explicit consent.
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
# A results file left by an earlier quick start is continued, not overwritten.
mpirun -n "$(nproc)" "$bin" run jobs/demo.toml --resume
"$bin" status jobs/results/demo.h5 --messages 3
/usr/bin/python3 -m analysis report jobs/results/demo.h5 -o jobs/results/demo-report
