"""PNG plots of a results file (the solution clouds are in cloudplots.py). Each function writes
one or more files into `out` and returns their names. Figures are built with matplotlib's object
API (no pyplot), so importing this module neither changes the user's backend nor needs a display."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .figures import (COLORS, _grid, _grid_margins, _hist, _legend_below, _legend_room, _name, _pages, _panel,
                      _readable_log, _save, bars, grid_lines, solver_color, styled)
from .loader import Results
from .table import Table
from .tables import MAX_PANELS

def _title(target: str, constraint: str) -> str:
    return f"{target}  |  {constraint}"


def _setting_rows(res: Results) -> list[tuple[str, int, np.ndarray]]:
    """(target label, constraint index, task rows) per setting, in task order."""
    seen: dict[tuple[str, int], list[int]] = {}
    for i, (label, c) in enumerate(zip(res.labels, res.tasks["constraint"])):
        seen.setdefault((label, int(c)), []).append(i)
    return [(label, c, np.array(rows)) for (label, c), rows in seen.items()]




@styled
def loss_curves(res: Results, out: Path, max_panels: int = MAX_PANELS) -> list[str]:
    """Per setting: the median loss over tasks and the 10–90 % band, one colour per solver."""
    settings = _setting_rows(res)[:max_panels]
    if res.loss.shape[1] == 0 or not settings:
        return []
    pages = _pages(settings)
    names = []
    for p, page in enumerate(pages):
        rows, cols = _grid(len(page))
        fig = Figure(figsize=(5.0 * cols, 3.6 * rows))
        for k, (label, c, tasks) in enumerate(page):
            ax = _panel(fig, rows, cols, k + 1)
            for s in np.unique(res.tasks["solver"][tasks]):
                mine = tasks[res.tasks["solver"][tasks] == s]
                curves = res.loss[mine]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN steps after the end
                    med = np.nanmedian(curves, axis=0)
                    lo, hi = np.nanpercentile(curves, [10, 90], axis=0)
                color = solver_color(res.solver_names[s])
                ax.plot(res.loss_step, med, color=color, lw=1.8,
                        label=f"{res.solver_names[s]} median ({len(mine)} tasks)")
                ax.fill_between(res.loss_step, lo, hi, color=color, alpha=0.25, lw=0, label="10–90 %")
            finite = res.loss[tasks][np.isfinite(res.loss[tasks])]
            if len(finite) and np.all(finite > 0):
                ax.set_yscale("log")
                _readable_log(ax)
            ax.set_title(_title(label, res.constraints[c].name), fontsize=10)
            ax.set_xlabel("step")
            ax.set_ylabel("loss")
            grid_lines(ax, alpha=0.3)
            ax.legend(fontsize=8)
        _grid_margins(fig, rows, cols)
        names.append(_save(fig, out, _name("loss_curves", p, len(pages)), tight=False))
    return names


@styled
def residual_histograms(res: Results, out: Path, max_panels: int = MAX_PANELS) -> list[str]:
    """Per setting: histogram of the valid vectors' residuals per solver, the acceptance
    tolerance as a dashed line (log axis when every residual is positive)."""
    settings = _setting_rows(res)[:max_panels]
    valid, tol = res.valid(), res.tolerance()
    pages = _pages(settings)
    names = []
    for p, page in enumerate(pages):
        if not page:
            break
        rows, cols = _grid(len(page))
        fig = Figure(figsize=(5.0 * cols, 3.6 * rows))
        for k, (label, c, tasks) in enumerate(page):
            ax = _panel(fig, rows, cols, k + 1)
            r_all = res.residuals[tasks][valid[tasks]]
            optimise = bool(res.optimising()[tasks[0]])
            if len(r_all) == 0:
                ax.text(0.5, 0.5, "no valid vectors", ha="center", va="center", transform=ax.transAxes)
            else:
                # Log axis when residuals span decades; exact zeros are counted in the first bin
                # (a linear axis would squeeze everything else into it).
                pos = r_all[r_all > 0]
                log = len(pos) > 0 and not optimise and (np.all(r_all > 0) or pos.max() > 100 * pos.min()
                                                         or pos.max() < 1e-6 * max(tol[tasks[0]], 1e-300))
                floor = pos.min() if log else 0.0
                lo, hi = (floor, pos.max()) if log else (r_all.min(), r_all.max())
                if log:
                    bins = np.geomspace(lo, hi if hi > lo else lo * 10, 40)
                    ax.set_xscale("log")
                else:
                    bins = np.linspace(lo, hi if hi > lo else lo + 1, 40)
                for s in np.unique(res.tasks["solver"][tasks]):
                    mine = tasks[res.tasks["solver"][tasks] == s]
                    r = res.residuals[mine][valid[mine]]
                    zeros = int(np.sum(r <= 0)) if log else 0
                    text = res.solver_names[s] + (f" ({zeros} exactly 0, in the first bin)" if zeros else "")
                    _hist(ax, np.maximum(r, floor) if log else r, bins, alpha=0.55,
                          color=solver_color(res.solver_names[s]), label=text)
                if log:
                    _readable_log(ax, "x")
                if np.isfinite(tol[tasks[0]]):
                    ax.axvline(tol[tasks[0]], color="k", ls="--", lw=1.2, label=f"accept ≤ {tol[tasks[0]]:.3g}")
                ax.legend(fontsize=8)
            ax.set_title(_title(label, res.constraints[c].name), fontsize=10)
            ax.set_xlabel("objective value" if optimise else "residual")
            ax.set_ylabel("vectors")
            grid_lines(ax, alpha=0.3)
        _grid_margins(fig, rows, cols)
        names.append(_save(fig, out, _name("residuals", p, len(pages)), tight=False))
    return names


@styled
def importance_bars(imp: Table, out: Path) -> list[str]:
    """Per constraint: importance of each free feature, one bar per target, with the bootstrap
    interval; log scale (importances span orders of magnitude)."""
    if len(imp) == 0:
        return []
    constraints = list(dict.fromkeys(imp["constraint"].tolist()))
    pages = _pages(constraints, 6)
    names = []
    for p, page in enumerate(pages):
        rows, cols = len(page), 1
        fig = Figure(figsize=(11.0, 3.8 * rows))
        for k, c in enumerate(page):
            ax = _panel(fig, rows, cols, k + 1)
            t = imp.where(imp["constraint"] == c)
            features = list(dict.fromkeys(t["feature"].tolist()))
            targets = list(dict.fromkeys(t["target"].tolist()))
            width = 0.8 / len(targets)
            top = 1.0
            for i, target in enumerate(targets):
                r = t.where(t["target"] == target)
                pos = {f: j for j, f in enumerate(features)}
                x = np.array([pos[f] for f in r["feature"]]) - 0.4 + width * (i + 0.5)
                val = np.minimum(r["importance"].astype(float), 1e12)
                err = np.vstack([val - np.minimum(r["ci_low"].astype(float), val),
                                 np.maximum(np.minimum(r["ci_high"].astype(float), 1e12) - val, 0)])
                bars(ax, x, val, width * 0.95, err, capsize=3, err_lw=1, color=COLORS[i % len(COLORS)], label=target)
                tip = val + err[1]
                for xi, v, rank in zip(x, tip, r["rank"]):
                    ax.text(xi, v * 1.08, f"#{rank}", ha="center", va="bottom", fontsize=8)
                top = max(top, float(np.nanmax(tip)))
            ax.axhline(np.sqrt(12.0), color="grey", ls=":", lw=1, label="uniform over range (3.46)")
            ax.set_yscale("log")
            ax.set_ylim(top=top * 3)
            _readable_log(ax)
            ax.set_xticks(range(len(features)))
            ax.set_xticklabels(features)
            ax.set_ylabel("importance = range / std")
            ax.set_title(f"feature importance  |  {c}   (#n = rank, bars = 95 % bootstrap interval)", fontsize=10)
            grid_lines(ax, alpha=0.3, axis="y")
            ax.legend(fontsize=8, title="target", title_fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        names.append(_save(fig, out, _name("importance", p, len(pages))))
    return names


@styled
def target_vs_achieved(res: Results, out: Path) -> list[str]:
    """Per output: achieved against target (when there are two targets or more), and the
    deviation achieved - target per target with the acceptance tolerance (accepted vectors in
    colour, rejected in grey); for maximize/minimize settings, the achieved outputs per setting."""
    valid, acc, tol = res.valid(), res.accepted(), res.tolerance()
    has_target = ~res.optimising()
    panels = []
    for j in range(len(res.output_names)):
        # Outputs left free (nan target, [-inf, inf] range) in every task have nothing to show.
        if has_target.any() and np.isfinite(res.target[has_target, j]).any():
            if len(np.unique(res.target[has_target, j][np.isfinite(res.target[has_target, j])])) >= 2:
                panels.append(("scatter", j))
            panels.append(("deviation", j))
        if (~has_target).any():
            panels.append(("optimise", j))
    if not panels:
        return []
    rows, cols = _grid(len(panels))
    fig = Figure(figsize=(5.4 * cols, 4.4 * rows))
    t = np.flatnonzero(has_target)
    for k, (kind, j) in enumerate(panels):
        ax = _panel(fig, rows, cols, k + 1)
        name = res.output_names[j]
        t = np.flatnonzero(has_target & np.isfinite(res.target[:, j]))  # tasks targeting output j
        if kind == "scatter":
            tx = np.repeat(res.target[t, j][:, None], res.outputs.shape[1], axis=1)
            y = res.outputs[t, :, j]
            rej = valid[t] & ~acc[t]
            ax.scatter(tx[rej], y[rej], s=8, color="#999999", alpha=0.5, lw=0, label=f"rejected ({rej.sum()})")
            ax.scatter(tx[acc[t]], y[acc[t]], s=10, color="#1f77b4", alpha=0.7, lw=0, label=f"accepted ({acc[t].sum()})")
            span = np.array([res.target[t, j].min(), res.target[t, j].max()])
            ax.plot(span, span, color="k", lw=1, ls="--", label="achieved = target")
            first = True
            for value in np.unique(res.target[t, j]):
                band = _range_band(res, t[res.target[t, j] == value], j)
                if band is not None:
                    ax.vlines(value, *np.clip(band, y[np.isfinite(y)].min(), y[np.isfinite(y)].max()), color="#2ca02c",
                              lw=8, alpha=0.3, label="range" if first else None)
                    first = False
            ax.set_xlabel(f"target {name}")
            ax.set_ylabel(f"achieved {name} (oracle)")
            ax.set_title(f"achieved vs target: {name}", fontsize=10)
            ax.legend(fontsize=8, loc="upper left")  # the points lie along the diagonal
        elif kind == "deviation":
            _deviation(ax, res, t, j, valid, acc, tol)
        else:
            groups, labels = [], []
            opt = np.flatnonzero(~has_target)
            names = np.array(res.labels, dtype=object)
            for label in dict.fromkeys(names[opt].tolist()):
                mine = opt[names[opt] == label]
                groups.append(res.outputs[mine, :, j][valid[mine]])
                labels.append(label)
            ax.boxplot(groups, labels=labels)
            ax.set_ylabel(f"achieved {name} (oracle)")
            ax.set_title(f"maximize/minimize: achieved {name}", fontsize=10)
            ax.tick_params(axis="x", labelsize=8, rotation=20)
        grid_lines(ax, alpha=0.3)
    return [_save(fig, out, "target_vs_achieved.png")]


def _range_band(res: Results, tasks: np.ndarray, j: int) -> tuple[float, float] | None:
    """(lo, hi) of output j when these tasks have a range objective, else None."""
    if res.range_lo is None or not np.all(res.objectives[tasks] == "range"):
        return None
    lo, hi = res.range_lo[tasks, j], res.range_hi[tasks, j]
    if np.all(np.isnan(lo)) and np.all(np.isnan(hi)):
        return None
    return float(np.nanmin(lo)), float(np.nanmax(hi))


def _deviation(ax, res: Results, t: np.ndarray, j: int, valid, acc, tol) -> None:
    """Strip per distinct target: achieved - target (range objectives: - the range's centre),
    the tolerance as dashes at +-tol; a range objective's range as a band, its tolerance outside."""
    name = res.output_names[j]
    targets = np.unique(res.target[t, j])
    rng = np.random.default_rng(0)
    limit = 0.0
    n_out = 0
    ranged = False
    for i, value in enumerate(targets):
        mine = t[res.target[t, j] == value]
        dev = res.outputs[mine, :, j] - value
        for mask, color, size in ((valid[mine] & ~acc[mine], "#999999", 8), (acc[mine], "#1f77b4", 10)):
            d = dev[mask]
            ax.scatter(i + rng.uniform(-0.3, 0.3, len(d)), d, s=size, color=color, alpha=0.6, lw=0,
                       label=("accepted" if color != "#999999" else "rejected") if i == 0 else None)
        tol_i = float(np.max(tol[mine]))
        band = _range_band(res, mine, j)
        if band is not None:  # a range objective: the range itself, around its centre
            a, b = band[0] - value, band[1] - value
            span = max(abs(a) if np.isfinite(a) else 0.0, abs(b) if np.isfinite(b) else 0.0)
            big = 10 * max(span, tol_i if np.isfinite(tol_i) else 0.0, 1e-300)
            ax.fill_between([i - 0.4, i + 0.4], max(a, -big), min(b, big), color="#2ca02c", alpha=0.18, lw=0,
                            label="range" if not ranged else None)
            ranged = True
            limit = max(limit, 1.2 * span)
        if np.isfinite(tol_i):
            ax.hlines([-tol_i, tol_i] if band is None else [band[0] - value - tol_i, band[1] - value + tol_i],
                      i - 0.4, i + 0.4, colors="k", linestyles="--", lw=1.2,
                      label="± tolerance" if i == 0 else None)
            limit = max(limit, 1.5 * tol_i)
        d_acc = dev[acc[mine]]
        if len(d_acc):
            limit = max(limit, 1.1 * float(np.max(np.abs(d_acc))))
        n_out += int(np.sum(np.abs(dev[valid[mine]]) > limit)) if limit > 0 else 0
    if limit > 0:
        ax.set_ylim(-limit, limit)
    ax.axhline(0.0, color="k", lw=0.6)
    ax.set_xticks(range(len(targets)))
    ax.set_xticklabels([f"{v:.6g}" for v in targets], rotation=20 if len(targets) > 6 else 0, fontsize=8)
    ax.set_xlabel(f"target {name}")
    ax.set_ylabel(f"achieved {name} - target")
    note = f" ({n_out} rejected outside the axis)" if n_out else ""
    ax.set_title(f"deviation from target: {name}{note}", fontsize=10)
    ax.legend(fontsize=8, loc="upper right")




@styled
def distributions(res: Results, out: Path, prior_box, max_panels: int = MAX_PANELS) -> list[str]:
    """One panel per setting (target × constraint): a box per free feature and solver of the
    accepted vectors, each feature scaled to the setting's prior box (0 = lower end, 1 = upper),
    so one axis serves every feature. `prior_box(constraint)` -> (lo, hi)."""
    from .tables import by_setting

    settings = [s for s in by_setting(res) if len(s.vectors) and s.free.any()][:max_panels]
    if not settings:
        return []
    solvers = list(dict.fromkeys(np.concatenate([s.solver for s in settings]).tolist()))
    names = []
    pages = _pages(settings, 9)
    for p, page in enumerate(pages):
        rows, cols = _grid(len(page))
        fig = Figure(figsize=(5.2 * cols, 3.4 * rows + 0.6))
        for k, s in enumerate(page):
            ax = _panel(fig, rows, cols, k + 1)
            free = np.flatnonzero(s.free)
            lo, hi = prior_box(s.constraint)
            width = len(solvers)
            for q, name in enumerate(solvers):
                mine = s.solver == name
                if not mine.any():
                    continue
                x = (s.vectors[mine][:, free] - lo[free]) / (hi[free] - lo[free])
                pos = np.arange(len(free)) + (q - (width - 1) / 2) * 0.8 / width
                bp = ax.boxplot(x, positions=pos, widths=0.7 / width, patch_artist=True, showfliers=False,
                                manage_ticks=False, medianprops={"color": "k"})
                for b in bp["boxes"]:
                    b.set_facecolor(solver_color(name))
                    b.set_alpha(0.7)
                ax.plot([], [], color=solver_color(name), lw=6, alpha=0.7, label=name)
            ax.axhspan(0.25, 0.75, color="#dddddd", alpha=0.5, lw=0, label="the prior's quartiles")
            ax.set_xticks(range(len(free)))
            ax.set_xticklabels([res.feature_names[j] for j in free])
            ax.set_ylim(-0.03, 1.03)
            ax.set_ylabel("position in the box (0 = lo, 1 = hi)", fontsize=8)
            ax.set_title(_title(s.target, s.constraint_name), fontsize=10)
            grid_lines(ax, alpha=0.3, axis="y")
        fig.suptitle("accepted vectors per feature and solver (boxes: quartiles; whiskers: 1.5 IQR)", fontsize=11)
        room = _legend_room(fig, len(solvers) + 1, len(solvers) + 1, False) * fig.get_figheight()
        _grid_margins(fig, rows, cols, top=0.85, bottom=room + 0.4, hgap=0.6)
        _legend_below(fig, fig.axes[0], ncol=len(solvers) + 1)
        _save(fig, out, _name("distributions", p, len(pages)), tight=False)
        names.append(_name("distributions", p, len(pages)))
    return names


@styled
def interval_bars(t: Table, out: Path, stem: str, value: str, lo: str, hi: str, group: str, series: str,
                  ylabel: str, title: str, ylim=None, extra: tuple[str, str, str] | None = None) -> list[str]:
    """One panel per value of column `group`: a bar per feature and value of `series`, with the
    interval [lo, hi] as error bars; `extra` (value, lo, hi) adds hatched bars next to them."""
    if len(t) == 0:
        return []
    keys = list(dict.fromkeys(t[group].tolist()))
    pages = _pages(keys, 6)
    names = []
    for p, page in enumerate(pages):
        fig = Figure(figsize=(9.0, 3.4 * len(page) + 0.7))
        for k, key in enumerate(page):
            ax = _panel(fig, len(page), 1, k + 1)
            sub = t.where(t[group] == key)
            features = list(dict.fromkeys(sub["feature"].tolist()))
            pos = {f: j for j, f in enumerate(features)}
            kinds = [(value, lo, hi, None)] + ([(*extra, "//")] if extra else [])
            labels = list(dict.fromkeys(sub[series].tolist()))
            n = len(labels) * len(kinds)
            w = 0.8 / n
            for i, lab in enumerate(labels):
                r = sub.where(sub[series] == lab)
                for m, (v, a, b, hatch) in enumerate(kinds):
                    x = np.array([pos[f] for f in r["feature"]]) - 0.4 + w * (i * len(kinds) + m + 0.5)
                    val = r[v].astype(float)
                    err = np.vstack([np.maximum(val - r[a].astype(float), 0), np.maximum(r[b].astype(float) - val, 0)])
                    bars(ax, x, val, w * 0.92, err, capsize=2, err_lw=0.9, color=COLORS[i % len(COLORS)],
                         hatch=hatch, alpha=0.55 if hatch else 0.9, edgecolor="k" if hatch else None,
                         lw=0.5 if hatch else 0, label=(f"{lab} ({v})" if extra else str(lab)) if k == 0 else None)
            ax.axhline(0, color="k", lw=0.6)
            ax.set_xticks(range(len(features)))
            ax.set_xticklabels(features)
            if ylim:
                ax.set_ylim(*ylim)
            ax.set_ylabel(ylabel, fontsize=9)
            ax.set_title(f"{key}", fontsize=10)
            grid_lines(ax, alpha=0.3, axis="y")
        fig.suptitle(title, fontsize=11)
        n_items = len(fig.axes[0].get_legend_handles_labels()[0])
        _grid_margins(fig, len(page), 1, top=0.85, bottom=_legend_room(fig, n_items, 4) * fig.get_figheight() + 0.4,
                      hgap=0.6)
        _legend_below(fig, fig.axes[0], ncol=4, title=series)
        name = _name(stem, p, len(pages))
        _save(fig, out, name, tight=False)
        names.append(name)
    return names


@styled
def response_curves(res: Results, out: Path, prior_box, max_panels: int = 12) -> list[str]:
    """Per (constraint, solver) group with three targets or more: each free feature's mean over
    the accepted vectors against the target (first output), scaled to the prior box, with a
    95 % interval of the mean (1.96 standard errors)."""
    from .tables import by_setting

    groups: dict[tuple[str, str], list] = {}
    for s in by_setting(res):
        if s.objective != "target" or not np.isfinite(s.target_value[0]):
            continue
        for name in dict.fromkeys(s.solver.tolist()):
            groups.setdefault((s.constraint_name, name), []).append((s, s.solver == name))
    groups = {k: v for k, v in groups.items() if len(v) >= 3}
    if not groups:
        return []
    keys = list(groups)[:max_panels]
    rows, cols = _grid(len(keys))
    fig = Figure(figsize=(5.2 * cols, 3.6 * rows + 0.6))
    for k, key in enumerate(keys):
        ax = _panel(fig, rows, cols, k + 1)
        items = sorted(groups[key], key=lambda it: it[0].target_value[0])
        s0 = items[0][0]
        free = np.flatnonzero(s0.free)
        lo, hi = prior_box(s0.constraint)
        t = np.array([s.target_value[0] for s, _ in items])
        for j in free:
            m, e = [], []
            for s, mine in items:
                x = (s.vectors[mine, j] - lo[j]) / (hi[j] - lo[j])
                m.append(x.mean() if len(x) else np.nan)
                e.append(1.96 * x.std() / np.sqrt(len(x)) if len(x) > 1 else np.nan)
            m, e = np.array(m), np.array(e)
            color = COLORS[j % len(COLORS)]
            ax.plot(t, m, "o-", color=color, ms=3, lw=1.4, label=res.feature_names[j])
            ax.fill_between(t, m - e, m + e, color=color, alpha=0.25, lw=0)
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlabel(f"target {res.output_names[0]}")
        ax.set_ylabel("mean position in the box", fontsize=8)
        ax.set_title(f"{key[0]}  |  {key[1]}", fontsize=10)
        grid_lines(ax, alpha=0.3)
    fig.suptitle("E[feature | target] (0 = box's lower end, 1 = upper; bands: 95 % interval of the mean)",
                 fontsize=11)
    n_items = len(fig.axes[0].get_legend_handles_labels()[0])
    _grid_margins(fig, rows, cols, top=0.85, bottom=_legend_room(fig, n_items, 8) * fig.get_figheight() + 0.55)
    _legend_below(fig, fig.axes[0], ncol=8, title="feature")
    _save(fig, out, "response.png", tight=False)
    return ["response.png"]


@styled
def determinacy_plot(det: Table, out: Path, title: str, max_bars: int = 8) -> list[str]:
    """Determinacy per constraint: bars per feature and target (with intervals) for up to
    `max_bars` targets; beyond that, when targets are single numbers, one line per feature
    against the target with its interval as a band (bars would be unreadable)."""
    if len(det) == 0:
        return []
    targets = list(dict.fromkeys(det["target"].tolist()))
    numeric = all(";" not in t and t.lower() != "nan" for t in targets)
    if len(targets) <= max_bars or not numeric:
        return interval_bars(det, out, "determinacy", "determinacy", "lo", "hi", "constraint", "target",
                             "1 − Var(solutions) / Var(prior)", title)
    keys = list(dict.fromkeys(det["constraint"].tolist()))
    pages = _pages(keys, 6)
    names = []
    features = list(dict.fromkeys(det["feature"].tolist()))
    for p, page in enumerate(pages):
        rows, cols = _grid(len(page))
        fig = Figure(figsize=(5.2 * cols, 3.6 * rows + 0.8))
        for k, key in enumerate(page):
            ax = _panel(fig, rows, cols, k + 1)
            sub = det.where(det["constraint"] == key)
            for q, f in enumerate(features):
                r = sub.where(sub["feature"] == f)
                if not len(r):
                    continue
                t = np.array([float(v) for v in r["target"]])
                order = np.argsort(t)
                color = COLORS[q % len(COLORS)]
                ax.plot(t[order], r["determinacy"][order], "o-", ms=2.5, lw=1.3, color=color, label=f)
                ax.fill_between(t[order], r["lo"][order], r["hi"][order], color=color, alpha=0.25, lw=0)
            ax.axhline(0, color="k", lw=0.6)
            ax.set_ylim(min(-0.1, float(np.nanmin(sub["lo"])) - 0.05), 1.05)
            ax.set_xlabel("target")
            ax.set_ylabel("1 − Var(solutions) / Var(prior)", fontsize=8)
            ax.set_title(str(key), fontsize=10)
            grid_lines(ax, alpha=0.3)
        fig.suptitle(title + " — bands: 95 % intervals", fontsize=11)
        n_items = len(features)
        _grid_margins(fig, rows, cols, top=0.85, bottom=_legend_room(fig, n_items, 8) * fig.get_figheight() + 0.55)
        _legend_below(fig, fig.axes[0], ncol=8, title="feature")
        name = _name("determinacy", p, len(pages))
        _save(fig, out, name, tight=False)
        names.append(name)
    return names
