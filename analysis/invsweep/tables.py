"""Tidy tables over a loaded results file, and its vectors grouped by setting.

    res = load_results("results/paper4.h5")
    tasks_table(res)        # one row per task: settings, status, vector counts, best residual
    vectors_table(res)      # one row per valid vector: settings, features, outputs, residual
    summary_table(res)      # one row per (target, constraint) setting
    by_setting(res)         # the accepted vectors of each setting, for importance and clusters
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .loader import FEASIBLE_TOL, Results, best_residual
from .table import Table

MAX_PANELS = 12  # per-setting plots show at most this many settings, the first in sweep order (the tables hold them all)


def _best_per_task(residuals: np.ndarray, valid: np.ndarray, maximize: np.ndarray) -> np.ndarray:
    """best_residual of each task's valid residuals, vectorised: [n] (NaN where none)."""
    r = np.where(valid & np.isfinite(residuals), residuals, np.nan)
    out = np.full(len(r), np.nan)
    some = np.any(np.isfinite(r), axis=1)
    hi, lo = some & maximize, some & ~maximize
    out[hi] = np.nanmax(r[hi], axis=1) if hi.any() else out[hi]
    out[lo] = np.nanmin(r[lo], axis=1) if lo.any() else out[lo]
    return out


def tasks_table(res: Results) -> Table:
    """One row per selected task, with its settings, status and vector counts."""
    valid, acc = res.valid(), res.accepted()
    best = _best_per_task(res.residuals, valid, res.objectives == "maximize")
    t = res.tasks
    cols = {
        "task": res.task_ids,
        "target": np.array(res.labels, dtype=object),
        "objective": res.objectives,
        "constraint": np.array([c.name for c in res.constraints], dtype=object)[t["constraint"].astype(np.int64)],
        "solver": res.solvers,
        "replicate": t["replicate"].astype(np.int64),
        "seed": t["seed"].astype(np.uint64),
        "status": res.statuses,
        "rank": t["rank"].astype(np.int64),
        "wall_seconds": t["wall_seconds"].astype(np.float64),
        "steps": t["steps"].astype(np.int64),
        "final_loss": t["final_loss"].astype(np.float64),
        "n_valid": valid.sum(axis=1),
        "n_accepted": acc.sum(axis=1),
        "tolerance": res.tolerance(),
        "best_residual": np.array(best, dtype=np.float64),
        "message": t["message"],
    }
    for j, name in enumerate(res.output_names):
        cols[f"target_{name}"] = res.target[:, j] if len(res.target) else np.empty(0)
    return Table(cols)


def vectors_table(res: Results, accepted_only: bool = False) -> Table:
    """One row per valid vector (or per accepted vector): its task's settings, the features,
    the outputs (columns out_<name>), the residual and whether it is accepted."""
    keep = res.accepted() if accepted_only else res.valid()
    ti, si = np.nonzero(keep)
    t = res.tasks
    cols = {
        "task": res.task_ids[ti],
        "sample": si,
        "target": np.array(res.labels, dtype=object)[ti] if len(ti) else np.empty(0, dtype=object),
        "constraint": np.array([res.constraints[t["constraint"][i]].name for i in ti], dtype=object),
        "solver": res.solvers[ti],
        "replicate": t["replicate"][ti].astype(np.int64),
    }
    for j, name in enumerate(res.feature_names):
        cols[name] = res.vectors[ti, si, j]
    for j, name in enumerate(res.output_names):
        cols[f"out_{name}"] = res.outputs[ti, si, j]
    cols["residual"] = res.residuals[ti, si]
    cols["violation"] = res.violations[ti, si] if res.violations is not None else np.zeros(len(ti))
    if res.mahalanobis is not None:
        cols["mahalanobis"] = res.mahalanobis[ti, si]
    cols["accepted"] = res.accepted()[ti, si]
    return Table(cols)


@dataclass
class Setting:
    """The vectors of one (target, constraint) setting, merged over solvers and seeds."""

    target: str  # the target label (see target_label)
    objective: str
    target_value: np.ndarray  # [n_out]
    constraint: int  # index into Results.constraints
    constraint_name: str
    free: np.ndarray  # bool [n_in]: features not fixed by the constraint
    n_tasks: int  # selected tasks of this setting
    tolerance: float  # acceptance tolerance on the residual (inf: every valid vector)
    vectors: np.ndarray  # [m, n_in]
    outputs: np.ndarray  # [m, n_out]
    residuals: np.ndarray  # [m]
    task: np.ndarray  # [m] task id (row of the file)
    solver: np.ndarray  # [m] solver name
    violations: np.ndarray | None = None  # [m] /violations (0 = feasible)
    mahalanobis: np.ndarray | None = None  # [m] /mahalanobis, None without input statistics


def by_setting(res: Results, accepted_only: bool = True) -> list[Setting]:
    """The settings present, in task order, each with its accepted (or valid) vectors."""
    keep = res.accepted() if accepted_only else res.valid()
    tol = res.tolerance()
    order: dict[tuple[str, int], list[int]] = {}
    for i, (label, c) in enumerate(zip(res.labels, res.tasks["constraint"].tolist())):
        order.setdefault((label, int(c)), []).append(i)
    objectives, solvers = res.objectives, res.solvers
    out = []
    for (label, c), rows in order.items():
        rows = np.array(rows)
        ti, si = np.nonzero(keep[rows])
        ti = rows[ti]
        out.append(Setting(
            target=label, objective=objectives[rows[0]],
            target_value=res.target[rows[0]], constraint=c, constraint_name=res.constraints[c].name,
            free=res.constraints[c].free, n_tasks=len(rows), tolerance=float(tol[rows[0]]),
            vectors=res.vectors[ti, si], outputs=res.outputs[ti, si], residuals=res.residuals[ti, si],
            task=res.task_ids[ti], solver=solvers[ti],
            violations=res.violations[ti, si] if res.violations is not None else None,
            mahalanobis=res.mahalanobis[ti, si] if res.mahalanobis is not None else None,
        ))
    return out


def summary_table(res: Results) -> Table:
    """One row per setting: tasks, valid and accepted vectors, tolerance and residuals."""
    valid = by_setting(res, accepted_only=False)
    acc = by_setting(res, accepted_only=True)
    envelope = res.attrs.get("envelope", np.nan)
    rows = []
    for v, a in zip(valid, acc):
        n = len(v.residuals)
        feasible = v.violations <= FEASIBLE_TOL if v.violations is not None else np.ones(n, dtype=bool)
        # The share of valid vectors farther (Mahalanobis) from the training inputs than any
        # training row: where the oracle extrapolates.
        outside = (float(np.mean(v.mahalanobis > envelope)) if v.mahalanobis is not None and n
                   and np.isfinite(envelope) else np.nan)
        rows.append({
            "target": v.target, "constraint": v.constraint_name, "objective": v.objective,
            "n_tasks": v.n_tasks, "n_valid": n, "n_feasible": int(np.sum(feasible)),
            "n_accepted": len(a.residuals), "tolerance": v.tolerance,
            "best_residual": best_residual(v.residuals[feasible], v.objective),
            "median_residual": float(np.median(a.residuals)) if len(a.residuals) else np.nan,
            "outside_data": outside,
        })
    names = ["target", "constraint", "objective", "n_tasks", "n_valid", "n_feasible", "n_accepted", "tolerance",
             "best_residual", "median_residual", "outside_data"]
    return Table.from_rows(rows, names)
