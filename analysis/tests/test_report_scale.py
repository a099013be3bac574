"""The report at scale: --jobs gives the same report whatever the number of processes, --quick
says what it skipped, the plot caps hold and are stated, subsampled clustering assigns the rest
to the nearest sampled vector, progress lines go to stderr, bad values exit 2 writing nothing."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from invsweep.clusters import link
from invsweep.report import QUICK_PLOTS, cloud_choice
from test_clusters import multiroot_file, multiroot_roots
from test_importance import paper4_file
from test_report import assert_renders, expect_bad_input, mixed_status_file, report


@pytest.fixture(scope="module")
def paper4(tmp_path_factory):
    path = tmp_path_factory.mktemp("scale") / "paper4.h5"
    paper4_file(path, n_samples=32)
    return path


def test_jobs_give_the_same_report(tmp_path, paper4):
    one, two = tmp_path / "one", tmp_path / "two"
    report(paper4, "-o", one, "--bootstrap", "50", "--sobol-n", "64", "--jobs", "1", "--quiet")
    report(paper4, "-o", two, "--bootstrap", "50", "--sobol-n", "64", "--jobs", "2", "--quiet")
    assert sorted(p.name for p in one.iterdir()) == sorted(p.name for p in two.iterdir())
    for csv in one.glob("*.csv"):
        assert csv.read_bytes() == (two / csv.name).read_bytes(), csv.name
    assert (one / "index.html").read_text() == (two / "index.html").read_text()
    assert_renders(two)


def test_quick_says_what_it_skipped(tmp_path, paper4):
    out = tmp_path / "quick"
    p = report(paper4, "-o", out, "--quick")
    html = (out / "index.html").read_text()
    assert "Quick report (--quick)" in html and "no Sobol" in html
    assert not (out / "sensitivity.csv").exists()
    assert len(list(out.glob("clouds_*.png"))) <= QUICK_PLOTS
    assert_renders(out)
    assert "report: read" in p.stderr and "report: plots" in p.stderr  # progress by default


def test_plot_caps_hold_and_are_stated(tmp_path, paper4):
    out = tmp_path / "capped"
    p = report(paper4, "-o", out, "--bootstrap", "50", "--no-sensitivity", "--max-panels", "1",
               "--max-cloud-plots", "1", "--quiet")
    assert p.stderr == ""
    assert [c.name for c in out.glob("clouds_*.png")] == ["clouds_1.png"]
    html = (out / "index.html").read_text()
    assert "show the first 1 of 2 settings" in html
    assert "Solution clouds are drawn for 1 of 2 settings" in html
    assert len((out / "summary.csv").read_text().splitlines()) == 3  # the tables keep every setting
    assert_renders(out)


def test_clouds_go_to_the_settings_with_most_families(tmp_path):
    results = tmp_path / "multiroot.h5"
    multiroot_file(results, multiroot_roots())
    from invsweep.clusters import find_clusters
    from invsweep.loader import load_results

    found = find_clusters(load_results(results))
    chosen = cloud_choice(found, 2)
    families = [int(sc.labels.max()) + 1 for sc in found]
    assert len(chosen) == min(2, len(found))
    assert families[chosen[0]] == max(families)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_subsampled_linkage_assigns_the_rest_to_the_nearest_sampled_vector(seed):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.1, 0.1], [0.8, 0.3], [0.4, 0.9]])
    x = np.concatenate([c + 0.01 * rng.standard_normal((150, 2)) for c in centres])
    labels, _, _ = link(x, max_points=60, seed=seed)
    sub = np.sort(np.random.default_rng(seed).choice(len(x), 60, replace=False))  # link()'s subsample
    nearest = sub[np.argmin(cdist(x, x[sub]), axis=1)]  # brute force
    assert np.array_equal(labels, labels[nearest])
    assert len(np.unique(labels)) == 3
    full, _, _ = link(x, max_points=len(x), seed=seed)  # no subsample: the same families
    assert np.array_equal(labels, full)


@pytest.mark.parametrize("args, fragment", [
    (["--jobs", "0"], "--jobs must be >= 1, got 0"),
    (["--jobs", "-2"], "--jobs must be >= 1, got -2"),
    (["--jobs", "many"], "invalid int value"),
    (["--max-panels", "-1"], "--max-panels must be >= 0, got -1"),
    (["--max-cloud-plots", "-1"], "--max-cloud-plots must be >= 0, got -1"),
    (["--quick", "--jobs", "0"], "--jobs must be >= 1"),
])
def test_bad_scale_options_exit_2(tmp_path, args, fragment):
    good = tmp_path / "good.h5"
    mixed_status_file(good)
    expect_bad_input(tmp_path, [good, *args], fragment)
