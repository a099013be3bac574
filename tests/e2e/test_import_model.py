"""`python3 -m invsweep import-model`: PyTorch and ONNX models → oracle files.

Round trips: random torch models (several depths and widths, every activation, BatchNorm,
scalers) saved as .pt and exported to ONNX become oracle files whose predictions — by the C++
binary (`invsweep predict`) and by analysis/oracle.py — agree with the torch model evaluated in
float64. Refusals: everything that cannot be represented, and every bad option, exits 2 with a
message naming the culprit and leaves the directory untouched. Last, the "bring your own
model" example of the README (jobs/byom/run.sh) runs as written.
"""

import copy
import io
import os
import pickle
import subprocess
import warnings
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import h5py
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
nn = torch.nn

from conftest import ROOT, snapshot  # noqa: E402

import invsweep
from invsweep.__main__ import main as analysis_main
from invsweep.oracle import load_oracle

TOLERANCE = 1e-5  # |y - y_torch| <= TOLERANCE * max(|y_torch|, output scale), per value
PYTHON = "/usr/bin/python3"


def importer(*args) -> tuple[int, str, str]:
    """Runs the command in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            rc = analysis_main(["import-model", *map(str, args)])
        except SystemExit as e:  # argparse
            rc = e.code
    return rc, out.getvalue(), err.getvalue()


def importer_process(*args, cwd=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(Path(invsweep.__file__).parents[1]))  # the package under test
    return subprocess.run([PYTHON, "-m", "invsweep", "import-model", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300)


def export_onnx(model, path: Path, n_in: int, opset=13, one_row=False, fixed_batch=False, **kw):
    example = torch.randn(n_in) if one_row else torch.randn(5, n_in)
    dynamic = None if one_row or fixed_batch else {"x": {0: "batch"}, "y": {0: "batch"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, example, str(path), input_names=["x"], output_names=["y"], opset_version=opset,
                          dynamic_axes=dynamic, **kw)


def randomize_batchnorms(model, gen):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=gen) * 2 - 1)
            m.running_var.copy_(torch.rand(n, generator=gen) * 1.5 + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=gen) * 3 - 1.5)
            m.bias.data.copy_(torch.rand(n, generator=gen) - 0.5)


def mlp(sizes, act=None, bn=False):
    mods = []
    for i in range(len(sizes) - 1):
        mods.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            if bn:
                mods.append(nn.BatchNorm1d(sizes[i + 1]))
            mods.append(act())
    return nn.Sequential(*mods)


def odd_model():
    """Everything at once: BatchNorm before and after activations, a Linear without bias,
    Softplus with beta, Dropout, Identity, a nested Sequential, two activations in a row."""
    return nn.Sequential(
        nn.Linear(4, 12), nn.BatchNorm1d(12), nn.SiLU(),
        nn.Linear(12, 10), nn.GELU(), nn.Dropout(0.3),
        nn.Linear(10, 10, bias=False), nn.Softplus(beta=2.0),
        nn.Sequential(nn.Linear(10, 8), nn.Tanh(), nn.Identity()),
        nn.BatchNorm1d(8), nn.Linear(8, 6), nn.Sigmoid(),
        nn.Linear(6, 6), nn.ReLU(), nn.Tanh(),
        nn.Linear(6, 3),
    )


# name: (model factory, n_in, scaler kind)
CASES = {
    "linear-4-2": (lambda: mlp([4, 2]), 4, "none"),
    "relu-3-16-1": (lambda: mlp([3, 16, 1], nn.ReLU), 3, "numbers"),
    "tanh-2-8-8-1": (lambda: mlp([2, 8, 8, 1], nn.Tanh), 2, "standard"),
    "sigmoid-5-12-3": (lambda: mlp([5, 12, 3], nn.Sigmoid), 5, "minmax"),
    "softplus-3-10-10-10-2": (lambda: mlp([3, 10, 10, 10, 2], nn.Softplus), 3, "none"),
    "silu-bn-4-32-32-1": (lambda: mlp([4, 32, 32, 1], nn.SiLU, bn=True), 4, "standard"),
    "gelu-bn-3-7-7-2": (lambda: mlp([3, 7, 7, 2], nn.GELU, bn=True), 3, "numbers"),
    "relu-bn-6-64-64-64-64-4": (lambda: mlp([6, 64, 64, 64, 64, 4], nn.ReLU, bn=True), 6, "standard"),
    # untrained BatchNorm: the exporter shares equal initializers through Identity nodes
    "tanh-bn-untrained-3-5-1": (lambda: mlp([3, 5, 1], nn.Tanh, bn=True), 3, "none"),
    "mixed-odd": (odd_model, 4, "standard"),
}


def scalers(kind, n_in, n_out, work: Path, rng):
    """(--input-scaler, --output-scaler arguments, x mean, x scale, y mean, y scale)."""
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    if kind == "none":
        return [], np.zeros(n_in), np.ones(n_in), np.zeros(n_out), np.ones(n_out)
    x_data = rng.normal(rng.uniform(-50, 50, n_in), rng.uniform(0.1, 30, n_in), size=(200, n_in))
    y_data = rng.normal(rng.uniform(-1000, 1000, n_out), rng.uniform(0.01, 500, n_out), size=(200, n_out))
    if kind == "numbers":
        xm, xsc, ym, ysc = x_data.mean(0), x_data.std(0), y_data.mean(0), y_data.std(0)
        spec = lambda m, s: "mean=" + ",".join(map(repr, m)) + ":scale=" + ",".join(map(repr, s))  # noqa: E731
        return ["--input-scaler", spec(xm, xsc), "--output-scaler", spec(ym, ysc)], xm, xsc, ym, ysc
    cls = StandardScaler if kind == "standard" else MinMaxScaler
    xs, ys = cls().fit(x_data), cls().fit(y_data)
    for name, s in (("x_scaler.pkl", xs), ("y_scaler.pkl", ys)):
        with open(work / name, "wb") as f:
            pickle.dump(s, f)
    args = ["--input-scaler", work / "x_scaler.pkl", "--output-scaler", work / "y_scaler.pkl"]
    if kind == "standard":
        return args, xs.mean_, xs.scale_, ys.mean_, ys.scale_
    # MinMaxScaler: x_scaled = x * scale_ + min_, inverse u -> (u - min_) / scale_
    return args, -xs.min_ / xs.scale_, 1 / xs.scale_, -ys.min_ / ys.scale_, 1 / ys.scale_


def predict_cpp(run, oracle: Path, x: np.ndarray, names, work: Path) -> np.ndarray:
    data, out = work / "x.csv", work / f"{oracle.stem}_pred.csv"
    np.savetxt(data, x, delimiter=",", header=",".join(names), comments="", fmt="%.17g")
    run("predict", "--oracle", oracle, "--data", data, "-o", out, "--force")
    table = np.genfromtxt(out, delimiter=",", names=True)
    return np.stack([table[n] for n in table.dtype.names[len(names):]], axis=1)


def discrepancy(y, ref, out_scale) -> float:
    return float(np.max(np.abs(y - ref) / np.maximum(np.abs(ref), out_scale)))


@pytest.mark.parametrize("case", list(CASES))
def test_round_trip(case, run, tmp_path):
    factory, n_in, scaler_kind = CASES[case]
    seed = sum(map(ord, case))
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = factory()
    if "untrained" not in case:
        with torch.no_grad():
            randomize_batchnorms(model, gen)
    model.eval()
    n_out = [m for m in model.modules() if isinstance(m, nn.Linear)][-1].out_features
    rng = np.random.default_rng(seed)
    args, xm, xsc, ym, ysc = scalers(scaler_kind, n_in, n_out, tmp_path, rng)
    inputs = [f"x{i}" for i in range(n_in)]
    outputs = [f"y{i}" for i in range(n_out)]

    # The reference: the torch model in float64, with the scalers around it.
    x = xm + xsc * rng.normal(0.0, 1.5, size=(300, n_in))
    with torch.no_grad():
        u = copy.deepcopy(model).double()(torch.from_numpy((x - xm) / xsc)).numpy()
    y_ref = u * ysc + ym

    torch.save(model, tmp_path / "model.pt")
    files = {"pt": tmp_path / "model.pt"}
    export_onnx(model, tmp_path / "model.onnx", n_in)
    files["onnx13"] = tmp_path / "model.onnx"
    if case == "mixed-odd":  # an older opset, without constant folding
        export_onnx(model, tmp_path / "model9.onnx", n_in, opset=9, do_constant_folding=False)
        files["onnx9-nofold"] = tmp_path / "model9.onnx"
    if case.startswith("softplus"):  # a one-row example input: MatMul + Add instead of Gemm
        export_onnx(model, tmp_path / "model_row.onnx", n_in, one_row=True)
        files["onnx-one-row"] = tmp_path / "model_row.onnx"

    lines = []
    for kind, path in files.items():
        oracle = tmp_path / f"oracle_{kind}.h5"
        rc, out, err = importer(path, "--inputs", ",".join(inputs), "--outputs", ",".join(outputs), *args,
                                "--out", oracle)
        assert rc == 0, f"{kind}: exit {rc}\n{out}\n{err}"
        assert "unbounded" in err  # no bounds given: said so
        o = load_oracle(oracle)
        assert np.all(np.isneginf(o.lo)) and np.all(np.isposinf(o.hi))
        y_np = o(x)
        y_cpp = predict_cpp(run, oracle, x, inputs, tmp_path)
        d_np, d_cpp = discrepancy(y_np, y_ref, ysc), discrepancy(y_cpp, y_ref, ysc)
        lines.append(f"{case:<26} {kind:<13} C++ vs torch {d_cpp:.2e}   numpy vs torch {d_np:.2e}")
        assert d_cpp <= TOLERANCE and d_np <= TOLERANCE, lines[-1]
    print("\n" + "\n".join(lines))


def test_hand_written_onnx_graph(run, tmp_path):
    """Forms torch does not write but ONNX allows: Gemm with transB = 0, alpha and beta; a
    weight behind a Transpose node; bias + data (constant first); Mul by a Constant node; Sub
    and Div by constants; SiLU as x * Sigmoid(x) with the operands swapped."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(11)
    w1, c1 = rng.normal(size=(3, 4)), rng.normal(size=4)
    w2, b2 = rng.normal(size=(5, 4)), rng.normal(size=5)
    shift, w3, b3 = rng.normal(size=5), rng.normal(size=(1, 5)), rng.normal(size=1)
    init = [numpy_helper.from_array(a.astype(np.float32), n) for a, n in
            ((w1, "w1"), (c1, "c1"), (w2, "w2"), (b2, "b2"), (shift, "shift"), (w3, "w3"), (b3, "b3"))]
    three = helper.make_tensor("three", TensorProto.FLOAT, [], [3.0])
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "c1"], ["g1"], name="gemm1", alpha=0.5, beta=2.0, transB=0),
        helper.make_node("Relu", ["g1"], ["r1"], name="relu1"),
        helper.make_node("Transpose", ["w2"], ["w2t"], name="w2_transposed", perm=[1, 0]),
        helper.make_node("MatMul", ["r1", "w2t"], ["m2"], name="matmul2"),
        helper.make_node("Add", ["b2", "m2"], ["a2"], name="bias2"),
        helper.make_node("Constant", [], ["k3"], name="const3", value=three),
        helper.make_node("Mul", ["a2", "k3"], ["s2"], name="times3"),
        helper.make_node("Sub", ["s2", "shift"], ["d2"], name="minus_shift"),
        helper.make_node("Div", ["d2", "k3"], ["q2"], name="over3"),
        helper.make_node("Sigmoid", ["q2"], ["sg"], name="sig"),
        helper.make_node("Mul", ["sg", "q2"], ["h2"], name="silu_mul"),
        helper.make_node("Gemm", ["h2", "w3", "b3"], ["y"], name="gemm3", transB=1),
    ]
    graph = helper.make_graph(nodes, "hand", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])], init)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), tmp_path / "hand.onnx")

    f32 = lambda a: a.astype(np.float32).astype(np.float64)  # noqa: E731  the stored weights
    x = rng.normal(size=(200, 3))
    h = np.maximum(0.5 * x @ f32(w1) + 2.0 * f32(c1), 0.0)
    h = ((h @ f32(w2).T + f32(b2)) * 3.0 - f32(shift)) / 3.0
    h = h / (1.0 + np.exp(-h))
    y_ref = h @ f32(w3).T + f32(b3)

    rc, out, err = importer(tmp_path / "hand.onnx", "--inputs", "a,b,c", "--outputs", "y", "--out", tmp_path / "o.h5")
    assert rc == 0, err
    assert "relu, silu, identity" in out
    d_np = discrepancy(load_oracle(tmp_path / "o.h5")(x), y_ref, 1.0)
    d_cpp = discrepancy(predict_cpp(run, tmp_path / "o.h5", x, ["a", "b", "c"], tmp_path), y_ref, 1.0)
    print(f"\nhand-written ONNX graph     C++ vs numpy reference {d_cpp:.2e}   numpy {d_np:.2e}")
    assert d_np <= TOLERANCE and d_cpp <= TOLERANCE


