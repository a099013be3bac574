#!/usr/bin/env bash
# Effective samples per second: solver `sampler` against rejection sampling through the same
# oracle at the same band (|f(x) − t| ≤ band·|t|, uniform prior over the oracle's input box).
# Rejection draws are independent, so their ESS is the number accepted; the sampler's is
# /tasks/ess. Rejection runs a numpy forward pass of the oracle (written here from the
# documented file layout) in batches of 2^20 for up to REJECT_SECONDS per band.
#
# Usage: bench/sampler_vs_rejection.sh [ORACLE.h5] [TARGET] [BANDS...]
#   defaults: jobs/oracles/paper4.h5 (jobs/make-oracles.sh paper4), 1900, 1e-2 1e-3 1e-4
# Env: INVSWEEP (binary; default build/release/src/invsweep), SAMPLES (1000), REJECT_SECONDS (60).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${INVSWEEP:-$here/../build/release/src/invsweep}"
oracle="$(realpath "${1:-$here/../jobs/oracles/paper4.h5}")"
target="${2:-1900}"
shift $(($# > 2 ? 2 : $#))
bands=("$@")
[ ${#bands[@]} -gt 0 ] || bands=(1e-2 1e-3 1e-4)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
printf "%-8s %12s %12s %12s %12s %10s\n" band sampler_ess sampler_s sampler_ess/s reject_ess/s ratio
for band in "${bands[@]}"; do
  cat > "$work/sweep.toml" <<TOML
oracle = "$oracle"
output = "$work/r_$band.h5"
seed = 1
samples = ${SAMPLES:-1000}
replicates = 1
solvers = ["sampler"]

[objective]
kind = "target"
targets = [[$target]]

[sampler]
band = $band

[[constraints]]
name = "free"
TOML
  "$bin" run "$work/sweep.toml" --out "$work/r_$band.h5" > "$work/log_$band.txt" 2>&1
  /usr/bin/python3 - "$oracle" "$work/r_$band.h5" "$target" "$band" "${REJECT_SECONDS:-60}" <<'PY'
import sys, time
import h5py, numpy as np
oracle, results, t, band, budget = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
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
def f(x):  # x [N, n_in] → y [N]
    h = (x - im) / isc
    for w, b, a in layers:
        h = acts[a if isinstance(a, str) else a.decode()](h @ w.T + b)
    return (h * osc + om)[:, 0]
with h5py.File(results, "r") as r:
    ess, wall, status = r["tasks/ess"][0], r["tasks/wall_seconds"][0], r["tasks/status"][0]
    acc, rhat = r["tasks/acceptance"][0], r["tasks/rhat"][0]
rng = np.random.default_rng(0)
hits, t0 = 0, time.perf_counter()
while time.perf_counter() - t0 < budget:
    x = rng.uniform(lo, hi, size=(1 << 20, len(lo)))
    hits += int(np.count_nonzero(np.abs(f(x) - t) <= band * abs(t)))
secs = time.perf_counter() - t0
s_rate, r_rate = ess / wall, hits / secs
print(f"{band:<8g} {ess:12.0f} {wall:12.2f} {s_rate:12.1f} {r_rate:12.2f} {s_rate / max(r_rate, 1e-300):10.1f}"
      f"   (status {status}, acceptance {acc:.2f}, R-hat {rhat:.3f}, {hits} rejection hits in {secs:.0f} s)")
PY
done
