"""`python3 -m invsweep report RESULTS.h5 -o DIR`: tables (CSV), plots (PNG) and DIR/index.html."""

from __future__ import annotations

import errno
import html
import math
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import parallel
from .determinacy import determinacy_table, prior_box, response_table
from .importance import compare_targets, importance_table
from .loader import DEFAULT_RTOL, Results, load_results
from .sensitivity import HALF_WIDTH, N_MAX, sensitivity_table
from .table import Table
from .tables import MAX_PANELS, summary_table, tasks_table


MAX_CLOUDS = 8  # solution-cloud plots: most families first (cloud_choice; clusters.csv holds all)
QUICK_BOOT = 200  # --quick: bootstrap resamples
QUICK_PLOTS = 6  # --quick: per-setting panels and solution clouds


@dataclass
class ReportOptions:
    rtol: float = DEFAULT_RTOL
    atol: float | None = None  # None: rtol * |oracle output scale|
    statuses: tuple[str, ...] | None = ("done",)  # None: every task
    n_boot: int = 1000
    seed: int = 0
    link_distance: float | None = None  # None: chosen from the data (see clusters.py)
    max_cloud_plots: int = MAX_CLOUDS
    max_panels: int = MAX_PANELS  # per-setting panels of each per-setting plot (first in sweep order)
    sensitivity_n: int | None = None  # None: doubled until the intervals are within ±0.02
    sensitivity: bool = True  # False: no Sobol' indices (no oracle evaluations)
    jobs: int | None = None  # processes drawing the plots; None: every core
    quick: bool = False  # a first look: see QUICK_* and quick_note()
    progress: bool = False  # one line per stage on stderr


def quick_note(opts: ReportOptions) -> str:
    """What --quick leaves out, as the report states it."""
    return (f"Quick report (--quick): no Sobol' indices, {QUICK_BOOT} bootstrap resamples instead of "
            f"{opts.n_boot} (intervals are coarser), at most {QUICK_PLOTS} settings in each per-setting plot "
            f"and {QUICK_PLOTS} solution-cloud plots. Run without --quick for the full report.")


class _Stages:
    """Wall time per stage; a line on stderr per stage when `on`."""

    def __init__(self, on: bool):
        self.on, self.t0, self.last, self.times = on, time.perf_counter(), time.perf_counter(), {}

    def done(self, name: str, what: str = "") -> None:
        now = time.perf_counter()
        self.times[name] = now - self.last
        self.last = now
        if self.on:
            print(f"report: {name}: {self.times[name]:.1f} s (total {now - self.t0:.1f} s)"
                  f"{'; ' + what if what else ''}", file=sys.stderr, flush=True)


def write_report(results_path: str | Path, out_dir: str | Path, opts: ReportOptions | None = None) -> Path:
    """Reads the file (ResultsError on bad input, before anything is written), then writes the
    CSV tables, the PNG plots and index.html into out_dir; returns the index.html path. The
    Sobol' indices and the plots are computed by `opts.jobs` processes (forked, so they share
    the loaded arrays); the indices start first, beside the tables."""
    opts = opts or ReportOptions()
    n_boot = QUICK_BOOT if opts.quick else opts.n_boot
    sensitivity = opts.sensitivity and not opts.quick
    max_panels = min(opts.max_panels, QUICK_PLOTS) if opts.quick else opts.max_panels
    max_clouds = min(opts.max_cloud_plots, QUICK_PLOTS) if opts.quick else opts.max_cloud_plots
    stages = _Stages(opts.progress)
    res = load_results(results_path, statuses=opts.statuses, rtol=opts.rtol, atol=opts.atol)
    stages.done("read", f"{len(res.task_ids)} tasks × {res.attrs['n_samples']} samples")
    final = Path(out_dir)
    if final.exists() and not final.is_dir():
        raise OSError(errno.ENOTDIR, "exists and is not a directory")
    # Built in a temporary folder beside the final one and moved there when complete: a failed
    # or interrupted report leaves no half-written folder.
    final.parent.mkdir(parents=True, exist_ok=True)
    out = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    try:
        _write_into(res, out, opts, stages, n_boot, sensitivity, max_panels, max_clouds)
        if final.exists():
            for f in sorted(out.iterdir()):
                os.replace(f, final / f.name)
            out.rmdir()
        else:
            os.rename(out, final)
    finally:
        if out.exists():
            shutil.rmtree(out, ignore_errors=True)
    index = _Index(final / "index.html")
    index.warnings = res.warnings
    return index


