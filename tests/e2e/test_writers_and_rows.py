"""Reliability, continued: one writer per results file, done rows that are validated, outputs
that are not inputs, sizes and memory that are checked, degenerate bounds, `check` that agrees
with `run`, output paths, status values, optional oracle metadata, the report's options and
folders, and long paths. See docs/RELIABILITY.md for the whole table."""

import os
import shutil
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from conftest import ROOT, reference_oracle

SWEEP = """oracle = "{oracle}"
output = "{output}"
seed = 1
samples = {samples}
solvers = ["generator"]

[objective]
kind = "target"
targets = {targets}

[generator]
steps = {steps}

[[constraints]]
name = "box"
fixed = {{ x4 = 10.0 }}
bounds = {{ x1 = [0.0, 100.0] }}
"""


def sweep_text(oracle="paper4.h5", output="out.h5", samples=8, targets="[[1900.0]]", steps=20, extra=""):
    return SWEEP.format(oracle=oracle, output=output, samples=samples, targets=targets, steps=steps) + extra


@pytest.fixture
def workdir(invsweep_bin, tmp_path):
    shutil.copy(reference_oracle(invsweep_bin, "paper4"), tmp_path / "paper4.h5")
    return tmp_path


def python_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "analysis") + os.pathsep + env.get("PYTHONPATH", "")
    return env


# --- one writer ----------------------------------------------------------------------------

