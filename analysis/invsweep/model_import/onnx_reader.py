"""ONNX graph → chain of steps (see chain.py), read with the `onnx` package.

Accepted: one graph input [batch, n_in] (or [n_in]), one output, and between them a chain of
Gemm, MatMul, Add/Sub/Mul/Div by a constant, BatchNormalization in inference mode, Relu, Tanh,
Sigmoid, Softplus, Identity, Dropout, and elementwise subgraphs with scalar constants that
compute one of the oracle activations (torch.onnx.export writes SiLU as Sigmoid + Mul and GELU
as Div, Erf, Add, Mul, Mul). Such subgraphs are recognised by evaluating them, not by their
shape, so any arrangement of the same function is accepted. Constants come from initializers,
Constant nodes and Identity / Transpose / Cast / elementwise nodes over constants.

`evaluate` runs the whole graph in float64 with numpy: the importer compares the folded oracle
with it before writing anything.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from math import erf

import numpy as np

from .chain import Act, Affine, ModelImportError, ReadModel, Scale, identify_activation

ACT_OPS = {"Relu": "relu", "Tanh": "tanh", "Sigmoid": "sigmoid", "Softplus": "softplus"}
PASS_OPS = {"Identity", "Dropout"}
_erf = np.vectorize(erf, otypes=[np.float64])


def _sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -z))


UNARY = {
    "Relu": lambda x: np.maximum(x, 0.0), "Tanh": np.tanh, "Sigmoid": _sigmoid,
    "Softplus": lambda x: np.logaddexp(0.0, x), "Erf": _erf, "Exp": np.exp, "Log": np.log,
    "Neg": np.negative, "Abs": np.abs, "Sqrt": np.sqrt, "Reciprocal": lambda x: 1.0 / x,
    "Identity": lambda x: x, "Dropout": lambda x: x, "Cast": lambda x: x,
}
BINARY = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide, "Pow": np.power,
          "Max": np.maximum, "Min": np.minimum}
ELEMENTWISE = set(UNARY) | set(BINARY)
KNOWN = ELEMENTWISE | {"Gemm", "MatMul", "BatchNormalization", "Constant", "Transpose"}
CONV_OPS = {"Conv", "ConvTranspose", "ConvInteger", "QLinearConv"}
FLOAT_TYPES = {1: "float32", 10: "float16", 11: "float64", 16: "bfloat16"}


def node_name(node, index: int) -> str:
    return f"node '{node.name or f'#{index}'}' ({node.op_type})"


class Graph:
    """The parsed graph: constants, the dynamic nodes in topological order, input, output."""

    def __init__(self, path: str):
        import onnx
        from onnx import numpy_helper

        self.path = path
        self._numpy_helper = numpy_helper
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = onnx.load(path)
        except Exception as e:  # protobuf DecodeError and friends
            raise ModelImportError(f"{path}: not a readable ONNX model ({type(e).__name__}: {e})") from None
        g = model.graph
        if len(g.node) == 0 or len(g.output) == 0:
            raise ModelImportError(f"{path}: not an ONNX model (no graph nodes or no graph output)")
        self.opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)
        self.producer = f"{model.producer_name} {model.producer_version}".strip()
        for o in model.opset_import:
            if o.domain not in ("", "ai.onnx"):
                raise ModelImportError(f"{path}: uses the operator set '{o.domain}'; only the standard ONNX operators "
                                       "are supported")
        self.const: dict[str, np.ndarray] = {}
        for init in g.initializer:
            self.const[init.name] = self._array(init, f"initializer '{init.name}'")
        inputs = [i for i in g.input if i.name not in self.const]
        if len(inputs) != 1:
            names = ", ".join(f"'{i.name}'" for i in inputs)
            raise ModelImportError(f"{path}: the graph has {len(inputs)} inputs ({names}); expected one input "
                                   "[batch, n_in]")
        if len(g.output) != 1:
            names = ", ".join(f"'{o.name}'" for o in g.output)
            raise ModelImportError(f"{path}: the graph has {len(g.output)} outputs ({names}); expected one output "
                                   "[batch, n_out]")
        self.input, self.output = inputs[0].name, g.output[0].name
        self.n_in = self._features(inputs[0], "input")
        self.n_out = self._features(g.output[0], "output")
        self.nodes = self._sorted(list(g.node))
        self._fold_constants()

    # -- construction ---------------------------------------------------------------------------

    def _array(self, tensor, what: str) -> np.ndarray:
        try:
            a = self._numpy_helper.to_array(tensor)
        except Exception as e:
            raise ModelImportError(f"{self.path}: {what}: cannot read its data ({e})") from None
        if a.dtype.kind not in "fiub":
            raise ModelImportError(f"{self.path}: {what} holds {a.dtype} values, expected numbers")
        return a.astype(np.float64) if a.dtype.kind == "f" else a

    def _features(self, value_info, what: str) -> int | None:
        t = value_info.type.tensor_type
        if value_info.type.WhichOneof("value") != "tensor_type":
            raise ModelImportError(f"{self.path}: graph {what} '{value_info.name}' is not a tensor")
        if t.elem_type and t.elem_type not in FLOAT_TYPES:
            raise ModelImportError(f"{self.path}: graph {what} '{value_info.name}' has element type {t.elem_type}; "
                                   "expected floating point")
        if not t.HasField("shape"):
            return None
        dims = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
        if len(dims) not in (1, 2):
            shape = "[" + ", ".join("?" if d is None else str(d) for d in dims) + "]"
            raise ModelImportError(f"{self.path}: graph {what} '{value_info.name}' has shape {shape}; expected "
                                   f"[batch, n_{what[:3]}] (export with an example input of shape [batch, n_in])")
        return dims[-1]

    def _sorted(self, nodes: list) -> list:
        """Nodes in topological order (ONNX requires it; this makes sure)."""
        produced = {o: i for i, n in enumerate(nodes) for o in n.output if o}
        deps = [{produced[x] for x in n.input if x in produced} for n in nodes]
        order, done, visiting = [], set(), set()

        def visit(i):
            if i in done:
                return
            if i in visiting:
                raise ModelImportError(f"{self.path}: {node_name(nodes[i], i)}: the graph has a cycle")
            visiting.add(i)
            for j in sorted(deps[i]):
                visit(j)
            visiting.discard(i)
            done.add(i)
            order.append(i)

        for i in range(len(nodes)):
            visit(i)
        self.index = {id(nodes[i]): i for i in range(len(nodes))}
        return [nodes[i] for i in order]

    def where(self, node) -> str:
        return f"{self.path}: {node_name(node, self.index[id(node)])}"

    def _fold_constants(self) -> None:
        dynamic = []
        for node in self.nodes:
            if node.op_type == "Constant":
                self.const[node.output[0]] = self._constant_value(node)
            elif node.input and all(x == "" or x in self.const for x in node.input):
                self.const[node.output[0]] = self._constant_node(node)
            else:
                dynamic.append(node)
        self.nodes = dynamic

    def _constant_value(self, node) -> np.ndarray:
        from onnx import helper

        for a in node.attribute:
            v = helper.get_attribute_value(a)
            if a.name == "value":
                return self._array(v, self.where(node))
            if a.name in ("value_float", "value_floats", "value_int", "value_ints"):
                return np.asarray(v, dtype=np.float64)
        raise ModelImportError(f"{self.where(node)}: a constant without a numeric value")

    def _constant_node(self, node) -> np.ndarray:
        args = [self.const[x] for x in node.input if x]
        op = node.op_type
        if op == "Transpose":
            perm = self.attr(node, "perm", None)
            return np.transpose(args[0], perm)
        if op in ELEMENTWISE:
            return self._elementwise(node, args)
        raise ModelImportError(f"{self.where(node)}: computes a constant with an unsupported operator")

    # -- evaluation -----------------------------------------------------------------------------

    @staticmethod
    def attr(node, name: str, default):
        from onnx import helper

        for a in node.attribute:
            if a.name == name:
                return helper.get_attribute_value(a)
        return default

    def _elementwise(self, node, args: list) -> np.ndarray:
        op = node.op_type
        with np.errstate(all="ignore"):
            if op in UNARY:
                return UNARY[op](args[0].astype(np.float64))
            if op in ("Max", "Min") and len(args) != 2:
                return BINARY[op].reduce(np.broadcast_arrays(*args))
            return BINARY[op](args[0].astype(np.float64), args[1].astype(np.float64))

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """The graph's output for x [batch, n_in], in float64."""
        env = dict(self.const)
        env[self.input] = np.asarray(x, dtype=np.float64)
        for node in self.nodes:
            args = [env[i] if i else None for i in node.input]
            env[node.output[0]] = self._apply(node, args)
        return env[self.output]

    def _apply(self, node, args: list) -> np.ndarray:
        op = node.op_type
        if op == "Gemm":
            a, b = args[0], args[1]
            if self.attr(node, "transA", 0):
                a = a.T
            if self.attr(node, "transB", 0):
                b = b.T
            y = self.attr(node, "alpha", 1.0) * (a @ b)
            if len(args) > 2 and args[2] is not None:
                y = y + self.attr(node, "beta", 1.0) * args[2]
            return y
        if op == "MatMul":
            return args[0] @ args[1]
        if op == "BatchNormalization":
            x, s, b, m, v = args[:5]
            return (x - m) / np.sqrt(v + self.attr(node, "epsilon", 1e-5)) * s + b
        if op in ELEMENTWISE:
            return self._elementwise(node, [a for a in args if a is not None])
        raise ModelImportError(f"{self.where(node)}: cannot evaluate this operator")


