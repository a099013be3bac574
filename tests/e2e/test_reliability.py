"""Reliability: bad input beyond the sweep file's own keys (oracle files, output locations,
command lines, results files), numerical faults of the oracle, and a disk that is too small
or fills up during a run. See docs/RELIABILITY.md for the whole table."""

import contextlib
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import ROOT, reference_oracle

from invsweep.oracle import load_oracle

SWEEP = """oracle = "{oracle}"
output = "{output}"
seed = 1
samples = 8
solvers = ["generator"]

[objective]
kind = "target"
targets = [[1900.0]]

[generator]
steps = 20

[[constraints]]
name = "x4 = 10"
fixed = {{ x4 = 10.0 }}
"""


@pytest.fixture
def workdir(invsweep_bin, tmp_path):
    shutil.copy(reference_oracle(invsweep_bin, "paper4"), tmp_path / "paper4.h5")
    return tmp_path


# --- mounts --------------------------------------------------------------------------------

def try_mount(target: Path, options: str) -> str | None:
    """Mounts a tmpfs on target; None when it worked, else why not."""
    target.mkdir(parents=True, exist_ok=True)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], capture_output=True, text=True)
    return None if p.returncode == 0 else (p.stderr.strip() or f"mount exited {p.returncode}")


@contextlib.contextmanager
def tmpfs(target: Path, options: str):
    why = try_mount(target, options)
    try:
        yield why
    finally:
        if why is None:
            subprocess.run(["umount", "-l", str(target)], check=False)


# --- bad input -----------------------------------------------------------------------------

def test_oracle_that_is_a_directory(workdir, expect_bad_input):
    # Root reads any file whatever its mode: a directory stands for an unreadable oracle.
    (workdir / "dir.h5").mkdir()
    (workdir / "sweep.toml").write_text(SWEEP.format(oracle="dir.h5", output="out.h5"))
    for cmd in ("run", "check"):
        expect_bad_input([cmd, "sweep.toml"], "dir.h5", "is a directory, expected an HDF5 file")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_oracle_without_read_permission(workdir, expect_bad_input):
    (workdir / "paper4.h5").chmod(0)
    (workdir / "sweep.toml").write_text(SWEEP.format(oracle="paper4.h5", output="out.h5"))
    expect_bad_input(["run", "sweep.toml"], "paper4.h5")


