import contextlib
import gzip
import io
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path
from types import SimpleNamespace

import joblib
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import skcredit
import skcredit._cli as cli
from skcredit import MeanFieldClassifier, SynapseCategorizer, datasets
from skcredit._categorizer import IMPORTANT, UNIMPORTANT, VARIABLE

# Training runs of one or two epochs stop before convergence on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FAST_ARGS = ["--epochs", "2", "--hidden", "8", "--networks", "3"]
CATEGORY_NAMES = ["important", "variable", "unimportant"]
FRACTION_LABELS = ["0", "0.25", "0.5", "0.75", "1"]

ACCURACY_LINE = re.compile(
    r"^test accuracy of the mean-field network: (?P<accuracy>[01]\.\d{4})$", re.MULTILINE
)
SUBNETWORK_LINE = re.compile(
    r"^test accuracy of (?P<networks>\d+) sampled sub-networks?: mean (?P<mean>[01]\.\d{4}), "
    r"std (?P<std>[01]\.\d{4}), min (?P<min>[01]\.\d{4}), max (?P<max>[01]\.\d{4})$",
    re.MULTILINE,
)
TABLE_ROW = re.compile(
    r"^\s*(?P<layer>\d+)\s+(?P<units>\d+ -> \d+)\s+(?P<synapses>\d+)"
    + "".join(rf"\s+(?P<{name}>\d+)\s+(?P<{name}_share>[\d.]+)%" for name in CATEGORY_NAMES)
    + "$",
    re.MULTILINE,
)
PERTURBATION_HEADER = re.compile(r"^category\s+synapses(?P<columns>.*)$", re.MULTILINE)
PERTURBATION_ROW = re.compile(
    r"^(?P<category>important|variable|unimportant)\s+(?P<synapses>\d+)  (?P<cells>.*)$",
    re.MULTILINE,
)
PERTURBATION_CELLS = re.compile(r"^(?:\s+\d+\.\d ±\s+\d+\.\d)+$")
PERTURBATION_CELL = re.compile(r"(?P<mean>\d+\.\d) ±\s+(?P<std>\d+\.\d)")
EMPTY_PERTURBATION_ROW = re.compile(r"^no (?P<category>\w+) synapses, nothing to remove$")


def parse_accuracy(output):
    match = ACCURACY_LINE.search(output)
    assert match is not None, output
    return float(match["accuracy"])


def parse_subnetwork_line(output):
    match = SUBNETWORK_LINE.search(output)
    assert match is not None, output
    return {name: float(value) for name, value in match.groupdict().items()}


def parse_table(output):
    return [match.groupdict() for match in TABLE_ROW.finditer(output)]


def table_counts(row):
    return [int(row[name]) for name in CATEGORY_NAMES]


def table_shares(row):
    return [float(row[f"{name}_share"]) for name in CATEGORY_NAMES]


def parse_perturbation_columns(output):
    match = PERTURBATION_HEADER.search(output)
    assert match is not None, output
    return re.findall(r"(\S+) removed", match["columns"])


def parse_perturbation_table(output):
    """Return one dict per row: category, synapses, and (mean, std) per cell or None if empty."""
    rows = []
    for match in PERTURBATION_ROW.finditer(output):
        if EMPTY_PERTURBATION_ROW.match(match["cells"]):
            cells = None
        else:
            assert PERTURBATION_CELLS.match(match["cells"]), match[0]
            cells = [
                (float(mean), float(std)) for mean, std in PERTURBATION_CELL.findall(match["cells"])
            ]
        rows.append({"category": match["category"], "synapses": int(match["synapses"]), "cells": cells})
    return rows


@pytest.fixture(scope="module")
def quiet_run(tmp_path_factory):
    """Run ``FAST_ARGS --quiet --save PATH`` once and return its stdout, PATH and the saved classifier."""
    path = tmp_path_factory.mktemp("cli") / "classifier.joblib"
    stdout = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(stdout):
        warnings.simplefilter("ignore", ConvergenceWarning)
        status = cli.main([*FAST_ARGS, "--quiet", "--save", str(path)])

    assert status == 0
    return SimpleNamespace(output=stdout.getvalue(), path=path, classifier=joblib.load(path))


def write_idx(path, array, compress=False):
    array = np.asarray(array, dtype=np.uint8)
    content = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, ">u4").tobytes() + array.tobytes()
    path.write_bytes(gzip.compress(content) if compress else content)


