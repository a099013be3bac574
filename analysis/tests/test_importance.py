"""Feature importance on synthetic results with known structure: exact values of every column,
ranks, the bootstrap interval, fixed features, range fallback and the comparison across targets."""

import numpy as np
import pytest

from invsweep.importance import compare_targets, importance_table
from invsweep.loader import load_results
from results_factory import Synth


def uniform_tasks(rng, n_tasks, n_samples, columns):
    """vectors [n_tasks, n_samples, len(columns)], column k drawn by columns[k](rng, shape)."""
    return np.stack([c(rng, (n_tasks, n_samples)) for c in columns], axis=-1)


def four_feature_file(path, seed=0, target_offsets=(0.0,)):
    """a nearly constant (std 0.001 on range 1), b uniform over its range 10, c normal std 1 on
    range 10 (spread 0.1), d fixed by the constraint. y = a, target per task = 0.5 + offset."""
    rng = np.random.default_rng(seed)
    vecs, tasks = [], []
    for k, off in enumerate(target_offsets):
        v = uniform_tasks(rng, 3, 200, [
            lambda r, s, off=off: 0.5 + off + r.normal(0, 0.001, s),
            lambda r, s: r.uniform(0, 10, s),
            lambda r, s, k=k: r.normal(0, (1.0, 2.9, 5.0)[k], s),  # c spreads more for later targets
            lambda r, s: np.full(s, 42.0),
        ])
        vecs.append(v)
        tasks += [{"target": [0.5 + off], "objective": "target", "solver": s, "constraint": 0, "replicate": i}
                  for i, s in enumerate(["generator", "generator", "adjoint"])]
    Synth(features=["a", "b", "c", "d"], outputs=["y"], lo=[0, 0, -5, 0], hi=[1, 10, 5, 100], tasks=tasks,
          vectors=np.concatenate(vecs), func=lambda x: x[..., :1], out_scale=1.0,
          constraints=[{"name": "d fixed", "fixed": {"d": 42.0}}]).write(path)
    return np.concatenate(vecs)


def test_every_column_matches_the_definition(tmp_path):
    path = tmp_path / "r.h5"
    vecs = four_feature_file(path)
    t = importance_table(load_results(path), n_boot=300, seed=1)
    assert len(t) == 3  # d is fixed: no row
    assert t["target"].tolist() == ["y=0.5"] * 3
    assert t["constraint"].tolist() == ["d fixed"] * 3
    assert t["feature"].tolist() == ["a", "b", "c"]
    x = vecs.reshape(-1, 4)  # every vector is accepted (|a - 0.5| < 0.005 = 1 % of 0.5 in practice)
    assert load_results(path).accepted().all()
    std = x[:, :3].std(axis=0)
    width = np.array([1.0, 10.0, 10.0])
    np.testing.assert_allclose(t["std"], std, rtol=1e-12)
    np.testing.assert_allclose(t["range"], width)
    np.testing.assert_allclose(t["spread"], std / width, rtol=1e-12)
    np.testing.assert_allclose(t["importance"], width / std, rtol=1e-12)
    assert t["rank"].tolist() == [1, 3, 2]  # a nearly constant -> 1; b uniform -> last
    assert t["range_source"].tolist() == ["oracle"] * 3
    assert t["n_vectors"].tolist() == [600] * 3
    assert t["n_tasks"].tolist() == [3] * 3
    # known magnitudes: a ~ 1/0.001 = 1000, b ~ sqrt(12) = 3.46, c ~ 10/1 = 10
    np.testing.assert_allclose(t["importance"], [1000, np.sqrt(12), 10], rtol=0.1)
    assert np.all(t["ci_low"] < t["importance"]) and np.all(t["importance"] < t["ci_high"])
    assert np.all(t["ci_high"] / t["ci_low"] < 1.5)


