"""The collective create of a results file and the resume of a complete one, at 10^4, 10^5
and 10^6 tasks of the demo's shape (64 vectors of the paper oracle's 4 features): the
runner's own figures. A benchmark, not a test: it prints figures.

  /usr/bin/python3 bench/create_and_resume.py [--ranks R] [TASKS ...]

Create: `invsweep run` is stopped with SIGUSR1 once its file exists (it takes no task, or
finishes the one in flight); its summary says how long the create took. Resume: every row
of that file is then marked done with valid data (h5py: vectors at the middle of the box),
and `invsweep run --resume` has nothing to run: its summary says how long the start took
(reading /tasks/status, validating every done row) and the open; `invsweep status` is timed
as well."""

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BIN = os.environ.get("INVSWEEP", str(ROOT / "build/release/src/invsweep"))
ORACLE = ROOT / "jobs/oracles/paper4.h5"

SWEEP = """oracle = "{oracle}"
seed = 1
samples = 64
solvers = ["adjoint"]
[objective]
kind = "target"
targets = {{ from = [400.0], to = [2900.0], count = {n} }}
[adjoint]
steps = 20
"""


def env():
    e = dict(os.environ, OMPI_MCA_btl="self,vader", OMPI_MCA_pml="ob1")
    if os.geteuid() == 0:
        e.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    return e


def summary(err):
    return [line.replace("invsweep: ", "    ") for line in err.splitlines() if re.match(r"invsweep: (HDF5|\d+ tasks in)", line)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ranks", type=int, default=1)
    ap.add_argument("sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    a = ap.parse_args()
    if not ORACLE.exists():
        subprocess.run([str(ROOT / "jobs/make-oracles.sh"), "paper4"], check=True, env=dict(env(), INVSWEEP=BIN),
                       stdout=subprocess.DEVNULL)
    mpi = ["mpirun", "-n", str(a.ranks), "--oversubscribe"]
    print(f"{subprocess.run([BIN, '--version'], capture_output=True, text=True).stdout.strip()}; {a.ranks} rank(s); "
          f"load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="invsweep-create.") as work:
        work = Path(work)
        for n in a.sizes:
            sweep = work / "sweep.toml"
            sweep.write_text(SWEEP.format(oracle=ORACLE, n=n))
            out = work / f"r{n}.h5"
            t0 = time.monotonic()
            p = subprocess.Popen([*mpi, BIN, "run", sweep, "--out", out, "--progress-every", "1000"], env=env(),
                                 stderr=subprocess.PIPE, text=True)
            while not out.exists() and p.poll() is None:
                time.sleep(0.005)
            p.send_signal(signal.SIGUSR1)  # mpirun passes it on: finish the task in flight, take no more
            _, err = p.communicate()
            size = out.stat().st_size
            print(f"{n} tasks, {size / 2**20:.0f} MiB: create (wall {time.monotonic() - t0:.2f} s with mpirun and "
                  f"start-up; exit {p.returncode})")
            print("\n".join(summary(err)))
            t0 = time.monotonic()
            with h5py.File(out, "r+") as f:
                lo, hi = f["constraints/lower"][0], f["constraints/upper"][0]
                mid = np.where(np.isfinite(lo) & np.isfinite(hi), (lo + hi) / 2, 0.0)
                ns, no = f["vectors"].shape[1], f["outputs"].shape[2]
                step = 65536
                vec = np.empty((step, ns, len(mid)))
                vec[:] = mid
                zeros_out, zeros_res = np.zeros((step, ns, no)), np.zeros((step, ns))
                for r0 in range(0, n, step):
                    r1 = min(n, r0 + step)
                    f["vectors"].write_direct(vec, np.s_[: r1 - r0], np.s_[r0:r1])
                    f["outputs"].write_direct(zeros_out, np.s_[: r1 - r0], np.s_[r0:r1])
                    f["residuals"].write_direct(zeros_res, np.s_[: r1 - r0], np.s_[r0:r1])
                f["tasks/status"][:] = 1
            print(f"  (every row marked done by h5py in {time.monotonic() - t0:.1f} s)")
            t0 = time.monotonic()
            p = subprocess.run([*mpi, BIN, "run", sweep, "--out", out, "--resume", "--progress-every", "1000"],
                               env=env(), capture_output=True, text=True)
            print(f"  resume of the complete file (wall {time.monotonic() - t0:.2f} s; exit {p.returncode}):")
            print("\n".join(summary(p.stderr)))
            t0 = time.monotonic()
            p = subprocess.run([BIN, "status", out], capture_output=True, text=True)
            print(f"  status: {time.monotonic() - t0:.2f} s (exit {p.returncode})")
            out.unlink()
            sys.stdout.flush()


if __name__ == "__main__":
    main()
