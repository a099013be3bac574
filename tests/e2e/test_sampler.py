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


def paper4(x):
    """The paper's function (src/invsweep/data/reference.cpp, `invsweep dataset --list`)."""
    return 9 * x[:, 0] ** 0.87 + 8.97 * x[:, 0] ** 0.02 + 0.876 * x[:, 2] ** 0.12 + 2.9876 * x[:, 3] ** 0.987


def arm(x):
    """The robotic arm of the Neural-Adjoint benchmark: rail height x1, joint angles x2..x4,
    segments 0.5, 0.5, 1.0; the end point (y1, y2)."""
    c = np.cumsum(x[:, 1:], axis=1)
    seg = np.array([0.5, 0.5, 1.0])
    return np.column_stack([(seg * np.cos(c)).sum(1), x[:, 0] + (seg * np.sin(c)).sum(1)])


def rejection(f, lo, hi, inside, n, seed=0):
    """n uniform draws over [lo, hi] (NaN bounds: held at lo) for which inside(f(x)) holds."""
    rng = np.random.default_rng(seed)
    hits, count = [], 0
    while count < n:
        u = rng.uniform(lo, hi, size=(1 << 20, len(lo)))
        keep = u[inside(f(u))]
        hits.append(keep)
        count += len(keep)
    return np.concatenate(hits)[:n]


def compare(x, truth, lo, hi, free, limit, label):
    """Per free feature: W1 to the truth (a larger sample than x, so that its own noise adds
    little) in % of the range, and the noise floor (W1 between two independent truth samples of
    x's size). Asserts W1 ≤ limit and ≤ twice the floor (plus 0.1 % of the range for the
    floor's own noise)."""
    n = len(x)
    rows = []
    for k in free:
        width = hi[k] - lo[k]
        d = w1(x[:, k], truth[:, k]) / width
        floor = w1(truth[:n, k], truth[n:2 * n, k]) / width
        rows.append(f"{label} x{k + 1}: W1 {100 * d:.2f}% (floor {100 * floor:.2f}%)")
        print(rows[-1])
        assert d <= limit, rows[-1]
        assert d <= 2 * floor + 0.001, rows[-1]
    return rows


def test_sampler_matches_rejection_of_the_paper_function(invsweep_bin, tmp_path):
    """Paper function oracle (10,000 rows): targets across the range, settings free / x4 fixed /
    a narrow box, level set (band 0) against rejection sampling of the true function at a
    relative band of 1e-3: W1 ≤ 1 % of each free feature's range and ≤ twice the noise floor."""
    oracle = tmp_path / "paper4.h5"
    shutil.copy(reference_oracle(invsweep_bin, "paper4"), oracle)
    n, targets = 8000, [1200.0, 2400.0]
    settings = [("free", "", {}), ("x4 = 250", "fixed = { x4 = 250.0 }", {3: 250.0}),
                ("narrow", "bounds = { x1 = [150.0, 350.0], x3 = [0.0, 100.0] }", {})]
    blocks = "".join(f'\n[[constraints]]\nname = "{name}"\n{extra}\n' for name, extra, _ in settings)
    (tmp_path / "sweep.toml").write_text(f"""oracle = "paper4.h5"
output = "r.h5"
seed = 1
samples = {n}
solvers = ["sampler"]

[objective]
kind = "target"
targets = [{", ".join(f"[{t}]" for t in targets)}]
{blocks}""")
    subprocess.run([invsweep_bin, "run", str(tmp_path / "sweep.toml")], check=True, cwd=tmp_path)
    with h5py.File(tmp_path / "r.h5", "r") as r:
        status, msg = r["tasks/status"][()], r["tasks/message"][()]
        x_all, y_all = r["vectors"][()], r["outputs"][()]
        tt, ci = r["tasks/target"][()][:, 0], r["tasks/constraint"][()]
        ess, rhat = r["tasks/ess"][()], r["tasks/rhat"][()]
    for task in range(len(status)):
        assert status[task] == 1, msg[task]
        assert not msg[task].startswith(b"warning"), msg[task]
        t = float(tt[task])
        name, _, fixed = settings[ci[task]]
        lo, hi = np.zeros(4), np.full(4, 500.0)
        if name == "narrow":
            lo[0], hi[0], hi[2] = 150.0, 350.0, 100.0
        for k, v in fixed.items():
            lo[k] = hi[k] = v
        x, y = x_all[task], y_all[task][:, 0]
        assert np.all(np.abs(y - t) <= 1e-6 * t)
        assert np.all(x >= lo) and np.all(x <= hi)
        for k, v in fixed.items():
            assert np.all(x[:, k] == v)
        assert ess[task] >= n / 4 and rhat[task] <= 1.05
        truth = rejection(paper4, lo, hi, lambda f: np.abs(f - t) <= 1e-3 * t, 3 * n, seed=task)
        free = [k for k in range(4) if k not in fixed]
        compare(x, truth, lo, hi, free, 0.01, f"target {t:g}, {name}:")


