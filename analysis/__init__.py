"""invsweep analysis: read oracle and results files written by invsweep, with numpy and h5py.

The readers here depend only on the file contracts in docs/FILE_FORMATS.md, never on the C++
code, so they double as an independent check of what the C++ side writes. docs/ANALYSIS.md
describes the tables, definitions and thresholds; `python3 -m analysis report RESULTS.h5 -o DIR`
writes them all with plots and an index.html.
"""

from .clusters import clusters_table, find_clusters
from .importance import compare_targets, importance_table
from .loader import OBJECTIVES, SOLVERS, STATUSES, Results, ResultsError, load_results
from .tidy import by_setting, summary_table, tasks_table, vectors_table
from .oracle import Oracle, load_oracle
from .report import ReportOptions, write_report
from .table import Table

__all__ = [
    "OBJECTIVES", "SOLVERS", "STATUSES", "Oracle", "ReportOptions", "Results", "ResultsError", "Table",
    "by_setting", "clusters_table", "compare_targets", "find_clusters", "importance_table", "load_oracle",
    "load_results", "summary_table", "tasks_table", "vectors_table", "write_report",
]
