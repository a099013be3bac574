"""`python3 -m invsweep import-model`: a trained PyTorch or ONNX model → an invsweep oracle file.

The oracle file (docs/FILE_FORMATS.md) holds a chain of fully connected layers, each with one
of the activations identity, relu, tanh, sigmoid, softplus, silu, gelu, between an input and
an output scaler. `import_model` reads the model into a chain of affine steps and activations
(onnx_reader.py, torch_reader.py), folds BatchNorms and biases into the layers (chain.py),
adds the scalers and bounds (inputs.py), writes the file to a temporary name, reads it back
with invsweep/oracle.py, checks it against the model evaluated in float64, and only then
renames it into place. Every bad input raises ModelImportError; nothing is written then.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from ..oracle import FORMAT, FORMAT_VERSION, load_oracle
from .chain import Layer, ModelImportError, ReadModel, fold
from .inputs import Bounds, DataStats, Scaler, bounds_from_csv, parse_bounds, parse_names, parse_scaler, stats_from_csv

__all__ = ["CHECK_POINTS", "ImportOptions", "ImportReport", "ModelImportError", "import_model"]

CHECK_POINTS = 256
CHECK_TOLERANCE = 1e-6  # relative to max(1, |u|) in network units


@dataclass
class ImportOptions:
    model: str
    inputs: str
    outputs: str
    out: str
    input_scaler: str | None = None
    output_scaler: str | None = None
    bounds: str | None = None
    bounds_csv: str | None = None
    data: str | None = None  # CSV of the training data: input mean and covariance, output range
    force: bool = False


@dataclass
class ImportReport:
    out: str
    kind: str  # "ONNX ..." or "PyTorch ..."
    layers: list[Layer]
    input_scaler: Scaler
    output_scaler: Scaler
    bounds: Bounds
    max_difference: float  # network units, oracle file vs the model in float64
    stats: DataStats | None = None  # from --data
    notes: list[str] = field(default_factory=list)


def _make_parents(out: Path) -> list[Path]:
    """Creates the missing folders above `out`; returns them, outermost first."""
    missing = []
    d = out.parent
    while str(d) and not d.exists() and d != d.parent:
        missing.append(d)
        d = d.parent
    missing.reverse()
    for d in missing:
        d.mkdir()
    return missing


def _check_out(path: str, force: bool) -> Path:
    p = Path(path)
    if not p.name:
        raise ModelImportError(f"--out '{path}': expected a file name")
    d = p.parent if str(p.parent) else Path(".")
    if not d.is_dir():
        # A missing folder is made once the model has been read (see _make_parents); the
        # nearest existing ancestor must be a writable directory for that.
        base = d
        while not base.exists() and base != base.parent:
            base = base.parent
        if not base.is_dir():
            raise ModelImportError(f"--out {path}: cannot create directory '{d}': '{base}' is not a directory")
        if not os.access(base, os.W_OK | os.X_OK):
            raise ModelImportError(f"--out {path}: cannot create directory '{d}': '{base}' is not writable")
        return p
    if not os.access(d, os.W_OK):
        raise ModelImportError(f"--out {path}: directory '{d}' is not writable")
    if p.is_dir():
        raise ModelImportError(f"--out {path}: is a directory")
    if p.exists() and not force:
        raise ModelImportError(f"--out {path}: file exists; remove it, choose another name or pass --force")
    return p


def _read_model(path: str) -> ReadModel:
    try:
        return _read_model_file(path)
    except ModelImportError:
        raise
    except Exception as e:  # a malformed file that the checks above did not foresee
        raise ModelImportError(f"{path}: cannot be read as a model ({type(e).__name__}: {e})") from None


def _read_model_file(path: str) -> ReadModel:
    p = Path(path)
    if not p.exists():
        raise ModelImportError(f"{path}: no such file")
    if not p.is_file():
        raise ModelImportError(f"{path}: not a file")
    suffix = p.suffix.lower()
    if suffix == ".onnx":
        from .onnx_reader import read_onnx

        return read_onnx(path)
    if suffix in (".pt", ".pth"):
        from .torch_reader import read_torch

        return read_torch(path)
    raise ModelImportError(f"{path}: unknown model type '{suffix}'; expected .onnx (ONNX) or .pt / .pth "
                           "(a torch.nn.Sequential saved with torch.save)")


def _write(path: Path, layers: list[Layer], in_names, out_names, xs: Scaler, ys: Scaler, b: Bounds, source: str,
           stats: DataStats | None):
    text = h5py.string_dtype("utf-8")
    with h5py.File(path, "w") as f:
        g = f.create_group("oracle")
        g.attrs["format"] = FORMAT
        g.attrs["format_version"] = np.int64(FORMAT_VERSION)
        g.attrs.create("input_names", in_names, dtype=text)
        g.attrs.create("output_names", out_names, dtype=text)
        g.attrs["source"] = source
        lg = g.create_group("layers")
        for i, layer in enumerate(layers):
            li = lg.create_group(str(i))
            li.attrs["activation"] = layer.activation
            li.create_dataset("weight", data=np.ascontiguousarray(layer.weight, dtype=np.float64))
            li.create_dataset("bias", data=np.asarray(layer.bias, dtype=np.float64))
        for name, s in (("input_scaler", xs), ("output_scaler", ys)):
            sg = g.create_group(name)
            sg.create_dataset("mean", data=np.asarray(s.mean, dtype=np.float64))
            sg.create_dataset("scale", data=np.asarray(s.scale, dtype=np.float64))
        bg = g.create_group("input_bounds")
        bg.create_dataset("lo", data=np.asarray(b.lo, dtype=np.float64))
        bg.create_dataset("hi", data=np.asarray(b.hi, dtype=np.float64))
        if stats is not None:  # the layout train-oracle writes
            st = g.create_group("input_stats")
            st.create_dataset("mean", data=np.asarray(stats.input_mean, dtype=np.float64))
            st.create_dataset("cov", data=np.asarray(stats.input_cov, dtype=np.float64))
            st.attrs["max_distance"] = np.array([stats.max_distance], dtype=np.float64)
            ob = g.create_group("output_bounds")
            ob.create_dataset("lo", data=np.asarray(stats.output_lo, dtype=np.float64))
            ob.create_dataset("hi", data=np.asarray(stats.output_hi, dtype=np.float64))


def _check(tmp: Path, evaluate, xs: Scaler, ys: Scaler, n_in: int, path: str) -> float:
    """Max difference, in network units, between the written file and the model in float64."""
    rng = np.random.default_rng(0)
    z = rng.uniform(-3.0, 3.0, size=(CHECK_POINTS, n_in))
    u_model = np.asarray(evaluate(z), dtype=np.float64).reshape(CHECK_POINTS, -1)
    u_file = (load_oracle(str(tmp))(z * xs.scale + xs.mean) - ys.mean) / ys.scale
    if u_model.shape != u_file.shape:
        raise ModelImportError(f"{path}: the model gives {u_model.shape[1]} outputs, the converted layers "
                               f"{u_file.shape[1]}")
    ok = np.isfinite(u_model)
    if not np.all(ok):
        raise ModelImportError(f"{path}: the model gives non-finite outputs on ordinary inputs")
    diff = float(np.max(np.abs(u_file - u_model)))
    limit = CHECK_TOLERANCE * max(1.0, float(np.max(np.abs(u_model))))
    if not diff <= limit:
        raise ModelImportError(f"{path}: the converted layers differ from the model by {diff:.3g} (more than "
                               f"{limit:.3g}); the model uses something the oracle format does not represent")
    return diff


def import_model(o: ImportOptions) -> ImportReport:
    in_names = parse_names(o.inputs, "--inputs")
    out_names = parse_names(o.outputs, "--outputs")
    out = _check_out(o.out, o.force)
    xs = parse_scaler(o.input_scaler, "--input-scaler", in_names)
    ys = parse_scaler(o.output_scaler, "--output-scaler", out_names)
    notes = []
    if o.bounds is not None and o.bounds_csv is not None:
        raise ModelImportError("--bounds and --bounds-csv: give one of them")
    if o.bounds is not None:
        bounds = parse_bounds(o.bounds, in_names)
        free = [n for n, lo, hi in zip(in_names, bounds.lo, bounds.hi) if np.isinf(lo) and np.isinf(hi)]
        if free:
            notes.append(f"no bounds given for {', '.join(free)}: recorded as unbounded (-inf, inf)")
    elif o.bounds_csv is not None:
        bounds = bounds_from_csv(o.bounds_csv, in_names)
    stats = stats_from_csv(o.data, in_names, out_names) if o.data is not None else None
    if o.bounds is not None or o.bounds_csv is not None:
        pass
    elif stats is not None:
        bounds = stats.bounds
    else:
        bounds = Bounds(np.full(len(in_names), -np.inf), np.full(len(in_names), np.inf), "none")
        notes.append("no --bounds, --bounds-csv or --data: the input bounds are recorded as unbounded (-inf, inf); a "
                     "sweep keeps a feature in a range only where its constraint setting gives bounds for it")

    model = _read_model(o.model)
    notes += model.notes
    n_in = model.n_in or len(in_names)
    if n_in != len(in_names):
        raise ModelImportError(f"--inputs names {len(in_names)} features ({', '.join(in_names)}) but {o.model} "
                               f"takes {n_in} inputs")
    layers = fold(model.steps, n_in)
    n_out = model.n_out or layers[-1].weight.shape[0]
    if layers[-1].weight.shape[0] != n_out:
        raise ModelImportError(f"{o.model}: the layers give {layers[-1].weight.shape[0]} outputs but the graph output "
                               f"declares {n_out}")
    if n_out != len(out_names):
        raise ModelImportError(f"--outputs names {len(out_names)} outputs ({', '.join(out_names)}) but {o.model} "
                               f"gives {n_out}")
    if any("identity weight" in layer.sources for layer in layers):
        notes.append("an activation without a Linear layer before it became a layer with an identity weight")

    source = f"import-model {Path(o.model).name} ({model.kind})"
    tmp = out.with_name(f".{out.name}.{os.getpid()}.part")
    made: list[Path] = []
    ok = False
    try:
        made = _make_parents(out)
        _write(tmp, layers, in_names, out_names, xs, ys, bounds, source, stats)
        diff = _check(tmp, model.evaluate, xs, ys, n_in, o.model)
        os.replace(tmp, out)
        ok = True
    except OSError as e:
        raise ModelImportError(f"--out {o.out}: cannot write ({e.strerror or e})") from None
    finally:
        tmp.unlink(missing_ok=True)
        if not ok:  # a failed import leaves no folder behind either
            for d in reversed(made):
                try:
                    d.rmdir()
                except OSError:
                    break
    return ImportReport(str(out), model.kind, layers, xs, ys, bounds, diff, stats, notes)