def write_three_class_folder(folder, compress=False):
    """Write 4x4 images of three classes: dark (label 0), grey (label 1) and bright (label 2)."""
    rng = np.random.default_rng(0)
    suffix = ".gz" if compress else ""
    folder.mkdir()
    for prefix, n_samples in (("train", 45), ("t10k", 21)):
        labels = np.arange(n_samples) % 3
        images = rng.integers(0, 60, size=(n_samples, 4, 4)) + 95 * labels[:, None, None]
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images, compress)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels, compress)
    return folder


def assert_usage_error(capsys, argv, message):
    with pytest.raises(SystemExit) as excinfo:
        cli.main(argv)
    out, err = capsys.readouterr()

    assert excinfo.value.code == 2
    assert out == ""
    assert "Traceback" not in err
    error_lines = [line for line in err.splitlines() if line.startswith("skcredit: error:")]
    assert len(error_lines) == 1, err
    assert err.splitlines()[-1] == error_lines[0]
    assert message in error_lines[0]


def assert_data_error(capsys, argv, message):
    status = cli.main(argv)
    out, err = capsys.readouterr()

    assert status == 2
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith("skcredit: error:")
    assert message in err


def test_digits_prints_accuracy_and_table(quiet_run):
    out = quiet_run.output

    assert 0.0 <= parse_accuracy(out) <= 1.0
    rows = parse_table(out)
    assert [row["layer"] for row in rows] == ["1", "2"]
    assert [row["units"] for row in rows] == ["64 -> 8", "8 -> 10"]
    assert [row["synapses"] for row in rows] == ["512", "80"]
    for row in rows:
        assert sum(table_counts(row)) == int(row["synapses"])
        # Each share is rounded to 0.1, so the sum may be off by up to 3 * 0.05.
        assert sum(table_shares(row)) == pytest.approx(100.0, abs=0.15)
    assert (
        "unimportant if pi >= 0.99 or the synapse leaves a unit that is zero on every training sample"
    ) in out
    assert "important if pi <= 0.01 and xi <= 1e-06" in out
    assert "else variable" in out


def test_quiet_suppresses_epoch_lines(capsys, quiet_run):
    *quiet_lines, save_line = quiet_run.output.splitlines()
    cli.main(FAST_ARGS)
    verbose_lines = capsys.readouterr().out.splitlines()

    assert save_line.startswith("saved the fitted classifier to ")
    # Two accuracy lines, table legend, header and one row per layer, the two
    # perturbation legend lines, header and one row per category.
    assert len(quiet_lines) == 12
    assert ACCURACY_LINE.match(quiet_lines[0])
    assert SUBNETWORK_LINE.match(quiet_lines[1])
    assert len(parse_table("\n".join(quiet_lines))) == 2
    assert len(parse_perturbation_table("\n".join(quiet_lines))) == 3
    # The data summary plus at least one line per epoch, then the same results.
    assert len(verbose_lines) >= len(quiet_lines) + 1 + 2
    assert verbose_lines[0].startswith("data: digits, 1257 training and 540 test samples, 64 features")
    assert verbose_lines[-len(quiet_lines) :] == quiet_lines


def test_save_writes_loadable_classifier(tmp_path, capsys, monkeypatch):
    path = tmp_path / "classifier.joblib"
    saved = []
    real_dump = joblib.dump

    def record_dump(value, filename, *args, **kwargs):
        saved.append(value)
        return real_dump(value, filename, *args, **kwargs)

    monkeypatch.setattr(cli.joblib, "dump", record_dump)

    status = cli.main([*FAST_ARGS, "--random-state", "3", "--quiet", "--save", str(path)])
    out, _ = capsys.readouterr()
    loaded = joblib.load(path)

    assert status == 0
    assert f"saved the fitted classifier to {path}" in out
    assert isinstance(loaded, MeanFieldClassifier)
    assert loaded.hidden_layer_sizes == (8,)
    assert loaded.max_iter == 2
    assert loaded.random_state == 3
    assert loaded.verbose is False

    X_train, X_test, y_train, y_test = cli.load_data("digits", random_state=3)
    np.testing.assert_array_equal(loaded.predict(X_test), saved[0].predict(X_test))
    assert f"{loaded.score(X_test, y_test):.4f}" == f"{parse_accuracy(out):.4f}"


