#!/usr/bin/env bash
# Sweep throughput at 1 and 2 ranks on the demo sweep (jobs/demo.toml, 320 tasks), each rank
# pinned to a core: tasks/s, the speed-up of 2 ranks over 1, and the shares of rank time
# spent writing HDF5, scheduling and waiting, as the runner reports them. A benchmark, not a test:
# it prints figures and fails only if a run fails. Usage: bench/sweep_scaling.sh [RANKS...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${INVSWEEP:-$root/build/release/src/invsweep}"
[ -f "$root/jobs/oracles/paper4.h5" ] || INVSWEEP="$bin" "$root/jobs/make-oracles.sh" paper4 >/dev/null
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export OMPI_MCA_btl=self,vader OMPI_MCA_pml=ob1
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
ranks=("$@")
[ ${#ranks[@]} -gt 0 ] || ranks=(1 2)
echo "invsweep $("$bin" --version | sed 's/^invsweep //')"
echo "demo sweep: $("$bin" check "$root/jobs/demo.toml" --no-calibration | sed -n 's/^  tasks *//p')"
declare -A rate
for n in "${ranks[@]}"; do
  log="$work/np$n.log"
  start=$(date +%s.%N)
  mpirun -n "$n" --bind-to core "$bin" run "$root/jobs/demo.toml" --out "$work/np$n.h5" --progress-every 1000 2>"$log"
  end=$(date +%s.%N)
  tasks=$(sed -n 's/^invsweep: \([0-9]*\) tasks in.*/\1/p' "$log")
  rate[$n]=$(awk -v t="$tasks" -v a="$start" -v b="$end" 'BEGIN { print t / (b - a) }')
  printf '%d rank(s): %.1f tasks/s (wall %.2f s incl. start-up)\n' "$n" "${rate[$n]}" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')"
  sed -n 's/^invsweep: [0-9]* tasks in /  runner: /p' "$log"
done
if [ -n "${rate[1]:-}" ] && [ -n "${rate[2]:-}" ]; then
  awk -v a="${rate[1]}" -v b="${rate[2]}" \
    'BEGIN { printf "speed-up 2 ranks / 1 rank: %.2fx (parallel efficiency %.0f %%)\n", b / a, 50 * b / a }'
fi
