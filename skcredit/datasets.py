"""Load image data sets stored in the IDX format of MNIST and Fashion-MNIST.

An IDX file starts with the magic bytes ``0, 0, type code, number of dimensions``,
then one big-endian unsigned 32-bit size per dimension, then the values in
C order and big-endian byte order.
"""

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

__all__ = [
    "FASHION_MNIST_DIR",
    "load_fashion_mnist",
    "load_idx",
    "load_mnist_folder",
]

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
"""Folder where the Debian package ``dataset-fashion-mnist`` installs Fashion-MNIST."""

# Data types of the IDX type codes. All multi-byte types are big-endian.
_IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"

# Standard file names of an MNIST-format folder, without the optional ".gz".
_TRAIN_IMAGES = "train-images-idx3-ubyte"
_TRAIN_LABELS = "train-labels-idx1-ubyte"
_TEST_IMAGES = "t10k-images-idx3-ubyte"
_TEST_LABELS = "t10k-labels-idx1-ubyte"


def load_idx(path):
    """Read one IDX file, gzip-compressed or not, into a numpy array.

    Compression is detected from the gzip magic bytes, so the file name does not
    need to end in ``.gz``.

    Parameters
    ----------
    path : str or os.PathLike
        Path of the IDX file.

    Returns
    -------
    array : ndarray
        A writable array in native byte order with the shape stored in the header.
        Its dtype follows the type code: uint8 (0x08), int8 (0x09), int16 (0x0B),
        int32 (0x0C), float32 (0x0D) or float64 (0x0E).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is not a valid IDX file: invalid magic bytes, an unknown type
        code, a truncated header, a data size that does not match the header,
        or broken gzip compression. The message names the file.

    See Also
    --------
    load_mnist_folder : Load the four IDX files of an MNIST-format folder.

    References
    ----------
    The IDX format is described with the MNIST data set in "The MNIST
    database of handwritten digits", http://yann.lecun.com/exdb/mnist/.

    Examples
    --------
    Write a small IDX file of three unsigned bytes and read it back:

    >>> import os, tempfile
    >>> from skcredit.datasets import load_idx
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "labels-idx1-ubyte")
    >>> header = bytes([0, 0, 0x08, 1]) + (3).to_bytes(4, "big")
    >>> with open(path, "wb") as file:
    ...     _ = file.write(header + bytes([7, 2, 1]))
    >>> load_idx(path)
    array([7, 2, 1], dtype=uint8)
    >>> folder.cleanup()

    Where the Debian package ``dataset-fashion-mnist`` is installed:

    >>> from skcredit.datasets import FASHION_MNIST_DIR
    >>> labels = load_idx(f"{FASHION_MNIST_DIR}/t10k-labels-idx1-ubyte.gz")  # doctest: +SKIP
    >>> labels.shape, labels.dtype  # doctest: +SKIP
    ((10000,), dtype('uint8'))
    """
    content = _read_maybe_gzipped(path)

    if len(content) < 4:
        raise _invalid_idx(path, f"the file has {len(content)} bytes, fewer than the 4 magic bytes")
    if content[0] != 0 or content[1] != 0:
        raise _invalid_idx(
            path, f"the first two bytes are {content[0]:#04x} {content[1]:#04x}, expected 0x00 0x00"
        )

    type_code = content[2]
    if type_code not in _IDX_DTYPES:
        known = ", ".join(f"{code:#04x}" for code in _IDX_DTYPES)
        raise _invalid_idx(path, f"unknown type code {type_code:#04x}, expected one of {known}")
    dtype = _IDX_DTYPES[type_code]

    n_dims = content[3]
    header_size = 4 + 4 * n_dims
    if len(content) < header_size:
        raise _invalid_idx(
            path,
            f"the header declares {n_dims} dimensions and needs {header_size} bytes, "
            f"but the file has only {len(content)} bytes",
        )
    shape = tuple(int(size) for size in np.frombuffer(content, ">u4", count=n_dims, offset=4))

    expected_size = header_size + math.prod(shape) * dtype.itemsize
    if len(content) != expected_size:
        problem = "truncated" if len(content) < expected_size else "longer than declared"
        raise _invalid_idx(
            path,
            f"the file is {problem}: the header declares shape {shape} of {dtype.name} "
            f"and a total of {expected_size} bytes, but the file has {len(content)} bytes",
        )

    array = np.frombuffer(content, dtype, offset=header_size).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def load_mnist_folder(path, *, dtype=np.float32):
    """Load a folder of MNIST-format IDX files as training and test sets.

    The folder must contain the four files ``train-images-idx3-ubyte``,
    ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
    ``t10k-labels-idx1-ubyte``, each either plain or gzip-compressed with ``.gz``
    appended to the name. If both versions of a file exist, the plain one is read.
    MNIST and Fashion-MNIST are distributed in this layout.

    Parameters
    ----------
    path : str or os.PathLike
        The folder.
    dtype : data-type, default=np.float32
        Floating-point type of the returned images.

    Returns
    -------
    X_train : ndarray of shape (n_train, rows * cols)
        Training images, one flattened image per row, with pixels scaled from
        0..255 to [0, 1].
    X_test : ndarray of shape (n_test, rows * cols)
        Test images, scaled like ``X_train``.
    y_train : ndarray of shape (n_train,), dtype int64
        Training labels.
    y_test : ndarray of shape (n_test,), dtype int64
        Test labels.

    Raises
    ------
    FileNotFoundError
        If the folder or one of the four files does not exist.
    ValueError
        If ``dtype`` is not a floating-point type or a file is not a valid IDX
        file. Also if the images are not a 3-D array of unsigned bytes, the labels
        are not a 1-D array of integers, or an image file and its label file have
        different numbers of samples. The message names the file.

    See Also
    --------
    load_fashion_mnist : Load Fashion-MNIST from its Debian package.
    load_idx : Read one IDX file.

    References
    ----------
    The IDX format is described with the MNIST data set in "The MNIST
    database of handwritten digits", http://yann.lecun.com/exdb/mnist/.

    Examples
    --------
    A folder with two training images and one test image of 2x2 pixels:

    >>> import os, tempfile
    >>> import numpy as np
    >>> from skcredit.datasets import load_mnist_folder
    >>> def write_idx(path, array):
    ...     header = bytes([0, 0, 0x08, array.ndim])
    ...     header += b"".join(size.to_bytes(4, "big") for size in array.shape)
    ...     with open(path, "wb") as file:
    ...         file.write(header + array.astype(np.uint8).tobytes())
    >>> folder = tempfile.TemporaryDirectory()
    >>> images = np.array([[[0, 255], [255, 0]], [[255, 0], [0, 0]],
    ...                    [[0, 0], [0, 255]]])
    >>> write_idx(os.path.join(folder.name, "train-images-idx3-ubyte"), images[:2])
    >>> write_idx(os.path.join(folder.name, "train-labels-idx1-ubyte"), np.array([3, 5]))
    >>> write_idx(os.path.join(folder.name, "t10k-images-idx3-ubyte"), images[2:])
    >>> write_idx(os.path.join(folder.name, "t10k-labels-idx1-ubyte"), np.array([7]))
    >>> X_train, X_test, y_train, y_test = load_mnist_folder(folder.name)
    >>> X_train.shape, X_test.shape
    ((2, 4), (1, 4))
    >>> X_train[0].tolist(), y_train.tolist()
    ([0.0, 1.0, 1.0, 0.0], [3, 5])
    >>> folder.cleanup()

    Fashion-MNIST, where its Debian package is installed:

    >>> from skcredit.datasets import FASHION_MNIST_DIR
    >>> X_train, X_test, y_train, y_test = load_mnist_folder(FASHION_MNIST_DIR)  # doctest: +SKIP
    >>> X_train.shape, X_test.shape  # doctest: +SKIP
    ((60000, 784), (10000, 784))
    """
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"dtype must be a floating-point type, got {dtype}")

    folder = Path(path)
    if not folder.exists():
        raise FileNotFoundError(f"MNIST data folder not found: '{folder}'")
    if not folder.is_dir():
        raise FileNotFoundError(f"MNIST data folder '{folder}' is not a folder")

    X_train, y_train = _load_images_and_labels(folder, _TRAIN_IMAGES, _TRAIN_LABELS, dtype)
    X_test, y_test = _load_images_and_labels(folder, _TEST_IMAGES, _TEST_LABELS, dtype)
    return X_train, X_test, y_train, y_test


