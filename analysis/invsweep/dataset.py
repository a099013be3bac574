"""A results file as an xarray Dataset, and as a tidy pandas frame.

    ds = invsweep.open_results("jobs/results/demo.h5")
    done = ds.sel(task=ds.status == "done")
    done.vectors.sel(feature="x1").groupby("solver").std()      # spread of x1 per solver
    df = invsweep.tidy(done)                                     # one row per vector

Dimensions: `task` (rows of the file), `sample` (vectors of a task), `feature`, `output`,
`step` (the loss log). Task coordinates: `target` [task, output], `objective`, `constraint`,
`solver` and `status` (names, from the file's objective_names, solver_names, status_names and
/constraints/name attributes and datasets), `replicate`, `seed`. Variables: `vectors`,
`outputs`, `residuals`, `loss`, every other dataset of /tasks (`wall_seconds`, `steps`,
`final_loss`, `rank`, `message`, ...) and every other [task, ...] dataset at the root
(`violations`, `mahalanobis`, `spread` of an ensemble oracle, ...), each with named dimensions
where its shape says which.

The large arrays are not read when the file is opened: each variable wraps its h5py dataset and
reads only the part that is indexed (`ds.vectors[3]`, `.sel(...)`, `.values`), so opening a file
of millions of vectors takes a fraction of a second. The file stays open as long as the
Dataset (or any variable taken from it) is alive; `ds.close()` closes it.

Any failure to read the file as an invsweep results file raises ResultsError (a ValueError)
naming the file and the part, as load_results does.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import xarray as xr
from xarray.backends import BackendArray
from xarray.core import indexing

from .loader import ResultsError, _check_format, _text, _texts, enum_names, open_h5

# The tasks' columns that become coordinates (the rest of /tasks become variables).
_NAMED = ("objective", "solver", "status")


class _H5Array(BackendArray):
    """An h5py dataset read lazily by xarray: only what is indexed is read from the file."""

    def __init__(self, ds: h5py.Dataset):
        self._ds = ds
        self.shape = ds.shape
        self.dtype = ds.dtype

    def __getitem__(self, key: indexing.ExplicitIndexer):
        return indexing.explicit_indexing_adapter(key, self.shape, indexing.IndexingSupport.OUTER, self._read)

    def _read(self, key: tuple) -> np.ndarray:
        # h5py reads integers, slices with a positive step and one increasing list of indices;
        # anything else is read as the enclosing slice and picked out in memory.
        h5key, after = [], []
        fancy = False
        for k, n in zip(key, self.shape):
            if isinstance(k, (int, np.integer)):
                h5key.append(int(k))
                continue
            if isinstance(k, slice):
                start, stop, step = k.indices(n)
                if step > 0:
                    h5key.append(slice(start, stop, step))
                    after.append(slice(None))
                    continue
                k = np.arange(start, stop, step)
            k = np.asarray(k, dtype=np.int64)
            if len(k) == 0:
                h5key.append(slice(0, 0))
                after.append(slice(None))
            elif not fancy and np.all(np.diff(k) > 0):
                fancy = True
                h5key.append(k)
                after.append(slice(None))
            else:
                lo = int(k.min())
                h5key.append(slice(lo, int(k.max()) + 1))
                after.append(k - lo)
        data = self._ds[tuple(h5key)]
        for axis, pick in enumerate(after):
            if not isinstance(pick, slice):
                data = np.take(data, pick, axis=axis)
        return data


def _lazy(ds: h5py.Dataset, dims: tuple[str, ...]) -> xr.Variable:
    return xr.Variable(dims, indexing.LazilyIndexedArray(_H5Array(ds)))


def _dims(name: str, shape: tuple, sizes: dict, per_task: bool) -> tuple:
    """Named dimensions of a [n_tasks, ...] dataset, from its name and shape. Datasets of
    /tasks (`per_task`) have no sample axis; root datasets have one right after the task."""
    known = {"vectors": ("task", "sample", "feature"), "outputs": ("task", "sample", "output"),
             "residuals": ("task", "sample"), "loss": ("task", "step"), "target": ("task", "output"),
             "spread": ("task", "sample", "output")}
    if name in known and len(known[name]) == len(shape):
        return known[name]
    dims = ["task"]
    for axis, n in enumerate(shape[1:], start=1):
        if axis == 1 and not per_task and n == sizes["sample"]:
            dims.append("sample")
            continue
        for dim in ("output", "feature", "step"):
            if n == sizes[dim] and dim not in dims:
                dims.append(dim)
                break
        else:
            dims.append(f"{name}_dim_{axis}")
    return tuple(dims)


def open_results(path: str | Path) -> xr.Dataset:
    """Opens an invsweep results file as an xarray Dataset (see the module's doc)."""
    path = str(path)
    f = open_h5(path)
    try:
        ds = _open(f, path)
    except KeyError as e:
        f.close()
        raise ResultsError(f"{path}: {e}") from None
    except (OSError, ValueError) as e:
        f.close()
        if isinstance(e, ResultsError):
            raise
        raise ResultsError(f"{path}: cannot be read: {e}") from None
    ds.set_close(f.close)
    return ds


def _require(f: h5py.File, path: str, name: str, shape: tuple) -> h5py.Dataset:
    if name not in f or not isinstance(f[name], h5py.Dataset):
        raise ResultsError(f"{path}: dataset '/{name}' is missing")
    if tuple(f[name].shape) != tuple(shape):
        raise ResultsError(f"{path}: dataset '/{name}' has shape {f[name].shape}, expected {tuple(shape)}")
    return f[name]


def _open(f: h5py.File, path: str) -> xr.Dataset:
    _check_format(f, path)
    for a in ("n_tasks", "n_samples", "feature_names", "output_names"):
        if a not in f.attrs:
            raise ResultsError(f"{path}: root attribute '{a}' is missing")
    n_tasks, n_samples = int(f.attrs["n_tasks"]), int(f.attrs["n_samples"])
    features, outputs = _texts(f.attrs["feature_names"]), _texts(f.attrs["output_names"])
    n_in, n_out = len(features), len(outputs)
    enums = enum_names(f, path)
    if "loss_step" not in f or not isinstance(f["loss_step"], h5py.Dataset) or len(f["loss_step"].shape or ()) != 1:
        raise ResultsError(f"{path}: dataset '/loss_step' is missing or not one-dimensional")
    n_log = f["loss_step"].shape[0]
    for name, shape in (("vectors", (n_tasks, n_samples, n_in)), ("outputs", (n_tasks, n_samples, n_out)),
                        ("residuals", (n_tasks, n_samples)), ("loss", (n_tasks, n_log)),
                        ("tasks/target", (n_tasks, n_out))):
        _require(f, path, name, shape)

    coords: dict = {
        "task": np.arange(n_tasks), "sample": np.arange(n_samples),
        "feature": features, "output": outputs, "step": f["loss_step"][()],
    }
    tasks = f["tasks"]
    codes = {}
    for col in ("objective", "solver", "status", "constraint", "replicate", "seed"):
        codes[col] = _require(f, path, f"tasks/{col}", (n_tasks,))[()]
    for col in _NAMED:
        names = np.asarray(enums[col], dtype=object)
        c = codes[col].astype(np.int64)
        if len(c) and (c.min() < 0 or c.max() >= len(names)):
            raise ResultsError(f"{path}: /tasks/{col} holds a value outside 0..{len(names) - 1} "
                               f"(the root attribute {col}_names names {len(names)})")
        coords[col] = ("task", names[c])
    if "constraints/name" not in f:
        raise ResultsError(f"{path}: dataset '/constraints/name' is missing")
    constraint_names = np.asarray(_texts(f["constraints/name"][()]), dtype=object)
    c = codes["constraint"].astype(np.int64)
    if len(c) and (c.min() < 0 or c.max() >= len(constraint_names)):
        raise ResultsError(f"{path}: /tasks/constraint holds an index outside 0..{len(constraint_names) - 1}")
    coords["constraint"] = ("task", constraint_names[c])
    coords["replicate"] = ("task", codes["replicate"])
    coords["seed"] = ("task", codes["seed"])
    coords["target"] = (("task", "output"), f["tasks/target"][()])

    data_vars: dict = {}
    sizes = {"sample": n_samples, "feature": n_in, "output": n_out, "step": n_log}
    for name, obj in tasks.items():
        if name in coords or not isinstance(obj, h5py.Dataset) or obj.shape is None or len(obj.shape) == 0:
            continue
        if obj.shape[0] != n_tasks:
            continue
        dims = _dims(name, obj.shape, sizes, per_task=True)
        if h5py.check_string_dtype(obj.dtype) is not None or obj.dtype.kind in "SO":
            data_vars[name] = (dims, np.asarray(_texts(obj[()]), dtype=object).reshape(obj.shape))
        else:
            data_vars[name] = _lazy(obj, dims)
    for name, obj in f.items():
        if not isinstance(obj, h5py.Dataset) or obj.shape is None or len(obj.shape) == 0 or name == "loss_step":
            continue
        if obj.shape[0] != n_tasks:
            continue
        data_vars[name] = _lazy(obj, _dims(name, obj.shape, sizes, per_task=False))

    attrs = {}
    for k, v in f.attrs.items():
        if isinstance(v, (bytes, str, np.bytes_)):
            attrs[k] = _text(v)
        elif isinstance(v, np.ndarray) and (v.dtype.kind in "SO"):
            attrs[k] = _texts(v)
        else:
            attrs[k] = v
    attrs["path"] = path
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def tidy(ds: xr.Dataset) -> pd.DataFrame:
    """One row per vector of `ds` (tasks × samples, in task then sample order): task, sample,
    the task coordinates (objective, constraint, solver, replicate, seed, status, and
    target_<output>), the features by name, the outputs as out_<output>, and residual."""
    n_t, n_s = ds.sizes["task"], ds.sizes["sample"]
    rows = n_t * n_s
    cols: dict[str, np.ndarray] = {
        "task": np.repeat(ds["task"].values, n_s),
        "sample": np.tile(ds["sample"].values, n_t),
    }
    for c in ("objective", "constraint", "solver", "replicate", "seed", "status"):
        if c not in ds.coords:
            continue
        values = ds[c].values
        if values.dtype == object:  # names: a categorical built from per-task codes (fast for 10⁶ rows)
            codes, names = pd.factorize(values)
            cols[c] = pd.Categorical.from_codes(np.repeat(codes, n_s), categories=names)
        else:
            cols[c] = np.repeat(values, n_s)
    target = ds["target"].values
    for j, name in enumerate(ds["output"].values):
        cols[f"target_{name}"] = np.repeat(target[:, j], n_s)
    vectors = ds["vectors"].transpose("task", "sample", "feature").values.reshape(rows, -1)
    for j, name in enumerate(ds["feature"].values):
        cols[str(name)] = vectors[:, j]
    out = ds["outputs"].transpose("task", "sample", "output").values.reshape(rows, -1)
    for j, name in enumerate(ds["output"].values):
        cols[f"out_{name}"] = out[:, j]
    cols["residual"] = ds["residuals"].transpose("task", "sample").values.reshape(rows)
    return pd.DataFrame(cols)


def results_frame(path: str | Path) -> pd.DataFrame:
    """tidy(open_results(path)): every vector of the file as one row of a pandas DataFrame."""
    with open_results(path) as ds:
        return tidy(ds)
