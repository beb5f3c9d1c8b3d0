import gzip
import os

import numpy as np
import pytest

from skcredit import datasets
from skcredit.datasets import FASHION_MNIST_DIR, load_fashion_mnist, load_idx, load_mnist_folder

# Big-endian dtype of each IDX type code, written out here independently of the loader.
IDX_TYPES = {
    0x08: ">u1",
    0x09: ">i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}


def encode_idx(array, type_code):
    header = bytes([0, 0, type_code, array.ndim]) + np.array(array.shape, ">u4").tobytes()
    return header + np.ascontiguousarray(array, IDX_TYPES[type_code]).tobytes()


def write_idx(path, array, type_code=0x08, compress=False):
    content = encode_idx(np.asarray(array), type_code)
    if compress:
        content = gzip.compress(content)
    path.write_bytes(content)
    return path


def sample_array(type_code, shape):
    """Return distinct values of ``shape`` that use the sign and the range of the type."""
    values = np.arange(np.prod(shape)).reshape(shape)
    if type_code == 0x08:
        return (values % 256).astype(np.uint8)
    if type_code == 0x09:
        return (values % 256 - 128).astype(np.int8)
    if type_code == 0x0B:
        return values * 10 - 300
    if type_code == 0x0C:
        return values * 1000 - 70000
    return values * 0.5 - 3.25


def write_mnist_folder(folder, n_train=5, n_test=3, rows=4, cols=3, compress=False):
    rng = np.random.default_rng(0)
    suffix = ".gz" if compress else ""
    folder.mkdir(exist_ok=True)
    for prefix, n_samples in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n_samples, rows, cols), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n_samples, dtype=np.uint8)
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images, compress=compress)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels, compress=compress)
    return folder


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("type_code", sorted(IDX_TYPES), ids=lambda code: f"{code:#04x}")
def test_load_idx_round_trip(tmp_path, type_code, compress):
    expected = sample_array(type_code, (3, 2, 4))
    path = write_idx(tmp_path / "data-idx3", expected, type_code, compress)

    loaded = load_idx(path)

    assert loaded.shape == (3, 2, 4)
    assert loaded.dtype == np.dtype(IDX_TYPES[type_code]).newbyteorder("=")
    assert loaded.dtype.isnative
    np.testing.assert_array_equal(loaded, expected)


@pytest.mark.parametrize("shape", [(7,), (2, 3), (1, 2, 3, 2), (0, 28, 28)])
def test_load_idx_shapes(tmp_path, shape):
    expected = sample_array(0x0B, shape)
    path = write_idx(tmp_path / "data-idx", expected, 0x0B)

    loaded = load_idx(path)

    assert loaded.shape == shape
    np.testing.assert_array_equal(loaded, expected)


def test_load_idx_returns_writable_array(tmp_path):
    path = write_idx(tmp_path / "data-idx1-ubyte", np.arange(4, dtype=np.uint8))

    loaded = load_idx(path)
    loaded[0] = 9

    assert loaded[0] == 9


def test_load_idx_detects_gzip_by_content(tmp_path):
    expected = sample_array(0x0C, (2, 5))
    gzipped = write_idx(tmp_path / "no-suffix", expected, 0x0C, compress=True)
    plain = write_idx(tmp_path / "misleading.gz", expected, 0x0C, compress=False)

    np.testing.assert_array_equal(load_idx(gzipped), expected)
    np.testing.assert_array_equal(load_idx(plain), expected)


def test_load_idx_accepts_str_path(tmp_path):
    path = write_idx(tmp_path / "data-idx1-ubyte", np.arange(3, dtype=np.uint8))

    np.testing.assert_array_equal(load_idx(str(path)), [0, 1, 2])


def test_load_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_idx(tmp_path / "absent-idx1-ubyte")


VALID_CONTENT = encode_idx(np.arange(6, dtype=np.int16).reshape(2, 3), 0x0B)

