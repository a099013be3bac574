#!/usr/bin/env bash
# The benchmark suite, one command: builds what it needs, then measures in the same run
#   1. generator training steps/s, invsweep (inverse::solve on one core) against the same
#      training in PyTorch (bench/peer_torch.py, one thread, float32) — tiny, small, large;
#   2. GFLOP/s of those steps (FLOPs counted from the shapes) against a large single-threaded
#      Eigen float32 matrix product;
#   3. sweep throughput at 1 and 2 ranks on jobs/demo.toml (bench/sweep_scaling.sh);
#   4. peak RSS per rank of a sweep of large-case tasks at 2 ranks.
# Everything that is compared is measured interleaved, REPEATS times; medians are printed.
# A benchmark, not a test: it fails only if a build or a run fails.
#
# Usage: bench/run.sh            (environment: BUILD=dir, default build/bench; REPEATS=3;
#                                 CORE=1, the core the single-core runs are pinned to;
#                                 LARGE_STEPS=50; PEER_OPENBLAS=1 also runs the peer on
#                                 OpenBLAS, unpacked from Debian's package into BUILD;
#                                 SWEEPS=1 runs parts 3 and 4, 0 skips them)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD:-$root/build/bench}"
repeats="${REPEATS:-3}"
core="${CORE:-1}"
large_steps="${LARGE_STEPS:-50}"
py=/usr/bin/python3

echo "== build ($build)"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DINVSWEEP_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j2 --target invsweep_bench invsweep >/dev/null
bench="$build/bench/invsweep_bench"
"$bench" flags
echo "host: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
$py -c 'import torch; print(f"peer: PyTorch {torch.__version__}, one thread, float32")'

# The peer's matrix products go through libblas.so.3. Debian's python3-torch links it, and the
# alternative installed here by default is the reference (netlib) BLAS; OpenBLAS is what a
# user who cares installs. Both are measured; OpenBLAS is unpacked into the build directory
# (no system change) when apt can fetch it.
openblas="$build/peer-openblas/usr/lib/x86_64-linux-gnu/openblas-pthread"
peers=(ref)
if [ "${PEER_OPENBLAS:-1}" = 1 ]; then
  if [ ! -f "$openblas/libblas.so.3" ]; then
    tmp="$(mktemp -d)"
    if (cd "$tmp" && apt-get download libopenblas0-pthread >/dev/null 2>&1); then
      dpkg -x "$tmp"/libopenblas0-pthread_*.deb "$build/peer-openblas"
    fi
    rm -rf "$tmp"
  fi
  if [ -f "$openblas/libblas.so.3" ]; then peers+=(openblas); else echo "(OpenBLAS peer skipped: apt-get download failed)"; fi
fi
echo "peer BLAS: ref = $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3)${openblas:+; openblas = $openblas}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
runs="$work/runs.txt"
: >"$runs"
steps_of() { if [ "$1" = large ]; then echo "$large_steps"; else echo 2000; fi; }
run_invsweep() { echo "side=invsweep $(taskset -c "$core" "$bench" train "$1" "$(steps_of "$1")")" >>"$runs"; }
run_peer() {
  local env=(OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1)
  [ "$2" = openblas ] && env+=(LD_LIBRARY_PATH="$openblas")
  echo "side=torch-$2 $(env "${env[@]}" taskset -c "$core" $py "$root/bench/peer_torch.py" "$1" "$(steps_of "$1")")" >>"$runs"
}

echo "== training speed and GEMM, $repeats interleaved repeats on core $core"
for r in $(seq 1 "$repeats"); do
  echo "side=gemm $(taskset -c "$core" "$bench" gemm 2048 5)" >>"$runs"
  for c in tiny small large; do
    if [ $((r % 2)) = 1 ]; then
      run_invsweep "$c"
      for p in "${peers[@]}"; do run_peer "$c" "$p"; done
    else
      for p in "${peers[@]}"; do run_peer "$c" "$p"; done
      run_invsweep "$c"
    fi
  done
  echo "  repeat $r done (load $(cut -d' ' -f1 /proc/loadavg))"
done
$py "$root/bench/summarize.py" "$runs"

if [ "${SWEEPS:-1}" = 1 ]; then
  echo "== sweeps: jobs/demo.toml at 1 and 2 ranks, $repeats repeats"
  sweeps="$work/sweeps.txt"
  for r in $(seq 1 "$repeats"); do
    INVSWEEP="$build/src/invsweep" "$root/bench/sweep_scaling.sh" 1 2 | tee -a "$sweeps" | sed 's/^/  /'
  done
  $py "$root/bench/summarize.py" --sweeps "$sweeps"

  echo "== memory: a sweep of large-case tasks (batch 1024, generator 32-256-256-16, oracle 16-256-256-256-4) at 2 ranks"
  "$bench" oracle large "$work/large.h5"
  cat >"$work/large.toml" <<EOF
oracle = "large.h5"
output = "large-results.h5"
seed = 1
samples = 1024
replicates = 2
solvers = ["generator"]
[objective]
kind = "target"
targets = [[0.3, 0.3, 0.3, 0.3]]
[generator]
latent = 32
hidden = [256, 256]
steps = $large_steps
EOF
  if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
  OMPI_MCA_btl=self,vader OMPI_MCA_pml=ob1 mpirun -n 2 --bind-to core \
    /usr/bin/time -f "  rank peak RSS: %M KiB" "$build/src/invsweep" run "$work/large.toml" --progress-every 1000 2>&1 |
    grep -E 'peak RSS|tasks in'
fi