def test_same_structure_as_train_oracle(run, tmp_path):
    """Every path, dtype and attribute of an imported file is one that `train-oracle` writes
    (apart from the optional metrics it records and the import's `source` note)."""
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, size=(60, 2))
    np.savetxt(tmp_path / "d.csv", np.hstack([x, x.sum(1, keepdims=True)]), delimiter=",", header="a,b,y",
               comments="")
    run("train-oracle", "--data", tmp_path / "d.csv", "--inputs", "a,b", "--outputs", "y", "--hidden", "4",
        "--epochs", "2", "--quiet", "--out", tmp_path / "trained.h5")
    torch.manual_seed(0)
    torch.save(mlp([2, 4, 1], nn.Tanh).eval(), tmp_path / "m.pt")
    rc, _, err = importer(tmp_path / "m.pt", "--inputs", "a,b", "--outputs", "y", "--data", tmp_path / "d.csv",
                          "--out", tmp_path / "imported.h5")
    assert rc == 0, err

    def layout(path):
        items = {}

        def visit(name, obj):
            kind = f"dataset {obj.dtype} ndim {obj.ndim}" if isinstance(obj, h5py.Dataset) else "group"
            items[name] = kind
            for a, v in obj.attrs.items():
                t = obj.attrs.get_id(a).get_type()
                items[f"{name}@{a}"] = (type(t).__name__, getattr(t, "get_cset", lambda: None)(),
                                        obj.attrs.get_id(a).shape)

        with h5py.File(path, "r") as f:
            f.visititems(visit)
        return items

    trained, imported = layout(tmp_path / "trained.h5"), layout(tmp_path / "imported.h5")
    extra = {k for k in imported if k not in trained}
    missing = {k for k in trained if k not in imported and not k.startswith("oracle/metrics")}
    assert extra == {"oracle@source"} and not missing, (extra, missing)
    for k in imported.keys() & trained.keys():
        assert imported[k] == trained[k], (k, imported[k], trained[k])
    o = load_oracle(tmp_path / "imported.h5")
    assert np.allclose(o.lo, x.min(0)) and np.allclose(o.hi, x.max(0))


