"""train-oracle's honest figures: a test split that training and early stopping never see,
K-fold cross-validation, decoupled weight decay, training without validation, the warnings,
and the recorded training-data statistics — each checked against numpy on the CSV."""

import h5py
import numpy as np
import pytest

from invsweep.oracle import load_oracle

INPUTS = "x1,x2,x3,x4"


def write_csv(path, header, columns):
    np.savetxt(path, np.column_stack(columns), delimiter=",", header=",".join(header), comments="", fmt="%.17g")
    return path


@pytest.fixture
def paper4(tmp_path, run):
    p = tmp_path / "paper4.csv"
    run("dataset", "paper4", "--n", "400", "--seed", "3", "-o", p)
    return p


def load_xy(csv):
    data = np.genfromtxt(csv, delimiter=",", names=True)
    x = np.column_stack([data[n] for n in INPUTS.split(",")])
    return x, data["y"]


def train(run, csv, out, *extra):
    return run("train-oracle", "--data", csv, "--inputs", INPUTS, "--outputs", "y", "--out", out, "--quiet", *extra)


def test_three_disjoint_sets_and_their_figures(tmp_path, run, paper4):
    """Test, validation and training rows partition the data in the default shares (10 %, 10 %,
    80 %): the squared errors the file records for each set add up to numpy's over every row."""
    out = tmp_path / "o.h5"
    p = train(run, paper4, out, "--hidden", "16,16", "--epochs", "300")
    m = load_oracle(out).metrics
    assert (m["n_test"], m["n_val"], m["n_train"]) == (40, 40, 320)
    x, y = load_xy(paper4)
    sse = float(np.sum((load_oracle(out)(x)[:, 0] - y) ** 2))
    parts = sum(float(m[f"{s}_rmse"][0]) ** 2 * int(m[f"n_{s}"]) for s in ("test", "val", "train"))
    assert parts == pytest.approx(sse, rel=1e-9)
    assert 0.5 < m["test_r2"][0] <= 1
    assert "test RMSE" in p.stdout and f"{m['test_r2'][0]:.7f}" in p.stdout


def test_no_test_rows(tmp_path, run, paper4):
    out = tmp_path / "o.h5"
    p = train(run, paper4, out, "--hidden", "8", "--epochs", "20", "--test-fraction", "0")
    m = load_oracle(out).metrics
    assert m["n_test"] == 0 and "test_r2" not in m and "test_rmse" not in m
    assert (m["n_val"], m["n_train"]) == (40, 360)
    assert "no test rows (--test-fraction 0)" in p.stdout


def test_no_validation_trains_every_epoch(tmp_path, run, paper4):
    out = tmp_path / "o.h5"
    p = run("train-oracle", "--data", paper4, "--inputs", INPUTS, "--outputs", "y", "--out", out, "--hidden", "8",
            "--epochs", "37", "--val-fraction", "0", "--patience", "1", "--lr-patience", "1")
    m = load_oracle(out).metrics
    assert m["epochs"] == 37 and m["n_val"] == 0 and "val_r2" not in m
    assert (m["n_test"], m["n_train"]) == (40, 360)
    assert "no early stopping, trained all 37 epochs" in p.stdout


def test_weight_decay_shrinks_the_weights(tmp_path, run, paper4):
    norms = []
    for wd in ("0", "0.3"):
        out = tmp_path / f"wd{wd}.h5"
        train(run, paper4, out, "--hidden", "16", "--epochs", "200", "--val-fraction", "0", "--weight-decay", wd)
        o = load_oracle(out)
        norms.append((sum(float(np.sum(w**2)) for w in o.weights), sum(float(np.sum(b**2)) for b in o.biases)))
    assert norms[1][0] < 0.5 * norms[0][0], norms


def test_cross_validation(tmp_path, run, paper4):
    out = tmp_path / "o.h5"
    p = train(run, paper4, out, "--hidden", "16,16", "--epochs", "300", "--cv", "3")
    m = load_oracle(out).metrics
    assert m["cv_folds"] == 3 and m["cv_r2_mean"].shape == (1,) and m["cv_r2_sd"].shape == (1,)
    assert 0.5 < m["cv_r2_mean"][0] <= 1 and m["cv_r2_sd"][0] >= 0
    # The saved oracle is the one of the usual split: the same file as without --cv.
    plain = tmp_path / "plain.h5"
    train(run, paper4, plain, "--hidden", "16,16", "--epochs", "300")
    a, b = load_oracle(out), load_oracle(plain)
    assert all(np.array_equal(u, v) for u, v in zip(a.weights, b.weights))
    assert "3-fold CV R²" in p.stdout


@pytest.mark.parametrize("args, fragments", [
    (["--cv", "1"], ["--cv 1", "at least 2"]),
    (["--cv", "400"], ["--cv 400", "360 rows outside the test set"]),
    (["--test-fraction", "0.9"], ["--test-fraction 0.9", "[0.01, 0.5]"]),
    (["--val-fraction", "0.7"], ["--val-fraction 0.7", "expected 0 or a value in [0.01, 0.5]"]),
    (["--weight-decay", "much"], ["--weight-decay much", "a number ≥ 0 or auto"]),
])
def test_bad_options(paper4, expect_bad_input, args, fragments):
    expect_bad_input(["train-oracle", "--data", paper4, "--inputs", INPUTS, "--outputs", "y", "--epochs", "2",
                      "--out", "out.h5", *args], *fragments)


