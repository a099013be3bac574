"""Command line:
  python3 -m invsweep report RESULTS.h5 -o DIR [options]
  python3 -m invsweep sensitivity ORACLE.h5 [-o DIR] [--n N] [--seed S]
  python3 -m invsweep import-model MODEL --inputs a,b --outputs y --out oracle.h5 [options]
  python3 -m invsweep export RESULTS.h5 --task N [--task M …] [-o FILE.csv]

Exit codes: 0 success; 2 bad input (missing or unreadable file, not an invsweep results file,
a model that cannot be represented, an oracle whose input bounds are not finite, bad option, unwritable output) with one message naming the
file and the part; nothing is written then."""

from __future__ import annotations

import argparse
import math
import sys

from .loader import DEFAULT_RTOL, ResultsError
from .report import MAX_CLOUDS, QUICK_BOOT, QUICK_PLOTS, ReportOptions, write_report
from .tables import MAX_PANELS


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python3 -m invsweep", description="Analyse invsweep results files.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("report", help="tables, plots and index.html for one results file")
    r.add_argument("results", help="results file (HDF5) written by invsweep run")
    r.add_argument("-o", "--out", required=True, help="output directory (created if missing)")
    r.add_argument("--rtol", type=float, default=DEFAULT_RTOL,
                   help="accept residual <= max(rtol*|target|, atol) (default %(default)g)")
    r.add_argument("--atol", type=float, default=None,
                   help="absolute tolerance in output units (default: rtol * |oracle output scale|)")
    r.add_argument("--all-tasks", action="store_true",
                   help="analyse every task with data, not only done ones (diverged, failed, pending too)")
    r.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (default %(default)d)")
    r.add_argument("--seed", type=int, default=0, help="seed of bootstrap and subsampling (default %(default)d)")
    r.add_argument("--link-distance", type=float, default=None,
                   help="link vectors closer than this (share of the feature range) instead of choosing the cut")
    r.add_argument("--max-cloud-plots", type=int, default=MAX_CLOUDS,
                   help="solution-cloud plots for at most this many settings, those with the most families first "
                        "(default %(default)d; clusters.csv holds them all)")
    r.add_argument("--max-panels", type=int, default=MAX_PANELS,
                   help="per-setting plots (distributions, loss, residuals) show at most this many settings, "
                        "the first in sweep order (default %(default)d; the tables hold them all)")
    r.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                   help="processes drawing the plots (default: every core)")
    r.add_argument("--quick", action="store_true",
                   help=f"a first look: no Sobol' indices, {QUICK_BOOT} bootstrap resamples, at most {QUICK_PLOTS} "
                        "settings per plot; the report says what it skipped")
    r.add_argument("--quiet", "-q", action="store_true", help="no progress lines on standard error")
    r.add_argument("--sobol-n", type=int, default=None, metavar="N",
                   help="Sobol' base sample size (default: doubled until every interval is within ±0.02)")
    r.add_argument("--no-sensitivity", action="store_true", help="leave out the Sobol' indices of the oracle")
    s = sub.add_parser("sensitivity", help="Sobol' indices of an oracle over its input bounds -> sensitivity.csv",
                       description="Sobol' first-order (S1) and total (ST) indices of every output with respect "
                                   "to every input, inputs uniform over the oracle's input_bounds; 95 % bootstrap "
                                   "intervals. Writes DIR/sensitivity.csv and DIR/sensitivity.png and prints the "
                                   "table. See docs/ANALYSIS.md.")
    s.add_argument("oracle", help="oracle file (or a results file: its /oracle)")
    s.add_argument("-o", "--out", default=".", help="output directory (created if missing; default: the current one)")
    s.add_argument("--n", type=int, default=None,
                   help="base sample size N, N (d + 2) evaluations (default: doubled from 4096 until every "
                        "interval is within ±0.02, at most 131072)")
    s.add_argument("--seed", type=int, default=0, help="seed of the samples and the bootstrap (default %(default)d)")
    m = sub.add_parser("import-model", help="a PyTorch (.pt) or ONNX (.onnx) model -> an invsweep oracle file",
                       description="Writes an invsweep oracle file from a trained model: an ONNX graph or a whole "
                                   "torch.nn.Sequential saved with torch.save(model). See docs/ORACLES.md.")
    m.add_argument("model", help="model file: .onnx, or .pt / .pth")
    m.add_argument("--inputs", required=True, help="input feature names, comma-separated, in the model's order")
    m.add_argument("--outputs", required=True, help="output names, comma-separated, in the model's order")
    m.add_argument("--input-scaler", metavar="SPEC",
                   help="scaling applied before the model: a pickled scikit-learn StandardScaler or MinMaxScaler, "
                        "or mean=1,2,3:scale=4,5,6 (the model sees (x - mean) / scale)")
    m.add_argument("--output-scaler", metavar="SPEC",
                   help="scaling undone after the model: a pickled scaler, or mean=..:scale=.. (y = u * scale + mean)")
    b = m.add_mutually_exclusive_group()
    b.add_argument("--bounds", metavar="SPEC", help="input bounds: a=0:10,b=-1:1 (an empty side is unbounded)")
    b.add_argument("--bounds-csv", metavar="FILE", help="input bounds: min and max of each input column of this CSV")
    m.add_argument("--data", metavar="CSV",
                   help="training data (a CSV with the input and output columns): records the inputs' mean and "
                        "covariance and the outputs' range (plausibility, extrapolation warnings), and the input "
                        "range as the bounds unless --bounds or --bounds-csv is given")
    m.add_argument("--out", required=True, help="oracle file to write (.h5)")
    m.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    m.add_argument("--quiet", action="store_true", help="print only notes and errors")
    e = sub.add_parser("export", help="a task's vectors, outputs and residuals as CSV",
                       description="Writes the vectors of the given tasks (a data set of inputs that yield the "
                                   "task's output) as CSV, one row per vector.")
    e.add_argument("results", help="results file (HDF5) written by invsweep run")
    e.add_argument("--task", type=int, action="append", required=True, help="task index (repeat for several)")
    e.add_argument("-o", "--out", default="-", help="CSV file to write (default: standard output)")
    e.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    return p


