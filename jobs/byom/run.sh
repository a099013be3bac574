#!/usr/bin/env bash
# Bring your own model: a model trained in PyTorch, imported as an invsweep oracle, inverted.
#
#   jobs/byom/run.sh [WORKDIR]        (default WORKDIR: jobs/byom/out)
#
# 1. make_model.py trains a small torch.nn.Sequential on scaled data (scikit-learn
#    StandardScalers), saves it with torch.save and exports it to ONNX;
# 2. `python3 -m invsweep import-model` turns the ONNX file, the two scalers and the training
#    data's range into an oracle file, and `invsweep predict` checks it on the training data;
# 3. a sweep asks for the conditions that give 40, 60 and 80 % yield, with every feature free
#    and with the temperature fixed at 330 K; `invsweep run` solves it, `invsweep status`
#    summarises it.
# Runs $INVSWEEP, else `invsweep` on PATH, else this repository's build/release/src/invsweep;
# the Python package comes from this repository (analysis/).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mkdir -p "${1:-$here/out}" && cd "${1:-$here/out}" && pwd)
invsweep=${INVSWEEP:-$(command -v invsweep || echo "$root/build/release/src/invsweep")}
py=/usr/bin/python3

"$py" "$here/make_model.py" "$work"

PYTHONPATH="$root/analysis${PYTHONPATH:+:$PYTHONPATH}" "$py" -m invsweep import-model "$work/model.onnx" \
  --inputs temperature,pressure,time --outputs yield \
  --input-scaler "$work/x_scaler.pkl" --output-scaler "$work/y_scaler.pkl" \
  --bounds-csv "$work/train.csv" --out "$work/oracle.h5" --force
"$invsweep" predict --oracle "$work/oracle.h5" --data "$work/train.csv"

cat > "$work/sweep.toml" <<'TOML'
# Which temperature, pressure and time give 40, 60 and 80 % yield?
oracle = "oracle.h5"
output = "results.h5"
seed = 1
samples = 64
solvers = ["generator", "adjoint"]

[objective]
kind = "target"
targets = [[40.0], [60.0], [80.0]]

[generator]
steps = 600
lr = 2e-3

[adjoint]
steps = 400
lr = 2e-2

[polish]
enabled = true

[[constraints]]
name = "free"

[[constraints]]
name = "T = 330 K"
fixed = { temperature = 330.0 }
TOML

rm -f "$work/results.h5"
"$invsweep" check "$work/sweep.toml"
"$invsweep" run "$work/sweep.toml"
"$invsweep" status "$work/results.h5"
