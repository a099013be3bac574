"""invsweep.open_results / tidy / oracle on a results file written by the invsweep binary (and
on synthetic files for what the binary cannot make yet: a solver kind it does not know)."""

import h5py
import numpy as np
import pytest
import xarray as xr

import invsweep
from invsweep import ResultsError, load_results, open_results, results_frame, tidy
from results_factory import Synth, write_oracle

SWEEP = """oracle = "oracle.h5"
output = "out/deeper/results.h5"
seed = 7
samples = 6
replicates = 2
solvers = ["generator", "adjoint"]

[objective]
kind = "target"
targets = [[0.5], [1.5]]

[generator]
steps = 60

[adjoint]
steps = 40

[[constraints]]
name = "free"

[[constraints]]
name = "b fixed"
fixed = { b = 0.25 }
"""


@pytest.fixture(scope="module")
def cpp_file(tmp_path_factory, invsweep_bin):
    """A results file made by `invsweep run` (its output folder does not exist beforehand)."""
    import subprocess

    d = tmp_path_factory.mktemp("cpp")
    with h5py.File(d / "oracle.h5", "w") as f:
        write_oracle(f.create_group("oracle"), ["a", "b", "c"], ["y"], [0, 0, 0], [2, 2, 2])
    (d / "sweep.toml").write_text(SWEEP)
    p = subprocess.run([invsweep_bin, "run", "sweep.toml", "--quiet"], cwd=d, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return d / "out/deeper/results.h5"


def test_every_variable_equals_the_raw_file(cpp_file):
    with open_results(cpp_file) as ds, h5py.File(cpp_file, "r") as f:
        assert dict(ds.sizes) == {"task": 16, "sample": 6, "feature": 3, "output": 1, "step": f["loss_step"].shape[0]}
        for name in ("vectors", "outputs", "residuals", "loss"):
            np.testing.assert_array_equal(ds[name].values, f[name][()], err_msg=name)
        np.testing.assert_array_equal(ds["target"].values, f["tasks/target"][()])
        np.testing.assert_array_equal(ds["step"].values, f["loss_step"][()])
        for name, obj in f["tasks"].items():
            if name in ("objective", "solver", "status", "constraint", "target"):
                continue
            got = ds[name].values
            raw = obj[()]
            if raw.dtype.kind in "SO":
                assert list(got) == [v.decode() if isinstance(v, bytes) else v for v in raw], name
            else:
                np.testing.assert_array_equal(got, raw, err_msg=name)
        # Lazily indexed parts read the same values as h5py.
        np.testing.assert_array_equal(ds.vectors[[3, 1], 2:5, ::-1].values, f["vectors"][()][[3, 1], 2:5, ::-1])
        np.testing.assert_array_equal(ds.residuals.isel(task=5).values, f["residuals"][5])


def test_coordinates_are_named_by_the_files_attributes(cpp_file):
    with open_results(cpp_file) as ds, h5py.File(cpp_file, "r") as f:
        for col in ("objective", "solver", "status"):
            names = [s.decode() if isinstance(s, bytes) else s for s in f.attrs[f"{col}_names"]]
            codes = f[f"tasks/{col}"][()]
            assert list(ds[col].values) == [names[c] for c in codes], col
        cnames = [s.decode() if isinstance(s, bytes) else s for s in f["constraints/name"][()]]
        assert list(ds["constraint"].values) == [cnames[c] for c in f["tasks/constraint"][()]]
        assert list(ds["feature"].values) == ["a", "b", "c"] and list(ds["output"].values) == ["y"]
        np.testing.assert_array_equal(ds["replicate"].values, f["tasks/replicate"][()])
        assert (ds.status == "done").sum() == 16
        assert set(ds.solver.values) == {"generator", "adjoint"}


def test_tidy_has_one_row_per_vector(cpp_file):
    with open_results(cpp_file) as ds:
        df = tidy(ds)
        assert len(df) == ds.sizes["task"] * ds.sizes["sample"] == 96
        assert {"task", "sample", "solver", "constraint", "replicate", "status", "target_y", "a", "b", "c",
                "out_y", "residual"} <= set(df.columns)
        row = df[(df.task == 5) & (df["sample"] == 4)].iloc[0]
        assert row.a == ds.vectors.values[5, 4, 0] and row.residual == ds.residuals.values[5, 4]
        assert row.solver == ds.solver.values[5] and row.target_y == ds.target.values[5, 0]
        # The fixed feature is fixed in every row of its setting.
        assert np.all(df[df.constraint == "b fixed"].b == 0.25)
    assert results_frame(cpp_file).equals(df)


def test_selection_and_groupby_work_as_in_xarray(cpp_file):
    with open_results(cpp_file) as ds:
        done = ds.sel(task=ds.status == "done")
        spread = done.vectors.sel(feature="a").groupby("solver").std(...)
        assert set(spread.solver.values) == {"generator", "adjoint"}
        assert isinstance(spread, xr.DataArray)


def test_oracle_evaluates_the_file(cpp_file):
    f = invsweep.oracle(cpp_file)  # the copy inside the results file
    x = np.array([[0.3, 0.6, 0.9], [1.0, 2.0, 0.0]])
    np.testing.assert_allclose(f(x)[:, 0], x.mean(axis=1))
    assert f.input_names == invsweep.load_oracle(cpp_file).input_names


def test_a_solver_kind_added_later_is_named_from_the_file(tmp_path):
    # The C++ side appends new kinds to solver_names; nothing in the package lists them.
    names = ("generator", "adjoint", "amortized", "sampler", "cmaes")
    tasks = [dict(target=[1.0], objective="target", solver=s) for s in ("cmaes", "sampler", "generator")]
    s = Synth(features=["a", "b"], outputs=["y"], lo=[0, 0], hi=[2, 2], tasks=tasks,
              vectors=np.full((3, 2, 2), 0.5), func=lambda v: v.mean(axis=-1, keepdims=True) * 2,
              solver_names=names)
    s.write(tmp_path / "r.h5")
    with open_results(tmp_path / "r.h5") as ds:
        assert list(ds.solver.values) == ["cmaes", "sampler", "generator"]
    res = load_results(tmp_path / "r.h5")
    assert list(res.solvers) == ["cmaes", "sampler", "generator"]
    assert list(invsweep.tasks_table(res)["solver"]) == ["cmaes", "sampler", "generator"]


@pytest.mark.parametrize("attr", ["solver_names", "status_names", "objective_names"])
def test_a_file_without_enum_names_is_refused_with_the_attribute(tmp_path, attr):
    tasks = [dict(target=[1.0], objective="target", solver="generator")]
    s = Synth(features=["a"], outputs=["y"], lo=[0], hi=[1], tasks=tasks, vectors=np.zeros((1, 2, 1)),
              func=lambda v: v)
    s.write(tmp_path / "r.h5")
    with h5py.File(tmp_path / "r.h5", "a") as f:
        del f.attrs[attr]
    with pytest.raises(ResultsError, match=attr):
        open_results(tmp_path / "r.h5")
    with pytest.raises(ResultsError, match=attr):
        load_results(tmp_path / "r.h5")


def test_not_a_results_file(tmp_path):
    with pytest.raises(ResultsError, match="no such file"):
        open_results(tmp_path / "missing.h5")
    (tmp_path / "text.h5").write_text("hello")
    with pytest.raises(ResultsError, match="not an HDF5 file"):
        open_results(tmp_path / "text.h5")
