"""Command line ``python -m skcredit``: train a MeanFieldClassifier and report on its synapses.

The program trains the classifier on a data set and then prints

1. the test accuracy of the mean-field network, and the mean, standard deviation,
   minimum and maximum test accuracy of ``--networks`` sub-networks drawn from the
   trained ensemble;
2. for each layer, the number and share of important, variable and unimportant
   synapses, as categorized by :class:`skcredit.SynapseCategorizer` on the
   training data;
3. the test error of sampled sub-networks after removing 0, 25, 50, 75 and 100%
   of the first-layer synapses of each category, from
   :func:`skcredit.inspection.perturbation_curve`.

Every random draw is seeded from ``--random-state``, and ``--jobs`` changes only
the speed, not the output. Run ``python -m skcredit --help`` for the options.
"""

import argparse
import os
import sys
import warnings

import joblib
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_array, check_random_state

from skcredit import MeanFieldClassifier, SynapseCategorizer
from skcredit._categorizer import IMPORTANT, UNIMPORTANT, VARIABLE
from skcredit._kernels import ACTIVATION_CODES
from skcredit._sampling import network_seeds, predict_networks
from skcredit.datasets import load_fashion_mnist, load_mnist_folder
from skcredit.inspection import perturbation_curve

DIGITS_TEST_SIZE = 0.3

# Largest seed that numpy.random.RandomState, and so every random_state, accepts.
MAX_SEED = 2**32 - 1

# Tolerances of the synapse categories, SynapseCategorizer's pi_tol and xi_tol.
PI_TOL = 0.01
XI_TOL = 1e-6
# Category names in the order of the tables, with their codes in SynapseCategorizer.categories_.
CATEGORIES = (("important", IMPORTANT), ("variable", VARIABLE), ("unimportant", UNIMPORTANT))

# The perturbation table removes synapses of the first layer (index 0).
PERTURBED_LAYER = 0
PERTURBATION_FRACTIONS = (0.0, 0.25, 0.5, 0.75, 1.0)
PERTURBATION_REPEATS = 3


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
        check_labels(y_train, y_test)
    except (FileNotFoundError, ValueError) as error:
        # The data, not the command line, are at fault: one line, no usage.
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2

    if not args.quiet:
        print_data_summary(args.data, X_train, X_test)

    classifier = MeanFieldClassifier(**estimator_params(args))
    fit_with_convergence_note(classifier, X_train, y_train)
    print_accuracies(classifier, X_test, y_test, args)

    categorizer = SynapseCategorizer(classifier, prefit=True, pi_tol=PI_TOL, xi_tol=XI_TOL)
    categorizer.fit(X_train, y_train)
    print_synapse_table(categorizer)
    print_perturbation_table(categorizer, X_test, y_test, args)

    if args.save is not None:
        # The progress lines belong to this run, not to later fits of the
        # saved classifier.
        classifier.set_params(verbose=False)
        joblib.dump(classifier, args.save)
        print(f"saved the fitted classifier to {args.save}")
    return 0


def check_labels(y_train, y_test):
    """Raise ValueError unless the labels allow training and scoring.

    Training needs two classes, and the perturbation table can score only
    test labels that the classifier was trained on.
    """
    train_classes = np.unique(y_train)
    if len(train_classes) < 2:
        raise ValueError(
            f"the training labels contain only one class, {train_classes.tolist()}; "
            "training needs at least two"
        )
    unseen = np.setdiff1d(y_test, train_classes)
    if len(unseen):
        raise ValueError(
            f"the test labels contain classes absent from the training labels: "
            f"{unseen.tolist()}"
        )