def test_data_statistics(tmp_path):
    """--data: the stored mean and covariance are numpy's (ddof 1) of the CSV's input columns,
    matched by name whatever their order and with other columns ignored; the output range and
    the input bounds are the CSV's; the numpy oracle exposes them."""
    rng = np.random.default_rng(7)
    x = rng.multivariate_normal([1.0, -2.0, 5.0], [[2.0, 0.8, 0.1], [0.8, 1.0, -0.3], [0.1, -0.3, 0.5]], size=150)
    y = rng.normal(size=(150, 2)) * [3.0, 0.1]
    # columns in another order than --inputs, with an unrelated column
    np.savetxt(tmp_path / "d.csv", np.column_stack([y[:, 1], x[:, 2], rng.normal(size=150), x[:, 0], y[:, 0],
                                                    x[:, 1]]),
               delimiter=",", header="y2,c,other,a,y1,b", comments="", fmt="%.17g")
    torch.manual_seed(2)
    torch.save(mlp([3, 5, 2], nn.Tanh).eval(), tmp_path / "m.pt")
    out = tmp_path / "o.h5"
    rc, stdout, err = importer(tmp_path / "m.pt", "--inputs", "a,b,c", "--outputs", "y1,y2", "--data",
                               tmp_path / "d.csv", "--out", out)
    assert rc == 0, err
    assert "150 rows" in stdout
    with h5py.File(out, "r") as f:
        np.testing.assert_allclose(f["oracle/input_stats/mean"][()], x.mean(axis=0), rtol=1e-13)
        np.testing.assert_allclose(f["oracle/input_stats/cov"][()], np.cov(x, rowvar=False), rtol=1e-12)
        assert list(f["oracle/output_bounds/lo"][()]) == list(y.min(axis=0))
        assert list(f["oracle/output_bounds/hi"][()]) == list(y.max(axis=0))
        # The envelope: the largest Mahalanobis distance of a row, with numpy's inverse.
        d = x - x.mean(axis=0)
        envelope = np.sqrt(np.einsum("ij,jk,ik->i", d, np.linalg.inv(np.cov(x, rowvar=False)), d)).max()
        np.testing.assert_allclose(f["oracle/input_stats"].attrs["max_distance"], [envelope], rtol=1e-9)
    o = invsweep.oracle(out)
    np.testing.assert_allclose(o.input_cov, np.cov(x, rowvar=False), rtol=1e-12)
    np.testing.assert_allclose(o.input_mean, x.mean(axis=0), rtol=1e-13)
    assert list(o.output_lo) == list(y.min(axis=0)) and list(o.output_hi) == list(y.max(axis=0))
    assert list(o.lo) == list(x.min(axis=0)) and list(o.hi) == list(x.max(axis=0))
    # Without --data none of it exists.
    rc, _, err = importer(tmp_path / "m.pt", "--inputs", "a,b,c", "--outputs", "y1,y2", "--out", tmp_path / "n.h5")
    assert rc == 0, err
    o = invsweep.oracle(tmp_path / "n.h5")
    assert o.input_mean is None and o.input_cov is None and o.output_lo is None and o.output_hi is None


