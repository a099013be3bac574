#!/usr/bin/env bash
# Proven maxima of ReLU networks: invsweep's branch and bound (bench/certify_bench.cpp) against
# the big-M MILP solved by Debian's cbc (bench/relu_milp.py), both to a relative gap of 1e-4
# (absolute 1e-4·max(1, |optimum|) handed to cbc). Cases: random 1-30-30-1 and 4-64-64-1 ReLU
# networks on [−1, 1]^n, a ReLU 4-64-64-1 oracle trained on the paper4 data, and the tanh
# 4-64-64-1 paper oracle (branch and bound only: no MILP encodes tanh), the latter two over
# experiment 3's box (x4 = 100, x1..x3 in [0, 100]). Prints one line per case and the ratios.
#
#   bench/certify_vs_cbc.sh [BUILD_DIR]     (default build/release; needs coinor-cbc)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build/release}
LIMIT=${CERTIFY_BENCH_SECONDS:-600}  # wall seconds per solver and case
command -v cbc >/dev/null || { echo "certify_vs_cbc: cbc not found (apt-get install coinor-cbc)" >&2; exit 2; }
cmake "$BUILD" -DINVSWEEP_BUILD_BENCH=ON >/dev/null
nice -n 10 cmake --build "$BUILD" --target certify_bench invsweep -j2 >/dev/null
BENCH=$BUILD/bench/certify_bench
INVSWEEP=$BUILD/src/invsweep
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

"$BENCH" random "$WORK/r1.h5" 1,30,30,1 1
"$BENCH" random "$WORK/r4.h5" 4,64,64,1 2
# The paper4 oracles: the tests' cached ones when there (tests/e2e/test_certify.py trains the
# same recipe), else trained here: 10,000 rows, seed 1, 64-64, relu resp. tanh.
CACHE=${INVSWEEP_TEST_ORACLES:-$BUILD/test-oracles}
if [ -f "$CACHE/paper4_relu.h5" ] && [ -f "$CACHE/paper4.h5" ]; then
  cp "$CACHE/paper4_relu.h5" "$WORK/paper4_relu.h5"
  cp "$CACHE/paper4.h5" "$WORK/paper4_tanh.h5"
else
  "$INVSWEEP" dataset paper4 --n 10000 --seed 1 -o "$WORK/paper4.csv" >/dev/null
  "$INVSWEEP" train-oracle --data "$WORK/paper4.csv" --inputs x1,x2,x3,x4 --outputs y --activation relu --quiet \
    --out "$WORK/paper4_relu.h5"
  "$INVSWEEP" train-oracle --data "$WORK/paper4.csv" --inputs x1,x2,x3,x4 --outputs y --quiet \
    --out "$WORK/paper4_tanh.h5"
fi

value() { sed -n "s/^$1=//p"; }
printf '%-28s %14s %14s %9s %9s %14s %9s %8s\n' case bnb_lo bnb_hi bnb_s boxes cbc_opt cbc_s cbc/bnb
run_case() {  # name oracle lo hi milp(0/1)
  local out lo hi s boxes gap cbc opt cs
  out=$("$BENCH" maximize "$2" "$3" "$4" 1e-4 "$LIMIT")
  lo=$(value bound_lo <<<"$out"); hi=$(value bound_hi <<<"$out")
  s=$(value seconds <<<"$out"); boxes=$(value boxes <<<"$out")
  if [ "$5" = 1 ]; then
    gap=$(/usr/bin/python3 -c "print(1e-4*max(1.0, abs($lo)))")
    cbc=$(/usr/bin/python3 "$ROOT/bench/relu_milp.py" "$2" "$3" "$4" "$gap" "$LIMIT")
    opt=$(value cbc_objective <<<"$cbc"); cs=$(value cbc_seconds <<<"$cbc")
    echo "  cbc: $(value cbc_binaries <<<"$cbc") binaries, $(value cbc_status <<<"$cbc"), relative gap $(value cbc_gap <<<"$cbc")"
    ratio=$(/usr/bin/python3 -c "print(f'{$cs/max($s, 1e-6):.2f}')")
    # Both are proofs to the same gap: their optima must agree within it.
    # Both prove to the same gap: a proven CBC optimum must agree within it (an incumbent
    # left at the time limit need only lie below the proven bound).
    if [[ $(value cbc_status <<<"$cbc") == Optimal* ]]; then
      /usr/bin/python3 -c "import sys; sys.exit(0 if $lo - $gap <= $opt <= $hi + $gap else 1)" ||
        echo "  MISMATCH: cbc optimum $opt outside [$lo − gap, $hi + gap]"
    else
      /usr/bin/python3 -c "import sys; o = float('$opt'); sys.exit(0 if o != o or o <= $hi + $gap else 1)" ||
        echo "  MISMATCH: cbc incumbent $opt above the proven bound $hi"
    fi
  else
    opt=-; cs=-; ratio=-
  fi
  printf '%-28s %14.8g %14.8g %9.3f %9s %14s %9s %8s\n' "$1" "$lo" "$hi" "$s" "$boxes" "$opt" "$cs" "$ratio"
}
run_case "random relu 1-30-30-1" "$WORK/r1.h5" -1 1 1
run_case "random relu 4-64-64-1" "$WORK/r4.h5" -1,-1,-1,-1 1,1,1,1 1
run_case "paper4 relu 4-64-64-1" "$WORK/paper4_relu.h5" 0,0,0,100 100,100,100,100 1
run_case "paper4 tanh 4-64-64-1" "$WORK/paper4_tanh.h5" 0,0,0,100 100,100,100,100 0