def test_truncated_oracle(workdir, expect_bad_input):
    data = (workdir / "paper4.h5").read_bytes()
    (workdir / "cut.h5").write_bytes(data[: len(data) // 2])
    (workdir / "sweep.toml").write_text(SWEEP.format(oracle="cut.h5", output="out.h5"))
    for cmd in ("run", "check"):
        expect_bad_input([cmd, "sweep.toml"], "cut.h5", "truncated or damaged")


def test_oracle_whose_names_differ_from_the_sweep(invsweep_bin, workdir, expect_bad_input):
    # The sweep speaks of x1..x4; this oracle's only input is x.
    shutil.copy(reference_oracle(invsweep_bin, "sinc"), workdir / "sinc.h5")
    (workdir / "sweep.toml").write_text(SWEEP.format(oracle="sinc.h5", output="out.h5"))
    expect_bad_input(["run", "sweep.toml"], "sweep.toml", "no feature 'x4'", "did you mean 'x'")


def test_output_is_a_directory(workdir, expect_bad_input):
    (workdir / "out.h5").mkdir()
    (workdir / "sweep.toml").write_text(SWEEP.format(oracle="paper4.h5", output="out.h5"))
    expect_bad_input(["run", "sweep.toml"], "out.h5", "is a directory")


def test_output_in_a_read_only_directory(workdir, expect_bad_input):
    ro = workdir / "ro"
    with tmpfs(ro, "size=1m,ro") as why:
        if why is not None:
            if os.geteuid() == 0:
                pytest.skip(f"cannot mount a read-only tmpfs ({why}) and root writes any directory")
            ro.chmod(0o555)
        (workdir / "sweep.toml").write_text(SWEEP.format(oracle="paper4.h5", output="ro/out.h5"))
        for cmd in ("run", "check"):
            expect_bad_input([cmd, "sweep.toml"], "ro/out.h5", "is not writable")


@pytest.mark.parametrize("args,fragments", [
    (["run", "sweep.toml", "--quiet", "--progress-every", "2"], ["--progress-every excludes --quiet"]),
    (["run", "sweep.toml", "--force", "--max-size", "1G"], ["--force excludes --max-size"]),
    (["check", "sweep.toml", "--output-path", "--ranks", "4"], ["--ranks excludes --output-path"]),
    (["dataset", "paper4", "--list"], ["excludes --list"]),
    (["run", "sweep.toml", "--resum"], ["unknown option '--resum'", "did you mean '--resume'"]),
    (["run", "sweep.toml", "--max-size", "12Q"], ["--max-size '12Q'", "500M or 64G"]),
    (["run", "sweep.toml", "--progress-every", "0"], ["--progress-every 0", "positive number of seconds"]),
    (["check", "sweep.toml", "--ranks", "0"], ["--ranks 0", "positive"]),
    (["status", "results.h5", "--messages", "-1"], ["--messages"]),
    (["run"], ["sweep is required"]),
    (["run", "sweep.toml", "--flush-tasks", "0"], ["--flush-tasks 0", "whole number of tasks ≥ 1"]),
    (["run", "sweep.toml", "--flush-tasks", "many"], ["--flush-tasks", "many"]),
    (["run", "sweep.toml", "--flush-seconds", "-1"], ["--flush-seconds -1", "number of seconds ≥ 0"]),
    (["run", "sweep.toml", "--flush-seconds", "nan"], ["--flush-seconds nan", "number of seconds ≥ 0"]),
], ids=["quiet+progress", "force+max-size", "output-path+ranks", "list+name", "misspelt option", "bad size",
        "zero interval", "zero ranks", "negative messages", "missing sweep", "zero batch", "batch not a number",
        "negative flush interval", "nan flush interval"])
def test_bad_command_line(workdir, expect_bad_input, args, fragments):
    (workdir / "sweep.toml").write_text(SWEEP.format(oracle="paper4.h5", output="out.h5"))
    expect_bad_input(args, *fragments)


def test_status_of_files_that_are_not_results(workdir, expect_bad_input, run):
    expect_bad_input(["status", "missing.h5"], "missing.h5", "no such file")
    expect_bad_input(["status", "paper4.h5"], "paper4.h5", "not an invsweep results file")
    (workdir / "sweep.toml").write_text(SWEEP.format(oracle="paper4.h5", output="out.h5"))
    run("run", "sweep.toml", "--quiet", cwd=workdir)
    data = (workdir / "out.h5").read_bytes()
    (workdir / "out.h5").write_bytes(data[: len(data) // 2])
    expect_bad_input(["status", "out.h5"], "out.h5", "truncated or damaged")


# --- numerical faults ----------------------------------------------------------------------

def write_oracle(path: Path, template: Path, layers, lo=0.0, hi=1.0):
    """An oracle file with the given layers [(W, b, activation)], unit scalers and input
    bounds [lo, hi], on the layout of an oracle written by train-oracle (one input x, one
    output y)."""
    shutil.copy(template, path)
    with h5py.File(path, "r+") as f:
        g = f["oracle"]
        del g["layers"]
        group = g.create_group("layers")
        for i, (w, b, act) in enumerate(layers):
            layer = group.create_group(str(i))
            layer["weight"] = np.asarray(w, dtype=np.float64)
            layer["bias"] = np.asarray(b, dtype=np.float64)
            layer.attrs["activation"] = act
        for name, value in (("input_scaler/mean", 0.0), ("input_scaler/scale", 1.0), ("output_scaler/mean", 0.0),
                            ("output_scaler/scale", 1.0), ("input_bounds/lo", lo), ("input_bounds/hi", hi)):
            g[name][...] = value
        if "metrics" in g:
            del g["metrics"]


def nan_above(threshold: float, big=1e30, depth=11):
    """y = x for x ≤ threshold; NaN (inf − inf, in float32 and float64 alike) above: a path
    that is zero below the threshold and overflows above it, added and subtracted."""
    layers = [([[1.0], [big], [big]], [0.0, -threshold * big, -threshold * big], "relu")]
    layers += [(np.diag([1.0, big, big]), [0.0, 0.0, 0.0], "relu") for _ in range(depth)]
    layers.append(([[1.0, big, -big]], [0.0], "identity"))
    return layers


FAULT_SWEEP = """oracle = "{oracle}"
output = "out.h5"
seed = 3
samples = 32
replicates = 2
solvers = ["generator", "adjoint"]

[objective]
kind = "target"
targets = [[{target}]]

[generator]
steps = 300
[adjoint]
steps = 300

[polish]
enabled = true

[[constraints]]
name = "whole domain"

[[constraints]]
name = "x in [0, 0.5]"
bounds = {{ x = [0.0, 0.5] }}
"""


def run_fault_sweep(run, directory: Path, oracle: str, target: float):
    (directory / "sweep.toml").write_text(FAULT_SWEEP.format(oracle=oracle, target=target))
    p = run("run", "sweep.toml", "--quiet", check=False, cwd=directory)
    with h5py.File(directory / "out.h5", "r") as f:
        data = {name: f[name][:] for name in ("vectors", "outputs", "residuals", "tasks/status")}
        data["message"] = [m.decode().rstrip("\0") for m in f["tasks/message"][:]]
        data["constraint"] = f["tasks/constraint"][:]
    return p, data


def assert_done_rows_finite(data):
    done = data["tasks/status"] == 1
    for name in ("vectors", "outputs", "residuals"):
        assert np.all(np.isfinite(data[name][done])), f"non-finite /{name} in a done task"


def test_oracle_with_nan_for_some_inputs(invsweep_bin, run, tmp_path):
    write_oracle(tmp_path / "nan.h5", reference_oracle(invsweep_bin, "sinc"), nan_above(0.6))
    with np.errstate(all="ignore"):
        y = load_oracle(tmp_path / "nan.h5")(np.array([[0.3], [0.59], [0.61], [0.9]]))[:, 0]
    assert np.allclose(y[:2], [0.3, 0.59]) and np.all(np.isnan(y[2:])), y
    p, data = run_fault_sweep(run, tmp_path, "nan.h5", 0.3)
    assert p.returncode == 1, p.stderr  # finished, some tasks diverged
    status, constraint = data["tasks/status"], data["constraint"]
    # Over the whole domain [0, 1] the candidates meet the NaN region: diverged, with a message.
    assert np.all(status[constraint == 0] == 2), status
    for i in np.flatnonzero(constraint == 0):
        assert "oracle gives NaN or Inf" in data["message"][i], data["message"][i]
    # Kept in [0, 0.5] (finite everywhere) the tasks complete: y = x = 0.3.
    inside = constraint == 1
    assert np.all(status[inside] == 1), status
    assert np.all(np.abs(data["vectors"][inside] - 0.3) < 1e-6)
    assert_done_rows_finite(data)


def test_oracle_with_enormous_weights(invsweep_bin, run, tmp_path):
    # y = 1e60 x: finite in float64, beyond float32 (the solvers' precision) for any x ≠ 0.
    write_oracle(tmp_path / "huge.h5", reference_oracle(invsweep_bin, "sinc"),
                 [([[1e20]], [0.0], "identity")] * 3)
    p, data = run_fault_sweep(run, tmp_path, "huge.h5", 3e59)
    assert p.returncode == 1, p.stderr
    assert np.all(data["tasks/status"] == 2), data["tasks/status"]
    assert all("oracle gives NaN or Inf" in m for m in data["message"]), data["message"]
    assert "diverged" in p.stderr
    for name in ("vectors", "outputs", "residuals"):
        assert np.all(np.isfinite(data[name])), name


# --- full disk -----------------------------------------------------------------------------

DEMO = (ROOT / "jobs/demo.toml").read_text()


@pytest.fixture(scope="module")
def demo(invsweep_bin, tmp_path_factory):
    """The demo sweep with its oracle, and its data from an uninterrupted run."""
    d = tmp_path_factory.mktemp("demo")
    (d / "oracles").mkdir()
    shutil.copy(reference_oracle(invsweep_bin, "paper4"), d / "oracles/paper4.h5")
    (d / "results").mkdir()
    sweep = d / "demo.toml"
    sweep.write_text(DEMO.replace('oracle = "oracles/paper4.h5"', f'oracle = "{d}/oracles/paper4.h5"'))
    p = subprocess.run([invsweep_bin, "run", sweep, "--quiet"], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    with h5py.File(d / "results/demo.h5", "r") as f:
        ref = {name: f[name][:] for name in ("vectors", "outputs", "residuals", "loss", "tasks/status")}
    return sweep, ref


def test_disk_too_small_for_the_results_file(invsweep_bin, demo, tmp_path):
    sweep, _ = demo
    mnt = tmp_path / "small"
    with tmpfs(mnt, "size=1m") as why:
        if why is not None:
            pytest.skip(f"cannot mount a tmpfs here ({why})")
        p = subprocess.run([invsweep_bin, "run", sweep, "--out", mnt / "demo.h5"], capture_output=True, text=True)
        assert p.returncode == 2, p.stderr
        # The estimate grows with the datasets a results file holds; the message names it.
        assert f"{mnt}/demo.h5" in p.stderr and re.search(r"needs about 1\.\d+ MiB", p.stderr), p.stderr
        assert "has 1 MiB free" in p.stderr, p.stderr
        assert list(mnt.iterdir()) == [], "a refused run left files"


def test_disk_full_while_writing(invsweep_bin, demo, tmp_path):
    """The disk fills up during the run (a 3 MiB tmpfs, filled by another file): a clear error
    naming the file and the full disk, exit code 2; the file opens, its done rows are right,
    and once there is space again --resume completes it with the uninterrupted data. Without
    a tmpfs, the failing write is injected instead (INVSWEEP_FAULT_WRITE_TASK)."""
    sweep, ref = demo
    mnt = tmp_path / "disk"
    with tmpfs(mnt, "size=3m") as why:
        simulated = why is not None
        if simulated:
            print(f"no tmpfs ({why}): the write error is injected")
            mnt.mkdir(exist_ok=True)
        out = mnt / "demo.h5"
        env = dict(os.environ, INVSWEEP_FAULT_WRITE_TASK="40") if simulated else None
        # Every task written as it finishes (--flush-tasks 1): the disk fills half a second in,
        # before a default batch would have been written, and some rows must be done by then.
        p = subprocess.Popen([invsweep_bin, "run", sweep, "--out", out, "--quiet", "--flush-tasks", "1"],
                             stderr=subprocess.PIPE, text=True, env=env)
        if not simulated:
            while not out.exists():
                time.sleep(0.05)
            time.sleep(0.5)
            with open(mnt / "filler", "wb") as filler:  # take every free byte
                with contextlib.suppress(OSError):
                    while True:
                        filler.write(b"\0" * 65536)
                        filler.flush()
        _, err = p.communicate(timeout=300)
        print(err.strip().splitlines()[0])
        assert p.returncode == 2, err
        assert f"writing task" in err and str(out) in err, err
        if not simulated:
            assert "is the disk full?" in err, err
        with h5py.File(out, "r") as f:  # the file still opens
            status = f["tasks/status"][:]
            done = status == 1
            assert set(np.unique(status).tolist()) <= {0, 1}
            assert 0 < done.sum() < len(status), f"{done.sum()} done: the disk did not fill during the run"
            for name in ("vectors", "outputs", "residuals", "loss"):
                assert np.array_equal(f[name][:][done], ref[name][done], equal_nan=True), name
        print(f"disk full after {done.sum()}/{len(status)} tasks")
        (mnt / "filler").unlink(missing_ok=True)
        p = subprocess.run([invsweep_bin, "run", sweep, "--out", out, "--quiet", "--resume"], capture_output=True,
                           text=True, timeout=600)
        assert p.returncode == 0, p.stderr
        with h5py.File(out, "r") as f:
            for name in ("vectors", "outputs", "residuals", "loss", "tasks/status"):
                assert np.array_equal(f[name][:], ref[name], equal_nan=True), name
