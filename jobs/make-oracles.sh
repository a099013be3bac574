#!/usr/bin/env bash
# Data recipe: writes the reference data sets (10,000 training rows, seed 1; 1,000 test rows,
# seed 2) to jobs/data/ and trains their oracles with default settings into jobs/oracles/,
# then reports each oracle's fit on its test set. Usage: jobs/make-oracles.sh [NAME...]
# (names: paper4 sinc multiroot; default all). Existing files are kept. Runs $INVSWEEP, else
# `invsweep` on PATH, else this repository's build (build/release/src/invsweep).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${INVSWEEP:-$(command -v invsweep || echo "$here/../build/release/src/invsweep")}"
mkdir -p "$here/data" "$here/oracles"
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(paper4 sinc multiroot)
for name in "${names[@]}"; do
  case "$name" in
    paper4) inputs=x1,x2,x3,x4 ;;
    sinc | multiroot) inputs=x ;;
    *) echo "make-oracles: unknown data set '$name' (paper4, sinc, multiroot)" >&2; exit 2 ;;
  esac
  train="$here/data/${name}_train.csv" test="$here/data/${name}_test.csv" oracle="$here/oracles/$name.h5"
  [ -f "$train" ] || "$bin" dataset "$name" --n 10000 --seed 1 -o "$train"
  [ -f "$test" ] || "$bin" dataset "$name" --n 1000 --seed 2 -o "$test"
  [ -f "$oracle" ] || "$bin" train-oracle --data "$train" --inputs "$inputs" --outputs y --out "$oracle"
  echo "== $name oracle on its 1,000 test points:"
  "$bin" predict --oracle "$oracle" --data "$test"
done
