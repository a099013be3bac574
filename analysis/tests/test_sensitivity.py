"""Sobol' indices against closed forms: the Ishigami function (a = 7, b = 0.1), an additive
function whose indices are ratios of one-dimensional variances computed here by quadrature, and
a linear oracle; the intervals' coverage over repeated seeds; the command's bad input."""

import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from invsweep.sensitivity import SensitivityError, sobol
from invsweep.stats import tied_ranks
from invsweep.table import read_csv
from results_factory import write_oracle

ANALYSIS = Path(__file__).resolve().parents[1]
PI = np.pi


def ishigami(x, a=7.0, b=0.1):
    return (np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0]))[:, None]


def ishigami_truth(a=7.0, b=0.1):
    """Closed form (Ishigami & Homma 1990; Sobol' & Levitan 1999)."""
    v1 = 0.5 * (1 + b * PI**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * PI**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / v, np.array([v1 + v13, v2, v13]) / v


def test_ishigami_closed_form_is_the_published_one():
    s1, st = ishigami_truth()
    np.testing.assert_allclose(s1, [0.314, 0.442, 0.0], atol=6e-4)
    np.testing.assert_allclose(st, [0.558, 0.442, 0.244], atol=6e-4)


def test_ishigami_indices_within_0_03_and_intervals_narrower_than_0_02():
    s1, st = ishigami_truth()
    s = sobol(ishigami, [-PI] * 3, [PI] * 3, seed=11)
    assert np.all(np.abs(s.s1[0] - s1) <= 0.03) and np.all(np.abs(s.st[0] - st) <= 0.03), (s.s1, s.st)
    assert s.half_width <= 0.02 and s.n >= 4096
    for est, lo, hi in ((s.s1, s.s1_lo, s.s1_hi), (s.st, s.st_lo, s.st_hi)):
        assert np.all((lo <= est) & (est <= hi))


def test_intervals_cover_the_truth_about_95_percent_of_the_time():
    s1, st = ishigami_truth()
    hits, total = 0, 0
    for seed in range(30):
        s = sobol(ishigami, [-PI] * 3, [PI] * 3, n=1024, n_boot=200, seed=seed)
        hits += int(np.sum((s.s1_lo[0] <= s1) & (s1 <= s.s1_hi[0])) + np.sum((s.st_lo[0] <= st) & (st <= s.st_hi[0])))
        total += 6
    # 180 intervals at a nominal 95 %: the binomial 1 % quantile at p = 0.95 is ~0.91.
    assert hits / total >= 0.88, hits / total


def paper4_terms(x):
    """paper4's additive terms g1(x1), g3(x3), g4(x4) (x2 does not enter)."""
    return [9 * x**0.87 + 8.97 * x**0.02, 0.0 * x, 0.876 * x**0.12, 2.9876 * x**0.987]


def test_additive_function_indices_equal_the_variance_shares_by_quadrature():
    # For an additive function S1_j = ST_j = Var(g_j) / sum Var(g); Var(g_j) by 400-point
    # Gauss-Legendre over [0, 500] (x^0.02 and x^0.12 are steep at 0, but their share of the
    # variance is far below the tolerance).
    nodes, weights = np.polynomial.legendre.leggauss(400)
    x = 250.0 * (nodes + 1)
    w = weights / 2
    var = np.array([np.sum(w * g**2) - np.sum(w * g) ** 2 for g in paper4_terms(x)])
    truth = var / var.sum()
    f = lambda v: (9 * v[:, 0] ** 0.87 + 8.97 * v[:, 0] ** 0.02 + 0.876 * v[:, 2] ** 0.12
                   + 2.9876 * v[:, 3] ** 0.987)[:, None]
    s = sobol(f, [0.0] * 4, [500.0] * 4, seed=3)
    np.testing.assert_allclose(s.st[0], truth, atol=0.02)
    np.testing.assert_allclose(s.s1[0], truth, atol=0.03)
    assert s.st[0, 1] < 1e-12  # x2 absent: f(A) = f(AB_2) exactly


def test_fixed_features_are_held_and_left_out():
    f = lambda v: (v[:, 0] + 10 * v[:, 1] * v[:, 2])[:, None]
    s = sobol(f, [0, 0, 0], [1, 1, 1], fixed=[np.nan, np.nan, 0.0], seed=1)
    assert s.free.tolist() == [0, 1]
    np.testing.assert_allclose(s.st[0], [1.0, 0.0], atol=0.02)  # x3 = 0 switches x2 off


def test_bad_boxes_are_refused():
    with pytest.raises(SensitivityError, match="not a finite interval"):
        sobol(ishigami, [-PI, -np.inf, -PI], [PI] * 3)
    with pytest.raises(SensitivityError, match="every feature is fixed"):
        sobol(ishigami, [-PI] * 3, [PI] * 3, fixed=[0, 0, 0])


def test_ranks_tie_where_intervals_overlap():
    assert tied_ranks([0.5, 0.1, 0.45, 0.0], [0.6, 0.2, 0.55, 0.01]).tolist() == [1, 3, 1, 4]
    assert tied_ranks([0.5, 0.1], [0.6, 0.2], larger_first=False).tolist() == [2, 1]
    assert tied_ranks([0.5, np.nan], [0.6, np.nan]).tolist() == [1, 2]


def run_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "invsweep", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env={"PYTHONPATH": str(ANALYSIS), "PATH": "/usr/bin:/bin"})


def linear_oracle(path, lo, hi):
    with h5py.File(path, "w") as f:
        write_oracle(f.create_group("oracle"), ["a", "b", "c"], ["y"], lo, hi)


def test_command_on_a_linear_oracle(tmp_path):
    # y = mean of the inputs: S1 = ST = width_j^2 / sum of width^2.
    linear_oracle(tmp_path / "o.h5", [0, 0, 0], [1, 2, 3])
    p = run_cli("sensitivity", "o.h5", "-o", "out", "--n", "8192", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    rows = read_csv(tmp_path / "out/sensitivity.csv")
    assert list(rows[0])[:9] == ["constraint", "output", "feature", "S1", "S1_lo", "S1_hi", "ST", "ST_lo", "ST_hi"]
    truth = np.array([1, 4, 9]) / 14
    np.testing.assert_allclose([float(r["ST"]) for r in rows], truth, atol=0.02)
    np.testing.assert_allclose([float(r["S1"]) for r in rows], truth, atol=0.02)
    assert [r["rank"] for r in rows] == ["3", "2", "1"]
    assert all(r["n"] == "8192" for r in rows)
    assert (tmp_path / "out/sensitivity.png").is_file()
    assert "N = 8192" in p.stdout


@pytest.mark.parametrize("args, fragment", [
    (["missing.h5"], "missing.h5: no such file"),
    (["bad.h5"], "bad.h5"),
    (["empty.h5"], "group '/oracle' is missing"),
    (["unbounded.h5"], "not a finite interval"),
    (["o.h5", "--n", "1"], "--n must be >= 2"),
    (["o.h5", "--n", "many"], "invalid int value"),
])
def test_command_bad_input_exits_2_without_traceback(tmp_path, args, fragment):
    linear_oracle(tmp_path / "o.h5", [0, 0, 0], [1, 1, 1])
    linear_oracle(tmp_path / "unbounded.h5", [0, -np.inf, 0], [1, 1, 1])
    (tmp_path / "bad.h5").write_text("not hdf5")
    h5py.File(tmp_path / "empty.h5", "w").close()
    p = run_cli("sensitivity", *args, "-o", "out", cwd=tmp_path)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert fragment in p.stderr and "Traceback" not in p.stderr, p.stderr
    assert not (tmp_path / "out").exists()