class _Index(type(Path())):
    """The index.html path, with the warnings the report gave (rows it left out, and why)."""
    warnings: list = []


def _write_into(res: Results, out: Path, opts: ReportOptions, stages, n_boot: int, sensitivity: bool,
                max_panels: int, max_clouds: int) -> None:
    # The Sobol' indices first, which need only the oracle and the boxes: the longest single job,
    # run beside the imports and the tables. Their plot follows, in a process forked once this one
    # has imported matplotlib (as every plotting process is: none imports it again).
    pool = parallel.Jobs(opts.jobs)
    if sensitivity:
        pool.start_now("sensitivity", lambda: _sensitivity_job(res, out, opts),
                       then=("sensitivity plot", lambda table: _sensitivity_plot(table, out)))
    from . import cloudplots, plots
    from .clusters import clusters_table, find_clusters

    tables = {
        "summary": summary_table(res),
        "determinacy": determinacy_table(res, n_boot=n_boot, seed=opts.seed),
        "response": response_table(res, n_boot=n_boot, seed=opts.seed),
    }
    stages.done("summary, determinacy, response")
    tables["feature_importance"] = importance_table(res, n_boot=n_boot, seed=opts.seed)
    stages.done("importance")
    found = find_clusters(res, distance=opts.link_distance, seed=opts.seed)
    tables["importance_by_target"] = compare_targets(tables["feature_importance"])
    tables["clusters"] = clusters_table(found, res.feature_names)
    stages.done("clusters", f"{len(found)} settings")
    tables["tasks"] = tasks_table(res)
    for name, t in tables.items():
        t.to_csv(out / f"{name}.csv")
    stages.done("tables written")

    box = lambda c: prior_box(res, c)
    det = _headline(tables["determinacy"])
    jobs = {
        "determinacy": lambda: plots.determinacy_plot(
            det, out, "determinacy per feature, solver sampler"
            if len(det) and det["faithful"].astype(bool).all() else
            "spread of the solvers' solutions, not the distribution of solutions: 1 − Var / Var(prior)"),
        "response": lambda: plots.response_curves(res, out, box),
        "distributions": lambda: plots.distributions(res, out, box, max_panels),
        "importance": lambda: plots.importance_bars(tables["feature_importance"], out),
        "loss": lambda: plots.loss_curves(res, out, max_panels),
        "residuals": lambda: plots.residual_histograms(res, out, max_panels),
        "achieved": lambda: plots.target_vs_achieved(res, out),
    }
    # The clouds, one job per plot, started first: they are the largest share of the drawing.
    clouds = cloud_choice(found, max_clouds)
    jobs = {**{f"clouds {k}": (lambda k=k, i=i: cloudplots.solution_clouds([found[i]], res, out, 1, first=k + 1))
               for k, i in enumerate(clouds)}, **jobs}
    for name, job in jobs.items():
        pool.add(name, job)
    ran = pool.results()
    if sensitivity:
        tables["sensitivity"], seconds = ran["sensitivity"]
        names, plot_seconds = ran.pop("sensitivity plot")
        ran["sensitivity"] = (names, seconds + plot_seconds)
    drawn = {k: v for k, (v, _) in ran.items()}
    figures = {"sensitivity": [], **{k: v for k, v in drawn.items() if not k.startswith("clouds ")}}
    figures["clouds"] = [n for k in range(len(clouds)) for n in drawn[f"clouds {k}"]]
    cost = {k: t for k, (_, t) in ran.items() if not k.startswith("clouds ")}
    cost["clouds"] = sum(t for k, (_, t) in ran.items() if k.startswith("clouds "))
    stages.done("plots and Sobol' indices", f"{sum(len(v) for v in drawn.values())} files, {parallel.workers(opts.jobs)} process(es); "
                + ", ".join(f"{k} {t:.1f} s" for k, t in sorted(cost.items(), key=lambda kv: -kv[1])))
    index = out / "index.html"
    limits = {"panels": max_panels, "clouds": len(clouds), "n_boot": n_boot}
    index.write_text(_html(res, opts, tables, figures, len(found), limits), encoding="utf-8", errors="backslashreplace")
    stages.done("index.html")


