"""Loading results files: every value of the task and vector tables, the acceptance rule, the
status filter, and a clear ResultsError for every missing or malformed required part."""

import h5py
import numpy as np
import pytest

from invsweep.loader import ResultsError, load_results
from invsweep.tables import by_setting, summary_table, tasks_table, vectors_table
from results_factory import Synth, write_oracle


def small(**kw) -> Synth:
    """Features a, b; y = a + b; tolerance 1 % of |target| or atol = 0.01 * out_scale (0.02)."""
    tasks = [
        {"target": [10.0], "objective": "target", "solver": "generator", "constraint": 0, "replicate": 0, "seed": 11},
        {"target": [10.0], "objective": "target", "solver": "adjoint", "constraint": 0, "status": "diverged"},
        {"target": [10.0], "objective": "target", "solver": "generator", "constraint": 1, "replicate": 1,
         "status": "failed"},
        {"target": None, "objective": "maximize", "solver": "adjoint", "constraint": 0, "status": "pending"},
        {"target": [0.0], "objective": "target", "solver": "amortized", "constraint": 1, "replicate": 2, "seed": 15},
    ]
    nan = np.nan
    vectors = np.array([
        [[4.0, 6.05], [4.0, 6.2], [nan, nan]],
        [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]],
        [[1.0, 2.0], [nan, nan], [nan, nan]],
        [[nan, nan], [nan, nan], [nan, nan]],
        [[0.01, 0.0], [0.0, 0.03], [1.0, 1.0]],
    ])
    args = dict(features=["a", "b"], outputs=["y"], lo=[0.0, 0.0], hi=[10.0, 10.0], tasks=tasks, vectors=vectors,
                func=lambda x: x.sum(axis=-1, keepdims=True), out_scale=2.0,
                constraints=[{"name": "free"}, {"name": "b fixed", "fixed": {"b": 2.0}, "bounds": {"a": (0.0, 5.0)},
                                                "method": "penalty"}],
                messages=["", "loss became NaN at step 17", "oracle evaluation failed", "", ""])
    args.update(kw)
    return Synth(**args)


@pytest.fixture
def small_file(tmp_path):
    path = tmp_path / "small.h5"
    small().write(path)
    return path


def test_done_tasks_only_by_default(small_file):
    res = load_results(small_file)
    assert res.task_ids.tolist() == [0, 4]
    assert res.status_counts == {"pending": 1, "done": 2, "diverged": 1, "failed": 1}
    assert res.attrs["n_tasks"] == 5 and res.attrs["n_samples"] == 3
    assert res.feature_names == ["a", "b"] and res.output_names == ["y"]
    assert res.vectors.shape == (2, 3, 2) and res.outputs.shape == (2, 3, 1) and res.residuals.shape == (2, 3)


def test_task_table_values(small_file):
    t = tasks_table(load_results(small_file))
    assert t["task"].tolist() == [0, 4]
    assert t["target"].tolist() == ["y=10", "y=0"]
    assert t["objective"].tolist() == ["target", "target"]
    assert t["constraint"].tolist() == ["free", "b fixed"]
    assert t["solver"].tolist() == ["generator", "amortized"]
    assert t["replicate"].tolist() == [0, 2]
    assert t["seed"].tolist() == [11, 15]
    assert t["status"].tolist() == ["done", "done"]
    assert t["rank"].tolist() == [0, 1]
    assert t["wall_seconds"].tolist() == [1.0, 2.0]
    assert t["steps"].tolist() == [1000, 1000]
    np.testing.assert_allclose(t["final_loss"], [1e-6, 1e-5])
    # task 0: residuals 0.05 (accepted, tol 0.1), 0.2 (rejected), NaN row (invalid)
    # task 4: target 0 -> tol = atol = 0.01 * 2.0; residuals 0.01 (accepted), 0.03, 2
    assert t["n_valid"].tolist() == [2, 3]
    assert t["n_accepted"].tolist() == [1, 1]
    np.testing.assert_allclose(t["tolerance"], [0.1, 0.02])
    np.testing.assert_allclose(t["best_residual"], [0.05, 0.01])
    assert t["target_y"].tolist() == [10.0, 0.0]
    assert t["message"].tolist() == ["", ""]


def test_every_status_on_request(small_file):
    res = load_results(small_file, statuses=("pending", "done", "diverged", "failed"))
    t = tasks_table(res)
    assert t["task"].tolist() == [0, 1, 2, 3, 4]
    assert t["status"].tolist() == ["done", "diverged", "failed", "pending", "done"]
    assert t["objective"].tolist() == ["target", "target", "target", "maximize", "target"]
    assert t["target"].tolist() == ["y=10", "y=10", "y=10", "maximize", "y=0"]
    assert t["message"].tolist()[1:3] == ["loss became NaN at step 17", "oracle evaluation failed"]
    assert np.isinf(t["tolerance"][3])  # maximize: every finite vector is accepted
    assert t["n_valid"].tolist() == [2, 3, 1, 0, 3]
    assert np.isnan(t["best_residual"][3])
    only_failed = load_results(small_file, statuses=("failed",))
    assert only_failed.task_ids.tolist() == [2]


