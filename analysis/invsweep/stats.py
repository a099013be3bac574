"""Intervals and rankings shared by the tables: the Poisson bootstrap, percentile intervals,
and ranks that tie where intervals overlap.

Poisson bootstrap (Hanley & MacGibbon 2006; Chamandy et al. 2012): each resampled unit gets a
weight drawn from Poisson(1) instead of a count from index draws, so that all resamples of a
group are one matrix product (`W @ x` gives every resample's weighted sums at once) and no
Python loop runs per task or per resample.

The unit: a group of at least MIN_TASKS tasks resamples whole tasks (the top level only, as for
clustered data — Davison & Hinkley 1997, §3.8; resampling vectors within the drawn tasks too
would count their variation twice), so correlation among one task's vectors is accounted for.
Smaller groups resample vectors: right for independent draws (the sampler's thinned chains,
whose effective sample size is close to their count), optimistic for an optimiser whose vectors
of one run are correlated.
"""

from __future__ import annotations

import numpy as np

LEVEL = 0.95
MIN_TASKS = 10
MAX_BOOT = 400  # resamples per group at most: the cost stays linear in the number of vectors


def poisson_weights(task: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """[n_boot, m] weights of m vectors whose task ids are `task` [m]: Poisson(1) per task when
    there are at least MIN_TASKS tasks, else per vector."""
    ids, inv = np.unique(task, return_inverse=True)
    if len(ids) >= MIN_TASKS:
        return rng.poisson(1.0, (n_boot, len(ids)))[:, inv].astype(np.float64)
    return rng.poisson(1.0, (n_boot, len(task))).astype(np.float64)


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
