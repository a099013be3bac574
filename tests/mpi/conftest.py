"""MPI scenarios share the e2e fixtures (binary, runner, trained reference oracles)."""

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("e2e_conftest", Path(__file__).resolve().parents[1] / "e2e/conftest.py")
e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(e2e)

invsweep_bin = e2e.invsweep_bin
run = e2e.run
reference_oracle = e2e.reference_oracle
cache_dir = e2e.cache_dir