def fit_with_convergence_note(classifier, X_train, y_train):
    """Fit, and turn a ConvergenceWarning into one line on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        classifier.fit(X_train, y_train)
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning):
            print(
                f"note: training stopped after {classifier.n_iter_} "
                f"epoch{'s' if classifier.n_iter_ != 1 else ''} "
                "before the loss converged; increase --epochs to train longer",
                file=sys.stderr,
            )
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )


def build_parser():
    parser = argparse.ArgumentParser(
        prog="skcredit",
        description=(
            "Train a skcredit.MeanFieldClassifier and print the test accuracy of the "
            "mean-field network and of sampled sub-networks, the number and share of "
            "important, variable and unimportant synapses in each layer, and the test "
            "error of sampled sub-networks after removing part of the first-layer "
            "synapses of each category."
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
        "--networks",
        type=parse_positive_int,
        default=20,
        metavar="N",
        help="number of sub-networks drawn from the trained ensemble for the sub-network "
        "accuracy and for each removal in the perturbation table (default: %(default)s)",
    )
    parser.add_argument(
        "--jobs",
        type=parse_n_jobs,
        default=1,
        metavar="N",
        help="number of joblib workers that run the sampled sub-networks, -1 for all "
        "processors. The output does not depend on it (default: %(default)s)",
    )
    parser.add_argument(
        "--random-state",
        type=int,
        default=0,
        metavar="SEED",
        help=f"seed from 0 to {MAX_SEED} of the digits train/test split, of the classifier "
        "and of the sampled sub-networks (default: %(default)s)",
    )
    parser.add_argument(
        "--save", metavar="PATH", help="write the fitted classifier to PATH with joblib.dump"
    )
    parser.add_argument(
        "--quiet", action="store_true", help="print only the results, not the per-epoch progress"
    )
    return parser


def parse_arguments(parser, argv):
    """Parse ``argv`` and reject a seed out of range and an unusable ``--save`` path.

    The checks run before training, so that a typo does not cost a whole
    training run. A ``--save`` path is unusable when it is a folder or lies in
    a missing folder. ``parser.error`` exits with status 2.
    """
    args = parser.parse_args(argv)
    if not 0 <= args.random_state <= MAX_SEED:
        parser.error(
            f"argument --random-state: invalid value '{args.random_state}': "
            f"expected an integer from 0 to {MAX_SEED}"
        )
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


def parse_n_jobs(text):
    """Convert a joblib ``n_jobs`` value, rejecting 0 and anything but an integer.

    Negative values follow joblib: -1 means all processors, -2 all but one.
    """
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value == 0:
        raise argparse.ArgumentTypeError(
            f"invalid value '{text}': expected a positive integer, or -1 for all processors"
        )
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
    if not os.path.isdir(name):
        raise FileNotFoundError(
            f"--data {name!r} is neither 'digits' nor 'fashion-mnist' nor an "
            "existing folder of MNIST-format IDX files."
        )
    return load_mnist_folder(name)


def print_data_summary(name, X_train, X_test):
    print(
        f"data: {name}, {len(X_train)} training and {len(X_test)} test samples, "
        f"{X_train.shape[1]} features"
    )


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


def subnetwork_accuracies(classifier, X, y, n_networks, n_jobs, random_state):
    """Compute the accuracy on ``(X, y)`` of each of ``n_networks`` drawn sub-networks.

    The networks are those of ``classifier.sample_networks(n_networks,
    random_state)``, and the accuracies do not depend on ``n_jobs``.

    Returns
    -------
    accuracies : ndarray of shape (n_networks,)
    """
    X = check_array(X, accept_sparse="csr", dtype=(np.float64, np.float32))
    # The same root seed as MeanFieldClassifier.sample_networks draws.
    entropy = int(check_random_state(random_state).randint(2**31 - 1))
    probas = predict_networks(
        classifier.pi_, classifier.m_, classifier.xi_, classifier.intercepts_, X,
        ACTIVATION_CODES[classifier.activation], network_seeds(entropy, n_networks), n_jobs,
    )

    # A binary target has one output unit, the probability of the positive class.
    if probas.shape[2] == 1:
        class_indices = (probas[:, :, 0] > 0.5).astype(np.intp)
    else:
        class_indices = probas.argmax(axis=2)
    predictions = classifier.classes_[class_indices]
    return np.mean(predictions == np.asarray(y), axis=1)


def print_accuracies(classifier, X_test, y_test, args):
    """Print the test accuracy of the mean-field network and statistics over sub-networks.

    The standard deviation is that of the population (``ddof=0``), as in
    :func:`perturbation_curve`.
    """
    print(f"test accuracy of the mean-field network: {classifier.score(X_test, y_test):.4f}")

    accuracies = subnetwork_accuracies(
        classifier, X_test, y_test, args.networks, args.jobs, args.random_state
    )
    networks = "sub-network" if args.networks == 1 else "sub-networks"
    print(
        f"test accuracy of {args.networks} sampled {networks}: mean {accuracies.mean():.4f}, "
        f"std {accuracies.std():.4f}, min {accuracies.min():.4f}, max {accuracies.max():.4f}"
    )


def print_synapse_table(categorizer):
    """Print one row per layer with its number of synapses and the count and share of each category."""
    print(
        f"synapse categories: unimportant if pi >= {1 - PI_TOL:g} or the synapse leaves a unit "
        f"that is zero on every training sample, else important if pi <= {PI_TOL:g} and "
        f"xi <= {XI_TOL:g}, else variable"
    )
    units = [f"{layer.shape[0]} -> {layer.shape[1]}" for layer in categorizer.categories_]
    units_width = max(len("units"), *(len(label) for label in units))
    category_headers = "".join(f"  {name:>14}" for name, _ in CATEGORIES)
    print(f"{'layer':>5}  {'units':<{units_width}}  {'synapses':>9}{category_headers}")

    for layer, (label, counts) in enumerate(zip(units, categorizer.category_counts_), start=1):
        n_synapses = int(counts.sum())
        cells = "".join(
            f"  {counts[code]:>7} {100 * counts[code] / n_synapses:>5.1f}%" for _, code in CATEGORIES
        )
        print(f"{layer:>5}  {label:<{units_width}}  {n_synapses:>9}{cells}")


def print_perturbation_table(categorizer, X_test, y_test, args):
    """Print, per category, the test error after removing fractions of its first-layer synapses.

    Every category runs :func:`perturbation_curve` with the same seed, so the
    sub-networks drawn at a fraction of 0 are the same in every row.
    """
    print(
        f"test error (%) of sampled sub-networks after removing a fraction of one category's "
        f"synapses in layer {PERTURBED_LAYER + 1}, mean ± std over {PERTURBATION_REPEATS} "
        f"repeats of {args.networks} networks"
    )
    print(
        "each fraction is of the category's own synapses, so rows remove different numbers; "
        "perturbation_curve(n_synapses=...) compares equal numbers"
    )
    fraction_headers = "".join(f"  {f'{fraction:g} removed':>12}" for fraction in PERTURBATION_FRACTIONS)
    print(f"{'category':<11}  {'synapses':>9}{fraction_headers}")

    counts = categorizer.category_counts_[PERTURBED_LAYER]
    for name, code in CATEGORIES:
        n_synapses = int(counts[code])
        if n_synapses == 0:
            print(f"{name:<11}  {n_synapses:>9}  no {name} synapses, nothing to remove")
            continue
        result = perturbation_curve(
            categorizer, X_test, y_test, layer=PERTURBED_LAYER, category=name,
            fractions=PERTURBATION_FRACTIONS, n_repeats=PERTURBATION_REPEATS,
            n_networks=args.networks, n_jobs=args.jobs, random_state=args.random_state,
        )
        cells = "".join(
            f"  {100 * mean:>5.1f} ± {100 * std:>4.1f}"
            for mean, std in zip(result.errors_mean, result.errors_std)
        )
        print(f"{name:<11}  {n_synapses:>9}{cells}")