def _segments(graph: Graph) -> list[tuple[str, list]]:
    """Splits the dynamic nodes into segments between the tensors that every path from the
    input to the output goes through (a plain chain gives one node per segment; an
    elementwise subgraph such as Sigmoid + Mul gives one segment), each with the tensor it
    starts from."""
    consumers = defaultdict(int)
    for node in graph.nodes:
        for i in node.input:
            if i and i not in graph.const:
                consumers[i] += 1
    live = {graph.input: consumers[graph.input]}
    if live[graph.input] == 0:
        raise ModelImportError(f"{graph.path}: the graph input '{graph.input}' is not used")
    segments, current, start = [], [], graph.input
    for node in graph.nodes:
        dyn = [i for i in node.input if i and i not in graph.const]
        for i in dyn:
            if i not in live:
                raise ModelImportError(f"{graph.where(node)} reads '{i}', which is not computed from the graph input")
        for i in dyn:
            live[i] -= 1
            if live[i] == 0:
                del live[i]
        current.append(node)
        for o in node.output:
            if o and (consumers[o] or o == graph.output):
                live[o] = consumers[o]
        if len(live) == 1:
            segments.append((start, current))
            current, start = [], next(iter(live))
    if current or list(live) != [graph.output]:
        raise ModelImportError(f"{graph.path}: the graph output '{graph.output}' is not the end of one chain of "
                               "operators from the input")
    return segments


