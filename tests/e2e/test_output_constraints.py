"""The questions users ask beyond "hit this target": maximise one output while another stays
in a range (subject_to), leave an output free (nan in a target), one-sided ranges, plausible
inputs (Mahalanobis distance to the training data), and warnings where the oracle
extrapolates. Truth is independent of the solvers: the oracle re-evaluated with numpy from the
results file, scipy's SLSQP (multi-start) for the constrained optimum, numpy's covariance of
the training CSV for Mahalanobis distances."""

import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

import invsweep

BOX = "bounds = { x1 = [0.0, 500.0], x2 = [0.0, 500.0], x3 = [0.0, 500.0], x4 = [0.0, 500.0] }"
Y2_LO, Y2_HI = 50.0, 120.0  # binds: the unconstrained maximum of y has y2 ≈ 216


@pytest.fixture(scope="module")
def two_outputs(invsweep_bin, tmp_path_factory):
    """An oracle of the paper function y and a second output y2 = 0.4 x1 − 0.2 x2 + x3 x4/1000
    over [0, 500]⁴, trained on 10,000 rows."""
    d = tmp_path_factory.mktemp("two")
    run = lambda *a: subprocess.run([invsweep_bin, *map(str, a)], check=True, capture_output=True, text=True)
    run("dataset", "paper4", "--n", "10000", "--seed", "1", "-o", d / "paper4.csv")
    data = pd.read_csv(d / "paper4.csv")
    data["y2"] = 0.4 * data.x1 - 0.2 * data.x2 + data.x3 * data.x4 / 1000
    data.to_csv(d / "two.csv", index=False)
    run("train-oracle", "--data", d / "two.csv", "--inputs", "x1,x2,x3,x4", "--outputs", "y,y2", "--epochs", "400",
        "--quiet", "--out", d / "two.h5")
    return d / "two.h5"


def sweep(path, oracle, body, samples=64, solvers=("generator",)):
    path.write_text(f'oracle = "{oracle}"\noutput = "{path.with_suffix(".h5").name}"\nseed = 3\n'
                    f"samples = {samples}\nsolvers = {list(solvers)!r}\n".replace("'", '"') + body)
    return path


def results(path):
    """(solver names per task, vectors, outputs re-evaluated with numpy, the file's datasets)."""
    with h5py.File(path) as f:
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in f.attrs["solver_names"]]
        solvers = [names[s] for s in f["tasks/solver"][()]]
        data = {k: f[k][()] for k in ("vectors", "outputs", "residuals", "violations")}
        data["status"] = f["tasks/status"][()]
        data["message"] = [m.decode() for m in f["tasks/message"][()]]
        if "mahalanobis" in f:
            data["mahalanobis"] = f["mahalanobis"][()]
    o = invsweep.oracle(str(path))
    data["numpy_outputs"] = o(data["vectors"])
    return solvers, data


def slsqp_max(oracle_path, lo, hi, starts=40):
    """max y subject to lo ≤ y2 ≤ hi over [0, 500]⁴ by SLSQP from random starts (numpy oracle)."""
    o = invsweep.oracle(str(oracle_path))
    f = lambda x: o(np.asarray(x)[None, :])[0]
    best, rng = -np.inf, np.random.default_rng(0)
    cons = [{"type": "ineq", "fun": lambda x: f(x)[1] - lo}, {"type": "ineq", "fun": lambda x: hi - f(x)[1]}]
    for _ in range(starts):
        r = minimize(lambda x: -f(x)[0], rng.uniform(0, 500, 4), method="SLSQP", bounds=[(0, 500)] * 4,
                     constraints=cons, options={"maxiter": 300})
        y = f(r.x)
        if lo - 1e-6 <= y[1] <= hi + 1e-6 and np.all((r.x >= 0) & (r.x <= 500)):
            best = max(best, y[0])
    return best


def box_max(oracle_path, starts=40):
    """max y over [0, 500]⁴ (no range on y2) by L-BFGS-B from random starts (numpy oracle)."""
    o = invsweep.oracle(str(oracle_path))
    best, rng = -np.inf, np.random.default_rng(0)
    for _ in range(starts):
        r = minimize(lambda x: -o(np.asarray(x)[None, :])[0, 0], rng.uniform(0, 500, 4), method="L-BFGS-B",
                     bounds=[(0, 500)] * 4)
        best = max(best, -r.fun)
    return best


