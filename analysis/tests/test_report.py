"""`python3 -m invsweep report`: the report renders (every image index.html references exists
and is a PNG), the CSV tables hold the library's values, excluded tasks stay out, bad input
exits 2 with a named cause and writes nothing."""

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

import invsweep
from invsweep.clusters import clusters_table, find_clusters
from invsweep.importance import importance_table
from invsweep.loader import load_results
from invsweep.table import read_csv
from results_factory import Synth, write_oracle
from test_clusters import multiroot_file, multiroot_roots
from test_importance import paper4_file

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"


def report(*args, check=True):
    # From another folder, with the package under test first on the path (not an installed copy).
    env = dict(os.environ, PYTHONPATH=str(Path(invsweep.__file__).parents[1]))
    p = subprocess.run([sys.executable, "-m", "invsweep", "report", *map(str, args)], cwd=ROOT / "jobs",
                       capture_output=True, text=True, timeout=600, env=env)
    if check and p.returncode != 0:
        raise AssertionError(f"exit {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def assert_renders(out: Path) -> list[str]:
    """Every src/href in index.html names an existing file; images are PNGs. Returns the images."""
    text = (out / "index.html").read_text()
    images = re.findall(r"<img src='([^']+)'", text)
    links = re.findall(r"<a href='([^']+)'", text)
    assert images, "no images in the report"
    for name in images + links:
        assert (out / name).is_file(), f"index.html references missing {name}"
    for name in images:
        data = (out / name).read_bytes()
        assert data[:8] == PNG and len(data) > 5000, name
    return images


def number(cell: str) -> float:
    return math.nan if cell == "" else float(cell)


def test_paper4_report_renders_and_tables_hold_the_library_values(tmp_path):
    results = tmp_path / "paper4.h5"
    paper4_file(results, n_samples=64)
    out = tmp_path / "report"
    p = report(results, "-o", out, "--bootstrap", "200", "--seed", "5")
    assert p.stdout.strip() == str(out / "index.html")
    images = assert_renders(out)
    assert {"loss_curves.png", "residuals.png", "importance.png", "target_vs_achieved.png", "clouds_1.png",
            "clouds_2.png"} <= set(images)
    html = (out / "index.html").read_text()
    assert "[objective]" in html and "samples = 8" in html  # the sweep's settings
    assert "y=1900" in html and "y=1000" in html

    res = load_results(results)
    imp = importance_table(res, n_boot=200, seed=5)
    rows = read_csv(out / "feature_importance.csv")
    assert list(rows[0])[:5] == ["target", "constraint", "feature", "importance", "rank"]
    assert {"ci_low", "ci_high", "spread", "n_vectors"} <= set(rows[0])
    assert len(rows) == len(imp) == 8
    for row, want in zip(rows, imp.rows()):
        for k, v in want.items():
            assert (number(row[k]) == v) if isinstance(v, float) else (row[k] == str(v)), (k, row[k], v)
    x2 = [r for r in rows if r["feature"] == "x2"]
    assert [r["rank"] for r in x2] == ["4", "4"]

    cl = clusters_table(find_clusters(res), res.feature_names)
    rows = read_csv(out / "clusters.csv")
    assert list(rows[0])[:9] == ["target", "constraint", "cluster", "size", "best_residual", "center_x1",
                                 "center_x2", "center_x3", "center_x4"]
    assert [(r["target"], r["size"]) for r in rows] == [("y=1900", "256"), ("y=1000", "256")]
    for row, want in zip(rows, cl.rows()):
        for k, v in want.items():
            assert (number(row[k]) == v or (math.isnan(v) and row[k] == "")) if isinstance(v, float) \
                else row[k] == str(v), (k, row[k], v)


def test_multiroot_report_clusters(tmp_path):
    roots = multiroot_roots()
    results = tmp_path / "multiroot.h5"
    multiroot_file(results, roots)
    out = tmp_path / "report"
    report(results, "-o", out, "--bootstrap", "50")
    assert_renders(out)
    rows = read_csv(out / "clusters.csv")
    centres = sorted(float(r["center_x"]) for r in rows)
    assert len(centres) == 4
    assert np.max(np.abs(np.array(centres) - np.sort(roots))) < 0.05


def mixed_status_file(path):
    """Four tasks at target 1 (y = a): done, diverged, failed, pending; the non-done ones hold
    vectors too (a diverged run may have written some), which must not count by default."""
    rng = np.random.default_rng(2)
    v = np.stack([np.full((4, 20), 1.0) + rng.normal(0, 1e-4, (4, 20)), rng.uniform(0, 1, (4, 20))], axis=-1)
    v[3] = np.nan  # pending: nothing written
    statuses = ["done", "diverged", "failed", "pending"]
    tasks = [{"target": [1.0], "objective": "target", "solver": "adjoint", "replicate": i, "status": s}
             for i, s in enumerate(statuses)]
    Synth(features=["a", "b"], outputs=["y"], lo=[0, 0], hi=[2, 1], tasks=tasks, vectors=v,
          func=lambda x: x[..., :1], messages=["", "loss NaN", "exception", ""]).write(path)


def test_diverged_failed_pending_are_excluded_by_default(tmp_path):
    results = tmp_path / "mixed.h5"
    mixed_status_file(results)
    out = tmp_path / "r"
    report(results, "-o", out, "--bootstrap", "20")
    assert_renders(out)
    summary = read_csv(out / "summary.csv")
    assert [(r["n_tasks"], r["n_valid"], r["n_accepted"]) for r in summary] == [("1", "20", "20")]
    assert [r["task"] for r in read_csv(out / "tasks.csv")] == ["0"]
    assert {r["n_vectors"] for r in read_csv(out / "feature_importance.csv")} == {"20"}
    assert [r["size"] for r in read_csv(out / "clusters.csv")] == ["20"]
    assert "1 pending, 1 done, 1 diverged, 1 failed" in (out / "index.html").read_text()

    out_all = tmp_path / "r_all"
    report(results, "-o", out_all, "--all-tasks", "--bootstrap", "20")
    summary = read_csv(out_all / "summary.csv")
    assert [(r["n_tasks"], r["n_valid"], r["n_accepted"]) for r in summary] == [("4", "60", "60")]
    tasks = read_csv(out_all / "tasks.csv")
    assert [(r["status"], r["message"]) for r in tasks] == [("done", ""), ("diverged", "loss NaN"),
                                                            ("failed", "exception"), ("pending", "")]


def test_edge_cases_render(tmp_path):
    """One feature with a maximize setting; nothing accepted; six free features and two outputs."""
    rng = np.random.default_rng(9)
    one = tmp_path / "one.h5"
    v = np.r_[rng.uniform(0, 10, (2, 30)), rng.uniform(0, 10, (2, 30))][..., None]
    tasks = [{"target": [0.5], "objective": "target", "solver": "generator", "replicate": 0},
             {"target": [0.5], "objective": "target", "solver": "adjoint", "replicate": 0},
             {"target": None, "objective": "maximize", "solver": "adjoint", "replicate": 0},
             {"target": None, "objective": "minimize", "solver": "adjoint", "replicate": 1}]
    Synth(features=["x"], outputs=["y"], lo=[0], hi=[10], tasks=tasks, vectors=v, func=np.sin).write(one)
    report(one, "-o", tmp_path / "one", "--bootstrap", "20")
    images = assert_renders(tmp_path / "one")
    assert "target_vs_achieved.png" in images

    none_accepted = tmp_path / "none.h5"
    Synth(features=["a", "b"], outputs=["y"], lo=[0, 0], hi=[1, 1], vectors=rng.uniform(0, 1, (2, 10, 2)),
          residuals=np.full((2, 10), 5.0), func=lambda x: x[..., :1],
          tasks=[{"target": [1.0], "objective": "target", "solver": "adjoint"}] * 2).write(none_accepted)
    report(none_accepted, "-o", tmp_path / "none")
    assert_renders(tmp_path / "none")
    assert read_csv(tmp_path / "none" / "feature_importance.csv") == []
    assert read_csv(tmp_path / "none" / "clusters.csv") == []

    wide = tmp_path / "wide.h5"
    names = [f"f{i}" for i in range(6)]
    v = rng.normal(0.3, 0.01, (3, 40, 6))
    v[1] += 0.4  # a second family, far from the first in every feature
    Synth(features=names, outputs=["y", "z"], lo=[0] * 6, hi=[1] * 6, vectors=v, residuals=np.zeros((3, 40)),
          func=lambda x: np.stack([x[..., 0], x[..., 1]], axis=-1),
          tasks=[{"target": [1.0, 2.0], "objective": "target", "solver": "amortized", "replicate": r}
                 for r in range(3)]).write(wide)
    report(wide, "-o", tmp_path / "wide", "--bootstrap", "20")
    assert_renders(tmp_path / "wide")
    assert read_csv(tmp_path / "wide" / "summary.csv")[0]["target"] == "y=1, z=2"
    assert [r["size"] for r in read_csv(tmp_path / "wide" / "clusters.csv")] == ["80", "40"]


@pytest.fixture
def good_file(tmp_path):
    path = tmp_path / "good.h5"
    mixed_status_file(path)
    return path


def expect_bad_input(tmp_path, args, *fragments):
    out = tmp_path / "out"
    p = report(*args, "-o", out, check=False)
    assert p.returncode == 2, f"exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    for frag in fragments:
        assert frag in p.stderr, f"message lacks {frag!r}: {p.stderr}"
    assert not out.exists(), "a failed report must write nothing"
    assert "Traceback" not in p.stderr


def test_missing_file(tmp_path):
    expect_bad_input(tmp_path, [tmp_path / "absent.h5"], "absent.h5: no such file")


def test_not_hdf5(tmp_path):
    bad = tmp_path / "results.csv"
    bad.write_text("a,b\n1,2\n")
    expect_bad_input(tmp_path, [bad], "results.csv: not an HDF5 file")


def test_oracle_file_instead_of_results(tmp_path):
    oracle = tmp_path / "oracle.h5"
    with h5py.File(oracle, "w") as f:
        write_oracle(f.create_group("oracle"), ["a"], ["y"], [0.0], [1.0])
    expect_bad_input(tmp_path, [oracle], "oracle.h5: root attribute 'format'", "an oracle file")


def test_other_version(tmp_path, good_file):
    with h5py.File(good_file, "a") as f:
        f.attrs["format_version"] = 2
    expect_bad_input(tmp_path, [good_file], "good.h5: format_version 2 is not supported")


def test_missing_dataset(tmp_path, good_file):
    with h5py.File(good_file, "a") as f:
        del f["residuals"]
    expect_bad_input(tmp_path, [good_file], "good.h5: dataset '/residuals' is missing")


def test_bad_options(tmp_path, good_file):
    expect_bad_input(tmp_path, [good_file, "--rtol", "0"], "--rtol must be a finite number > 0")
    expect_bad_input(tmp_path, [good_file, "--bootstrap", "x"], "invalid int value")


def test_output_is_a_file(tmp_path, good_file):
    blocker = tmp_path / "taken"
    blocker.write_text("")
    p = report(good_file, "-o", blocker, check=False)
    assert p.returncode == 2 and "cannot write the report to" in p.stderr


CONTRACT = {
    "determinacy.csv": ["constraint", "target", "solver", "feature", "determinacy", "lo", "hi", "n"],
    "response.csv": ["constraint", "solver", "output", "feature", "slope", "lo", "hi", "n"],
    "sensitivity.csv": ["constraint", "output", "feature", "S1", "S1_lo", "S1_hi", "ST", "ST_lo", "ST_hi"],
}


def test_report_explains_determinacy_response_sensitivity_and_leads_with_sampler_rows(tmp_path):
    from test_determinacy import box_file, response_file

    from invsweep.determinacy import determinacy_table

    box_file(tmp_path / "box.h5")
    out = tmp_path / "box"
    report(tmp_path / "box.h5", "-o", out, "--seed", "3", "--sobol-n", "2048")
    images = assert_renders(out)
    assert {"determinacy.png", "sensitivity.png", "distributions.png"} <= set(images)
    for name, head in CONTRACT.items():
        assert (out / name).read_text().splitlines()[0].split(",")[:len(head)] == head, name
    rows = read_csv(out / "determinacy.csv")
    want = determinacy_table(load_results(tmp_path / "box.h5"), seed=3)
    assert [(r["solver"], r["feature"], number(r["determinacy"])) for r in rows] == \
        list(zip(want["solver"], want["feature"], want["determinacy"]))
    text = (out / "index.html").read_text()
    assert "Rows of solver sampler" in text and "Other solvers" in text
    assert "spread of this solver's solutions, not the distribution of solutions" in text
    for phrase in ("0 means the solutions leave the feature as free as the box does",
                   "the share of the output's variance that a feature explains alone",
                   "N = 2048 base samples", "is a family's fraction", "proportion of the solution mass"):
        assert phrase in text, phrase
    shares = [number(r["share"]) for r in read_csv(out / "clusters.csv")]
    assert abs(sum(shares) - 1) < 1e-12

    response_file(tmp_path / "resp.h5")
    out = tmp_path / "resp"
    report(tmp_path / "resp.h5", "-o", out, "--no-sensitivity")
    assert "response.png" in assert_renders(out)
    assert not (out / "sensitivity.csv").exists()
    rows = read_csv(out / "response.csv")
    assert [r["feature"] for r in rows if r["solver"] == "sampler"] == ["x1", "x2", "x3", "x4"]
    assert "how a feature's mean over the solutions moves as the target rises" in (out / "index.html").read_text()


def test_report_without_sampler_says_what_its_numbers_are(tmp_path):
    results = tmp_path / "paper4.h5"
    paper4_file(results, n_samples=32)
    out = tmp_path / "report"
    report(results, "-o", out, "--bootstrap", "100", "--sobol-n", "1024")
    text = (out / "index.html").read_text()
    assert "No sampler rows in this file" in text and "not the distribution of solutions" in text
    rows = read_csv(out / "determinacy.csv")
    assert rows and {r["faithful"] for r in rows} == {"False"}
    assert {r["faithful"] for r in read_csv(out / "clusters.csv")} == {"False"}


@pytest.mark.parametrize("args, fragment", [(["--sobol-n", "1"], "--sobol-n must be >= 2"),
                                            (["--sobol-n", "x"], "invalid int value")])
def test_report_bad_sobol_option_exits_2(tmp_path, args, fragment):
    results = tmp_path / "paper4.h5"
    paper4_file(results, n_samples=8)
    p = report(results, "-o", tmp_path / "out", *args, check=False)
    assert p.returncode == 2 and fragment in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "out").exists()
