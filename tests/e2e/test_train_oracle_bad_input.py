"""train-oracle and predict refuse bad input: exit code 2, a message naming the file and the
column or line and what was expected, and no output file."""

import shutil

import h5py
import pytest


@pytest.fixture
def good_csv(tmp_path, run):
    p = tmp_path / "data.csv"
    run("dataset", "paper4", "--n", "200", "-o", p)
    return p


@pytest.fixture
def good_oracle(tmp_path, run, good_csv):
    p = tmp_path / "oracle.h5"
    run("train-oracle", "--data", good_csv, "--inputs", "x1,x2,x3,x4", "--outputs", "y", "--hidden", "8",
        "--epochs", "2", "--quiet", "--out", p)
    return p


def train(csv, inputs="a,b", outputs="y", *extra):
    epochs = [] if "--epochs" in extra else ["--epochs", "2"]
    return ["train-oracle", "--data", csv, "--inputs", inputs, "--outputs", outputs, *epochs, "--out", "out.h5",
            *extra]


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_missing_column(tmp_path, expect_bad_input):
    csv = write(tmp_path, "d.csv", "a,b,y\n1,2,3\n2,3,4\n3,5,6\n4,4,4\n")
    expect_bad_input(train(csv, "a,bb"), "d.csv", "no column 'bb'", "did you mean 'b'")


def test_non_numeric_cell(tmp_path, expect_bad_input):
    csv = write(tmp_path, "d.csv", "a,b,y\n1,2,3\n2,oops,4\n")
    expect_bad_input(train(csv), "d.csv line 3, column 'b'", "'oops' is not a number")


def test_nan_cell(tmp_path, expect_bad_input):
    csv = write(tmp_path, "d.csv", "a,b,y\n1,2,3\n2,3,NaN\n")
    expect_bad_input(train(csv), "d.csv line 3, column 'y'", "not a finite number")


def test_empty_file(tmp_path, expect_bad_input):
    csv = write(tmp_path, "d.csv", "")
    expect_bad_input(train(csv), "d.csv", "empty file", "header")


def test_header_only(tmp_path, expect_bad_input):
    csv = write(tmp_path, "d.csv", "a,b,y\n")
    expect_bad_input(train(csv), "d.csv", "no data rows")


def test_ragged_row(tmp_path, expect_bad_input):
    csv = write(tmp_path, "d.csv", "a,b,y\n1,2,3\n4,5\n")
    expect_bad_input(train(csv), "d.csv line 3", "2 fields, expected 3")


def test_constant_input_column(tmp_path, expect_bad_input):
    rows = "".join(f"{i},{7},{i * 2}\n" for i in range(30))
    csv = write(tmp_path, "d.csv", "a,b,y\n" + rows)
    expect_bad_input(train(csv), "d.csv", "input column 'b' is constant")


def test_unknown_activation(good_csv, expect_bad_input):
    expect_bad_input(train(good_csv, "x1,x2", "y", "--activation", "swish"), "--activation 'swish'",
                     "identity, relu, tanh")


def test_bad_hidden_and_numbers(good_csv, expect_bad_input):
    expect_bad_input(train(good_csv, "x1,x2", "y", "--hidden", "64,x"), "--hidden", "'x' is not a layer width")
    expect_bad_input(train(good_csv, "x1,x2", "y", "--epochs", "0"), "--epochs 0")
    expect_bad_input(train(good_csv, "x1,x2", "y", "--lr", "-1"), "--lr -1")
    expect_bad_input(train(good_csv, "x1,x2", "y", "--val-fraction", "0.9"), "--val-fraction 0.9")
    expect_bad_input(train(good_csv, "x1,x2", "y", "--batch", "abc"), "--batch")


def test_input_also_output(good_csv, expect_bad_input):
    expect_bad_input(train(good_csv, "x1,y", "y"), "'y' is given both in --inputs and in --outputs")


def test_missing_data_file(tmp_path, expect_bad_input):
    expect_bad_input(train(tmp_path / "nope.csv"), "nope.csv", "cannot open")


