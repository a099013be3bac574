"""Determinacy and target response: what the solutions of a setting say about each feature.

Determinacy, per (target, constraint, solver) group, replicates pooled, per free feature j:

    determinacy_j = 1 - Var(x_j | accepted vectors) / Var(x_j | prior)

The prior is uniform over the setting's box (the constraint's bounds; features without bounds
take the oracle's input_bounds), so Var(x_j | prior) = width_j^2 / 12. 0: the solutions leave
the feature as free as the prior does; 1: they pin it to one value; 0.75: its spread is half the
prior's (std ratio 0.5). Negative values mean the solutions crowd at the box's ends (a
distribution on an interval can have up to 3 times the uniform variance).

Only solver `sampler` draws from the distribution of solutions (the prior restricted to the
solution set), so only its rows measure how determined a feature is (`faithful` = True). For any
other solver the same number is the spread of that solver's solutions, which depends on the
optimiser and its starts, not on the problem.

Target response, per (constraint, solver) group over a sweep's targets (target objectives with
at least three distinct values of an output), per output k and free feature j: the slope of
E[x_j | t] in t_k by least squares over the accepted vectors, x_j in units of its prior standard
deviation (width_j / sqrt(12)) and t_k in units of the output's training standard deviation
(the oracle's output scale). Slope 0.5: raising the target by one output standard deviation moves
the feature's mean by half its prior standard deviation. With several outputs varying, the
slopes come from one multiple regression on all of them.

Intervals: 95 % percentile intervals of the Poisson bootstrap (invsweep.stats: whole tasks
resampled when a group has at least 10, vectors otherwise), at most MAX_BOOT resamples per group
so that the cost stays linear in the number of vectors.
"""

from __future__ import annotations

import numpy as np

from .loader import Results
from .stats import MAX_BOOT, interval, poisson_weights, resampled_var, tied_ranks, units
from .table import Table
from .tables import Setting, by_setting

FAITHFUL = ("sampler",)  # solvers whose vectors are draws from the distribution of solutions
DETERMINACY_COLUMNS = ["constraint", "target", "solver", "feature", "determinacy", "lo", "hi", "n",
                       "rank", "faithful", "n_tasks"]
RESPONSE_COLUMNS = ["constraint", "solver", "output", "feature", "slope", "lo", "hi", "n",
                    "rank", "faithful", "n_targets"]


def is_faithful(solver: str) -> bool:
    return solver in FAITHFUL


