"""Fixtures for whole-binary scenarios: the binary, a runner, and directory snapshots that
prove a failed command created or modified nothing."""

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def invsweep_bin() -> str:
    env = os.environ.get("INVSWEEP")
    if env:
        return str(Path(env).resolve())
    cand = ROOT / "build/release/src/invsweep"
    if cand.exists():
        return str(cand)
    pytest.skip("invsweep binary not built (set INVSWEEP=/path/to/invsweep)")


class Runner:
    def __init__(self, binary: str):
        self.binary = binary

    def __call__(self, *args, check=True, cwd=None):
        p = subprocess.run([self.binary, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=900)
        if check and p.returncode != 0:
            raise AssertionError(f"invsweep {' '.join(map(str, args))} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
        return p


@pytest.fixture
def run(invsweep_bin):
    return Runner(invsweep_bin)


def snapshot(directory: Path) -> dict:
    """Name → sha256 of every file below `directory`, and "dir" for every folder (a failed
    command must not leave even an empty folder behind)."""
    out = {}
    for p in sorted(directory.rglob("*")):
        if p.is_file():
            out[str(p.relative_to(directory))] = hashlib.sha256(p.read_bytes()).hexdigest()
        elif p.is_dir():
            out[str(p.relative_to(directory))] = "dir"
    return out


@pytest.fixture
def expect_bad_input(run, tmp_path):
    """Runs a command that must fail with exit code 2, a message containing every given
    fragment, and no file created or modified in tmp_path."""

    def _check(args, *fragments):
        before = snapshot(tmp_path)
        p = run(*args, check=False, cwd=tmp_path)
        assert p.returncode == 2, f"exit {p.returncode}, expected 2\nstdout: {p.stdout}\nstderr: {p.stderr}"
        for frag in fragments:
            assert frag in p.stderr, f"message lacks {frag!r}:\n{p.stderr}"
        assert snapshot(tmp_path) == before, "a failed command changed files"
        return p.stderr

    return _check


# Trained reference oracles, shared by every e2e file: made once per build directory (next to
# the binary) with the recipe of jobs/make-oracles.sh, under a lock so that parallel test
# processes do not train them twice.
REFERENCE_INPUTS = {"paper4": "x1,x2,x3,x4", "sinc": "x", "multiroot": "x"}


def cache_dir(binary: str) -> Path:
    """The directory of data the tests make once per build (trained oracles, reference runs):
    next to the binary's build, or INVSWEEP_TEST_ORACLES — a cache shared with another build
    (the oracles are data; a sanitized build need not train them again)."""
    cache = Path(os.environ.get("INVSWEEP_TEST_ORACLES") or Path(binary).resolve().parent.parent / "test-oracles")
    cache.mkdir(parents=True, exist_ok=True)
    return cache


def reference_oracle(binary: str, name: str) -> Path:
    import fcntl

    cache = cache_dir(binary)
    oracle = cache / f"{name}.h5"
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not oracle.exists():
            run = Runner(binary)
            train = cache / f"{name}_train.csv"
            run("dataset", name, "--n", "10000", "--seed", "1", "-o", train)
            tmp = cache / f"{name}.h5.part"
            tmp.unlink(missing_ok=True)
            run("train-oracle", "--data", train, "--inputs", REFERENCE_INPUTS[name], "--outputs", "y", "--quiet",
                "--out", tmp)
            tmp.rename(oracle)
    return oracle


@pytest.fixture
def job(invsweep_bin, tmp_path):
    """Copies jobs/<name>.toml into tmp_path with its oracle in place (tmp_path/oracles/) and
    returns the sweep's path; results go to tmp_path/results/."""
    import shutil
    import tomllib

    def _job(name: str) -> Path:
        src = ROOT / "jobs" / f"{name}.toml"
        oracle_rel = tomllib.loads(src.read_text())["oracle"]
        dest = tmp_path / oracle_rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not dest.exists():
            shutil.copy(reference_oracle(invsweep_bin, Path(oracle_rel).stem), dest)
        (tmp_path / "results").mkdir(exist_ok=True)
        shutil.copy(src, tmp_path / src.name)
        return tmp_path / src.name

    return _job
