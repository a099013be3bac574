#!/usr/bin/env bash
# How well `invsweep check` predicts a sweep's run time: for the demo (jobs/demo.toml), the
# 20,000-task sweep (bench/report_scale.toml) and a sampler sweep (bench/check_sampler.toml),
# runs `check --ranks N` and the sweep on N ranks, REPEATS times interleaved, and prints the
# medians: the estimate with its range, the runner's own time ("N tasks in T s", what check
# estimates) and the wall time of the whole mpirun command, and the estimate's error against
# the runner's time. Goal: within ±30 % on a quiet machine. A benchmark, not a test: it fails
# only if a command fails.
# Usage: bench/check_accuracy.sh        (environment: RANKS=2, REPEATS=3, INVSWEEP=binary)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${INVSWEEP:-$root/build/release/src/invsweep}"
ranks="${RANKS:-2}"
repeats="${REPEATS:-3}"
[ -f "$root/jobs/oracles/paper4.h5" ] || INVSWEEP="$bin" "$root/jobs/make-oracles.sh" paper4 >/dev/null
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export OMPI_MCA_btl=self,vader OMPI_MCA_pml=ob1
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

to_seconds() {  # "27 ms" / "3.4 s" / "1.2 min" / "0.5 h" -> seconds
  awk -v v="$1" -v u="$2" 'BEGIN { m = (u == "ms") ? 0.001 : (u == "min") ? 60 : (u == "h") ? 3600 : 1; printf "%.4f", v * m }'
}
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "invsweep $("$bin" --version | sed 's/^invsweep //'), $(nproc) cores, $ranks ranks, $repeats repeats, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-22s %10s %21s %10s %10s %8s\n' sweep estimate "range" runner wall error
for name in demo report_scale check_sampler; do
  case "$name" in
    demo) src="$root/jobs/demo.toml" ;;
    *) src="$root/bench/$name.toml" ;;
  esac
  sed "s|^oracle = .*|oracle = \"$root/jobs/oracles/paper4.h5\"|" "$src" >"$work/$name.toml"
  : >"$work/est" && : >"$work/lo" && : >"$work/hi" && : >"$work/runner" && : >"$work/wall"
  for ((r = 0; r < repeats; r++)); do
    line="$("$bin" check "$work/$name.toml" --ranks "$ranks" --out "$work/$name.h5" | grep 'run time')"
    read -r v u lv lu hv hu <<<"$(sed -E 's/.*about ([0-9.]+) (\S+) on .*\(([0-9.]+) (\S+) – ([0-9.]+) (\S+):.*/\1 \2 \3 \4 \5 \6/' <<<"$line")"
    to_seconds "$v" "$u" >>"$work/est"; echo >>"$work/est"
    to_seconds "$lv" "$lu" >>"$work/lo"; echo >>"$work/lo"
    to_seconds "$hv" "$hu" >>"$work/hi"; echo >>"$work/hi"
    rm -f "$work/$name.h5"
    start=$(date +%s.%N)
    # Diverged tasks exit 1 (the sampler's hardest targets may); the file is complete either way.
    mpirun -n "$ranks" "$bin" run "$work/$name.toml" --out "$work/$name.h5" --progress-every 1000000 \
      >/dev/null 2>"$work/run.log" || grep -q 'diverged' "$work/run.log" || { cat "$work/run.log"; exit 1; }
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.4f\n", b - a }' >>"$work/wall"
    sed -n 's/.* tasks in \([0-9.]*\) s on .*/\1/p' "$work/run.log" >>"$work/runner"
  done
  e=$(median <"$work/est") lo=$(median <"$work/lo") hi=$(median <"$work/hi")
  t=$(median <"$work/runner") w=$(median <"$work/wall")
  awk -v n="$name" -v e="$e" -v lo="$lo" -v hi="$hi" -v t="$t" -v w="$w" \
    'BEGIN { printf "%-22s %8.2f s %8.2f – %6.2f s %8.2f s %8.2f s %+7.0f %%\n", n, e, lo, hi, t, w, 100 * (e - t) / t }'
done
echo "load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
