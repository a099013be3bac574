"""A task's vectors as a table: the inputs that yield a given output, as a synthetic data set.

    df = invsweep.task_vectors("results.h5", task=3)    # pandas: one row per vector
    df.to_csv("inputs_for_target.csv", index=False)

    python3 -m invsweep export RESULTS.h5 --task 3 [--task 4 …] [-o FILE.csv]

Columns: `task`, the features (the file's feature names), the outputs (the oracle's values at
each vector, under the output names), and `residual` (the file's /residuals: distance to the
target or the range; the objective's value for maximize and minimize). Vectors of a `sampler` task are equally weighted draws from the prior
restricted to the solution set (docs/SAMPLER.md), so such a table is a sample of the inputs
that give the output; other solvers' vectors are solutions, but their spread is the solver's
(docs/ANALYSIS.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .loader import ResultsError, _check_format, _texts, open_h5


def task_vectors(path: str | Path, task: int | list[int]) -> pd.DataFrame:
    """The vectors of one task (or several, stacked) with their outputs and residuals."""
    path = str(path)
    tasks = [task] if np.isscalar(task) else list(task)
    with open_h5(path) as f:
        _check_format(f, path)
        n = f["tasks/status"].shape[0]
        features, outputs = _texts(f.attrs["feature_names"]), _texts(f.attrs["output_names"])
        frames = []
        for t in tasks:
            if not (isinstance(t, (int, np.integer)) and 0 <= int(t) < n):
                raise ResultsError(f"{path}: task {t} does not exist (the file has tasks 0 to {n - 1})")
            t = int(t)
            if int(f["tasks/status"][t]) == 0:
                raise ResultsError(f"{path}: task {t} has not run yet (status pending): no vectors")
            x, y, r = f["vectors"][t], f["outputs"][t], f["residuals"][t]
            df = pd.DataFrame(x, columns=features)
            df.insert(0, "task", t)
            for k, name in enumerate(outputs):
                df[name] = y[:, k]
            df["residual"] = r
            frames.append(df)
    return pd.concat(frames, ignore_index=True)
