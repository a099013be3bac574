"""Figure mechanics shared by plots.py and cloudplots.py: colours, pages and grids of panels,
fixed margins, axes with few tick objects, readable log axes, legends, and saving. matplotlib's
cost is mostly per object (an axes, a tick, a text): these helpers keep the count low; and the
PNG files are written here (Pillow's writer took longer than drawing)."""

from __future__ import annotations

import functools
import struct
import zlib
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.markers import TICKDOWN, TICKLEFT
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter, NullLocator, ScalarFormatter
from matplotlib.transforms import ScaledTranslation

PER_PAGE = 12
TICK_STEPS = [1, 2, 2.5, 5, 10]  # the tick spacings of a linear panel axis (times a power of 10)
DPI = 110
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
          "#bcbd22", "#7f7f7f"]
SOLVER_COLORS = {"generator": "#1f77b4", "adjoint": "#d62728", "amortized": "#2ca02c"}
_PALETTE = ("#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


# Titles at a fixed height above their axes. Placed automatically, each title measures its axes'
# tick labels once more while drawing (to avoid labels at the top, which no plot here has): a
# third of the cost of a grid of small panels.
STYLE = {"axes.titley": 1.0}


def styled(fn):
    """Runs a plot function with STYLE (the caller's rc settings are left as they were)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with rc_context(STYLE):
            return fn(*args, **kwargs)

    return wrapper


def solver_color(name: str) -> str:
    """A fixed colour per solver name; a solver this module does not know gets a stable one."""
    if name in SOLVER_COLORS:
        return SOLVER_COLORS[name]
    return _PALETTE[zlib.crc32(name.encode()) % len(_PALETTE)]


def _grid(n: int) -> tuple[int, int]:
    cols = min(n, 3)
    return (n + cols - 1) // cols, cols


def _pages(items: list, per_page: int = PER_PAGE) -> list[list]:
    return [items[i:i + per_page] for i in range(0, len(items), per_page)] or [[]]


def _name(stem: str, page: int, pages: int) -> str:
    return f"{stem}.png" if pages == 1 else f"{stem}_{page + 1}.png"


def _save(fig: Figure, out: Path, name: str, tight: bool = True) -> str:
    """Draws the figure's light ticks (see _light_ticks) and writes it as PNG.
    tight=False: the caller has set the margins (tight_layout draws the figure once more)."""
    fig.set_dpi(DPI)
    canvas = FigureCanvasAgg(fig)
    _light_ticks(fig, canvas.get_renderer())
    if tight:
        fig.tight_layout()
    canvas.draw()
    (out / name).write_bytes(png_bytes(np.asarray(canvas.buffer_rgba())))
    return name


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(rgba: np.ndarray, level: int = 3) -> bytes:
    """An 8-bit RGB PNG of an opaque (height, width, 4) uint8 image; alpha is dropped. Each row
    is filtered with "Up" (its difference from the row above), the filter that suits plots
    (large flat areas, long vertical edges), and deflated once: matplotlib's writer (Pillow)
    tries five filters on every row, which took longer than drawing the figure."""
    h, w = rgba.shape[:2]
    rgb = rgba[..., :3]
    raw = np.empty((h, 1 + 3 * w), np.uint8)
    raw[:, 0] = 2
    raw[0, 0] = 0
    pixels = raw[:, 1:].reshape(h, w, 3)
    pixels[0] = rgb[0]
    np.subtract(rgb[1:], rgb[:-1], out=pixels[1:])
    head = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", head) + _chunk(b"IDAT", zlib.compress(raw.data, level))
            + _chunk(b"IEND", b""))


def _hist(ax, values: np.ndarray, bins: np.ndarray, **kwargs) -> None:
    """A filled histogram drawn as one outline (what ax.hist shows, without a patch per bin,
    each of which costs matplotlib time to place and draw)."""
    counts, edges = np.histogram(values, bins=bins)
    ax.stairs(counts, edges, fill=True, lw=0, **kwargs)


def bars(ax, x: np.ndarray, heights: np.ndarray, width: float, err: np.ndarray | None = None,
         capsize: float = 3.0, err_lw: float = 1.0, **style) -> None:
    """ax.bar(x, heights, width, yerr=err, capsize=capsize, error_kw={"lw": err_lw}, **style) as
    three artists: the bars (one collection), the error lines and their caps. ax.bar builds a
    patch per bar and errorbar a container of artists per call, placed and drawn one by one.
    Bars of unknown height (NaN) are left out, as ax.bar leaves them blank."""
    x, heights = np.asarray(x, float), np.asarray(heights, float)
    ok = np.isfinite(x) & np.isfinite(heights)
    left, right = x[ok] - width / 2, x[ok] + width / 2
    base = np.zeros(ok.sum())
    verts = np.stack([np.column_stack(p) for p in ((left, base), (left, heights[ok]), (right, heights[ok]),
                                                  (right, base))], axis=1)
    color = style.pop("color", None)
    label = style.pop("label", None)
    edge = style.pop("edgecolor", None)
    coll = PolyCollection(verts, facecolors=color, edgecolors=edge if edge is not None else "none",
                          linewidths=style.pop("lw", 0), label=label, **style)
    coll.sticky_edges.y.append(0.0)  # as bars: no margin below the baseline
    ax.add_collection(coll)
    if err is None:
        return
    lo, hi = heights - err[0], heights + err[1]
    keep = np.isfinite(x) & np.isfinite(lo) & np.isfinite(hi)
    ax.vlines(x[keep], lo[keep], hi[keep], colors="k", lw=err_lw, zorder=2)
    if capsize > 0:
        ends = np.concatenate([lo[keep], hi[keep]])
        ax.add_line(Line2D(np.concatenate([x[keep], x[keep]]), ends, ls="none", marker="_", color="k",
                           markersize=2 * capsize, markeredgewidth=err_lw, zorder=2))


def _grid_margins(fig: Figure, rows: int, cols: int, left: float = 0.75, right: float = 0.2,
                  top: float = 0.4, bottom: float = 0.55, wgap: float = 0.8, hgap: float = 0.75) -> None:
    """Fixed margins and gaps in inches for a regular grid of panels, each with a title, axis
    labels and tick labels (tight_layout measures them by drawing the figure once more)."""
    w, h = fig.get_figwidth(), fig.get_figheight()
    aw = (w - left - right - (cols - 1) * wgap) / cols
    ah = (h - top - bottom - (rows - 1) * hgap) / rows
    fig.subplots_adjust(left=left / w, right=1 - right / w, top=1 - top / h, bottom=bottom / h,
                        wspace=wgap / aw, hspace=hgap / ah)


class _InViewTicks:
    """A locator that returns only the ticks inside the view. matplotlib's locators also return
    one or two beyond each end, which are never drawn, but matplotlib builds a tick object (the
    costliest part of a small panel) for every one."""

    def __call__(self):
        locs = np.asarray(super().__call__())
        if self.axis is None or not len(locs):
            return locs
        # Compared on the axis's scale (log10 on a log axis).
        scale = self.axis.get_transform()
        lo, hi = sorted(scale.transform(np.asarray(self.axis.get_view_interval(), float)))
        with np.errstate(divide="ignore", invalid="ignore"):
            return locs[_in_view(scale.transform(locs.astype(float)), lo, hi)]


def _in_view(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Which values lie in [lo, hi], with a little slack for rounding."""
    pad = 1e-10 * max(abs(lo), abs(hi), hi - lo)
    return (values >= lo - pad) & (values <= hi + pad)


class _InView(_InViewTicks, LogLocator):
    pass


class _InViewLinear(_InViewTicks, MaxNLocator):
    pass


def grid_lines(ax, axis: str = "both", **kwargs) -> None:
    """ax.grid(axis=axis, **kwargs), drawn by _save with the light ticks where there are any."""
    ax._light_grid = ("xy" if axis == "both" else axis, kwargs)


def _light_ticks(fig: Figure, renderer) -> None:
    """For every axis whose ticks come from _panel's or _readable_log's locators: the ticks, their
    labels, the offset text and the grid drawn as a few plain artists (one line of tick marks
    per axis, one text per label), and matplotlib's own tick machinery switched off. matplotlib
    builds five artists per tick (the costliest part of a small panel); these look the same."""
    for ax in fig.axes:
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            which, style = getattr(ax, "_light_grid", ("", {}))
            grid = style if name in which else None
            if isinstance(axis.get_major_locator(), _InViewTicks):
                _draw_axis_ticks(fig, ax, name, axis, renderer, grid)
            elif grid is not None:  # ticks the plot has set itself: matplotlib's own grid
                axis.grid(True, **grid)


def _draw_axis_ticks(fig: Figure, ax, name: str, axis, renderer, grid: dict | None) -> None:
    """One axis's light ticks, placed as matplotlib places its own (rc sizes and pads); the axis
    label is moved out past the tick labels, measured with the figure's renderer."""
    major = np.asarray(axis.get_major_locator()(), float)
    minor_locator = axis.get_minor_locator()
    minor = np.asarray(minor_locator(), float) if isinstance(minor_locator, _InViewTicks) else np.empty(0)
    formatter = axis.get_major_formatter()
    formatter.set_locs(major)
    labels = [formatter(v, i) for i, v in enumerate(major)]
    axis.set_major_locator(NullLocator())
    axis.set_minor_locator(NullLocator())
    trans = ax.get_xaxis_transform() if name == "x" else ax.get_yaxis_transform()
    if grid is not None and len(major):
        ends = np.tile([0.0, 1.0, np.nan], len(major))
        pos = np.repeat(major, 3)
        rc = matplotlib.rcParams
        below = {True: 0.5, "line": 1.5}.get(ax.get_axisbelow(), 2.5)  # as matplotlib stacks its grid
        ax.add_artist(Line2D(*((pos, ends) if name == "x" else (ends, pos)), transform=trans,
                             color=rc["grid.color"], lw=rc["grid.linewidth"], ls=rc["grid.linestyle"],
                             zorder=below, **grid))
    axis.labelpad = tick_artists(fig, ax.add_artist, name, trans, ax.transAxes, major, minor, labels,
                                 formatter.get_offset(), renderer) + matplotlib.rcParams["axes.labelpad"]


def tick_artists(fig: Figure, add, name: str, trans, unit, major: np.ndarray, minor: np.ndarray,
                 labels: list[str], offset: str, renderer) -> float:
    """Tick marks, tick labels and the offset text of one axis ("x" at the bottom, "y" at the
    left) as plain artists handed to `add`, sized and placed from the rc settings as matplotlib
    places its own. `trans`: the axis's blended transform (data along the axis, 0..1 across);
    `unit`: the panel's 0..1 box. Returns how far the labels reach out from the spine, in
    points (where the axis label goes)."""
    rc = matplotlib.rcParams
    key = "xtick" if name == "x" else "ytick"
    marker = TICKDOWN if name == "x" else TICKLEFT
    minor = minor[~np.isin(minor, major)]
    for ticks, kind in ((major, "major"), (minor, "minor")):
        if len(ticks):
            xy = (ticks, np.zeros(len(ticks))) if name == "x" else (np.zeros(len(ticks)), ticks)
            add(Line2D(*xy, transform=trans, ls="none", marker=marker, markersize=rc[f"{key}.{kind}.size"],
                       markeredgewidth=rc[f"{key}.{kind}.width"], color=rc[f"{key}.color"], clip_on=False))
    size = rc[f"{key}.labelsize"]
    pad = rc[f"{key}.major.size"] + rc[f"{key}.major.pad"]
    shift = ScaledTranslation(0, -pad / 72, fig.dpi_scale_trans) if name == "x" else \
        ScaledTranslation(-pad / 72, 0, fig.dpi_scale_trans)
    width = height = 0.0
    font = FontProperties(size=size)
    for v, text in zip(major, labels):
        if name == "x":
            add(Text(v, 0, text, transform=trans + shift, ha="center", va="top", fontsize=size, clip_on=False))
        else:
            add(Text(0, v, text, transform=trans + shift, ha="right", va="center_baseline", fontsize=size,
                     clip_on=False))
        if text:
            w, h, _ = renderer.get_text_width_height_descent(text, font, ismath="$" in text)
            width, height = max(width, w), max(height, h)
    points = 72 / fig.dpi
    if name == "x":
        if offset:
            below_labels = ScaledTranslation(0, -(pad + height * points + 2) / 72, fig.dpi_scale_trans)
            add(Text(1, 0, offset, transform=unit + below_labels, ha="right", va="top", fontsize=size,
                     clip_on=False))
        return pad + height * points
    if offset:
        add(Text(0, 1, offset, transform=unit + ScaledTranslation(0, 2 / 72, fig.dpi_scale_trans), ha="left",
                 va="bottom", fontsize=size, clip_on=False))
    return pad + width * points


def linear_ticks(lo: float, hi: float, nbins: int) -> tuple[np.ndarray, list[str], str]:
    """The ticks a _panel axis gets over the view [lo, hi], their labels and the offset text
    (matplotlib's locator and its default formatter, without an axis)."""
    locs = MaxNLocator(nbins=nbins, steps=TICK_STEPS).tick_values(lo, hi)
    locs = locs[_in_view(locs, lo, hi)]
    formatter = ScalarFormatter()
    formatter.create_dummy_axis()
    formatter.axis.set_view_interval(lo, hi)
    formatter.set_locs(locs)
    return locs, [formatter(v, i) for i, v in enumerate(locs)], formatter.get_offset()


def _panel(fig: Figure, *where, nbins: int = 5):
    """fig.add_subplot(*where) with at most nbins + 1 ticks per axis, all of them in view."""
    ax = fig.add_subplot(*where)
    for a in (ax.xaxis, ax.yaxis):
        a.set_major_locator(_InViewLinear(nbins=nbins, steps=TICK_STEPS))
    return ax


def _readable_log(ax, axis: str = "y") -> None:
    """Plain-number labels on a log axis (0.01, 1, 100 rather than 10^-2). Over less than two
    decades the 2 and 5 multiples are labelled too, so that every panel shows several values.
    Minor ticks (unlabelled) over at most three decades: beyond, the labelled decades are dense
    enough, and each tick is an object matplotlib builds and draws."""
    a = ax.yaxis if axis == "y" else ax.xaxis
    lo, hi = (ax.get_ylim() if axis == "y" else ax.get_xlim())
    short = lo > 0 and hi / lo < 100
    a.set_major_locator(_InView(base=10, subs=(1.0, 2.0, 5.0) if short else (1.0,), numticks=12))
    a.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.6g}" if 1e-4 <= abs(v) < 1e6 else f"{v:.0e}"))
    if lo > 0 and hi / lo <= 1e3:
        a.set_minor_locator(_InView(base=10, subs=None))
    else:
        a.set_minor_locator(NullLocator())
    a.set_minor_formatter(NullFormatter())


def _legend_below(fig: Figure, ax, ncol: int = 4, title: str | None = None) -> None:
    """The figure's legend under the axes, so it never covers a title or the data."""
    seen: dict[str, object] = {}
    for a in fig.axes:  # every panel's entries, once each (a panel may lack some)
        for h, t in zip(*a.get_legend_handles_labels()):
            seen.setdefault(t, h)
    handles, texts = list(seen.values()), list(seen)
    if handles:
        fig.legend(handles, texts, loc="lower center", ncol=min(ncol, len(handles)), fontsize=8,
                   title=title, title_fontsize=8, frameon=False)


def _legend_room(fig: Figure, n_items: int, ncol: int, titled: bool = True) -> float:
    """The share of the figure's height that a legend of n_items under the axes needs."""
    lines = -(-max(n_items, 1) // max(ncol, 1)) + (1 if titled else 0)
    return min(0.4, (0.22 * lines + 0.15) / fig.get_figheight())
