#!/usr/bin/env bash
# The analysis report at scale: runs bench/report_scale.toml (20,000 tasks: 50 targets × 4
# settings × 2 solvers × 50 replicates, 16 samples, 30 steps) on 2 ranks, builds a 10⁵-task
# file from it (each task row repeated five times, so the report sees 5× the tasks and vectors),
# and times `python3 -m invsweep report` on both with /usr/bin/time -v (wall time, peak RSS);
# then the demo sweep (jobs/demo.toml) against its own report. A benchmark, not a test: it
# prints figures and fails only if a run fails. Goals: 20,000 tasks ≤ 60 s and ≤ 1 GB,
# 10⁵ tasks ≤ 2 min and ≤ 2 GB, the demo's report no slower than the demo sweep.
# Usage: bench/report_scale.sh [REPORT OPTIONS...]   (e.g. --jobs 1, --quick)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${INVSWEEP:-$root/build/release/src/invsweep}"
py="${PYTHON:-/usr/bin/python3}"
[ -f "$root/jobs/oracles/paper4.h5" ] || INVSWEEP="$bin" "$root/jobs/make-oracles.sh" paper4 >/dev/null
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export OMPI_MCA_btl=self,vader OMPI_MCA_pml=ob1 PYTHONPATH="$root/analysis${PYTHONPATH:+:$PYTHONPATH}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
ranks="${RANKS:-2}"

wall() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
sweep() {  # sweep TOML OUT -> prints wall seconds
  local start end
  start=$(date +%s.%N)
  mpirun -n "$ranks" "$bin" run "$1" --out "$2" --progress-every 1000000 2>"$work/sweep.log" >/dev/null
  end=$(date +%s.%N)
  wall "$start" "$end"
}
report() {  # report LABEL FILE [OPTIONS] -> prints wall time and peak RSS
  local label="$1" file="$2"
  shift 2
  /usr/bin/time -v "$py" -m invsweep report "$file" -o "$work/report-$label" --quiet "$@" \
    >/dev/null 2>"$work/time-$label.log"
  local secs rss
  secs=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$work/time-$label.log" |
         awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.1f", s }')
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time-$label.log")
  printf '%-10s report: wall %6.1f s  peak RSS %5d MB  %d files\n' "$label" "$secs" "$((rss / 1024))" \
    "$(ls "$work/report-$label" | wc -l)"
}

echo "invsweep $("$bin" --version | sed 's/^invsweep //'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
sed "s|^oracle = .*|oracle = \"$root/jobs/oracles/paper4.h5\"|" "$root/bench/report_scale.toml" >"$work/scale.toml"
echo "20,000-task sweep: $(sweep "$work/scale.toml" "$work/s20k.h5") s on $ranks ranks, $(du -m "$work/s20k.h5" | cut -f1) MB"
"$py" - "$work/s20k.h5" "$work/s100k.h5" 5 <<'PY'
# Repeat every task row k times: a file of k× the tasks with the same layout and settings.
import sys, h5py, numpy as np
src, dst, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
with h5py.File(src, "r") as f, h5py.File(dst, "w") as g:
    n = int(f.attrs["n_tasks"])
    for name, v in f.attrs.items():
        g.attrs[name] = v
    g.attrs["n_tasks"] = n * k
    def copy(name, obj):
        if isinstance(obj, h5py.Group):
            g.require_group(name)
            for a, v in obj.attrs.items():
                g[name].attrs[a] = v
        elif obj.shape and obj.shape[0] == n and (name.startswith("tasks/") or "/" not in name) and name != "loss_step":
            g.create_dataset(name, data=np.concatenate([obj[()]] * k), chunks=True)
        else:
            f.copy(obj, g, name=name)
    f.visititems(copy)
PY
echo "10⁵-task file: $(du -m "$work/s100k.h5" | cut -f1) MB"
report 20k "$work/s20k.h5" "$@"
report 100k "$work/s100k.h5" "$@"
sed "s|^oracle = .*|oracle = \"$root/jobs/oracles/paper4.h5\"|" "$root/jobs/demo.toml" >"$work/demo.toml"
echo "demo sweep: $(sweep "$work/demo.toml" "$work/demo.h5") s on $ranks ranks"
report demo "$work/demo.h5" "$@"
