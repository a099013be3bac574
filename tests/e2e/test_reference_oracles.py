"""Default train-oracle settings give good oracles on the reference problems: R² ≥ 0.999 on
1,000 test points of the paper's function, RMSE < 1e-3 on sin(x)/x and the multi-root function."""

import re

import pytest

CASES = [
    ("paper4", "x1,x2,x3,x4", "r2", 0.999),
    ("sinc", "x", "rmse", 1e-3),
    ("multiroot", "x", "rmse", 1e-3),
]


@pytest.mark.parametrize("name,inputs,metric,limit", CASES)
def test_default_oracle_quality(tmp_path, run, name, inputs, metric, limit):
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    run("dataset", name, "--n", "10000", "--seed", "1", "-o", train)
    run("dataset", name, "--n", "1000", "--seed", "2", "-o", test)
    run("train-oracle", "--data", train, "--inputs", inputs, "--outputs", "y", "--quiet", "--out", tmp_path / "o.h5")
    out = run("predict", "--oracle", tmp_path / "o.h5", "--data", test).stdout
    m = re.search(r"RMSE (\S+)\s+R² (\S+)", out)
    assert m, out
    rmse, r2 = float(m.group(1)), float(m.group(2))
    print(f"{name}: test RMSE {rmse:.3g}, R² {r2:.6f}")
    if metric == "r2":
        assert r2 >= limit, out
    else:
        assert rmse < limit, out
