"""The synapse entropy of skcredit.inspection."""

import warnings
from copy import deepcopy

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.utils._param_validation import InvalidParameterError

from skcredit import MeanFieldClassifier, SynapseCategorizer
from skcredit.inspection import synapse_entropy


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]


@pytest.fixture(scope="module")
def fitted(digits):
    """Return a small MeanFieldClassifier fitted on a few digits."""
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MeanFieldClassifier(
            hidden_layer_sizes=(5,), max_iter=3, random_state=0
        ).fit(X, y)


def _with_parameters(fitted, pi, xi):
    """Return a copy of ``fitted`` whose first layer has the given pi and xi.

    ``pi`` and ``xi`` are broadcast to the shape of the first layer.
    """
    clf = deepcopy(fitted)
    shape = fitted.pi_[0].shape
    clf.pi_ = [np.broadcast_to(pi, shape).astype(float), *fitted.pi_[1:]]
    clf.xi_ = [np.broadcast_to(xi, shape).astype(float), *fitted.xi_[1:]]
    return clf


def _reference_entropy(pi, xi, xi_scale):
    """Entropy of each synapse, written out with NumPy alone."""
    with np.errstate(divide="ignore", invalid="ignore"):
        present = np.where(pi < 1.0, -(1.0 - pi) * np.log(1.0 - pi), 0.0)
        absent = np.where(pi > 0.0, -pi * np.log(pi), 0.0)
    slab = (1.0 - pi) * 0.5 * np.log(1.0 + xi / xi_scale)
    return present + absent + slab


def test_deterministic_synapse_has_zero_entropy(fitted):
    clf = _with_parameters(fitted, pi=0.0, xi=0.0)
    _, entropy = synapse_entropy(clf, return_per_synapse=True)
    assert np.all(entropy[0] == 0.0)


@pytest.mark.parametrize("xi", [0.0, 0.5, 100.0])
def test_absent_synapse_has_zero_entropy(fitted, xi):
    clf = _with_parameters(fitted, pi=1.0, xi=xi)
    _, entropy = synapse_entropy(clf, return_per_synapse=True)
    assert np.all(entropy[0] == 0.0)


def test_half_present_synapse_has_ln2(fitted):
    clf = _with_parameters(fitted, pi=0.5, xi=0.0)
    entropy_mean, entropy = synapse_entropy(clf, return_per_synapse=True)
    assert_allclose(entropy[0], np.log(2.0), rtol=1e-12)
    assert_allclose(entropy_mean[0], np.log(2.0), rtol=1e-12)


@pytest.mark.parametrize("pi", [0.0, 0.3, 0.9])
def test_entropy_increases_with_xi(fitted, pi):
    xi = np.linspace(0.0, 1.0, fitted.pi_[0].shape[1])
    clf = _with_parameters(fitted, pi=pi, xi=xi)
    _, entropy = synapse_entropy(clf, return_per_synapse=True)
    row = entropy[0][0]
    assert np.all(np.diff(row) > 0)


def test_slab_term_of_present_synapse(fitted):
    clf = _with_parameters(fitted, pi=0.0, xi=0.02)
    _, entropy = synapse_entropy(clf, xi_scale=0.01, return_per_synapse=True)
    assert_allclose(entropy[0], 0.5 * np.log(3.0), rtol=1e-12)


def test_larger_xi_scale_lowers_entropy(fitted):
    small_scale = synapse_entropy(fitted, xi_scale=1e-3)
    large_scale = synapse_entropy(fitted, xi_scale=1.0)
    assert np.all(large_scale < small_scale)


def test_layer_means_match_numpy_reference(fitted):
    rng = np.random.default_rng(0)
    shape = fitted.pi_[0].shape
    # Mix exact zeros and ones with interior values of pi.
    pi = rng.choice([0.0, 1.0, 0.2, 0.7], size=shape)
    xi = rng.uniform(0.0, 0.3, size=shape) * (rng.uniform(size=shape) < 0.5)
    clf = _with_parameters(fitted, pi=pi, xi=xi)

    entropy_mean, entropy = synapse_entropy(
        clf, xi_scale=0.05, return_per_synapse=True
    )

    assert entropy_mean.shape == (len(clf.pi_),)
    assert len(entropy) == len(clf.pi_)
    for layer in range(len(clf.pi_)):
        expected = _reference_entropy(clf.pi_[layer], clf.xi_[layer], 0.05)
        assert entropy[layer].shape == clf.pi_[layer].shape
        assert_allclose(entropy[layer], expected, rtol=1e-12, atol=1e-15)
        assert_allclose(entropy_mean[layer], expected.mean(), rtol=1e-12)


def test_default_returns_layer_means_only(fitted):
    entropy_mean = synapse_entropy(fitted)
    assert isinstance(entropy_mean, np.ndarray)
    assert entropy_mean.shape == (2,)
    assert np.all(entropy_mean >= 0.0)


def test_categorizer_gives_entropy_of_its_estimator(fitted, digits):
    X, _ = digits
    selector = SynapseCategorizer(fitted, prefit=True).fit(X)
    assert_allclose(synapse_entropy(selector), synapse_entropy(fitted))


def test_float32_parameters(digits):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MeanFieldClassifier(hidden_layer_sizes=(5,), max_iter=2,
                                  random_state=0).fit(X.astype(np.float32), y)
    assert clf.pi_[0].dtype == np.float32
    entropy_mean, entropy = synapse_entropy(clf, return_per_synapse=True)
    expected = _reference_entropy(
        clf.pi_[0].astype(float), clf.xi_[0].astype(float), 0.01
    )
    assert_allclose(entropy[0], expected, rtol=1e-12, atol=1e-15)
    assert np.all(np.isfinite(entropy_mean))


@pytest.mark.parametrize("xi_scale", [0.0, -1.0, "large", None])
def test_invalid_xi_scale_is_rejected(fitted, xi_scale):
    with pytest.raises(InvalidParameterError, match="'xi_scale' parameter"):
        synapse_entropy(fitted, xi_scale=xi_scale)


def test_invalid_return_per_synapse_is_rejected(fitted):
    with pytest.raises(InvalidParameterError, match="'return_per_synapse'"):
        synapse_entropy(fitted, return_per_synapse="yes")


def test_other_estimator_is_rejected(digits):
    X, y = digits
    with pytest.raises(InvalidParameterError, match="'estimator' parameter"):
        synapse_entropy(LogisticRegression().fit(X, y))


@pytest.mark.parametrize(
    "estimator", [MeanFieldClassifier(), SynapseCategorizer(MeanFieldClassifier())]
)
def test_unfitted_estimator_is_rejected(estimator):
    with pytest.raises(NotFittedError):
        synapse_entropy(estimator)
