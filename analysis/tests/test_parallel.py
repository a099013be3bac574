"""parallel.Jobs: every job's result comes back under its name in the order given, whatever the
number of processes; a job started early sees the state of its start, its follow-up the state
when its result is back, queued jobs the state when the results are asked for; a failing job's
exception is raised in the caller after all ended."""

import os

import pytest

from invsweep import parallel


class Boom(ValueError):
    pass


def _boom():
    raise Boom("job failed")


@pytest.mark.parametrize("n", [1, 2, 3])
def test_results_in_order_whatever_the_processes(n):
    jobs = {f"job {i}": (lambda i=i: i * i) for i in range(9)}
    got = parallel.run(jobs, n)
    assert list(got) == list(jobs)
    assert [v for v, _ in got.values()] == [i * i for i in range(9)]
    assert all(seconds >= 0 for _, seconds in got.values())


@pytest.mark.parametrize("n", [1, 2])
def test_early_job_and_queued_jobs(n):
    state = {"tables": None}
    pool = parallel.Jobs(n)
    pool.start_now("early", lambda: ("early", os.getpid()))
    state["tables"] = [1, 2, 3]  # computed after the early job started
    for k in range(4):
        pool.add(f"plot {k}", lambda k=k: sum(state["tables"]) + k)
    got = pool.results()
    assert list(got) == ["early"] + [f"plot {k}" for k in range(4)]
    assert got["early"][0][0] == "early"
    assert (got["early"][0][1] != os.getpid()) == (n > 1)
    assert [got[f"plot {k}"][0] for k in range(4)] == [6, 7, 8, 9]


@pytest.mark.parametrize("n", [1, 2])
def test_a_failing_job_raises_its_exception(n):
    pool = parallel.Jobs(n)
    pool.start_now("early", lambda: 1)
    pool.add("fine", lambda: 2)
    pool.add("bad", _boom)
    pool.add("after", lambda: 3)
    with pytest.raises(Boom, match="job failed"):
        pool.results()


def test_large_results_come_back_whole():
    got = parallel.run({"a": lambda: b"x" * (3 << 20), "b": lambda: list(range(100000))}, 2)
    assert got["a"][0] == b"x" * (3 << 20)
    assert got["b"][0] == list(range(100000))


@pytest.mark.parametrize("n", [1, 2, 3])
def test_a_follow_up_gets_the_early_result_and_the_state_at_its_return(n):
    state = {"module": None}
    pool = parallel.Jobs(n)
    pool.start_now("table", lambda: [1, 2, 3], then=("plot", lambda t: (sum(t), state["module"], os.getpid())))
    state["module"] = "imported"  # after the early job started, before its result is back
    for k in range(3):
        pool.add(f"other {k}", lambda k=k: k)
    got = pool.results()
    assert list(got) == ["table", "other 0", "other 1", "other 2", "plot"]
    assert got["table"][0] == [1, 2, 3]
    assert got["plot"][0][:2] == (6, "imported")
    assert (got["plot"][0][2] != os.getpid()) == (n > 1)
    assert [got[f"other {k}"][0] for k in range(3)] == [0, 1, 2]


@pytest.mark.parametrize("n", [1, 2])
def test_a_follow_up_alone_and_one_after_a_failure(n, tmp_path):
    pool = parallel.Jobs(n)
    pool.start_now("table", lambda: 5, then=("plot", lambda t: t + 1))
    assert {k: v for k, (v, _) in pool.results().items()} == {"table": 5, "plot": 6}
    ran = tmp_path / "plot ran"
    pool = parallel.Jobs(n)
    pool.start_now("table", _boom, then=("plot", lambda t: ran.write_text("yes")))
    pool.add("fine", lambda: 2)
    with pytest.raises(Boom, match="job failed"):
        pool.results()
    assert not ran.exists()
