"""Fixtures shared by the test modules."""

import warnings

import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skcredit import MeanFieldClassifier


@pytest.fixture(scope="session")
def digits_split():
    """Return load_digits scaled to [0, 1], split 70/30 with stratification."""
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.3, stratify=y, random_state=0)


@pytest.fixture(scope="session")
def digits_default_fit(digits_split):
    """Return a default MeanFieldClassifier fitted on the digits split.

    The tuple is ``(clf, X_train, X_test, y_train, y_test)``. Tests must not
    change the estimator.
    """
    X_train, X_test, y_train, y_test = digits_split
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MeanFieldClassifier(random_state=0).fit(X_train, y_train)
    return clf, X_train, X_test, y_train, y_test
