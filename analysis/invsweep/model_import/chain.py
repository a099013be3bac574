"""A model as a chain of affine maps and activations, folded into oracle layers.

Readers (ONNX, PyTorch) turn a model into a list of three kinds of step:
- `Affine`: h → W h + b with a full weight (a Linear, a Gemm, a MatMul),
- `Scale`:  h → a ⊙ h + c, elementwise with `a`, `c` scalars or per-feature vectors (a
  BatchNorm in inference mode, a bias Add, a scalar Mul or Div),
- `Act`:    one of the oracle file's activations, applied elementwise.

`fold` composes consecutive affine steps into one and closes a layer at each activation, so a
BatchNorm or a bias after a Linear ends up inside that Linear, and a per-feature scaling
between an activation and the next Linear ends up inside the next one. Every step keeps a
`where` (node or module name) for messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..oracle import ACTIVATIONS


class ModelImportError(Exception):
    """Bad input to `import-model`: the message names the file, option or node and what was
    expected; the command exits with code 2 and writes nothing."""


@dataclass
class Affine:
    weight: np.ndarray  # [out, in]
    bias: np.ndarray  # [out]
    where: str


@dataclass
class Scale:
    a: np.ndarray  # scalar or [n]
    c: np.ndarray  # scalar or [n]
    where: str


@dataclass
class Act:
    name: str
    where: str


@dataclass
class ReadModel:
    """What a reader gives: the steps, the model's input and output widths when it declares
    them, a description, the model evaluated in float64 (x [batch, n_in] → [batch, n_out], in
    network units) to check the result against, and notes for the user."""

    steps: list
    n_in: int | None
    n_out: int | None
    kind: str
    evaluate: object
    notes: list[str] = field(default_factory=list)


@dataclass
class Layer:
    weight: np.ndarray  # [out, in] float64
    bias: np.ndarray  # [out] float64
    activation: str
    sources: list[str] = field(default_factory=list)  # the steps folded into this layer


def _as_affine(step, width: int) -> Affine:
    if isinstance(step, Affine):
        if step.weight.shape[1] != width:
            raise ModelImportError(f"{step.where} takes {step.weight.shape[1]} inputs, but {width} arrive there")
        return step
    for v in (step.a, step.c):
        if np.size(v) not in (1, width):
            raise ModelImportError(f"{step.where} applies {np.size(v)} per-feature values to {width} features")
    a = np.broadcast_to(np.asarray(step.a, dtype=np.float64).reshape(-1), (width,))
    c = np.broadcast_to(np.asarray(step.c, dtype=np.float64).reshape(-1), (width,))
    return Affine(np.diag(a), c.copy(), step.where)


def fold(steps: list, n_in: int) -> list[Layer]:
    """Folds the steps into layers L_i(h) = act_i(W_i h + b_i) taking `n_in` inputs.

    An activation without an affine step before it (at the start, or right after another
    activation) gets an identity weight; affine steps after the last activation become a
    final layer with the identity activation."""
    layers: list[Layer] = []
    w: np.ndarray | None = None
    b: np.ndarray | None = None
    sources: list[str] = []
    width = n_in
    for step in steps:
        if isinstance(step, Act):
            if step.name not in ACTIVATIONS:
                raise ModelImportError(f"{step.where}: activation '{step.name}' is not supported")
            if w is None:
                w, b, sources = np.eye(width), np.zeros(width), ["identity weight"]
            layers.append(Layer(w, b, step.name, sources + [step.where]))
            w, b, sources = None, None, []
            continue
        aff = _as_affine(step, width)
        if w is None:
            w, b = aff.weight.astype(np.float64), aff.bias.astype(np.float64)
        else:
            w, b = aff.weight @ w, aff.weight @ b + aff.bias
        sources.append(step.where)
        width = w.shape[0]
    if w is not None:
        layers.append(Layer(w, b, "identity", sources))
    if not layers:
        raise ModelImportError("the model has no layers (no Linear, Gemm or MatMul, no activation)")
    for layer in layers:
        if not (np.all(np.isfinite(layer.weight)) and np.all(np.isfinite(layer.bias))):
            raise ModelImportError(f"{', '.join(layer.sources)}: a weight or bias is not finite")
    return layers


def identify_activation(f, where: str) -> list:
    """Names the elementwise function `f` (numpy array → array of the same shape) as
    a·act(x) + d for one of the oracle activations, checked on a grid of points to 1e-6
    relative; returns the steps [Act, Scale] (or [Scale] when f is affine), or raises."""
    x = np.concatenate([np.linspace(-8.0, 8.0, 321), [-30.0, -15.0, 15.0, 30.0]])
    with np.errstate(all="ignore"):
        y = np.asarray(f(x.copy()), dtype=np.float64)
    if y.shape != x.shape or not np.all(np.isfinite(y)):
        raise ModelImportError(f"{where}: not a supported activation (it does not map every number to a finite number)")
    tol = 1e-6 * max(1.0, float(np.max(np.abs(y))))
    for name, act in ACTIVATIONS.items():
        basis = np.stack([act(x), np.ones_like(x)], axis=1)
        (a, d), *_ = np.linalg.lstsq(basis, y, rcond=None)
        if abs(a) > 1e-12 and np.max(np.abs(a * basis[:, 0] + d - y)) <= tol:
            # Constants exported in float32 (1/√2 in gelu) leave a, d a few ulps off 1, 0.
            a = 1.0 if abs(a - 1.0) < 1e-7 else float(a)
            d = 0.0 if abs(d) < 1e-7 * max(1.0, abs(a)) else float(d)
            if name == "identity":
                return [Scale(np.float64(a), np.float64(d), where)]
            steps: list = [Act(name, where)]
            if a != 1.0 or d != 0.0:
                steps.append(Scale(np.float64(a), np.float64(d), where))
            return steps
    names = ", ".join(ACTIVATIONS)
    raise ModelImportError(f"{where}: not a supported activation (supported: {names})")