@pytest.mark.parametrize("resume", [False, True], ids=["new", "resume"])
def test_second_writer_is_refused_naming_the_holder(invsweep_bin, workdir, run, resume):
    # Tasks far too long to finish during the test (no early stopping): the holder is certainly
    # still running while the second run tries; SIGTERM then ends it.
    targets = "[" + ", ".join(f"[{1000 + 25 * k}.0]" for k in range(8)) + "]"
    text = sweep_text(samples=64, targets=targets, steps=10_000_000)
    (workdir / "sweep.toml").write_text(text.replace("steps = 10000000\n", "steps = 10000000\npatience = 0\ntolerance = 0.0\n"))
    flags = ["--resume"] if resume else []
    first = subprocess.Popen([invsweep_bin, "run", "sweep.toml", "--quiet", *flags], cwd=workdir,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while not (workdir / "out.h5").exists() and time.time() < deadline:
            time.sleep(0.05)
        assert (workdir / "out.h5").exists(), "the first run did not create its file"
        for extra in ([], ["--resume"]):
            second = run("run", "sweep.toml", "--quiet", *extra, check=False, cwd=workdir)
            assert first.poll() is None, "the holder ended before the second run tried"
            assert second.returncode == 2, second.stderr
            assert "another invsweep run is writing it" in second.stderr
            assert f"pid {first.pid}" in second.stderr, second.stderr
    finally:
        first.terminate()
        _, err = first.communicate(timeout=600)
    assert first.returncode == 143, err
    assert not (workdir / "out.h5.lock").exists(), "the lock file outlives its run"
    with h5py.File(workdir / "out.h5", "r") as f:
        assert np.all(f["tasks/status"][:] == 0), "the tasks in flight stay pending"
    st = run("status", "out.h5", check=False, cwd=workdir)
    assert "pending 8" in st.stdout, st.stdout


def test_stale_lock_file_of_a_killed_run_blocks_nobody(workdir, run):
    (workdir / "sweep.toml").write_text(sweep_text())
    (workdir / "out.h5.lock").write_text("pid 1 on host gone, since 2000-01-01T00:00:00Z\n")
    run("run", "sweep.toml", "--quiet", cwd=workdir)
    assert not (workdir / "out.h5.lock").exists()


# --- done rows validated -------------------------------------------------------------------

CORRUPTIONS = {
    "nan vector": lambda f: f["vectors"].__setitem__((0, 3, 1), np.nan),
    "inf output": lambda f: f["outputs"].__setitem__((0, 2, 0), np.inf),
    "nan residual": lambda f: f["residuals"].__setitem__((0, 5), np.nan),
    "outside bounds": lambda f: f["vectors"].__setitem__((0, 0, 0), 250.0),
    "fixed moved": lambda f: f["vectors"].__setitem__((0, 1, 3), 11.0),
}


@pytest.mark.parametrize("how", list(CORRUPTIONS), ids=list(CORRUPTIONS))
def test_corrupt_done_rows_are_found_and_run_again(workdir, run, how):
    (workdir / "sweep.toml").write_text(sweep_text(targets="[[1900.0], [1000.0]]"))
    run("run", "sweep.toml", "--quiet", cwd=workdir)
    with h5py.File(workdir / "out.h5", "r") as f:
        good = f["vectors"][0].copy()
    with h5py.File(workdir / "out.h5", "r+") as f:
        CORRUPTIONS[how](f)
    st = run("status", "out.h5", check=False, cwd=workdir)
    assert st.returncode == 1, st.stdout + st.stderr
    assert "1 row marked done fail validation (task 0)" in st.stderr, st.stderr
    rep = subprocess.run([sys.executable, "-m", "invsweep", "report", "out.h5", "-o", "rep"], cwd=workdir,
                         capture_output=True, text=True, env=python_env(), timeout=600)
    assert rep.returncode == 0, rep.stderr
    assert "Traceback" not in rep.stderr
    if how != "fixed moved":  # the report checks finiteness and bounds; status and resume fixed features too
        assert "marked done (task 0" in rep.stderr, rep.stderr
    res = run("run", "sweep.toml", "--resume", "--quiet", cwd=workdir)
    assert "fail validation (task 0" in res.stderr
    assert run("status", "out.h5", cwd=workdir).returncode == 0
    with h5py.File(workdir / "out.h5", "r") as f:
        np.testing.assert_array_equal(f["vectors"][0], good)  # run again: the same data as before


def test_status_names_invalid_status_values(workdir, run):
    (workdir / "sweep.toml").write_text(sweep_text(targets="[[1900.0], [1000.0]]"))
    run("run", "sweep.toml", "--quiet", cwd=workdir)
    with h5py.File(workdir / "out.h5", "r+") as f:
        f["tasks/status"][1] = 7
    st = run("status", "out.h5", check=False, cwd=workdir)
    assert st.returncode == 1
    assert "1 task with an invalid /tasks/status value" in st.stderr and "task 1 (= 7)" in st.stderr, st.stderr
    assert "failed 0" in st.stdout  # not counted as failed


# --- outputs that are inputs ---------------------------------------------------------------

def test_force_never_overwrites_an_input(invsweep_bin, workdir, expect_bad_input, run):
    run("dataset", "paper4", "--n", "200", "-o", "d.csv", cwd=workdir)
    os.link(workdir / "d.csv", workdir / "hard.csv")
    train = ["train-oracle", "--data", "d.csv", "--inputs", "x1,x2,x3,x4", "--outputs", "y", "--epochs", "2",
             "--force", "--out"]
    expect_bad_input(train + ["./d.csv"], "same file as the --data file")
    expect_bad_input(train + ["hard.csv"], "same file as the --data file")
    predict = ["predict", "--oracle", "paper4.h5", "--data", "d.csv", "--force", "-o"]
    expect_bad_input(predict + ["d.csv"], "same file as the --data file")
    expect_bad_input(predict + ["paper4.h5"], "same file as the --oracle file")
    (workdir / "sweep.toml").write_text(sweep_text(output="paper4.h5"))
    for cmd in ("run", "check"):
        expect_bad_input([cmd, "sweep.toml", "--resume"] if cmd == "run" else [cmd, "sweep.toml"],
                         "same file as the oracle file")


# --- check agrees with run -----------------------------------------------------------------

def test_check_refuses_what_run_refuses(workdir, expect_bad_input, run):
    (workdir / "other.toml").write_text(sweep_text(output="other.h5", samples=4))
    run("run", "other.toml", "--quiet", cwd=workdir)
    (workdir / "sweep.toml").write_text(sweep_text(output="other.h5"))
    for args in (["check", "sweep.toml"], ["run", "sweep.toml", "--resume"]):
        expect_bad_input(args, "other.h5", "different sweep")
    (workdir / "sweep.toml").write_text(sweep_text(output="notes.txt"))
    (workdir / "notes.txt").write_text("not a results file\n")
    for args in (["check", "sweep.toml"], ["run", "sweep.toml", "--resume"]):
        expect_bad_input(args, "notes.txt")


# --- sizes and memory ----------------------------------------------------------------------

def test_size_that_overflows_64_bits_is_refused(workdir, expect_bad_input):
    targets = "[" + ", ".join(f"[{1000 + k}.0]" for k in range(4000)) + "]"
    (workdir / "sweep.toml").write_text(
        sweep_text(samples=10000000, targets=targets).replace("seed = 1", "seed = 1\nreplicates = 10000000"))
    for args in (["check", "sweep.toml"], ["run", "sweep.toml", "--force"]):
        expect_bad_input(args, "sweep.toml", "does not fit in 64 bits")


@pytest.mark.parametrize("settings,key", [
    ({"samples": 10000000}, "'samples'"),
    ({"extra": "hidden = [65536, 65536]\n"}, "'generator.hidden'"),
], ids=["samples", "generator hidden"])
def test_memory_that_no_rank_has_is_refused(workdir, expect_bad_input, settings, key):
    text = sweep_text(samples=settings.get("samples", 8))
    if "extra" in settings:
        text = text.replace("steps = 20\n", "steps = 20\n" + settings["extra"])
    (workdir / "sweep.toml").write_text(text)
    for args in (["check", "sweep.toml"], ["run", "sweep.toml", "--force"]):
        err = expect_bad_input(args, "sweep.toml", key, "of memory per rank", "is available")
        assert "failed: task" not in err


# --- degenerate bounds ---------------------------------------------------------------------

@pytest.mark.parametrize("bounds,fragments", [
    ("[inf, inf]", ["bounds.x1", "contains no finite value"]),
    ("[-inf, -inf]", ["bounds.x1", "contains no finite value"]),
    ("[100.0, 100.0]", ["bounds.x1", "single value", "fixed = { x1 = 100 }"]),
    ("[nan, 1.0]", ["bounds"]),
], ids=["inf inf", "-inf -inf", "lo == hi", "nan"])
def test_degenerate_bounds_are_refused(workdir, expect_bad_input, bounds, fragments):
    text = sweep_text().replace("x1 = [0.0, 100.0]", f"x1 = {bounds}")
    for method in ("sigmoid", "paper"):
        (workdir / "sweep.toml").write_text(text + f'method = "{method}"\n')
        for cmd in ("check", "run"):
            expect_bad_input([cmd, "sweep.toml"], "sweep.toml", *fragments)


@pytest.mark.parametrize("lo,hi", [(np.inf, np.inf), (-np.inf, -np.inf)], ids=["inf", "-inf"])
def test_oracle_with_bounds_that_hold_no_value_is_refused(workdir, expect_bad_input, lo, hi):
    with h5py.File(workdir / "paper4.h5", "r+") as f:
        f["oracle/input_bounds/lo"][1] = lo
        f["oracle/input_bounds/hi"][1] = hi
    (workdir / "sweep.toml").write_text(sweep_text())
    expect_bad_input(["check", "sweep.toml"], "paper4.h5", "input_bounds of input 'x2'", "no finite value")


def test_malformed_optional_metrics_warn_and_go_on(workdir, run):
    with h5py.File(workdir / "paper4.h5", "r+") as f:
        m = f["oracle"].require_group("metrics")
        if "val_rmse" in m.attrs:
            del m.attrs["val_rmse"]
        m.attrs["val_rmse"] = "not numbers"
    (workdir / "sweep.toml").write_text(sweep_text())
    p = run("check", "sweep.toml", "--no-calibration", cwd=workdir)
    assert "warning" in p.stderr and "metrics" in p.stderr, p.stderr
    run("run", "sweep.toml", "--quiet", cwd=workdir)


# --- output paths --------------------------------------------------------------------------

def test_output_paths_that_name_no_file(workdir, expect_bad_input):
    (workdir / "sweep.toml").write_text(sweep_text())
    os.symlink("nowhere/gone.h5", workdir / "link.h5")
    for cmd in ("run", "check"):
        expect_bad_input([cmd, "sweep.toml", "--out", "link.h5"], "link.h5", "symbolic link", "does not exist")
        expect_bad_input([cmd, "sweep.toml", "--out", ""], "--out: empty path")
        expect_bad_input([cmd, "sweep.toml", "--out", "d/" + "n" * 256 + ".h5"], "name too long")
    expect_bad_input(["predict", "--oracle", "paper4.h5", "--data", "x.csv", "-o", ""], "empty path")
    (workdir / "nul.toml").write_text(sweep_text(output="out\\u0000.evil.h5"))
    expect_bad_input(["run", "nul.toml"], "NUL byte")


@pytest.mark.parametrize("length", [240, 400, 4000], ids=["240", "400", "4000"])
def test_long_results_paths_work_or_are_refused(workdir, run, length):
    (workdir / "sweep.toml").write_text(sweep_text())
    base = str(workdir) + "/"
    parts, left = [], length - len(base) - len("out.h5")
    while left > 0:
        parts.append("d" * min(200, left - 1 if left > 1 else 1))
        left -= len(parts[-1]) + 1
    out = base + "/".join(parts + ["out.h5"])
    p = run("run", "sweep.toml", "--quiet", "--out", out, check=False, cwd=workdir)
    if len(out) >= os.pathconf("/", "PC_PATH_MAX"):
        assert p.returncode == 2 and "name too long" in p.stderr, p.stderr
        return
    assert p.returncode == 0, p.stderr
    p = run("run", "sweep.toml", "--quiet", "--resume", "--out", out, check=False, cwd=workdir)
    assert p.returncode == 0, p.stderr
    assert run("status", out, cwd=workdir).returncode == 0


# --- what a killed run leaves --------------------------------------------------------------

def test_killed_run_leaves_only_openmpi_session_files(invsweep_bin, workdir, run):
    """SIGKILL leaves the results file (resumable), a stale lock file that blocks nobody, and
    OpenMPI's own session directory under $TMPDIR (ompi.*; documented in RELIABILITY.md) —
    nothing else in the output folder or the temporary folder."""
    targets = "[" + ", ".join(f"[{1000 + 25 * k}.0]" for k in range(48)) + "]"
    text = sweep_text(samples=64, targets=targets, steps=4000)
    (workdir / "sweep.toml").write_text(text.replace("steps = 4000\n", "steps = 4000\npatience = 0\ntolerance = 0.0\n"))
    tmp = workdir / "tmp"
    tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp))
    before = set(os.listdir(workdir))
    p = subprocess.Popen([invsweep_bin, "run", "sweep.toml", "--quiet"], cwd=workdir, env=env,
                         stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        if (workdir / "out.h5").exists():
            with h5py.File(workdir / "out.h5", "r", locking=False) as f:
                if np.any(f["tasks/status"][:] == 1):
                    break
        time.sleep(0.1)
    p.kill()
    p.wait()
    assert set(os.listdir(workdir)) - before == {"out.h5", "out.h5.lock"}
    assert all(n.startswith("ompi.") for n in os.listdir(tmp)), os.listdir(tmp)
    run("run", "sweep.toml", "--quiet", "--resume", cwd=workdir)
    assert set(os.listdir(workdir)) - before == {"out.h5"}
    assert run("status", "out.h5", cwd=workdir).returncode == 0
