"""Solution-cloud plots: a setting's accepted vectors coloured by family (clusters.py), as a
strip, a pair plot or a principal-component biplot. Split from plots.py, whose helpers it uses."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle, StepPatch
from matplotlib.text import Text
from matplotlib.transforms import (Bbox, BboxTransform, BboxTransformTo, ScaledTranslation, TransformedBbox,
                                   blended_transform_factory)

from .clusters import SettingClusters
from .loader import Results
from .figures import COLORS, DPI, _save, linear_ticks, styled, tick_artists
from .plots import _title

_PAIR_TICKS = {"xtick.labelsize": 7, "ytick.labelsize": 7}
BEST_MAX_POINTS = 2000  # above this many points, legends take a fixed corner: "best" costs seconds


def _legend_loc(n_points: int) -> str:
    return "best" if n_points <= BEST_MAX_POINTS else "upper right"


def _family_legend(ax, labels: np.ndarray) -> None:
    handles, texts = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles[:10], texts[:10], fontsize=8, markerscale=2, loc=_legend_loc(len(labels)),
                  title=f"{labels.max() + 1} families" if len(labels) and labels.max() else None,
                  title_fontsize=8)


def _scatter_families(ax, x: np.ndarray, y: np.ndarray, labels: np.ndarray, legend: bool) -> None:
    for c in range(int(labels.max()) + 1 if len(labels) else 0):
        mine = labels == c
        ax.scatter(x[mine], y[mine], s=9, alpha=0.7, color=COLORS[c % len(COLORS)], lw=0,
                   label=f"family {c} ({mine.sum()})" if legend else None)


def _limits(ax, lo: float, hi: float, axis: str) -> None:
    if np.isfinite(lo) and np.isfinite(hi) and hi > lo:
        pad = 0.03 * (hi - lo)
        (ax.set_xlim if axis == "x" else ax.set_ylim)(lo - pad, hi + pad)


@styled
def solution_clouds(found: list[SettingClusters], res: Results, out: Path, max_plots: int = 40,
                    first: int = 1) -> list[str]:
    """Per setting: the accepted vectors' free features coloured by family — a strip for one
    free feature, a pair plot for 2–5, the first two principal components above. Axes span the
    oracle's training range. Files clouds_<first + i>.png for found[i]."""
    names = []
    lo, hi = res.oracle.lo, res.oracle.hi
    for i, sc in enumerate(found[:max_plots]):
        s = sc.setting
        free = np.flatnonzero(s.free)
        if len(free) == 0 or len(s.vectors) == 0:
            continue
        x, labels = s.vectors[:, free], sc.labels
        fnames = [res.feature_names[j] for j in free]
        n = len(free)
        n_fam = labels.max() + 1
        title = (f"{_title(s.target, s.constraint_name)}: {n_fam} {'family' if n_fam == 1 else 'families'}, "
                 f"{len(labels)} vectors")
        # Pair plots: small tick labels, set as the default while the figure is built and drawn
        # (tick_params on every panel afterwards was a fifth of the plot's cost).
        with rc_context(_PAIR_TICKS if 2 <= n <= 5 else {}):
            if n == 1:
                fig = Figure(figsize=(8.0, 3.0))
                ax = fig.add_subplot(1, 1, 1)
                jitter = np.random.default_rng(0).uniform(-1, 1, len(x))
                _scatter_families(ax, x[:, 0], jitter, labels, True)
                for c in range(labels.max() + 1):
                    ax.axvline(x[labels == c, 0].mean(), color=COLORS[c % len(COLORS)], lw=1, ls="--")
                _limits(ax, lo[free[0]], hi[free[0]], "x")
                ax.set_yticks([])
                ax.set_ylim(-1.6, 1.6)
                ax.set_xlabel(fnames[0])
                ax.set_title(title + "  (dashed: family centres)", fontsize=10)
                _family_legend(ax, labels)
            elif n <= 5:
                fig = Figure(figsize=(2.6 * n + 1.0, 2.6 * n), dpi=DPI)
                _pair_plot(fig, x, labels, fnames, lo[free], hi[free])
                fig.suptitle(title, fontsize=11)
            else:
                fig = Figure(figsize=(10.0, 6.0))
                grid = fig.add_gridspec(1, 2, width_ratios=(3.0, 1.1))
                ax = fig.add_subplot(grid[0, 0])
                side = fig.add_subplot(grid[0, 1])
                side.axis("off")
                z = sc.scaled - sc.scaled.mean(axis=0)
                _, sv, vt = np.linalg.svd(z, full_matrices=False)
                pc = z @ vt[:2].T
                share = sv[:2] ** 2 / max(np.sum(sv**2), 1e-300)
                _scatter_families(ax, pc[:, 0], pc[:, 1] if pc.shape[1] > 1 else np.zeros(len(pc)), labels, True)
                _loadings(ax, side, pc, vt[:2], fnames)
                ax.set_xlabel(f"PC1 ({100 * share[0]:.0f} % of variance; features scaled by range)")
                ax.set_ylabel(f"PC2 ({100 * share[1]:.0f} %)" if len(share) > 1 else "")
                ax.set_title(title, fontsize=10)
                _family_legend(ax, labels)
            names.append(_save(fig, out, f"clouds_{first + i}.png", tight=not 2 <= n <= 5))
    return names


