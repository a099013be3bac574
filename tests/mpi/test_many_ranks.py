"""Many ranks on few cores (NP from the environment: mpi.many.np16 / np32 / np64, oversubscribed):
a sweep of short tasks, where scheduling and writing weigh most, gives the file of one rank —
every dataset but the rank and the wall time bit-identical — with every task run and written
exactly once. The runner's own summary (time shares, HDF5 row writes) is printed."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import h5py
import numpy as np

from conftest import reference_oracle
from test_ranks import command, mpi_env, reference_file

NP = int(os.environ.get("NP", "16"))
SCALE = float(os.environ.get("INVSWEEP_TEST_SCALE", "1"))

# 8 targets × 2 settings × 2 solvers × 8 replicates = 256 tasks of a few milliseconds each.
SWEEP = """
oracle = "oracles/paper4.h5"
output = "results/out.h5"
seed = 23
samples = 8
replicates = 8
solvers = ["generator", "adjoint"]

[objective]
kind = "target"
targets = {{ from = [600.0], to = [2600.0], count = 8 }}

[generator]
steps = {steps}
[adjoint]
steps = {steps}

[polish]
enabled = true

[[constraints]]
name = "free"
[[constraints]]
name = "x4 = 10"
fixed = {{ x4 = 10.0 }}
"""
N_TASKS = 256
# Written by whichever rank ran the task, when it ran: they differ between runs by design.
RUN_DEPENDENT = {"tasks/rank", "tasks/wall_seconds"}


def datasets(path):
    """Every dataset of the file: name → (dtype, shape, raw bytes)."""
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                a = obj[()]
                out[name] = (a.dtype, a.shape, np.ascontiguousarray(a).tobytes())
        f.visititems(visit)
    return out


def test_many_ranks_identical_to_one(invsweep_bin, tmp_path):
    (tmp_path / "oracles").mkdir()
    (tmp_path / "results").mkdir()
    shutil.copy(reference_oracle(invsweep_bin, "paper4"), tmp_path / "oracles/paper4.h5")
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(SWEEP.format(steps=max(10, int(100 * SCALE))))
    ref_path = reference_file(invsweep_bin, sweep)

    out = tmp_path / f"np{NP}.h5"
    p = subprocess.run(command(invsweep_bin, NP, "run", sweep, "--out", out, "--progress-every", "1000"),
                       capture_output=True, text=True, env=mpi_env(), timeout=300)
    assert p.returncode == 0, f"exit {p.returncode}\n{p.stderr}"
    summary = [line for line in p.stderr.splitlines() if re.match(r"invsweep: (\d+ tasks in|HDF5:)", line)]
    print(f"\n{NP} ranks:\n" + "\n".join(summary))

    ref, got = datasets(ref_path), datasets(out)
    assert set(got) == set(ref), f"datasets differ: {set(got) ^ set(ref)}"
    for name in sorted(set(ref) - RUN_DEPENDENT):
        assert got[name][:2] == ref[name][:2], f"/{name}: type or shape differs"
        assert got[name][2] == ref[name][2], f"/{name} differs from one rank's file ({NP} ranks)"

    with h5py.File(out, "r") as f:
        status, rank, wall = f["tasks/status"][:], f["tasks/rank"][:], f["tasks/wall_seconds"][:]
    # Every task written (done), by one of the ranks, with its own run time.
    assert len(status) == N_TASKS and np.all(status == 1), np.unique(status, return_counts=True)
    assert np.all((rank >= 0) & (rank < NP)), np.unique(rank)
    assert np.all(np.isfinite(wall) & (wall > 0))
    # ... and none twice: the ranks' own counts of the tasks they wrote add up to the sweep
    # (a task taken by two ranks would be counted by both, its row written twice).
    m = re.search(r"invsweep: (\d+) tasks in [\d.]+ s on (\d+) ranks?:", p.stderr)
    assert m, p.stderr
    assert (int(m.group(1)), int(m.group(2))) == (N_TASKS, NP), m.group(0)
    ranks_used = np.unique(rank)
    print(f"tasks ran on {len(ranks_used)} of {NP} ranks (tasks per rank: "
          f"{np.bincount(rank, minlength=NP).min()}–{np.bincount(rank, minlength=NP).max()})")
