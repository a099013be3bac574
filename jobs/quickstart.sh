#!/usr/bin/env bash
# The README's main command: installs the Debian packages, builds, and runs the default job
# (the paper's data set and its oracle, with its validation and test metrics).
set -euo pipefail
cd "$(dirname "$0")/.."
./.ci/install-deps
./.ci/build
./jobs/make-oracles.sh paper4
