"""Intervals and rankings shared by the tables: the two-level Poisson bootstrap, percentile
intervals, and ranks that tie where intervals overlap.

Poisson bootstrap (Hanley & MacGibbon 2006; Chamandy et al. 2012): every task of a group gets a
weight drawn from Poisson(1), every vector another; a vector's weight in a resample is the
product. This is the two-level bootstrap (tasks, then vectors within tasks) with weights instead
of index draws, so that one resample of a whole group is a matrix product: `W @ x` gives the
weighted sums of all resamples at once, and no Python loop runs per task or per resample.
"""

from __future__ import annotations

import numpy as np

LEVEL = 0.95


def poisson_weights(task: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """[n_boot, m] weights of m vectors whose task ids are `task` [m]: Poisson(1) per task times
    Poisson(1) per vector (one task alone: per vector only)."""
    ids, inv = np.unique(task, return_inverse=True)
    w = rng.poisson(1.0, (n_boot, len(task))).astype(np.float64)
    if len(ids) > 1:
        w *= rng.poisson(1.0, (n_boot, len(ids)))[:, inv]
    return w


def weighted_var(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """[n_boot, d] population variance of x [m, d] under each row of weights w [n_boot, m]
    (NaN where a row's weights sum to zero)."""
    n = w.sum(axis=1)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (w @ x) / n
        return np.maximum((w @ (x * x)) / n - mean * mean, 0.0)


def interval(boot: np.ndarray, level: float = LEVEL, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The central `level` share of bootstrap values (NaN resamples ignored)."""
    tail = 100 * (1 - level) / 2
    with np.errstate(invalid="ignore"):
        lo, hi = np.nanpercentile(boot, [tail, 100 - tail], axis=axis)
    return lo, hi


def tied_ranks(lo: np.ndarray, hi: np.ndarray, larger_first: bool = True) -> np.ndarray:
    """Rank 1 + the number of items that are *clearly* ahead: whose whole interval lies above
    this item's interval (below, with larger_first=False). Items with overlapping intervals never
    rank ahead of each other, so they share a rank unless a third item separates them; an item
    with an unknown (NaN) interval ranks behind every known one."""
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    if not larger_first:
        lo, hi = -hi, -lo
    known = ~(np.isnan(lo) | np.isnan(hi))
    ahead = (lo[None, :] > hi[:, None]) & known[None, :] & known[:, None]
    ranks = 1 + ahead.sum(axis=1)
    ranks[~known] = known.sum() + 1
    return ranks.astype(np.int64)