def test_maximize_subject_to_is_feasible_and_reaches_the_constrained_optimum(run, two_outputs, tmp_path):
    s = sweep(tmp_path / "max.toml", two_outputs,
              f'[objective]\nkind = "maximize"\noutput = "y"\nsubject_to = {{ y2 = [{Y2_LO}, {Y2_HI}] }}\n'
              f'[adjoint]\nsteps = 3000\nlr = 0.05\n[[constraints]]\nname = "box"\n{BOX}\n',
              solvers=("generator", "adjoint", "cmaes"))
    run("run", s, cwd=tmp_path)
    solvers, d = results(tmp_path / "max.h5")
    truth = slsqp_max(two_outputs, Y2_LO, Y2_HI)
    y, y2 = d["numpy_outputs"][..., 0], d["numpy_outputs"][..., 1]
    assert np.allclose(d["outputs"], d["numpy_outputs"], rtol=1e-9, atol=1e-9)
    tol = 1e-6 * Y2_HI
    for t, name in enumerate(solvers):
        assert np.all((y2[t] >= Y2_LO - tol) & (y2[t] <= Y2_HI + tol)), (name, y2[t].min(), y2[t].max())
        assert np.all(d["violations"][t] <= 1e-6), name
        best = y[t].max()
        print(f"{name}: best y {best:.4f}, SLSQP {truth:.4f} ({(truth - best) / truth:+.4%})")
        assert best >= truth * 0.99, (name, best, truth)
        assert best <= truth * (1 + 1e-3), "above the constrained optimum: infeasible or a weak truth"
    # Without subject_to the maximum leaves the range: the constraint binds.
    free = sweep(tmp_path / "free.toml", two_outputs,
                 f'[objective]\nkind = "maximize"\noutput = "y"\n[[constraints]]\nname = "box"\n{BOX}\n',
                 solvers=("cmaes",))
    run("run", free, cwd=tmp_path)
    _, f = results(tmp_path / "free.h5")
    best = np.argmax(f["numpy_outputs"][0, :, 0])
    assert f["numpy_outputs"][0, best, 1] > Y2_HI + 10


def test_sampler_draws_only_feasible_vectors_under_subject_to(run, two_outputs, tmp_path):
    """A range of y under subject_to: the sampler's set is the intersection (both ranges)."""
    s = sweep(tmp_path / "smp.toml", two_outputs,
              f'[objective]\nkind = "range"\nlo = [2000.0, -inf]\nhi = [2400.0, inf]\n'
              f'subject_to = {{ y2 = [{Y2_LO}, {Y2_HI}] }}\n[[constraints]]\nname = "box"\n{BOX}\n',
              samples=400, solvers=("sampler",))
    run("run", s, cwd=tmp_path)
    _, d = results(tmp_path / "smp.h5")
    y, y2 = d["numpy_outputs"][0, :, 0], d["numpy_outputs"][0, :, 1]
    assert np.all((y >= 2000) & (y <= 2400)) and np.all((y2 >= Y2_LO) & (y2 <= Y2_HI))
    assert np.all(d["violations"][0] == 0) and np.all(d["residuals"][0] == 0)
    assert np.std(d["vectors"][0], axis=0).min() > 10  # spread over the set, not one point


def test_nan_target_leaves_an_output_free_and_one_sided_ranges_hold(run, two_outputs, tmp_path):
    body = (f'[objective]\nkind = "target"\ntargets = [[1500.0, nan]]\n[polish]\nenabled = true\n'
            f'[[constraints]]\nname = "box"\n{BOX}\n')
    s = sweep(tmp_path / "nan.toml", two_outputs, body, solvers=("generator", "adjoint", "cmaes"))
    run("run", s, cwd=tmp_path)
    solvers, d = results(tmp_path / "nan.h5")
    for t, name in enumerate(solvers):
        y, y2 = d["numpy_outputs"][t, :, 0], d["numpy_outputs"][t, :, 1]
        assert np.all(np.abs(y - 1500) <= 1e-6 * 1500), (name, np.abs(y - 1500).max())
        assert np.allclose(d["residuals"][t], np.abs(d["outputs"][t, :, 0] - 1500), atol=1e-9)
        assert y2.max() - y2.min() > 20, name  # y2 free: it varies over the solutions
    # One-sided: y ≥ 2000 (range) and y2 ≤ 80 (subject_to), every vector.
    body = ('[objective]\nkind = "range"\nlo = [2000.0, -inf]\nhi = [inf, inf]\nsubject_to = { y2 = [-inf, 80.0] }\n'
            f'[polish]\nenabled = true\n[[constraints]]\nname = "box"\n{BOX}\n')
    s = sweep(tmp_path / "one.toml", two_outputs, body, solvers=("generator", "adjoint", "cmaes"))
    run("run", s, cwd=tmp_path)
    solvers, d = results(tmp_path / "one.h5")
    y, y2 = d["numpy_outputs"][..., 0], d["numpy_outputs"][..., 1]
    assert np.all(y >= 2000 - 1e-9) and np.all(y2 <= 80 + 80e-6), (y.min(), y2.max())
    # Every vector is in range, so every one is accepted, and the report's table says so.
    res = invsweep.load_results(tmp_path / "one.h5")
    assert res.accepted().sum() == y.size
    summary = invsweep.summary_table(res)
    assert int(np.sum(summary["n_accepted"])) == y.size