def prior_box(res: Results, constraint: int) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) [n_in] of a constraint setting's prior: its bounds, else the oracle's input_bounds."""
    c = res.constraints[constraint]
    lo = np.where(np.isfinite(c.lower), c.lower, res.oracle.lo)
    hi = np.where(np.isfinite(c.upper), c.upper, res.oracle.hi)
    return lo, hi


def prior_std(res: Results, constraint: int) -> np.ndarray:
    """[n_in] standard deviation of the uniform prior (NaN where the box is not finite)."""
    lo, hi = prior_box(res, constraint)
    w = hi - lo
    return np.where(np.isfinite(w) & (w > 0), w, np.nan) / np.sqrt(12.0)


def target_text(value: np.ndarray) -> str:
    """A target vector as determinacy.csv writes it: outputs joined by ';'."""
    return ";".join(f"{v:.10g}" for v in value)


def _split_solvers(s: Setting) -> list[tuple[str, np.ndarray]]:
    return [(name, s.solver == name) for name in dict.fromkeys(s.solver.tolist())]


def determinacy_table(res: Results, n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> Table:
    """One row per (constraint, target, solver, free feature); see the module text. Groups with
    fewer than 2 accepted vectors have no rows."""
    rows = []
    n_boot = min(n_boot, MAX_BOOT)
    for i, s in enumerate(by_setting(res)):
        free = np.flatnonzero(s.free)
        sd = prior_std(res, s.constraint)[free]
        for k, (solver, mine) in enumerate(_split_solvers(s)):
            x = s.vectors[mine][:, free]
            if len(x) < 2 or len(free) == 0:
                continue
            rng = np.random.default_rng([seed, i, k])
            with np.errstate(invalid="ignore", divide="ignore"):
                d = 1.0 - x.var(axis=0) / sd**2
                boot = 1.0 - resampled_var(s.task[mine], x, n_boot, rng) / sd**2
            lo, hi = interval(boot, level)
            rank = tied_ranks(lo, hi)
            n_tasks = len(np.unique(s.task[mine]))
            rows += [{"constraint": s.constraint_name, "target": target_text(s.target_value), "solver": solver,
                      "feature": res.feature_names[j], "determinacy": float(d[q]), "lo": float(lo[q]),
                      "hi": float(hi[q]), "n": len(x), "rank": int(rank[q]), "faithful": is_faithful(solver),
                      "n_tasks": n_tasks} for q, j in enumerate(free)]
    return Table.from_rows(rows, DETERMINACY_COLUMNS)


def response_table(res: Results, n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> Table:
    """One row per (constraint, solver, output, free feature) where the group's target tasks have
    at least three distinct values of that output; see the module text."""
    acc = res.accepted()
    is_target = res.objectives == "target"
    n_boot = min(n_boot, MAX_BOOT)
    solvers, constraint = res.solvers, res.tasks["constraint"]
    groups: dict[tuple[int, str], list[int]] = {}
    for i in np.flatnonzero(is_target):
        groups.setdefault((int(constraint[i]), solvers[i]), []).append(i)
    rows = []
    for g, ((c, solver), tasks) in enumerate(groups.items()):
        tasks = np.array(tasks)
        ti, si = np.nonzero(acc[tasks])
        ti = tasks[ti]
        targets = res.target[ti]  # [m, n_out]
        varying = [k for k in range(targets.shape[1]) if np.all(np.isfinite(targets[:, k]))
                   and len(np.unique(targets[:, k])) >= 3]
        free = np.flatnonzero(res.constraints[c].free)
        n_targets = len(np.unique(res.target[tasks], axis=0))
        if not varying or len(free) == 0 or n_targets < len(varying) + 2:
            continue
        t = (targets[:, varying] - res.oracle.out_mean[varying]) / res.oracle.out_scale[varying]
        design = np.column_stack([np.ones(len(t)), t])
        x = res.vectors[ti, si][:, free] / prior_std(res, c)[free]
        u = units(res.task_ids[ti], x)  # the design is constant within a task: sums per unit suffice
        d = design[u.first]
        slope = _wls(u.count[None], u.count, d, u.sx)[0]  # [n_varying, n_free]
        rng = np.random.default_rng([seed, g])
        boot = np.concatenate([_wls(w, u.count, d, u.sx) for w in poisson_weights(len(u.count), n_boot, rng)])
        lo, hi = interval(boot, level)
        for q, k in enumerate(varying):
            # Ranked by |slope|: the interval of |slope| is [0, max] where the slope's straddles 0.
            alo = np.where((lo[q] > 0) | (hi[q] < 0), np.minimum(np.abs(lo[q]), np.abs(hi[q])), 0.0)
            rank = tied_ranks(alo, np.maximum(np.abs(lo[q]), np.abs(hi[q])))
            rows += [{"constraint": res.constraints[c].name, "solver": solver, "output": res.output_names[k],
                      "feature": res.feature_names[j], "slope": float(slope[q, p]), "lo": float(lo[q, p]),
                      "hi": float(hi[q, p]), "n": len(x), "rank": int(rank[p]), "faithful": is_faithful(solver),
                      "n_targets": n_targets} for p, j in enumerate(free)]
    return Table.from_rows(rows, RESPONSE_COLUMNS)


def _wls(w: np.ndarray, count: np.ndarray, design: np.ndarray, sy: np.ndarray) -> np.ndarray:
    """[n_boot, p - 1, d] slopes of weighted least squares over units that share one design row
    each (design [U, p], first column the intercept; count [U] vectors, sy [U, d] their sums of
    y) under each row of w [n_boot, U]; NaN where a resample is singular."""
    a = np.einsum("bu,u,ui,uj->bij", w, count, design, design)
    rhs = np.einsum("bu,ui,ud->bid", w, design, sy)
    out = np.full(rhs.shape, np.nan)
    ok = np.linalg.cond(a) < 1e12
    if ok.any():
        out[ok] = np.linalg.solve(a[ok], rhs[ok])
    return out[:, 1:, :]