def _sensitivity_job(res: Results, out: Path, opts: ReportOptions) -> Table:
    """The Sobol' indices, written to sensitivity.csv."""
    table = sensitivity_table(res, n=opts.sensitivity_n, seed=opts.seed)
    table.to_csv(out / "sensitivity.csv")
    return table


def _sensitivity_plot(table: Table, out: Path) -> list[str]:
    from . import plots

    return plots.interval_bars(
        table, out, "sensitivity", "ST", "ST_lo", "ST_hi", "constraint", "output", "Sobol' index",
        "Sobol' indices of the oracle over each setting's box (solid: total ST, hatched: first-order S1; "
        "95 % intervals)", ylim=(-0.05, 1.05), extra=("S1", "S1_lo", "S1_hi"))


def cloud_choice(found: list, k: int) -> list[int]:
    """Which settings get a solution-cloud plot (indices into `found`): those with free features
    and vectors, the most families first (where the roots are), ties in sweep order; at most k."""
    drawable = [i for i, sc in enumerate(found) if sc.setting.free.any() and len(sc.labels)]
    return sorted(drawable, key=lambda i: (-int(found[i].labels.max()), i))[:k]


def _headline(det: Table) -> Table:
    """The determinacy rows the report leads with: the faithful solvers' when there are any."""
    if len(det) and det["faithful"].astype(bool).any():
        return det.where(det["faithful"].astype(bool))
    return det


def _fmt(v) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        return f"{v:.4g}"
    return "" if v is None else str(v)


def _table_html(t: Table, max_rows: int = 200) -> str:
    head = "".join(f"<th>{html.escape(n)}</th>" for n in t.names)
    rows = t.rows()
    body = "\n".join("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in r.values()) + "</tr>"
                     for r in rows[:max_rows])
    more = f"<p>… {len(rows) - max_rows} more rows in the CSV file.</p>" if len(rows) > max_rows else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>{more}"


CSS = """body{font-family:sans-serif;margin:2em;max-width:1400px;color:#222}
table{border-collapse:collapse;font-size:13px;margin:0.5em 0}th,td{border:1px solid #ccc;padding:2px 6px;text-align:right}
th{background:#eee}td:first-child,td:nth-child(2){text-align:left}pre{background:#f6f6f6;padding:1em;overflow-x:auto}
img{max-width:100%;border:1px solid #ddd;margin:0.5em 0}.note{color:#555;font-size:14px}"""


