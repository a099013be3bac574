"""A whole `torch.nn.Sequential` saved with `torch.save(model)` → chain of steps (chain.py).

Accepted modules: Linear, BatchNorm1d with running statistics (folded as in eval mode),
ReLU, Tanh, Sigmoid, SiLU, GELU (exact form), Softplus (any beta; threshold ≥ 16, where the
linear cut-off differs from log(1 + e^x) by less than 1e-7), Identity, Dropout (no-op at
inference), Flatten over the feature axis, and nested Sequentials. Anything else is refused
with its position in the model.
"""

from __future__ import annotations

import numpy as np

import warnings

from .chain import Act, Affine, ModelImportError, ReadModel, Scale

_ACTS = {"ReLU": "relu", "Tanh": "tanh", "Sigmoid": "sigmoid", "SiLU": "silu"}


def _load(path: str):
    try:
        import torch
    except ImportError:
        raise ModelImportError(f"{path}: reading .pt files needs PyTorch (Debian: python3-torch); "
                               "or export the model to ONNX") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                return torch, torch.load(path, map_location="cpu", weights_only=False)
            except TypeError:  # a torch without the weights_only argument
                return torch, torch.load(path, map_location="cpu")
    except (AttributeError, ModuleNotFoundError) as e:  # the pickle names a class this process cannot find
        raise ModelImportError(f"{path}: holds an object of a class defined in your own code ({e}); save a "
                               "torch.nn.Sequential of standard modules, or export the model to ONNX") from None
    except Exception as e:
        raise ModelImportError(f"{path}: not a model saved with torch.save ({type(e).__name__}: {e})") from None


def _array(t) -> np.ndarray:
    return t.detach().to("cpu").double().numpy().copy()


def _steps(module, where: str, torch) -> list:
    nn = torch.nn
    kind = type(module).__name__
    label = f"{where} ({kind})"
    if type(module) is nn.Sequential:
        out = []
        for name, child in module.named_children():
            out += _steps(child, f"{where}[{name}]", torch)
        return out
    if type(module) is nn.Linear:
        w = _array(module.weight)
        b = _array(module.bias) if module.bias is not None else np.zeros(w.shape[0])
        return [Affine(w, b, label)]
    if type(module) is nn.BatchNorm1d:
        if not module.track_running_stats or module.running_mean is None:
            raise ModelImportError(f"{label}: uses the statistics of each batch (track_running_stats=False), so it "
                                   "cannot be folded into a layer")
        a = 1.0 / np.sqrt(_array(module.running_var) + module.eps)
        c = -_array(module.running_mean) * a
        if module.affine:
            g, beta = _array(module.weight), _array(module.bias)
            a, c = a * g, c * g + beta
        return [Scale(a, c, label)]
    if kind in _ACTS and type(module) is getattr(nn, kind):
        return [Act(_ACTS[kind], label)]
    if type(module) is nn.GELU:
        if getattr(module, "approximate", "none") != "none":
            raise ModelImportError(f"{label}: GELU(approximate='{module.approximate}') is not the exact gelu of the "
                                   "oracle file; use nn.GELU()")
        return [Act("gelu", label)]
    if type(module) is nn.Softplus:
        beta, threshold = float(module.beta), float(module.threshold)
        if threshold < 16.0:
            raise ModelImportError(f"{label}: threshold {threshold:g} makes it differ from log(1 + e^x) by more than "
                                   "1e-7; use threshold >= 16 (the default is 20)")
        if beta == 1.0:
            return [Act("softplus", label)]
        return [Scale(np.float64(beta), np.float64(0.0), label), Act("softplus", label),
                Scale(np.float64(1.0 / beta), np.float64(0.0), label)]
    if type(module) in (nn.Identity, nn.Dropout):
        return []
    if type(module) is nn.Flatten and module.start_dim == 1 and module.end_dim == -1:
        return []
    if kind.startswith("BatchNorm"):
        raise ModelImportError(f"{label}: only BatchNorm1d over [batch, features] can be folded into a layer")
    raise ModelImportError(f"{label}: module not supported (an oracle holds Linear layers, BatchNorm1d and the "
                           "activations ReLU, Tanh, Sigmoid, Softplus, SiLU, GELU)")


def read_torch(path: str) -> ReadModel:
    """Reads a .pt file; raises ModelImportError naming the module that cannot be represented."""
    torch, model = _load(path)
    if isinstance(model, dict):
        raise ModelImportError(f"{path}: holds a dict (a state_dict?), not a model; save the whole model with "
                               "torch.save(model), or export it to ONNX")
    if isinstance(model, torch.jit.ScriptModule):
        raise ModelImportError(f"{path}: a TorchScript module; save the nn.Sequential itself with torch.save(model), "
                               "or export it to ONNX")
    if not isinstance(model, torch.nn.Sequential):
        raise ModelImportError(f"{path}: holds a {type(model).__module__}.{type(model).__name__}, expected a "
                               "torch.nn.Sequential; export other models to ONNX (torch.onnx.export)")
    for name, m in model.named_modules():  # the most telling refusal first
        if type(m).__name__.startswith("Conv"):
            label = "model" + "".join(f"[{k}]" for k in name.split("."))
            raise ModelImportError(f"{path}: {label} ({type(m).__name__}): convolutions cannot be represented in an "
                                   "oracle file, which holds a chain of fully connected layers")
    steps = _steps(model, f"{path}: model", torch)
    n_in = n_out = None
    for s in steps:
        if isinstance(s, Affine) or (isinstance(s, Scale) and np.size(s.a) > 1):
            n_in = s.weight.shape[1] if isinstance(s, Affine) else np.size(s.a)
            break
    for s in reversed(steps):
        if isinstance(s, Affine) or (isinstance(s, Scale) and np.size(s.a) > 1):
            n_out = s.weight.shape[0] if isinstance(s, Affine) else np.size(s.a)
            break
    notes = []
    if any(m.training for m in model.modules()):
        notes.append(f"{path}: the model was saved in training mode; it is imported as in eval mode (BatchNorm "
                     "running statistics, no dropout)")
    return ReadModel(steps, n_in, n_out, "PyTorch nn.Sequential", lambda x: evaluate(model, x), notes)


def evaluate(model, x: np.ndarray) -> np.ndarray:
    """The model in float64 (a copy; the original is untouched) on x [batch, n_in], eval mode."""
    import copy

    import torch

    m = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        return m(torch.from_numpy(np.asarray(x, dtype=np.float64))).numpy()