def test_output_folder_is_made_only_after_good_input(tmp_path, good_csv, run, expect_bad_input):
    # Bad input with a missing output folder: exit 2 and no folder (expect_bad_input compares
    # folders too); good input: the folder is made.
    args = train(good_csv, "x1,x2", "nosuch")
    args[args.index("out.h5")] = "no/such/dir/o.h5"
    expect_bad_input(args, "nosuch")
    args = train(good_csv, "x1,x2", "y", "--activation", "swish")
    args[args.index("out.h5")] = "no/such/dir/o.h5"
    expect_bad_input(args, "swish")
    expect_bad_input(["dataset", "paper5", "--n", "10", "-o", "no/such/d.csv"], "paper5")
    expect_bad_input(["predict", "--oracle", "missing.h5", "--data", good_csv, "-o", "no/such/p.csv"], "missing.h5")
    assert not (tmp_path / "no").exists()
    args = train(good_csv, "x1,x2", "y")
    args[args.index("out.h5")] = "no/such/dir/o.h5"
    run(*args, "--quiet", cwd=tmp_path)
    assert (tmp_path / "no/such/dir/o.h5").is_file()
    run("dataset", "sinc", "--n", "10", "-o", "made/d.csv", cwd=tmp_path)
    assert (tmp_path / "made/d.csv").is_file()
    run("predict", "--oracle", "no/such/dir/o.h5", "--data", good_csv, "-o", "made/deeper/p.csv", cwd=tmp_path)
    assert (tmp_path / "made/deeper/p.csv").is_file()


def test_output_under_a_file_is_refused(tmp_path, good_csv, expect_bad_input):
    args = train(good_csv, "x1,x2", "y")
    args[args.index("out.h5")] = f"{good_csv.name}/o.h5"
    expect_bad_input(args, "is not a directory")


def test_existing_output_is_not_overwritten(tmp_path, good_csv, expect_bad_input):
    (tmp_path / "out.h5").write_text("precious")
    expect_bad_input(train(good_csv, "x1,x2", "y"), "out.h5", "file exists")
    assert (tmp_path / "out.h5").read_text() == "precious"


def predict(oracle, csv):
    return ["predict", "--oracle", oracle, "--data", csv, "-o", "pred.csv"]


def test_wrong_format_version(tmp_path, good_oracle, good_csv, expect_bad_input):
    bad = tmp_path / "v2.h5"
    shutil.copy(good_oracle, bad)
    with h5py.File(bad, "r+") as f:
        f["oracle"].attrs["format_version"] = 2
    expect_bad_input(predict(bad, good_csv), "v2.h5", "format_version 2 is not supported")


def test_not_an_oracle(tmp_path, good_csv, expect_bad_input):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = [1, 2, 3]
    expect_bad_input(predict(other, good_csv), "other.h5", "no /oracle group")


def test_truncated_oracle(tmp_path, good_oracle, good_csv, expect_bad_input):
    cut = tmp_path / "cut.h5"
    data = good_oracle.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    expect_bad_input(predict(cut, good_csv), "cut.h5")


def test_non_hdf5_oracle(tmp_path, good_csv, expect_bad_input):
    txt = write(tmp_path, "fake.h5", "this is text\n")
    expect_bad_input(predict(txt, good_csv), "fake.h5", "not an HDF5 file")


def test_unknown_activation_in_file(tmp_path, good_oracle, good_csv, expect_bad_input):
    bad = tmp_path / "act.h5"
    shutil.copy(good_oracle, bad)
    with h5py.File(bad, "r+") as f:
        f["oracle/layers/0"].attrs["activation"] = "swish"
    expect_bad_input(predict(bad, good_csv), "act.h5", "/oracle/layers/0", "unknown activation 'swish'")


def test_unknown_subcommand_and_missing_option(tmp_path, good_csv, expect_bad_input):
    expect_bad_input(["trian-oracle"], "unknown command 'trian-oracle'", "did you mean 'train-oracle'")
    expect_bad_input(["train-oracle", "--data", good_csv, "--inputs", "x1"], "--outputs")
