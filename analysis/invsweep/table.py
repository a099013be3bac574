"""A minimal column table: named 1-D numpy arrays of equal length.

pandas is not among the Debian packages this project relies on, so the tables here are plain
dicts of columns. `pandas.DataFrame(table.columns)` turns one into a DataFrame where pandas
is installed.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np


class Table:
    def __init__(self, columns: dict[str, np.ndarray | list]):
        self.columns: dict[str, np.ndarray] = {}
        n = None
        for name, values in columns.items():
            arr = np.asarray(values)
            if arr.ndim != 1:
                raise ValueError(f"column {name!r}: expected 1-D values, got shape {arr.shape}")
            if n is not None and len(arr) != n:
                raise ValueError(f"column {name!r}: {len(arr)} values, expected {n}")
            n = len(arr)
            self.columns[name] = arr
        self._n = n or 0

    @classmethod
    def from_rows(cls, rows: list[dict], names: list[str]) -> "Table":
        """Rows as dicts; `names` fixes the column order (and the columns of an empty table)."""
        return cls({name: _column([row[name] for row in rows]) for name in names})

    @property
    def names(self) -> list[str]:
        return list(self.columns)

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def __contains__(self, name: str) -> bool:
        return name in self.columns

    def where(self, mask) -> "Table":
        """The rows where a boolean mask (or an index array) selects."""
        return Table({k: v[mask] for k, v in self.columns.items()})

    def rows(self) -> list[dict]:
        return [{k: _scalar(v[i]) for k, v in self.columns.items()} for i in range(self._n)]

    def to_csv(self, path: str | Path) -> None:
        """Writes a header row and one line per row; NaN and None are written as empty cells, floats
        with repr precision (they read back exactly)."""
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(self.names)
            for row in self.rows():
                w.writerow([_cell(v) for v in row.values()])

    def __repr__(self) -> str:
        return f"Table({self._n} rows: {', '.join(self.names)})"


def _column(values: list) -> np.ndarray:
    if values and all(isinstance(v, str) for v in values):
        return np.array(values, dtype=object)
    if not values:
        return np.array([], dtype=float)
    return np.asarray(values)


def _scalar(v):
    return v.item() if isinstance(v, np.generic) else v


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "" if math.isnan(v) else repr(v)
    return str(v)


def read_csv(path: str | Path) -> list[dict[str, str]]:
    """Reads a CSV written by Table.to_csv back as a list of dicts of strings."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))
