"""Feature importance (the paper's method): a feature that barely varies across all accepted
solutions of a setting is the one that determines the output there.

For each (target, constraint) setting and each free feature j (fixed features are excluded):

    range_j      = hi_j - lo_j, the feature's range in the oracle's training data
                   (/oracle/input_bounds); where that is not finite or is zero, the range of
                   the accepted vectors of the whole file (range_source = "vectors")
    spread_j     = std_j / range_j, std_j the population standard deviation of feature j over
                   the setting's accepted vectors (all solvers and seeds merged)
    importance_j = 1 / spread_j  (inf when the feature does not vary at all)
    rank         1 + the number of features whose whole interval of spread lies below this
                 feature's (invsweep.stats.tied_ranks): features whose intervals overlap share
                 a rank, so the order is never one of noise

For reference: a feature uniform over its whole range has spread 1/sqrt(12) = 0.289,
importance 3.46; a feature pinned to 1 % of its range has importance of the order of 100+.

Confidence interval: the Poisson bootstrap of invsweep.stats (whole tasks resampled when the
setting has at least 10, which accounts for the vectors of one training run being correlated;
vectors otherwise), seeded, at most MAX_BOOT resamples; the interval is the central `level`
share of the bootstrap spreads, inverted.
"""

from __future__ import annotations

import numpy as np

from .loader import Results
from .stats import MAX_BOOT, interval, resampled_var, tied_ranks
from .table import Table
from .tables import Setting, by_setting

COLUMNS = ["target", "constraint", "feature", "importance", "rank", "ci_low", "ci_high", "spread",
           "std", "range", "range_source", "n_vectors", "n_tasks"]


def feature_ranges(res: Results) -> tuple[np.ndarray, list[str]]:
    """Range per feature and where it came from: "oracle", "vectors" or "none" (NaN range)."""
    width = res.oracle.hi - res.oracle.lo
    acc = res.vectors[res.accepted()]
    out, source = np.full(len(width), np.nan), []
    for j, w in enumerate(width):
        if np.isfinite(w) and w > 0:
            out[j] = w
            source.append("oracle")
            continue
        seen = np.ptp(acc[:, j]) if len(acc) else 0.0
        if seen > 0:
            out[j] = seen
            source.append("vectors")
        else:
            source.append("none")
    return out, source


def _spread(x: np.ndarray, width: np.ndarray) -> np.ndarray:
    return np.std(x, axis=0) / width


def _bootstrap(x: np.ndarray, task: np.ndarray, width: np.ndarray, n_boot: int,
               rng: np.random.Generator) -> np.ndarray:
    """[n_boot, n_features] spreads of x [m, n_features] (task ids [m]) under Poisson resampling."""
    return np.sqrt(resampled_var(task, x, n_boot, rng)) / width


def setting_importance(s: Setting, width: np.ndarray, source: list[str], features: list[str],
                       n_boot: int = 1000, level: float = 0.95, seed=0) -> list[dict]:
    """Rows of the importance table for one setting (empty when it has < 2 accepted vectors)."""
    free = np.flatnonzero(s.free)
    if len(s.vectors) < 2 or len(free) == 0:
        return []
    x = s.vectors[:, free]
    w = width[free]
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = _spread(x, w)
        boot = _bootstrap(x, s.task, w, min(n_boot, MAX_BOOT), np.random.default_rng(seed))
        s_lo, s_hi = interval(boot, level)
        imp, ci_low, ci_high = 1 / spread, 1 / s_hi, 1 / s_lo
    exact = np.isnan(s_lo) & (spread == 0)  # a constant feature: no bootstrap variation
    rank = tied_ranks(np.where(exact, 0, s_lo), np.where(exact, 0, s_hi), larger_first=False)
    return [{
        "target": s.target, "constraint": s.constraint_name, "feature": features[j],
        "importance": float(imp[k]), "rank": int(rank[k]), "ci_low": float(ci_low[k]),
        "ci_high": float(ci_high[k]), "spread": float(spread[k]), "std": float(np.std(x[:, k])),
        "range": float(w[k]), "range_source": source[j], "n_vectors": len(x), "n_tasks": len(np.unique(s.task)),
    } for k, j in enumerate(free)]


def importance_table(res: Results, n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> Table:
    """One row per (target, constraint, free feature); see the module text for definitions.
    Settings with fewer than 2 accepted vectors have no rows (summary_table shows them)."""
    width, source = feature_ranges(res)
    rows = []
    for i, s in enumerate(by_setting(res)):
        rows += setting_importance(s, width, source, res.feature_names, n_boot, level, seed=[seed, i])
    return Table.from_rows(rows, COLUMNS)


def compare_targets(imp: Table) -> Table:
    """Wide table for a comparison across targets: one row per (constraint, feature), columns
    importance[<target>] and rank[<target>] for every target, and the lowest and highest rank."""
    targets = list(dict.fromkeys(imp["target"].tolist()))
    keys = list(dict.fromkeys(zip(imp["constraint"].tolist(), imp["feature"].tolist())))
    cell = {(t, c, f): (i, r) for t, c, f, i, r in zip(imp["target"], imp["constraint"], imp["feature"],
                                                       imp["importance"], imp["rank"])}
    rows = []
    for c, f in keys:
        row = {"constraint": c, "feature": f}
        ranks = []
        for t in targets:
            i, r = cell.get((t, c, f), (None, None))  # None: no rows for that target
            row[f"importance[{t}]"], row[f"rank[{t}]"] = i, r
            if r is not None:
                ranks.append(int(r))
        row["rank_min"], row["rank_max"] = min(ranks), max(ranks)
        rows.append(row)
    names = ["constraint", "feature"] + [f"{k}[{t}]" for t in targets for k in ("importance", "rank")]
    return Table.from_rows(rows, names + ["rank_min", "rank_max"])