def _pair_plot(fig: Figure, x: np.ndarray, labels: np.ndarray, names: list[str], lo: np.ndarray,
               hi: np.ndarray) -> None:
    """The lower triangle of a pair plot of x's columns (histograms on the diagonal), each panel
    spanning its features' range [lo, hi] (3 % beyond), with the families' legend in the empty
    upper triangle. Drawn as artists of the figure itself, in a regular grid with fixed margins:
    an axes object per panel was most of the plot's cost. The panels look as _panel's axes
    would (frames, ticks and labels placed from the same rc settings)."""
    n = x.shape[1]
    grid = fig.add_gridspec(n, n, left=0.09, right=0.97, bottom=0.08, top=0.93, wspace=0.3, hspace=0.3)
    bottoms, tops, lefts, rights = grid.get_grid_positions(fig)
    spans = [_padded(*_span(x[:, a], lo[a], hi[a])) for a in range(n)]
    families = range(int(labels.max()) + 1 if len(labels) else 0)
    renderer = FigureCanvasAgg(fig).get_renderer()
    rc = matplotlib.rcParams
    handles = []
    for a in range(n):
        for b in range(a + 1):
            box = Bbox([[lefts[b], bottoms[a]], [rights[b], tops[a]]])
            xlim = spans[b]
            artists = []
            if a == b:
                bins = np.linspace(*_span(x[:, a], lo[a], hi[a]), 30)
                counts = [np.histogram(x[labels == c, a], bins=bins)[0] for c in families]
                top = max((int(k.max()) for k in counts), default=0)
                ylim = (0.0, 1.05 * top if top else 1.0)
                artists += [StepPatch(k, bins, fill=True, lw=0, color=COLORS[c % len(COLORS)], alpha=0.6)
                            for c, k in zip(families, counts)]
            else:
                ylim = spans[a]
                for c in families:
                    mine = labels == c
                    dots = Line2D(x[mine, b], x[mine, a], ls="none", marker="o", markersize=3, markeredgewidth=0,
                                  alpha=0.7, color=COLORS[c % len(COLORS)], label=f"family {c} ({mine.sum()})")
                    artists.append(dots)
                    if a == 1 and b == 0:
                        handles.append(dots)
            data = BboxTransform(Bbox([[xlim[0], ylim[0]], [xlim[1], ylim[1]]]), box) + fig.transFigure
            unit = BboxTransformTo(box) + fig.transFigure
            clip = TransformedBbox(box, fig.transFigure)
            for artist in artists:
                artist.set_transform(data)
                artist.set_clip_box(clip)
                fig.add_artist(artist)
            fig.add_artist(Rectangle((0, 0), 1, 1, transform=unit, fill=False, lw=rc["axes.linewidth"],
                                     edgecolor=rc["axes.edgecolor"], zorder=2.5))
            reach = {}
            for name, (vlo, vhi) in (("x", xlim), ("y", ylim)):
                locs, text, offset = linear_ticks(vlo, vhi, 4)
                along = blended_transform_factory(data, unit) if name == "x" else blended_transform_factory(unit, data)
                reach[name] = tick_artists(fig, fig.add_artist, name, along, unit, locs, np.empty(0), text, offset,
                                           renderer) + rc["axes.labelpad"]
            if a == n - 1:
                fig.add_artist(Text(0.5, 0, names[b], transform=unit + ScaledTranslation(
                    0, -reach["x"] / 72, fig.dpi_scale_trans), ha="center", va="top", fontsize=rc["axes.labelsize"]))
            if b == 0:
                fig.add_artist(Text(0, 0.5, names[a] if a > 0 else "count", transform=unit + ScaledTranslation(
                    -reach["y"] / 72, 0, fig.dpi_scale_trans), ha="right", va="center", rotation=90,
                    fontsize=rc["axes.labelsize"]))
    if handles:  # in the empty upper triangle, under the title
        fig.legend(handles[:10], [h.get_label() for h in handles[:10]], loc="upper right",
                   bbox_to_anchor=(0.97, 0.9), fontsize=9, markerscale=2)


def _padded(lo: float, hi: float) -> tuple[float, float]:
    pad = 0.03 * (hi - lo)
    return lo - pad, hi + pad


def _loadings(ax, side, pc: np.ndarray, vt: np.ndarray, names: list[str]) -> None:
    """A biplot: each feature's loading on PC1/PC2 as an arrow from the centre (scaled to the
    cloud), and the loadings listed beside the axes, largest first."""
    if vt.shape[0] < 2 or not len(pc):
        return
    reach = float(np.max(np.abs(pc[:, :2]))) or 1.0
    scale = 0.9 * reach / max(float(np.max(np.hypot(vt[0], vt[1]))), 1e-300)
    order = np.argsort(-np.hypot(vt[0], vt[1]))
    for k in order[:8]:
        ax.annotate("", xy=(scale * vt[0, k], scale * vt[1, k]), xytext=(0, 0),
                    arrowprops={"arrowstyle": "->", "color": "k", "lw": 1.1})
        ax.text(1.07 * scale * vt[0, k], 1.07 * scale * vt[1, k], names[k], fontsize=8, ha="center", va="center",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7})
    lines = ["loadings      PC1     PC2"] + [f"{names[k]:<10} {vt[0, k]:+.2f}   {vt[1, k]:+.2f}" for k in order]
    side.text(0.0, 1.0, "\n".join(lines), family="monospace", fontsize=8, va="top", transform=side.transAxes)


def _span(v: np.ndarray, lo: float, hi: float) -> tuple[float, float]:
    if np.isfinite(lo) and np.isfinite(hi) and hi > lo:
        return lo, hi
    a, b = float(v.min()), float(v.max())
    return (a, b) if b > a else (a - 0.5, a + 0.5)
