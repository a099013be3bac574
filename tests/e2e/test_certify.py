"""Certificates ([certify]) end to end: proven optima, reachability and root counts, each
checked against a truth that does not come from the method — the oracle evaluated with numpy
from its documented layout on random points or a dense grid."""

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import cache_dir, reference_oracle

PROVEN, BUDGET, NOT_APPLICABLE = 1, 2, 3
TOL = 1e-4


def numpy_oracle(group):
    """The oracle of an HDF5 group, evaluated with numpy (DESIGN.md "Oracle file")."""
    acts = {
        "identity": lambda z: z,
        "relu": lambda z: np.maximum(z, 0.0),
        "tanh": np.tanh,
        "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    }
    layers = group["layers"]
    stack = []
    for i in range(len(layers)):
        g = layers[str(i)]
        act = g.attrs["activation"]
        act = act.decode() if isinstance(act, bytes) else str(act)
        stack.append((g["weight"][:], g["bias"][:], acts[act]))
    mi, si = group["input_scaler/mean"][:], group["input_scaler/scale"][:]
    mo, so = group["output_scaler/mean"][:], group["output_scaler/scale"][:]

    def f(x):
        h = (np.atleast_2d(x) - mi) / si
        for w, b, act in stack:
            h = act(h @ w.T + b)
        return h * so + mo

    return f


def run_sweep(run, tmp_path, oracle, body, name="certify"):
    """Writes a sweep over `oracle` (copied next to it) with `body`, runs it, returns the file."""
    shutil.copy(oracle, tmp_path / "oracle.h5")
    sweep = tmp_path / f"{name}.toml"
    sweep.write_text(
        f'oracle = "oracle.h5"\noutput = "{name}.h5"\nseed = 1\nsamples = 16\nsolvers = ["adjoint"]\n'
        + body
        + '\n[adjoint]\nsteps = 300\n'
    )
    p = run("run", sweep, "--quiet", check=False, cwd=tmp_path)
    assert p.returncode == 0, f"exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    return tmp_path / f"{name}.h5"


BOX = """
[[constraints]]
name = "box"
fixed = { x4 = 100.0 }
bounds = { x1 = [0.0, 100.0], x2 = [0.0, 100.0], x3 = [0.0, 100.0] }
"""


def relu_oracle(run, binary):
    """paper4 data, ReLU network: trained once per build directory."""
    reference_oracle(binary, "paper4")  # makes paper4_train.csv
    cache = cache_dir(binary)
    out = cache / "paper4_relu.h5"
    if not out.exists():
        tmp = cache / "paper4_relu.h5.part"
        run("train-oracle", "--data", cache / "paper4_train.csv", "--inputs", "x1,x2,x3,x4", "--outputs", "y",
            "--activation", "relu", "--quiet", "--out", tmp)
        tmp.rename(out)
    return out


def check_maximum(run, tmp_path, oracle):
    path = run_sweep(run, tmp_path, oracle, '[objective]\nkind = "maximize"\noutput = "y"\n'
                     '[certify]\ntime_limit = 300\ntolerance = 1e-4\n' + BOX)
    with h5py.File(path, "r") as f:
        assert f["tasks/status"][0] == 1
        assert f["tasks/certificate"][0] == PROVEN
        lo, hi = f["tasks/bound_lo"][0, 0], f["tasks/bound_hi"][0, 0]
        assert lo <= hi and hi - lo <= TOL * max(1.0, abs(lo)), (lo, hi)
        assert f["tasks/reachable"][0] == -1 and f["tasks/n_roots"][0] == -1
        model = numpy_oracle(f["oracle"])
        # bound_hi is a proven bound: no point of the box may beat it.
        rng = np.random.default_rng(0)
        x = np.column_stack([rng.uniform(0, 100, (100000, 3)), np.full(100000, 100.0)])
        sampled = model(x)[:, 0].max()
        assert hi >= sampled, (hi, sampled)
        # bound_lo is attained by a stored vector of the task, inside the box.
        v, res = f["vectors"][0], f["residuals"][0]
        k = int(np.nanargmax(res))
        assert res[k] == lo
        assert np.all(v[k, :3] >= 0) and np.all(v[k, :3] <= 100) and v[k, 3] == 100.0
        np.testing.assert_allclose(model(v[k])[0, 0], lo, rtol=1e-12)
        np.testing.assert_allclose(f["outputs"][0, k, 0], lo, rtol=1e-12)
    out = run("status", path).stdout
    assert "max y ∈ [" in out and "(proven)" in out, out
    return lo, hi


def test_paper4_tanh_maximum_proven(run, invsweep_bin, tmp_path):
    lo, hi = check_maximum(run, tmp_path, reference_oracle(invsweep_bin, "paper4"))
    # The true function's maximum in this box is 787.34; the trained oracle is close to it.
    assert abs(hi - 787.34) < 0.05 * 787.34


def test_paper4_relu_maximum_proven(run, invsweep_bin, tmp_path):
    check_maximum(run, tmp_path, relu_oracle(run, invsweep_bin))


def test_targets_beside_the_maximum(run, invsweep_bin, tmp_path):
    oracle = reference_oracle(invsweep_bin, "paper4")
    first = tmp_path / "max"
    first.mkdir()
    _, hi = check_maximum(run, first, oracle)
    above, below = hi * 1.002, hi * 0.998
    path = run_sweep(run, tmp_path, oracle, f'[objective]\nkind = "target"\ntargets = [[{above!r}], [{below!r}]]\n'
                     '[certify]\ntime_limit = 300\n' + BOX, name="targets")
    with h5py.File(path, "r") as f:
        assert list(f["tasks/certificate"][:]) == [PROVEN, PROVEN]
        assert list(f["tasks/reachable"][:]) == [0, 1]
        # Not square (3 free features, 1 output): no root count.
        assert list(f["tasks/n_roots"][:]) == [-1, -1]
        enc_lo, enc_hi = f["tasks/bound_lo"][:, 0], f["tasks/bound_hi"][:, 0]
        assert np.all(enc_hi < above) and np.all(enc_hi >= below)
        model = numpy_oracle(f["oracle"])
        rng = np.random.default_rng(1)
        x = np.column_stack([rng.uniform(0, 100, (100000, 3)), np.full(100000, 100.0)])
        y = model(x)[:, 0]
        assert np.all(enc_lo <= y.min()) and np.all(enc_hi >= y.max())
    out = run("status", path).stdout
    assert "unreachable (proven: y ≤" in out and "reachable (verified point)" in out, out


def oracle_roots(model, lo, hi, t, n=2_000_001):
    """Sign changes of model(x) − t on a dense grid: the oracle's own roots."""
    x = np.linspace(lo, hi, n)
    y = model(x[:, None])[:, 0] - t
    return int(np.count_nonzero(np.sign(y[:-1]) * np.sign(y[1:]) < 0))


@pytest.mark.parametrize(
    "name, lo, hi, t, expected",
    [("multiroot", 0.001, 10.0, 0.0, 4), ("sinc", -10.0, 10.0, 0.95, 2)],
)
def test_root_counts_proven(run, invsweep_bin, tmp_path, name, lo, hi, t, expected):
    path = run_sweep(run, tmp_path, reference_oracle(invsweep_bin, name),
                     f'[objective]\nkind = "target"\ntargets = [[{t}]]\n[certify]\ntime_limit = 300\n'
                     f'[[constraints]]\nname = "interval"\nbounds = {{ x = [{lo}, {hi}] }}\n', name=name)
    with h5py.File(path, "r") as f:
        assert f["tasks/certificate"][0] == PROVEN
        n = int(f["tasks/n_roots"][0])
        assert f["tasks/reachable"][0] == (1 if n > 0 else 0)
        own = oracle_roots(numpy_oracle(f["oracle"]), lo, hi, t)
    # The proven count is the oracle's own (dense sampling); the trained oracle keeps the true
    # function's number of roots.
    assert n == own, (n, own)
    assert n == expected, (n, expected)
    out = run("status", path).stdout
    assert f"{expected} roots (proven)" in out, out


def test_unbounded_feature_not_applicable(run, invsweep_bin, tmp_path):
    path = run_sweep(run, tmp_path, reference_oracle(invsweep_bin, "paper4"),
                     '[objective]\nkind = "maximize"\noutput = "y"\n[certify]\ntime_limit = 5\n'
                     '[[constraints]]\nname = "free"\ndomain = false\n')
    with h5py.File(path, "r") as f:
        assert f["tasks/certificate"][0] == NOT_APPLICABLE
        assert np.all(np.isnan(f["tasks/bound_lo"][0])) and np.all(np.isnan(f["tasks/bound_hi"][0]))


def test_disabled_writes_not_run(run, invsweep_bin, tmp_path):
    path = run_sweep(run, tmp_path, reference_oracle(invsweep_bin, "paper4"),
                     '[objective]\nkind = "maximize"\noutput = "y"\n[certify]\nenabled = false\n' + BOX)
    with h5py.File(path, "r") as f:
        assert f["tasks/certificate"][0] == 0
        assert f["tasks/reachable"][0] == -1 and f["tasks/n_roots"][0] == -1
        assert np.isnan(f["tasks/bound_hi"][0, 0])


@pytest.mark.parametrize(
    "body, fragments",
    [
        ("time_limit = 0", ["certify.time_limit"]),
        ("tolerance = 2.0", ["certify.tolerance"]),
        ("enabled = 1", ["certify.enabled"]),
        ("max_boxes = 0", ["certify.max_boxes"]),
        ("time_limt = 3", ["time_limt", "time_limit"]),
    ],
)
def test_bad_certify_settings(expect_bad_input, invsweep_bin, tmp_path, body, fragments):
    shutil.copy(reference_oracle(invsweep_bin, "paper4"), tmp_path / "oracle.h5")
    sweep = tmp_path / "bad.toml"
    sweep.write_text('oracle = "oracle.h5"\n[objective]\nkind = "maximize"\noutput = "y"\n'
                     f"[certify]\n{body}\n" + BOX)
    expect_bad_input(["check", sweep], *fragments)