def test_table_matches_synapse_categorizer(quiet_run):
    X_train, _, y_train, _ = cli.load_data("digits", random_state=0)
    categorizer = SynapseCategorizer(quiet_run.classifier, prefit=True, pi_tol=0.01, xi_tol=1e-6)
    categorizer.fit(X_train, y_train)
    rows = parse_table(quiet_run.output)

    assert len(rows) == len(categorizer.category_counts_)
    for row, counts, pi in zip(rows, categorizer.category_counts_, quiet_run.classifier.pi_):
        expected_counts = [int(counts[IMPORTANT]), int(counts[VARIABLE]), int(counts[UNIMPORTANT])]
        assert int(row["synapses"]) == pi.size
        assert table_counts(row) == expected_counts
        assert [row[f"{name}_share"] for name in CATEGORY_NAMES] == [
            f"{100 * count / pi.size:.1f}" for count in expected_counts
        ]


def test_subnetwork_line_statistics(quiet_run):
    line = parse_subnetwork_line(quiet_run.output)

    assert line["networks"] == 3
    assert 0.0 <= line["min"] <= line["mean"] <= line["max"] <= 1.0
    assert line["std"] <= line["max"] - line["min"]


def test_subnetwork_accuracies_match_sample_networks(quiet_run):
    classifier = quiet_run.classifier
    _, X_test, _, y_test = cli.load_data("digits", random_state=0)
    accuracies = []
    # --random-state 0 seeds the draws as sample_networks(random_state=0) does.
    for coefs in classifier.sample_networks(3, random_state=0):
        hidden = np.maximum(X_test @ coefs[0] + classifier.intercepts_[0], 0.0)
        logits = hidden @ coefs[1] + classifier.intercepts_[1]
        accuracies.append(np.mean(classifier.classes_[logits.argmax(axis=1)] == y_test))

    line = parse_subnetwork_line(quiet_run.output)

    assert line["mean"] == pytest.approx(np.mean(accuracies), abs=5e-5)
    assert line["std"] == pytest.approx(np.std(accuracies), abs=5e-5)
    assert line["min"] == pytest.approx(np.min(accuracies), abs=5e-5)
    assert line["max"] == pytest.approx(np.max(accuracies), abs=5e-5)


def test_perturbation_table_layout(quiet_run):
    out = quiet_run.output
    rows = parse_perturbation_table(out)
    first_layer = parse_table(out)[0]

    assert "mean ± std over 3 repeats of 3 networks" in out
    assert parse_perturbation_columns(out) == FRACTION_LABELS
    assert [row["category"] for row in rows] == CATEGORY_NAMES
    assert [row["synapses"] for row in rows] == table_counts(first_layer)
    for row in rows:
        assert row["cells"] is not None, row
        assert len(row["cells"]) == len(FRACTION_LABELS)
        for mean, std in row["cells"]:
            assert 0.0 <= mean <= 100.0
            assert 0.0 <= std <= 50.0


def test_perturbation_fraction_zero_equal(quiet_run):
    rows = parse_perturbation_table(quiet_run.output)
    unperturbed = [row["cells"][0] for row in rows]

    # Nothing is removed at fraction 0 and every row draws the same sub-networks.
    assert unperturbed[1] == unperturbed[0]
    assert unperturbed[2] == unperturbed[0]


def test_perturbation_empty_category_row(capsys, quiet_run):
    X_train, X_test, y_train, y_test = cli.load_data("digits", random_state=0)
    categorizer = SynapseCategorizer(quiet_run.classifier, prefit=True).fit(X_train, y_train)
    # Relabel the important first-layer synapses as unimportant.
    first_layer = categorizer.categories_[0]
    first_layer[first_layer == IMPORTANT] = UNIMPORTANT
    categorizer.category_counts_[0] = np.bincount(first_layer.ravel(), minlength=3)
    args = cli.build_parser().parse_args(["--networks", "2"])

    cli.print_perturbation_table(categorizer, X_test, y_test, args)
    out = capsys.readouterr().out
    rows = parse_perturbation_table(out)

    assert [row["category"] for row in rows] == CATEGORY_NAMES
    assert rows[0]["synapses"] == 0
    assert rows[0]["cells"] is None
    assert "important            0  no important synapses, nothing to remove" in out
    assert rows[1]["synapses"] == categorizer.category_counts_[0][VARIABLE]
    assert rows[2]["synapses"] == categorizer.category_counts_[0][UNIMPORTANT]
    assert len(rows[1]["cells"]) == len(FRACTION_LABELS)
    assert len(rows[2]["cells"]) == len(FRACTION_LABELS)


