"""Run independent jobs (closures that write files and return small results) on several
processes. Each job runs in a process forked for it when it starts, so it sees the parent's
arrays as they are at that moment without copying or pickling them; only its return value
travels back (pickled, through a pipe). A job can thus be started early, while the parent goes
on computing what later jobs need. Where fork is unavailable, or with one process, the jobs run
in this process, in the order given, when their results are asked for."""

from __future__ import annotations

import os
import pickle
import select
import time
import traceback
from typing import Callable


def workers(n: int | None) -> int:
    """The number of processes for `n` (None: every core this process may use)."""
    if n is not None:
        return max(1, n)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


class JobError(RuntimeError):
    """A job failed in its process and its exception could not be sent back as it was."""


def _timed(fn: Callable):
    t = time.perf_counter()
    return fn(), time.perf_counter() - t


class Jobs:
    """At most workers(n) jobs at once, each started (forked) as soon as a process is free;
    results() waits for all of them."""

    def __init__(self, n: int | None):
        self.n = workers(n)
        self.fork = self.n > 1 and hasattr(os, "fork")
        self.waiting: list[tuple[str, Callable]] = []
        self.running: dict[int, tuple[str, int, bytearray]] = {}  # pipe fd -> (name, pid, bytes read)
        self.done: dict[str, tuple[bool, object]] = {}
        self.order: list[str] = []

    def start(self, name: str, fn: Callable) -> None:
        self.order.append(name)
        self.waiting.append((name, fn))
        if self.fork:
            self._fill()

    def _fill(self) -> None:
        while self.waiting and len(self.running) < self.n:
            name, fn = self.waiting.pop(0)
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:  # the job's process: run, send the result, leave without cleanup
                os.close(r)
                code = 0
                try:
                    try:
                        out = pickle.dumps((True, _timed(fn)))
                    except BaseException as e:  # noqa: BLE001  (sent back and raised there)
                        try:
                            out = pickle.dumps((False, e))
                        except Exception:  # noqa: BLE001
                            out = pickle.dumps((False, JobError(f"job {name}: {traceback.format_exc()}")))
                    with os.fdopen(w, "wb") as f:
                        f.write(out)
                except BaseException:  # noqa: BLE001
                    code = 1
                finally:
                    os._exit(code)
            os.close(w)
            self.running[r] = (name, pid, bytearray())

    def results(self) -> dict[str, tuple[object, float]]:
        """{name: (the job's return value, seconds it took)} in the order started; the first
        failed job's exception (in that order) is raised here, after every job has ended."""
        if not self.fork:
            for name, fn in self.waiting:
                self.done[name] = (True, _timed(fn))
            self.waiting = []
        while self.running:
            ready, _, _ = select.select(list(self.running), [], [])
            for fd in ready:
                name, pid, buf = self.running[fd]
                chunk = os.read(fd, 1 << 20)
                if chunk:
                    buf += chunk
                    continue
                os.close(fd)
                del self.running[fd]
                _, status = os.waitpid(pid, 0)
                try:
                    self.done[name] = pickle.loads(bytes(buf))
                except Exception:  # noqa: BLE001  (the process died before sending its result)
                    self.done[name] = (False, JobError(f"job {name}: its process ended without a result "
                                                       f"(wait status {status})"))
            self._fill()
        for name in self.order:
            ok, value = self.done[name]
            if not ok:
                raise value
        return {name: self.done[name][1] for name in self.order}


def run(jobs: dict[str, Callable], n: int | None) -> dict[str, tuple[object, float]]:
    """{name: (jobs[name](), seconds it took)} for every job, the jobs spread over workers(n)
    processes, started in the order given. An exception in a job is raised here."""
    pool = Jobs(min(workers(n), max(len(jobs), 1)))
    for name, fn in jobs.items():
        pool.start(name, fn)
    return pool.results()
