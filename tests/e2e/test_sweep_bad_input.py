"""Bad sweep files and run arguments: exit code 2, a message naming the file, line or key and
what was expected, and nothing created or modified (checked by hash)."""

import shutil

import pytest

from conftest import reference_oracle

GOOD = """oracle = "paper4.h5"
output = "out.h5"
seed = 1
samples = 8
solvers = ["generator"]

[objective]
kind = "target"
targets = [[1900.0]]

[generator]
steps = 5
"""

CONSTRAINT = """
[[constraints]]
name = "c"
{body}
"""

CASES = [
    # (id, sweep text, expected fragments)
    ("malformed toml", GOOD + "\n[generator\n", ["sweep.toml:", "not valid TOML"]),
    ("unknown top key", GOOD.replace("seed = 1", "sed = 1"), ["sweep.toml:3", "unknown key 'sed'", "did you mean 'seed'"]),
    ("unknown table key", GOOD.replace("steps = 5", "step = 5"), ["'generator.step'", "did you mean 'steps'"]),
    ("string for number", GOOD.replace("samples = 8", 'samples = "8"'), ["'samples' must be an integer"]),
    ("zero samples", GOOD.replace("samples = 8", "samples = 0"), ["'samples' must be an integer in [1,"]),
    ("negative steps", GOOD.replace("steps = 5", "steps = -5"), ["'generator.steps'", "got -5"]),
    ("target wrong length", GOOD.replace("[[1900.0]]", "[[1900.0, 2.0]]"), ["'objective.targets'", "1 number"]),
    ("unknown solver", GOOD.replace('["generator"]', '["generater"]'), ["unknown solver 'generater'",
                                                                         "did you mean 'generator'"]),
    ("unknown objective kind", GOOD.replace('kind = "target"', 'kind = "maximise"'),
     ["'objective.kind' = 'maximise'", "did you mean 'maximize'"]),
    ("missing objective", GOOD.split("[objective]")[0], ["missing table [objective]"]),
    ("unknown output", GOOD.replace('kind = "target"\ntargets = [[1900.0]]', 'kind = "maximize"\noutput = "z"'),
     ["no output 'z'"]),
    ("unknown feature", GOOD + CONSTRAINT.format(body="fixed = { x5 = 1.0 }"), ["no feature 'x5'", "did you mean"]),
    ("lo > hi", GOOD + CONSTRAINT.format(body="bounds = { x1 = [10.0, 0.0] }"),
     ["'constraints[0].bounds.x1'", "lower bound 10 > upper bound 0"]),
    ("fixed outside bounds", GOOD + CONSTRAINT.format(body="bounds = { x1 = [0.0, 10.0] }\nfixed = { x1 = 20.0 }"),
     ["'constraints[0].fixed.x1' = 20 lies outside its bounds"]),
    ("all fixed", GOOD + CONSTRAINT.format(body="fixed = { x1 = 1.0, x2 = 1.0, x3 = 1.0, x4 = 1.0 }"),
     ["fixes every feature"]),
    ("unknown method", GOOD + CONSTRAINT.format(body='method = "sigmod"'), ["did you mean 'sigmoid'"]),
    ("amortized maximize", GOOD.replace('["generator"]', '["amortized"]').replace(
        'kind = "target"\ntargets = [[1900.0]]', 'kind = "maximize"\noutput = "y"'), ["amortized solver answers targets"]),
    ("missing oracle", GOOD.replace("paper4.h5", "nothere.h5"), ["nothere.h5", "no such file"]),
    ("oracle not hdf5", GOOD.replace("paper4.h5", "sweep.toml"), ["not an HDF5 file"]),
    ("output folder under a file", GOOD.replace('"out.h5"', '"sweep.toml/sub/out.h5"'),
     ["cannot create directory 'sweep.toml/sub'", "'sweep.toml' is not a directory"]),
    ("duplicate constraint", GOOD + CONSTRAINT.format(body="") + CONSTRAINT.format(body=""), ["used twice"]),
    ("range lo > hi", GOOD.replace('kind = "target"\ntargets = [[1900.0]]', 'kind = "range"\nlo = [5.0]\nhi = [1.0]'), ["'objective.hi'"]),
]


@pytest.fixture
def workdir(invsweep_bin, tmp_path):
    shutil.copy(reference_oracle(invsweep_bin, "paper4"), tmp_path / "paper4.h5")
    return tmp_path


@pytest.mark.parametrize("text,fragments", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_sweep(workdir, expect_bad_input, text, fragments):
    (workdir / "sweep.toml").write_text(text)
    for command in ("run", "check"):
        msg = expect_bad_input([command, "sweep.toml"], *fragments)
        print(f"{command}: {msg.strip()}")


@pytest.mark.parametrize("text,fragments", [c[1:] for c in CASES if '"out.h5"' in c[1]],
                         ids=[c[0] for c in CASES if '"out.h5"' in c[1]])
def test_bad_sweep_into_a_missing_folder_creates_no_folder(workdir, expect_bad_input, text, fragments):
    # The results folder is made only once every check has passed (expect_bad_input compares
    # the folders too).
    (workdir / "sweep.toml").write_text(text.replace('"out.h5"', '"results/new/out.h5"'))
    for command in ("run", "check"):
        expect_bad_input([command, "sweep.toml"], *fragments)
    assert not (workdir / "results").exists()


def test_size_limit_into_a_missing_folder_creates_no_folder(workdir, expect_bad_input):
    (workdir / "sweep.toml").write_text(GOOD.replace("samples = 8", "samples = 1000000").replace(
        '"out.h5"', '"results/out.h5"'))
    expect_bad_input(["run", "sweep.toml", "--max-size", "10M"], "would take about", "--force")
    assert not (workdir / "results").exists()


def test_missing_output_folder_is_checked_then_made_by_run(workdir, run):
    (workdir / "sweep.toml").write_text(GOOD.replace('"out.h5"', '"results/new/out.h5"'))
    p = run("check", "sweep.toml", "--no-calibration", cwd=workdir)
    assert "`run` creates the folder results/new" in p.stdout, p.stdout
    assert not (workdir / "results").exists(), "check created the folder"
    run("run", "sweep.toml", "--quiet", cwd=workdir)
    assert (workdir / "results/new/out.h5").is_file()


def test_existing_output_without_resume(workdir, run, expect_bad_input):
    (workdir / "sweep.toml").write_text(GOOD)
    run("run", "sweep.toml", "--quiet", cwd=workdir)
    expect_bad_input(["run", "sweep.toml"], "out.h5", "exists", "--resume")


def test_resume_of_another_sweep(workdir, run, expect_bad_input):
    (workdir / "sweep.toml").write_text(GOOD)
    run("run", "sweep.toml", "--quiet", cwd=workdir)
    (workdir / "sweep.toml").write_text(GOOD.replace("seed = 1", "seed = 2"))
    expect_bad_input(["run", "sweep.toml", "--resume"], "cannot resume", "different sweep")


def test_truncated_results_file(workdir, run, expect_bad_input):
    (workdir / "sweep.toml").write_text(GOOD)
    run("run", "sweep.toml", "--quiet", cwd=workdir)
    data = (workdir / "out.h5").read_bytes()
    (workdir / "out.h5").write_bytes(data[: len(data) // 3])
    expect_bad_input(["run", "sweep.toml", "--resume"], "out.h5")


def test_size_limit_needs_force(workdir, expect_bad_input):
    (workdir / "sweep.toml").write_text(GOOD.replace("samples = 8", "samples = 1000000"))
    expect_bad_input(["run", "sweep.toml", "--max-size", "10M"], "would take about", "--force")
