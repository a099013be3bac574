"""Read an invsweep results file into numpy arrays (the layout: docs/ANALYSIS.md, "What the
analysis reads").

    res = load_results("results/paper4.h5")            # done tasks only
    res = load_results(path, statuses=None)            # every task

Tidy tables over a loaded file (tasks, vectors, settings) are in invsweep.tables.

A file that lacks a required part, or is of another format or version, raises ResultsError (a
ValueError) naming the file and the dataset or attribute. Extra groups, datasets and attributes
are ignored.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from .oracle import Oracle, load_oracle

FORMAT = "invsweep-results"
FORMAT_VERSION = 1

# The enums of /tasks/objective, /tasks/solver and /tasks/status are named by these root
# attributes (string arrays, the stored value is the index). The names come from the file, so
# a solver kind added on the C++ side is read without a change here.
ENUM_ATTRS = {"objective": "objective_names", "solver": "solver_names", "status": "status_names"}
OPTIMISING = ("maximize", "minimize")  # objective kinds whose residual is the objective value

ROOT_ATTRS = ("invsweep_version", "sweep_toml", "sweep_hash", "n_tasks", "n_samples",
              "feature_names", "output_names", "created")
TASK_COLUMNS = ("objective", "solver", "constraint", "seed", "replicate", "status", "rank",
                "wall_seconds", "steps", "final_loss")

# Acceptance: a vector is accepted when it and its residual are finite, it is feasible
# (/violations <= FEASIBLE_TOL: subject_to ranges, bounds and plausibility hold), and
#  - target objectives: residual <= max(rtol * |target|, atol) (|.| the Euclidean norm over
#    the targeted outputs); atol defaults to rtol * |oracle output scale| (the training outputs'
#    standard deviation), so that a target of 0 still has a tolerance in the units of the outputs;
#  - range objectives: the outputs are in range, exactly (residual, the distance outside the
#    range, <= RANGE_TOL * max(1, |finite range ends|): float64 rounding only);
#  - maximize / minimize: every finite feasible vector.
DEFAULT_RTOL = 1e-2
FEASIBLE_TOL = 1e-6  # the C++ side's Problem::kFeasibleTolerance (relative violation)
RANGE_TOL = 1e-9


def best_residual(values: np.ndarray, objective: str) -> float:
    """The best of some residuals: the largest for maximize (the residual is then the objective
    value), the smallest otherwise; NaN when there are none."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return np.nan
    return float(values.max() if objective == "maximize" else values.min())


class ResultsError(ValueError):
    """The file is not a readable invsweep results file; the message names file and part."""


@dataclass
class Constraint:
    name: str
    fixed_mask: np.ndarray  # bool [n_in]
    fixed_value: np.ndarray  # float [n_in], NaN where not fixed
    lower: np.ndarray  # float [n_in], -inf where unbounded
    upper: np.ndarray  # float [n_in], +inf where unbounded
    method: str

    @property
    def free(self) -> np.ndarray:
        return ~self.fixed_mask


