"""The runner on several ranks (NP from the environment, set by CTest: mpi.<name>.np<N>):
the same file whatever the number of ranks; a job killed at any point (SIGKILL, also between
and during batched row writes), stopped (SIGTERM), ended by a fatal write error on one rank,
or left by a dying rank resumes to the same data as an uninterrupted run."""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import reference_oracle, cache_dir  # noqa: E402

NP = int(os.environ.get("NP", "2"))
# Sanitized builds run ~10× slower: their sweeps take fewer steps (set by CMake).
SCALE = float(os.environ.get("INVSWEEP_TEST_SCALE", "1"))
DATASETS = ["vectors", "outputs", "residuals", "loss", "tasks/status", "tasks/steps", "tasks/final_loss"]

SWEEP = """
oracle = "oracles/paper4.h5"
output = "results/out.h5"
seed = 11
samples = 32
replicates = 2
solvers = ["generator", "adjoint", "amortized"]

[objective]
kind = "target"
targets = {{ from = [600.0], to = [2600.0], count = {targets} }}

[generator]
steps = {steps}
[adjoint]
steps = {steps}
[amortized]
steps = {steps}

[regularize]
diversity = 0.01

[polish]
enabled = true

[[constraints]]
name = "free"
[[constraints]]
name = "x4 = 10"
fixed = {{ x4 = 10.0 }}
"""


def mpi_env():
    env = dict(os.environ)
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_btl="self,vader",
               OMPI_MCA_pml="ob1", OMPI_MCA_rmaps_base_oversubscribe="1")
    return env


def command(binary, np_, *args):
    base = [binary, *map(str, args)]
    if np_ == 0:  # alone, without mpirun (a singleton MPI process)
        return base
    return ["mpiexec", "-n", str(np_), "--oversubscribe", *base]


def make_sweep(invsweep_bin, directory: Path, targets=3, steps=200) -> Path:
    steps = max(20, int(steps * SCALE))
    (directory / "oracles").mkdir(parents=True, exist_ok=True)
    (directory / "results").mkdir(exist_ok=True)
    shutil.copy(reference_oracle(invsweep_bin, "paper4"), directory / "oracles/paper4.h5")
    sweep = directory / "sweep.toml"
    sweep.write_text(SWEEP.format(targets=targets, steps=steps))
    return sweep


def run_sweep(binary, np_, sweep, out, *extra, timeout=600):
    p = subprocess.run(command(binary, np_, "run", sweep, "--out", out, "--quiet", *extra), capture_output=True,
                       text=True, env=mpi_env(), timeout=timeout)
    assert p.returncode == 0, f"exit {p.returncode}\n{p.stdout}\n{p.stderr}"


def read(path):
    with h5py.File(path, "r") as f:
        return {name: f[name][:] for name in DATASETS}


def assert_same(a, b, what):
    for name in DATASETS:
        assert np.array_equal(a[name], b[name], equal_nan=True), f"{what}: /{name} differs"


def reference_file(binary, sweep: Path) -> Path:
    """The sweep's results from one rank without mpirun, computed once per binary and sweep
    and shared by the test processes (every mpi.* test is a process of its own)."""
    import fcntl
    import hashlib

    st = Path(binary).stat()
    key = hashlib.sha256(f"{Path(binary).resolve()}:{st.st_size}:{st.st_mtime_ns}".encode() + sweep.read_bytes() +
                         (sweep.parent / "oracles/paper4.h5").read_bytes()).hexdigest()[:16]
    cache = cache_dir(binary) / "mpi-references"
    cache.mkdir(exist_ok=True)
    path = cache / f"{key}.h5"
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            tmp = cache / f"{key}.part.h5"
            tmp.unlink(missing_ok=True)
            run_sweep(binary, 0, sweep, tmp)
            tmp.rename(path)
    return path


@pytest.fixture(scope="module")
def reference(invsweep_bin, tmp_path_factory):
    """The sweep run on one rank, without mpirun."""
    d = tmp_path_factory.mktemp("reference")
    sweep = make_sweep(invsweep_bin, d)
    return sweep, read(reference_file(invsweep_bin, sweep))