def _html(res: Results, opts: ReportOptions, tables: dict[str, Table], figures: dict[str, list[str]],
          n_settings: int, limits: dict) -> str:
    e = html.escape
    a = res.attrs
    status = ", ".join(f"{res.status_counts[s]} {s}" for s in res.status_names)
    atol = res.atol
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>invsweep report: {e(Path(res.path).name)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>invsweep report: {e(Path(res.path).name)}</h1>",
        "<table>",
        *(f"<tr><th>{e(k)}</th><td>{e(str(v))}</td></tr>" for k, v in [
            ("file", res.path), ("invsweep version", a["invsweep_version"]), ("created", a["created"]),
            ("sweep hash", a["sweep_hash"]), ("tasks", f"{a['n_tasks']} ({status})"),
            ("samples per task", a["n_samples"]), ("features", ", ".join(res.feature_names)),
            ("outputs", ", ".join(res.output_names)),
            ("tasks analysed", f"status {' / '.join(opts.statuses or res.status_names)}: {len(res.task_ids)}"),
        ]),
        "</table>",
        *([f"<p class='note'><b>{e(quick_note(opts))}</b></p>"] if opts.quick else []),
        "<p class='note'>A vector is <b>accepted</b> when it and its residual are finite, it is <b>feasible</b> "
        "(/violations ≤ 1e-6: its subject_to ranges, bounds and plausibility hold) and: for target objectives, "
        f"residual ≤ max(rtol·|target|, atol) with rtol = {res.rtol:g}, atol = {atol:.4g} "
        "(|·| the Euclidean norm over the targeted outputs); for range objectives, every output in its range "
        "(up to float64 rounding); for maximize/minimize every finite feasible vector. <b>outside_data</b>: the "
        "share of valid vectors farther (Mahalanobis) from the training inputs than any training row, where the "
        "oracle extrapolates (blank: the oracle has no input statistics). Definitions: docs/ANALYSIS.md.</p>",
        "<h2>Settings</h2>", _table_html(tables["summary"]),
    ]
    parts += _determinacy_html(tables["determinacy"], figures)
    parts += _response_html(tables["response"], figures)
    if "sensitivity" in tables:
        parts += _sensitivity_html(tables["sensitivity"], figures)
    parts += [
        "<h2>Distributions of the solutions</h2>",
        "<p class='note'>One panel per setting: a box per free feature and solver, the feature scaled to the "
        "setting's box (0 its lower end, 1 its upper), so features with different units share an axis. The grey "
        "band is where the middle half of the prior lies; a box much narrower than it is a determined feature "
        "(for the sampler) or a solver that found only part of the solutions (for the others).</p>",
        *_images(figures["distributions"], "distributions"),
        "<h2>Spread of the solutions (feature importance)</h2>",
        "<p class='note'>importance = range / std of the accepted vectors of a setting, every solver merged "
        "(free features only; range from the oracle's training data). It describes where the solvers landed, "
        "which for solvers other than the sampler depends on the optimiser as much as on the problem: use "
        "determinacy and sensitivity above for what the problem says. rank: 1 + the number of features whose "
        "interval lies clearly above; overlapping intervals share a rank. ci_low, ci_high: 95 % "
        "bootstrap interval. <a href='feature_importance.csv'>feature_importance.csv</a></p>",
        _table_html(tables["feature_importance"]),
        "<h3>Across targets</h3><p class='note'><a href='importance_by_target.csv'>importance_by_target.csv</a></p>",
        _table_html(tables["importance_by_target"]),
        *_images(figures["importance"], "feature importance"),
        "<h2>Solution families (roots)</h2>",
        f"<p class='note'>{n_settings} settings clustered by single linkage cut at the most pronounced gap "
        "(features scaled by range; centres are means, in feature units). <b>share</b> is a family's fraction of "
        "its setting's accepted vectors. Where faithful is True (every vector from the sampler) that is the "
        "family's proportion of the solution mass under the prior; otherwise it only says how often the solvers "
        "landed there, which depends on their starts. <b>sampler_share</b> is the family's fraction of the setting's "
        "sampler vectors alone: the proportion of the solution mass even where other solvers' vectors are mixed "
        "in. <a href='clusters.csv'>clusters.csv</a></p>",
        _table_html(tables["clusters"]),
        "<p class='note'>Solution clouds: pair plots of the free features coloured by family; with more than five "
        "free features, the first two principal components of the range-scaled features, with each feature's "
        "loading drawn as an arrow and listed beside the plot.</p>",
        *_images(figures["clouds"], "solution families"),
        *_left_out(n_settings, limits),
        "<h2>Loss curves</h2>", *_images(figures["loss"], "loss curves"),
        "<h2>Residuals</h2>", *_images(figures["residuals"], "residuals"),
        "<h2>Target vs achieved</h2>",
        "<p class='note'>Range objectives are drawn as the range (a band), targets as a point.</p>",
        *_images(figures["achieved"], "target vs achieved"),
    ]
    parts += [
        "<h2>Tasks</h2><p class='note'><a href='tasks.csv'>tasks.csv</a></p>", _table_html(tables["tasks"], 100),
        "<h2>Sweep settings</h2>", f"<pre>{e(res.sweep_toml)}</pre>",
        "</body></html>",
    ]
    return "\n".join(parts)


def _left_out(n_settings: int, limits: dict) -> list[str]:
    """What the plots leave out: they show the first settings in sweep order, the tables all."""
    parts = []
    if n_settings > limits["clouds"]:
        parts.append(f"Solution clouds are drawn for {limits['clouds']} of {n_settings} settings: those with the "
                     "most families, ties in sweep order (--max-cloud-plots); clusters.csv holds every family "
                     "of every setting.")
    if n_settings > limits["panels"]:
        parts.append(f"The per-setting plots (distributions, loss curves, residuals) show the first "
                     f"{limits['panels']} of {n_settings} settings (sweep order; --max-panels); the tables "
                     "(summary.csv, tasks.csv, determinacy.csv) hold them all.")
    return [f"<p class='note'>{html.escape(p)}</p>" for p in parts]