def test_bounds_option_and_force(run, tmp_path):
    torch.manual_seed(1)
    torch.save(mlp([3, 5, 1], nn.ReLU).eval(), tmp_path / "m.pt")
    out = tmp_path / "o.h5"
    rc, _, err = importer(tmp_path / "m.pt", "--inputs", "p,q,r", "--outputs", "y", "--bounds", "p=0:10, q=-1.5:",
                          "--out", out)
    assert rc == 0, err
    assert "no bounds given for r" in err
    o = load_oracle(out)
    assert list(o.lo[:2]) == [0.0, -1.5] and np.isneginf(o.lo[2])
    assert o.hi[0] == 10.0 and np.isposinf(o.hi[1]) and np.isposinf(o.hi[2])
    run("predict", "--oracle", out, "--data", _csv(tmp_path / "x.csv", "p,q,r", "1,2,3"))
    before = out.read_bytes()
    rc, _, err = importer(tmp_path / "m.pt", "--inputs", "p,q,r", "--outputs", "y", "--bounds", "p=0:1",
                          "--out", out, "--force")
    assert rc == 0, err
    assert out.read_bytes() != before and load_oracle(out).hi[0] == 1.0


def test_command_line_process(tmp_path):
    """The real command in its own process: exit codes 0 and 2, output on the right streams."""
    torch.manual_seed(2)
    model = mlp([2, 6, 1], nn.SiLU).eval()
    export_onnx(model, tmp_path / "m.onnx", 2)
    p = importer_process(tmp_path / "m.onnx", "--inputs", "a,b", "--outputs", "y", "--out", tmp_path / "o.h5")
    assert p.returncode == 0, p.stderr
    assert "wrote" in p.stdout and "note:" in p.stderr and (tmp_path / "o.h5").exists()
    p = importer_process(tmp_path / "m.onnx", "--inputs", "a,b", "--outputs", "y", "--out", tmp_path / "o.h5")
    assert p.returncode == 2 and "file exists" in p.stderr and p.stdout == ""