def test_bootstrap_is_seeded(tmp_path):
    path = tmp_path / "r.h5"
    four_feature_file(path)
    res = load_results(path)
    a = importance_table(res, n_boot=200, seed=3)
    b = importance_table(res, n_boot=200, seed=3)
    c = importance_table(res, n_boot=200, seed=4)
    assert a["ci_low"].tolist() == b["ci_low"].tolist() and a["ci_high"].tolist() == b["ci_high"].tolist()
    assert a["ci_low"].tolist() != c["ci_low"].tolist()
    assert a["importance"].tolist() == c["importance"].tolist()


def test_rejected_vectors_do_not_count(tmp_path):
    rng = np.random.default_rng(5)
    v = uniform_tasks(rng, 2, 100, [lambda r, s: r.uniform(0, 1, s), lambda r, s: r.uniform(0, 1, s)])
    residuals = np.full((2, 100), 1e-6)
    residuals[:, 50:] = 1.0  # half rejected (tolerance 1 % of target 1)
    path = tmp_path / "r.h5"
    Synth(features=["a", "b"], outputs=["y"], lo=[0, 0], hi=[1, 1], vectors=v, residuals=residuals,
          tasks=[{"target": [1.0], "objective": "target", "solver": "adjoint"}] * 2,
          func=lambda x: x[..., :1]).write(path)
    t = importance_table(load_results(path), n_boot=50)
    kept = v[:, :50].reshape(-1, 2)
    np.testing.assert_allclose(t["std"], kept.std(axis=0), rtol=1e-12)
    assert t["n_vectors"].tolist() == [100, 100]


def test_range_falls_back_to_the_accepted_vectors(tmp_path):
    rng = np.random.default_rng(6)
    v = uniform_tasks(rng, 2, 100, [lambda r, s: r.normal(3, 0.5, s), lambda r, s: r.uniform(0, 1, s)])
    path = tmp_path / "r.h5"
    Synth(features=["a", "b"], outputs=["y"], lo=[-np.inf, 0], hi=[np.inf, 1], vectors=v,
          tasks=[{"target": [1.0], "objective": "target", "solver": "adjoint"}] * 2,
          residuals=np.zeros((2, 100)), func=lambda x: x[..., :1]).write(path)
    t = importance_table(load_results(path), n_boot=50)
    assert t["range_source"].tolist() == ["vectors", "oracle"]
    x = v.reshape(-1, 2)
    assert t["range"][0] == pytest.approx(np.ptp(x[:, 0]), rel=1e-12)
    assert t["spread"][0] == pytest.approx(x[:, 0].std() / np.ptp(x[:, 0]), rel=1e-12)


def test_constant_feature_is_infinitely_important_and_ranks_first(tmp_path):
    rng = np.random.default_rng(7)
    v = uniform_tasks(rng, 1, 50, [lambda r, s: r.uniform(0, 1, s), lambda r, s: np.full(s, 0.25)])
    path = tmp_path / "r.h5"
    Synth(features=["a", "b"], outputs=["y"], lo=[0, 0], hi=[1, 1], vectors=v, residuals=np.zeros((1, 50)),
          tasks=[{"target": [1.0], "objective": "target", "solver": "generator"}], func=lambda x: x[..., :1]).write(path)
    t = importance_table(load_results(path), n_boot=50)
    assert t["rank"].tolist() == [2, 1]
    assert np.isinf(t["importance"][1]) and t["spread"][1] == 0.0


def test_settings_with_fewer_than_two_vectors_have_no_rows(tmp_path):
    v = np.full((1, 4, 2), np.nan)
    v[0, 0] = [0.5, 0.5]
    path = tmp_path / "r.h5"
    Synth(features=["a", "b"], outputs=["y"], lo=[0, 0], hi=[1, 1], vectors=v, residuals=np.zeros((1, 4)),
          tasks=[{"target": [1.0], "objective": "target", "solver": "generator"}], func=lambda x: x[..., :1]).write(path)
    t = importance_table(load_results(path))
    assert len(t) == 0 and t.names[:5] == ["target", "constraint", "feature", "importance", "rank"]


