"""Root clustering: group the accepted vectors of each (target, constraint) setting, merged over
solvers and seeds, into distinct families of solutions, without being told how many.

Method: single linkage, cut at the most pronounced gap.
  1. Scale every free feature by its range (the same ranges as feature importance), so that
     distances are shares of the training range. Fixed features are left out (they do not vary).
  2. Single linkage joins the m vectors by the edges of their minimum spanning tree; sort the
     edge lengths w_1 >= w_2 >= ... .
  3. Cutting the k longest edges gives k + 1 families with gap ratio w_k / w_(k+1): how much
     longer the shortest cut edge is than the longest edge kept inside a family. Take the k
     with the largest gap ratio, provided it is at least R(m) = 10 * (1 + 20 / m), that
     w_k > 1e-3 (gaps under 0.1 % of the range never separate roots) and that
     k + 1 <= m / 2 (families of two vectors on average at least). Otherwise: one family.
A family is a connected set of solutions: a root that is a curve or a surface (free features
that do not matter) is one family however it is sampled, and distinct roots, separated by much
more than the spacing of the vectors within each, are distinct families. R(m) grows for small m
because a few random points show large gaps by chance. The rule errs towards merging: measured
rates (docs/ANALYSIS.md) are under 1 % of single clouds split, while two Gaussian blobs need
their centres some 20-30 standard deviations apart to be told apart (tight roots, the usual
case, are thousands of spacings apart). `distance` overrides the choice. With fewer than 4
accepted vectors everything is one family. Above `max_points` vectors the linkage runs on a
seeded subsample; the other vectors join the family of their nearest subsampled vector, or form
new families when they are more than R(m) linking distances away from all of them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial import cKDTree

from .determinacy import is_faithful
from .importance import feature_ranges
from .loader import Results, best_residual
from .table import Table
from .tables import Setting, by_setting

RATIO = 10.0  # R(m) = RATIO * (1 + SMALL_M / m)
SMALL_M = 20.0
GAP_MIN = 1e-3  # in shares of the feature ranges
MAX_FAMILIES = 100
MAX_POINTS = 4000


@dataclass
class SettingClusters:
    setting: Setting
    labels: np.ndarray  # [m] family of each accepted vector, 0 = the largest family
    link_distance: float  # longest edge kept inside a family, in shares of the feature ranges
    gap_ratio: float  # shortest cut edge / link_distance; NaN when nothing was cut
    scaled: np.ndarray  # [m, n_free] the scaled free features that were clustered


def required_ratio(m: int) -> float:
    return RATIO * (1.0 + SMALL_M / m)


def _cut(z: np.ndarray, m: int) -> tuple[float, float]:
    """(linking distance, gap ratio) chosen from a single-linkage matrix; ratio NaN = no cut."""
    w = np.sort(z[:, 2])[::-1]
    need, best_k, best = required_ratio(m), 0, np.nan
    for k in range(1, min(MAX_FAMILIES, m // 2 - 1) + 1):
        if w[k - 1] <= GAP_MIN:
            break
        ratio = w[k - 1] / w[k] if w[k] > 0 else np.inf
        if ratio >= need and not ratio <= best:
            best_k, best = k, ratio
    return (float(w[best_k]), best) if best_k else (float(w[0]), np.nan)


def link(x: np.ndarray, distance: float | None = None, max_points: int = MAX_POINTS,
         seed: int = 0) -> tuple[np.ndarray, float, float]:
    """Families of x [m, d]: (labels 0.. by decreasing size, linking distance, gap ratio).
    With `distance` given, vectors closer than it are linked and nothing is chosen."""
    m = len(x)
    if m < 2 or x.shape[1] == 0 or (m < 4 and distance is None):
        return np.zeros(m, dtype=np.int64), 0.0, np.nan
    sub = np.arange(m)
    if m > max_points:
        sub = np.sort(np.random.default_rng(seed).choice(m, max_points, replace=False))
    z = linkage(x[sub], method="single")
    ratio = np.nan
    if distance is None:
        distance, ratio = _cut(z, len(sub))
    labels = fcluster(z, t=distance, criterion="distance") - 1
    if len(sub) < m:
        # A vector off the subsample joins its nearest sampled vector's family unless that is
        # a gap of R(m) linking distances away: then it starts a family with its far peers.
        reach = max(required_ratio(len(sub)) * distance, GAP_MIN)
        dist, nn = cKDTree(x[sub]).query(x)
        labels = labels[nn]
        far = dist > reach
        if far.sum() > 1:
            extra = fcluster(linkage(x[far], method="single"), t=reach, criterion="distance") - 1
            labels[far] = extra + labels.max() + 1
        elif far.any():
            labels[far] = labels.max() + 1
    return _relabel(labels, x), distance, ratio


def _relabel(raw: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Labels 0.. by decreasing size, ties by the centre's coordinates (deterministic)."""
    ids = np.unique(raw)
    key = sorted(ids, key=lambda i: (-np.sum(raw == i), *x[raw == i].mean(axis=0)))
    new = np.empty(len(raw), dtype=np.int64)
    for rank, i in enumerate(key):
        new[raw == i] = rank
    return new


