"""Concrete sub-networks and sampled inference of MeanFieldClassifier."""

import copy
import warnings

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.utils._param_validation import InvalidParameterError

from skcredit import MeanFieldClassifier


def _fit_quietly(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


@pytest.fixture(scope="module")
def small_fit():
    X, y = make_classification(n_samples=150, n_features=10, n_informative=6,
                               n_classes=3, random_state=0)
    clf = _fit_quietly(
        MeanFieldClassifier(hidden_layer_sizes=(12, 6), max_iter=10,
                            random_state=0),
        X, y,
    )
    return clf, X, y


@pytest.fixture(scope="module")
def digits_fit(digits_default_fit):
    clf, _, X_test, _, y_test = digits_default_fit
    return clf, X_test, y_test


def _mlp_with(coefs, clf, X, y):
    """Return an MLPClassifier that computes the network with these weights."""
    mlp = _fit_quietly(
        MLPClassifier(hidden_layer_sizes=clf.hidden_layer_sizes, max_iter=1),
        X, y,
    )
    mlp.coefs_ = coefs
    mlp.intercepts_ = [b.copy() for b in clf.intercepts_]
    return mlp


def test_sample_networks_shapes_and_count(small_fit):
    clf, _, _ = small_fit
    networks = clf.sample_networks(5, random_state=0)
    assert len(networks) == 5
    for coefs in networks:
        assert [c.shape for c in coefs] == [c.shape for c in clf.coefs_]
        assert all(c.dtype == np.float64 for c in coefs)


def test_sample_networks_follow_spike_and_slab(small_fit):
    clf, _, _ = small_fit
    fixed = copy.deepcopy(clf)
    shape = clf.pi_[0].shape
    pi = np.full(shape, 0.5)
    pi[0, :] = 1.0  # always absent
    pi[1, :] = 0.0  # always present
    xi = np.full(shape, 0.25)
    xi[1, :] = 0.0  # deterministic
    m = np.full(shape, 2.0)
    fixed.pi_ = [pi, *clf.pi_[1:]]
    fixed.m_ = [m, *clf.m_[1:]]
    fixed.xi_ = [xi, *clf.xi_[1:]]

    draws = np.stack([net[0] for net in fixed.sample_networks(4000, random_state=1)])
    scale = np.sqrt(shape[0])
    assert np.all(draws[:, 0, :] == 0.0)
    assert_array_equal(draws[:, 1, :], 2.0 / scale)

    # Remaining synapses: present with probability 0.5, then Normal(2, 0.25).
    weights = draws[:, 2:, :] * scale
    present = weights != 0.0
    assert abs(present.mean() - 0.5) < 0.01
    assert abs(weights[present].mean() - 2.0) < 0.01
    assert abs(weights[present].std() - 0.5) < 0.01


def test_sample_networks_reproducible_and_prefix_stable(small_fit):
    clf, _, _ = small_fit
    first = clf.sample_networks(3, random_state=7)
    again = clf.sample_networks(3, random_state=7)
    longer = clf.sample_networks(5, random_state=7)
    other = clf.sample_networks(3, random_state=8)
    for a, b, c in zip(first, again, longer):
        for x, y, z in zip(a, b, c):
            assert_array_equal(x, y)
            assert_array_equal(x, z)
    assert not np.array_equal(first[0][0], other[0][0])


def test_sampled_network_runs_in_plain_numpy(small_fit):
    clf, X, y = small_fit
    coefs = clf.sample_networks(1, random_state=0)[0]
    hidden = X
    for coef in coefs[:-1]:
        hidden = np.maximum(hidden @ coef, 0.0)
    logits = hidden @ coefs[-1]
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    assert_allclose(_mlp_with(coefs, clf, X, y).predict_proba(X), proba,
                    rtol=1e-10)


def test_sampled_inference_averages_drawn_networks(small_fit):
    clf, X, y = small_fit
    sampled = copy.deepcopy(clf).set_params(inference="sampled", n_networks=4)
    proba = sampled.predict_proba(X)
    assert proba.shape == (len(y), 3)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert not np.allclose(proba, clf.predict_proba(X))
    assert_array_equal(sampled.predict(X), sampled.classes_[proba.argmax(axis=1)])


def test_sampled_inference_same_for_every_n_jobs(small_fit):
    clf, X, _ = small_fit
    sampled = copy.deepcopy(clf).set_params(inference="sampled", n_networks=6)
    probas = []
    for n_jobs in (1, 2, -1, 1):
        probas.append(sampled.set_params(n_jobs=n_jobs).predict_proba(X))
    for proba in probas[1:]:
        assert_array_equal(proba, probas[0])


def test_sampled_inference_survives_joblib_round_trip(small_fit, tmp_path):
    clf, X, y = small_fit
    sampled = _fit_quietly(
        MeanFieldClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0,
                            inference="sampled", n_networks=3),
        X, y,
    )
    path = tmp_path / "sampled.joblib"
    joblib.dump(sampled, path)
    assert_array_equal(joblib.load(path).predict_proba(X), sampled.predict_proba(X))


def test_sampled_accuracy_close_to_mean_field(digits_fit):
    clf, X_test, y_test = digits_fit
    mean_field = clf.score(X_test, y_test)
    accuracies = [
        _mlp_with(coefs, clf, X_test, y_test).score(X_test, y_test)
        for coefs in clf.sample_networks(20, random_state=0)
    ]
    assert abs(np.mean(accuracies) - mean_field) <= 0.02


def test_sample_networks_rejects_bad_count(small_fit):
    clf, _, _ = small_fit
    for bad in (0, -2, 1.5, "3", True):
        with pytest.raises(ValueError, match=f"n_networks must be an integer >= 1, got {bad!r}"):
            clf.sample_networks(bad)


def test_n_networks_parameter_validated(small_fit):
    _, X, y = small_fit
    with pytest.raises(InvalidParameterError, match="'n_networks' parameter"):
        MeanFieldClassifier(n_networks=0).fit(X, y)
    with pytest.raises(InvalidParameterError, match="'inference' parameter"):
        MeanFieldClassifier(inference="bayes").fit(X, y)
    with pytest.raises(InvalidParameterError, match="'n_jobs' parameter"):
        MeanFieldClassifier(n_jobs=0).fit(X, y)


def test_parameters_changed_after_fit_are_validated(small_fit):
    clf, X, _ = small_fit
    changed = copy.deepcopy(clf)
    for params, name in (({"inference": "mc"}, "inference"),
                         ({"n_networks": 0}, "n_networks")):
        changed.set_params(**params)
        with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
            changed.predict(X)
        changed.set_params(**clf.get_params())