def _vector(graph: Graph, node, name: str, what: str) -> np.ndarray:
    v = graph.const[name]
    if v.ndim > 1 and any(d != 1 for d in v.shape[:-1]):
        raise ModelImportError(f"{graph.where(node)}: {what} has shape {list(v.shape)}; expected one value per feature")
    return v.reshape(-1).astype(np.float64)


def _single(graph: Graph, node) -> list:
    op = node.op_type
    where = graph.where(node)
    dyn = [k for k, i in enumerate(node.input) if i and i not in graph.const]
    if op == "Gemm":
        if dyn != [0] or graph.attr(node, "transA", 0):
            raise ModelImportError(f"{where}: the data must be its first operand, untransposed (transA = 0), "
                                   "the weight and bias constants")
        b = graph.const[node.input[1]]
        if b.ndim != 2:
            raise ModelImportError(f"{where}: the weight B has shape {list(b.shape)}, expected 2-D")
        w = (b if graph.attr(node, "transB", 0) else b.T) * graph.attr(node, "alpha", 1.0)
        bias = np.zeros(w.shape[0])
        if len(node.input) > 2 and node.input[2]:
            bias = np.broadcast_to(_vector(graph, node, node.input[2], "its bias C"), (w.shape[0],))
            bias = bias * graph.attr(node, "beta", 1.0)
        return [Affine(w.astype(np.float64), np.array(bias, dtype=np.float64), where)]
    if op == "MatMul":
        if dyn != [0] or graph.const[node.input[1]].ndim != 2:
            raise ModelImportError(f"{where}: expected data @ constant 2-D weight")
        w = graph.const[node.input[1]].T
        return [Affine(w.astype(np.float64), np.zeros(w.shape[0]), where)]
    if op == "BatchNormalization":
        used = [o for o in node.output[1:] if o]
        if dyn != [0] or used or graph.attr(node, "training_mode", 0):
            raise _batch_statistics(graph, node)
        s, b, m, v = (_vector(graph, node, node.input[k], f"input {k}") for k in range(1, 5))
        a = s / np.sqrt(v + graph.attr(node, "epsilon", 1e-5))
        return [Scale(a, b - m * a, where)]
    if op in ("Add", "Sub", "Mul", "Div") and len(dyn) == 1 and len(node.input) == 2:
        c = _vector(graph, node, node.input[1 - dyn[0]], "its constant")
        data_first = dyn[0] == 0
        if op == "Add":
            return [Scale(np.float64(1.0), c, where)]
        if op == "Sub":
            return [Scale(np.float64(1.0), -c, where)] if data_first else [Scale(np.float64(-1.0), c, where)]
        if op == "Mul":
            return [Scale(c, np.float64(0.0), where)]
        if data_first:
            return [Scale(1.0 / c, np.float64(0.0), where)]
    if op in ACT_OPS and dyn == [0]:
        return [Act(ACT_OPS[op], where)]
    if op in PASS_OPS and dyn == [0]:
        if op == "Dropout" and len(node.input) > 2 and node.input[2] and bool(np.any(graph.const[node.input[2]])):
            raise ModelImportError(f"{where}: dropout in training mode; export the model in eval mode")
        return []
    return None  # not a single known step: try it as an elementwise function