INVALID_CONTENTS = {
    "empty": (b"", "fewer than the 4 magic bytes"),
    "short magic": (b"\x00\x00\x08", "fewer than the 4 magic bytes"),
    "bad magic": (b"\x01\x02" + VALID_CONTENT[2:], "first two bytes are 0x01 0x02"),
    "unknown type code": (VALID_CONTENT[:2] + b"\x0a" + VALID_CONTENT[3:], "unknown type code 0x0a"),
    "truncated header": (VALID_CONTENT[:9], "declares 2 dimensions and needs 12 bytes"),
    "truncated data": (VALID_CONTENT[:-1], "truncated"),
    "trailing data": (VALID_CONTENT + b"\x00", "longer than declared"),
    "broken gzip": (gzip.compress(VALID_CONTENT)[:-10], "gzip decompression failed"),
    "truncated gzipped data": (gzip.compress(VALID_CONTENT[:-2]), "truncated"),
}


@pytest.mark.parametrize(("content", "reason"), INVALID_CONTENTS.values(), ids=INVALID_CONTENTS.keys())
def test_load_idx_rejects_invalid_file(tmp_path, content, reason):
    path = tmp_path / "broken-idx2-short"
    path.write_bytes(content)

    with pytest.raises(ValueError, match=reason) as excinfo:
        load_idx(path)

    assert str(path) in str(excinfo.value)


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_load_mnist_folder_shapes_and_scaling(tmp_path, compress):
    folder = write_mnist_folder(tmp_path / "mnist", n_train=5, n_test=3, rows=4, cols=3, compress=compress)
    raw_images = load_idx(next(folder.glob("train-images-idx3-ubyte*")))
    raw_labels = load_idx(next(folder.glob("train-labels-idx1-ubyte*")))

    X_train, X_test, y_train, y_test = load_mnist_folder(folder)

    assert X_train.shape == (5, 12)
    assert X_test.shape == (3, 12)
    assert y_train.shape == (5,)
    assert y_test.shape == (3,)
    assert X_train.dtype == np.float32
    assert X_test.dtype == np.float32
    assert y_train.dtype == np.int64
    assert y_test.dtype == np.int64
    np.testing.assert_allclose(X_train, raw_images.reshape(5, 12) / 255, rtol=1e-6)
    np.testing.assert_array_equal(y_train, raw_labels)


def test_load_mnist_folder_scales_extremes(tmp_path):
    folder = write_mnist_folder(tmp_path / "mnist")
    write_idx(folder / "train-images-idx3-ubyte", np.array([[[0, 255]]] * 5, dtype=np.uint8))

    X_train, _, _, _ = load_mnist_folder(folder)

    np.testing.assert_array_equal(X_train, [[0.0, 1.0]] * 5)


def test_load_mnist_folder_dtype(tmp_path):
    folder = write_mnist_folder(tmp_path / "mnist")

    X_train, X_test, _, _ = load_mnist_folder(str(folder), dtype=np.float64)

    assert X_train.dtype == np.float64
    assert X_test.dtype == np.float64


def test_load_mnist_folder_rejects_integer_dtype(tmp_path):
    folder = write_mnist_folder(tmp_path / "mnist")

    with pytest.raises(ValueError, match="dtype must be a floating-point type, got int64"):
        load_mnist_folder(folder, dtype=np.int64)


def test_load_mnist_folder_prefers_plain_file(tmp_path):
    folder = write_mnist_folder(tmp_path / "mnist", n_train=2)
    write_idx(folder / "train-labels-idx1-ubyte", np.array([1, 2], dtype=np.uint8))
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.array([7, 8], dtype=np.uint8), compress=True)

    _, _, y_train, _ = load_mnist_folder(folder)

    np.testing.assert_array_equal(y_train, [1, 2])


def test_load_mnist_folder_mixes_plain_and_gzip(tmp_path):
    folder = write_mnist_folder(tmp_path / "mnist", n_test=2)
    (folder / "t10k-labels-idx1-ubyte").unlink()
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.array([3, 4], dtype=np.uint8), compress=True)

    _, _, _, y_test = load_mnist_folder(folder)

    np.testing.assert_array_equal(y_test, [3, 4])


def test_load_mnist_folder_missing_folder(tmp_path):
    folder = tmp_path / "absent"

    with pytest.raises(FileNotFoundError, match="MNIST data folder not found") as excinfo:
        load_mnist_folder(folder)

    assert str(folder) in str(excinfo.value)


def test_load_mnist_folder_path_is_file(tmp_path):
    path = tmp_path / "file"
    path.write_text("not a folder")

    with pytest.raises(FileNotFoundError, match="is not a folder"):
        load_mnist_folder(path)


