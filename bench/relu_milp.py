#!/usr/bin/python3
"""Big-M MILP of a ReLU oracle's maximum over a box, solved by Debian's cbc.

    relu_milp.py ORACLE.h5 LO HI GAP [SECONDS]

LO, HI: comma-separated box ends (original input units); GAP: the absolute optimality gap
handed to cbc (bench/certify_vs_cbc.sh passes 1e-4·max(1, |optimum|), the branch and bound's
own stopping rule). The encoding: inputs in scaled units s = (x − mean)/scale; per hidden
neuron z = W h + b with interval bounds [l, u] from interval arithmetic; u ≤ 0 → h = 0;
l ≥ 0 → h = z; otherwise h ≥ z, h ≥ 0, h ≤ z − l(1 − a), h ≤ u·a with a binary. The output
layer must be identity and the hidden ones relu. Prints key=value lines (objective in output
units, wall seconds, cbc's status)."""

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np


def load(path):
    with h5py.File(path, "r") as f:
        g = f["oracle"]
        layers = []
        for i in range(len(g["layers"])):
            lg = g["layers"][str(i)]
            act = lg.attrs["activation"]
            layers.append((lg["weight"][:], lg["bias"][:], act.decode() if isinstance(act, bytes) else str(act)))
        sc = {k: g[k][:] for k in ("input_scaler/mean", "input_scaler/scale", "output_scaler/mean",
                                    "output_scaler/scale")}
    return layers, sc


def main():
    path, lo, hi, gap = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 600.0
    layers, sc = load(path)
    for _, _, act in layers[:-1]:
        if act != "relu":
            sys.exit(f"relu_milp: hidden activation {act}: no MILP encoding (relu only)")
    if layers[-1][2] != "identity":
        sys.exit("relu_milp: the output layer must be identity")
    lo = (np.array([float(v) for v in lo.split(",")]) - sc["input_scaler/mean"]) / sc["input_scaler/scale"]
    hi = (np.array([float(v) for v in hi.split(",")]) - sc["input_scaler/mean"]) / sc["input_scaler/scale"]
    cons, bounds, binaries = [], [], []
    names = [f"s{i}" for i in range(len(lo))]
    for n, a, b in zip(names, lo, hi):
        bounds.append(f" {a!r} <= {n} <= {b!r}")
    hl, hu = lo, hi
    for li in range(len(layers) - 1):
        w, b, _ = layers[li]
        wp, wn = np.maximum(w, 0), np.minimum(w, 0)
        zl, zu = wp @ hl + wn @ hu + b, wp @ hu + wn @ hl + b
        new = []
        for k in range(w.shape[0]):
            expr = " ".join(f"{w[k, j]:+.17g} {names[j]}" for j in range(w.shape[1]) if w[k, j] != 0)
            h = f"h{li}_{k}"
            if zu[k] <= 0:
                new.append(None)
                continue
            new.append(h)
            if zl[k] >= 0:  # h = z
                cons.append(f" e{li}_{k}: {h} " + " ".join(
                    f"{-w[k, j]:+.17g} {names[j]}" for j in range(w.shape[1]) if w[k, j] != 0) + f" = {b[k]!r}")
                bounds.append(f" {max(zl[k], 0.0)!r} <= {h} <= {zu[k]!r}")
                continue
            a = f"a{li}_{k}"
            binaries.append(a)
            neg = " ".join(f"{-w[k, j]:+.17g} {names[j]}" for j in range(w.shape[1]) if w[k, j] != 0)
            cons.append(f" p{li}_{k}: {h} {neg} >= {b[k]!r}")                        # h ≥ z
            cons.append(f" q{li}_{k}: {h} {neg} {-zl[k]:+.17g} {a} <= {b[k] - zl[k]!r}")  # h ≤ z − l(1 − a)
            cons.append(f" r{li}_{k}: {h} {-zu[k]:+.17g} {a} <= 0")                    # h ≤ u·a
            bounds.append(f" 0 <= {h} <= {zu[k]!r}")
        hl, hu = np.maximum(zl, 0), np.maximum(zu, 0)
        # Dead neurons are constant zero: drop them from the next layer.
        keep = [i for i, n in enumerate(new) if n is not None]
        layers[li + 1] = (layers[li + 1][0][:, keep], layers[li + 1][1], layers[li + 1][2])
        names, hl, hu = [new[i] for i in keep], hl[keep], hu[keep]
    w, b, _ = layers[-1]
    scale, mean = sc["output_scaler/scale"][0], sc["output_scaler/mean"][0]
    obj = " ".join(f"{scale * w[0, j]:+.17g} {names[j]}" for j in range(w.shape[1]) if w[0, j] != 0)
    constant = scale * b[0] + mean
    with tempfile.TemporaryDirectory() as tmp:
        lp = Path(tmp) / "model.lp"
        lp.write_text("Maximize\n obj: " + (obj or "0 s0") + "\nSubject To\n" + "\n".join(cons) + "\nBounds\n"
                      + "\n".join(bounds) + "\nBinaries\n " + " ".join(binaries) + "\nEnd\n")
        t0 = time.monotonic()
        # The time limit is wall-clock (timeMode elapsed), as for the branch and bound.
        p = subprocess.run(["cbc", str(lp), "-timeMode", "elapsed", "-allowableGap", repr(gap), "-seconds",
                            repr(seconds), "-threads", "1", "-solve", "-quit"], capture_output=True, text=True,
                           timeout=seconds + 120)
        wall = time.monotonic() - t0
    out = p.stdout
    m = re.search(r"Objective value:\s*([-+0-9.eE]+)", out)
    status = re.search(r"Result - (.*)", out)
    gap_found = re.search(r"^Gap:\s*([-+0-9.eE]+)", out, re.M)
    print(f"cbc_gap={float(gap_found.group(1)) if gap_found else 0.0!r}")
    print(f"cbc_binaries={len(binaries)}")
    print(f"cbc_status={status.group(1).strip() if status else 'unknown'}")
    print(f"cbc_objective={float(m.group(1)) + constant if m else float('nan')!r}")
    print(f"cbc_seconds={wall:.4f}")
    if p.returncode != 0 or m is None:
        sys.stderr.write(out[-2000:] + p.stderr)


if __name__ == "__main__":
    main()
