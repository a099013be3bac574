"""The command's other inputs: feature names, scalers, bounds — parsed and checked.

Scaler syntax (`--input-scaler`, `--output-scaler`):
- a path to a pickled (or joblib-dumped) scikit-learn StandardScaler or MinMaxScaler, fitted
  on the model's inputs (outputs), or
- numbers: `mean=1,2,3:scale=4,5,6` (one value per feature; a missing part means mean 0 or
  scale 1), as in StandardScaler: the model sees `(x - mean) / scale`, and its output `u`
  means `y = u * scale + mean`.

Bounds syntax (`--bounds`): `a=0:10,b=-1:1,c=0:inf`; an empty side (`a=0:`) is unbounded.
`--bounds-csv FILE` takes the minimum and maximum of each input column of a CSV file with a
header row.
"""

from __future__ import annotations

import csv
import difflib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .chain import ModelImportError


def did_you_mean(name: str, choices) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else ""


def parse_names(text: str, option: str) -> list[str]:
    names = [n.strip() for n in text.split(",")]
    if any(not n for n in names):
        raise ModelImportError(f"{option} '{text}': empty name; expected comma-separated names like a,b,c")
    seen = set()
    for n in names:
        if n in seen:
            raise ModelImportError(f"{option} '{text}': '{n}' appears twice; names must be unique")
        seen.add(n)
    return names


