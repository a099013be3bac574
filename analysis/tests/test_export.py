"""invsweep.task_vectors and `python3 -m invsweep export` on a sampler sweep written by the
binary: the CSV's inputs, re-evaluated through the oracle with numpy, give its output column and
hit the target; bad input is refused with exit 2 and nothing written."""

import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

import invsweep
from invsweep import ResultsError, task_vectors
from results_factory import write_oracle

SWEEP = """oracle = "oracle.h5"
output = "results.h5"
seed = 3
samples = 200
solvers = ["sampler"]

[objective]
kind = "target"
targets = [[0.8], [1.2]]

[[constraints]]
name = "free"

[[constraints]]
name = "b fixed"
fixed = { b = 0.25 }
"""


def cli(*args):
    env = dict(os.environ, PYTHONPATH=str(Path(invsweep.__file__).parents[1]))
    return subprocess.run([sys.executable, "-m", "invsweep", "export", *map(str, args)], capture_output=True,
                          text=True, env=env)


@pytest.fixture(scope="module")
def sampled(tmp_path_factory, invsweep_bin):
    d = tmp_path_factory.mktemp("export")
    with h5py.File(d / "oracle.h5", "w") as f:
        write_oracle(f.create_group("oracle"), ["a", "b", "c"], ["y"], [0, 0, 0], [2, 2, 2])
    (d / "sweep.toml").write_text(SWEEP)
    p = subprocess.run([invsweep_bin, "run", "sweep.toml", "--quiet"], cwd=d, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return d


def test_vectors_reevaluate_to_their_outputs_and_target(sampled):
    f = invsweep.oracle(sampled / "oracle.h5")
    with h5py.File(sampled / "results.h5", "r") as r:
        targets = r["tasks/target"][()][:, 0]
    for task in range(4):
        df = task_vectors(sampled / "results.h5", task)
        assert list(df.columns) == ["task", "a", "b", "c", "y", "residual"]
        assert len(df) == 200 and (df["task"] == task).all()
        y = f(df[["a", "b", "c"]].to_numpy())[:, 0]
        np.testing.assert_allclose(y, df["y"], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(y, targets[task], rtol=1e-6)


def test_cli_writes_csv_of_several_tasks(sampled, tmp_path):
    out = tmp_path / "x.csv"
    p = cli(sampled / "results.h5", "--task", "1", "--task", "3", "-o", out)
    assert p.returncode == 0, p.stderr
    df = pd.read_csv(out)
    assert sorted(df["task"].unique()) == [1, 3] and len(df) == 400
    pd.testing.assert_frame_equal(df, pd.concat([task_vectors(sampled / "results.h5", t) for t in (1, 3)],
                                                ignore_index=True), check_exact=False, rtol=1e-15)


@pytest.mark.parametrize("args, message", [
    (["--task", "9"], "task 9 does not exist"),
    (["--task", "-1"], "task -1 does not exist"),
])
def test_cli_refuses_bad_tasks_and_writes_nothing(sampled, tmp_path, args, message):
    out = tmp_path / "x.csv"
    p = cli(sampled / "results.h5", *args, "-o", out)
    assert p.returncode == 2 and message in p.stderr and "Traceback" not in p.stderr
    assert not out.exists() and not (tmp_path / "x.csv.part").exists()


def test_refuses_files_that_are_not_results(sampled):
    with pytest.raises(ResultsError, match="no such file"):
        task_vectors(sampled / "missing.h5", 0)
    with pytest.raises(ResultsError, match="oracle file"):
        task_vectors(sampled / "oracle.h5", 0)