def test_vector_table_values(small_file):
    v = vectors_table(load_results(small_file))
    assert v["task"].tolist() == [0, 0, 4, 4, 4]
    assert v["sample"].tolist() == [0, 1, 0, 1, 2]
    assert v["constraint"].tolist() == ["free", "free", "b fixed", "b fixed", "b fixed"]
    assert v["solver"].tolist() == ["generator"] * 2 + ["amortized"] * 3
    assert v["a"].tolist() == [4.0, 4.0, 0.01, 0.0, 1.0]
    assert v["b"].tolist() == [6.05, 6.2, 0.0, 0.03, 1.0]
    np.testing.assert_allclose(v["out_y"], [10.05, 10.2, 0.01, 0.03, 2.0])
    np.testing.assert_allclose(v["residual"], [0.05, 0.2, 0.01, 0.03, 2.0], atol=1e-12)
    assert v["accepted"].tolist() == [True, False, True, False, False]
    acc = vectors_table(load_results(small_file), accepted_only=True)
    assert acc["task"].tolist() == [0, 4] and acc["sample"].tolist() == [0, 0]


def test_tolerances_follow_options(small_file):
    res = load_results(small_file, rtol=0.05, atol=0.5)
    assert res.atol == 0.5
    np.testing.assert_allclose(res.tolerance(), [0.5, 0.5])
    assert res.accepted().tolist() == [[True, True, False], [True, True, False]]


def test_constraints_and_settings(small_file):
    res = load_results(small_file)
    free, fixed = res.constraints
    assert free.name == "free" and free.method == "sigmoid" and not free.fixed_mask.any()
    assert fixed.name == "b fixed" and fixed.method == "penalty"
    assert fixed.fixed_mask.tolist() == [False, True] and fixed.free.tolist() == [True, False]
    assert np.isnan(fixed.fixed_value[0]) and fixed.fixed_value[1] == 2.0
    assert fixed.lower.tolist() == [0.0, -np.inf] and fixed.upper.tolist() == [5.0, np.inf]
    settings = by_setting(res)
    assert [(s.target, s.constraint_name, len(s.vectors)) for s in settings] == [("y=10", "free", 1), ("y=0", "b fixed", 1)]
    s = summary_table(res)
    assert s["n_tasks"].tolist() == [1, 1]
    assert s["n_valid"].tolist() == [2, 3] and s["n_accepted"].tolist() == [1, 1]
    np.testing.assert_allclose(s["best_residual"], [0.05, 0.01])
    np.testing.assert_allclose(s["median_residual"], [0.05, 0.01])


def test_optional_parts_are_tolerated(tmp_path):
    path = tmp_path / "extra.h5"
    small(messages=None).write(path)
    with h5py.File(path, "a") as f:
        f.attrs["something_new"] = 3
        f["tasks/extra_column"] = np.zeros(5)
        f.create_group("provenance").attrs["host"] = "node1"
    res = load_results(path)
    assert tasks_table(res)["message"].tolist() == ["", ""]


def test_fixed_length_and_vlen_strings_both_read(tmp_path):
    path = tmp_path / "s.h5"
    small().write(path)
    with h5py.File(path, "a") as f:
        del f["constraints/name"]
        f["constraints/name"] = np.array([b"free", b"b fixed"], dtype="S16")
    assert [c.name for c in load_results(path).constraints] == ["free", "b fixed"]


def _mutate(path, fn):
    with h5py.File(path, "a") as f:
        fn(f)


REQUIRED = ["tasks/target", "tasks/objective", "tasks/solver", "tasks/constraint", "tasks/seed", "tasks/replicate",
            "tasks/status", "tasks/rank", "tasks/wall_seconds", "tasks/steps", "tasks/final_loss", "vectors",
            "outputs", "residuals", "loss", "loss_step", "constraints/name", "constraints/fixed_mask",
            "constraints/fixed_value", "constraints/lower", "constraints/upper", "constraints/method"]


@pytest.mark.parametrize("name", REQUIRED)
def test_missing_dataset_is_named(small_file, name):
    _mutate(small_file, lambda f: f.__delitem__(name))
    with pytest.raises(ResultsError, match=rf"small\.h5: dataset '/{name}' is missing"):
        load_results(small_file)


