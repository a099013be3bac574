"""Prints the directory where `cmake --install --prefix PREFIX` puts the Python package, for
the interpreter that runs this script:

- the user prefix (~/.local): the user site-packages, which that interpreter searches;
- a prefix whose site directory the interpreter already searches (Debian: /usr/local →
  /usr/local/lib/python3.X/dist-packages): that directory;
- any other prefix: PREFIX/lib/python3.X/site-packages (then add it to PYTHONPATH).

The second line says whether the interpreter searches that directory ("on-path" / "off-path").
"""

import os
import site
import sys

prefix = os.path.realpath(os.path.expanduser(sys.argv[1]))
if prefix == os.path.realpath(site.getuserbase()):
    print(site.getusersitepackages())
    print("on-path")
    sys.exit(0)
ver = f"python{sys.version_info.major}.{sys.version_info.minor}"
for cand in (f"{prefix}/lib/{ver}/dist-packages", f"{prefix}/lib/{ver}/site-packages",
             f"{prefix}/lib/python3/dist-packages"):
    if any(os.path.realpath(p) == cand for p in sys.path if p):
        print(cand)
        print("on-path")
        sys.exit(0)
print(f"{prefix}/lib/{ver}/site-packages")
print("off-path")