def test_sampler_matches_rejection_of_the_robot_arm(invsweep_bin, tmp_path):
    """Two outputs (the Neural-Adjoint robotic arm, 4 → 2): oracle trained from 10,000 rows here;
    the band of 2 % around the target (|y_k − t_k| ≤ 0.02·|t_k|) against rejection sampling of
    the true arm in the same band: W1 ≤ 2 %. (The same set on both sides: a band in y2 moves the
    rail height x1 one for one, so a level set would differ from any band wide enough for
    rejection sampling by about the band's width.)"""
    rng = np.random.default_rng(1)
    lo, hi = np.array([-0.5, -1.0, -1.0, -1.0]), np.array([0.5, 1.0, 1.0, 1.0])
    x = rng.uniform(lo, hi, size=(10000, 4))
    np.savetxt(tmp_path / "arm.csv", np.column_stack([x, arm(x)]), delimiter=",",
               header="x1,x2,x3,x4,y1,y2", comments="")
    subprocess.run([invsweep_bin, "train-oracle", "--data", "arm.csv", "--inputs", "x1,x2,x3,x4", "--outputs",
                    "y1,y2", "--out", "arm.h5", "--quiet"], check=True, cwd=tmp_path)
    n, t, band = 8000, np.array([1.5, 0.5]), 0.02
    (tmp_path / "sweep.toml").write_text(f"""oracle = "arm.h5"
output = "r.h5"
seed = 1
samples = {n}
solvers = ["sampler"]

[objective]
kind = "target"
targets = [[{t[0]}, {t[1]}]]

[sampler]
band = {band}

[[constraints]]
name = "free"
""")
    subprocess.run([invsweep_bin, "run", str(tmp_path / "sweep.toml")], check=True, cwd=tmp_path)
    with h5py.File(tmp_path / "r.h5", "r") as r:
        assert r["tasks/status"][0] == 1, r["tasks/message"][0]
        xs, ys = r["vectors"][0], r["outputs"][0]
        assert r["tasks/ess"][0] >= n / 4 and r["tasks/rhat"][0] <= 1.05
    assert np.all(np.abs(ys - t) <= band * np.abs(t))
    assert np.all(xs >= lo) and np.all(xs <= hi)
    truth = rejection(arm, lo, hi, lambda y: np.all(np.abs(y - t) <= band * np.abs(t), axis=1), 3 * n)
    compare(xs, truth, lo, hi, range(4), 0.02, "arm:")


def test_sampler_gives_the_roots_of_the_multiroot_function_their_true_shares(invsweep_bin, tmp_path):
    """The reference multiroot oracle (10,000 rows) on (0, 10], target 0: the solution set is the
    function's four roots, and the share of vectors at each must be within ±0.03 of its true
    share ∝ 1/|f′(root)| — roots and derivatives of the *true* function, by bisection here."""
    oracle = tmp_path / "multiroot.h5"
    shutil.copy(reference_oracle(invsweep_bin, "multiroot"), oracle)
    n = 4000
    (tmp_path / "sweep.toml").write_text(f"""oracle = "multiroot.h5"
output = "r.h5"
seed = 3
samples = {n}
solvers = ["sampler"]

[objective]
kind = "target"
targets = [[0.0]]

[[constraints]]
name = "(0, 10]"
bounds = {{ x = [1e-6, 10.0] }}
""")
    subprocess.run([invsweep_bin, "run", str(tmp_path / "sweep.toml")], check=True, cwd=tmp_path)
    with h5py.File(tmp_path / "r.h5", "r") as r:
        assert r["tasks/status"][0] == 1, r["tasks/message"][0]
        x, y = r["vectors"][0][:, 0], r["outputs"][0][:, 0]
        print(r["tasks/message"][0].decode())
    assert np.all(np.abs(y) <= 1e-6) and np.all((x >= 1e-6) & (x <= 10))

    def f(v):
        return np.sin(v) - 0.3 * np.log(v + 1) + 0.1 * np.exp(-v / 3) + 0.2 * np.sqrt(v) - 0.5

    def df(v):
        return np.cos(v) - 0.3 / (v + 1) - np.exp(-v / 3) / 30 + 0.1 / np.sqrt(v)

    grid = np.linspace(1e-6, 10, 100001)
    roots = []
    for i in np.where(np.sign(f(grid[:-1])) != np.sign(f(grid[1:])))[0]:
        a, b = grid[i], grid[i + 1]
        for _ in range(60):
            m = 0.5 * (a + b)
            a, b = (m, b) if np.sign(f(m)) == np.sign(f(a)) else (a, m)
        roots.append(a)
    assert len(roots) == 4
    truth = 1 / np.abs(df(np.array(roots)))
    truth /= truth.sum()
    nearest = np.argmin(np.abs(x[:, None] - np.array(roots)[None, :]), axis=1)
    assert np.all(np.abs(x - np.array(roots)[nearest]) < 0.05)  # every vector at one of the roots
    share = np.bincount(nearest, minlength=4) / n
    for r, s, t in zip(roots, share, truth):
        print(f"root {r:.4f}: share {s:.3f}, truth {t:.3f}")
    np.testing.assert_allclose(share, truth, atol=0.03)