# ---- refusals --------------------------------------------------------------------------------------

class Res(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(3, 3), nn.Linear(3, 1)

    def forward(self, x):
        return self.b(torch.relu(self.a(x)) + x)


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c, self.l = nn.Conv1d(1, 2, 2), nn.Linear(4, 1)

    def forward(self, x):
        return self.l(self.c(x.unsqueeze(1)).flatten(1))


def _csv(path: Path, header: str, *rows: str) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    """Models and files that must be refused, made once."""
    d = tmp_path_factory.mktemp("bad")
    torch.manual_seed(0)
    ok = mlp([3, 4, 1], nn.ReLU).eval()
    torch.save(ok, d / "ok.pt")
    export_onnx(ok, d / "ok.onnx", 3)
    export_onnx(ConvNet().eval(), d / "conv.onnx", 3)
    torch.save(nn.Sequential(nn.Linear(3, 3), nn.Unflatten(1, (1, 3)), nn.Conv1d(1, 1, 1)), d / "conv.pt")
    export_onnx(Res().eval(), d / "branch.onnx", 3)
    train_bn = mlp([3, 4, 1], nn.ReLU, bn=True).train()
    export_onnx(train_bn, d / "bn_training.onnx", 3, opset=14, training=torch.onnx.TrainingMode.TRAINING)
    no_stats = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4, track_running_stats=False), nn.ReLU(),
                             nn.Linear(4, 1)).eval()
    torch.save(no_stats, d / "bn_batch_stats.pt")
    export_onnx(no_stats, d / "bn_batch_stats.onnx", 3, fixed_batch=True)
    leaky = nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(), nn.Linear(4, 1)).eval()
    torch.save(leaky, d / "leaky.pt")
    export_onnx(leaky, d / "leaky.onnx", 3)
    gelu_tanh = nn.Sequential(nn.Linear(3, 4), nn.GELU(approximate="tanh"), nn.Linear(4, 1)).eval()
    torch.save(gelu_tanh, d / "gelu_tanh.pt")
    export_onnx(gelu_tanh, d / "gelu_tanh.onnx", 3)
    torch.save(ok.state_dict(), d / "state_dict.pt")
    torch.save(Res(), d / "custom.pt")
    torch.jit.save(torch.jit.script(ok), d / "script.pt")
    (d / "text.onnx").write_text("not a model\n")
    (d / "text.pt").write_text("not a model\n")
    (d / "model.h5").write_bytes(b"\x89HDF\r\n\x1a\n")
    with open(d / "not_a_scaler.pkl", "wb") as f:
        pickle.dump({"mean": [0, 0, 0]}, f)
    from sklearn.preprocessing import StandardScaler

    with open(d / "two_features.pkl", "wb") as f:
        pickle.dump(StandardScaler().fit(np.random.default_rng(0).normal(size=(10, 2))), f)
    with open(d / "unfitted.pkl", "wb") as f:
        pickle.dump(StandardScaler(), f)
    _csv(d / "data.csv", "a,b,c,y", "1,2,3,4", "2,3,4,5")
    _csv(d / "typo.csv", "a,b,cc,y", "1,2,3,4")
    _csv(d / "no_output.csv", "a,b,c,why", "1,2,3,4", "2,3,4,5")
    _csv(d / "one_row.csv", "a,b,c,y", "1,2,3,4")
    _csv(d / "nan.csv", "a,b,c,y", "1,2,3,4", "1,nan,3,4")
    _csv(d / "text.csv", "a,b,c,y", "1,2,3,4", "1,2,3,4", "1,2,three,4")
    _csv(d / "empty.csv", "a,b,c,y")
    import onnx
    from onnx import TensorProto, helper

    x1 = helper.make_tensor_value_info("x1", TensorProto.FLOAT, [None, 3])
    x2 = helper.make_tensor_value_info("x2", TensorProto.FLOAT, [None, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])
    g = helper.make_graph([helper.make_node("Add", ["x1", "x2"], ["y"], name="sum")], "two", [x1, x2], [y])
    onnx.save(helper.make_model(g), d / "two_inputs.onnx")
    return d


