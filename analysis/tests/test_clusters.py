"""Root clustering on synthetic results with a known number of families: the multi-root case
(one family per root, centres within 0.05), one family for connected clouds, every table value."""

import numpy as np
import pytest
from scipy.optimize import brentq

from invsweep.clusters import clusters_table, find_clusters, link, required_ratio
from invsweep.loader import load_results
from results_factory import Synth


def multiroot(x):
    v = x[..., 0]
    return (np.sin(v) - 0.3 * np.log(v + 1) + 0.1 * np.exp(-v / 3) + 0.2 * np.sqrt(v) - 0.5)[..., None]


def multiroot_roots(target=0.0):
    """Every root of multiroot(x) = target in [0, 10], by sign changes on a fine grid + brentq."""
    f = lambda v: multiroot(np.array([[v]]))[0, 0] - target
    grid = np.linspace(0, 10, 10001)
    y = np.array([f(v) for v in grid])
    return np.array([brentq(f, grid[i], grid[i + 1]) for i in np.flatnonzero(np.sign(y[:-1]) != np.sign(y[1:]))])


def multiroot_file(path, roots, seed=0, n_samples=64, spread=(2e-3, 5e-3, 1e-3, 3e-3)):
    """2 solvers x 3 seeds; each vector sits near a root drawn at random (uneven shares, and each
    root with its own spread); a few vectors per task are far off (rejected by the residual)."""
    rng = np.random.default_rng(seed)
    weights = np.array([0.4, 0.3, 0.2, 0.1])[: len(roots)]
    vecs, tasks, which = [], [], []
    for solver in ("generator", "adjoint"):
        for rep in range(3):
            k = rng.choice(len(roots), n_samples, p=weights / weights.sum())
            x = roots[k] + rng.normal(0, 1, n_samples) * np.array(spread)[k]
            x[:3] = rng.uniform(0, 10, 3)  # off-root vectors: large residuals
            k[:3] = -1
            vecs.append(x[:, None])
            which.append(k)
            tasks.append({"target": [0.0], "objective": "target", "solver": solver, "replicate": rep})
    Synth(features=["x"], outputs=["y"], lo=[0.0], hi=[10.0], tasks=tasks, vectors=np.array(vecs),
          func=multiroot, out_scale=0.7).write(path)
    return np.array(vecs)[..., 0], np.array(which)


def test_multiroot_one_family_per_root_centres_within_0_05(tmp_path):
    roots = multiroot_roots()
    assert len(roots) == 4
    path = tmp_path / "multiroot.h5"
    x, which = multiroot_file(path, roots)
    res = load_results(path)
    table = clusters_table(find_clusters(res), res.feature_names)
    assert len(table) == len(roots)
    assert table["cluster"].tolist() == [0, 1, 2, 3]
    acc = res.accepted()
    for row in table.rows():
        nearest = int(np.argmin(np.abs(roots - row["center_x"])))
        assert abs(roots[nearest] - row["center_x"]) < 0.05
        members = acc & (np.abs(x - roots[nearest]) < 0.5)
        assert row["size"] == members.sum()
        assert row["center_x"] == pytest.approx(x[members].mean(), rel=1e-12)
        assert row["best_residual"] == res.residuals[members].min()
        assert row["n_tasks"] == 6
        solvers = row["solvers"].split()
        assert solvers == [f"adjoint:{members[3:].sum()}", f"generator:{members[:3].sum()}"]
        assert row["target"] == "y=0" and row["constraint"] == "free"
    # every root found, each exactly once; sizes in decreasing order
    assert sorted(np.argmin(np.abs(roots[:, None] - table["center_x"][None, :]), axis=0).tolist()) == [0, 1, 2, 3]
    assert table["size"].tolist() == sorted(table["size"].tolist(), reverse=True)
    assert table["gap_ratio"][0] >= required_ratio(int(acc.sum()))


def test_a_root_found_by_a_single_vector_is_its_own_family():
    x = np.r_[np.full(40, 0.2) + np.linspace(0, 1e-3, 40), [0.7]][:, None]
    labels, _, ratio = link(x)
    assert labels.tolist() == [0] * 40 + [1]
    assert ratio > 100


def test_exact_duplicates_per_root():
    x = np.repeat([0.1, 0.4, 0.8], 30)[:, None]
    labels, d, ratio = link(x)
    assert np.bincount(labels).tolist() == [30, 30, 30]
    assert d == 0.0 and np.isinf(ratio)


@pytest.mark.parametrize("m", [4, 10, 50, 300, 2000])
@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("kind", ["uniform", "normal"])
def test_connected_clouds_are_one_family(m, dims, kind):
    rng = np.random.default_rng(m * 10 + dims)
    x = rng.uniform(0, 1, (m, dims)) if kind == "uniform" else rng.normal(0.5, 0.1, (m, dims))
    labels, _, ratio = link(x)
    assert labels.max() == 0 and np.isnan(ratio)