def test_range_acceptance_counts_vectors_in_range_exactly(run, two_outputs, tmp_path):
    """Without polish the generator's vectors are near the range, some outside: "accepted" is
    exactly "in range" (numpy's count of the file's outputs), in the loader and the report."""
    body = ('[objective]\nkind = "range"\nlo = [1500.0, -inf]\nhi = [1510.0, inf]\n[generator]\nsteps = 150\n'
            f'[[constraints]]\nname = "box"\n{BOX}\n')
    s = sweep(tmp_path / "rng.toml", two_outputs, body, samples=512)
    run("run", s, cwd=tmp_path)
    _, d = results(tmp_path / "rng.h5")
    y = d["numpy_outputs"][0, :, 0]
    inside = int(np.sum((y >= 1500) & (y <= 1510)))
    res = invsweep.load_results(tmp_path / "rng.h5")
    assert res.accepted().sum() == inside
    assert 0 < inside < 512, "the check needs vectors on both sides"
    summary = invsweep.summary_table(res)
    assert int(summary["n_accepted"][0]) == inside
    env = dict(os.environ, PYTHONPATH=str(Path(invsweep.__file__).parents[1]))  # the package under test
    p = subprocess.run([sys.executable, "-m", "invsweep", "report", str(tmp_path / "rng.h5"), "-o",
                        str(tmp_path / "report"), "--quick", "--quiet"], capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr
    csv = pd.read_csv(tmp_path / "report" / "summary.csv")
    assert int(csv["n_accepted"][0]) == inside


@pytest.fixture(scope="module")
def correlated(invsweep_bin, tmp_path_factory):
    """Correlated inputs (x2 follows x1, x4 follows x3 and x1) and y = x1² + sin 2x2 + x3 x4 + x4/2."""
    d = tmp_path_factory.mktemp("corr")
    r = np.random.default_rng(3)
    a, b = r.normal(size=4000), r.normal(size=4000)
    x3 = r.normal(size=4000)
    df = pd.DataFrame(dict(x1=a, x2=0.8 * a + 0.6 * b, x3=x3, x4=0.5 * x3 - 0.5 * a + 0.7 * r.normal(size=4000)))
    df["y"] = df.x1 ** 2 + np.sin(2 * df.x2) + df.x3 * df.x4 + 0.5 * df.x4
    df.to_csv(d / "corr.csv", index=False)
    subprocess.run([invsweep_bin, "train-oracle", "--data", d / "corr.csv", "--inputs", "x1,x2,x3,x4", "--outputs",
                    "y", "--epochs", "300", "--quiet", "--out", d / "corr.h5"], check=True)
    return d


def test_plausible_keeps_every_vector_near_the_data_and_still_hits_the_target(run, correlated, tmp_path):
    data = pd.read_csv(correlated / "corr.csv")[["x1", "x2", "x3", "x4"]].to_numpy()
    mean, prec = data.mean(axis=0), np.linalg.inv(np.cov(data.T))
    dist = lambda x: np.sqrt(np.einsum("...i,ij,...j->...", x - mean, prec, x - mean))
    envelope = dist(data).max()
    body = ('[objective]\nkind = "target"\ntargets = [[2.0]]\n[polish]\nenabled = true\n[sampler]\nband = 1e-3\n'
            '[[constraints]]\nname = "free"\n[[constraints]]\nname = "plausible"\nplausible = 3.0\n')
    s = sweep(tmp_path / "pl.toml", correlated / "corr.h5", body, samples=128,
              solvers=("generator", "adjoint", "cmaes", "sampler"))
    run("run", s, cwd=tmp_path)
    solvers, d = results(tmp_path / "pl.h5")
    n_solvers = len(set(solvers))
    dm = dist(d["vectors"])
    assert np.allclose(d["mahalanobis"], dm, rtol=1e-9, atol=1e-9)  # the file's distances are numpy's
    res = invsweep.load_results(tmp_path / "pl.h5")
    assert res.attrs["envelope"] == pytest.approx(envelope, rel=1e-9)
    summary = invsweep.summary_table(res)
    for t, name in enumerate(solvers):
        constrained = t >= n_solvers
        y = d["numpy_outputs"][t, :, 0]
        band = 2e-3 if name == "sampler" else 2e-6  # sampler: its band of 1e-3·|t|
        assert np.all(np.abs(y - 2.0) <= band), (name, np.abs(y - 2.0).max())
        if constrained:
            assert np.all(dm[t] <= 3.0 + 1e-6), (name, dm[t].max())
        print(f"{'plausible' if constrained else 'free'} {name}: max distance {dm[t].max():.3f}, "
              f"share > 3: {np.mean(dm[t] > 3):.2f}, outside the data's envelope ({envelope:.2f}): "
              f"{np.mean(dm[t] > envelope):.2f}")
    # The report's share outside the envelope per setting is numpy's.
    for row, c in enumerate(summary["constraint"]):
        rows = [t for t in range(len(solvers)) if (t >= n_solvers) == (c == "plausible")]
        assert summary["outside_data"][row] == pytest.approx(np.mean(dm[rows] > envelope))
    free_share = np.mean(dm[:n_solvers] > 3.0)
    assert free_share > 0.05, "without the constraint some solutions leave the data: nothing was tested"


def test_warnings_where_the_oracle_extrapolates(run, two_outputs, tmp_path):
    body = (f'[objective]\nkind = "target"\ntargets = [[340000.0, nan]]\n[generator]\nsteps = 5\n'
            f'[[constraints]]\nname = "x1 fixed far"\nfixed = {{ x1 = 900.0 }}\n')
    s = sweep(tmp_path / "far.toml", two_outputs, body, samples=4)
    for cmd in (("check", s, "--no-calibration"), ("run", s)):
        p = run(*cmd, cwd=tmp_path)
        assert "warning" in p.stderr and "1 of 1 targets of output 'y' lie outside the outputs seen in training" \
            in p.stderr, p.stderr
        assert "farthest: 340000" in p.stderr
        assert "feature 'x1' is fixed at 900, outside the inputs seen in training [0.0" in p.stderr, p.stderr
    # Inside the training data: no warning.
    ok = sweep(tmp_path / "ok.toml", two_outputs,
               f'[objective]\nkind = "target"\ntargets = [[1500.0, nan]]\n[generator]\nsteps = 5\n'
               f'[[constraints]]\nname = "box"\n{BOX}\n', samples=4)
    assert "warning" not in run("check", ok, "--no-calibration", cwd=tmp_path).stderr


def test_certificates_under_subject_to(run, two_outputs, tmp_path):
    """maximize y subject to y2 ∈ [50, 120]: a proven bound above every feasible point of a dense
    sample and above SLSQP's optimum, a verified value that is feasible; a y between that bound and
    the box's maximum (a value the oracle takes, so reachable on the box) is proven unreachable
    under the range. The target is taken from the trained oracle: the two maxima are a few units
    apart (about 3391 and 3394 here), and retraining with products rounded differently in the
    last bits moves them by about that much."""
    cert = '[certify]\ntime_limit = 60\ntolerance = 1e-3\n'
    s = sweep(tmp_path / "cert.toml", two_outputs,
              f'[objective]\nkind = "maximize"\noutput = "y"\nsubject_to = {{ y2 = [{Y2_LO}, {Y2_HI}] }}\n{cert}'
              f'[[constraints]]\nname = "box"\n{BOX}\n', samples=32, solvers=("cmaes",))
    run("run", s, cwd=tmp_path)
    with h5py.File(tmp_path / "cert.h5") as f:
        certificate, lo, hi = f["tasks/certificate"][0], f["tasks/bound_lo"][0, 0], f["tasks/bound_hi"][0, 0]
    assert certificate == 1 and hi - lo <= 1e-3 * abs(lo), (certificate, lo, hi)
    o = invsweep.oracle(str(two_outputs))
    x = np.random.default_rng(1).uniform(0, 500, (400_000, 4))
    y = o(x)
    feasible = (y[:, 1] >= Y2_LO) & (y[:, 1] <= Y2_HI)
    assert feasible.sum() > 1000 and y[feasible, 0].max() <= hi
    assert slsqp_max(two_outputs, Y2_LO, Y2_HI, starts=20) <= hi
    _, d = results(tmp_path / "cert.h5")
    best = np.argmax(np.where(d["violations"][0] <= 1e-6, d["numpy_outputs"][0, :, 0], -np.inf))
    assert d["numpy_outputs"][0, best, 0] >= lo - 1e-9 * abs(lo)  # the verified value is a stored feasible vector's
    top = box_max(two_outputs)
    assert top > hi, (top, hi)  # the range binds
    target = float(0.5 * (hi + top))
    for ranged, expected in ((True, 0), (False, 1)):
        sub = f"subject_to = {{ y2 = [{Y2_LO}, {Y2_HI}] }}\n" if ranged else ""
        s = sweep(tmp_path / f"reach{int(ranged)}.toml", two_outputs,
                  f'[objective]\nkind = "target"\ntargets = [[{target!r}, nan]]\n{sub}{cert}'
                  f'[[constraints]]\nname = "box"\n{BOX}\n', samples=8, solvers=("cmaes",))
        run("run", s, cwd=tmp_path)
        with h5py.File(s.with_suffix(".h5")) as f:
            assert (f["tasks/certificate"][0], f["tasks/reachable"][0]) == (1, expected), ranged
