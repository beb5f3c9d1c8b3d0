"""The target-perturbation experiment of skcredit.inspection."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from skcredit import MeanFieldClassifier
from skcredit.inspection import perturbation_curve


@pytest.fixture(scope="module")
def digits_fit(digits_default_fit):
    clf, _, X_test, _, y_test = digits_default_fit
    return clf, X_test, y_test


def _category_sizes(clf):
    sizes = {}
    for category in ("important", "variable", "unimportant"):
        result = perturbation_curve(clf, *_tiny_data(clf), category=category,
                                    fractions=[0.0], n_repeats=1, n_networks=1)
        sizes[category] = result.n_category
    return sizes


def _tiny_data(clf):
    rng = np.random.default_rng(0)
    X = rng.uniform(0.0, 1.0, (4, clf.n_features_in_))
    return X, clf.classes_[:4]


def test_removal_order_follows_categories(digits_fit):
    clf, X_test, y_test = digits_fit
    sizes = _category_sizes(clf)
    same_number = min(sizes["important"], sizes["variable"])
    assert same_number > 100

    def error_at(category, n_synapses, fractions):
        return perturbation_curve(
            clf, X_test, y_test, layer=0, category=category,
            fractions=fractions, n_synapses=n_synapses, n_repeats=10,
            n_networks=10, random_state=0,
        )

    important = error_at("important", same_number, [0.5])
    variable = error_at("variable", same_number, [0.5])
    unimportant = error_at("unimportant", None, [0.0, 0.5, 1.0])
    assert important.n_removed[0] == variable.n_removed[0]
    assert important.errors_mean[0] > variable.errors_mean[0]
    assert variable.errors_mean[0] > unimportant.errors_mean[1]
    assert abs(unimportant.errors_mean[2] - unimportant.errors_mean[0]) <= 0.01


def test_result_layout(digits_fit):
    clf, X_test, y_test = digits_fit
    fractions = [0.0, 0.3, 1.0]
    result = perturbation_curve(clf, X_test, y_test, layer=1,
                                category="variable", fractions=fractions,
                                n_repeats=3, n_networks=2, random_state=0)
    assert_array_equal(result.fractions, fractions)
    assert result.errors.shape == (3, 3)
    assert_array_equal(result.errors_mean, result.errors.mean(axis=1))
    assert_array_equal(result.errors_std, result.errors.std(axis=1))
    assert result.n_removed[0] == 0
    assert result.n_removed[-1] == result.n_category
    assert result.n_removed[1] == round(0.3 * result.n_category)
    assert np.all(result.errors >= 0.0)
    assert np.all(result.errors <= 1.0)


def test_same_result_for_every_n_jobs(digits_fit):
    clf, X_test, y_test = digits_fit
    results = [
        perturbation_curve(clf, X_test, y_test, category="important",
                           fractions=[0.25, 0.75], n_repeats=3, n_networks=2,
                           n_jobs=n_jobs, random_state=3).errors
        for n_jobs in (1, 2)
    ]
    assert_array_equal(results[0], results[1])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"layer": 3}, ValueError, r"layer=3 is out of range: the network has 3 layers"),
        ({"layer": -1}, InvalidParameterError, "'layer' parameter"),
        ({"category": "essential"}, InvalidParameterError,
         "'category' parameter .* Got 'essential'"),
        ({"fractions": [0.5, 1.5]}, ValueError, r"values in \[0, 1\], got \[0.5, 1.5\]"),
        ({"fractions": [-0.1]}, ValueError, r"values in \[0, 1\]"),
        ({"fractions": []}, ValueError, "non-empty"),
        ({"n_networks": 0}, InvalidParameterError, "'n_networks' parameter"),
        ({"n_repeats": 0}, InvalidParameterError, "'n_repeats' parameter"),
        ({"n_jobs": 0}, InvalidParameterError, "'n_jobs' parameter"),
        ({"pi_tol": 1.0}, InvalidParameterError, "'pi_tol' parameter"),
        ({"n_synapses": 10**9}, ValueError, "exceeds the"),
    ],
)
def test_bad_arguments_are_rejected(digits_fit, kwargs, error, match):
    clf, X_test, y_test = digits_fit
    with pytest.raises(error, match=match):
        perturbation_curve(clf, X_test, y_test, **kwargs)


def test_bad_data_is_rejected(digits_fit):
    clf, X_test, y_test = digits_fit
    with pytest.raises(ValueError, match="expecting 64 features"):
        perturbation_curve(clf, X_test[:, :10], y_test)
    with pytest.raises(ValueError, match=r"labels the estimator was not fitted on: \[42\]"):
        perturbation_curve(clf, X_test, np.where(y_test == 3, 42, y_test))
    with pytest.raises(ValueError, match="pass one label per row of X"):
        perturbation_curve(clf, X_test, y_test[:-1])


def test_unfitted_estimator_is_rejected(digits_fit):
    _, X_test, y_test = digits_fit
    with pytest.raises(NotFittedError):
        perturbation_curve(MeanFieldClassifier(), X_test, y_test)


def test_other_estimator_type_is_rejected(digits_fit):
    from sklearn.linear_model import LogisticRegression

    _, X_test, y_test = digits_fit
    other = LogisticRegression(max_iter=50).fit(X_test, y_test)
    with pytest.raises(TypeError, match="needs a fitted MeanFieldClassifier or "
                       "SynapseCategorizer, got LogisticRegression"):
        perturbation_curve(other, X_test, y_test)
