"""`check` prints what a user plans an allocation with: the results file's size (checked here
against the file a run then writes), the memory per rank, and the run time with the range of
the calibration's spread over a sample of its tasks."""

import re

UNITS = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "TiB": 1024**4}


def size_of(text: str) -> float:
    value, unit = text.split()
    return float(value) * UNITS[unit]


def test_check_estimates_the_file_memory_and_time(run, job, tmp_path):
    sweep = job("demo")
    p = run("check", sweep, "--out", tmp_path / "results" / "demo.h5", cwd=tmp_path)
    out = p.stdout
    size = size_of(re.search(r"output\s+\S+ \(([\d.]+ \w+)\)", out).group(1))
    memory = re.search(r"memory\s+about ([\d.]+ \w+) per rank", out)
    assert memory and size_of(memory.group(1)) > 0, out
    t = re.search(r"run time\s+about (\S+ \S+) on 1 rank \((\S+ \S+) – (\S+ \S+): two standard errors", out)
    assert t, out
    run("run", sweep, "--out", tmp_path / "results" / "demo.h5", "--quiet", cwd=tmp_path)
    actual = (tmp_path / "results" / "demo.h5").stat().st_size
    assert 0.7 * actual <= size <= 1.3 * actual, (size, actual)