REFUSALS = {
    # name: (model, extra arguments, fragments of the message)
    "conv onnx": ("conv.onnx", [], ["conv.onnx", "'/c/Conv' (Conv)", "convolution"]),
    "conv pt": ("conv.pt", [], ["conv.pt", "model[2] (Conv1d)", "convolution"]),
    "branch onnx": ("branch.onnx", [], ["branch.onnx", "branches", "(Gemm)", "(Add)"]),
    "batchnorm training onnx": ("bn_training.onnx", [], ["(BatchNormalization)", "cannot be folded"]),
    "batchnorm batch stats onnx": ("bn_batch_stats.onnx", [], ["(BatchNormalization)", "cannot be folded"]),
    "batchnorm batch stats pt": ("bn_batch_stats.pt", [], ["model[1] (BatchNorm1d)", "cannot be folded"]),
    "unknown op onnx": ("leaky.onnx", [], ["leaky.onnx", "(LeakyRelu)", "not supported"]),
    "unknown module pt": ("leaky.pt", [], ["model[1] (LeakyReLU)", "not supported"]),
    "gelu tanh onnx": ("gelu_tanh.onnx", [], ["gelu_tanh.onnx", "'/1/Tanh'", "not a supported activation"]),
    "gelu tanh pt": ("gelu_tanh.pt", [], ["model[1] (GELU)", "approximate='tanh'"]),
    "state dict": ("state_dict.pt", [], ["state_dict.pt", "state_dict"]),
    "torchscript": ("script.pt", [], ["script.pt", "TorchScript"]),
    "text as onnx": ("text.onnx", [], ["text.onnx", "not a readable ONNX model"]),
    "text as pt": ("text.pt", [], ["text.pt", "not a model saved with torch.save"]),
    "unknown extension": ("model.h5", [], ["model.h5", "expected .onnx"]),
    "missing model": ("nothere.onnx", [], ["nothere.onnx", "no such file"]),
    "two graph inputs": ("two_inputs.onnx", [], ["two_inputs.onnx", "2 inputs", "'x1'"]),
    "too few inputs": ("ok.onnx", ["--inputs", "a,b"], ["--inputs", "2 features", "takes 3 inputs"]),
    "too many inputs pt": ("ok.pt", ["--inputs", "a,b,c,d"], ["--inputs", "4 features", "takes 3 inputs"]),
    "too many outputs": ("ok.onnx", ["--outputs", "y,z"], ["--outputs", "2 outputs", "gives 1"]),
    "duplicate input names": ("ok.onnx", ["--inputs", "a,b,a"], ["--inputs", "'a' appears twice"]),
    "scaler numbers count": ("ok.onnx", ["--input-scaler", "mean=1,2:scale=1,1,1"],
                             ["--input-scaler mean", "2 values, expected 3"]),
    "scaler zero scale": ("ok.onnx", ["--output-scaler", "scale=0"], ["--output-scaler", "scale of 'y'", "> 0"]),
    "scaler syntax": ("ok.onnx", ["--input-scaler", "mean=1,2,x"], ["--input-scaler mean", "'x' is not a number"]),
    "scaler missing file": ("ok.onnx", ["--input-scaler", "nothere.pkl"],
                            ["--input-scaler nothere.pkl", "no such file"]),
    "scaler wrong type": ("ok.onnx", ["--input-scaler", "{d}/not_a_scaler.pkl"], ["not_a_scaler.pkl", "builtins.dict",
                                                                                  "StandardScaler"]),
    "scaler wrong width": ("ok.onnx", ["--input-scaler", "{d}/two_features.pkl"], ["two_features.pkl",
                                                                                  "2 features, expected 3"]),
    "scaler not fitted": ("ok.onnx", ["--output-scaler", "{d}/unfitted.pkl"], ["unfitted.pkl", "not fitted"]),
    "bounds csv missing column": ("ok.onnx", ["--bounds-csv", "{d}/typo.csv"],
                                  ["typo.csv line 1", "no column 'c'", "did you mean 'cc'"]),
    "bounds csv nan": ("ok.onnx", ["--bounds-csv", "{d}/nan.csv"], ["nan.csv line 3", "column 'b'", "'nan'"]),
    "bounds csv text": ("ok.onnx", ["--bounds-csv", "{d}/text.csv"], ["text.csv line 4", "column 'c'", "'three'"]),
    "bounds csv no rows": ("ok.onnx", ["--bounds-csv", "{d}/empty.csv"], ["empty.csv", "no data rows"]),
    "bounds csv missing file": ("ok.onnx", ["--bounds-csv", "{d}/nothere.csv"], ["--bounds-csv", "nothere.csv"]),
    "data missing input": ("ok.onnx", ["--data", "{d}/typo.csv"],
                           ["--data", "typo.csv line 1", "no column 'c'", "did you mean 'cc'"]),
    "data missing output": ("ok.onnx", ["--data", "{d}/no_output.csv"], ["--data", "no_output.csv", "no column 'y'"]),
    "data one row": ("ok.onnx", ["--data", "{d}/one_row.csv"], ["--data", "one_row.csv", "at least 2"]),
    "data missing file": ("ok.onnx", ["--data", "{d}/nothere.csv"], ["--data", "nothere.csv", "cannot open"]),
    "bounds unknown name": ("ok.onnx", ["--bounds", "a=0:1,bb=0:1"], ["--bounds", "'bb'", "did you mean 'b'"]),
    "bounds lo > hi": ("ok.onnx", ["--bounds", "a=2:1"], ["--bounds a", "lo <= hi"]),
    "bounds and bounds csv": ("ok.onnx", ["--bounds", "a=0:1", "--bounds-csv", "{d}/data.csv"], ["not allowed with"]),
    "out folder under a file": ("ok.onnx", ["--out", "exists.h5/sub/o.h5"],
                                ["--out exists.h5/sub/o.h5", "'exists.h5' is not a directory"]),
    # A missing --out folder is made only for an import that succeeds (snapshot compares folders).
    "bad input, out folder missing": ("ok.onnx", ["--out", "new/dir/o.h5", "--bounds", "a=2:1"],
                                      ["--bounds a", "lo <= hi"]),
    "out exists": ("ok.onnx", ["--out", "exists.h5"], ["--out exists.h5", "file exists"]),
}