def cluster_setting(s: Setting, width: np.ndarray, distance: float | None = None,
                    seed: int = 0) -> SettingClusters:
    free = np.flatnonzero(s.free)
    w = np.where(np.isfinite(width[free]) & (width[free] > 0), width[free], 1.0)
    x = s.vectors[:, free] / w
    labels, d, ratio = link(x, distance, seed=seed)
    return SettingClusters(s, labels, d, ratio, x)


def find_clusters(res: Results, distance: float | None = None, seed: int = 0) -> list[SettingClusters]:
    """One SettingClusters per setting with at least one accepted vector."""
    width, _ = feature_ranges(res)
    return [cluster_setting(s, width, distance, seed) for s in by_setting(res) if len(s.vectors)]


def clusters_table(found: list[SettingClusters], features: list[str]) -> Table:
    """One row per family: target, constraint, cluster, size, best_residual, center_<feature>
    (the mean of its vectors, every feature), then n_tasks, solvers (vectors per solver),
    link_distance and gap_ratio of the setting, share (size over the setting's clustered
    vectors), faithful (every vector of the setting comes from a faithful solver, `sampler`:
    only then is the share the family's proportion of the solution mass) and sampler_share (the
    family's fraction of the setting's sampler vectors — that proportion even where other
    solvers' vectors are mixed in; NaN without sampler vectors)."""
    rows = []
    for sc in found:
        s = sc.setting
        faithful_vec = np.array([is_faithful(v) for v in s.solver.tolist()], dtype=bool)
        faithful = bool(len(s.solver)) and bool(faithful_vec.all())
        for c in range(int(sc.labels.max()) + 1 if len(sc.labels) else 0):
            mine = sc.labels == c
            row = {"target": s.target, "constraint": s.constraint_name, "cluster": c, "size": int(mine.sum()),
                   "best_residual": best_residual(s.residuals[mine], s.objective)}
            centre = s.vectors[mine].mean(axis=0)
            row.update({f"center_{f}": float(v) for f, v in zip(features, centre)})
            counts = Counter(s.solver[mine].tolist())
            row["n_tasks"] = len(np.unique(s.task[mine]))
            row["solvers"] = " ".join(f"{k}:{counts[k]}" for k in sorted(counts))
            row["link_distance"] = sc.link_distance
            row["gap_ratio"] = sc.gap_ratio
            row["share"] = float(mine.sum() / len(sc.labels))
            row["faithful"] = faithful
            row["sampler_share"] = (float(np.sum(mine & faithful_vec) / faithful_vec.sum()) if faithful_vec.any()
                                    else np.nan)
            rows.append(row)
    names = (["target", "constraint", "cluster", "size", "best_residual"] + [f"center_{f}" for f in features]
             + ["n_tasks", "solvers", "link_distance", "gap_ratio", "share", "faithful", "sampler_share"])
    return Table.from_rows(rows, names)
