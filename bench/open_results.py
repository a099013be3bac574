"""How long invsweep.open_results takes on a results file of 10⁶ vectors (1,000 tasks × 1,000
samples × 4 features, the layout of docs/FILE_FORMATS.md written with h5py), and how long the
first full reads take. A benchmark, not a test: it prints figures.

    /usr/bin/python3 bench/open_results.py [DIR]        # PYTHONPATH=analysis from the repository
"""

import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

import invsweep

N_TASKS, N_SAMPLES, N_IN, N_OUT, N_LOG = 1000, 1000, 4, 1, 50


def write(path: Path) -> None:
    rng = np.random.default_rng(0)
    s = h5py.string_dtype("utf-8")
    with h5py.File(path, "w") as f:
        f.attrs.update({"format": "invsweep-results", "format_version": np.int64(1), "n_tasks": np.int64(N_TASKS),
                        "n_samples": np.int64(N_SAMPLES), "sweep_toml": "", "sweep_hash": "0", "created": "now",
                        "invsweep_version": "bench"})
        f.attrs["feature_names"] = np.array([f"x{i + 1}" for i in range(N_IN)], dtype=s)
        f.attrs["output_names"] = np.array(["y"], dtype=s)
        f.attrs["objective_names"] = np.array(["target", "range", "maximize", "minimize"], dtype=s)
        f.attrs["solver_names"] = np.array(["generator", "adjoint", "amortized"], dtype=s)
        f.attrs["status_names"] = np.array(["pending", "done", "diverged", "failed"], dtype=s)
        f["constraints/name"] = np.array(["free", "x4 fixed"], dtype=s)
        t = f.create_group("tasks")
        t["target"] = rng.uniform(0, 3000, (N_TASKS, N_OUT))
        t["objective"] = np.zeros(N_TASKS, np.int8)
        t["solver"] = (np.arange(N_TASKS) % 2).astype(np.int8)
        t["constraint"] = (np.arange(N_TASKS) // 2 % 2).astype(np.int32)
        t["replicate"] = (np.arange(N_TASKS) // 4).astype(np.int32)
        t["seed"] = np.arange(N_TASKS, dtype=np.uint64)
        t["status"] = np.ones(N_TASKS, np.uint8)
        for name in ("wall_seconds", "final_loss"):
            t[name] = rng.random(N_TASKS)
        t["steps"] = np.full(N_TASKS, 600, np.int64)
        t["rank"] = np.zeros(N_TASKS, np.int32)
        f["vectors"] = rng.random((N_TASKS, N_SAMPLES, N_IN))
        f["outputs"] = rng.random((N_TASKS, N_SAMPLES, N_OUT))
        f["residuals"] = rng.random((N_TASKS, N_SAMPLES))
        f["loss"] = rng.random((N_TASKS, N_LOG))
        f["loss_step"] = np.arange(N_LOG, dtype=np.int64) * 10


def main() -> None:
    directory = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
    path = directory / "million.h5"
    if not path.exists():
        write(path)
    print(f"{path}: {N_TASKS * N_SAMPLES:,} vectors, {path.stat().st_size / 2**20:.0f} MiB")
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        ds = invsweep.open_results(path)
        times.append(time.perf_counter() - t0)
        ds.close()
    print(f"open_results: median {np.median(times) * 1e3:.1f} ms, max {max(times) * 1e3:.1f} ms (5 opens)")
    with invsweep.open_results(path) as ds:
        t0 = time.perf_counter()
        one = ds.vectors.isel(task=500).values
        t1 = time.perf_counter()
        allv = ds.vectors.values
        t2 = time.perf_counter()
        frame = invsweep.tidy(ds)
        t3 = time.perf_counter()
    assert one.shape == (N_SAMPLES, N_IN) and allv.shape == (N_TASKS, N_SAMPLES, N_IN) and len(frame) == 10**6
    print(f"one task's vectors: {(t1 - t0) * 1e3:.1f} ms; all vectors: {(t2 - t1) * 1e3:.0f} ms; "
          f"tidy frame of 10^6 rows: {(t3 - t2) * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