def test_too_few_rows_for_the_test_split(tmp_path, expect_bad_input):
    csv = write_csv(tmp_path / "d.csv", ["a", "y"], [[1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 2.0, 5.0]])
    expect_bad_input(["train-oracle", "--data", csv, "--inputs", "a", "--outputs", "y", "--out", "out.h5",
                      "--test-fraction", "0.1"], "d.csv", "4 data rows are too few for --test-fraction 0.1")


def warnings_of(stderr):
    return [line for line in stderr.splitlines() if line.startswith("invsweep: warning:")]


def test_twenty_rows_warn(tmp_path, run):
    """20 rows of an output unrelated to the inputs: too few rows for 64-64's parameters, 2
    validation rows, and a test R² below 0.5 — each warning names its numbers."""
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(20, 3))
    csv = write_csv(tmp_path / "d.csv", ["a", "b", "c", "noise"], [x[:, 0], x[:, 1], x[:, 2], rng.normal(size=20)])
    out = tmp_path / "o.h5"
    p = run("train-oracle", "--data", csv, "--inputs", "a,b,c", "--outputs", "noise", "--epochs", "300", "-q",
            "--out", out)
    w = warnings_of(p.stderr)
    assert len(w) == 3, p.stderr
    assert "16 training values (16 rows × 1 output) for 4481 network parameters" in w[0]
    assert "only 2 validation rows (fewer than 30)" in w[1]
    r2 = load_oracle(out).metrics["test_r2"][0]
    assert f"output 'noise': test R² {r2:.3f} is below 0.5 (2 test rows)" in w[2]


def test_validation_r2_is_judged_without_test_rows(tmp_path, run):
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(400, 2))
    csv = write_csv(tmp_path / "d.csv", ["a", "b", "noise"], [x[:, 0], x[:, 1], rng.normal(size=400)])
    p = run("train-oracle", "--data", csv, "--inputs", "a,b", "--outputs", "noise", "--hidden", "4", "--epochs", "50",
            "--test-fraction", "0", "-q", "--out", tmp_path / "o.h5")
    w = warnings_of(p.stderr)
    assert len(w) == 1 and "output 'noise': validation R²" in w[0] and "(40 validation rows)" in w[0], p.stderr


def test_good_data_gives_no_warning(tmp_path, run):
    csv = tmp_path / "d.csv"
    run("dataset", "paper4", "--n", "2000", "-o", csv)
    p = train(run, csv, tmp_path / "o.h5", "--hidden", "16,16")
    assert warnings_of(p.stderr) == [], p.stderr
    assert load_oracle(tmp_path / "o.h5").metrics["test_r2"][0] > 0.99


def test_stored_statistics_are_numpys(tmp_path, run, paper4):
    out = tmp_path / "o.h5"
    train(run, paper4, out, "--hidden", "4", "--epochs", "2")
    x, y = load_xy(paper4)
    with h5py.File(out, "r") as f:
        np.testing.assert_allclose(f["oracle/input_stats/mean"][()], x.mean(axis=0), rtol=1e-12)
        cov = np.cov(x, rowvar=False, ddof=1)
        np.testing.assert_allclose(f["oracle/input_stats/cov"][()], cov, rtol=1e-10, atol=1e-12 * np.abs(cov).max())
        assert f["oracle/output_bounds/lo"][()] == [y.min()] and f["oracle/output_bounds/hi"][()] == [y.max()]
        d = x - x.mean(axis=0)  # the envelope: the largest Mahalanobis distance of a data row
        envelope = np.sqrt(np.einsum("ij,jk,ik->i", d, np.linalg.inv(cov), d)).max()
        np.testing.assert_allclose(f["oracle/input_stats"].attrs["max_distance"], [envelope], rtol=1e-9)


def test_cross_validation_matches_the_known_noise(tmp_path, run):
    """y = x·β + ε with unit-variance inputs and noise σ = 1: any good fit has a held-out R² of
    1 − σ² / (|β|² + σ²) = 1 − 1 / 5.25 ≈ 0.81. A linear network (identity activation) must find it in every fold."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2000, 3))
    y = x @ np.array([1.0, -1.5, 1.0]) + rng.normal(size=2000)
    csv = write_csv(tmp_path / "d.csv", ["a", "b", "c", "y"], [x[:, 0], x[:, 1], x[:, 2], y])
    out = tmp_path / "o.h5"
    run("train-oracle", "--data", csv, "--inputs", "a,b,c", "--outputs", "y", "--hidden", "2", "--activation",
        "identity", "--cv", "4", "--epochs", "300", "-q", "--out", out)
    m = load_oracle(out).metrics
    truth = 1 - 1 / 5.25
    # 450 held-out rows per fold: the sampling error of R² is about 0.02.
    assert m["cv_r2_mean"][0] == pytest.approx(truth, abs=0.03)
    assert 0 < m["cv_r2_sd"][0] < 0.05
    assert m["test_r2"][0] == pytest.approx(truth, abs=0.06)
