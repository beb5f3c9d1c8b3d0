"""Command line ``python -m skcredit``: train a MeanFieldClassifier and report its synapses.

The program trains the classifier on a data set, prints the test accuracy and then,
for each layer, the share of synapses that training made absent, deterministic or
left in between. Run ``python -m skcredit --help`` for the options.
"""

import argparse
import os
import sys

import joblib
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skcredit import MeanFieldClassifier
from skcredit.datasets import load_fashion_mnist, load_mnist_folder

# A synapse is absent when its probability of absence pi is at least ABSENT_MIN_PI.
ABSENT_MIN_PI = 0.99
# A synapse is deterministic when it is almost surely present and its slab variance is
# almost zero, so that it acts as a fixed weight equal to its slab mean m.
DETERMINISTIC_MAX_PI = 0.01
DETERMINISTIC_MAX_XI = 1e-6

DIGITS_TEST_SIZE = 0.3


def main(argv=None):
    """Train a MeanFieldClassifier from the command line and print the results.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments without the program name. None reads ``sys.argv``.

    Returns
    -------
    status : int
        0 on success, 2 when the data cannot be loaded (after a one-line
        ``skcredit: error:`` message on stderr).

    Raises
    ------
    SystemExit
        With status 2, the usage and a ``skcredit: error:`` message on
        stderr when an argument is invalid, and with status 0 after
        ``--help``.
    """
    parser = build_parser()
    args = parse_arguments(parser, argv)
    try:
        X_train, X_test, y_train, y_test = load_data(args.data, args.random_state)
    except (FileNotFoundError, ValueError) as error:
        # The data, not the command line, are at fault: one line, no usage.
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2

    if not args.quiet:
        print(
            f"data: {args.data}, {len(X_train)} training and {len(X_test)} test samples, "
            f"{X_train.shape[1]} features"
        )

    classifier = MeanFieldClassifier(**estimator_params(args))
    classifier.fit(X_train, y_train)

    print(f"test accuracy: {classifier.score(X_test, y_test):.4f}")
    print_synapse_table(classifier)

    if args.save is not None:
        joblib.dump(classifier, args.save)
        print(f"saved the fitted classifier to {args.save}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="skcredit",
        description=(
            "Train a skcredit.MeanFieldClassifier, print the test accuracy and the share of "
            "absent, deterministic and other synapses in each layer."
        ),
    )
    parser.add_argument(
        "--data",
        default="digits",
        help=(
            "data set: 'digits' (scikit-learn's 8x8 digits, split 70/30 stratified), "
            "'fashion-mnist' (from the Debian package dataset-fashion-mnist), or the path "
            "of a folder of MNIST-format IDX files (default: %(default)s)"
        ),
    )
    parser.add_argument(
        "--hidden",
        type=parse_layer_sizes,
        metavar="SIZES",
        help="comma-separated numbers of units in the hidden layers, such as 100,100 "
        "(default: the classifier's hidden_layer_sizes default)",
    )
    parser.add_argument(
        "--epochs",
        type=parse_positive_int,
        metavar="N",
        help="maximum number of training epochs, the classifier's max_iter "
        "(default: the classifier's default)",
    )
    parser.add_argument(
        "--random-state",
        type=int,
        default=0,
        metavar="SEED",
        help="seed of the digits train/test split and of the classifier (default: %(default)s)",
    )
    parser.add_argument(
        "--save", metavar="PATH", help="write the fitted classifier to PATH with joblib.dump"
    )
    parser.add_argument(
        "--quiet", action="store_true", help="print only the results, not the per-epoch progress"
    )
    return parser


def parse_arguments(parser, argv):
    """Parse ``argv`` and reject a ``--save`` path that is a folder or lies in a missing folder.

    The check runs before training, so that a typo in the path does not cost a
    whole training run. ``parser.error`` exits with status 2.
    """
    args = parser.parse_args(argv)
    if args.save is not None:
        folder = os.path.dirname(os.path.abspath(args.save))
        if os.path.isdir(args.save):
            parser.error(f"argument --save: '{args.save}' is a folder, expected a file path")
        if not os.path.isdir(folder):
            parser.error(f"argument --save: folder not found: '{folder}'")
    return args


def parse_layer_sizes(text):
    """Convert ``"100,100"`` to ``(100, 100)``, rejecting anything but positive integers."""
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"invalid layer sizes '{text}': expected comma-separated positive integers, such as 100,100"
        )
    return sizes


def parse_positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"invalid value '{text}': expected a positive integer")
    return value


def load_data(name, random_state):
    """Return ``(X_train, X_test, y_train, y_test)`` for a ``--data`` value.

    Raises
    ------
    FileNotFoundError, ValueError
        From :func:`skcredit.datasets.load_mnist_folder` when the data are missing
        or invalid.
    """
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        return train_test_split(
            X / 16.0, y, test_size=DIGITS_TEST_SIZE, stratify=y, random_state=random_state
        )
    if name == "fashion-mnist":
        return load_fashion_mnist()
    return load_mnist_folder(name)


def estimator_params(args):
    """Return the MeanFieldClassifier parameters set on the command line.

    Options left out keep the classifier's defaults.
    """
    params = {"random_state": args.random_state, "verbose": not args.quiet}
    if args.hidden is not None:
        params["hidden_layer_sizes"] = args.hidden
    if args.epochs is not None:
        params["max_iter"] = args.epochs
    return params


def count_synapse_categories(pi, xi):
    """Count the absent, deterministic and other synapses of one layer.

    Parameters
    ----------
    pi : ndarray
        Probability of absence of each synapse.
    xi : ndarray of the same shape as ``pi``
        Slab variance of each synapse.

    Returns
    -------
    absent, deterministic, other : int
        Numbers of synapses with ``pi >= 0.99``, with ``pi <= 0.01 and xi <= 1e-6``,
        and of all remaining synapses. They add up to ``pi.size``.
    """
    absent = pi >= ABSENT_MIN_PI
    deterministic = (pi <= DETERMINISTIC_MAX_PI) & (xi <= DETERMINISTIC_MAX_XI)
    n_absent = int(np.count_nonzero(absent))
    n_deterministic = int(np.count_nonzero(deterministic))
    return n_absent, n_deterministic, pi.size - n_absent - n_deterministic


def print_synapse_table(classifier):
    """Print one row per layer with its number of synapses and their categories in percent."""
    print(
        f"synapses per layer (absent: pi >= {ABSENT_MIN_PI}, deterministic: "
        f"pi <= {DETERMINISTIC_MAX_PI} and xi <= {DETERMINISTIC_MAX_XI:g})"
    )
    units = [f"{pi.shape[0]} -> {pi.shape[1]}" for pi in classifier.pi_]
    units_width = max(len("units"), *(len(label) for label in units))
    print(f"{'layer':>5}  {'units':<{units_width}}  {'synapses':>9}  {'absent':>7}  "
          f"{'deterministic':>13}  {'other':>7}")

    for layer, (label, pi, xi) in enumerate(zip(units, classifier.pi_, classifier.xi_), start=1):
        shares = [100 * count / pi.size for count in count_synapse_categories(pi, xi)]
        absent, deterministic, other = shares
        print(f"{layer:>5}  {label:<{units_width}}  {pi.size:>9}  {absent:>6.1f}%  "
              f"{deterministic:>12.1f}%  {other:>6.1f}%")
