"""An independent numpy reading of oracle files reproduces the C++ predictions to 1e-12."""

import numpy as np
import pytest

from invsweep.oracle import ACTIVATIONS, load_oracle


def trained(tmp_path, run, activation, hidden):
    """A few epochs on paper4 (non-trivial weights in every layer); the C++ predictions on the
    training inputs, the inputs, and the numpy oracle."""
    data = tmp_path / "d.csv"
    run("dataset", "paper4", "--n", "300", "--seed", "5", "-o", data)
    oracle = tmp_path / "o.h5"
    run("train-oracle", "--data", data, "--inputs", "x1,x2,x3,x4", "--outputs", "y", "--hidden", hidden,
        "--activation", activation, "--epochs", "3", "--quiet", "--out", oracle)
    pred = tmp_path / "p.csv"
    run("predict", "--oracle", oracle, "--data", data, "-o", pred)
    cpp = np.genfromtxt(pred, delimiter=",", names=True)
    return cpp["y_pred"], np.column_stack([cpp[n] for n in ("x1", "x2", "x3", "x4")]), load_oracle(oracle)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_numpy_reproduces_cpp_predictions(tmp_path, run, activation):
    want, x, o = trained(tmp_path, run, activation, "16,8")
    assert o.activations == [activation, activation, "identity"]
    y = o(x)[:, 0]
    scale = np.maximum(np.abs(want), 1.0)
    assert np.max(np.abs(y - want) / scale) < 1e-12


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_float32_evaluation_is_within_1e6_of_the_cpp_predictions(tmp_path, run, activation):
    """Oracle.fast (float32, used for the Sobol' indices): layers of 32 take numpy's einsum
    path, the 4-input layer the matrix product."""
    want, x, o = trained(tmp_path, run, activation, "32,32")
    y = o.fast(x)
    assert y.dtype == np.float64 and y.shape == (len(x), 1)
    assert np.max(np.abs(y[:, 0] - want)) < 1e-5 * max(float(np.std(want)), float(o.out_scale[0]))
    assert o.fast(x[:1]).shape == (1, 1) and o.fast(x[0]).shape == (1,)


def test_file_layout_follows_the_contract(tmp_path, run):
    data = tmp_path / "d.csv"
    run("dataset", "sinc", "--n", "200", "-o", data)
    oracle = tmp_path / "o.h5"
    run("train-oracle", "--data", data, "--inputs", "x", "--outputs", "y", "--hidden", "8", "--epochs", "2",
        "--quiet", "--out", oracle)
    import h5py

    with h5py.File(oracle, "r") as f:
        g = f["oracle"]
        assert g.attrs["format"] == "invsweep-oracle"
        assert int(g.attrs["format_version"]) == 1
        assert list(g.attrs["input_names"]) == ["x"]
        assert list(g.attrs["output_names"]) == ["y"]
        assert g["layers/0/weight"].shape == (8, 1)
        assert g["layers/0/weight"].dtype == np.float64
        assert g["layers/1/weight"].shape == (1, 8)
        assert g["layers/1/bias"].shape == (1,)
        assert g["layers/1"].attrs["activation"] == "identity"
        x = np.genfromtxt(data, delimiter=",", names=True)["x"]
        assert g["input_bounds/lo"][0] == x.min() and g["input_bounds/hi"][0] == x.max()
        assert set(g["metrics"].attrs) >= {"val_rmse", "val_r2", "train_rmse"}
