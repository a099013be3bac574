"""How close each solver's vectors are to the true distribution of solutions: per free feature,
the Wasserstein-1 distance (in % of the feature's range) between a task's vectors and rejection
sampling of the *true* paper function (relative band 1e-3, uniform prior over the setting's
box), at two targets and three settings, for generator and adjoint (the demo's settings, with
and without the diversity regulariser) and sampler. Pooled over replicates.

    /usr/bin/python3 bench/distribution_fidelity.py [INVSWEEP] [ORACLE]
(defaults: build/release/src/invsweep, jobs/oracles/paper4.h5)."""
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def paper4(x):
    """The paper's function (src/invsweep/data/reference.cpp)."""
    return 9 * x[:, 0] ** 0.87 + 8.97 * x[:, 0] ** 0.02 + 0.876 * x[:, 2] ** 0.12 + 2.9876 * x[:, 3] ** 0.987


def rejection(f, lo, hi, inside, n, seed=0):
    """n uniform draws over [lo, hi] for which inside(f(x)) holds."""
    rng = np.random.default_rng(seed)
    hits, count = [], 0
    while count < n:
        u = rng.uniform(lo, hi, size=(1 << 20, len(lo)))
        keep = u[inside(f(u))]
        hits.append(keep)
        count += len(keep)
    return np.concatenate(hits)[:n]


def w1(a, b):
    """Wasserstein-1 distance between two 1-D samples."""
    a, b = np.sort(a), np.sort(b)
    grid = np.sort(np.concatenate([a, b]))
    fa = np.searchsorted(a, grid[:-1], side="right") / len(a)
    fb = np.searchsorted(b, grid[:-1], side="right") / len(b)
    return float(np.sum(np.abs(fa - fb) * np.diff(grid)))


binary = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "build/release/src/invsweep")
oracle = Path(sys.argv[2] if len(sys.argv) > 2 else ROOT / "jobs/oracles/paper4.h5").resolve()
targets = [1200.0, 2400.0]
settings = [("free", "", {}), ("x4 = 250", "fixed = { x4 = 250.0 }", {3: 250.0}),
            ("narrow", "bounds = { x1 = [150.0, 350.0], x3 = [0.0, 100.0] }", {})]
runs = [("generator", "diversity 0.01", 0.01, 16, 64), ("generator", "diversity 0", 0.0, 16, 64),
        ("adjoint", "diversity 0.01", 0.01, 16, 64), ("adjoint", "diversity 0", 0.0, 16, 64),
        ("sampler", "", 0.0, 1, 1024)]


def box(name, fixed):
    lo, hi = np.zeros(4), np.full(4, 500.0)
    if name == "narrow":
        lo[0], hi[0], hi[2] = 150.0, 350.0, 100.0
    for k, v in fixed.items():
        lo[k] = hi[k] = v
    return lo, hi


truth = {}
for ti, t in enumerate(targets):
    for si, (name, _, fixed) in enumerate(settings):
        lo, hi = box(name, fixed)
        truth[ti, si] = rejection(paper4, lo, hi, lambda f, t=t: np.abs(f - t) <= 1e-3 * t, 20000, seed=ti * 7 + si)

print(f"{'solver':<10} {'regulariser':<15} {'target':>7} {'setting':<9} {'n':>6}  W1 per free feature (% of range)")
with tempfile.TemporaryDirectory() as work:
    for solver, label, diversity, replicates, samples in runs:
        blocks = "".join(f'\n[[constraints]]\nname = "{n}"\n{e}\n' for n, e, _ in settings)
        extra = {"generator": "[generator]\nsteps = 600\nlr = 2e-3\n", "adjoint": "[adjoint]\nsteps = 400\nlr = 2e-2\n",
                 "sampler": ""}[solver]
        sweep = Path(work) / "sweep.toml"
        sweep.write_text(f"""oracle = "{oracle}"
output = "{work}/r.h5"
seed = 7
samples = {samples}
replicates = {replicates}
solvers = ["{solver}"]

[objective]
kind = "target"
targets = [{", ".join(f"[{t}]" for t in targets)}]

{extra}
[regularize]
diversity = {diversity}

[polish]
enabled = {"true" if solver != "sampler" else "false"}
{blocks}""")
        (Path(work) / "r.h5").unlink(missing_ok=True)
        subprocess.run([binary, "run", str(sweep)], check=True, capture_output=True)
        with h5py.File(Path(work) / "r.h5", "r") as r:
            x, tt, ci, st = r["vectors"][()], r["tasks/target"][()][:, 0], r["tasks/constraint"][()], r["tasks/status"][()]
        for ti, t in enumerate(targets):
            for si, (name, _, fixed) in enumerate(settings):
                sel = (tt == t) & (ci == si) & (st == 1)
                v = x[sel].reshape(-1, 4)
                lo, hi = box(name, fixed)
                cells = [f"x{k + 1} {100 * w1(v[:, k], truth[ti, si][:, k]) / (hi[k] - lo[k]):5.2f}"
                         for k in range(4) if k not in fixed]
                print(f"{solver:<10} {label:<15} {t:7.0f} {name:<9} {len(v):6d}  " + "  ".join(cells))