def _export(args) -> int:
    import os
    from pathlib import Path

    from .export import task_vectors

    if args.out != "-" and Path(args.out).exists() and not args.force:
        print(f"error: {args.out} exists (use --force to overwrite)", file=sys.stderr)
        return 2
    try:
        df = task_vectors(args.results, args.task)
    except ResultsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.out == "-":
        try:
            df.to_csv(sys.stdout, index=False)
            sys.stdout.flush()
        except BrokenPipeError:  # a reader such as `head` stopped early: not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    tmp = f"{args.out}.part"
    try:
        df.to_csv(tmp, index=False)
        os.replace(tmp, args.out)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        print(f"error: cannot write {args.out}: {e.strerror or e}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}: {len(df)} vectors of {len(args.task)} task(s)", file=sys.stderr)
    return 0


def _import_model(args) -> int:
    from .model_import import CHECK_POINTS, ImportOptions, ModelImportError, import_model

    opts = ImportOptions(model=args.model, inputs=args.inputs, outputs=args.outputs, out=args.out,
                         input_scaler=args.input_scaler, output_scaler=args.output_scaler, bounds=args.bounds,
                         bounds_csv=args.bounds_csv, data=args.data, force=args.force)
    try:
        r = import_model(opts)
    except ModelImportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for note in r.notes:
        print(f"note: {note}", file=sys.stderr)
    if not args.quiet:
        sizes = [str(r.layers[0].weight.shape[1])] + [str(l.weight.shape[0]) for l in r.layers]
        print(f"{args.model} ({r.kind}): {' -> '.join(sizes)}, activations {', '.join(l.activation for l in r.layers)}")
        print(f"input scaler: {r.input_scaler.source}; output scaler: {r.output_scaler.source}; "
              f"bounds: {r.bounds.source}")
        if r.stats is not None:
            print(f"training data: {args.data} ({r.stats.n_rows} rows): input mean and covariance, output range")
        print(f"checked: the oracle file reproduces the model to {r.max_difference:.2g} "
              f"(max difference on {CHECK_POINTS} points, network units)")
        print(f"wrote {r.out}")
    return 0


