"""invsweep's Python side: read the oracle and results files written by invsweep (numpy, h5py,
xarray, pandas), analyse them, write a report, and import PyTorch / ONNX models as oracles.

    import invsweep
    ds = invsweep.open_results("results.h5")     # xarray.Dataset, lazy (dims task, sample, feature, output, step)
    df = invsweep.tidy(ds)                        # pandas DataFrame, one row per vector
    f = invsweep.oracle("oracle.h5")              # the oracle, evaluated with numpy: f(x) for x [..., n_in]
    v = invsweep.task_vectors("results.h5", 3)    # pandas DataFrame: task 3's vectors, outputs, residuals

The readers depend only on the file contracts in docs/FILE_FORMATS.md, never on the C++ code,
so they double as an independent check of what the C++ side writes. docs/ANALYSIS.md describes
the tables, definitions and thresholds; `python3 -m invsweep report RESULTS.h5 -o DIR` writes
them all with plots and an index.html; `python3 -m invsweep sensitivity ORACLE.h5` gives an
oracle's Sobol' indices.
"""

from . import oracle  # noqa: F401  (callable: invsweep.oracle(path) reads an oracle)
from .clusters import clusters_table, find_clusters
from .determinacy import determinacy_table, response_table
from .importance import compare_targets, importance_table
from .loader import Results, ResultsError, load_results
from .oracle import Oracle, load_oracle
from .report import ReportOptions, write_report
from .sensitivity import sensitivity_table, sobol
from .table import Table
from .tables import by_setting, summary_table, tasks_table, vectors_table
from .dataset import open_results, results_frame, tidy
from .export import task_vectors

__version__ = "0.1.0"

__all__ = [
    "Oracle", "ReportOptions", "Results", "ResultsError", "Table", "by_setting", "clusters_table",
    "compare_targets", "determinacy_table", "find_clusters", "importance_table", "load_oracle", "load_results",
    "open_results", "oracle", "response_table", "results_frame", "sensitivity_table", "sobol", "summary_table",
    "task_vectors", "tasks_table", "tidy", "vectors_table", "write_report",
]
