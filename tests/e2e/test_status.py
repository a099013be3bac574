"""`invsweep status` against numpy: tasks per status, and the best residual of every (target,
constraint setting) group, recomputed from the file it reads; target labels that keep close
targets apart; the table capped by --groups."""

import re

import h5py
import numpy as np

SWEEP = """oracle = "oracles/paper4.h5"
seed = 3
samples = 8
replicates = 2
solvers = ["adjoint"]
[objective]
kind = "target"
targets = { from = [1500.0], to = [1500.004], count = 5 }
[adjoint]
steps = 40
[[constraints]]
name = "free"
[[constraints]]
name = "x4 = 10"
fixed = { x4 = 10.0 }
"""

ROW = re.compile(r"^  (\S+)\s+(free|x4 = 10)\s+(\d+)/(\d+)\s+(\S+)$")


def table(text):
    return [ROW.match(line).groups() for line in text.splitlines() if ROW.match(line)]


def test_status_groups_and_best_residuals_match_numpy(run, job, tmp_path):
    job("demo")  # puts the paper oracle in tmp_path/oracles
    (tmp_path / "sweep.toml").write_text(SWEEP)
    run("run", "sweep.toml", "--out", "out.h5", "--quiet", cwd=tmp_path)
    out = run("status", "out.h5", "--groups", "0", cwd=tmp_path).stdout
    rows = table(out)
    with h5py.File(tmp_path / "out.h5", "r") as f:
        target = f["tasks/target"][:, 0]
        constraint = f["tasks/constraint"][:]
        status = f["tasks/status"][:]
        residuals = f["residuals"][:]
        names = [n.decode() if isinstance(n, bytes) else n for n in f["constraints/name"][:]]
    assert f"done {np.sum(status == 1)}" in out
    # Ten groups: five targets 0.001 apart (one label each, not "1500" five times) × two settings.
    assert len(rows) == 10, out
    assert len({(r[0], r[1]) for r in rows}) == 10, out
    for label, setting, done, total, best in rows:
        group = np.isclose(target, float(label), rtol=0, atol=1e-7) & (constraint == names.index(setting))
        assert int(total) == group.sum() == 2, (label, setting)
        assert int(done) == np.sum(group & (status == 1))
        finite = residuals[group & (status == 1)]
        assert float(best) == float(f"{np.min(finite[np.isfinite(finite)]):.4g}"), (label, setting, best)
    # The table shows the first --groups groups (in task order) and counts the rest.
    capped = run("status", "out.h5", "--groups", "3", cwd=tmp_path).stdout
    assert table(capped) == rows[:3], capped
    assert "… and 7 more (target, constraint) groups" in capped
