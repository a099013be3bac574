"""Run independent jobs (closures that write files and return small results) on several
processes. The workers are forked, so they see the parent's loaded arrays without copying or
pickling them; only each job's return value travels back. Where fork is unavailable, or with
one process, the jobs run in this process, in order."""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Callable

_JOBS: dict[str, Callable] = {}  # set in the parent before the fork; read by the workers


def workers(n: int | None) -> int:
    """The number of processes for `n` (None: every core this process may use)."""
    if n is not None:
        return max(1, n)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _call(name: str):
    t = time.perf_counter()
    return _JOBS[name](), time.perf_counter() - t


def run(jobs: dict[str, Callable], n: int | None) -> dict[str, tuple[object, float]]:
    """{name: (jobs[name](), seconds it took)} for every job, the jobs spread over workers(n)
    processes, started in the order given. An exception in a job is raised here."""
    global _JOBS
    n = min(workers(n), len(jobs))
    _JOBS = jobs
    try:
        if n <= 1 or "fork" not in mp.get_all_start_methods():
            return {name: _call(name) for name in jobs}
        with ProcessPoolExecutor(max_workers=n, mp_context=mp.get_context("fork")) as pool:
            futures = {name: pool.submit(_call, name) for name in jobs}
            return {name: f.result() for name, f in futures.items()}
    finally:
        _JOBS = {}
