"""Figure mechanics shared by plots.py and cloudplots.py: colours, pages and grids of panels,
fixed margins, axes with few tick objects, readable log axes, legends, and saving. matplotlib's
cost is per object (an axes, a tick, a text), not per pixel: these helpers keep the count low."""

from __future__ import annotations

import functools
import zlib
from pathlib import Path

import numpy as np
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter, NullLocator

PER_PAGE = 12
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
    """tight=False: the caller has set the margins (tight_layout draws the figure once more)."""
    if tight:
        fig.tight_layout()
    fig.savefig(out / name, dpi=DPI)
    return name


def _hist(ax, values: np.ndarray, bins: np.ndarray, **kwargs) -> None:
    """A filled histogram drawn as one outline (what ax.hist shows, without a patch per bin,
    each of which costs matplotlib time to place and draw)."""
    counts, edges = np.histogram(values, bins=bins)
    ax.stairs(counts, edges, fill=True, lw=0, **kwargs)


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
        lo, hi = sorted(self.axis.get_view_interval())
        pad = 1e-10 * max(abs(lo), abs(hi), hi - lo)
        return locs[(locs >= lo - pad) & (locs <= hi + pad)]


class _InView(_InViewTicks, LogLocator):
    pass


class _InViewLinear(_InViewTicks, MaxNLocator):
    pass


def _panel(fig: Figure, *where, nbins: int = 5):
    """fig.add_subplot(*where) with at most nbins + 1 ticks per axis, all of them in view."""
    ax = fig.add_subplot(*where)
    for a in (ax.xaxis, ax.yaxis):
        a.set_major_locator(_InViewLinear(nbins=nbins, steps=[1, 2, 2.5, 5, 10]))
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
