"""The report (`python3 -m invsweep report`) under hostile input: every option validated
with exit 2 and no traceback, paths that are not UTF-8, and a report folder that is never
left half-written. See docs/RELIABILITY.md."""

import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, reference_oracle

SWEEP = """oracle = "paper4.h5"
output = "out.h5"
seed = 1
samples = 8
solvers = ["generator"]

[objective]
kind = "target"
targets = [[1900.0], [1000.0]]

[generator]
steps = 20

[[constraints]]
name = "x4 = 10"
fixed = { x4 = 10.0 }
"""


def python_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "analysis") + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture
def results(invsweep_bin, tmp_path, run):
    shutil.copy(reference_oracle(invsweep_bin, "paper4"), tmp_path / "paper4.h5")
    (tmp_path / "sweep.toml").write_text(SWEEP)
    run("run", "sweep.toml", "--quiet", cwd=tmp_path)
    return tmp_path


@pytest.mark.parametrize("option", [
    ["--seed", "-1"], ["--rtol", "nan"], ["--rtol", "inf"], ["--rtol", "0"], ["--atol", "nan"],
    ["--link-distance", "-1"], ["--link-distance", "nan"], ["--link-distance", "0"], ["--bootstrap", "0"],
    ["--max-cloud-plots", "-3"], ["--seed", "99999999999999"], ["--out", ""],
], ids=lambda o: " ".join(o))
def test_report_refuses_bad_options_without_a_traceback(results, option):
    args = [sys.executable, "-m", "invsweep", "report", "out.h5"]
    args += option if option[0] == "--out" else ["-o", "rep", *option]
    p = subprocess.run(args, cwd=results, capture_output=True, text=True, env=python_env(), timeout=300)
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr and option[0] in p.stderr, p.stderr
    assert not (results / "rep").exists()


def test_report_of_and_into_non_utf8_paths(results):
    # Both names hold bytes that are not UTF-8 (a file system accepts any bytes but / and NUL).
    os.rename(results / "out.h5", os.fsencode(str(results)) + b"/out-\xff.h5")
    out = os.fsencode(str(results)) + b"/rep-\xff\xfe"
    p = subprocess.run([sys.executable.encode(), b"-m", b"invsweep", b"report", b"out-\xff.h5", b"-o", out],
                       cwd=results, capture_output=True, env=python_env(), timeout=600)
    assert b"Traceback" not in p.stderr, p.stderr.decode(errors="replace")
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    assert os.path.exists(out + b"/index.html")
    assert not [n for n in os.listdir(results) if n.startswith(".rep")], "a temporary report folder is left"


def test_report_is_not_left_half_written(results):
    # A report that fails while writing (its folder's parent becomes read-only is not enough as
    # root): a plot count that cannot be written is simulated by a file where the folder goes.
    (results / "rep").write_text("a file, not a folder\n")
    p = subprocess.run([sys.executable, "-m", "invsweep", "report", "out.h5", "-o", "rep"], cwd=results,
                       capture_output=True, text=True, env=python_env(), timeout=600)
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    assert (results / "rep").read_text() == "a file, not a folder\n"
    assert not [n for n in os.listdir(results) if n.startswith(".rep")]
