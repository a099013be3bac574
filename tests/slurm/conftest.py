"""A real one-node Slurm cluster (slurm/local-cluster) for the session, plus the e2e fixtures
(binary, trained reference oracles)."""

import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("e2e_conftest", ROOT / "tests/e2e/conftest.py")
e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(e2e)

invsweep_bin = e2e.invsweep_bin
reference_oracle = e2e.reference_oracle


def free_port_pair() -> int:
    """A port P such that P and P + 1 are free (slurmctld and slurmd)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("", 0))
            port = s.getsockname()[1]
        if port > 60000:
            continue
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("", port))
                b.bind(("", port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no pair of free TCP ports")


class Cluster:
    def __init__(self, directory: Path):
        self.dir = directory
        self.env = dict(os.environ, SLURM_CONF=str(directory / "slurm.conf"))

    def cmd(self, *args, check=True, env=None, timeout=60):
        p = subprocess.run([str(a) for a in args], capture_output=True, text=True, env=env or self.env,
                           timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(map(str, args))} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
        return p

    def sbatch(self, *args, env=None, cwd=None) -> str:
        p = subprocess.run(["sbatch", "--parsable", *map(str, args)], capture_output=True, text=True,
                           env=env or self.env, cwd=cwd, timeout=60)
        assert p.returncode == 0, f"sbatch exited {p.returncode}:\n{p.stdout}\n{p.stderr}"
        return p.stdout.strip().split(";")[0]

    def job(self, jobid: str) -> dict:
        """The job's fields from `scontrol show job -o` (the record outlives the job: MinJobAge)."""
        out = self.cmd("scontrol", "show", "job", "-o", jobid).stdout
        fields = {}
        for item in out.split():
            if "=" in item:
                k, v = item.split("=", 1)
                fields[k] = v
        return fields

    def wait(self, jobid: str, timeout=600, until=("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL",
                                                   "OUT_OF_MEMORY", "PREEMPTED")) -> dict:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            info = self.job(jobid)
            if info.get("JobState") in until:
                return info
            time.sleep(0.5)
        raise AssertionError(f"job {jobid} still {self.job(jobid).get('JobState')} after {timeout} s")

    def jobs(self) -> list[str]:
        return self.cmd("squeue", "-h", "-o", "%i").stdout.split()


@pytest.fixture(scope="session")
def cluster():
    if os.geteuid() != 0:
        pytest.skip("the local Slurm cluster needs root (slurmd starts jobs as their users)")
    directory = Path(tempfile.mkdtemp(prefix="invsweep-slurm-"))
    t0 = time.monotonic()
    p = subprocess.run([str(ROOT / "slurm/local-cluster"), "start", str(directory), "--port", str(free_port_pair())],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"local-cluster start failed:\n{p.stdout}\n{p.stderr}"
    print(f"\ncluster up in {time.monotonic() - t0:.1f} s: {p.stdout.strip()}")
    c = Cluster(directory)
    pids = {name: int((directory / "run" / f"{name}.pid").read_text()) for name in ("munged", "slurmctld", "slurmd")}
    try:
        yield c
        left = c.jobs()
        assert not left, f"jobs left behind: {left}"
    finally:
        subprocess.run([str(ROOT / "slurm/local-cluster"), "stop", str(directory)], timeout=120)
        for name, pid in pids.items():
            try:
                os.kill(pid, 0)
                alive = True
            except ProcessLookupError:
                alive = False
            assert not alive, f"{name} (pid {pid}) still runs after stop"
        shutil.rmtree(directory, ignore_errors=True)
