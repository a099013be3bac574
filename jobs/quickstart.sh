#!/usr/bin/env bash
# The README's main command: installs the Debian packages, builds, installs invsweep — the
# program, the Slurm scripts and the Python package — into INVSWEEP_PREFIX (default /usr/local
# as root, ~/.local otherwise), trains the paper function's oracle, runs the demo sweep
# (320 tasks) with mpirun on all local cores, then prints the results file's status and
# writes the analysis report. Everything after the installation uses the installed
# `invsweep` and `python3 -m invsweep`, as a user would from any folder.
set -euo pipefail
cd "$(dirname "$0")/.."
./.ci/install-deps
./.ci/build

if [ -n "${INVSWEEP_PREFIX:-}" ]; then prefix=$INVSWEEP_PREFIX
elif [ "$(id -u)" = 0 ]; then prefix=/usr/local
else prefix=$HOME/.local; fi
echo "== installing into $prefix"
cmake --install build/release --prefix "$prefix" | grep -v "^-- Up-to-date:" || true
[ -x "$prefix/bin/invsweep" ] || { echo "quickstart: $prefix/bin/invsweep was not installed" >&2; exit 1; }
user_path=$PATH
export PATH="$prefix/bin:$PATH"
unset INVSWEEP
# The package's directory for this prefix; a prefix Python does not search goes on PYTHONPATH.
mapfile -t site < <(/usr/bin/python3 cmake/python_site_dir.py "$prefix")
if [ "${site[1]}" = off-path ]; then export PYTHONPATH="${site[0]}${PYTHONPATH:+:$PYTHONPATH}"; fi
invsweep --version

./jobs/make-oracles.sh paper4
invsweep check jobs/demo.toml --ranks "$(nproc)"
# Running as root (containers, CI) needs OpenMPI's explicit consent.
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
# A results file left by an earlier quick start is continued, not overwritten.
mpirun -n "$(nproc)" invsweep run jobs/demo.toml --resume
invsweep status jobs/results/demo.h5 --messages 3
/usr/bin/python3 -m invsweep report jobs/results/demo.h5 -o jobs/results/demo-report
case ":$user_path:" in
  *":$prefix/bin:"*) ;;
  *) echo "note: $prefix/bin is not on your PATH; add it (export PATH=\"$prefix/bin:\$PATH\") to run invsweep anywhere" ;;
esac
if [ "${site[1]}" = off-path ]; then
  echo "note: the Python package is in ${site[0]}; add it to PYTHONPATH to use python3 -m invsweep anywhere"
fi