@dataclass
class Results:
    """Arrays of the selected tasks (`task_ids`, the rows of the file), in file order."""

    path: str
    attrs: dict
    feature_names: list[str]
    output_names: list[str]
    oracle: Oracle
    constraints: list[Constraint]
    status_counts: dict[str, int]  # over every task of the file
    task_ids: np.ndarray  # [n] int
    tasks: dict[str, np.ndarray]  # TASK_COLUMNS (+ "message"), each [n]
    target: np.ndarray  # [n, n_out]
    vectors: np.ndarray  # [n, n_samples, n_in]
    outputs: np.ndarray  # [n, n_samples, n_out]
    residuals: np.ndarray  # [n, n_samples]
    loss: np.ndarray  # [n, n_log]
    loss_step: np.ndarray  # [n_log]
    rtol: float = DEFAULT_RTOL
    atol: float = 0.0
    labels: list[str] = field(default_factory=list)  # target label per selected task
    # Range objectives: the range per task and output (/tasks/lo, /tasks/hi; NaN for other
    # objectives or when the file has no such datasets). `target` holds the range's centre.
    range_lo: np.ndarray | None = None  # [n, n_out]
    range_hi: np.ndarray | None = None
    # Per vector: /violations (relative distance outside the feasible set, 0 = feasible; zeros
    # for files written before it existed) and /mahalanobis (distance to the training inputs;
    # None when the oracle has no input statistics).
    violations: np.ndarray | None = None  # [n, n_samples]
    mahalanobis: np.ndarray | None = None  # [n, n_samples]
    warnings: list[str] = field(default_factory=list)  # rows left out, and why
    # Ensemble oracles: the members' standard deviation of each output at each vector (/spread,
    # original units); None when the file has none (the oracle is a single network).
    spread: np.ndarray | None = None  # [n, n_samples, n_out]
    # The enums' names, from the file's objective_names, solver_names, status_names.
    objective_names: list[str] = field(default_factory=list)
    solver_names: list[str] = field(default_factory=list)
    status_names: list[str] = field(default_factory=list)

    @property
    def objectives(self) -> np.ndarray:
        """[n] objective kind name of each selected task."""
        return _names(self.objective_names, self.tasks["objective"])

    @property
    def solvers(self) -> np.ndarray:
        """[n] solver name of each selected task."""
        return _names(self.solver_names, self.tasks["solver"])

    @property
    def statuses(self) -> np.ndarray:
        """[n] status name of each selected task."""
        return _names(self.status_names, self.tasks["status"])

    def optimising(self) -> np.ndarray:
        """[n] bool: the task maximizes or minimizes (its residual is the objective value)."""
        return np.isin(self.objectives, OPTIMISING)

    @property
    def sweep_toml(self) -> str:
        return self.attrs["sweep_toml"]

    def tolerance(self) -> np.ndarray:
        """Acceptance tolerance per selected task (inf for maximize/minimize)."""
        norm = np.sqrt(np.nansum(self.target**2, axis=1))  # NaN entries (outputs not targeted) count 0
        tol = np.maximum(self.rtol * norm, self.atol)
        tol = np.where(self.optimising(), np.inf, tol)
        if self.range_lo is not None and len(tol):
            ends = np.concatenate([self.range_lo, self.range_hi], axis=1)
            scale = np.max(np.where(np.isfinite(ends), np.abs(ends), 0.0), axis=1, initial=0.0)
            tol = np.where(self.objectives == "range", RANGE_TOL * np.maximum(1.0, scale), tol)
        return tol

    def subset(self, keep: np.ndarray) -> None:
        """Keeps only the selected tasks where `keep` ([n] bool) is True, in every per-task array."""
        self.task_ids = self.task_ids[keep]
        self.tasks = {c: v[keep] for c, v in self.tasks.items()}
        for name in ("target", "vectors", "outputs", "residuals", "loss", "range_lo", "range_hi", "violations",
                     "mahalanobis", "spread"):
            if getattr(self, name) is not None:
                setattr(self, name, getattr(self, name)[keep])
        if self.labels:
            self.labels = [label for label, k in zip(self.labels, keep) if k]

    def feasible(self) -> np.ndarray:
        """[n, n_samples] bool: the vector meets its hard constraints (/violations <= FEASIBLE_TOL)."""
        if self.violations is None:
            return np.ones(self.residuals.shape, dtype=bool)
        return self.violations <= FEASIBLE_TOL

    def valid(self) -> np.ndarray:
        """[n, n_samples] bool: the sample holds a vector (all finite) and a finite residual."""
        return np.all(np.isfinite(self.vectors), axis=2) & np.isfinite(self.residuals)

    def accepted(self) -> np.ndarray:
        """[n, n_samples] bool: valid and within the task's tolerance."""
        return self.valid() & self.feasible() & (self.residuals <= self.tolerance()[:, None])


def load_results(path: str | Path, statuses=("done",), rtol: float = DEFAULT_RTOL,
                 atol: float | None = None) -> Results:
    """Reads the tasks whose status is in `statuses` (names from the file's status_names;
    None: every task)."""
    path = str(path)
    with open_h5(path) as f:
        try:
            return _read(f, path, statuses, rtol, atol)
        except OSError as e:  # a damaged dataset surfaces only when it is read
            raise ResultsError(f"{path}: cannot be read: {e}") from None


