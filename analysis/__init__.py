"""invsweep analysis: read oracle and results files written by invsweep, with numpy and h5py.

The readers here depend only on the file contracts in docs/FILE_FORMATS.md, never on the C++
code, so they double as an independent check of what the C++ side writes.
"""

from .oracle import Oracle, load_oracle

__all__ = ["Oracle", "load_oracle"]