@pytest.mark.parametrize("name", list(REFUSALS))
def test_refused(name, bad, tmp_path, monkeypatch):
    model, extra, fragments = REFUSALS[name]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exists.h5").write_bytes(b"keep me")
    args = {"--inputs": "a,b,c", "--outputs": "y", "--out": "oracle.h5"}
    flags = []
    for k, v in zip(extra[::2], extra[1::2]):
        v = v.format(d=bad)
        if k in args:
            args[k] = v
        else:
            flags += [k, v]
    model_path = bad / model if (bad / model).exists() else tmp_path / model
    argv = [model_path] + [x for kv in args.items() for x in kv] + flags
    before = snapshot(tmp_path)
    rc, out, err = importer(*argv)
    assert rc == 2, f"exit {rc}\n{out}\n{err}"
    for frag in fragments:
        assert frag in err, f"message lacks {frag!r}:\n{err}"
    assert snapshot(tmp_path) == before, "a refused import changed files"


def test_refused_custom_class(bad, tmp_path):
    """A module class that the importing process does not know (defined in the user's script)."""
    p = importer_process(bad / "custom.pt", "--inputs", "a,b,c", "--outputs", "y", "--out", "o.h5", cwd=tmp_path)
    assert p.returncode == 2, p.stderr
    assert "custom.pt" in p.stderr and "class defined in your own code" in p.stderr
    assert list(tmp_path.iterdir()) == []