def load_fashion_mnist(*, dtype=np.float32):
    """Load Fashion-MNIST from the folder installed by its Debian package.

    Fashion-MNIST has 60000 training and 10000 test images of 28x28 pixels in
    10 classes of clothing, shoes and bags. The data come from the Debian package
    ``dataset-fashion-mnist``, which installs them in :data:`FASHION_MNIST_DIR`.

    Parameters
    ----------
    dtype : data-type, default=np.float32
        Floating-point type of the returned images.

    Returns
    -------
    X_train, X_test, y_train, y_test : ndarray
        As returned by :func:`load_mnist_folder`: images of shape (60000, 784)
        and (10000, 784) with pixels in [0, 1], labels 0 to 9 as int64.

    Raises
    ------
    FileNotFoundError
        If :data:`FASHION_MNIST_DIR` does not exist. The message gives the
        command that installs the data.
    ValueError
        As raised by :func:`load_mnist_folder`.

    See Also
    --------
    load_mnist_folder : Load any folder of MNIST-format IDX files.

    References
    ----------
    Han Xiao, Kashif Rasul and Roland Vollgraf, "Fashion-MNIST: a Novel
    Image Dataset for Benchmarking Machine Learning Algorithms",
    arXiv:1708.07747 (2017).

    Examples
    --------
    The example needs the Debian package ``dataset-fashion-mnist``, so the
    test suite skips it:

    >>> from skcredit.datasets import load_fashion_mnist
    >>> X_train, X_test, y_train, y_test = load_fashion_mnist()  # doctest: +SKIP
    >>> X_train.shape, y_train[:5].tolist()  # doctest: +SKIP
    ((60000, 784), [9, 0, 0, 3, 0])
    """
    if not os.path.isdir(FASHION_MNIST_DIR):
        raise FileNotFoundError(
            f"Fashion-MNIST folder not found: '{FASHION_MNIST_DIR}'. Install the Debian "
            "package with 'apt-get install dataset-fashion-mnist', or pass a folder of "
            "MNIST-format IDX files to load_mnist_folder."
        )
    return load_mnist_folder(FASHION_MNIST_DIR, dtype=dtype)


