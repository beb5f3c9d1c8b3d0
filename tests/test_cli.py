import gzip
import os
import re
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest

import skcredit
import skcredit._cli as cli
from skcredit import MeanFieldClassifier, datasets

# Training runs of one or two epochs stop before convergence on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FAST_ARGS = ["--epochs", "2", "--hidden", "8"]

ACCURACY_LINE = re.compile(r"^test accuracy: (?P<accuracy>[01]\.\d{4})$", re.MULTILINE)
TABLE_ROW = re.compile(
    r"^\s*(?P<layer>\d+)\s+(?P<units>\d+ -> \d+)\s+(?P<synapses>\d+)"
    r"\s+(?P<absent>[\d.]+)%\s+(?P<deterministic>[\d.]+)%\s+(?P<other>[\d.]+)%$",
    re.MULTILINE,
)


def parse_accuracy(output):
    match = ACCURACY_LINE.search(output)
    assert match is not None, output
    return float(match["accuracy"])


def parse_table(output):
    return [match.groupdict() for match in TABLE_ROW.finditer(output)]


def table_shares(row):
    return [float(row[name]) for name in ("absent", "deterministic", "other")]


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


def test_digits_prints_accuracy_and_table(capsys):
    status = cli.main(FAST_ARGS)
    out, _ = capsys.readouterr()

    assert status == 0
    assert 0.0 <= parse_accuracy(out) <= 1.0
    rows = parse_table(out)
    assert [row["layer"] for row in rows] == ["1", "2"]
    assert [row["units"] for row in rows] == ["64 -> 8", "8 -> 10"]
    assert [row["synapses"] for row in rows] == ["512", "80"]
    for row in rows:
        # Each share is rounded to 0.1, so the sum may be off by up to 3 * 0.05.
        assert sum(table_shares(row)) == pytest.approx(100.0, abs=0.15)
    assert "absent: pi >= 0.99" in out
    assert "deterministic: pi <= 0.01 and xi <= 1e-06" in out


def test_quiet_suppresses_epoch_lines(capsys):
    cli.main([*FAST_ARGS, "--quiet"])
    quiet_lines = capsys.readouterr().out.splitlines()
    cli.main(FAST_ARGS)
    verbose_lines = capsys.readouterr().out.splitlines()

    # Accuracy, table legend, table header and one row per layer.
    assert len(quiet_lines) == 5
    assert ACCURACY_LINE.match(quiet_lines[0])
    assert len(parse_table("\n".join(quiet_lines))) == 2
    # The data summary plus at least one line per epoch.
    assert len(verbose_lines) >= len(quiet_lines) + 1 + 2
    assert verbose_lines[0].startswith("data: digits, 1257 training and 540 test samples, 64 features")


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


def test_table_matches_fitted_parameters(tmp_path, capsys):
    path = tmp_path / "classifier.joblib"

    cli.main([*FAST_ARGS, "--quiet", "--save", str(path)])
    rows = parse_table(capsys.readouterr().out)
    loaded = joblib.load(path)

    assert len(rows) == len(loaded.pi_)
    for row, pi, xi in zip(rows, loaded.pi_, loaded.xi_):
        expected = [f"{100 * count / pi.size:.1f}" for count in cli.count_synapse_categories(pi, xi)]
        assert [row["absent"], row["deterministic"], row["other"]] == expected


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_data_folder_trains(tmp_path, capsys, compress):
    folder = write_three_class_folder(tmp_path / "idx", compress)

    status = cli.main(["--data", str(folder), "--epochs", "2", "--hidden", "4", "--quiet"])
    out, _ = capsys.readouterr()

    assert status == 0
    assert 0.0 <= parse_accuracy(out) <= 1.0
    rows = parse_table(out)
    assert [row["units"] for row in rows] == ["16 -> 4", "4 -> 3"]
    assert [row["synapses"] for row in rows] == ["64", "12"]


def test_data_folder_summary_line(tmp_path, capsys):
    folder = write_three_class_folder(tmp_path / "idx")

    cli.main(["--data", str(folder), "--epochs", "1", "--hidden", "4"])
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
    ],
)
def test_invalid_argument_exits_2(capsys, argv, message):
    assert_usage_error(capsys, argv, message)


def test_missing_data_folder_exits_2(tmp_path, capsys):
    folder = tmp_path / "absent"

    assert_data_error(capsys, ["--data", str(folder)], f"MNIST data folder not found: '{folder}'")


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


def test_save_to_missing_folder_exits_2(tmp_path, capsys):
    path = tmp_path / "absent" / "classifier.joblib"

    assert_usage_error(capsys, ["--save", str(path)], f"argument --save: folder not found: '{path.parent}'")


def test_save_to_folder_exits_2(tmp_path, capsys):
    assert_usage_error(capsys, ["--save", str(tmp_path)], "is a folder, expected a file path")


def test_defaults_leave_estimator_defaults():
    args = cli.build_parser().parse_args([])

    assert args.data == "digits"
    assert cli.estimator_params(args) == {"random_state": 0, "verbose": True}


def test_options_set_estimator_params():
    args = cli.build_parser().parse_args(["--hidden", "100, 50", "--epochs", "7", "--random-state", "4", "--quiet"])

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


def test_count_synapse_categories_thresholds():
    pi = np.array([[1.0, 0.99, 0.98], [0.0, 0.01, 0.0], [0.011, 0.5, 0.0]])
    xi = np.array([[0.0, 0.0, 0.0], [0.0, 1e-6, 2e-6], [0.0, 0.0, 1.0]])

    absent, deterministic, other = cli.count_synapse_categories(pi, xi)

    assert absent == 2
    assert deterministic == 2
    assert other == 5


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
    assert len(parse_table(result.stdout)) == 2
    assert "Traceback" not in result.stderr


def test_module_entry_point_usage_error():
    result = run_module("--epochs", "0")

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1].startswith("skcredit: error: argument --epochs")
