"""Writes synthetic results files that follow the results-file contract (docs/ANALYSIS.md) exactly,
with whatever vectors a test needs, so the analysis can be checked against known structure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import h5py
import numpy as np

STR = h5py.string_dtype("utf-8")
OBJECTIVES = {"target": 0, "range": 1, "maximize": 2, "minimize": 3}
SOLVERS = {"generator": 0, "adjoint": 1, "amortized": 2}
STATUSES = {"pending": 0, "done": 1, "diverged": 2, "failed": 3}

SWEEP_TOML = """oracle = "oracles/synthetic.h5"
output = "results/synthetic.h5"
seed = 42
samples = 8
solvers = ["generator", "adjoint"]

[objective]
kind = "target"
targets = [[1.0]]
"""


def write_oracle(g: h5py.Group, features: list[str], outputs: list[str], lo, hi, out_scale=1.0) -> None:
    """A valid one-layer identity oracle (y = mean of x) with the given input bounds."""
    n_in, n_out = len(features), len(outputs)
    g.attrs["format"] = "invsweep-oracle"
    g.attrs["format_version"] = np.int64(1)
    g.attrs["input_names"] = np.array(features, dtype=STR)
    g.attrs["output_names"] = np.array(outputs, dtype=STR)
    layer = g.create_group("layers/0")
    layer.attrs["activation"] = "identity"
    layer["weight"] = np.full((n_out, n_in), 1.0 / n_in)
    layer["bias"] = np.zeros(n_out)
    g["input_scaler/mean"] = np.zeros(n_in)
    g["input_scaler/scale"] = np.ones(n_in)
    g["output_scaler/mean"] = np.zeros(n_out)
    g["output_scaler/scale"] = np.full(n_out, float(out_scale))
    g["input_bounds/lo"] = np.asarray(lo, dtype=np.float64)
    g["input_bounds/hi"] = np.asarray(hi, dtype=np.float64)


@dataclass
class Synth:
    """features/outputs: names; tasks: dicts with target (list, or None for maximize/minimize),
    objective, solver, constraint (index), replicate, seed, status (names as in the file docs);
    vectors [n_tasks, n_samples, n_in]; func maps [..., n_in] -> [..., n_out]."""

    features: list[str]
    outputs: list[str]
    lo: list[float]
    hi: list[float]
    tasks: list[dict]
    vectors: np.ndarray
    func: Callable[[np.ndarray], np.ndarray]
    constraints: list[dict] = field(default_factory=lambda: [{"name": "free"}])
    out_scale: float = 1.0
    residuals: np.ndarray | None = None
    loss_step: np.ndarray = field(default_factory=lambda: np.arange(0, 100, 10, dtype=np.int64))
    loss: np.ndarray | None = None
    messages: list[str] | None = None
    sweep_toml: str = SWEEP_TOML
    solver_names: tuple[str, ...] = tuple(SOLVERS)  # the file's solver_names attribute

    @property
    def n_in(self) -> int:
        return len(self.features)

    def target_array(self) -> np.ndarray:
        return np.array([t["target"] if t.get("target") is not None else [np.nan] * len(self.outputs)
                         for t in self.tasks], dtype=np.float64)

    def computed(self) -> tuple[np.ndarray, np.ndarray]:
        """outputs [n_tasks, n_samples, n_out] and residuals [n_tasks, n_samples]."""
        y = self.func(self.vectors)
        target = self.target_array()
        res = np.sqrt(np.sum((y - target[:, None, :]) ** 2, axis=2))
        objective = np.array([OBJECTIVES[t["objective"]] for t in self.tasks])
        res = np.where((objective >= 2)[:, None], y[..., 0], res)
        if self.residuals is not None:
            res = self.residuals
        return y, res

    def write(self, path) -> None:
        n_tasks, n_samples, _ = self.vectors.shape
        y, res = self.computed()
        with h5py.File(path, "w") as f:
            f.attrs["format"] = "invsweep-results"
            f.attrs["format_version"] = np.int64(1)
            f.attrs["invsweep_version"] = "0.1.0-test"
            f.attrs["sweep_toml"] = self.sweep_toml
            f.attrs["sweep_hash"] = "0123456789abcdef"
            f.attrs["n_tasks"] = np.int64(n_tasks)
            f.attrs["n_samples"] = np.int64(n_samples)
            f.attrs["feature_names"] = np.array(self.features, dtype=STR)
            f.attrs["output_names"] = np.array(self.outputs, dtype=STR)
            f.attrs["created"] = "2024-01-01T00:00:00Z"
            # The enums' names, as the C++ writer stores them; the reader takes them from here.
            f.attrs["objective_names"] = np.array(list(OBJECTIVES), dtype=STR)
            f.attrs["solver_names"] = np.array(list(self.solver_names), dtype=STR)
            f.attrs["status_names"] = np.array(list(STATUSES), dtype=STR)
            write_oracle(f.create_group("oracle"), self.features, self.outputs, self.lo, self.hi, self.out_scale)
            self._write_constraints(f.create_group("constraints"))
            t = f.create_group("tasks")
            t["target"] = self.target_array()
            t["objective"] = np.array([OBJECTIVES[x["objective"]] for x in self.tasks], dtype=np.int8)
            t["solver"] = np.array([list(self.solver_names).index(x["solver"]) for x in self.tasks], dtype=np.int8)
            t["constraint"] = np.array([x.get("constraint", 0) for x in self.tasks], dtype=np.int32)
            t["seed"] = np.array([x.get("seed", 1000 + i) for i, x in enumerate(self.tasks)], dtype=np.uint64)
            t["replicate"] = np.array([x.get("replicate", 0) for x in self.tasks], dtype=np.int32)
            t["status"] = np.array([STATUSES[x.get("status", "done")] for x in self.tasks], dtype=np.uint8)
            t["rank"] = np.array([i % 3 for i in range(n_tasks)], dtype=np.int32)
            t["wall_seconds"] = np.linspace(1.0, 2.0, n_tasks)
            t["steps"] = np.full(n_tasks, 1000, dtype=np.int64)
            t["final_loss"] = np.linspace(1e-6, 1e-5, n_tasks)
            if self.messages is not None:
                t["message"] = np.array(self.messages, dtype="S64")
            f["vectors"] = self.vectors.astype(np.float64)
            f["outputs"] = y.astype(np.float64)
            f["residuals"] = res.astype(np.float64)
            f["loss"] = self.loss if self.loss is not None else self.default_loss(n_tasks)
            f["loss_step"] = self.loss_step

    def default_loss(self, n_tasks: int) -> np.ndarray:
        """Decaying curves, one per task, NaN-padded at the end for odd tasks."""
        steps = self.loss_step.astype(float)
        loss = np.array([(1.0 + 0.1 * i) * np.exp(-steps / 30.0) for i in range(n_tasks)])
        loss[1::2, -2:] = np.nan
        return loss

    def _write_constraints(self, g: h5py.Group) -> None:
        n = len(self.constraints)
        mask = np.zeros((n, self.n_in), dtype=np.uint8)
        value = np.full((n, self.n_in), np.nan)
        lower = np.full((n, self.n_in), -np.inf)
        upper = np.full((n, self.n_in), np.inf)
        for i, c in enumerate(self.constraints):
            for name, v in c.get("fixed", {}).items():
                j = self.features.index(name)
                mask[i, j], value[i, j] = 1, v
            for name, (a, b) in c.get("bounds", {}).items():
                j = self.features.index(name)
                lower[i, j], upper[i, j] = a, b
        g["name"] = np.array([c["name"] for c in self.constraints], dtype=STR)
        g["fixed_mask"] = mask
        g["fixed_value"] = value
        g["lower"] = lower
        g["upper"] = upper
        g["method"] = np.array([c.get("method", "sigmoid") for c in self.constraints], dtype=STR)