@pytest.mark.parametrize(
    "name",
    ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"],
)
def test_load_mnist_folder_missing_file(tmp_path, name):
    folder = write_mnist_folder(tmp_path / "mnist")
    (folder / name).unlink()

    with pytest.raises(FileNotFoundError, match=f"file '{name}' or '{name}.gz' not found") as excinfo:
        load_mnist_folder(folder)

    assert str(folder) in str(excinfo.value)


def test_load_mnist_folder_length_mismatch(tmp_path):
    folder = write_mnist_folder(tmp_path / "mnist", n_test=3)
    labels_path = write_idx(folder / "t10k-labels-idx1-ubyte", np.zeros(4, dtype=np.uint8))

    with pytest.raises(ValueError, match="has 3 samples but label file .* has 4") as excinfo:
        load_mnist_folder(folder)

    assert str(labels_path) in str(excinfo.value)


def test_load_mnist_folder_images_not_3d(tmp_path):
    folder = write_mnist_folder(tmp_path / "mnist", n_train=5)
    images_path = write_idx(folder / "train-images-idx3-ubyte", np.zeros((5, 12), dtype=np.uint8))

    with pytest.raises(ValueError, match="got a 2-D array of uint8") as excinfo:
        load_mnist_folder(folder)

    assert str(images_path) in str(excinfo.value)


def test_load_mnist_folder_images_not_bytes(tmp_path):
    folder = write_mnist_folder(tmp_path / "mnist", n_train=5)
    write_idx(folder / "train-images-idx3-ubyte", np.zeros((5, 4, 3)), type_code=0x0D)

    with pytest.raises(ValueError, match="got a 3-D array of float32"):
        load_mnist_folder(folder)


def test_load_mnist_folder_labels_not_1d(tmp_path):
    folder = write_mnist_folder(tmp_path / "mnist", n_train=5)
    labels_path = write_idx(folder / "train-labels-idx1-ubyte", np.zeros((5, 1), dtype=np.uint8))

    with pytest.raises(ValueError, match="expected a 1-D array of integers") as excinfo:
        load_mnist_folder(folder)

    assert str(labels_path) in str(excinfo.value)


def test_load_mnist_folder_invalid_idx_file(tmp_path):
    folder = write_mnist_folder(tmp_path / "mnist")
    broken_path = folder / "t10k-images-idx3-ubyte"
    broken_path.write_bytes(broken_path.read_bytes()[:-1])

    with pytest.raises(ValueError, match="invalid IDX file .* truncated") as excinfo:
        load_mnist_folder(folder)

    assert str(broken_path) in str(excinfo.value)


def test_load_fashion_mnist_missing_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "FASHION_MNIST_DIR", str(tmp_path / "absent"))

    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist") as excinfo:
        load_fashion_mnist()

    assert "load_mnist_folder" in str(excinfo.value)
    assert str(tmp_path / "absent") in str(excinfo.value)


def test_load_fashion_mnist_reads_configured_folder(tmp_path, monkeypatch):
    folder = write_mnist_folder(tmp_path / "fashion", n_train=5, n_test=3)
    monkeypatch.setattr(datasets, "FASHION_MNIST_DIR", str(folder))

    X_train, X_test, y_train, y_test = load_fashion_mnist(dtype=np.float64)

    assert X_train.shape == (5, 12)
    assert X_test.shape == (3, 12)
    assert X_train.dtype == np.float64


@pytest.mark.skipif(
    not os.path.isdir(FASHION_MNIST_DIR),
    reason=f"Fashion-MNIST is not installed in {FASHION_MNIST_DIR} (Debian package dataset-fashion-mnist)",
)
def test_load_fashion_mnist_installed():
    X_train, X_test, y_train, y_test = load_fashion_mnist()

    assert X_train.shape == (60000, 784)
    assert X_test.shape == (10000, 784)
    assert y_train.shape == (60000,)
    assert y_test.shape == (10000,)
    assert X_train.dtype == np.float32
    assert X_test.dtype == np.float32
    assert y_train.dtype == np.int64
    assert y_test.dtype == np.int64
    assert X_train.min() == 0.0
    assert X_train.max() == 1.0
    assert X_test.min() == 0.0
    assert X_test.max() == 1.0
    assert set(np.unique(y_train)) == set(range(10))
    assert set(np.unique(y_test)) == set(range(10))
    assert np.all(np.bincount(y_train) == 6000)
    assert np.all(np.bincount(y_test) == 1000)
