"""Determinacy, target response and cluster shares on synthetic results whose answer is known by
construction: uniform draws over the box (determinacy 0) or over its middle half (0.75), a
constant (1); targets that move two features by fixed slopes while a free feature and one
correlated with it stay put."""

import numpy as np

from invsweep.clusters import clusters_table, find_clusters
from invsweep.determinacy import DETERMINACY_COLUMNS, RESPONSE_COLUMNS, determinacy_table, response_table
from invsweep.loader import load_results
from results_factory import Synth

SOLVERS = ("generator", "adjoint", "amortized", "sampler", "cmaes")


def box_file(path, n_targets=1, seed=0, n_tasks=3, n_samples=300):
    """Features a (uniform over [0, 10]), b (uniform over [2.5, 7.5], the middle half of its box
    [0, 10]), c (constant 5), d (fixed); y = c, so every vector is exact. Per target: n_tasks
    sampler tasks and one generator task."""
    rng = np.random.default_rng(seed)
    per = n_tasks + 1
    m = n_targets * per
    v = np.stack([rng.uniform(0, 10, (m, n_samples)), rng.uniform(2.5, 7.5, (m, n_samples)),
                  np.full((m, n_samples), 5.0), np.full((m, n_samples), 1.0)], axis=-1)
    tasks = [{"target": [5.0 + 1e-9 * k], "objective": "target", "solver": "sampler" if i < n_tasks else "generator",
              "replicate": i} for k in range(n_targets) for i in range(per)]
    v[:, :, 2] += 1e-9 * np.repeat(np.arange(n_targets), per)[:, None]
    Synth(features=["a", "b", "c", "d"], outputs=["y"], lo=[0, 0, 0, 0], hi=[10, 10, 10, 10], tasks=tasks,
          vectors=v, func=lambda x: x[..., 2:3], constraints=[{"name": "d = 1", "fixed": {"d": 1.0}}],
          solver_names=SOLVERS).write(path)


def test_determinacy_values_columns_and_faithfulness(tmp_path):
    box_file(tmp_path / "r.h5")
    t = determinacy_table(load_results(tmp_path / "r.h5"), seed=1)
    assert t.names[:8] == ["constraint", "target", "solver", "feature", "determinacy", "lo", "hi", "n"]
    assert t.names == DETERMINACY_COLUMNS
    assert t["solver"].tolist() == ["sampler"] * 3 + ["generator"] * 3  # d is fixed: no row
    assert t["feature"].tolist() == ["a", "b", "c"] * 2
    assert t["target"].tolist() == ["5"] * 6 and t["constraint"].tolist() == ["d = 1"] * 6
    assert t["faithful"].tolist() == [True] * 3 + [False] * 3
    assert t["n"].tolist() == [900] * 3 + [300] * 3
    truth = np.array([0.0, 0.75, 1.0] * 2)
    d, lo, hi = t["determinacy"], t["lo"], t["hi"]
    assert np.all(np.abs(d - truth) < 0.06), d
    assert np.all((lo <= d) & (d <= hi))
    sampler = slice(0, 3)
    assert np.all((lo[sampler] <= truth[sampler]) & (truth[sampler] <= hi[sampler]))
    assert np.all(hi[sampler] - lo[sampler] < 0.2)
    assert t["rank"].tolist()[:3] == [3, 2, 1]  # c pinned, b half-spread, a free


def test_determinacy_prior_is_the_settings_box(tmp_path):
    # b uniform over [2.5, 7.5] and the setting bounds b to exactly that: as free as its prior.
    rng = np.random.default_rng(3)
    v = np.stack([rng.uniform(0, 10, (2, 400)), rng.uniform(2.5, 7.5, (2, 400))], axis=-1)
    Synth(features=["a", "b"], outputs=["y"], lo=[0, 0], hi=[10, 10], vectors=v, func=lambda x: 0 * x[..., :1],
          tasks=[{"target": [0.0], "objective": "target", "solver": "sampler", "replicate": i} for i in range(2)],
          constraints=[{"name": "b in [2.5, 7.5]", "bounds": {"b": (2.5, 7.5)}}], solver_names=SOLVERS,
          ).write(tmp_path / "r.h5")
    t = determinacy_table(load_results(tmp_path / "r.h5"))
    assert np.all(np.abs(t["determinacy"]) < 0.06) and np.all((t["lo"] < 0) & (0 < t["hi"]))


def test_determinacy_intervals_cover_the_truth(tmp_path):
    # 30 groups x 2 features with known determinacy 0 and 0.75: a 95 % interval should miss
    # the truth about 3 times in 60 (more than 9 misses has probability < 0.2 %).
    box_file(tmp_path / "r.h5", n_targets=30, seed=7, n_tasks=3, n_samples=100)
    t = determinacy_table(load_results(tmp_path / "r.h5"), seed=2)
    t = t.where((t["solver"] == "sampler") & (t["feature"] != "c"))
    assert len(t) == 60
    truth = np.where(t["feature"] == "a", 0.0, 0.75)
    misses = int(np.sum((truth < t["lo"]) | (truth > t["hi"])))
    assert misses <= 9, misses


