"""The default oracle against a linear model and gradient boosting on a small public regression
set: scikit-learn's diabetes data (442 rows, 10 features; docs/ORACLES.md, "Small data").

Each split holds out the same 10 % of the rows (seeded) from all three models; train-oracle
gets the other 90 % with its defaults (its own test split off, since the test rows are already
held out here) and is scored with the numpy oracle on the held-out rows."""

import numpy as np
import pytest

from invsweep.oracle import load_oracle

sklearn = pytest.importorskip("sklearn")
from sklearn.datasets import load_diabetes  # noqa: E402
from sklearn.ensemble import GradientBoostingRegressor  # noqa: E402
from sklearn.linear_model import LinearRegression  # noqa: E402
from sklearn.metrics import r2_score  # noqa: E402

SPLITS = (0, 1, 2)
MARGIN = 0.05


@pytest.mark.parametrize("split", SPLITS)
def test_default_oracle_is_within_margin_of_the_better_baseline(tmp_path, run, split):
    d = load_diabetes(as_frame=True).frame
    names = list(d.columns[:-1])
    perm = np.random.default_rng(split).permutation(len(d))
    n_test = round(0.1 * len(d))
    test, train = d.iloc[perm[:n_test]], d.iloc[perm[n_test:]]
    train.to_csv(tmp_path / "train.csv", index=False)
    p = run("train-oracle", "--data", tmp_path / "train.csv", "--inputs", ",".join(names), "--outputs", "target",
            "--test-fraction", "0", "--seed", split, "--quiet", "--out", tmp_path / "o.h5")
    assert "weight decay 1" in p.stdout  # 358 training values for 4,929 parameters: the automatic decay
    r2 = {
        "oracle": r2_score(test.target, load_oracle(tmp_path / "o.h5")(test[names].to_numpy())[:, 0]),
        "linear": r2_score(test.target, LinearRegression().fit(train[names], train.target).predict(test[names])),
        "boosting": r2_score(test.target, GradientBoostingRegressor(random_state=split)
                             .fit(train[names], train.target).predict(test[names])),
    }
    print(f"split {split}: " + "  ".join(f"{k} {v:.3f}" for k, v in r2.items()))
    assert r2["oracle"] >= max(r2["linear"], r2["boosting"]) - MARGIN, r2