def _read(f: h5py.File, path: str, statuses, rtol, atol) -> Results:
    _check_format(f, path)
    attrs = {}
    for name in ROOT_ATTRS:
        if name not in f.attrs:
            raise ResultsError(f"{path}: root attribute '{name}' is missing")
        attrs[name] = f.attrs[name]
    for name in ("invsweep_version", "sweep_toml", "sweep_hash", "created"):
        attrs[name] = _text(attrs[name])
    n_tasks, n_samples = int(attrs["n_tasks"]), int(attrs["n_samples"])
    attrs["n_tasks"], attrs["n_samples"] = n_tasks, n_samples
    features = _texts(attrs.pop("feature_names"))
    outputs = _texts(attrs.pop("output_names"))
    n_in, n_out = len(features), len(outputs)

    if "oracle" not in f:
        raise ResultsError(f"{path}: group '/oracle' is missing")
    try:
        oracle = load_oracle(f["oracle"])
    except (KeyError, ValueError) as e:
        raise ResultsError(f"{path}: /oracle: {e}") from None
    if oracle.input_names != features or oracle.output_names != outputs:
        raise ResultsError(f"{path}: /oracle names {oracle.input_names} -> {oracle.output_names} differ from "
                           f"the root attributes feature_names {features}, output_names {outputs}")

    constraints = _read_constraints(f, path, n_in)

    enums = enum_names(f, path)
    status_names = enums["status"]
    statuses = status_names if statuses is None else list(statuses)
    for s in statuses:
        if s not in status_names:
            raise ValueError(f"unknown task status {s!r}; expected one of {', '.join(status_names)}")
    status = _dataset(f, path, "tasks/status", (n_tasks,))
    if np.any(status >= len(status_names)):
        raise ResultsError(f"{path}: /tasks/status holds a value outside 0..{len(status_names) - 1}")
    counts = {s: int(np.sum(status == i)) for i, s in enumerate(status_names)}
    wanted = [status_names.index(s) for s in statuses]
    ids = np.flatnonzero(np.isin(status, wanted))

    tasks = {c: _dataset(f, path, f"tasks/{c}", (n_tasks,))[ids] for c in TASK_COLUMNS}
    for col in ("objective", "solver"):
        names = enums[col]
        if np.any((tasks[col] < 0) | (tasks[col] >= len(names))):
            raise ResultsError(f"{path}: /tasks/{col} holds a value outside 0..{len(names) - 1} "
                               f"(the root attribute {ENUM_ATTRS[col]} names {len(names)})")
    if np.any((tasks["constraint"] < 0) | (tasks["constraint"] >= len(constraints))):
        raise ResultsError(f"{path}: /tasks/constraint holds an index outside 0..{len(constraints) - 1}")
    if "message" in f["tasks"]:
        tasks["message"] = np.array(_texts(_dataset(f, path, "tasks/message", (n_tasks,))[ids]), dtype=object)
    else:
        tasks["message"] = np.full(len(ids), "", dtype=object)

    n_log = _shape(f, path, "loss_step", 1)[0]
    loss_step = _dataset(f, path, "loss_step", (n_log,)).astype(np.float64)
    res = Results(
        path=path, attrs=attrs, feature_names=features, output_names=outputs, oracle=oracle,
        constraints=constraints, status_counts=counts, task_ids=ids, tasks=tasks,
        target=_rows(f, path, "tasks/target", (n_tasks, n_out), ids),
        vectors=_rows(f, path, "vectors", (n_tasks, n_samples, n_in), ids),
        outputs=_rows(f, path, "outputs", (n_tasks, n_samples, n_out), ids),
        residuals=_rows(f, path, "residuals", (n_tasks, n_samples), ids),
        loss=_rows(f, path, "loss", (n_tasks, n_log), ids),
        loss_step=loss_step, rtol=rtol,
        atol=rtol * float(np.linalg.norm(oracle.out_scale)) if atol is None else atol,
        objective_names=enums["objective"], solver_names=enums["solver"], status_names=status_names,
    )
    for name in ("lo", "hi"):
        rows = (_rows(f, path, f"tasks/{name}", (n_tasks, n_out), ids) if f"tasks/{name}" in f
                else np.full((len(ids), n_out), np.nan))
        setattr(res, f"range_{name}", rows)
    res.violations = (_rows(f, path, "violations", (n_tasks, n_samples), ids) if "violations" in f
                      else np.zeros((len(ids), n_samples)))
    res.mahalanobis = _rows(f, path, "mahalanobis", (n_tasks, n_samples), ids) if "mahalanobis" in f else None
    # The data's envelope: the largest Mahalanobis distance of a training row (NaN = unknown).
    stats = f["oracle"].get("input_stats")
    res.attrs["envelope"] = float(np.asarray(stats.attrs["max_distance"]).ravel()[0]) \
        if stats is not None and "max_distance" in stats.attrs else np.nan
    if "spread" in f:
        res.spread = _rows(f, path, "spread", (n_tasks, n_samples, n_out), ids)
    _drop_invalid_done_rows(res)
    res.labels = _labels(res.tasks["objective"], res.target, res.objective_names, outputs,
                         _objective_outputs(attrs["sweep_toml"]))
    return res


