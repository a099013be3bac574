"""One small run of the whole program under valgrind (memcheck): no leak and no memory error
whose stack passes through the project's code. Leaks and errors inside OpenMPI, HDF5 or the C
library alone (one-time initialisation they never free) are counted and printed, not failed."""

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

SWEEP = """oracle = "oracle.h5"
output = "out.h5"
seed = 5
samples = 8
solvers = ["generator", "adjoint", "amortized"]

[objective]
kind = "target"
targets = [[900.0]]

[generator]
steps = 30
[adjoint]
steps = 30
[amortized]
steps = 30

[polish]
enabled = true

[[constraints]]
name = "x4 = 10"
fixed = { x4 = 10.0 }
"""

PROJECT_ERRORS = ("Leak_DefinitelyLost", "Leak_IndirectlyLost", "InvalidRead", "InvalidWrite", "InvalidFree",
                  "MismatchedFree", "UninitCondition", "UninitValue", "SyscallParam", "Overlap")


def frames(error):
    for frame in error.iter("frame"):
        yield (frame.findtext("fn") or "", frame.findtext("obj") or "")


ALLOCATORS = ("malloc", "calloc", "realloc", "strdup", "strndup", "operator new", "posix_memalign", "aligned_alloc",
              "memalign", "__vasprintf_internal", "vasprintf", "asprintf")


def responsible_object(stack) -> str:
    """The file (executable or library) of the code that made the allocation or access: the
    first frame below the allocator functions. The project's code is all in the executable."""
    for fn, obj in stack:
        if "vgpreload" in obj or any(fn.startswith(a) for a in ALLOCATORS):
            continue
        return obj
    return ""


def test_small_run_has_no_leak_from_project_code(tmp_path):
    binary = os.environ.get("INVSWEEP")
    if not binary or not shutil.which("valgrind"):
        pytest.fail("needs INVSWEEP (a build without -march=native) and valgrind")

    def run(*args, under_valgrind=False, xml=None):
        cmd = [binary, *map(str, args)]
        if under_valgrind:
            cmd = ["valgrind", "--leak-check=full", "--show-leak-kinds=definite,indirect", "--num-callers=40",
                   "--suppressions=/usr/share/openmpi/openmpi-valgrind.supp", "--xml=yes", f"--xml-file={xml}", *cmd]
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=1100)
        assert p.returncode == 0, f"{' '.join(cmd)} exited {p.returncode}\n{p.stderr[-3000:]}"
        return p

    run("dataset", "paper4", "--n", "300", "--seed", "1", "-o", "data.csv")
    run("train-oracle", "--data", "data.csv", "--inputs", "x1,x2,x3,x4", "--outputs", "y", "--hidden", "16,16",
        "--epochs", "20", "--quiet", "--out", "oracle.h5")
    (tmp_path / "sweep.toml").write_text(SWEEP)
    xml = tmp_path / "memcheck.xml"
    run("run", "sweep.toml", "--quiet", under_valgrind=True, xml=xml)

    ours, theirs = [], []
    for error in ET.parse(xml).getroot().iter("error"):
        kind = error.findtext("kind")
        if kind not in PROJECT_ERRORS:
            continue
        stack = list(frames(error))
        text = error.findtext("xwhat/text") or error.findtext("what") or kind
        in_project = responsible_object(stack).endswith("/invsweep")
        (ours if in_project else theirs).append(f"{kind}: {text}\n    " + "\n    ".join(fn for fn, _ in stack[:12]))
    print(f"\nvalgrind: {len(ours)} error(s) through invsweep's code, {len(theirs)} inside libraries only")
    for t in theirs[:5]:
        print("  library:", t.splitlines()[0])
    assert not ours, "\n".join(ours)
    assert (tmp_path / "out.h5").exists()