def _number(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ModelImportError(f"{what}: '{text}' is not a number") from None


@dataclass
class Scaler:
    mean: np.ndarray
    scale: np.ndarray
    source: str

    @classmethod
    def identity(cls, n: int) -> "Scaler":
        return cls(np.zeros(n), np.ones(n), "none")


def _scaler_numbers(spec: str, option: str, n: int) -> Scaler:
    values = {}
    for part in spec.split(":"):
        key, sep, rest = part.partition("=")
        key = key.strip()
        if not sep or key not in ("mean", "scale"):
            raise ModelImportError(f"{option} '{spec}': expected mean=v1,v2,...:scale=v1,v2,... or a scaler file")
        if key in values:
            raise ModelImportError(f"{option} '{spec}': '{key}' given twice")
        values[key] = np.array([_number(v.strip(), f"{option} {key}") for v in rest.split(",")])
    out = {"mean": np.zeros(n), "scale": np.ones(n)}
    for key, v in values.items():
        if v.size != n:
            raise ModelImportError(f"{option} {key}: {v.size} values, expected {n} (one per feature)")
        out[key] = v
    return Scaler(out["mean"], out["scale"], spec)


def _scaler_file(path: str, option: str, names: list[str]) -> Scaler:
    p = Path(path)
    if not p.is_file():
        raise ModelImportError(f"{option} {path}: no such file (expected a pickled scikit-learn scaler, "
                               "or numbers as mean=1,2:scale=3,4)")
    try:
        import joblib

        obj = joblib.load(p)
    except Exception as e:
        raise ModelImportError(f"{option} {path}: cannot unpickle ({type(e).__name__}: {e}); expected a "
                               "pickled scikit-learn StandardScaler or MinMaxScaler") from None
    kind = type(obj).__name__
    n = len(names)
    if kind not in ("StandardScaler", "MinMaxScaler"):
        raise ModelImportError(f"{option} {path}: holds a {type(obj).__module__}.{kind}; expected a scikit-learn "
                               "StandardScaler or MinMaxScaler")
    if not hasattr(obj, "n_features_in_"):
        raise ModelImportError(f"{option} {path}: the {kind} is not fitted")
    if obj.n_features_in_ != n:
        raise ModelImportError(f"{option} {path}: the {kind} has {obj.n_features_in_} features, expected {n} "
                               f"({', '.join(names)})")
    fitted = getattr(obj, "feature_names_in_", None)
    if fitted is not None and [str(s) for s in fitted] != names:
        raise ModelImportError(f"{option} {path}: the scaler was fitted on columns {', '.join(map(str, fitted))}, "
                               f"but the names given are {', '.join(names)}")
    if kind == "StandardScaler":
        mean = np.zeros(n) if obj.mean_ is None else np.asarray(obj.mean_, dtype=np.float64)
        scale = np.ones(n) if obj.scale_ is None else np.asarray(obj.scale_, dtype=np.float64)
    else:
        if getattr(obj, "clip", False):
            raise ModelImportError(f"{option} {path}: a MinMaxScaler with clip=True is not an affine map")
        # transform: x * scale_ + min_  ==  (x - mean) / scale  with scale = 1/scale_, mean = -min_/scale_
        s = np.asarray(obj.scale_, dtype=np.float64)
        scale, mean = 1.0 / s, -np.asarray(obj.min_, dtype=np.float64) / s
    return Scaler(mean, scale, f"{path} ({kind})")


def parse_scaler(spec: str | None, option: str, names: list[str]) -> Scaler:
    n = len(names)
    if spec is None:
        return Scaler.identity(n)
    if "=" in spec and spec.split("=", 1)[0].strip() in ("mean", "scale"):
        scaler = _scaler_numbers(spec, option, n)
    else:
        scaler = _scaler_file(spec, option, names)
    for k in range(n):
        if not math.isfinite(scaler.mean[k]):
            raise ModelImportError(f"{option}: mean of '{names[k]}' is {scaler.mean[k]}, expected a finite number")
        if not (math.isfinite(scaler.scale[k]) and scaler.scale[k] > 0):
            raise ModelImportError(f"{option}: scale of '{names[k]}' is {scaler.scale[k]}, expected a finite "
                                   "number > 0")
    return scaler


@dataclass
class Bounds:
    lo: np.ndarray
    hi: np.ndarray
    source: str


def parse_bounds(spec: str, names: list[str]) -> Bounds:
    lo, hi = np.full(len(names), -np.inf), np.full(len(names), np.inf)
    seen = set()
    for item in spec.split(","):
        name, sep, rng = item.partition("=")
        name = name.strip()
        a, colon, b = rng.partition(":")
        if not sep or not colon:
            raise ModelImportError(f"--bounds '{item}': expected name=lo:hi, e.g. {names[0]}=0:10")
        if name not in names:
            raise ModelImportError(f"--bounds: '{name}' is not an input{did_you_mean(name, names)}; the inputs are "
                                   f"{', '.join(names)}")
        if name in seen:
            raise ModelImportError(f"--bounds: '{name}' given twice")
        seen.add(name)
        k = names.index(name)
        lo[k] = _number(a.strip(), f"--bounds {name}") if a.strip() else -np.inf
        hi[k] = _number(b.strip(), f"--bounds {name}") if b.strip() else np.inf
        if math.isnan(lo[k]) or math.isnan(hi[k]) or lo[k] > hi[k]:
            raise ModelImportError(f"--bounds {name}: {a}:{b} is not a range lo <= hi")
    return Bounds(lo, hi, "--bounds")


def read_csv_columns(path: str, names: list[str], option: str) -> np.ndarray:
    """The named columns of a CSV file with a header row, [rows, len(names)] float64; other
    columns are ignored, every cell of a named column must be a finite number."""
    try:
        f = open(path, newline="", encoding="utf-8-sig")
    except OSError as e:
        raise ModelImportError(f"{option} {path}: cannot open ({e.strerror or e})") from None
    with f:
        try:
            rows = csv.reader(f)
            header, lineno = None, 0
            for row in rows:
                lineno = rows.line_num
                if any(c.strip() for c in row):
                    header = [c.strip() for c in row]
                    break
            if header is None:
                raise ModelImportError(f"{option} {path}: empty file, expected a header row of column names")
            cols = []
            for name in names:
                if name not in header:
                    raise ModelImportError(f"{option} {path} line {lineno}: no column '{name}'{did_you_mean(name, header)}; the "
                                           f"header has: {', '.join(header)}")
                cols.append(header.index(name))
            values = []
            for row in rows:
                if not any(c.strip() for c in row):
                    continue
                if len(row) != len(header):
                    raise ModelImportError(f"{option} {path} line {rows.line_num}: {len(row)} fields, expected {len(header)} "
                                           "as in the header")
                line = []
                for k, j in enumerate(cols):
                    cell = row[j].strip()
                    try:
                        v = float(cell)
                    except ValueError:
                        raise ModelImportError(f"{option} {path} line {rows.line_num}, column '{names[k]}': '{cell}' is not a "
                                               "number") from None
                    if not math.isfinite(v):
                        raise ModelImportError(f"{option} {path} line {rows.line_num}, column '{names[k]}': '{cell}' is not a "
                                               "finite number")
                    line.append(v)
                values.append(line)
        except (UnicodeDecodeError, csv.Error) as e:
            raise ModelImportError(f"{option} {path}: not a readable CSV file ({e})") from None
    if not values:
        raise ModelImportError(f"{option} {path}: no data rows after the header")
    return np.asarray(values, dtype=np.float64).reshape(len(values), len(names))


def bounds_from_csv(path: str, names: list[str]) -> Bounds:
    x = read_csv_columns(path, names, "--bounds-csv")
    return Bounds(x.min(axis=0), x.max(axis=0), f"{path} ({x.shape[0]} rows)")


@dataclass
class DataStats:
    """What `--data` records: the training inputs' mean and sample covariance (ddof 1, as
    numpy.cov) and the training outputs' range, and the input range (the bounds when neither
    --bounds nor --bounds-csv is given)."""

    input_mean: np.ndarray
    input_cov: np.ndarray
    output_lo: np.ndarray
    output_hi: np.ndarray
    bounds: Bounds
    n_rows: int
    max_distance: float  # the largest Mahalanobis distance of a data row: the data's envelope


def stats_from_csv(path: str, in_names: list[str], out_names: list[str]) -> DataStats:
    v = read_csv_columns(path, in_names + out_names, "--data")
    if v.shape[0] < 2:
        raise ModelImportError(f"--data {path}: {v.shape[0]} data row; the covariance needs at least 2")
    x, y = v[:, : len(in_names)], v[:, len(in_names):]
    cov = np.atleast_2d(np.cov(x, rowvar=False, ddof=1))
    centred = x - x.mean(axis=0)
    # The pseudo-inverse with the C++ side's cut (eigenvalues below 1e-12 of the largest: zero).
    dist = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", centred, np.linalg.pinv(cov, rcond=1e-12, hermitian=True),
                                        centred), 0.0))
    return DataStats(x.mean(axis=0), cov, y.min(axis=0), y.max(axis=0),
                     Bounds(x.min(axis=0), x.max(axis=0), f"{path} ({v.shape[0]} rows)"), v.shape[0],
                     float(dist.max()))