def _names(names: list[str], index: np.ndarray) -> np.ndarray:
    """[n] object array of names[index[i]] (one lookup per distinct value, not per task)."""
    return np.array(names + [""], dtype=object)[np.asarray(index, dtype=np.int64)] if len(index) else \
        np.empty(0, dtype=object)


def _labels(objective: np.ndarray, target: np.ndarray, objective_names: list[str], outputs: list[str],
            what: str) -> list[str]:
    """target_label of every task, computed once per distinct (objective, target) pair."""
    if len(objective) == 0:
        return []
    key = np.concatenate([np.asarray(objective, dtype=np.float64)[:, None], target], axis=1)
    # NaN targets (outputs not targeted) compare unequal in np.unique: map them to a sentinel
    uniq, inverse = np.unique(np.where(np.isnan(key), np.inf, key), axis=0, return_inverse=True)
    first = np.zeros(len(uniq), dtype=np.int64)
    first[inverse[::-1]] = np.arange(len(key))[::-1]
    text = [target_label(objective_names[int(objective[i])], target[i], outputs, what) for i in first]
    return [text[k] for k in inverse.ravel().tolist()]


def invalid_done_rows(res: Results) -> tuple[dict[int, str], dict[int, str]]:
    """Rows marked done that the writer cannot have written, as {row of the selection: why}:
    (rows to leave out: a vector outside its setting's bounds — not for method "penalty",
    which may step outside by design; rows whose non-finite samples are left out: a
    non-finite vector, output or residual). `invsweep status` checks fixed features too."""
    drop, partial = {}, {}
    done = res.status_names.index("done") if "done" in res.status_names else -1
    for k in range(len(res.task_ids)):
        if res.tasks["status"][k] != done:
            continue
        c = res.constraints[int(res.tasks["constraint"][k])]
        x = res.vectors[k]
        finite = np.all(np.isfinite(x), axis=1)
        if not np.all(finite):
            partial[k] = "a non-finite vector"
        elif not np.all(np.isfinite(res.outputs[k])):
            partial[k] = "a non-finite output"
        elif not np.all(np.isfinite(res.residuals[k])):
            partial[k] = "a non-finite residual"
        x = x[finite]
        scale = np.maximum(1.0, np.maximum(np.where(np.isfinite(c.lower), np.abs(c.lower), 0),
                                           np.where(np.isfinite(c.upper), np.abs(c.upper), 0)))
        tol = 1e-9 * scale
        if c.method != "penalty" and np.any(~c.fixed_mask & np.any((x < c.lower - tol) | (x > c.upper + tol),
                                                                    axis=0)):
            drop[k] = "a vector outside its bounds"
    return drop, partial


