"""slurm/invsweep.sbatch and slurm/submit on a real one-node Slurm cluster: the demo sweep on
2 ranks; a job requeued mid-run (`scontrol requeue`) that finishes with the data of an
uninterrupted run; a job told to stop before its time limit (SIGUSR1 to the batch shell, as
`--signal=B:USR1@300` does) that leaves a consistent file which the next job completes."""

import os
import shutil
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import ROOT, reference_oracle

from invsweep.oracle import load_oracle

SBATCH = ROOT / "slurm/invsweep.sbatch"
DATASETS = ["vectors", "outputs", "residuals", "loss", "tasks/status", "tasks/steps", "tasks/final_loss"]


def demo_sweep(invsweep_bin, directory: Path, name="demo", **changes) -> Path:
    """jobs/demo.toml with its oracle in place and top-level keys changed."""
    (directory / "oracles").mkdir(parents=True, exist_ok=True)
    (directory / "results").mkdir(exist_ok=True)
    oracle = directory / "oracles/paper4.h5"
    if not oracle.exists():
        shutil.copy(reference_oracle(invsweep_bin, "paper4"), oracle)
    text = (ROOT / "jobs/demo.toml").read_text().replace('"results/demo.h5"', f'"results/{name}.h5"')
    for key, value in changes.items():
        lines = text.splitlines()
        i = next(k for k, line in enumerate(lines) if line.startswith(f"{key} ="))
        lines[i] = f"{key} = {value}"
        text = "\n".join(lines) + "\n"
    sweep = directory / f"{name}.toml"
    sweep.write_text(text)
    return sweep


def read(path):
    with h5py.File(path, "r") as f:
        return {name: f[name][:] for name in DATASETS}


def status_counts(results: Path):
    """(done, total) from the results file, or None while it does not exist yet."""
    if not results.exists():
        return None
    with h5py.File(results, "r") as f:  # opens while the job writes it (the runner keeps it consistent)
        status = f["tasks/status"][:]
    return int((status == 1).sum()), len(status)


def wait_for_progress(results: Path, fraction: float, timeout=300):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            counts = status_counts(results)
        except OSError:  # being created
            counts = None
        if counts and counts[0] >= fraction * counts[1]:
            return counts
        time.sleep(0.2)
    raise AssertionError(f"{results}: no progress to {fraction:.0%} in {timeout} s")


def test_demo_sweep_on_two_ranks(cluster, invsweep_bin, tmp_path):
    t0 = time.monotonic()
    sweep = demo_sweep(invsweep_bin, tmp_path)
    jobid = cluster.sbatch("-n", "2", SBATCH, sweep, cwd=tmp_path)
    info = cluster.wait(jobid)
    print(f"\ndemo sweep (320 tasks) on 2 ranks through Slurm: {time.monotonic() - t0:.1f} s")
    log = (tmp_path / "results/demo.log").read_text()
    assert info["JobState"] == "COMPLETED", f"job {jobid}: {info['JobState']}\n{log}"
    assert f"=== job {jobid} (restart 0)" in log and "2 ranks" in log
    assert "srun --mpi=pmix" in log, log  # Debian's Slurm has the PMIx plugin
    assert "invsweep exited with 0" in log
    # Slurm's own output file only points at the log.
    slurm_out = (tmp_path / f"slurm-{jobid}.out").read_text()
    assert "log " in slurm_out and "results/demo.log" in slurm_out

    results = tmp_path / "results/demo.h5"
    with h5py.File(results, "r") as f:
        assert np.all(f["tasks/status"][:] == 1)
        ranks = set(f["tasks/rank"][:].tolist())
        vectors, outputs = f["vectors"][:], f["outputs"][:]
    assert ranks == {0, 1}, f"tasks ran on ranks {ranks}"
    # numpy re-evaluates the oracle stored in the file on the stored vectors.
    np.testing.assert_allclose(load_oracle(results)(vectors), outputs, rtol=1e-9, atol=1e-9)

    # Submitting the finished sweep again is harmless: nothing to run, the file is unchanged.
    before = read(results)
    info = cluster.wait(cluster.sbatch("-n", "2", SBATCH, sweep, cwd=tmp_path))
    assert info["JobState"] == "COMPLETED"
    assert "320 tasks (0 to run)" in (tmp_path / "results/demo.log").read_text()
    after = read(results)
    assert all(np.array_equal(before[k], after[k], equal_nan=True) for k in DATASETS)


@pytest.fixture(scope="module")
def long_sweep(invsweep_bin, tmp_path_factory):
    """A sweep of ~20 s on 2 ranks, and its data from an uninterrupted run with mpirun outside
    Slurm (the data do not depend on the launcher or the number of ranks)."""
    d = tmp_path_factory.mktemp("long")
    sweep = demo_sweep(invsweep_bin, d, name="long", replicates=12)
    t0 = time.monotonic()
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_btl="self,vader")
    p = subprocess.run(["mpiexec", "-n", "2", "--oversubscribe", invsweep_bin, "run", sweep, "--out",
                        d / "results/reference.h5", "--quiet"], capture_output=True, text=True, env=env, timeout=900)
    assert p.returncode == 0, p.stderr
    print(f"\nreference run of the long sweep: {time.monotonic() - t0:.1f} s")
    return sweep, read(d / "results/reference.h5")


def copy_sweep(sweep: Path, directory: Path) -> Path:
    shutil.copytree(sweep.parent / "oracles", directory / "oracles")
    (directory / "results").mkdir()
    shutil.copy(sweep, directory / sweep.name)
    return directory / sweep.name


