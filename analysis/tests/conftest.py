import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _find_binary() -> str:
    env = os.environ.get("INVSWEEP")
    if env:
        return env
    for cand in (ROOT / "build/release/src/invsweep", ROOT / "build/debug/src/invsweep"):
        if cand.exists():
            return str(cand)
    pytest.skip("invsweep binary not built (set INVSWEEP=/path/to/invsweep)")


@pytest.fixture(scope="session")
def invsweep_bin() -> str:
    return _find_binary()


@pytest.fixture
def run(invsweep_bin):
    def _run(*args, check=True, cwd=None):
        p = subprocess.run([invsweep_bin, *map(str, args)], capture_output=True, text=True, cwd=cwd)
        if check and p.returncode != 0:
            raise AssertionError(f"invsweep {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
        return p

    return _run