def _tasks_in_words(res: Results, rows: dict[int, str]) -> str:
    ids = [int(res.task_ids[k]) for k in sorted(rows)]
    shown = ", ".join(str(i) for i in ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
    return f"{len(ids)} task(s) marked done (task {shown}: {rows[min(rows)]})"


def _drop_invalid_done_rows(res: Results) -> None:
    drop, partial = invalid_done_rows(res)
    if partial:
        res.warnings.append(f"{res.path}: {_tasks_in_words(res, partial)} hold non-finite values; those samples are "
                            f"left out; `invsweep status` names them and `invsweep run --resume` runs them again")
    if not drop:
        return
    res.warnings.append(f"{res.path}: {_tasks_in_words(res, drop)} fail validation and are left out; "
                        f"`invsweep run --resume` runs them again")
    res.subset(np.array([k not in drop for k in range(len(res.task_ids))], dtype=bool))


def open_h5(path: str) -> h5py.File:
    """The file at path opened for reading, or ResultsError saying why not."""
    if not Path(path).is_file():
        raise ResultsError(f"{path}: no such file")
    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise ResultsError(f"{path}: not an HDF5 file ({e})") from None


def enum_names(f: h5py.File, path: str) -> dict[str, list[str]]:
    """{"objective": [...], "solver": [...], "status": [...]}: the names of the stored enum
    values, from the root attributes objective_names, solver_names, status_names."""
    out = {}
    for key, attr in ENUM_ATTRS.items():
        if attr not in f.attrs:
            raise ResultsError(f"{path}: root attribute '{attr}' is missing (it names the values of /tasks/{key})")
        out[key] = _texts(f.attrs[attr])
    return out


def _check_format(f: h5py.File, path: str) -> None:
    fmt = _text(f.attrs.get("format", ""))
    if fmt != FORMAT:
        hint = " (an oracle file: pass it to load_oracle)" if "oracle" in f and "tasks" not in f else ""
        raise ResultsError(f"{path}: root attribute 'format' is {fmt!r}, expected {FORMAT!r}{hint}")
    version = f.attrs.get("format_version")
    if version is None or int(version) != FORMAT_VERSION:
        raise ResultsError(f"{path}: format_version {version} is not supported (this reader reads {FORMAT_VERSION})")


def _read_constraints(f: h5py.File, path: str, n_in: int) -> list[Constraint]:
    nc = _shape(f, path, "constraints/name", 1)[0]
    names = _texts(_dataset(f, path, "constraints/name", (nc,)))
    methods = _texts(_dataset(f, path, "constraints/method", (nc,)))
    mask = _dataset(f, path, "constraints/fixed_mask", (nc, n_in)).astype(bool)
    value = _dataset(f, path, "constraints/fixed_value", (nc, n_in)).astype(np.float64)
    lower = _dataset(f, path, "constraints/lower", (nc, n_in)).astype(np.float64)
    upper = _dataset(f, path, "constraints/upper", (nc, n_in)).astype(np.float64)
    return [Constraint(names[i], mask[i], value[i], lower[i], upper[i], methods[i]) for i in range(nc)]


def _shape(f: h5py.File, path: str, name: str, ndim: int) -> tuple:
    if name not in f or not isinstance(f[name], h5py.Dataset):
        raise ResultsError(f"{path}: dataset '/{name}' is missing")
    shape = f[name].shape
    if shape is None or len(shape) != ndim:
        raise ResultsError(f"{path}: dataset '/{name}' has shape {shape}, expected {ndim} dimension(s)")
    return shape


def _checked(f: h5py.File, path: str, name: str, shape: tuple) -> h5py.Dataset:
    got = _shape(f, path, name, len(shape))
    if tuple(got) != tuple(shape):
        raise ResultsError(f"{path}: dataset '/{name}' has shape {tuple(got)}, expected {tuple(shape)}")
    return f[name]


def _dataset(f: h5py.File, path: str, name: str, shape: tuple) -> np.ndarray:
    return _checked(f, path, name, shape)[()]


def _rows(f: h5py.File, path: str, name: str, shape: tuple, ids: np.ndarray) -> np.ndarray:
    """Rows `ids` (sorted) of a [n_tasks, ...] dataset, as float64."""
    ds = _checked(f, path, name, shape)
    if len(ids) == shape[0]:
        data = ds[()]
    elif len(ids) == 0:
        data = np.empty((0, *shape[1:]))
    else:
        data = ds[ids.tolist()]
    return np.asarray(data, dtype=np.float64)


def _text(v) -> str:
    if isinstance(v, (bytes, np.bytes_)):
        v = v.decode("utf-8", errors="replace")
    return str(v).rstrip("\x00").rstrip()


def _texts(values) -> list[str]:
    return [_text(v) for v in np.atleast_1d(values)]


def _objective_outputs(sweep_toml: str) -> str:
    """For maximize/minimize labels: the sweep's objective output (or weights), if it parses."""
    try:
        obj = tomllib.loads(sweep_toml).get("objective", {})
    except tomllib.TOMLDecodeError:
        return ""
    if "output" in obj:
        return str(obj["output"])
    if isinstance(obj.get("weights"), dict):
        return "+".join(f"{w:g}*{k}" for k, w in obj["weights"].items())
    return ""


def target_label(kind: str, target: np.ndarray, output_names: list[str], what: str = "") -> str:
    """A short name for a task's objective setting (`kind` an objective name such as 'target'):
    'y=1900', 'y1=1, y2=2', 'range y=5', 'maximize y'. Tasks with the same label are one setting
    in every table."""
    if kind in OPTIMISING:
        return f"{kind} {what}".strip()
    text = ", ".join(f"{n}={v:.10g}" for n, v in zip(output_names, target))
    return text if kind == "target" else f"range {text}"