def test_refused_non_sequential(bad, tmp_path):
    """The same file where the class is importable: a Module, but not a Sequential."""
    rc, _, err = importer(bad / "custom.pt", "--inputs", "a,b,c", "--outputs", "y", "--out", tmp_path / "o.h5")
    assert rc == 2 and "expected a torch.nn.Sequential" in err, err
    assert list(tmp_path.iterdir()) == []


# ---- the README example ----------------------------------------------------------------------------

def test_bring_your_own_model_example(invsweep_bin, tmp_path):
    """jobs/byom/run.sh exactly as the README shows it, into a scratch directory."""
    env = dict(os.environ, INVSWEEP=invsweep_bin)
    p = subprocess.run(["bash", str(ROOT / "jobs/byom/run.sh"), str(tmp_path)], capture_output=True, text=True,
                       env=env, timeout=600)
    assert p.returncode == 0, f"{p.stdout}\n{p.stderr}"
    assert "done 12" in p.stdout and "failed 0" in p.stdout
    assert "R² 0.99" in p.stdout  # the oracle fits the training data as the torch model does
    for name in ("model.pt", "model.onnx", "oracle.h5", "sweep.toml", "results.h5"):
        assert (tmp_path / name).exists(), name
    o = load_oracle(tmp_path / "oracle.h5")
    assert o.input_names == ["temperature", "pressure", "time"] and o.output_names == ["yield"]
    assert o.lo[0] >= 300 and o.hi[0] <= 400
    with h5py.File(tmp_path / "results.h5", "r") as f:
        vectors, outputs, target = f["vectors"][...], f["outputs"][...], f["tasks/target"][...]
    ok = np.isfinite(outputs[..., 0])
    assert ok.mean() > 0.9
    assert np.median(np.abs(outputs[..., 0] - target[:, None, 0])[ok]) < 0.5  # yield in %
    assert np.allclose(o(vectors[ok]), outputs[ok], rtol=1e-9, atol=1e-9)