def test_comparison_across_targets(tmp_path):
    path = tmp_path / "r.h5"
    four_feature_file(path, target_offsets=(0.0, 0.2, 0.4))
    imp = importance_table(load_results(path), n_boot=50)
    # c's std grows 1, 2.9, 5 with the target: importance 10, 3.45, 2 -> ranks 2; 2 (3.45 against
    # b's 3.46: the intervals overlap, a tie); 3
    assert imp.where(imp["feature"] == "c")["rank"].tolist() == [2, 2, 3]
    wide = compare_targets(imp)
    assert wide.names == ["constraint", "feature", "importance[y=0.5]", "rank[y=0.5]", "importance[y=0.7]",
                          "rank[y=0.7]", "importance[y=0.9]", "rank[y=0.9]", "rank_min", "rank_max"]
    assert wide["feature"].tolist() == ["a", "b", "c"]
    assert wide["rank[y=0.5]"].tolist() == [1, 3, 2]
    assert wide["rank[y=0.7]"].tolist() == [1, 2, 2]
    assert wide["rank_min"].tolist() == [1, 2, 2] and wide["rank_max"].tolist() == [1, 3, 3]
    for target in ("y=0.5", "y=0.7", "y=0.9"):
        sel = imp.where(imp["target"] == target)
        assert wide[f"importance[{target}]"].tolist() == sel["importance"].tolist()


def paper4(x):
    x = np.clip(x, 0.0, None)
    return (9 * x[..., 0] ** 0.87 + 8.97 * x[..., 0] ** 0.02 + 0.876 * x[..., 2] ** 0.12
            + 2.9876 * x[..., 3] ** 0.987)[..., None]


def solve_x1(y, x3, x4):
    """x1 with paper4(x1, ., x3, x4) = y, by bisection on [0, 500] (the function rises in x1)."""
    lo, hi = np.zeros_like(x3), np.full_like(x3, 500.0)
    for _ in range(80):
        mid = (lo + hi) / 2
        below = paper4(np.stack([mid, mid, x3, x4], axis=-1))[..., 0] < y
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return (lo + hi) / 2


def paper4_file(path, targets=(1900.0, 1000.0), n_samples=256, seed=0):
    """The structure of the paper's experiment 1 (y = 9 x1^0.87 + 8.97 x1^0.02 + 0.876 x3^0.12
    + 2.9876 x4^0.987 on [0, 500]^4, x2 absent): x2, which the function ignores, is uniform over
    its whole range (diversity on); x3 and x4 are spread as a generator spreads them; x1 solves
    the equation, so it is tightly determined by them."""
    rng = np.random.default_rng(seed)
    vecs, tasks = [], []
    for t in targets:
        for solver in ("generator", "adjoint"):
            for rep in range(2):
                x2 = rng.uniform(0, 500, n_samples)
                x3 = np.clip(rng.normal(250, 90, n_samples), 0, 500)
                x4 = np.clip(rng.normal(t / 25, t / 100, n_samples), 0, 500)
                x1 = solve_x1(t, x3, x4)
                vecs.append(np.stack([x1, x2, x3, x4], axis=-1))
                tasks.append({"target": [t], "objective": "target", "solver": solver, "replicate": rep})
    Synth(features=["x1", "x2", "x3", "x4"], outputs=["y"], lo=[0] * 4, hi=[500] * 4, tasks=tasks,
          vectors=np.array(vecs), func=paper4, out_scale=800.0).write(path)


def test_paper_experiment_1_structure_x2_least_important(tmp_path):
    path = tmp_path / "paper4.h5"
    paper4_file(path)
    res = load_results(path)
    assert res.accepted().all()
    imp = importance_table(res, n_boot=200)
    for target in ("y=1900", "y=1000"):
        t = imp.where(imp["target"] == target)
        ranks = dict(zip(t["feature"].tolist(), t["rank"].tolist()))
        assert ranks["x2"] == 4, ranks
        assert ranks["x1"] == 1, ranks
        x2 = t.where(t["feature"] == "x2")
        assert x2["importance"][0] == pytest.approx(np.sqrt(12), rel=0.1)  # uniform over the range
        # its interval lies below every other feature's
        others = t.where(t["feature"] != "x2")
        assert x2["ci_high"][0] < others["ci_low"].min()