def test_ring_and_blob_in_2d_are_two_families():
    rng = np.random.default_rng(3)
    t = rng.uniform(0, 2 * np.pi, 800)
    ring = np.c_[0.5 + 0.3 * np.cos(t), 0.5 + 0.3 * np.sin(t)] + rng.normal(0, 0.004, (800, 2))
    blob = rng.normal(0.5, 0.02, (200, 2))
    labels, _, _ = link(np.r_[ring, blob])
    assert labels[:800].tolist() == [0] * 800 and labels[800:].tolist() == [1] * 200


def test_subsampling_keeps_the_families():
    rng = np.random.default_rng(4)
    centres = np.array([[0.1, 0.1], [0.1, 0.9], [0.8, 0.5]])
    k = rng.integers(0, 3, 6000)
    x = centres[k] + rng.normal(0, 0.005, (6000, 2))
    x = np.r_[x, [[0.5, 0.5]]]  # a lone root, most likely not in the subsample
    full, _, _ = link(x[:6000])
    sub, _, _ = link(x, max_points=500, seed=1)
    assert sub.max() == 3 and sub[-1] == 3
    # same partition of the 6000 (labels may be permuted)
    assert len(set(zip(full.tolist(), sub[:6000].tolist()))) == 3


def test_given_link_distance_and_tiny_sets():
    x = np.array([[0.0], [0.05], [0.3], [0.32]])
    assert link(x, distance=0.1)[0].tolist() == [0, 0, 1, 1]
    assert link(x, distance=0.5)[0].tolist() == [0, 0, 0, 0]
    assert link(x[:3])[0].tolist() == [0, 0, 0]  # fewer than 4 vectors: one family
    assert link(x[:0])[0].tolist() == []


def test_fixed_features_are_not_clustered_but_reported(tmp_path):
    """Features a, b, c; c fixed at 7. Two families in (a, b); centres report c = 7."""
    rng = np.random.default_rng(8)
    v = np.empty((2, 50, 3))
    v[..., 0] = np.where(np.arange(50) < 30, 0.2, 0.8) + rng.normal(0, 0.002, (2, 50))
    v[..., 1] = rng.uniform(0.45, 0.55, (2, 50))
    v[..., 2] = 7.0
    path = tmp_path / "r.h5"
    Synth(features=["a", "b", "c"], outputs=["y"], lo=[0, 0, 0], hi=[1, 1, 10], vectors=v,
          residuals=np.zeros((2, 50)), constraints=[{"name": "c fixed", "fixed": {"c": 7.0}}],
          tasks=[{"target": [1.0], "objective": "target", "solver": "generator", "replicate": r} for r in range(2)],
          func=lambda x: x[..., :1]).write(path)
    res = load_results(path)
    found = find_clusters(res)
    assert found[0].scaled.shape == (100, 2)
    t = clusters_table(found, res.feature_names)
    assert t.names[:8] == ["target", "constraint", "cluster", "size", "best_residual", "center_a", "center_b", "center_c"]
    assert t["size"].tolist() == [60, 40]
    assert t["center_c"].tolist() == [7.0, 7.0]
    first = v[:, :30].reshape(-1, 3)
    assert t["center_a"][0] == pytest.approx(first[:, 0].mean(), rel=1e-12)
    assert t["center_b"][0] == pytest.approx(first[:, 1].mean(), rel=1e-12)
    assert t["solvers"].tolist() == ["generator:60", "generator:40"]


def test_every_feature_fixed_is_one_family(tmp_path):
    v = np.tile([[2.0, 3.0]], (1, 5, 1))
    path = tmp_path / "r.h5"
    Synth(features=["a", "b"], outputs=["y"], lo=[0, 0], hi=[5, 5], vectors=v, residuals=np.zeros((1, 5)),
          constraints=[{"name": "all fixed", "fixed": {"a": 2.0, "b": 3.0}}],
          tasks=[{"target": [1.0], "objective": "target", "solver": "adjoint"}], func=lambda x: x[..., :1]).write(path)
    res = load_results(path)
    t = clusters_table(find_clusters(res), res.feature_names)
    assert t["size"].tolist() == [5] and t["center_a"].tolist() == [2.0] and t["center_b"].tolist() == [3.0]


def test_paper4_structure_is_one_family(tmp_path):
    from test_importance import paper4_file

    path = tmp_path / "paper4.h5"
    paper4_file(path, targets=(1900.0,))
    res = load_results(path)
    t = clusters_table(find_clusters(res), res.feature_names)
    assert t["size"].tolist() == [1024]
