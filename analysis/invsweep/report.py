"""`python3 -m invsweep report RESULTS.h5 -o DIR`: tables (CSV), plots (PNG) and DIR/index.html."""

from __future__ import annotations

import errno
import html
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import plots
from .clusters import clusters_table, find_clusters
from .importance import compare_targets, importance_table
from .loader import DEFAULT_RTOL, Results, load_results
from .table import Table
from .tables import summary_table, tasks_table


@dataclass
class ReportOptions:
    rtol: float = DEFAULT_RTOL
    atol: float | None = None  # None: rtol * |oracle output scale|
    statuses: tuple[str, ...] | None = ("done",)  # None: every task
    n_boot: int = 1000
    seed: int = 0
    link_distance: float | None = None  # None: chosen from the data (see clusters.py)
    max_cloud_plots: int = 40


def write_report(results_path: str | Path, out_dir: str | Path, opts: ReportOptions | None = None) -> Path:
    """Reads the file (ResultsError on bad input, before anything is written), then writes the
    CSV tables, the PNG plots and index.html into out_dir; returns the index.html path."""
    opts = opts or ReportOptions()
    res = load_results(results_path, statuses=opts.statuses, rtol=opts.rtol, atol=opts.atol)
    final = Path(out_dir)
    if final.exists() and not final.is_dir():
        raise OSError(errno.ENOTDIR, "exists and is not a directory")
    # Built in a temporary folder beside the final one and moved there when complete: a failed
    # or interrupted report leaves no half-written folder.
    final.parent.mkdir(parents=True, exist_ok=True)
    out = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    try:
        _write_into(res, out, opts)
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


def _write_into(res: Results, out: Path, opts: ReportOptions) -> None:

    tables = {
        "summary": summary_table(res),
        "feature_importance": importance_table(res, n_boot=opts.n_boot, seed=opts.seed),
    }
    found = find_clusters(res, distance=opts.link_distance, seed=opts.seed)
    tables["importance_by_target"] = compare_targets(tables["feature_importance"])
    tables["clusters"] = clusters_table(found, res.feature_names)
    tables["tasks"] = tasks_table(res)
    for name, t in tables.items():
        t.to_csv(out / f"{name}.csv")

    figures = {
        "Loss curves": plots.loss_curves(res, out),
        "Residuals": plots.residual_histograms(res, out),
        "Feature importance": plots.importance_bars(tables["feature_importance"], out),
        "Solution families": plots.solution_clouds(found, res, out, opts.max_cloud_plots),
        "Target vs achieved": plots.target_vs_achieved(res, out),
    }
    index = out / "index.html"
    index.write_text(_html(res, opts, tables, figures, len(found)), encoding="utf-8", errors="backslashreplace")


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
          n_settings: int) -> str:
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
        "<p class='note'>A vector is <b>accepted</b> when it and its residual are finite and, for target and "
        f"range objectives, residual ≤ max(rtol·|target|, atol) with rtol = {res.rtol:g}, atol = {atol:.4g} "
        "(|·| the Euclidean norm over outputs); for maximize/minimize every finite vector is accepted. "
        "Definitions: docs/ANALYSIS.md.</p>",
        "<h2>Settings</h2>", _table_html(tables["summary"]),
        "<h2>Feature importance</h2>",
        "<p class='note'>importance = 1 / spread, spread = std / range over the accepted vectors of a setting "
        "(free features only; range from the oracle's training data); rank 1 = most important; "
        "ci_low, ci_high: 95 % two-level bootstrap interval. "
        "<a href='feature_importance.csv'>feature_importance.csv</a></p>",
        _table_html(tables["feature_importance"]),
        "<h3>Across targets</h3><p class='note'><a href='importance_by_target.csv'>importance_by_target.csv</a></p>",
        _table_html(tables["importance_by_target"]),
        "<h2>Solution families (roots)</h2>",
        f"<p class='note'>{n_settings} settings clustered by single linkage cut at the most pronounced gap "
        "(features scaled by range; centres are means, in feature units). "
        "<a href='clusters.csv'>clusters.csv</a></p>",
        _table_html(tables["clusters"]),
    ]
    for title, names in figures.items():
        parts.append(f"<h2>{e(title)}</h2>")
        if not names:
            parts.append("<p class='note'>nothing to plot</p>")
        parts += [f"<img src='{e(n)}' alt='{e(title)}'>" for n in names]
    parts += [
        "<h2>Tasks</h2><p class='note'><a href='tasks.csv'>tasks.csv</a></p>", _table_html(tables["tasks"], 100),
        "<h2>Sweep settings</h2>", f"<pre>{e(res.sweep_toml)}</pre>",
        "</body></html>",
    ]
    return "\n".join(parts)
