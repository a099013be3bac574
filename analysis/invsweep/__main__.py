"""Command line:
  python3 -m invsweep report RESULTS.h5 -o DIR [options]
  python3 -m invsweep import-model MODEL --inputs a,b --outputs y --out oracle.h5 [options]

Exit codes: 0 success; 2 bad input (missing or unreadable file, not an invsweep results file,
a model that cannot be represented, bad option, unwritable output) with one message naming the
file and the part; nothing is written then."""

from __future__ import annotations

import argparse
import math
import sys

from .loader import DEFAULT_RTOL, ResultsError
from .report import ReportOptions, write_report


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
    r.add_argument("--max-cloud-plots", type=int, default=40, help="at most this many solution-cloud plots")
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
    m.add_argument("--out", required=True, help="oracle file to write (.h5)")
    m.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    m.add_argument("--quiet", action="store_true", help="print only notes and errors")
    return p


def _import_model(args) -> int:
    from .model_import import CHECK_POINTS, ImportOptions, ModelImportError, import_model

    opts = ImportOptions(model=args.model, inputs=args.inputs, outputs=args.outputs, out=args.out,
                         input_scaler=args.input_scaler, output_scaler=args.output_scaler, bounds=args.bounds,
                         bounds_csv=args.bounds_csv, force=args.force)
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
        print(f"checked: the oracle file reproduces the model to {r.max_difference:.2g} "
              f"(max difference on {CHECK_POINTS} points, network units)")
        print(f"wrote {r.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)  # argparse itself exits 2 on bad arguments
    if args.command == "import-model":
        return _import_model(args)
    problem = _check_report_options(args)
    if problem:
        _say(f"error: {problem}", sys.stderr)
        return 2
    opts = ReportOptions(rtol=args.rtol, atol=args.atol, statuses=None if args.all_tasks else ("done",),
                         n_boot=args.bootstrap, seed=args.seed, link_distance=args.link_distance,
                         max_cloud_plots=args.max_cloud_plots)
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
    if not args.out:
        return "--out: empty path"
    return None


def _say(text: str, stream) -> None:
    """Prints text whatever the paths in it hold (bytes that are not UTF-8 are escaped)."""
    stream.write(text.encode("utf-8", "backslashreplace").decode("utf-8") + "\n")
    stream.flush()


if __name__ == "__main__":
    sys.exit(main())
