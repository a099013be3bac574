"""The README's main command, as a newcomer runs it: `./jobs/quickstart.sh` in a fresh clone of
this checkout's HEAD (so git-ignored folders such as jobs/results/ do not exist), installing
into a temporary prefix; then the installed `invsweep` and `python3 -m invsweep` from another
folder. Commit first: the clone holds HEAD, not the work tree's uncommitted changes."""

import os
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = "/usr/bin/python3"


def test_quickstart_from_a_fresh_clone(tmp_path):
    clone, prefix, elsewhere = tmp_path / "clone", tmp_path / "prefix", tmp_path / "elsewhere"
    elsewhere.mkdir()
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    head = subprocess.run(["git", "-C", str(clone), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()
    assert not (clone / "jobs/results").exists()

    # A user's environment: nothing pointing into this checkout.
    env = {k: v for k, v in os.environ.items() if k not in ("INVSWEEP", "PYTHONPATH", "INVSWEEP_TEST_ORACLES")}
    env["INVSWEEP_PREFIX"] = str(prefix)
    t0 = time.monotonic()
    p = subprocess.run(["./jobs/quickstart.sh"], cwd=clone, env=env, capture_output=True, text=True, timeout=5400)
    wall = time.monotonic() - t0
    print(f"\nquickstart from a fresh clone: exit {p.returncode} in {wall:.0f} s")
    assert p.returncode == 0, f"quickstart failed ({p.returncode}):\n{p.stdout[-6000:]}\n{p.stderr[-6000:]}"
    results = clone / "jobs/results/demo.h5"
    assert results.is_file() and (clone / "jobs/results/demo-report/index.html").is_file()

    # The installed program, from another folder.
    exe = prefix / "bin/invsweep"
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True).stdout
    assert head in version, version
    s = subprocess.run([exe, "status", results], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert s.returncode == 0 and "320" in s.stdout, s.stdout + s.stderr
    for script in ("invsweep.sbatch", "submit", "local-cluster"):
        assert os.access(prefix / "share/invsweep/slurm" / script, os.X_OK), script

    # The installed Python package (not this checkout's), from another folder.
    site = subprocess.run([PYTHON, ROOT / "cmake/python_site_dir.py", prefix], capture_output=True, text=True,
                          check=True).stdout.split()[0]
    penv = dict(env, PYTHONPATH=site)
    r = subprocess.run([PYTHON, "-m", "invsweep", "report", results, "-o", elsewhere / "report"], cwd=elsewhere,
                       env=penv, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    assert (elsewhere / "report/index.html").is_file()
    code = ("import invsweep, sys; ds = invsweep.open_results(sys.argv[1]); "
            "print(invsweep.__file__); print(int((ds.status == 'done').sum()), ds.sizes['task'])")
    o = subprocess.run([PYTHON, "-c", code, results], cwd=elsewhere, env=penv, capture_output=True, text=True)
    assert o.returncode == 0, o.stderr
    where, counts = o.stdout.split("\n")[:2]
    assert where.startswith(site), where
    assert counts == "320 320", counts
