"""Command line: python3 -m analysis report RESULTS.h5 -o DIR [options].

Exit codes: 0 success; 2 bad input (missing or unreadable file, not an invsweep results file,
bad option, unwritable output) with one message naming the file and the part."""

from __future__ import annotations

import argparse
import sys

from .loader import DEFAULT_RTOL, STATUSES, ResultsError
from .report import ReportOptions, write_report


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python3 -m analysis", description="Analyse invsweep results files.")
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
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)  # argparse itself exits 2 on bad arguments
    for name in ("rtol", "bootstrap"):
        if getattr(args, name) <= 0:
            print(f"error: --{name} must be > 0, got {getattr(args, name)}", file=sys.stderr)
            return 2
    if args.atol is not None and args.atol < 0:
        print(f"error: --atol must be >= 0, got {args.atol}", file=sys.stderr)
        return 2
    opts = ReportOptions(rtol=args.rtol, atol=args.atol, statuses=STATUSES if args.all_tasks else ("done",),
                         n_boot=args.bootstrap, seed=args.seed, link_distance=args.link_distance,
                         max_cloud_plots=args.max_cloud_plots)
    try:
        index = write_report(args.results, args.out, opts)
    except ResultsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # the output directory
        print(f"error: cannot write the report to {args.out}: {e.strerror or e}", file=sys.stderr)
        return 2
    print(index)
    return 0


if __name__ == "__main__":
    sys.exit(main())
