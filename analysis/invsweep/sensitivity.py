"""Global sensitivity of the oracle: Sobol' first-order (S1) and total (ST) indices over a box.

With x uniform over the box (fixed features held), and V = Var f(x):

    S1_j = Var(E[f | x_j]) / V        the share of V that x_j explains alone
    ST_j = E[Var(f | x_without_j)] / V the share of V that involves x_j at all (with interactions)

ST_j ≈ 0: the output does not depend on x_j anywhere in the box. ST_j − S1_j: the part of x_j's
effect that comes through interactions. S1 sums to at most 1; ST to at least 1.

Estimators (Saltelli 2010, Table 2; Jansen 1999): two independent uniform samples A, B of N rows;
AB_j is A with column j taken from B. Then, over the N rows,

    V    = the variance of f over A and B together
    S1_j = 1 − mean((f(B) − f(AB_j))²) / (2V)
    ST_j = mean((f(A) − f(AB_j))²) / (2V)

N(d + 2) oracle evaluations for d free features, batched through numpy in float32 arithmetic
(`Oracle.fast`: outputs within about 1e-6 of their scale, far inside the intervals). Plain Monte
Carlo (not a quasi-random sequence) so that the bootstrap over the N rows gives honest 95 %
intervals.

N: by default doubled from N_START until every interval of every output is within ±HALF_WIDTH
(i.e. hi − lo ≤ 2·HALF_WIDTH), or N reaches N_MAX (then the table says so through its wider
intervals); `n` fixes N instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .determinacy import prior_box
from .stats import interval, poisson1, tied_ranks
from .table import Table

N_START = 4096
N_MAX = 1 << 17
HALF_WIDTH = 0.02
N_BOOT = 200
BOOT_CHUNK = 1 << 22  # weights held at once in the bootstrap (n_boot × N)
EVAL_ROWS = 1 << 16  # points per call of the function
COLUMNS = ["constraint", "output", "feature", "S1", "S1_lo", "S1_hi", "ST", "ST_lo", "ST_hi", "rank", "n",
           "half_width"]


class SensitivityError(ValueError):
    """The box or the options cannot be used (an infinite box, no free feature, N < 2)."""


@dataclass
class Sobol:
    """Indices of one function over one box: arrays [n_out, d] over the free features."""

    free: np.ndarray  # [d] indices of the varied features
    n: int  # base sample size N (evaluations: N (d + 2))
    variance: np.ndarray  # [n_out]
    s1: np.ndarray
    s1_lo: np.ndarray
    s1_hi: np.ndarray
    st: np.ndarray
    st_lo: np.ndarray
    st_hi: np.ndarray

    @property
    def half_width(self) -> float:
        """The largest interval half-width over every index."""
        return float(np.nanmax(np.concatenate([(self.s1_hi - self.s1_lo).ravel(),
                                               (self.st_hi - self.st_lo).ravel()])) / 2)


def sobol(f: Callable[[np.ndarray], np.ndarray], lo, hi, fixed=None, n: int | None = None,
          n_boot: int = N_BOOT, seed: int = 0, half_width: float = HALF_WIDTH, n_max: int = N_MAX) -> Sobol:
    """Indices of f ([M, n_in] -> [M, n_out]) over the box [lo, hi] [n_in]; `fixed` [n_in] holds
    a value where a feature is fixed (NaN elsewhere). N as in the module text."""
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    fixed = np.full(len(lo), np.nan) if fixed is None else np.asarray(fixed, dtype=float)
    free = np.flatnonzero(np.isnan(fixed))
    if len(free) == 0:
        raise SensitivityError("every feature is fixed: nothing to vary")
    bad = [j for j in free if not (np.isfinite(lo[j]) and np.isfinite(hi[j]) and hi[j] > lo[j])]
    if bad:
        raise SensitivityError(f"the box of feature(s) {', '.join(map(str, bad))} is not a finite interval "
                               f"(lo {lo[bad].tolist()}, hi {hi[bad].tolist()})")
    if n is not None and n < 2:
        raise SensitivityError(f"N must be >= 2, got {n}")
    rng = np.random.default_rng(seed)
    acc = _Accumulator(len(free), n_boot)
    step = n if n is not None else N_START
    while True:
        acc.add(_block(f, lo, hi, fixed, free, step, rng), rng)
        out = acc.indices(free)
        if n is not None or out.half_width <= half_width or acc.rows >= n_max:
            return out
        step = acc.rows  # doubling


def _block(f, lo, hi, fixed, free, m: int, rng: np.random.Generator) -> np.ndarray:
    """[m, 4 + 2d, n_out] per-row terms: f(A), f(B), f(A)², f(B)², (f(B) − f(AB_j))²,
    (f(A) − f(AB_j))²."""
    d = len(free)
    base = np.where(np.isnan(fixed), 0.0, fixed)
    a = np.tile(base, (m, 1))
    b = a.copy()
    a[:, free] = rng.uniform(lo[free], hi[free], (m, d))
    b[:, free] = rng.uniform(lo[free], hi[free], (m, d))
    ab = np.repeat(a[None], d, axis=0)  # [d, m, n_in]
    for k, j in enumerate(free):
        ab[k, :, j] = b[:, j]
    x = np.concatenate([a, b, ab.reshape(d * m, -1)])
    # Batches of EVAL_ROWS keep the oracle's hidden activations small (rows × width floats).
    y = np.concatenate([np.asarray(f(x[i:i + EVAL_ROWS]), dtype=float).reshape(min(EVAL_ROWS, len(x) - i), -1)
                        for i in range(0, len(x), EVAL_ROWS)])
    y = y.reshape(d + 2, m, -1)
    fa, fb, fab = y[0], y[1], y[2:]
    return np.concatenate([fa[:, None], fb[:, None], (fa * fa)[:, None], (fb * fb)[:, None],
                           np.moveaxis((fb[None] - fab) ** 2, 0, 1), np.moveaxis((fa[None] - fab) ** 2, 0, 1)],
                          axis=1)


def _from_means(mu: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(V, S1, ST) from means of the per-row terms [..., 4 + 2d, n_out]."""
    v = (mu[..., 2, :] + mu[..., 3, :]) / 2 - ((mu[..., 0, :] + mu[..., 1, :]) / 2) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        v2 = np.where(v > 0, 2 * v, np.nan)[..., None, :]
        s1 = 1.0 - mu[..., 4:4 + d, :] / v2
        st = mu[..., 4 + d:, :] / v2
    return v, s1, st