def _read_maybe_gzipped(path):
    with open(path, "rb") as file:
        content = file.read()
    if not content.startswith(_GZIP_MAGIC):
        return content

    try:
        return gzip.decompress(content)
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise _invalid_idx(path, f"gzip decompression failed: {error}") from error


def _invalid_idx(path, reason):
    return ValueError(f"invalid IDX file '{path}': {reason}")


def _find_idx_file(folder, name):
    """Return the path of ``name`` in ``folder``, preferring it to ``name.gz``."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"file '{name}' or '{name}.gz' not found in MNIST data folder '{folder}'")


def _load_images_and_labels(folder, images_name, labels_name, dtype):
    images_path = _find_idx_file(folder, images_name)
    labels_path = _find_idx_file(folder, labels_name)
    images = load_idx(images_path)
    labels = load_idx(labels_path)

    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"invalid image file '{images_path}': expected a 3-D array of unsigned bytes "
            f"(samples, rows, columns), got a {images.ndim}-D array of {images.dtype}"
        )
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(
            f"invalid label file '{labels_path}': expected a 1-D array of integers, "
            f"got a {labels.ndim}-D array of {labels.dtype}"
        )
    if len(images) != len(labels):
        raise ValueError(
            f"image file '{images_path}' has {len(images)} samples but label file "
            f"'{labels_path}' has {len(labels)}"
        )

    X = images.reshape(len(images), -1).astype(dtype)
    X /= 255
    return X, labels.astype(np.int64)
