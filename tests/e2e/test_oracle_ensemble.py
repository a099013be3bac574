"""Oracle ensembles end to end: train-oracle --ensemble 3 writes one ordinary network (the
members' mean) plus /oracle/ensemble; numpy re-evaluates every member from the file alone; a
sweep stores /spread, the members' standard deviation at each stored vector; `[regularize]
uncertainty` lowers that spread while the target is still hit; bad input is refused."""

import h5py
import numpy as np
import pytest

from invsweep.oracle import load_oracle

ACT = {"tanh": np.tanh, "identity": lambda z: z}


def members_numpy(path, x):
    """Every member's output [K, batch, n_out] in original units, from the file's datasets
    only (independent of the C++ code and of invsweep.oracle)."""
    with h5py.File(path, "r") as f:
        g = f["oracle"]
        layers = [g["layers"][str(i)] for i in range(len(g["layers"]))]
        ws = [l["weight"][()] for l in layers]
        bs = [l["bias"][()] for l in layers]
        acts = [l.attrs["activation"] for l in layers]
        acts = [a.decode() if isinstance(a, bytes) else a for a in acts]
        K = int(g["ensemble"].attrs["members"])
        mw, mb = g["ensemble"]["weight"][()], g["ensemble"]["bias"][()]
        im, isc = g["input_scaler"]["mean"][()], g["input_scaler"]["scale"][()]
        om, osc = g["output_scaler"]["mean"][()], g["output_scaler"]["scale"][()]
    h = (x - im) / isc
    for w, b, a in zip(ws[:-1], bs[:-1], acts[:-1]):
        h = ACT[a](h @ w.T + b)
    width = h.shape[1] // K
    out = [(h[:, k * width:(k + 1) * width] @ mw[k].T + mb[k]) * osc + om for k in range(K)]
    return np.stack(out)


@pytest.fixture(scope="module")
def ensemble(invsweep_bin, tmp_path_factory):
    d = tmp_path_factory.mktemp("ensemble")
    rng = np.random.default_rng(3)
    # Few rows in a corner of the box: the members agree where the data are and disagree
    # elsewhere, so that the spread varies along the target's level set (no weight decay, which
    # would make these 150 rows' members smooth and alike).
    x = rng.uniform(-1.0, 1.0, size=(150, 2))
    y = np.sin(1.5 * x[:, 0]) + 0.5 * x[:, 1] ** 2 + x[:, 1]
    (d / "data.csv").write_text("x1,x2,y\n" + "".join(f"{a:.9g},{b:.9g},{c:.9g}\n" for (a, b), c in zip(x, y)))
    from conftest import Runner

    run = Runner(invsweep_bin)
    p = run("train-oracle", "--data", d / "data.csv", "--inputs", "x1,x2", "--outputs", "y", "--hidden", "16,16",
            "--epochs", "400", "--ensemble", "3", "--seed", "5", "--weight-decay", "0", "--quiet", "--out", d / "ens.h5")
    return d, p.stdout


def test_members_mean_is_the_stored_network(ensemble):
    d, stdout = ensemble
    assert "ensemble of 3 members" in stdout and "members' spread" in stdout and "out-of-bag" in stdout
    x = np.random.default_rng(0).uniform(-3.0, 3.0, size=(500, 2))
    members = members_numpy(d / "ens.h5", x)
    assert members.shape == (3, 500, 1)
    mean = load_oracle(d / "ens.h5")(x)  # the ordinary reader: /oracle/layers only
    assert np.max(np.abs(members.mean(axis=0) - mean)) < 1e-10 * max(1.0, np.abs(mean).max())
    # invsweep.oracle evaluates them too.
    o = load_oracle(d / "ens.h5")
    assert o.n_members == 3
    assert np.max(np.abs(o.members(x) - members)) < 1e-12 * max(1.0, np.abs(members).max())
    # They are different networks (own seeds and splits), not copies.
    assert np.abs(members[0] - members[1]).max() > 1e-3
    with h5py.File(d / "ens.h5", "r") as f:
        assert f["oracle/ensemble"].attrs["members"] == 3
        assert f["oracle/layers/0/weight"].shape == (48, 2)
        assert f["oracle/ensemble/weight"].shape == (3, 1, 16)
        # Out-of-bag metrics: the rows some member held out (14 of the 135 non-test rows each, own
        # splits), and a good fit.
        m = f["oracle/metrics"].attrs
        assert m["n_train"] == 135 and 14 <= m["n_val"] <= 42
        assert m["val_r2"][0] > 0.95


