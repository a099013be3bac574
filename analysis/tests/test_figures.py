"""Figure mechanics: the PNG writer against Pillow's decoder; the light ticks and the pair plot
(drawn without axes objects) against what matplotlib draws with its own axes and ticks."""

import io

import numpy as np
import pytest
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image

from invsweep.cloudplots import _PAIR_TICKS, _pair_plot
from invsweep.figures import COLORS, DPI, TICK_STEPS, _panel, _readable_log, _save, bars, grid_lines, png_bytes


@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (64, 129)])
def test_png_bytes_decode_to_the_same_pixels(shape):
    rng = np.random.default_rng(sum(shape))
    rgba = rng.integers(0, 256, (*shape, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    rgba[shape[0] // 2:, : shape[1] // 2, :3] = 255  # a flat area, as plots have
    im = Image.open(io.BytesIO(png_bytes(rgba)))
    assert im.mode == "RGB" and im.size == (shape[1], shape[0])
    np.testing.assert_array_equal(np.asarray(im), rgba[..., :3])


def test_saved_file_is_what_matplotlib_draws(tmp_path):
    fig = Figure(figsize=(3, 2))
    ax = fig.add_subplot()
    ax.plot([0, 1, 2], [3, 1, 2])
    ax.xaxis.set_major_locator(MaxNLocator(4))  # not a light axis: matplotlib's own ticks
    _save(fig, tmp_path, "plain.png", tight=False)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "plain.png")),
                                  np.asarray(canvas.buffer_rgba())[..., :3])


def _panels(setup):
    """The same data on a light panel and on a plain axes with the same locators."""
    figs = []
    for light in (True, False):
        fig = Figure(figsize=(4, 3), dpi=100)
        ax = _panel(fig, 1, 1, 1)
        setup(ax)
        if not light:  # the same locators and formatters, drawn by matplotlib
            for axis in (ax.xaxis, ax.yaxis):
                axis.get_major_locator().__class__ = axis.get_major_locator().__class__.__mro__[2]
                minor = axis.get_minor_locator()
                if type(minor).__name__.startswith("_InView"):
                    minor.__class__ = minor.__class__.__mro__[2]
            ax.grid(**ax._light_grid[1])
        figs.append((fig, ax))
    return figs


def _expected(ax, name):
    """What matplotlib draws: the ticks inside the view, their labels."""
    axis = ax.xaxis if name == "x" else ax.yaxis
    lo, hi = sorted(axis.get_view_interval())
    slack = 1e-12 * abs(hi - lo)
    ticks = [t for t in axis.get_major_ticks() if lo - slack <= t.get_loc() <= hi + slack]
    return [t.get_loc() for t in ticks], [t.label1.get_text() for t in ticks], axis.get_offset_text().get_text()


@pytest.mark.parametrize("case", ["linear", "offset", "log", "short log"])
def test_light_ticks_are_matplotlibs_ticks(tmp_path, case):
    x = np.linspace(0, 1, 50)

    def setup(ax):
        if case == "linear":
            ax.plot(x * 37 - 5, x**2 * 900)
            ax.stairs(x[:-1] * 800, x * 30, fill=True, alpha=0.5)  # a patch: the grid drawn above it
        elif case == "offset":  # a narrow range far from 0: matplotlib's offset text
            ax.plot(1000 + x * 1e-3, 1e-7 * x)
        else:
            y = np.geomspace(1e-9 if case == "log" else 0.3, 10, 50)
            ax.plot(x, y)
            ax.set_yscale("log")
            _readable_log(ax)
        grid_lines(ax, alpha=0.3)

    (light_fig, light), (plain_fig, plain) = _panels(setup)
    plain_fig.set_dpi(DPI)
    canvas = FigureCanvasAgg(plain_fig)
    canvas.draw()
    _save(light_fig, tmp_path, "light.png", tight=False)
    for name, align in (("x", ("center", "top")), ("y", ("right", "center_baseline"))):
        locs, labels, offset = _expected(plain, name)
        assert len(locs) >= 3
        coord = 0 if name == "x" else 1
        mine = [(t.get_position()[coord], t.get_text()) for t in light.texts if (t.get_ha(), t.get_va()) == align]
        assert [s for _, s in mine] == labels, name
        np.testing.assert_allclose([p for p, _ in mine], locs, rtol=1e-12, err_msg=name)
        if offset:
            assert offset in [t.get_text() for t in light.texts]
    # matplotlib's own tick machinery drew nothing: no tick objects were built for the light axes
    assert not light.xaxis.get_major_locator()() and not light.yaxis.get_major_locator()()
    # The tick marks, grid and labels land where matplotlib puts them: the images are the same
    # pixel for pixel (up to the offset text's place); ticks 3 points off differ in 1-3 %.
    plain_px = np.asarray(canvas.buffer_rgba())[..., :3].astype(int)
    light_px = np.asarray(Image.open(tmp_path / "light.png")).astype(int)
    assert np.mean(np.abs(plain_px - light_px).sum(axis=2) > 96) < 0.005


