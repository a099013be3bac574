#!/usr/bin/env bash
# Before/after of an optimisation: builds two commits (from `git archive`, into
# build/compare/<commit>) and runs them interleaved on one core, ROUNDS times: generator
# training steps/s of the tiny, small and large cases (invsweep_bench) and the demo sweep on
# one rank (tasks/s). Prints medians and the ratio new/old. Both commits must contain bench/
# (5775f30 or later). A benchmark, not a test.
#
# Usage: bench/compare.sh OLD NEW [ROUNDS]     (ROUNDS default 5; CORE=1; SWEEP=0 skips the sweep)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
[ $# -ge 2 ] || { echo "usage: bench/compare.sh OLD NEW [ROUNDS]" >&2; exit 2; }
rounds="${3:-5}"
core="${CORE:-1}"
declare -A dir
for side in old new; do
  rev="$1"
  [ "$side" = new ] && rev="$2"
  sha="$(git -C "$root" rev-parse --short "$rev")"
  d="$root/build/compare/$sha"
  if [ ! -x "$d/build/bench/invsweep_bench" ]; then
    rm -rf "$d/src" && mkdir -p "$d/src"
    git -C "$root" archive "$sha" | tar -x -C "$d/src"
    cmake -S "$d/src" -B "$d/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DINVSWEEP_BUILD_BENCH=ON \
      -DINVSWEEP_BUILD_TESTS=OFF >/dev/null
    cmake --build "$d/build" -j2 --target invsweep_bench invsweep >/dev/null
  fi
  dir[$side]="$d/build"
  echo "$side: $rev ($sha), $("$d/build/bench/invsweep_bench" flags | sed 's/ build_type.*//')"
done
[ -f "$root/jobs/oracles/paper4.h5" ] || INVSWEEP="${dir[new]}/src/invsweep" "$root/jobs/make-oracles.sh" paper4 >/dev/null
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for r in $(seq 1 "$rounds"); do
  for c in tiny small large; do
    steps=2000
    [ "$c" = large ] && steps=50
    for side in old new; do
      rate=$(taskset -c "$core" "${dir[$side]}/bench/invsweep_bench" train "$c" "$steps" | sed 's/.*steps_per_s=\([0-9.]*\).*/\1/')
      echo "$side $c $rate" >>"$work/runs"
    done
  done
  if [ "${SWEEP:-1}" = 1 ]; then
    for side in old new; do
      rm -f "$work/demo.h5"
      start=$(date +%s.%N)
      taskset -c "$core" "${dir[$side]}/src/invsweep" run "$root/jobs/demo.toml" --out "$work/demo.h5" --quiet
      end=$(date +%s.%N)
      echo "$side sweep $(awk -v a="$start" -v b="$end" 'BEGIN { print 320 / (b - a) }')" >>"$work/runs"
    done
  fi
done
/usr/bin/python3 - "$work/runs" <<'EOF'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    side, case, rate = line.split()
    runs[(side, case)].append(float(rate))
for case, unit in (("tiny", "steps/s"), ("small", "steps/s"), ("large", "steps/s"), ("sweep", "tasks/s (demo, 1 rank)")):
    if ("old", case) not in runs:
        continue
    a, b = statistics.median(runs[("old", case)]), statistics.median(runs[("new", case)])
    print(f"{case:6} old {a:10.1f}  new {b:10.1f}  new/old {b / a:5.2f}x  {unit}")
EOF
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