SWEEP = """oracle = "ens.h5"
seed = 11
samples = 64
solvers = ["generator", "adjoint"]

[objective]
kind = "target"
targets = [[0.8]]

[[constraints]]
name = "box"
bounds = {{ x1 = [-3.0, 3.0], x2 = [-3.0, 3.0] }}
domain = false

[generator]
steps = 600
lr = 3e-3

[adjoint]
steps = 600
lr = 2e-2

[polish]

[regularize]
diversity = 0.2
uncertainty = {lam}
"""


def sweep(run, d, lam):
    (d / f"s{lam}.toml").write_text(SWEEP.format(lam=lam))
    run("run", d / f"s{lam}.toml", "--out", d / f"r{lam}.h5")
    with h5py.File(d / f"r{lam}.h5", "r") as f:
        return {k: f[k][()] for k in ("vectors", "spread", "residuals", "tasks/status")}


def test_spread_is_the_members_std_and_uncertainty_lowers_it(run, ensemble):
    d, _ = ensemble
    free, penalised = sweep(run, d, 0.0), sweep(run, d, 10.0)
    for r in (free, penalised):
        assert (r["tasks/status"] == 1).all()
        v = r["vectors"].reshape(-1, 2)
        ok = np.isfinite(v).all(axis=1)
        truth = members_numpy(d / "ens.h5", v[ok]).std(axis=0)  # numpy's std over members
        got = r["spread"].reshape(-1, 1)
        assert r["spread"].shape == (2, 64, 1)
        assert np.max(np.abs(got[ok] - truth)) < 1e-9 * max(1.0, truth.max())
        assert np.isnan(got[~ok]).all()
    # The target is hit with and without the penalty (polish), per solver.
    for r in (free, penalised):
        assert np.nanmax(r["residuals"]) < 1e-6, r["residuals"]
    for t, solver in enumerate(("generator", "adjoint")):
        s0, s1 = np.nanmean(free["spread"][t]), np.nanmean(penalised["spread"][t])
        print(f"{solver}: mean spread λ=0 {s0:.4g}, λ=10 {s1:.4g}; max residual "
              f"{np.nanmax(free['residuals'][t]):.2g} / {np.nanmax(penalised['residuals'][t]):.2g}")
        assert s1 < 0.7 * s0, (solver, s0, s1)
    # The Python readers expose it.
    import invsweep
    from invsweep.loader import load_results

    res = load_results(d / "r10.0.h5")
    assert res.spread is not None and res.spread.shape == (2, 64, 1)
    np.testing.assert_array_equal(res.spread, penalised["spread"])
    ds = invsweep.open_results(d / "r10.0.h5")
    assert ds.spread.dims == ("task", "sample", "output")
    ds.close()


def test_cmaes_takes_the_penalty_too(run, ensemble):
    d, _ = ensemble
    text = SWEEP.format(lam=10.0).replace('solvers = ["generator", "adjoint"]', 'solvers = ["cmaes"]')
    text = text.replace("diversity = 0.2\n", "").replace("samples = 64", "samples = 8")
    (d / "c.toml").write_text(text)
    run("run", d / "c.toml", "--out", d / "c.h5")
    with h5py.File(d / "c.h5", "r") as f:
        assert f["tasks/status"][0] == 1
        assert np.isfinite(f["spread"][()]).all()