def _reference_pair_plot(x, labels, names, lo, hi):
    """The pair plot drawn the usual way: an axes per panel, matplotlib's ticks and scatter."""
    n = x.shape[1]
    fig = Figure(figsize=(2.6 * n + 1.0, 2.6 * n), dpi=DPI)
    pad = 0.03 * (hi - lo)
    for a in range(n):
        for b in range(a + 1):
            ax = fig.add_subplot(n, n, a * n + b + 1)
            for axis in (ax.xaxis, ax.yaxis):
                axis.set_major_locator(MaxNLocator(nbins=4, steps=TICK_STEPS))
            if a == b:
                bins = np.linspace(lo[a], hi[a], 30)
                counts = [np.histogram(x[labels == c, a], bins=bins)[0] for c in range(labels.max() + 1)]
                for c, k in enumerate(counts):
                    ax.stairs(k, bins, fill=True, lw=0, color=COLORS[c], alpha=0.6)
                ax.set_ylim(0, 1.05 * max(k.max() for k in counts))
            else:
                for c in range(labels.max() + 1):
                    mine = labels == c
                    ax.scatter(x[mine, b], x[mine, a], s=9, alpha=0.7, color=COLORS[c], lw=0,
                               label=f"family {c} ({mine.sum()})")
                ax.set_ylim(lo[a] - pad[a], hi[a] + pad[a])
            ax.set_xlim(lo[b] - pad[b], hi[b] + pad[b])
            if a == n - 1:
                ax.set_xlabel(names[b])
            if b == 0:
                ax.set_ylabel(names[a] if a > 0 else "count")
    handles, texts = fig.axes[1].get_legend_handles_labels()
    fig.legend(handles, texts, loc="upper right", bbox_to_anchor=(0.97, 0.9), fontsize=9, markerscale=2)
    fig.subplots_adjust(left=0.09, right=0.97, bottom=0.08, top=0.93, wspace=0.3, hspace=0.3)
    return fig


@pytest.mark.parametrize("n", [2, 3, 5])
def test_pair_plot_looks_as_matplotlibs_axes_draw_it(tmp_path, n):
    rng = np.random.default_rng(n)
    lo, hi = np.array([0.0, -3.0, 100.0, 0.0, -1e-3])[:n], np.array([1.0, 40.0, 100.5, 7e4, 1e-3])[:n]
    labels = rng.integers(0, 3, 400)
    x = lo + (hi - lo) * np.clip(rng.normal(0.25 + 0.25 * labels[:, None], 0.12, (400, n)), 0, 1)
    names = [f"x{j + 1}" for j in range(n)]
    with rc_context(_PAIR_TICKS):
        fig = Figure(figsize=(2.6 * n + 1.0, 2.6 * n), dpi=DPI)
        _pair_plot(fig, x, labels, names, lo, hi)
        _save(fig, tmp_path, "pair.png", tight=False)
        reference = _reference_pair_plot(x, labels, names, lo, hi)
        canvas = FigureCanvasAgg(reference)
        canvas.draw()
    want = np.asarray(canvas.buffer_rgba())[..., :3].astype(int)
    got = np.asarray(Image.open(tmp_path / "pair.png")).astype(int)
    assert got.shape == want.shape
    # Only the axis labels' exact height differs (under 0.1 % of the pixels); dots 20 % larger: 1-1.6 %.
    assert np.mean(np.abs(got - want).sum(axis=2) > 96) < 0.003


@pytest.mark.parametrize("case", ["plain", "hatched", "log"])
def test_bars_look_as_matplotlibs_bars(tmp_path, case):
    rng = np.random.default_rng(3)
    x = np.arange(6.0)
    heights = rng.uniform(0.2, 1.0, 6) * (1e3 if case == "log" else 1.0)
    heights[2] = np.nan  # unknown: left blank
    err = np.vstack([0.3 * heights, 0.2 * heights])
    style = {"color": COLORS[1], "alpha": 0.9, "lw": 0}
    if case == "hatched":
        style = {"color": COLORS[2], "hatch": "//", "alpha": 0.55, "edgecolor": "k", "lw": 0.5}
    images, limits = [], []
    for mine in (True, False):
        fig = Figure(figsize=(4, 3), dpi=DPI)
        ax = fig.add_subplot()
        if mine:
            bars(ax, x, heights, 0.6, err, capsize=2, err_lw=0.9, label="a", **style)
        else:
            ax.bar(x, heights, width=0.6, yerr=err, capsize=2, error_kw={"lw": 0.9}, label="a", **style)
        if case == "log":
            ax.set_yscale("log")
        ax.legend()
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        images.append(np.asarray(canvas.buffer_rgba())[..., :3].astype(int))
        limits.append(ax.get_xlim() + ax.get_ylim())
    np.testing.assert_allclose(limits[0], limits[1], rtol=1e-9)
    if case != "log":
        assert limits[0][2] == 0  # no margin below the baseline
    assert np.mean(np.abs(images[0] - images[1]).sum(axis=2) > 96) < 0.002