def test_jobs_2_prints_same_output(capsys):
    cli.main([*FAST_ARGS, "--quiet", "--jobs", "1"])
    serial = capsys.readouterr().out
    cli.main([*FAST_ARGS, "--quiet", "--jobs", "2"])
    parallel = capsys.readouterr().out

    assert len(serial.splitlines()) == 12
    assert parallel == serial


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_data_folder_trains(tmp_path, capsys, compress):
    folder = write_three_class_folder(tmp_path / "idx", compress)

    status = cli.main(["--data", str(folder), "--epochs", "2", "--hidden", "4", "--networks", "2", "--quiet"])
    out, _ = capsys.readouterr()

    assert status == 0
    assert 0.0 <= parse_accuracy(out) <= 1.0
    assert parse_subnetwork_line(out)["networks"] == 2
    rows = parse_table(out)
    assert [row["units"] for row in rows] == ["16 -> 4", "4 -> 3"]
    assert [row["synapses"] for row in rows] == ["64", "12"]
    perturbation_rows = parse_perturbation_table(out)
    assert [row["category"] for row in perturbation_rows] == CATEGORY_NAMES
    assert sum(row["synapses"] for row in perturbation_rows) == 64


def test_data_folder_summary_line(tmp_path, capsys):
    folder = write_three_class_folder(tmp_path / "idx")

    cli.main(["--data", str(folder), "--epochs", "1", "--hidden", "4", "--networks", "1"])
    out, _ = capsys.readouterr()

    assert f"data: {folder}, 45 training and 21 test samples, 16 features" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--hidden", "100,abc"], "argument --hidden: invalid layer sizes '100,abc'"),
        (["--hidden", "0"], "argument --hidden: invalid layer sizes '0'"),
        (["--hidden", "8,-1"], "argument --hidden: invalid layer sizes '8,-1'"),
        (["--hidden", ""], "argument --hidden: invalid layer sizes ''"),
        (["--hidden", "8,"], "argument --hidden: invalid layer sizes '8,'"),
        (["--epochs", "0"], "argument --epochs: invalid value '0': expected a positive integer"),
        (["--epochs", "-3"], "argument --epochs: invalid value '-3'"),
        (["--epochs", "abc"], "argument --epochs: invalid value 'abc'"),
        (["--random-state", "x"], "argument --random-state: invalid int value: 'x'"),
        (
            ["--random-state", "-1"],
            "argument --random-state: invalid value '-1': expected an integer from 0 to 4294967295",
        ),
        (["--random-state", "4294967296"], "argument --random-state: invalid value '4294967296'"),
        (["--networks", "0"], "argument --networks: invalid value '0': expected a positive integer"),
        (["--networks", "-2"], "argument --networks: invalid value '-2'"),
        (["--networks", "many"], "argument --networks: invalid value 'many'"),
        (
            ["--jobs", "0"],
            "argument --jobs: invalid value '0': expected a positive integer, or -1 for all processors",
        ),
        (["--jobs", "two"], "argument --jobs: invalid value 'two'"),
        (["--jobs", "1.5"], "argument --jobs: invalid value '1.5'"),
    ],
    ids=[
        "hidden-not-int",
        "hidden-zero",
        "hidden-negative",
        "hidden-empty",
        "hidden-trailing-comma",
        "epochs-zero",
        "epochs-negative",
        "epochs-not-int",
        "random-state-not-int",
        "random-state-negative",
        "random-state-too-large",
        "networks-zero",
        "networks-negative",
        "networks-not-int",
        "jobs-zero",
        "jobs-not-int",
        "jobs-float",
    ],
)
def test_invalid_argument_exits_2(capsys, argv, message):
    assert_usage_error(capsys, argv, message)


def test_missing_data_folder_exits_2(tmp_path, capsys):
    folder = tmp_path / "absent"

    assert_data_error(
        capsys, ["--data", str(folder)],
        f"--data '{folder}' is neither 'digits' nor 'fashion-mnist' nor an existing folder",
    )


def test_data_folder_missing_file_exits_2(tmp_path, capsys):
    folder = write_three_class_folder(tmp_path / "idx")
    (folder / "t10k-labels-idx1-ubyte").unlink()

    assert_data_error(
        capsys, ["--data", str(folder)], "file 't10k-labels-idx1-ubyte' or 't10k-labels-idx1-ubyte.gz' not found"
    )