def response_file(path, seed=0, out_scale=2.0):
    """y = x1 + 2 x2 over targets 1..6; x1 = t/2 + u, x2 = t/4 - u/2 (u uniform on [-1, 1]) so
    that every vector is exact; x3 free uniform over its box, x4 = x3 + noise (correlated with a
    free feature); boxes [-5, 5] for x1, x2 and [0, 10] for x3, x4. Three sampler tasks and one
    adjoint task per target."""
    rng = np.random.default_rng(seed)
    targets = np.arange(1.0, 7.0)
    tasks, vecs = [], []
    for t in targets:
        for i, solver in enumerate(["sampler"] * 3 + ["adjoint"]):
            u = rng.uniform(-1, 1, 200)
            x3 = rng.uniform(0, 10, 200)
            vecs.append(np.column_stack([t / 2 + u, t / 4 - u / 2, x3, np.clip(x3 + rng.normal(0, 0.5, 200), 0, 10)]))
            tasks.append({"target": [t], "objective": "target", "solver": solver, "replicate": i})
    Synth(features=["x1", "x2", "x3", "x4"], outputs=["y"], lo=[-5, -5, 0, 0], hi=[5, 5, 10, 10], tasks=tasks,
          vectors=np.array(vecs), func=lambda x: x[..., :1] + 2 * x[..., 1:2], out_scale=out_scale,
          solver_names=SOLVERS).write(path)


def test_response_recovers_the_features_that_move_with_the_target(tmp_path):
    response_file(tmp_path / "r.h5")
    res = load_results(tmp_path / "r.h5")
    assert res.accepted().all()
    t = response_table(res, seed=4)
    assert t.names[:8] == ["constraint", "solver", "output", "feature", "slope", "lo", "hi", "n"]
    assert t.names == RESPONSE_COLUMNS
    assert t["solver"].tolist() == ["sampler"] * 4 + ["adjoint"] * 4
    assert t["faithful"].tolist() == [True] * 4 + [False] * 4
    s = t.where(t["solver"] == "sampler")
    assert s["n"].tolist() == [3600] * 4 and s["n_targets"].tolist() == [6] * 4
    # dE[x]/dt = 0.5, 0.25, 0, 0 in raw units; in prior sds (10/sqrt(12)) per output scale (2):
    truth = np.array([0.5, 0.25, 0.0, 0.0]) * 2.0 / (10 / np.sqrt(12))
    np.testing.assert_allclose(s["slope"], truth, atol=0.03)
    assert np.all((s["lo"] <= truth) & (truth <= s["hi"])), (s["lo"], s["hi"])
    moves = (s["lo"] > 0) | (s["hi"] < 0)
    assert moves.tolist() == [True, True, False, False]
    assert s["rank"].tolist() == [1, 2, 3, 3]


def test_response_needs_three_targets(tmp_path):
    response_file(tmp_path / "r.h5")
    res = load_results(tmp_path / "r.h5", statuses=("done",))
    keep = np.isin(res.target[:, 0], [1.0, 2.0])
    res.subset(keep)
    assert len(response_table(res)) == 0


def test_cluster_share_and_faithfulness(tmp_path):
    # Two roots of a sampler setting: 3/4 of the vectors near a = 1, 1/4 near a = 9.
    rng = np.random.default_rng(0)
    a = np.where(np.arange(400) < 300, 1.0, 9.0) + rng.normal(0, 0.01, 400)
    v = np.stack([a.reshape(2, 200), rng.uniform(0, 1, (2, 200))], axis=-1)
    solvers = [["sampler", "sampler"], ["sampler", "generator"]]
    for name, pair in zip(("faithful", "mixed"), solvers):
        Synth(features=["a", "b"], outputs=["y"], lo=[0, 0], hi=[10, 1], vectors=v, func=lambda x: 0 * x[..., :1],
              tasks=[{"target": [0.0], "objective": "target", "solver": s, "replicate": i} for i, s in enumerate(pair)],
              solver_names=SOLVERS).write(tmp_path / f"{name}.h5")
        res = load_results(tmp_path / f"{name}.h5")
        t = clusters_table(find_clusters(res), res.feature_names)
        assert t["share"].tolist() == [0.75, 0.25]
        assert t["faithful"].tolist() == [name == "faithful"] * 2
        # the sampler's own vectors: all 400 (3/4 near 1) or the first task's 200 (all near 1)
        assert t["sampler_share"].tolist() == ([0.75, 0.25] if name == "faithful" else [1.0, 0.0])


def test_task_level_resampling_equals_weighting_every_vector_of_a_task():
    # With >= 10 tasks the bootstrap works on per-task sums; the same Poisson draws applied to
    # every vector of each task, variance computed directly, must give the same numbers.
    from invsweep.stats import MIN_TASKS, poisson1, resampled_var

    rng = np.random.default_rng(1)
    task = np.repeat(np.arange(MIN_TASKS + 2), 7)[rng.permutation(7 * (MIN_TASKS + 2))]
    x = rng.normal(3.0, 2.0, (len(task), 3))
    got = resampled_var(task, x, 50, np.random.default_rng(5))
    w_task = poisson1(np.random.default_rng(5), (50, MIN_TASKS + 2))
    w = w_task[:, np.unique(task, return_inverse=True)[1]]
    mean = (w @ x) / w.sum(axis=1, keepdims=True)
    want = np.einsum("bm,bmd->bd", w, (x[None] - mean[:, None]) ** 2) / w.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(got, want, rtol=1e-10)