def test_identical_across_ranks(invsweep_bin, reference, tmp_path):
    sweep, ref = reference
    assert np.all(ref["tasks/status"] == 1)
    out = tmp_path / f"np{NP}.h5"
    run_sweep(invsweep_bin, NP, sweep, out)
    assert_same(read(out), ref, f"{NP} ranks vs one")
    with h5py.File(out, "r") as f:
        ranks = set(f["tasks/rank"][:].tolist())
    print(f"{NP} ranks: tasks ran on ranks {sorted(ranks)}")
    assert ranks <= set(range(NP))


def wait_until_done(path, count, process=None, timeout=120):
    """Blocks until the results file being written shows at least `count` tasks done (or the
    process ended)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if process is not None and process.poll() is not None:
            return
        try:
            with h5py.File(path, "r") as f:
                if (f["tasks/status"][:] == 1).sum() >= count:
                    return
        except (OSError, KeyError):  # not created yet
            pass
        time.sleep(0.02)
    raise AssertionError(f"fewer than {count} tasks done in {path} after {timeout} s")


@pytest.fixture(scope="module")
def long_reference(invsweep_bin, tmp_path_factory):
    """A longer sweep (384 tasks of 2000 steps: several 2 s batch flushes long on 3 ranks of a
    quiet 2-core machine, so that the kill points below fall between flushes, and longer than
    the 3 s of test_stop_writes_the_unwritten_batch), run on one rank without mpirun. Faster
    training shortens it: 192 tasks ended before the sixth kill once the products got faster."""
    d = tmp_path_factory.mktemp("long")
    sweep = make_sweep(invsweep_bin, d, targets=32, steps=2000)
    return sweep, read(reference_file(invsweep_bin, sweep))


def test_killed_and_resumed(invsweep_bin, long_reference, tmp_path):
    sweep, ref = long_reference
    out = tmp_path / "killed.h5"
    rng = np.random.default_rng(NP)
    total = len(ref["tasks/status"])
    # Ten kill points at random stages of the sweep: after a random number of tasks is done,
    # a random delay more (a point inside a task, or during start-up when a restart has
    # already passed the next stage).
    stages = np.sort(rng.choice(np.arange(1, total - total // 5), size=10, replace=False))
    kills = 0
    for stage in stages:
        cmd = command(invsweep_bin, NP, "run", sweep, "--out", out, "--quiet", "--resume")
        p = subprocess.Popen(cmd, env=mpi_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             start_new_session=True)
        wait_until_done(out, int(stage), p)
        time.sleep(rng.uniform(0.0, 0.3))
        assert p.poll() is None, f"the run ended before kill {kills + 1}; make the sweep longer"
        os.killpg(p.pid, signal.SIGKILL)  # the whole job, mpirun and every rank
        p.wait()
        kills += 1
        # The killed file opens, and every row marked done is complete and right.
        with h5py.File(out, "r") as f:
            status = f["tasks/status"][:]
            done = status == 1
            for name in DATASETS:
                assert np.array_equal(f[name][:][done], ref[name][done], equal_nan=True), f"kill {kills}: /{name}"
        print(f"kill {kills}: {done.sum()}/{len(status)} tasks done")
    run_sweep(invsweep_bin, NP, sweep, out, "--resume")
    assert kills == 10
    assert_same(read(out), ref, f"killed {kills} times and resumed")


def done_count(path):
    with h5py.File(path, "r") as f:
        return int((f["tasks/status"][:] == 1).sum())


def test_killed_mid_batch_and_resumed(invsweep_bin, long_reference, tmp_path):
    """Rows written in batches of 4 per rank: SIGKILL at random points loses only tasks whose
    batch was not written yet — the file opens, every row marked done is right, rows appear
    a whole batch at a time (one rank: the done count grows by multiples of 4) — and --resume
    runs them again, to the uninterrupted data."""
    sweep, ref = long_reference
    out = tmp_path / "batched.h5"
    rng = np.random.default_rng(100 + NP)
    total = len(ref["tasks/status"])
    batch = ["--flush-tasks", "4", "--flush-seconds", "1000"]
    stages = np.sort(rng.choice(np.arange(4, total - total // 4), size=5, replace=False))
    before = 0
    for kill, stage in enumerate(stages, 1):
        cmd = command(invsweep_bin, NP, "run", sweep, "--out", out, "--quiet", "--resume", *batch)
        p = subprocess.Popen(cmd, env=mpi_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             start_new_session=True)
        wait_until_done(out, max(int(stage), before + 1), p)
        time.sleep(rng.uniform(0.0, 0.3))
        assert p.poll() is None, f"the run ended before kill {kill}; make the sweep longer"
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        done, _ = assert_done_rows_right(out, ref, f"kill {kill}")
        print(f"kill {kill}: {done}/{total} tasks done (+{done - before})")
        if NP == 1:
            assert (done - before) % 4 == 0, f"kill {kill}: {done - before} rows appeared, not whole batches of 4"
        before = done
    run_sweep(invsweep_bin, NP, sweep, out, "--resume", *batch)
    assert_same(read(out), ref, "killed between batches and resumed")


def test_rows_written_by_time(invsweep_bin, long_reference, tmp_path):
    """A batch limit the run never reaches: rows still appear during the run, once the oldest
    held task has waited --flush-seconds; the finished file equals the reference."""
    sweep, ref = long_reference
    out = tmp_path / "by-time.h5"
    args = ["run", sweep, "--out", out, "--quiet", "--flush-tasks", "100000", "--flush-seconds", "0.5"]
    p = subprocess.Popen(command(invsweep_bin, NP, *args), env=mpi_env(), stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    wait_until_done(out, 1, p)
    running = p.poll() is None
    done, total = assert_done_rows_right(out, ref, "while running")
    _, err = p.communicate(timeout=600)
    assert p.returncode == 0, err
    print(f"first rows written by time: {done}/{total} done while the run went on")
    assert running and 0 < done < total, f"no rows before the end of the run ({done}/{total})"
    assert_same(read(out), ref, "rows written by time")


def test_stop_writes_the_unwritten_batch(invsweep_bin, long_reference, tmp_path):
    """A batch that would not be written before the end of the run (limits far away) is
    written when a signal stops the run: the finished tasks are not lost."""
    sweep, ref = long_reference
    out = tmp_path / "stopped-batch.h5"
    np_ = 0 if NP == 1 else NP
    sig = signal.SIGTERM if NP == 1 else signal.SIGUSR2  # mpirun forwards SIGUSR2 to the ranks
    p = subprocess.Popen(command(invsweep_bin, np_, "run", sweep, "--out", out, "--flush-tasks", "100000",
                                 "--flush-seconds", "1000"),
                         env=mpi_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    while not out.exists():
        assert p.poll() is None, p.stderr.read()
        time.sleep(0.05)
    time.sleep(3.0)
    assert done_count(out) == 0, "rows were written before the batch was full"
    assert p.poll() is None, "the run finished before the signal; make the sweep longer"
    p.send_signal(sig)
    _, err = p.communicate(timeout=60)
    done, total = assert_done_rows_right(out, ref, f"after {sig.name}")
    print(f"{sig.name} after 3 s: exit {p.returncode}, {done}/{total} tasks written on the way out")
    assert p.returncode == 143, f"exit {p.returncode}\n{err}"
    assert 0 < done < total, err
    run_sweep(invsweep_bin, NP, sweep, out, "--resume")
    assert_same(read(out), ref, "stopped with a batch held and resumed")


def assert_done_rows_right(path, ref, what):
    """The file opens; every row marked done equals the reference; no other status appears."""
    with h5py.File(path, "r") as f:
        status = f["tasks/status"][:]
        assert set(np.unique(status).tolist()) <= {0, 1}, f"{what}: statuses {np.unique(status)}"
        done = status == 1
        for name in DATASETS:
            assert np.array_equal(f[name][:][done], ref[name][done], equal_nan=True), f"{what}: /{name}"
    return int(done.sum()), len(status)


def stop_mid_run(invsweep_bin, sweep, out, sig):
    """Starts the run (under mpirun unless NP=1), sends `sig` once a task is done; returns the
    exit code, stderr and the seconds from the signal to the end."""
    np_ = 0 if NP == 1 else NP
    p = subprocess.Popen(command(invsweep_bin, np_, "run", sweep, "--out", out, "--quiet"), env=mpi_env(),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    wait_until_done(out, 1)
    assert p.poll() is None, f"the run finished before {sig.name}; make the sweep longer"
    t0 = time.monotonic()
    p.send_signal(sig)  # to mpirun, which ends the job (SIGTERM) or passes the signal on (SIGUSR2)
    _, err = p.communicate(timeout=30)
    return p.returncode, err, time.monotonic() - t0


def test_usr2_through_mpirun_exits_143(invsweep_bin, long_reference, tmp_path):
    """mpirun ends a job itself on SIGTERM (exit 1) but forwards SIGUSR2 to the ranks, which
    stop now as on SIGTERM: the job's exit code is the ranks' 143; --resume completes the data."""
    sweep, ref = long_reference
    out = tmp_path / "stopped.h5"
    code, err, _ = stop_mid_run(invsweep_bin, sweep, out, signal.SIGUSR2)
    done, total = assert_done_rows_right(out, ref, "after SIGUSR2")
    assert code == 143, f"exit {code}\n{err}"
    assert "stopped by a signal" in err, err
    assert 0 < done < total
    run_sweep(invsweep_bin, NP, sweep, out, "--resume")
    assert_same(read(out), ref, "stopped by SIGUSR2 and resumed")


def test_sigterm_stops_cleanly(invsweep_bin, long_reference, tmp_path):
    """SIGTERM ends the run within seconds; tasks in flight are left pending, never half
    written; --resume completes the data. NP=1 runs alone (no mpirun), to see exit code 143."""
    sweep, ref = long_reference
    out = tmp_path / "terminated.h5"
    code, err, seconds = stop_mid_run(invsweep_bin, sweep, out, signal.SIGTERM)
    done, total = assert_done_rows_right(out, ref, "after SIGTERM")
    print(f"SIGTERM: exit {code} after {seconds:.2f} s, {done}/{total} tasks done")
    assert seconds < 5, f"took {seconds:.1f} s to stop"
    assert "stopped by a signal" in err and "--resume" in err, err
    assert code == 143 if NP == 1 else code != 0
    assert 0 < done < total
    run_sweep(invsweep_bin, NP, sweep, out, "--resume")
    assert_same(read(out), ref, "stopped by SIGTERM and resumed")


def test_fatal_write_error_aborts_every_rank(invsweep_bin, reference, tmp_path):
    """A write that fails on one rank (injected: INVSWEEP_FAULT_WRITE_TASK) ends the whole job
    promptly through MPI_Abort, with the rank and the task named; the file keeps every task
    done before and resumes to the uninterrupted data."""
    sweep, ref = reference
    out = tmp_path / "aborted.h5"
    env = dict(mpi_env(), INVSWEEP_FAULT_WRITE_TASK="7")
    t0 = time.monotonic()
    p = subprocess.run(command(invsweep_bin, NP, "run", sweep, "--out", out, "--quiet"), env=env,
                       capture_output=True, text=True, timeout=120)
    seconds = time.monotonic() - t0
    print(f"fatal write error: exit {p.returncode} after {seconds:.2f} s")
    assert p.returncode == 2, p.stderr
    assert "fatal error on rank" in p.stderr and "writing task 7" in p.stderr, p.stderr
    done, _ = assert_done_rows_right(out, ref, "after the abort")
    with h5py.File(out, "r") as f:
        assert f["tasks/status"][7] == 0, "the failed write left task 7 marked done"
    run_sweep(invsweep_bin, NP, sweep, out, "--resume")
    assert_same(read(out), ref, "aborted and resumed")


@pytest.mark.skipif(NP < 2, reason="needs a second rank to kill")
def test_a_dying_rank_ends_the_job(invsweep_bin, long_reference, tmp_path):
    """One rank killed (a crash, the OOM killer): mpirun ends the others instead of leaving them
    waiting; the file keeps every task done and resumes."""
    sweep, ref = long_reference
    out = tmp_path / "rank-died.h5"
    p = subprocess.Popen(command(invsweep_bin, NP, "run", sweep, "--out", out, "--quiet"), env=mpi_env(),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    wait_until_done(out, 1)
    ranks = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True).stdout.split()
    assert len(ranks) == NP, f"expected {NP} rank processes under mpirun, found {ranks}"
    t0 = time.monotonic()
    os.kill(int(ranks[-1]), signal.SIGKILL)
    try:
        p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        raise AssertionError("the job hung after one rank died")
    seconds = time.monotonic() - t0
    done, total = assert_done_rows_right(out, ref, "after a rank died")
    print(f"one rank killed: job ended (exit {p.returncode}) {seconds:.2f} s later, {done}/{total} tasks done")
    assert p.returncode != 0 and seconds < 10
    run_sweep(invsweep_bin, NP, sweep, out, "--resume")
    assert_same(read(out), ref, "a rank died, resumed")