def _refuse(graph: Graph, segment: list) -> None:
    for node in segment:
        if node.op_type == "BatchNormalization":
            raise _batch_statistics(graph, node)
    if len(segment) > 1 and any(n.op_type in ("Gemm", "MatMul") for n in segment):
        names = ", ".join(f"'{n.name}' ({n.op_type})" for n in segment[:6]) + (" …" if len(segment) > 6 else "")
        raise ModelImportError(f"{graph.path}: the graph branches (nodes {names}); an oracle is one chain of "
                               "layers, without residual or parallel paths")
    raise _unsupported(graph, next((n for n in segment if n.op_type not in ELEMENTWISE), segment[0]))


def _elementwise_function(graph: Graph, segment: list, start: str):
    for node in segment:
        for i in node.input:
            if i in graph.const and np.size(graph.const[i]) > 1 and np.ptp(graph.const[i]) != 0:
                raise ModelImportError(f"{graph.where(node)}: a per-feature constant inside an elementwise subgraph")

    def f(x):
        env = {start: x}
        for node in segment:
            args = [env[i] if i in env else graph.const[i].reshape(-1)[0] for i in node.input if i]
            env[node.output[0]] = graph._elementwise(node, [np.asarray(a, dtype=np.float64) for a in args])
        return env[segment[-1].output[0]]

    return f


def _batch_statistics(graph: Graph, node) -> ModelImportError:
    return ModelImportError(f"{graph.where(node)}: uses the statistics of the batch (exported in training mode, or "
                            "a BatchNorm without running statistics), so it cannot be folded into a layer; export "
                            "the model in eval mode with running statistics")


def _unsupported(graph: Graph, node) -> ModelImportError:
    if node.op_type in CONV_OPS:
        return ModelImportError(f"{graph.where(node)}: convolutions cannot be represented in an oracle file, which "
                                "holds a chain of fully connected layers")
    return ModelImportError(f"{graph.where(node)}: operator not supported (an oracle holds Gemm / MatMul layers, "
                            "BatchNormalization, Add / Sub / Mul / Div by constants and the activations identity, "
                            "relu, tanh, sigmoid, softplus, silu, gelu)")


def read_onnx(path: str) -> ReadModel:
    """Reads an ONNX file; raises ModelImportError naming the node that cannot be represented."""
    graph = Graph(path)
    for node in graph.nodes:  # the most telling refusals first
        if node.op_type in CONV_OPS:
            raise _unsupported(graph, node)
        if node.op_type == "BatchNormalization" and any(i not in graph.const for i in node.input[1:5]):
            raise _batch_statistics(graph, node)
    unknown = [n for n in graph.nodes if n.op_type not in KNOWN]
    if unknown:
        raise _unsupported(graph, unknown[0])
    steps: list = []
    for start, segment in _segments(graph):
        out = None
        if len(segment) == 1:
            out = _single(graph, segment[0])
        if out is None:
            if not all(n.op_type in ELEMENTWISE for n in segment):
                _refuse(graph, segment)
            names = ", ".join(f"'{n.name}'" for n in segment)
            where = graph.where(segment[0]) if len(segment) == 1 else f"{graph.path}: nodes {names}"
            out = identify_activation(_elementwise_function(graph, segment, start), where)
        steps.extend(out)
    kind = f"ONNX, opset {graph.opset}" + (f", from {graph.producer}" if graph.producer else "")
    return ReadModel(steps, graph.n_in, graph.n_out, kind, graph.evaluate)