def test_malformed_data_folder_exits_2(tmp_path, capsys):
    folder = write_three_class_folder(tmp_path / "idx")
    images_path = folder / "train-images-idx3-ubyte"
    images_path.write_bytes(images_path.read_bytes() + b"\x00")

    assert_data_error(capsys, ["--data", str(folder)], f"invalid IDX file '{images_path}'")


def test_mismatched_data_folder_exits_2(tmp_path, capsys):
    folder = write_three_class_folder(tmp_path / "idx")
    write_idx(folder / "train-labels-idx1-ubyte", np.zeros(44))

    assert_data_error(capsys, ["--data", str(folder)], "has 45 samples but label file")


def test_missing_fashion_mnist_exits_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(datasets, "FASHION_MNIST_DIR", str(tmp_path / "absent"))

    assert_data_error(capsys, ["--data", "fashion-mnist"], "apt-get install dataset-fashion-mnist")


def test_saved_classifier_is_quiet(tmp_path, capsys):
    path = tmp_path / "classifier.joblib"

    status = cli.main([*FAST_ARGS, "--save", str(path)])
    capsys.readouterr()

    assert status == 0
    assert joblib.load(path).verbose is False


def test_save_to_missing_folder_exits_2(tmp_path, capsys):
    path = tmp_path / "absent" / "classifier.joblib"

    assert_usage_error(capsys, ["--save", str(path)], f"argument --save: folder not found: '{path.parent}'")


def test_save_to_folder_exits_2(tmp_path, capsys):
    assert_usage_error(capsys, ["--save", str(tmp_path)], "is a folder, expected a file path")


def test_defaults_leave_estimator_defaults():
    args = cli.build_parser().parse_args([])

    assert args.data == "digits"
    assert args.networks == 20
    assert args.jobs == 1
    assert cli.estimator_params(args) == {"random_state": 0, "verbose": True}


def test_options_set_estimator_params():
    args = cli.build_parser().parse_args(
        ["--hidden", "100, 50", "--epochs", "7", "--random-state", "4", "--quiet"]
        + ["--networks", "5", "--jobs", "-1"]
    )

    assert args.networks == 5
    assert args.jobs == -1
    # The sub-network options set the report, not the classifier.
    assert cli.estimator_params(args) == {
        "random_state": 4,
        "verbose": False,
        "hidden_layer_sizes": (100, 50),
        "max_iter": 7,
    }


def test_digits_split_is_stratified():
    X_train, X_test, y_train, y_test = cli.load_data("digits", random_state=0)

    assert X_train.shape == (1257, 64)
    assert X_test.shape == (540, 64)
    assert X_train.min() == 0.0
    assert X_train.max() == 1.0
    np.testing.assert_allclose(np.bincount(y_test) / len(y_test), np.bincount(y_train) / len(y_train), atol=0.01)


def run_module(*args):
    """Run ``python -m skcredit`` in a subprocess that imports the package under test."""
    package_root = Path(skcredit.__file__).absolute().parent.parent
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(package_root), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "skcredit", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


def test_module_entry_point_runs():
    result = run_module("--epochs", "1", "--hidden", "4", "--quiet")

    assert result.returncode == 0, result.stderr
    assert 0.0 <= parse_accuracy(result.stdout) <= 1.0
    assert parse_subnetwork_line(result.stdout)["networks"] == 20
    assert len(parse_table(result.stdout)) == 2
    assert [row["category"] for row in parse_perturbation_table(result.stdout)] == CATEGORY_NAMES
    assert "Traceback" not in result.stderr


def test_module_entry_point_usage_error():
    result = run_module("--epochs", "0")

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1].startswith("skcredit: error: argument --epochs")


def test_one_class_training_labels_exit_2(tmp_path, capsys):
    folder = write_three_class_folder(tmp_path / "idx")
    write_idx(folder / "train-labels-idx1-ubyte", np.zeros(45))

    assert_data_error(capsys, ["--data", str(folder)], "only one class, [0]")


def test_unseen_test_class_exits_2(tmp_path, capsys):
    folder = write_three_class_folder(tmp_path / "idx")
    write_idx(folder / "t10k-labels-idx1-ubyte", np.full(21, 7))

    assert_data_error(
        capsys, ["--data", str(folder)], "classes absent from the training labels: [7]"
    )


def test_short_training_prints_convergence_note(capsys):
    status = cli.main([*FAST_ARGS, "--quiet"])
    _, err = capsys.readouterr()

    assert status == 0
    assert err.splitlines() == [
        "note: training stopped after 2 epochs before the loss converged; "
        "increase --epochs to train longer"
    ]
