"""Root clustering: group the accepted vectors of each (target, constraint) setting, merged over
solvers and seeds, into distinct families of solutions, without being told how many.

Method (single-linkage density clustering, i.e. DBSCAN with min_samples = 1):
  1. Scale every free feature by its range (the same ranges as feature importance), so that
     distances are shares of the training range. Fixed features are left out (they do not vary).
  2. eps, the linking distance, comes from the data: d_k is each vector's distance to its k-th
     nearest neighbour (k = 5, or m - 1 for m < 6 vectors); eps = 3 * (99th percentile of d_k),
     and at least 1e-3 (vectors closer than 0.1 % of the range are one root).
  3. Two vectors closer than eps are in the same family; families are the connected groups.
     Every accepted vector is a solution, so there is no "noise" label: a root found by a single
     vector is a family of size 1.
A family is a connected set of solutions, so a root that is a curve or a surface (free features
that do not matter) is one family, not split in pieces; distinct roots separated by more than
eps are distinct families. Above `max_points` vectors, the linking runs on a seeded subsample
and the other vectors join the family of their nearest subsampled vector (or form new families
when that is farther than eps).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import DBSCAN
from sklearn.neighbors import NearestNeighbors

from .importance import feature_ranges
from .loader import Results, Setting, by_setting
from .table import Table

K_NEIGHBOUR = 5
EPS_FACTOR = 3.0
EPS_QUANTILE = 99.0
EPS_MIN = 1e-3
MAX_POINTS = 4000


@dataclass
class SettingClusters:
    setting: Setting
    labels: np.ndarray  # [m] family of each accepted vector, 0 = the largest family
    eps: float  # linking distance used, in shares of the feature ranges
    scaled: np.ndarray  # [m, n_free] the scaled free features that were clustered


def choose_eps(x: np.ndarray) -> float:
    """eps from the k-distance distribution of scaled vectors x [m, d] (see the module text)."""
    m = len(x)
    if m < 2:
        return EPS_MIN
    k = min(K_NEIGHBOUR, m - 1)
    dist, _ = NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x)
    return max(EPS_FACTOR * float(np.percentile(dist[:, k], EPS_QUANTILE)), EPS_MIN)


def link(x: np.ndarray, eps: float, max_points: int = MAX_POINTS, seed: int = 0) -> np.ndarray:
    """Connected groups of x [m, d] at linking distance eps; labels 0.. by decreasing size."""
    m = len(x)
    if m == 0:
        return np.empty(0, dtype=np.int64)
    if m <= max_points:
        raw = DBSCAN(eps=eps, min_samples=1).fit(x).labels_
    else:
        sub = np.sort(np.random.default_rng(seed).choice(m, max_points, replace=False))
        sub_labels = DBSCAN(eps=eps, min_samples=1).fit(x[sub]).labels_
        dist, nn = NearestNeighbors(n_neighbors=1).fit(x[sub]).kneighbors(x)
        raw = sub_labels[nn[:, 0]]
        far = dist[:, 0] > eps
        if far.any():
            raw[far] = link(x[far], eps, max_points, seed) + sub_labels.max() + 1
    return _relabel(raw, x)


def _relabel(raw: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Labels 0.. by decreasing size, ties by the centre's coordinates (deterministic)."""
    ids = np.unique(raw)
    key = sorted(ids, key=lambda i: (-np.sum(raw == i), *x[raw == i].mean(axis=0)))
    new = np.empty_like(raw)
    for rank, i in enumerate(key):
        new[raw == i] = rank
    return new


def cluster_setting(s: Setting, width: np.ndarray, eps: float | None = None, seed: int = 0) -> SettingClusters:
    free = np.flatnonzero(s.free)
    w = np.where(np.isfinite(width[free]) & (width[free] > 0), width[free], 1.0)
    x = s.vectors[:, free] / w
    if len(free) == 0 or len(x) == 0:
        return SettingClusters(s, np.zeros(len(x), dtype=np.int64), EPS_MIN, x)
    e = choose_eps(x) if eps is None else float(eps)
    return SettingClusters(s, link(x, e, seed=seed), e, x)


def find_clusters(res: Results, eps: float | None = None, seed: int = 0) -> list[SettingClusters]:
    """One SettingClusters per setting with at least one accepted vector."""
    width, _ = feature_ranges(res)
    return [cluster_setting(s, width, eps, seed) for s in by_setting(res) if len(s.vectors)]


def clusters_table(found: list[SettingClusters], features: list[str]) -> Table:
    """One row per family: target, constraint, cluster, size, best_residual, center_<feature>
    (the mean of its vectors, every feature), then n_tasks, solvers (vectors per solver) and eps."""
    rows = []
    for sc in found:
        s = sc.setting
        for c in range(int(sc.labels.max()) + 1 if len(sc.labels) else 0):
            mine = sc.labels == c
            row = {"target": s.target, "constraint": s.constraint_name, "cluster": c, "size": int(mine.sum()),
                   "best_residual": float(s.residuals[mine].min())}
            centre = s.vectors[mine].mean(axis=0)
            row.update({f"center_{f}": float(v) for f, v in zip(features, centre)})
            counts = Counter(s.solver[mine].tolist())
            row["n_tasks"] = len(np.unique(s.task[mine]))
            row["solvers"] = " ".join(f"{k}:{counts[k]}" for k in sorted(counts))
            row["eps"] = sc.eps
            rows.append(row)
    names = (["target", "constraint", "cluster", "size", "best_residual"] + [f"center_{f}" for f in features]
             + ["n_tasks", "solvers", "eps"])
    return Table.from_rows(rows, names)