def _images(names: list[str], alt: str) -> list[str]:
    if not names:
        return ["<p class='note'>nothing to plot</p>"]
    return [f"<img src='{html.escape(n)}' alt='{html.escape(alt)}'>" for n in names]


UNFAITHFUL = ("spread of this solver's solutions, not the distribution of solutions: only solver sampler draws "
              "from the solution set's own distribution")


def _determinacy_html(det: Table, figures: dict[str, list[str]]) -> list[str]:
    faithful = det["faithful"].astype(bool) if len(det) else np.zeros(0, dtype=bool)
    parts = [
        "<h2>Determinacy</h2>",
        "<p class='note'><b>determinacy</b> = 1 − Var(x | solutions) / Var(x | prior), per target, setting, "
        "solver and free feature, replicates pooled; the prior is uniform over the setting's box. 0 means the "
        "solutions leave the feature as free as the box does, 1 that they pin it to one value, 0.75 that its "
        "standard deviation is half the prior's. lo, hi: 95 % bootstrap interval (whole tasks resampled when a "
        "group has at least 10, vectors otherwise); "
        "rank 1 + the number of features clearly (non-overlapping intervals) more determined, so ties share a "
        "rank. <a href='determinacy.csv'>determinacy.csv</a></p>",
    ]
    if not len(det):
        return parts + ["<p class='note'>no group has two accepted vectors</p>"]
    if faithful.any():
        parts += ["<p class='note'>Rows of solver sampler: draws from the distribution of solutions, so these "
                  "numbers describe the problem.</p>", _table_html(det.where(faithful))]
        if (~faithful).any():
            parts += [f"<h3>Other solvers</h3><p class='note'>{UNFAITHFUL}.</p>", _table_html(det.where(~faithful))]
    else:
        parts += [f"<p class='note'><b>No sampler rows in this file</b>: every row below is the {UNFAITHFUL}. "
                  "Run solver sampler for determinacy in the problem's sense.</p>", _table_html(det)]
    return parts + _images(figures["determinacy"], "determinacy")


def _response_html(resp: Table, figures: dict[str, list[str]]) -> list[str]:
    parts = [
        "<h2>Target response</h2>",
        "<p class='note'><b>slope</b>: how a feature's mean over the solutions moves as the target rises, from "
        "least squares across the sweep's targets (at least three), in prior standard deviations of the feature "
        "per training standard deviation of the output: 0.5 means one output standard deviation more moves the "
        "feature's mean by half its prior spread. An interval (lo, hi; 95 %, bootstrap) that excludes 0 says the "
        "feature moves with the target; rank orders |slope| with ties where intervals overlap. For solvers other "
        "than the sampler the slope describes where that solver landed. <a href='response.csv'>response.csv</a></p>",
    ]
    if not len(resp):
        return parts + ["<p class='note'>no group of target tasks has three distinct targets</p>"]
    return parts + [_table_html(resp), *_images(figures["response"], "target response")]


def _sensitivity_html(sens: Table, figures: dict[str, list[str]]) -> list[str]:
    parts = [
        "<h2>Sensitivity of the oracle (Sobol' indices)</h2>",
        "<p class='note'>With every free feature uniform over the setting's box (fixed features held): "
        "<b>S1</b> is the share of the output's variance that a feature explains alone, <b>ST</b> the share "
        "that involves it at all, interactions included; ST ≈ 0 means the output does not depend on the "
        "feature anywhere in the box. They describe the oracle, not the solutions. Saltelli sampling, Jansen "
        "estimators; lo, hi: 95 % bootstrap intervals"
        + (_sobol_n_text(sens) if len(sens) else "")
        + "; rank by ST with ties. <a href='sensitivity.csv'>sensitivity.csv</a></p>",
    ]
    if not len(sens):
        return parts + ["<p class='note'>no setting has a finite box</p>"]
    return parts + [_table_html(sens), *_images(figures["sensitivity"], "sensitivity")]


def _sobol_n_text(sens: Table) -> str:
    n, hw = int(np.max(sens["n"])), float(np.max(sens["half_width"]))
    if hw <= HALF_WIDTH:
        how = f"chosen so that every interval is within ±{HALF_WIDTH:g}"
    else:
        how = f"given by --sobol-n or capped at {N_MAX:,}, so not every interval is within ±{HALF_WIDTH:g}"
    return f", N = {n} base samples, {how} (largest half-width here {hw:.3f})"