def _sensitivity(args) -> int:
    from pathlib import Path

    import h5py

    from . import plots
    from .oracle import load_oracle
    from .sensitivity import SensitivityError, oracle_sensitivity

    if args.n is not None and args.n < 2:
        print(f"error: --n must be >= 2, got {args.n}", file=sys.stderr)
        return 2
    path = Path(args.oracle)
    if not path.is_file():
        print(f"error: {path}: no such file", file=sys.stderr)
        return 2
    try:
        with h5py.File(path, "r") as f:
            if "oracle" not in f:
                raise ValueError("group '/oracle' is missing (not an invsweep oracle or results file)")
            oracle = load_oracle(f["oracle"])
    except (OSError, KeyError, ValueError) as e:
        print(f"error: {path}: {e}", file=sys.stderr)
        return 2
    try:
        table = oracle_sensitivity(oracle, n=args.n, seed=args.seed)
    except SensitivityError as e:
        print(f"error: {path}: {e}; give the oracle finite /oracle/input_bounds", file=sys.stderr)
        return 2
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        table.to_csv(out / "sensitivity.csv")
        plots.interval_bars(table, out, "sensitivity", "ST", "ST_lo", "ST_hi", "output", "output",
                            "Sobol' index", f"Sobol' indices of {path.name} over its input bounds (solid: ST, "
                            "hatched: S1; 95 % intervals)", ylim=(-0.05, 1.05), extra=("S1", "S1_lo", "S1_hi"))
    except OSError as e:
        print(f"error: cannot write to {out}: {e.strerror or e}", file=sys.stderr)
        return 2
    print(f"Sobol' indices of {path.name} over its input bounds, N = {table['n'][0]} "
          f"({table['n'][0] * (len(oracle.input_names) + 2)} evaluations); 95 % intervals")
    print(f"{'output':<10} {'feature':<12} {'S1':>20} {'ST':>20}  rank")
    for r in table.rows():
        print(f"{r['output']:<10} {r['feature']:<12} {r['S1']:7.3f} [{r['S1_lo']:5.3f}, {r['S1_hi']:5.3f}] "
              f"{r['ST']:7.3f} [{r['ST_lo']:5.3f}, {r['ST_hi']:5.3f}]  {r['rank']}")
    print(f"wrote {out / 'sensitivity.csv'}")
    return 0


def _keep_freed_memory() -> None:
    """glibc hands each freed block over 128 KiB back to the system and faults it in again, page
    by page, when the next array of that size arrives: a fifth of a small report's time went to
    the kernel. The command's process and its workers keep what they free instead (the peak
    resident size is what it was). No effect other than speed; nothing happens without glibc."""
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-4, 0)  # M_MMAP_MAX: large blocks from the heap too
        libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD: keep up to 1 GiB of free heap
    except (OSError, AttributeError):
        pass


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)  # argparse itself exits 2 on bad arguments
    _keep_freed_memory()
    if args.command == "import-model":
        return _import_model(args)
    if args.command == "export":
        return _export(args)
    if args.command == "sensitivity":
        return _sensitivity(args)
    problem = _check_report_options(args)
    if problem:
        _say(f"error: {problem}", sys.stderr)
        return 2
    opts = ReportOptions(rtol=args.rtol, atol=args.atol, statuses=None if args.all_tasks else ("done",),
                         n_boot=args.bootstrap, seed=args.seed, link_distance=args.link_distance,
                         max_cloud_plots=args.max_cloud_plots, max_panels=args.max_panels,
                         sensitivity_n=args.sobol_n, sensitivity=not args.no_sensitivity, jobs=args.jobs,
                         quick=args.quick, progress=not args.quiet)
    try:
        index = write_report(args.results, args.out, opts)
    except ResultsError as e:
        _say(f"error: {e}", sys.stderr)
        return 2
    except OSError as e:  # the output directory
        _say(f"error: cannot write the report to {args.out}: {e.strerror or e}", sys.stderr)
        return 2
    for warning in getattr(index, "warnings", ()):
        _say(f"warning: {warning}", sys.stderr)
    _say(str(index), sys.stdout)
    return 0


def _check_report_options(args) -> str | None:
    """The first bad report option, in words; None when all are valid."""
    def finite(v) -> bool:
        return v is not None and math.isfinite(v)
    if not (finite(args.rtol) and args.rtol > 0):
        return f"--rtol must be a finite number > 0, got {args.rtol}"
    if args.atol is not None and not (finite(args.atol) and args.atol >= 0):
        return f"--atol must be a finite number >= 0, got {args.atol}"
    if args.bootstrap <= 0:
        return f"--bootstrap must be > 0, got {args.bootstrap}"
    if not 0 <= args.seed < 2**32:
        return f"--seed must be in [0, 2**32), got {args.seed}"
    if args.link_distance is not None and not (finite(args.link_distance) and args.link_distance > 0):
        return f"--link-distance must be a finite number > 0 (a share of the feature range), got {args.link_distance}"
    if args.max_cloud_plots < 0:
        return f"--max-cloud-plots must be >= 0, got {args.max_cloud_plots}"
    if args.sobol_n is not None and args.sobol_n < 2:
        return f"--sobol-n must be >= 2, got {args.sobol_n}"
    for name, least in (("jobs", 1), ("max_panels", 0)):
        value = getattr(args, name)
        if value is not None and value < least:
            return f"--{name.replace('_', '-')} must be >= {least}, got {value}"
    if not args.out:
        return "--out: empty path"
    return None


def _say(text: str, stream) -> None:
    """Prints text whatever the paths in it hold (bytes that are not UTF-8 are escaped)."""
    stream.write(text.encode("utf-8", "backslashreplace").decode("utf-8") + "\n")
    stream.flush()


if __name__ == "__main__":
    sys.exit(main())
