"""Evaluate an invsweep oracle from its HDF5 file with numpy alone.

oracle(x) = (L_k ∘ … ∘ L_1)((x - mean_in) / scale_in) * scale_out + mean_out,
L_i(h) = act_i(W_i h + b_i), W_i stored [out, in] (PyTorch's nn.Linear convention).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from math import sqrt

import sys
import types

import h5py
import numpy as np

FORMAT = "invsweep-oracle"
FORMAT_VERSION = 1


def _erf(x: np.ndarray) -> np.ndarray:
    # numpy has no erf; math.erf element-wise is exact to the last bit of libm.
    from math import erf

    return np.vectorize(erf, otypes=[float])(x)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    e = np.exp(z[~pos])
    out[~pos] = e / (1.0 + e)
    return out


ACTIVATIONS = {
    "identity": lambda z: z,
    "relu": lambda z: np.maximum(z, 0.0),
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "softplus": lambda z: np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z))),
    "silu": lambda z: z * _sigmoid(z),
    "gelu": lambda z: 0.5 * z * (1.0 + _erf(z / sqrt(2.0))),
}


def _text(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


@dataclass
class Oracle:
    input_names: list[str]
    output_names: list[str]
    weights: list[np.ndarray]
    biases: list[np.ndarray]
    activations: list[str]
    in_mean: np.ndarray
    in_scale: np.ndarray
    out_mean: np.ndarray
    out_scale: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    metrics: dict = field(default_factory=dict)
    # Optional (None when the file has none): the training inputs' mean [n_in] and covariance
    # [n_in, n_in] (/oracle/input_stats), the training outputs' range [n_out] (/oracle/output_bounds).
    input_mean: np.ndarray | None = None
    input_cov: np.ndarray | None = None
    output_lo: np.ndarray | None = None
    output_hi: np.ndarray | None = None
    # An ensemble (/oracle/ensemble, docs/FILE_FORMATS.md): each member's own last layer,
    # [K, n_out, h/K] and [K, n_out]; None for a single network.
    member_weights: np.ndarray | None = None
    member_biases: np.ndarray | None = None

    @classmethod
    def from_group(cls, g: h5py.Group) -> "Oracle":
        if _text(g.attrs.get("format", "")) != FORMAT:
            raise ValueError(f"{g.file.filename}:{g.name}: not an invsweep oracle")
        if int(g.attrs["format_version"]) != FORMAT_VERSION:
            raise ValueError(f"{g.file.filename}: oracle format_version {g.attrs['format_version']} unsupported")
        layers = g["layers"]
        n = len(layers)
        weights = [np.asarray(layers[str(i)]["weight"], dtype=np.float64) for i in range(n)]
        biases = [np.asarray(layers[str(i)]["bias"], dtype=np.float64) for i in range(n)]
        acts = [_text(layers[str(i)].attrs["activation"]) for i in range(n)]
        metrics = dict(g["metrics"].attrs) if "metrics" in g else {}

        def optional(path):
            return np.asarray(g[path], dtype=np.float64) if path in g else None
        return cls(
            input_names=[_text(s) for s in g.attrs["input_names"]],
            output_names=[_text(s) for s in g.attrs["output_names"]],
            weights=weights,
            biases=biases,
            activations=acts,
            in_mean=np.asarray(g["input_scaler/mean"], dtype=np.float64),
            in_scale=np.asarray(g["input_scaler/scale"], dtype=np.float64),
            out_mean=np.asarray(g["output_scaler/mean"], dtype=np.float64),
            out_scale=np.asarray(g["output_scaler/scale"], dtype=np.float64),
            lo=np.asarray(g["input_bounds/lo"], dtype=np.float64),
            hi=np.asarray(g["input_bounds/hi"], dtype=np.float64),
            metrics=metrics,
            input_mean=optional("input_stats/mean"),
            input_cov=optional("input_stats/cov"),
            output_lo=optional("output_bounds/lo"),
            output_hi=optional("output_bounds/hi"),
            member_weights=np.asarray(g["ensemble/weight"], dtype=np.float64) if "ensemble" in g else None,
            member_biases=np.asarray(g["ensemble/bias"], dtype=np.float64) if "ensemble" in g else None,
        )

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """x: [..., n_in] in input units → [..., n_out] in output units."""
        x = np.asarray(x, dtype=np.float64)
        h = (x - self.in_mean) / self.in_scale
        for w, b, act in zip(self.weights, self.biases, self.activations):
            h = ACTIVATIONS[act](h @ w.T + b)
        return h * self.out_scale + self.out_mean

    def fast(self, x: np.ndarray) -> np.ndarray:
        """`self(x)` in float32 arithmetic: outputs within about 1e-6 of their scale, several
        times faster where numpy has no optimized BLAS (Debian's default is the reference one),
        for estimates that evaluate the oracle on many points (Sobol' indices)."""
        h = ((np.asarray(x, dtype=np.float64) - self.in_mean) / self.in_scale).astype(np.float32)
        for w, b, act in zip(self._weights32, self._biases32, self.activations):
            # numpy's own float32 loops beat the reference BLAS except for short rows.
            h = h @ w.T if w.shape[1] < 16 else np.einsum("ij,kj->ik", h.reshape(-1, w.shape[1]), w).reshape(
                *h.shape[:-1], w.shape[0])
            h += b
            h = ACTIVATIONS[act](h)
        return h.astype(np.float64) * self.out_scale + self.out_mean

    @functools.cached_property
    def _weights32(self) -> list[np.ndarray]:
        return [np.ascontiguousarray(w, dtype=np.float32) for w in self.weights]

    @functools.cached_property
    def _biases32(self) -> list[np.ndarray]:
        return [np.asarray(b, dtype=np.float32) for b in self.biases]

    @property
    def n_members(self) -> int:
        """K for an ensemble, 0 for a single network."""
        return 0 if self.member_weights is None else len(self.member_weights)

    def members(self, x: np.ndarray) -> np.ndarray:
        """An ensemble's members, each on its own: x [..., n_in] → [K, ..., n_out] in output
        units (member k: its block of the last hidden layer through its own last layer). Their
        mean is `self(x)`; their std over axis 0 is what a results file's /spread holds."""
        if self.member_weights is None:
            raise ValueError("this oracle is a single network, not an ensemble")
        h = (np.asarray(x, dtype=np.float64) - self.in_mean) / self.in_scale
        for w, b, act in zip(self.weights[:-1], self.biases[:-1], self.activations[:-1]):
            h = ACTIVATIONS[act](h @ w.T + b)
        width = h.shape[-1] // self.n_members
        return np.stack([(h[..., k * width:(k + 1) * width] @ w.T + b) * self.out_scale + self.out_mean
                         for k, (w, b) in enumerate(zip(self.member_weights, self.member_biases))])


def load_oracle(path_or_group) -> Oracle:
    """Reads the /oracle group of an oracle or results file (a path or an open h5py group)."""
    if isinstance(path_or_group, h5py.Group):
        return Oracle.from_group(path_or_group)
    with h5py.File(path_or_group, "r") as f:
        return Oracle.from_group(f["oracle"])


class _CallableModule(types.ModuleType):
    """`invsweep.oracle(path)` is `load_oracle(path)`; the module stays importable as before
    (`from invsweep.oracle import load_oracle`)."""

    def __call__(self, path_or_group) -> Oracle:
        return load_oracle(path_or_group)


sys.modules[__name__].__class__ = _CallableModule
