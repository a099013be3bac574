"""Solver `sampler` over the whole binary on the paper4 reference oracle: its vectors against
rejection sampling of the *oracle itself* (a numpy forward pass written here from the documented
file layout, docs/FILE_FORMATS.md), uniform over the oracle's input box, at a narrow band."""

import shutil
import subprocess

import h5py
import numpy as np

from conftest import reference_oracle

ACTS = {"identity": lambda v: v, "relu": lambda v: np.maximum(v, 0), "tanh": np.tanh,
        "sigmoid": lambda v: 1 / (1 + np.exp(-v)), "softplus": lambda v: np.logaddexp(0, v),
        "silu": lambda v: v / (1 + np.exp(-v))}


def read_oracle(path):
    with h5py.File(path, "r") as f:
        o = f["oracle"]
        layers = []
        for i in range(len(o["layers"])):
            g = o[f"layers/{i}"]
            act = g.attrs["activation"]
            layers.append((g["weight"][()], g["bias"][()], act if isinstance(act, str) else act.decode()))
        sc = {k: o[k][()] for k in ("input_scaler/mean", "input_scaler/scale", "output_scaler/mean",
                                    "output_scaler/scale", "input_bounds/lo", "input_bounds/hi")}

    def f(x):  # x [N, n_in] → y [N, n_out]
        h = (x - sc["input_scaler/mean"]) / sc["input_scaler/scale"]
        for w, b, a in layers:
            h = ACTS[a](h @ w.T + b)
        return h * sc["output_scaler/scale"] + sc["output_scaler/mean"]

    return f, sc["input_bounds/lo"], sc["input_bounds/hi"]


def w1(a, b):
    """Wasserstein-1 distance between two 1-D samples."""
    a, b = np.sort(a), np.sort(b)
    grid = np.sort(np.concatenate([a, b]))
    fa = np.searchsorted(a, grid[:-1], side="right") / len(a)
    fb = np.searchsorted(b, grid[:-1], side="right") / len(b)
    return float(np.sum(np.abs(fa - fb) * np.diff(grid)))


def test_sampler_matches_rejection_on_the_oracle(invsweep_bin, tmp_path):
    oracle = tmp_path / "paper4.h5"
    shutil.copy(reference_oracle(invsweep_bin, "paper4"), oracle)
    t, band, n = 1900.0, 1e-3, 1000
    (tmp_path / "sweep.toml").write_text(f"""oracle = "paper4.h5"
output = "r.h5"
seed = 1
samples = {n}
solvers = ["sampler"]

[objective]
kind = "target"
targets = [[{t}]]

[sampler]
band = 0.0

[[constraints]]
name = "free"
""")
    subprocess.run([invsweep_bin, "run", str(tmp_path / "sweep.toml")], check=True, cwd=tmp_path)
    with h5py.File(tmp_path / "r.h5", "r") as r:
        assert r["tasks/status"][0] == 1, r["tasks/message"][0]
        x = r["vectors"][0]
        y = r["outputs"][0][:, 0]
        ess, rhat, acc = r["tasks/ess"][0], r["tasks/rhat"][0], r["tasks/acceptance"][0]
    f, lo, hi = read_oracle(oracle)
    assert np.all(np.abs(y - t) <= 1e-6 * t)
    assert np.all(x >= lo) and np.all(x <= hi)
    assert 0.1 < acc < 0.9 and rhat < 1.1 and ess > n / 4

    rng = np.random.default_rng(0)
    hits = []
    while sum(len(h) for h in hits) < 4 * n:
        u = rng.uniform(lo, hi, size=(1 << 20, len(lo)))
        hits.append(u[np.abs(f(u)[:, 0] - t) <= band * t])
    truth = np.concatenate(hits)
    for k in range(x.shape[1]):
        d = w1(x[:, k], truth[:, k]) / (hi[k] - lo[k])
        floor = w1(truth[:n, k], truth[n:2 * n, k]) / (hi[k] - lo[k])
        print(f"x{k + 1}: W1 {100 * d:.2f}% of range (noise floor {100 * floor:.2f}%)")
        assert d <= 0.03, f"x{k + 1}: W1 {d:.4f} of the range (noise floor {floor:.4f})"