@pytest.mark.parametrize("attr", ["invsweep_version", "sweep_toml", "sweep_hash", "n_tasks", "n_samples",
                                  "feature_names", "output_names", "created"])
def test_missing_root_attribute_is_named(small_file, attr):
    _mutate(small_file, lambda f: f.attrs.__delitem__(attr))
    with pytest.raises(ResultsError, match=rf"small\.h5: root attribute '{attr}' is missing"):
        load_results(small_file)


@pytest.mark.parametrize("mutation, message", [
    (lambda f: f.attrs.__setitem__("format", "invsweep-oracle"), "'format' is 'invsweep-oracle', expected 'invsweep-results'"),
    (lambda f: f.attrs.__delitem__("format"), "'format' is '', expected 'invsweep-results'"),
    (lambda f: f.attrs.__setitem__("format_version", 2), "format_version 2 is not supported"),
    (lambda f: f.__delitem__("oracle"), "group '/oracle' is missing"),
    (lambda f: f["oracle"].attrs.__setitem__("format", "x"), "/oracle: .*not an invsweep oracle"),
    (lambda f: f["oracle"].attrs.__setitem__("input_names", ["p", "q"]), "/oracle names"),
    (lambda f: (f.__delitem__("vectors"), f.__setitem__("vectors", np.zeros((5, 3, 3)))),
     r"dataset '/vectors' has shape \(5, 3, 3\), expected \(5, 3, 2\)"),
    (lambda f: (f.__delitem__("tasks/status"), f.__setitem__("tasks/status", np.zeros(4, np.uint8))),
     r"'/tasks/status' has shape \(4,\), expected \(5,\)"),
    (lambda f: f["tasks/status"].__setitem__(0, 7), r"/tasks/status holds a value outside 0..3"),
    (lambda f: f["tasks/solver"].__setitem__(0, 5), r"/tasks/solver holds a value outside 0..2"),
    (lambda f: f["tasks/objective"].__setitem__(0, 4), r"/tasks/objective holds a value outside 0..3"),
    (lambda f: f["tasks/constraint"].__setitem__(0, 2), r"/tasks/constraint holds an index outside 0..1"),
    (lambda f: (f.__delitem__("loss_step"), f.__setitem__("loss_step", np.zeros((2, 2)))),
     r"'/loss_step' has shape \(2, 2\), expected 1 dimension"),
])
def test_malformed_file_is_refused_with_a_named_cause(small_file, mutation, message):
    _mutate(small_file, mutation)
    with pytest.raises(ResultsError, match=message):
        load_results(small_file)


def test_not_a_results_file(tmp_path):
    with pytest.raises(ResultsError, match="no such file"):
        load_results(tmp_path / "absent.h5")
    text = tmp_path / "notes.txt"
    text.write_text("not hdf5\n")
    with pytest.raises(ResultsError, match=r"notes\.txt: not an HDF5 file"):
        load_results(text)
    oracle = tmp_path / "oracle.h5"
    with h5py.File(oracle, "w") as f:
        write_oracle(f.create_group("oracle"), ["a"], ["y"], [0.0], [1.0])
    with pytest.raises(ResultsError, match="an oracle file"):
        load_results(oracle)
    small().write(tmp_path / "r.h5")  # status names come from the file's status_names
    with pytest.raises(ValueError, match="unknown task status 'finished'; expected one of pending, done"):
        load_results(tmp_path / "r.h5", statuses=("finished",))


def test_maximize_and_minimize_accept_every_finite_vector_and_best_is_the_extreme(tmp_path):
    from invsweep.clusters import clusters_table, find_clusters

    v = np.array([[[1.0], [3.0], [np.nan], [2.0]], [[1.0], [3.0], [-2.0], [np.inf]]])
    tasks = [{"target": None, "objective": "maximize", "solver": "adjoint"},
             {"target": None, "objective": "minimize", "solver": "adjoint"}]
    path = tmp_path / "opt.h5"
    Synth(features=["a"], outputs=["y"], lo=[-5.0], hi=[5.0], tasks=tasks, vectors=v, func=lambda x: 2 * x,
          sweep_toml='[objective]\nkind = "maximize"\noutput = "y"\n').write(path)
    res = load_results(path)
    assert res.labels == ["maximize y", "minimize y"]
    assert res.accepted().tolist() == [[True, True, False, True], [True, True, True, False]]
    t = tasks_table(res)
    assert t["best_residual"].tolist() == [6.0, -4.0]  # the residual is the objective value 2a
    assert summary_table(res)["best_residual"].tolist() == [6.0, -4.0]
    c = clusters_table(find_clusters(res), res.feature_names)
    assert c["best_residual"].tolist() == [6.0] * len(c.where(c["target"] == "maximize y")) + \
        [-4.0] * len(c.where(c["target"] == "minimize y"))
