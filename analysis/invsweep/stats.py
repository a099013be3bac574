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

from dataclasses import dataclass
from math import exp, factorial

import numpy as np

LEVEL = 0.95
MIN_TASKS = 10
MAX_BOOT = 400  # resamples per group at most: the cost stays linear in the number of vectors


CHUNK = 1 << 22  # weights held at once: n_boot × units is drawn in slices of at most this size


@dataclass
class Units:
    """The resampled units of a group: whole tasks (at least MIN_TASKS of them) or vectors, each
    with its count of vectors and the sums of x and x² over them (x centred on the group mean,
    so that variances do not cancel digits); `first` is one vector's index per unit."""

    count: np.ndarray  # [U]
    sx: np.ndarray  # [U, d]
    sxx: np.ndarray  # [U, d]
    first: np.ndarray  # [U]


def units(task: np.ndarray, x: np.ndarray) -> Units:
    x = x - x.mean(axis=0)
    ids, first, inv = np.unique(task, return_index=True, return_inverse=True)
    if len(ids) < MIN_TASKS:
        return Units(np.ones(len(x)), x, x * x, np.arange(len(x)))
    count = np.bincount(inv, minlength=len(ids)).astype(np.float64)
    sx = np.zeros((len(ids), x.shape[1]))
    sxx = np.zeros_like(sx)
    np.add.at(sx, inv, x)
    np.add.at(sxx, inv, x * x)
    return Units(count, sx, sxx, first)


# P(K <= k) for K ~ Poisson(1); beyond k = 18 the terms are below a double's resolution near 1.
_POISSON1_CDF = np.cumsum([exp(-1.0) / factorial(k) for k in range(25)])
_COMMON = 7  # values 0..6 hold all but 8e-5 of the mass


def poisson1(rng: np.random.Generator, shape) -> np.ndarray:
    """Poisson(1) draws as float64, by inversion: K = the number of CDF values at or below a
    uniform u. The same law as rng.poisson(1.0, shape) (to a double's resolution of the CDF),
    about three times faster: a few vector comparisons for the common values instead of a
    per-draw loop, the rare tail looked up."""
    u = rng.random(shape)
    k = np.zeros(u.shape, dtype=np.uint8)
    for c in _POISSON1_CDF[:_COMMON]:
        np.add(k, u >= c, out=k, casting="unsafe")
    rare = u >= _POISSON1_CDF[_COMMON - 1]
    if rare.any():
        k[rare] = np.searchsorted(_POISSON1_CDF, u[rare], side="right")
    return k.astype(np.float64)


def poisson_weights(n_units: int, n_boot: int, rng: np.random.Generator):
    """Yields [b, n_units] Poisson(1) weights, n_boot rows in all, in slices of bounded size."""
    step = max(1, CHUNK // max(n_units, 1))
    for start in range(0, n_boot, step):
        yield poisson1(rng, (min(step, n_boot - start), n_units))


def resampled_var(task: np.ndarray, x: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """[n_boot, d] population variance of x [m, d] (task ids [m]) in each Poisson resample
    (NaN where a resample is empty)."""
    u = units(task, x)
    out = []
    for w in poisson_weights(len(u.count), n_boot, rng):
        n = (w @ u.count)[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = (w @ u.sx) / n
            out.append(np.maximum((w @ u.sxx) / n - mean * mean, 0.0))
    return np.concatenate(out)


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
