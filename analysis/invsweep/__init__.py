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

from importlib import import_module

from . import oracle  # noqa: F401  (callable: invsweep.oracle(path) reads an oracle)

# Each public name and the module that defines it, imported on first use (PEP 562): the report
# command then never loads pandas and xarray, which only open_results, tidy and the exports need.
_WHERE = {
    "clusters_table": "clusters", "find_clusters": "clusters",
    "determinacy_table": "determinacy", "response_table": "determinacy",
    "compare_targets": "importance", "importance_table": "importance",
    "Results": "loader", "ResultsError": "loader", "load_results": "loader",
    "Oracle": "oracle", "load_oracle": "oracle",
    "ReportOptions": "report", "write_report": "report",
    "sensitivity_table": "sensitivity", "sobol": "sensitivity",
    "Table": "table",
    "by_setting": "tables", "summary_table": "tables", "tasks_table": "tables", "vectors_table": "tables",
    "open_results": "dataset", "results_frame": "dataset", "tidy": "dataset",
    "task_vectors": "export",
}


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(import_module(f".{_WHERE[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))


__version__ = "0.1.0"

__all__ = [
    "Oracle", "ReportOptions", "Results", "ResultsError", "Table", "by_setting", "clusters_table",
    "compare_targets", "determinacy_table", "find_clusters", "importance_table", "load_oracle", "load_results",
    "open_results", "oracle", "response_table", "results_frame", "sensitivity_table", "sobol", "summary_table",
    "task_vectors", "tasks_table", "tidy", "vectors_table", "write_report",
]
