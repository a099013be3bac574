#!/usr/bin/env bash
# Effective samples per second: solver `sampler` against rejection sampling through the same
# oracle at the same band (every output within band·|t| of its target, uniform prior over the
# oracle's input box). Rejection draws are independent, so their ESS is the number accepted;
# the sampler's is /tasks/ess over its task time (/tasks/wall_seconds). Two rejection peers:
# bench/rejection_bench (the project's own batched float32 forward pass, the fast and honest
# one) and numpy (float64, 2^20 draws per batch: what a Python user writes).
#
# Cases: the paper function (jobs/oracles/paper4.h5, made by jobs/make-oracles.sh paper4 when
# missing; target 1900) and the robotic arm of the Neural-Adjoint benchmark (4 → 2, an oracle
# trained here from 10,000 rows; target (1.5, 0.5)), each at bands 1e-2 … 1e-5 and 0 (the
# level set, which rejection never hits), for SAMPLES vectors per task.
#
# Usage: bench/sampler_vs_rejection.sh
# Env: BUILD (default build/bench; configured with INVSWEEP_BUILD_BENCH=ON when missing),
#      SAMPLES (default "1000 10000"), REJECT_SECONDS (default 10), BANDS (default "1e-2 1e-3 1e-4 1e-5 0").
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/.."
build="${BUILD:-$root/build/bench}"
if [ ! -x "$build/bench/rejection_bench" ] || [ ! -x "$build/src/invsweep" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DINVSWEEP_BUILD_BENCH=ON >/dev/null
  cmake --build "$build" -j "$(nproc)" --target invsweep rejection_bench >/dev/null
fi
bin="$build/src/invsweep"
peer="$build/bench/rejection_bench"
py=/usr/bin/python3
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
paper="$root/jobs/oracles/paper4.h5"
[ -f "$paper" ] || INVSWEEP="$bin" "$root/jobs/make-oracles.sh" paper4 >/dev/null
"$py" - "$work" <<'PY'
import sys, numpy as np
rng = np.random.default_rng(1)
lo, hi = np.array([-0.5, -1, -1, -1]), np.array([0.5, 1, 1, 1])
x = rng.uniform(lo, hi, size=(10000, 4))
c = np.cumsum(x[:, 1:], axis=1)
seg = np.array([0.5, 0.5, 1.0])
y = np.column_stack([(seg * np.cos(c)).sum(1), x[:, 0] + (seg * np.sin(c)).sum(1)])
np.savetxt(f"{sys.argv[1]}/arm.csv", np.column_stack([x, y]), delimiter=",", header="x1,x2,x3,x4,y1,y2", comments="")
PY
"$bin" train-oracle --data "$work/arm.csv" --inputs x1,x2,x3,x4 --outputs y1,y2 --out "$work/arm.h5" --quiet >/dev/null

echo "sampler vs rejection: $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-6s %-7s %7s %8s %8s %10s %12s %12s %9s %9s\n" case band samples ess seconds sampler/s reject_c++/s reject_np/s ratio_c++ ratio_np
for case in paper4 arm; do
  if [ "$case" = paper4 ]; then oracle="$paper" target="[1900.0]" targets=1900; else oracle="$work/arm.h5" target="[1.5, 0.5]" targets=1.5,0.5; fi
  for band in ${BANDS:-1e-2 1e-3 1e-4 1e-5 0}; do
    if [ "$band" = 0 ]; then c_rate=0 np_rate=0; else
      c_rate=$("$peer" "$oracle" "$targets" "$band" "${REJECT_SECONDS:-10}" | sed -n 's/^hits_per_second=//p')
      np_rate=$("$py" - "$oracle" "$targets" "$band" "${REJECT_SECONDS:-10}" <<'PY'
import sys, time
import h5py, numpy as np
oracle, t, band, budget = sys.argv[1], np.array([float(v) for v in sys.argv[2].split(",")]), float(sys.argv[3]), float(sys.argv[4])
acts = {"identity": lambda v: v, "relu": lambda v: np.maximum(v, 0), "tanh": np.tanh,
        "sigmoid": lambda v: 1 / (1 + np.exp(-v)), "softplus": lambda v: np.logaddexp(0, v),
        "silu": lambda v: v / (1 + np.exp(-v))}
with h5py.File(oracle, "r") as f:
    o = f["oracle"]
    layers = [(o[f"layers/{i}/weight"][()], o[f"layers/{i}/bias"][()], o[f"layers/{i}"].attrs["activation"])
              for i in range(len(o["layers"]))]
    im, isc = o["input_scaler/mean"][()], o["input_scaler/scale"][()]
    om, osc = o["output_scaler/mean"][()], o["output_scaler/scale"][()]
    lo, hi = o["input_bounds/lo"][()], o["input_bounds/hi"][()]
rng = np.random.default_rng(0)
hits, t0 = 0, time.perf_counter()
while time.perf_counter() - t0 < budget:
    h = (rng.uniform(lo, hi, size=(1 << 20, len(lo))) - im) / isc
    for w, b, a in layers:
        h = acts[a if isinstance(a, str) else a.decode()](h @ w.T + b)
    hits += int(np.count_nonzero(np.all(np.abs(h * osc + om - t) <= band * np.abs(t), axis=1)))
print(hits / (time.perf_counter() - t0))
PY
)
    fi
    for samples in ${SAMPLES:-1000 10000}; do
      cat > "$work/sweep.toml" <<TOML
oracle = "$oracle"
output = "$work/r.h5"
seed = 1
samples = $samples
solvers = ["sampler"]

[objective]
kind = "target"
targets = [$target]

[sampler]
band = $band

[[constraints]]
name = "free"
TOML
      rm -f "$work/r.h5"
      "$bin" run "$work/sweep.toml" > "$work/log.txt" 2>&1
      REJECT_SECONDS="${REJECT_SECONDS:-10}" "$py" - "$work/r.h5" "$case" "$band" "$samples" "$c_rate" "$np_rate" <<'PY'
import sys, h5py
path, case, band, samples, c_rate, np_rate = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
with h5py.File(path, "r") as r:
    ess, wall, status = r["tasks/ess"][0], r["tasks/wall_seconds"][0], r["tasks/status"][0]
rate = ess / wall
budget = float(__import__("os").environ.get("REJECT_SECONDS", "10"))
# No rejection hit in the budget: its rate is below one per budget, the ratio above rate·budget.
ratio = lambda peer: f"{rate / peer:9.1f}" if peer > 0 else (f"{'>' + format(rate * budget, '.0f'):>9}" if band != "0" else f"{'inf':>9}")
print(f"{case:<6} {band:<7} {samples:7d} {ess:8.0f} {wall:8.3f} {rate:10.0f} {c_rate:12.1f} {np_rate:12.1f} {ratio(c_rate)} {ratio(np_rate)}"
      + ("" if status == 1 else f"   (status {status})"))
PY
    done
  done
done