def test_single_network_has_no_spread(run, ensemble, tmp_path):
    d, _ = ensemble
    run("train-oracle", "--data", d / "data.csv", "--inputs", "x1,x2", "--outputs", "y", "--hidden", "8",
        "--epochs", "5", "--quiet", "--out", tmp_path / "one.h5")
    with h5py.File(tmp_path / "one.h5", "r") as f:
        assert "ensemble" not in f["oracle"]
    (tmp_path / "s.toml").write_text(SWEEP.replace("ens.h5", "one.h5").format(lam=0.0).replace(
        "steps = 600", "steps = 5"))
    run("run", tmp_path / "s.toml", "--out", tmp_path / "r.h5")
    with h5py.File(tmp_path / "r.h5", "r") as f:
        assert "spread" not in f


def test_uncertainty_without_an_ensemble_is_refused(run, ensemble, tmp_path, expect_bad_input):
    d, _ = ensemble
    run("train-oracle", "--data", d / "data.csv", "--inputs", "x1,x2", "--outputs", "y", "--hidden", "8",
        "--epochs", "5", "--quiet", "--out", tmp_path / "one.h5")
    (tmp_path / "s.toml").write_text(SWEEP.replace("ens.h5", "one.h5").format(lam=1.0))
    expect_bad_input(["run", "s.toml", "--out", "r.h5"], "s.toml:", "regularize.uncertainty", "ensemble")
    expect_bad_input(["check", "s.toml"], "regularize.uncertainty")


def test_uncertainty_with_the_sampler_is_refused(ensemble, tmp_path, expect_bad_input):
    import shutil

    d, _ = ensemble
    shutil.copy(d / "ens.h5", tmp_path / "ens.h5")
    (tmp_path / "s.toml").write_text(SWEEP.format(lam=1.0).replace('["generator", "adjoint"]', '["sampler"]'))
    expect_bad_input(["run", "s.toml", "--out", "r.h5"], "regularize.uncertainty", "sampler")


@pytest.mark.parametrize("k", ["0", "-2", "two"])
def test_bad_ensemble_count(ensemble, tmp_path, expect_bad_input, k):
    import shutil

    d, _ = ensemble
    shutil.copy(d / "data.csv", tmp_path / "data.csv")
    expect_bad_input(["train-oracle", "--data", "data.csv", "--inputs", "x1,x2", "--outputs", "y", "--ensemble", k,
                      "--out", "o.h5"], "--ensemble")


def test_one_test_split_for_the_whole_ensemble(ensemble, tmp_path, expect_bad_input):
    """The members share the held-out test rows (no member trains or stops on them): the
    ensemble's test figures are in the file, over round(0.1 · 150) = 15 rows, and the
    ensemble's statistics cover every row of the data."""
    import shutil

    d, stdout = ensemble
    assert "15 test rows no member saw" in stdout and "ensemble test RMSE" in stdout
    data = np.loadtxt(d / "data.csv", delimiter=",", skiprows=1)
    with h5py.File(d / "ens.h5") as f:
        m = f["oracle/metrics"].attrs
        assert int(m["n_test"]) == 15 and int(m["n_train"]) == 150 - 15
        assert np.all(np.isfinite(m["test_rmse"])) and m["test_r2"][0] > 0.5
        np.testing.assert_allclose(f["oracle/input_stats/mean"][()], data[:, :2].mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(f["oracle/input_stats/cov"][()], np.cov(data[:, :2], rowvar=False), rtol=1e-10)
    shutil.copy(d / "data.csv", tmp_path / "data.csv")
    expect_bad_input(["train-oracle", "--data", "data.csv", "--inputs", "x1,x2", "--outputs", "y", "--ensemble", "3",
                      "--cv", "3", "--out", "o.h5"], "--cv 3 with --ensemble 3")
