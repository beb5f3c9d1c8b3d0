"""Behaviour of SynapseCategorizer as a scikit-learn feature selector."""

import re
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import config_context
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.feature_selection import SelectFromModel
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import InvalidParameterError

from skcredit import MeanFieldClassifier, SynapseCategorizer

# Pixels of load_digits that are 0 in every image.
BLANK_DIGIT_PIXELS = [0, 32, 39]

# (pi, xi, category) with the default pi_tol=0.01 and xi_tol=1e-6.
CATEGORY_CASES = [
    (1.0, 0.0, 0),
    (0.995, 0.3, 0),
    (0.0, 0.0, 1),
    (0.01, 1e-6, 1),
    (0.0, 2e-6, 2),
    (0.02, 0.0, 2),
    (0.5, 0.1, 2),
    (0.98, 0.0, 2),
]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.fixture(scope="module")
def digits_classifier(digits):
    X, y = digits
    return _fit_quietly(_small_classifier(), X, y)


def _small_classifier(**params):
    params = {"hidden_layer_sizes": (16,), "max_iter": 30, "random_state": 0, **params}
    return MeanFieldClassifier(**params)


def _fit_quietly(estimator, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(*args, **kwargs)


def _hand_set_classifier():
    """Return a fitted tanh classifier whose (pi, xi) cycle through the cases.

    No feature is 0 and no hidden unit has all its incoming synapses
    absent, so every unit is active and the categories follow from (pi, xi)
    alone.
    """
    X, y = make_classification(
        n_samples=60, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    assert np.all(X != 0)
    clf = _fit_quietly(
        MeanFieldClassifier(
            hidden_layer_sizes=(4,), activation="tanh", max_iter=5, random_state=0
        ),
        X,
        y,
    )
    pi_cases = np.array([case[0] for case in CATEGORY_CASES])
    xi_cases = np.array([case[1] for case in CATEGORY_CASES])
    for layer, pi in enumerate(clf.pi_):
        index = np.arange(pi.size).reshape(pi.shape) % len(CATEGORY_CASES)
        clf.pi_[layer] = pi_cases[index]
        clf.xi_[layer] = xi_cases[index]
    return clf, X


def _expected_categories(pi, xi, pi_tol, xi_tol):
    """Apply the category rules one synapse at a time."""
    expected = np.empty(pi.shape, dtype=np.int8)
    for index in np.ndindex(pi.shape):
        if pi[index] >= 1 - pi_tol:
            expected[index] = 0
        elif pi[index] <= pi_tol and xi[index] <= xi_tol:
            expected[index] = 1
        else:
            expected[index] = 2
    return expected


# ----------------------------------------------------------------------
# Category rules


def test_categories_follow_rules():
    clf, X = _hand_set_classifier()
    categorizer = SynapseCategorizer(clf, prefit=True).fit(X)

    codes = np.array([case[2] for case in CATEGORY_CASES])
    for layer, categories in enumerate(categorizer.categories_):
        index = np.arange(categories.size).reshape(categories.shape)
        assert categories.dtype == np.int8
        assert categories.shape == clf.pi_[layer].shape
        assert_array_equal(categories, codes[index % len(CATEGORY_CASES)])


@pytest.mark.parametrize(
    "pi_tol, xi_tol", [(0.0, 0.0), (0.01, 1e-6), (0.03, 1e-6), (0.01, 3e-6), (0.6, 0.5)]
)
def test_categories_follow_tolerances(pi_tol, xi_tol):
    clf, X = _hand_set_classifier()
    categorizer = SynapseCategorizer(
        clf, prefit=True, pi_tol=pi_tol, xi_tol=xi_tol
    ).fit(X)

    for layer, categories in enumerate(categorizer.categories_):
        expected = _expected_categories(clf.pi_[layer], clf.xi_[layer], pi_tol, xi_tol)
        assert_array_equal(categories, expected)


def test_tolerances_change_counts():
    clf, X = _hand_set_classifier()
    n_synapses = clf.pi_[0].size

    default = SynapseCategorizer(clf, prefit=True).fit(X).category_counts_[0]
    wide_pi = SynapseCategorizer(clf, prefit=True, pi_tol=0.03).fit(X)
    wide_xi = SynapseCategorizer(clf, prefit=True, xi_tol=3e-6).fit(X)

    # Layer 0 has 24 synapses: every case 3 times.
    assert n_synapses == 3 * len(CATEGORY_CASES)
    assert default.tolist() == [6, 6, 12]
    # pi_tol=0.03 makes (0.02, 0.0) important and (0.98, 0.0) unimportant.
    assert wide_pi.category_counts_[0].tolist() == [9, 9, 6]
    # xi_tol=3e-6 makes (0.0, 2e-6) important.
    assert wide_xi.category_counts_[0].tolist() == [6, 9, 9]


def test_category_counts_sum_to_synapses(digits):
    X, y = digits
    categorizer = _fit_quietly(
        SynapseCategorizer(_small_classifier(hidden_layer_sizes=(12, 8))), X, y
    )
    counts = categorizer.category_counts_

    assert counts.shape == (3, 3)
    for layer, pi in enumerate(categorizer.estimator_.pi_):
        assert counts[layer].sum() == pi.size
        for code in range(3):
            assert counts[layer, code] == np.count_nonzero(
                categorizer.categories_[layer] == code
            )


# ----------------------------------------------------------------------
# Inactive units


@pytest.mark.parametrize("xi_init", [0.01, 0.0])
def test_blank_pixels_get_no_credit(digits, xi_init):
    X, y = digits
    blank = ~np.any(X != 0, axis=0)
    assert blank[BLANK_DIGIT_PIXELS].all()

    categorizer = _fit_quietly(
        SynapseCategorizer(_small_classifier(xi_init=xi_init)), X, y
    )

    assert_array_equal(categorizer.feature_credit_[blank], 0.0)
    assert (categorizer.categories_[0][blank] == 0).all()
    assert not categorizer.get_support()[blank].any()
    assert categorizer.feature_credit_[~blank].max() > 0


def test_blank_pixels_keep_initial_parameters(digits):
    # With xi_init=0 the synapses of a blank pixel stay at pi = 0, xi = 0,
    # which the (pi, xi) rules alone would call important.
    X, y = digits
    clf = _fit_quietly(_small_classifier(xi_init=0.0), X, y)
    blank = ~np.any(X != 0, axis=0)

    assert_array_equal(clf.pi_[0][blank], 0.0)
    assert_array_equal(clf.xi_[0][blank], 0.0)

    categorizer = SynapseCategorizer(clf, prefit=True).fit(X)
    assert (categorizer.categories_[0][blank] == 0).all()


def test_dead_hidden_unit_is_unimportant(digits):
    X, y = digits
    clf = _fit_quietly(_small_classifier(activation="relu"), X, y)
    dead_unit = 3
    # The pixels are >= 0, so large negative incoming weights keep the
    # pre-activation <= 0 and the relu output at 0 on every image.
    clf.pi_[0][:, dead_unit] = 0.0
    clf.m_[0][:, dead_unit] = -100.0
    # By (pi, xi) alone, the outgoing synapses would be important.
    clf.pi_[1][dead_unit] = 0.0
    clf.xi_[1][dead_unit] = 0.0

    categorizer = SynapseCategorizer(clf, prefit=True).fit(X)
    categories = categorizer.categories_[1]

    # Training can leave other relu units dead as well.
    hidden = np.maximum(X @ clf.coefs_[0] + clf.intercepts_[0], 0.0)
    dead = ~np.any(hidden != 0, axis=0)
    assert dead[dead_unit]
    assert (categories[dead] == 0).all()
    expected = _expected_categories(clf.pi_[1], clf.xi_[1], 0.01, 1e-6)
    assert_array_equal(categories[~dead], expected[~dead])


def test_dead_unit_cascades_to_next_layer(digits):
    X, y = digits
    clf = _fit_quietly(
        _small_classifier(hidden_layer_sizes=(8, 6), activation="relu"), X, y
    )
    # Hidden unit 2 of the second hidden layer gets input only from
    # absent synapses, so its relu output is relu(0) = 0.
    clf.pi_[1][:, 2] = 1.0
    clf.pi_[2][2] = 0.0
    clf.xi_[2][2] = 0.0

    categorizer = SynapseCategorizer(clf, prefit=True).fit(X)

    assert (categorizer.categories_[1][:, 2] == 0).all()
    assert (categorizer.categories_[2][2] == 0).all()


def test_chunked_rows_give_same_categories(digits):
    X, y = digits
    clf = _fit_quietly(_small_classifier(hidden_layer_sizes=(16, 8)), X, y)
    whole = SynapseCategorizer(clf, prefit=True).fit(X)
    # 0.001 MiB of working memory leaves a few rows per chunk.
    with config_context(working_memory=0.001):
        chunked = SynapseCategorizer(clf, prefit=True).fit(X)

    for chunked_layer, whole_layer in zip(chunked.categories_, whole.categories_):
        assert_array_equal(chunked_layer, whole_layer)


def test_zero_weight_samples_count_as_absent(digits):
    X, y = digits
    X = X.copy()
    # Pixel 0 is nonzero only in samples of weight 0, so training never
    # moves its synapses away from pi = 0, xi = 0.
    X[:20, 0] = 1.0
    sample_weight = np.ones(X.shape[0])
    sample_weight[:20] = 0.0

    categorizer = _fit_quietly(
        SynapseCategorizer(_small_classifier(xi_init=0.0)),
        X,
        y,
        sample_weight=sample_weight,
    )
    assert (categorizer.categories_[0][0] == 0).all()

    clf = categorizer.estimator_
    prefit_weighted = SynapseCategorizer(clf, prefit=True).fit(
        X, sample_weight=sample_weight
    )
    assert (prefit_weighted.categories_[0][0] == 0).all()

    prefit_unweighted = SynapseCategorizer(clf, prefit=True).fit(X)
    assert prefit_unweighted.feature_credit_[0] == 1.0


# ----------------------------------------------------------------------
# Selection


def test_transform_keeps_supported_features(digits, digits_classifier):
    X, _ = digits
    categorizer = SynapseCategorizer(digits_classifier, prefit=True).fit(X)
    support = categorizer.get_support()

    assert 0 < support.sum() < X.shape[1]
    assert_array_equal(categorizer.transform(X), X[:, support])
    assert_array_equal(
        categorizer.get_support(indices=True), np.flatnonzero(support)
    )


def test_default_threshold_keeps_positive_credit(digits, digits_classifier):
    X, _ = digits
    categorizer = SynapseCategorizer(digits_classifier, prefit=True).fit(X)

    assert categorizer.threshold_ == 1 / 16
    assert_array_equal(categorizer.get_support(), categorizer.feature_credit_ > 0)


@pytest.mark.parametrize(
    "threshold, reference",
    [
        (0.3, lambda credit: 0.3),
        ("mean", np.mean),
        ("median", np.median),
        ("0.5*mean", lambda credit: 0.5 * np.mean(credit)),
        (" 1.5 * median", lambda credit: 1.5 * np.median(credit)),
    ],
)
def test_threshold_as_select_from_model(
    digits, digits_classifier, threshold, reference
):
    X, _ = digits
    categorizer = SynapseCategorizer(
        digits_classifier, prefit=True, threshold=threshold
    ).fit(X)
    credit = categorizer.feature_credit_
    selector = SelectFromModel(
        digits_classifier,
        prefit=True,
        threshold=threshold,
        importance_getter=lambda estimator: credit,
    ).fit(X)

    assert_allclose(categorizer.threshold_, reference(credit))
    assert_allclose(categorizer.threshold_, selector.threshold_)
    assert_array_equal(categorizer.get_support(), selector.get_support())
    assert_array_equal(categorizer.get_support(), credit >= categorizer.threshold_)


@pytest.mark.parametrize("threshold", ["max", "x*mean", "*mean", "mean*2"])
def test_invalid_threshold_string(digits, digits_classifier, threshold):
    X, _ = digits
    categorizer = SynapseCategorizer(
        digits_classifier, prefit=True, threshold=threshold
    )
    message = re.escape(f"threshold={threshold!r} is invalid")
    with pytest.raises(ValueError, match=message):
        categorizer.fit(X)


@pytest.mark.parametrize(
    "max_features, threshold",
    [(5, -np.inf), (0, -np.inf), (60, None), (100, "mean"), (lambda X: 10, -np.inf)],
)
def test_max_features_as_select_from_model(
    digits, digits_classifier, max_features, threshold
):
    X, _ = digits
    categorizer = SynapseCategorizer(
        digits_classifier,
        prefit=True,
        threshold=threshold,
        max_features=max_features,
    ).fit(X)
    credit = categorizer.feature_credit_
    selector = SelectFromModel(
        digits_classifier,
        prefit=True,
        threshold=categorizer.threshold_,
        max_features=max_features,
        importance_getter=lambda estimator: credit,
    ).fit(X)
    expected_max = max_features(X) if callable(max_features) else max_features

    assert categorizer.max_features_ == expected_max
    assert categorizer.get_support().sum() <= expected_max
    assert_array_equal(categorizer.get_support(), selector.get_support())


def test_max_features_keeps_highest_credit(digits, digits_classifier):
    X, _ = digits
    categorizer = SynapseCategorizer(
        digits_classifier, prefit=True, threshold=-np.inf, max_features=8
    ).fit(X)
    credit = categorizer.feature_credit_
    support = categorizer.get_support()

    assert support.sum() == 8
    assert credit[support].min() >= credit[~support].max()


def test_max_features_absent_without_limit(digits, digits_classifier):
    X, _ = digits
    categorizer = SynapseCategorizer(digits_classifier, prefit=True).fit(X)
    assert not hasattr(categorizer, "max_features_")


def test_feature_names_and_pandas_output(digits, digits_classifier):
    X, y = digits
    columns = [f"pixel_{i}" for i in range(X.shape[1])]
    frame = pd.DataFrame(X, columns=columns)
    categorizer = _fit_quietly(
        SynapseCategorizer(_small_classifier()), frame, y
    )
    support = categorizer.get_support()
    expected_names = np.array(columns, dtype=object)[support]

    assert_array_equal(categorizer.feature_names_in_, columns)
    assert_array_equal(categorizer.get_feature_names_out(), expected_names)

    categorizer.set_output(transform="pandas")
    reduced = categorizer.transform(frame)
    assert isinstance(reduced, pd.DataFrame)
    assert_array_equal(reduced.columns, expected_names)
    assert_array_equal(reduced.to_numpy(), X[:, support])


def test_inverse_transform_puts_zeros_back(digits, digits_classifier):
    X, _ = digits
    categorizer = SynapseCategorizer(digits_classifier, prefit=True).fit(X)
    support = categorizer.get_support()

    restored = categorizer.inverse_transform(categorizer.transform(X))

    assert restored.shape == X.shape
    assert_array_equal(restored[:, support], X[:, support])
    assert_array_equal(restored[:, ~support], 0.0)


def test_sparse_input_matches_dense(digits, digits_classifier):
    X, y = digits
    X_sparse = sp.csr_matrix(X)
    dense = SynapseCategorizer(digits_classifier, prefit=True).fit(X)
    sparse = SynapseCategorizer(digits_classifier, prefit=True).fit(X_sparse)

    assert_array_equal(sparse.get_support(), dense.get_support())
    assert_array_equal(sparse.feature_credit_, dense.feature_credit_)
    for sparse_layer, dense_layer in zip(sparse.categories_, dense.categories_):
        assert_array_equal(sparse_layer, dense_layer)

    reduced = sparse.transform(X_sparse)
    assert sp.issparse(reduced)
    assert_array_equal(reduced.toarray(), dense.transform(X))


def test_sparse_explicit_zeros_are_blank(digits, digits_classifier):
    X, _ = digits
    X_sparse = sp.csr_array(X)
    # Store explicit zeros in column 5, the only nonzeros it had.
    X_sparse.data[X_sparse.indices == 5] = 0.0
    assert X_sparse.nnz == np.count_nonzero(X)

    categorizer = SynapseCategorizer(digits_classifier, prefit=True).fit(X_sparse)

    assert (categorizer.categories_[0][5] == 0).all()
    assert categorizer.feature_credit_[5] == 0.0


def test_sparse_fit_without_prefit(digits):
    X, y = digits
    categorizer = _fit_quietly(
        SynapseCategorizer(_small_classifier()), sp.csr_matrix(X), y
    )
    assert_array_equal(categorizer.feature_credit_[BLANK_DIGIT_PIXELS], 0.0)


# ----------------------------------------------------------------------
# Estimator handling


def test_prefit_does_not_refit(digits, digits_classifier):
    X, y = digits
    params = digits_classifier.get_params()
    pi_before = [p.copy() for p in digits_classifier.pi_]
    n_epochs = len(digits_classifier.loss_curve_)

    categorizer = SynapseCategorizer(digits_classifier, prefit=True).fit(X, y)

    assert digits_classifier.get_params() == params
    assert len(digits_classifier.loss_curve_) == n_epochs
    assert categorizer.estimator_ is not digits_classifier
    assert categorizer.estimator_.get_params() == params
    for before, original, copied in zip(
        pi_before, digits_classifier.pi_, categorizer.estimator_.pi_
    ):
        assert_array_equal(original, before)
        assert_array_equal(copied, before)


def test_fit_clones_estimator(digits):
    X, y = digits
    estimator = _small_classifier()
    categorizer = _fit_quietly(SynapseCategorizer(estimator), X, y)

    assert not hasattr(estimator, "pi_")
    assert categorizer.estimator_ is not estimator
    assert categorizer.estimator_.get_params() == estimator.get_params()


def test_default_estimator():
    X, y = make_classification(n_samples=80, n_features=5, random_state=0)
    categorizer = _fit_quietly(SynapseCategorizer(), X, y)

    assert isinstance(categorizer.estimator_, MeanFieldClassifier)
    assert categorizer.estimator_.get_params() == MeanFieldClassifier().get_params()
    shapes = [categories.shape for categories in categorizer.categories_]
    assert shapes == [(5, 100), (100, 100), (100, 1)]


def test_float32_input(digits):
    X, y = digits
    X = X.astype(np.float32)
    categorizer = _fit_quietly(SynapseCategorizer(_small_classifier()), X, y)

    assert categorizer.estimator_.pi_[0].dtype == np.float32
    assert categorizer.transform(X).dtype == np.float32
    assert_array_equal(categorizer.feature_credit_[BLANK_DIGIT_PIXELS], 0.0)


def test_metadata_routing_passes_sample_weight(digits):
    X, y = digits
    sample_weight = np.ones(X.shape[0])
    sample_weight[::2] = 0.5
    expected = _fit_quietly(
        SynapseCategorizer(_small_classifier()), X, y, sample_weight=sample_weight
    )

    with config_context(enable_metadata_routing=True):
        estimator = _small_classifier().set_fit_request(sample_weight=True)
        routed = _fit_quietly(
            SynapseCategorizer(estimator), X, y, sample_weight=sample_weight
        )

    for routed_layer, expected_layer in zip(routed.categories_, expected.categories_):
        assert_array_equal(routed_layer, expected_layer)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_pipeline_grid_search_and_pickle(digits, tmp_path):
    X, y = digits
    X, y = X[:600], y[:600]
    pipeline = Pipeline(
        [
            ("select", SynapseCategorizer(_small_classifier(max_iter=20))),
            ("clf", LogisticRegression(max_iter=300)),
        ]
    )
    grid = {"select__pi_tol": [0.01, 0.1], "select__estimator__alpha": [1e-4, 1e-2]}
    search = GridSearchCV(pipeline, grid, cv=2, n_jobs=2).fit(X, y)

    assert set(search.best_params_) == set(grid)
    assert len(search.cv_results_["params"]) == 4
    best = search.best_estimator_
    assert best.named_steps["select"].pi_tol == search.best_params_["select__pi_tol"]

    path = tmp_path / "pipeline.joblib"
    joblib.dump(best, path)
    loaded = joblib.load(path)
    assert_array_equal(loaded.predict(X), best.predict(X))
    assert_array_equal(
        loaded.named_steps["select"].get_support(),
        best.named_steps["select"].get_support(),
    )


# ----------------------------------------------------------------------
# Invalid input


def test_prefit_unfitted_estimator(digits):
    X, y = digits
    categorizer = SynapseCategorizer(_small_classifier(), prefit=True)
    with pytest.raises(NotFittedError, match="MeanFieldClassifier is not fitted"):
        categorizer.fit(X, y)


@pytest.mark.parametrize("prefit", [True, False])
def test_estimator_of_wrong_type(prefit):
    X, y = make_classification(n_samples=40, n_features=5, random_state=0)
    logistic = LogisticRegression().fit(X, y)
    categorizer = SynapseCategorizer(logistic, prefit=prefit)
    with pytest.raises(
        TypeError, match="needs a MeanFieldClassifier.*got LogisticRegression"
    ):
        categorizer.fit(X, y)


@pytest.mark.parametrize("name", ["pi_tol", "xi_tol"])
@pytest.mark.parametrize("value", [-0.01, 1.0, 1.5])
def test_tolerance_out_of_range(digits, name, value):
    X, y = digits
    categorizer = SynapseCategorizer(_small_classifier(), **{name: value})
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        categorizer.fit(X, y)


def test_prefit_feature_count_mismatch(digits, digits_classifier):
    X, y = digits
    categorizer = SynapseCategorizer(digits_classifier, prefit=True)
    with pytest.raises(
        ValueError, match="X has 10 features, but .* was fitted with 64 features"
    ):
        categorizer.fit(X[:, :10], y)


def test_transform_before_fit(digits):
    X, _ = digits
    with pytest.raises(NotFittedError):
        SynapseCategorizer(_small_classifier()).transform(X)


def test_negative_max_features_from_callable(digits, digits_classifier):
    X, _ = digits
    categorizer = SynapseCategorizer(
        digits_classifier, prefit=True, max_features=lambda X: -1
    )
    with pytest.raises(ValueError, match="max_features"):
        categorizer.fit(X)