class _Accumulator:
    """Sums of the per-row terms over every block so far, and the same sums under each of
    n_boot Poisson(1) bootstrap weightings of the rows. A row's weights are drawn when its
    block arrives, so the bootstrap of all rows is the sum over blocks: a doubling round
    weighs only its new rows, and the rows themselves are not kept."""

    def __init__(self, d: int, n_boot: int):
        self.d, self.n_boot, self.rows = d, n_boot, 0
        self.total = self.boot = self.weight = None
        self.shape: tuple[int, int] = (0, 0)  # (4 + 2d, n_out)

    def add(self, terms: np.ndarray, rng: np.random.Generator) -> None:
        m, q, n_out = terms.shape
        flat = terms.reshape(m, q * n_out)
        if self.total is None:  # the first block sets the shape of every sum
            self.shape = (q, n_out)
            self.total = np.zeros(q * n_out)
            self.boot = np.zeros((self.n_boot, q * n_out))
            self.weight = np.zeros(self.n_boot)
        self.total += flat.sum(axis=0)
        chunk = max(1, BOOT_CHUNK // self.n_boot)
        for start in range(0, m, chunk):
            rows = flat[start:start + chunk]
            w = poisson1(rng, (self.n_boot, len(rows)))
            self.boot += w @ rows
            self.weight += w.sum(axis=1)
        self.rows += m

    def indices(self, free: np.ndarray) -> Sobol:
        v, s1, st = _from_means((self.total / self.rows).reshape(self.shape), self.d)
        mu = self.boot / np.maximum(self.weight, 1.0)[:, None]
        _, b1, bt = _from_means(mu.reshape(-1, *self.shape), self.d)
        s1_lo, s1_hi = interval(b1)
        st_lo, st_hi = interval(bt)
        t = lambda a: np.asarray(a).T  # [d, n_out] -> [n_out, d]
        return Sobol(free, self.rows, v, t(s1), t(s1_lo), t(s1_hi), t(st), t(st_lo), t(st_hi))


def sensitivity_rows(s: Sobol, constraint: str, outputs: list[str], features: list[str]) -> list[dict]:
    """Rows of sensitivity.csv for one box; rank by ST, tied where intervals overlap."""
    rows = []
    hw = s.half_width
    for k, out in enumerate(outputs):
        rank = tied_ranks(s.st_lo[k], s.st_hi[k])
        rows += [{"constraint": constraint, "output": out, "feature": features[j], "S1": float(s.s1[k, q]),
                  "S1_lo": float(s.s1_lo[k, q]), "S1_hi": float(s.s1_hi[k, q]), "ST": float(s.st[k, q]),
                  "ST_lo": float(s.st_lo[k, q]), "ST_hi": float(s.st_hi[k, q]), "rank": int(rank[q]),
                  "n": s.n, "half_width": hw} for q, j in enumerate(s.free)]
    return rows


def oracle_sensitivity(oracle, n: int | None = None, seed: int = 0, name: str = "input_bounds") -> Table:
    """sensitivity.csv of an oracle over its input_bounds (every feature free)."""
    s = sobol(oracle.fast, oracle.lo, oracle.hi, n=n, seed=seed)
    return Table.from_rows(sensitivity_rows(s, name, oracle.output_names, oracle.input_names), COLUMNS)


def sensitivity_table(res, n: int | None = None, seed: int = 0) -> Table:
    """sensitivity.csv of a results file: the oracle over the box of every constraint setting
    that the analysed tasks use (bounds, else input_bounds; fixed features held). Settings whose
    box is not finite have no rows."""
    rows = []
    for c in dict.fromkeys(res.tasks["constraint"].tolist()):
        con = res.constraints[c]
        lo, hi = prior_box(res, c)
        try:
            s = sobol(res.oracle.fast, lo, hi, fixed=np.where(con.fixed_mask, con.fixed_value, np.nan), n=n,
                      seed=seed + c)
        except SensitivityError:
            continue
        rows += sensitivity_rows(s, con.name, res.output_names, res.feature_names)
    return Table.from_rows(rows, COLUMNS)
