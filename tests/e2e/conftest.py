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
    """Name → sha256 of every file below `directory`."""
    out = {}
    for p in sorted(directory.rglob("*")):
        if p.is_file():
            out[str(p.relative_to(directory))] = hashlib.sha256(p.read_bytes()).hexdigest()
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
