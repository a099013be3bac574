"""Run independent jobs (closures that write files and return small results) on several
processes. The processes are forked, so they see the parent's arrays as they are when forked,
without copying or pickling them; only each job's return value travels back (pickled, through a
pipe). A job given to `start_now` runs at once in a process of its own, while the parent goes on
computing what the other jobs need (its follow-up job, given its result, runs in a process forked
from the parent once that result is back: it sees what the parent has built by then, such as
imported modules); the jobs given to `add` are shared, when `results` is called,
by worker processes that take them one at a time in the order given, each worker drawing many
(a fresh process per job would fault in its memory and warm up matplotlib every time). Where
fork is unavailable, or with one process, the jobs run in this process, in the order given,
when their results are asked for."""

from __future__ import annotations

import gc
import os
import pickle
import select
import struct
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


_FRAME = struct.Struct("<IQ")  # job index, length of the pickled (ok, value) that follows


def _outcome(name: str, fn: Callable) -> bytes:
    """(True, (value, seconds)) or (False, exception), pickled."""
    t = time.perf_counter()
    try:
        return pickle.dumps((True, (fn(), time.perf_counter() - t)))
    except BaseException as e:  # noqa: BLE001  (sent back and raised in the parent)
        try:
            return pickle.dumps((False, e))
        except Exception:  # noqa: BLE001
            return pickle.dumps((False, JobError(f"job {name}: {traceback.format_exc()}")))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class Jobs:
    """At most workers(n) processes at once; results() waits for every job."""

    def __init__(self, n: int | None):
        self.n = workers(n)
        self.fork = self.n > 1 and hasattr(os, "fork")
        self.jobs: list[tuple[str, Callable]] = []
        self.queued: list[int] = []  # indices of the jobs given to add()
        self.procs: dict[int, tuple[int, bytearray]] = {}  # result pipe fd -> (pid, bytes read)
        self.done: dict[int, tuple[bool, object]] = {}
        self.early: dict[int, int] = {}  # result pipe -> index of the start_now job it runs
        self.then: dict[int, tuple[str, Callable]] = {}  # start_now job index -> its follow-up

    def start_now(self, name: str, fn: Callable, then: tuple[str, Callable] | None = None) -> None:
        """Runs fn in a process forked now (in this process at results() without fork). `then`:
        (name, follow) -- the job follow(fn's result), run once fn's result is back, before
        the queued jobs, and reported under its own name (after the queued ones); not run if
        fn fails."""
        self.jobs.append((name, fn))
        i = len(self.jobs) - 1
        if then is not None:
            self.then[i] = then
        if not self.fork:
            self.queued.append(i)
            return
        self.early[self._fork([i], None)] = i

    def _follow_up(self, i: int) -> int | None:
        """Adds the follow-up of start_now job i, given its result; returns its job index."""
        if i not in self.then or not self.done.get(i, (False,))[0]:
            return None
        name, follow = self.then.pop(i)
        value = self.done[i][1][0]
        self.jobs.append((name, lambda: follow(value)))
        return len(self.jobs) - 1

    def add(self, name: str, fn: Callable) -> None:
        self.jobs.append((name, fn))
        self.queued.append(len(self.jobs) - 1)

    def _fork(self, indices: list[int], queue: int | None) -> int:
        """A process that runs `indices`, then the job indices it reads from the pipe `queue`;
        returns the pipe its results come through."""
        r, w = os.pipe()
        # The collector would otherwise walk every object of the parent in each process,
        # copying every page that holds one (copy-on-write): frozen, it leaves them alone.
        gc.freeze()
        pid = os.fork()
        if pid == 0:  # the worker: run, send each result, leave without cleanup
            code = 0
            try:
                os.close(r)
                for fd in list(self.procs):
                    os.close(fd)
                while True:
                    if indices:
                        i = indices.pop(0)
                    else:
                        rec = os.read(queue, 4) if queue is not None else b""
                        if len(rec) < 4:
                            break
                        i = struct.unpack("<I", rec)[0]
                    out = _outcome(*self.jobs[i])
                    _write_all(w, _FRAME.pack(i, len(out)) + out)
            except BaseException:  # noqa: BLE001
                code = 1
            finally:
                os._exit(code)
        os.close(w)
        self.procs[r] = (pid, bytearray())
        return r

    def _read(self, fd: int) -> bool:
        """Reads what process `fd` sent; False when it has ended."""
        pid, buf = self.procs[fd]
        chunk = os.read(fd, 1 << 20)
        buf += chunk
        while len(buf) >= _FRAME.size:
            i, size = _FRAME.unpack_from(buf)
            if len(buf) < _FRAME.size + size:
                break
            self.done[i] = pickle.loads(bytes(buf[_FRAME.size:_FRAME.size + size]))
            del buf[:_FRAME.size + size]
        if chunk:
            return True
        os.close(fd)
        del self.procs[fd]
        os.waitpid(pid, 0)
        return False

    def results(self) -> dict[str, tuple[object, float]]:
        """{name: (the job's return value, seconds it took)} in the order given; the first
        failed job's exception (in that order) is raised here, after every job has ended."""
        if not self.fork:
            # As in a worker: the collector leaves the objects that exist now alone (matplotlib
            # makes many short-lived ones, and each full collection walked them all again).
            gc.freeze()
            try:
                for i in list(self.queued):
                    self.done[i] = pickle.loads(_outcome(*self.jobs[i]))
                    k = self._follow_up(i)
                    if k is not None:
                        self.done[k] = pickle.loads(_outcome(*self.jobs[k]))
            finally:
                gc.unfreeze()
        else:
            qr = qw = None
            if self.queued:
                qr, qw = os.pipe()
                _write_all(qw, b"".join(struct.pack("<I", i) for i in self.queued))
                os.close(qw)  # the workers stop at the end of the queue
                for _ in range(max(1, min(self.n - len(self.early), len(self.queued)))):
                    self._fork([], qr)
            while self.procs:
                ready, _, _ = select.select(list(self.procs), [], [])
                for fd in ready:
                    if not self._read(fd) and fd in self.early:
                        k = self._follow_up(self.early.pop(fd))
                        # Its core is free: one more worker, for the follow-up and the jobs still
                        # queued (it leaves at once if the others have taken them all).
                        if k is not None or (qr is not None and len(self.done) < len(self.jobs)):
                            self._fork([] if k is None else [k], qr)
            if qr is not None:
                os.close(qr)
            gc.unfreeze()
        for i, (name, _) in enumerate(self.jobs):
            if i not in self.done:
                self.done[i] = (False, JobError(f"job {name}: its process ended without a result"))
            ok, value = self.done[i]
            if not ok:
                raise value
        return {name: self.done[i][1] for i, (name, _) in enumerate(self.jobs)}


def run(jobs: dict[str, Callable], n: int | None) -> dict[str, tuple[object, float]]:
    """{name: (jobs[name](), seconds it took)} for every job, the jobs spread over workers(n)
    processes, taken in the order given. An exception in a job is raised here."""
    pool = Jobs(n)
    for name, fn in jobs.items():
        pool.add(name, fn)
    return pool.results()