def assert_same(results: Path, reference: dict, what: str):
    got = read(results)
    for name in DATASETS:
        assert np.array_equal(got[name], reference[name], equal_nan=True), f"{what}: /{name} differs"


def test_requeued_mid_run_finishes_with_uninterrupted_data(cluster, invsweep_bin, long_sweep, tmp_path):
    t0 = time.monotonic()
    sweep = copy_sweep(long_sweep[0], tmp_path)
    results = tmp_path / "results/long.h5"
    jobid = cluster.sbatch("-n", "2", SBATCH, sweep, cwd=tmp_path)
    done, total = wait_for_progress(results, 0.2)
    cluster.cmd("scontrol", "requeue", jobid)
    info = cluster.wait(jobid, until=("PENDING",), timeout=120)
    at_requeue = status_counts(results)
    print(f"\nrequeued job {jobid} at {done}/{total} tasks; {at_requeue[0]} done when its ranks had stopped")
    assert at_requeue[0] < total, "the job finished before the requeue: make the sweep longer"
    # The killed job's file opens and its done rows are right.
    with h5py.File(results, "r") as f:
        ok = f["tasks/status"][:] == 1
        for name in DATASETS:
            assert np.array_equal(f[name][:][ok], long_sweep[1][name][ok], equal_nan=True), name
    # Slurm holds a requeued job for about two minutes before it may start again; let it go now.
    cluster.cmd("scontrol", "update", f"JobId={jobid}", "StartTime=now")
    info = cluster.wait(jobid)
    log = (tmp_path / "results/long.log").read_text()
    print(f"requeue scenario: {time.monotonic() - t0:.1f} s")
    assert info["JobState"] == "COMPLETED", f"{info['JobState']}\n{log}"
    assert info["Restarts"] == "1"
    assert f"=== job {jobid} (restart 1)" in log and "(resumed)" in log, log
    assert_same(results, long_sweep[1], "requeued mid-run")


def test_stop_before_time_limit_then_next_job_completes(cluster, invsweep_bin, long_sweep, tmp_path):
    t0 = time.monotonic()
    sweep = copy_sweep(long_sweep[0], tmp_path)
    results = tmp_path / "results/long.h5"
    jobid = cluster.sbatch("-n", "2", SBATCH, sweep, cwd=tmp_path)
    wait_for_progress(results, 0.2)
    # What `#SBATCH --signal=B:USR1@300` does before the time limit.
    cluster.cmd("scancel", "--batch", "--signal=USR1", jobid)
    t_signal = time.monotonic()
    info = cluster.wait(jobid)
    stop_seconds = time.monotonic() - t_signal
    log = (tmp_path / "results/long.log").read_text()
    assert info["JobState"] == "FAILED" and info["ExitCode"].startswith("143"), f"{info['JobState']}\n{log}"
    assert "stopped taking tasks (SIGUSR1)" in log, log
    done, total = status_counts(results)
    print(f"\nSIGUSR1: job {jobid} ended {stop_seconds:.1f} s later with {done}/{total} tasks done")
    assert 0 < done < total
    with h5py.File(results, "r") as f:  # no task half-written: rows are done or untouched
        status = f["tasks/status"][:]
        assert set(np.unique(status).tolist()) <= {0, 1}
        ok = status == 1
        for name in DATASETS:
            assert np.array_equal(f[name][:][ok], long_sweep[1][name][ok], equal_nan=True), name
    # The next job (a plain re-submission) continues the file.
    info = cluster.wait(cluster.sbatch("-n", "2", SBATCH, sweep, cwd=tmp_path))
    assert info["JobState"] == "COMPLETED", (tmp_path / "results/long.log").read_text()
    print(f"stop-and-resubmit scenario: {time.monotonic() - t0:.1f} s")
    assert_same(results, long_sweep[1], "stopped by SIGUSR1 and resubmitted")


def test_submit_refuses_a_bad_sweep_before_queueing(cluster, invsweep_bin, tmp_path):
    sweep = demo_sweep(invsweep_bin, tmp_path)
    sweep.write_text(sweep.read_text().replace("samples = 64", "samples = -3"))
    before = cluster.jobs()
    p = subprocess.run([ROOT / "slurm/submit", sweep, "--ntasks", "2"], capture_output=True, text=True,
                       env=dict(cluster.env, INVSWEEP=invsweep_bin), timeout=120)
    assert p.returncode == 2, p.stdout + p.stderr
    assert "samples" in p.stderr and "not submitted" in p.stderr
    assert cluster.jobs() == before


def test_submit_prints_job_and_paths(cluster, invsweep_bin, tmp_path):
    sweep = demo_sweep(invsweep_bin, tmp_path, replicates=1)
    p = subprocess.run([ROOT / "slurm/submit", sweep, "--ntasks", "2", "--time", "10"], capture_output=True,
                       text=True, env=dict(cluster.env, INVSWEEP=invsweep_bin), timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    jobid = p.stdout.split("submitted job ")[1].split()[0]
    assert f"results   {tmp_path}/results/demo.h5" in p.stdout
    assert f"log       {tmp_path}/results/demo.log" in p.stdout
    info = cluster.wait(jobid)
    assert info["JobState"] == "COMPLETED", (tmp_path / "results/demo.log").read_text()
    assert info["TimeLimit"] == "00:10:00"
    assert (tmp_path / f"results/slurm-{jobid}.out").exists()
