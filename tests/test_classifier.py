"""Behaviour of MeanFieldClassifier as a scikit-learn estimator."""

import re
import threading
import warnings

import joblib
import numba
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils._param_validation import InvalidParameterError
from threadpoolctl import threadpool_info, threadpool_limits

from skcredit import MeanFieldClassifier, _network, _threads

ACTIVATIONS = ["identity", "logistic", "tanh", "relu"]


def _small_problem(n_classes=3, n_samples=120, seed=0):
    X, y = make_classification(
        n_samples=n_samples, n_features=8, n_informative=5, n_classes=n_classes,
        random_state=seed,
    )
    return X, y


def _fit_quietly(estimator, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(*args, **kwargs)


# ----------------------------------------------------------------------
# Accuracy and the mean-field oracle


def test_digits_accuracy_close_to_mlp(digits_default_fit):
    clf, X_train, X_test, y_train, y_test = digits_default_fit
    mlp = _fit_quietly(
        MLPClassifier(
            hidden_layer_sizes=clf.hidden_layer_sizes, max_iter=clf.max_iter,
            random_state=0,
        ),
        X_train, y_train,
    )
    accuracy = clf.score(X_test, y_test)
    assert accuracy >= 0.95
    assert accuracy >= mlp.score(X_test, y_test) - 0.01


@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_predict_proba_equals_mlp_with_mean_weights(
    activation, n_classes, fit_intercept
):
    X, y = _small_problem(n_classes)
    clf = _fit_quietly(
        MeanFieldClassifier(
            hidden_layer_sizes=(7, 5), activation=activation, max_iter=5,
            fit_intercept=fit_intercept, random_state=0,
        ),
        X, y,
    )
    mlp = _fit_quietly(
        MLPClassifier(hidden_layer_sizes=(7, 5), activation=activation,
                      max_iter=1, random_state=0),
        X, y,
    )
    mu = [(1 - p) * m for p, m in zip(clf.pi_, clf.m_)]
    mlp.coefs_ = [w / np.sqrt(w.shape[0]) for w in mu]
    mlp.intercepts_ = [b.copy() for b in clf.intercepts_]
    if not fit_intercept:
        assert all(np.all(b == 0) for b in clf.intercepts_)

    assert_allclose(clf.predict_proba(X), mlp.predict_proba(X), rtol=1e-10)
    assert_array_equal(clf.predict(X), mlp.predict(X))
    for coef, expected in zip(clf.coefs_, mlp.coefs_):
        assert_allclose(coef, expected, rtol=1e-12)


def test_predict_log_proba_is_log_of_proba():
    X, y = _small_problem()
    clf = _fit_quietly(MeanFieldClassifier(max_iter=3, random_state=0), X, y)
    assert_allclose(np.exp(clf.predict_log_proba(X)), clf.predict_proba(X))


# ----------------------------------------------------------------------
# Data types, sparse input and weights


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(dtype):
    X, y = _small_problem()
    X = X.astype(dtype)
    clf = _fit_quietly(MeanFieldClassifier(max_iter=3, random_state=0), X, y)
    for name in ("pi_", "m_", "xi_", "coefs_", "intercepts_"):
        assert all(a.dtype == dtype for a in getattr(clf, name)), name
    assert clf.predict_proba(X).dtype == dtype


def test_float32_training_stays_close_to_float64(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    params = dict(hidden_layer_sizes=(32,), max_iter=20, random_state=0)
    clf64 = _fit_quietly(MeanFieldClassifier(**params), X_train, y_train)
    clf32 = _fit_quietly(
        MeanFieldClassifier(**params), X_train.astype(np.float32), y_train
    )
    assert abs(clf64.score(X_test, y_test) - clf32.score(X_test, y_test)) <= 0.03


def test_sparse_input_matches_dense():
    X, y = _small_problem()
    X[X < 0] = 0.0
    params = dict(hidden_layer_sizes=(6,), max_iter=3, random_state=0)
    dense = _fit_quietly(MeanFieldClassifier(**params), X, y)
    sparse = _fit_quietly(MeanFieldClassifier(**params), sp.csr_matrix(X), y)
    for got, want in zip(sparse.m_, dense.m_):
        assert_allclose(got, want, rtol=1e-7, atol=1e-10)
    assert_allclose(
        sparse.predict_proba(sp.csr_array(X)), dense.predict_proba(X), rtol=1e-7
    )


def test_sparse_input_is_not_densified(monkeypatch):
    X, y = _small_problem()
    X_sparse = sp.csr_matrix(np.where(X > 0, X, 0.0))

    def fail_densify(*args, **kwargs):
        raise AssertionError("the sparse input was densified")

    monkeypatch.setattr(sp.csr_matrix, "toarray", fail_densify)
    monkeypatch.setattr(sp.csr_matrix, "todense", fail_densify)
    clf = _fit_quietly(MeanFieldClassifier(max_iter=2, random_state=0),
                       X_sparse, y)
    assert clf.predict(X_sparse).shape == (X.shape[0],)


def test_sample_weight_shifts_predictions():
    X, y = _small_problem(n_classes=2)
    weight = np.where(y == 1, 20.0, 1.0)
    params = dict(hidden_layer_sizes=(8,), max_iter=30, random_state=0)
    plain = _fit_quietly(MeanFieldClassifier(**params), X, y)
    weighted = _fit_quietly(MeanFieldClassifier(**params), X, y,
                            sample_weight=weight)
    assert (weighted.predict(X) == 1).sum() > (plain.predict(X) == 1).sum()


def test_zero_weight_samples_do_not_count():
    X, y = _small_problem()
    params = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0,
                  shuffle=False, batch_size=len(y))
    # Corrupt the labels of the samples that get weight zero.
    weight = np.ones(len(y))
    weight[::4] = 0.0
    y_corrupt = y.copy()
    y_corrupt[::4] = (y[::4] + 1) % 3
    base = _fit_quietly(MeanFieldClassifier(**params), X, y, sample_weight=weight)
    corrupt = _fit_quietly(MeanFieldClassifier(**params), X, y_corrupt,
                           sample_weight=weight)
    for got, want in zip(corrupt.m_, base.m_):
        assert_array_equal(got, want)


def test_string_labels_and_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = _small_problem()
    labels = np.array(["cat", "dog", "eel"])[y]
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    clf = _fit_quietly(MeanFieldClassifier(max_iter=3, random_state=0),
                       frame, labels)
    assert_array_equal(clf.classes_, ["cat", "dog", "eel"])
    assert_array_equal(clf.feature_names_in_, frame.columns)
    assert set(clf.predict(frame)) <= set(labels)


# ----------------------------------------------------------------------
# Fitted attributes and training options


def test_fitted_attributes_have_documented_shapes():
    X, y = _small_problem(n_classes=4)
    clf = _fit_quietly(
        MeanFieldClassifier(hidden_layer_sizes=(7, 5), max_iter=4, random_state=0),
        X, y,
    )
    shapes = [(8, 7), (7, 5), (5, 4)]
    for name in ("pi_", "m_", "xi_", "coefs_"):
        assert [a.shape for a in getattr(clf, name)] == shapes, name
    assert [b.shape for b in clf.intercepts_] == [(7,), (5,), (4,)]
    assert clf.n_layers_ == 4
    assert clf.n_outputs_ == 4
    assert clf.out_activation_ == "softmax"
    assert clf.n_features_in_ == 8
    assert clf.n_iter_ == 4
    assert clf.t_ == 4 * len(y)
    assert len(clf.loss_curve_) == 4
    assert clf.best_loss_ == min(clf.loss_curve_)
    assert clf.validation_scores_ is None
    for p, xi in zip(clf.pi_, clf.xi_):
        assert p.min() >= 0.0
        assert p.max() <= 1.0
        assert xi.min() >= 0.0


def test_binary_target_has_one_logistic_output():
    X, y = _small_problem(n_classes=2)
    clf = _fit_quietly(MeanFieldClassifier(max_iter=3, random_state=0), X, y)
    assert clf.n_outputs_ == 1
    assert clf.out_activation_ == "logistic"
    proba = clf.predict_proba(X)
    assert proba.shape == (len(y), 2)
    assert_allclose(proba.sum(axis=1), 1.0)


def test_training_reaches_projection_bounds(digits_split):
    X_train, _, y_train, _ = digits_split
    clf = _fit_quietly(
        MeanFieldClassifier(hidden_layer_sizes=(64,), max_iter=60, random_state=0),
        X_train, y_train,
    )
    pi = np.concatenate([p.ravel() for p in clf.pi_])
    xi = np.concatenate([x.ravel() for x in clf.xi_])
    assert (pi == 1.0).any()
    assert (xi == 0.0).any()


def test_loss_decreases(digits_split):
    X_train, _, y_train, _ = digits_split
    clf = _fit_quietly(
        MeanFieldClassifier(hidden_layer_sizes=(32,), max_iter=15, random_state=0),
        X_train, y_train,
    )
    assert clf.loss_curve_[-1] < 0.5 * clf.loss_curve_[0]


def test_refit_with_same_random_state_is_identical():
    X, y = _small_problem()
    clf = MeanFieldClassifier(hidden_layer_sizes=(6, 5), max_iter=5, random_state=3)
    first = _fit_quietly(clone(clf), X, y)
    second = _fit_quietly(clone(clf), X, y)
    for name in ("pi_", "m_", "xi_"):
        for a, b in zip(getattr(first, name), getattr(second, name)):
            assert_array_equal(a, b)
    assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    other = _fit_quietly(clf.set_params(random_state=4), X, y)
    assert not np.array_equal(other.m_[0], first.m_[0])


def _blas_threads():
    return [pool["num_threads"] for pool in threadpool_info()
            if pool["user_api"] == "blas"]


@pytest.mark.parametrize("sparse", [False, True])
def test_same_model_with_one_or_two_training_threads(sparse, monkeypatch):
    """Fitting gives the same model whether the shards run in parallel or not."""
    X, y = _small_problem(n_samples=300)
    X = sp.csr_matrix(X) if sparse else X
    clf = MeanFieldClassifier(
        hidden_layer_sizes=(12, 7), batch_size=45, max_iter=4, alpha=0.01,
        fit_intercept=True, random_state=5,
    )
    fits = []
    for n_threads in (1, 2):
        monkeypatch.setattr(_threads, "available_threads", lambda: n_threads)
        with _threads.training_threads(_network.N_SHARDS) as threads:
            assert threads.n_threads == n_threads
        fits.append(_fit_quietly(clone(clf), X, y))
    serial, threaded = fits
    for name in ("pi_", "m_", "xi_", "intercepts_"):
        for a, b in zip(getattr(threaded, name), getattr(serial, name)):
            assert_array_equal(a, b)
    assert threaded.loss_curve_ == serial.loss_curve_
    assert_array_equal(threaded.predict_proba(X), serial.predict_proba(X))


def test_training_threads_follow_the_blas_limit():
    with threadpool_limits(limits=1, user_api="blas"):
        assert _threads.available_threads() == 1


def test_fit_restores_the_thread_limits():
    X, y = _small_problem()
    blas_before = _blas_threads()
    numba_before = numba.get_num_threads()
    _fit_quietly(MeanFieldClassifier(max_iter=2, random_state=0), X, y)
    assert _blas_threads() == blas_before
    assert numba.get_num_threads() == numba_before


@pytest.mark.parametrize("n_threads", [1, 2])
def test_interrupt_keeps_reached_parameters(n_threads, monkeypatch):
    """Ctrl-C during a threaded epoch stops every thread and keeps the model."""
    X, y = _small_problem(n_samples=300)
    monkeypatch.setattr(_threads, "available_threads", lambda: n_threads)
    forward_backward = _network.forward_backward
    calls = []

    def interrupted(*args, **kwargs):
        if threading.current_thread() is threading.main_thread():
            calls.append(None)
            if len(calls) == 5:
                raise KeyboardInterrupt
        return forward_backward(*args, **kwargs)

    monkeypatch.setattr(_network, "forward_backward", interrupted)
    clf = MeanFieldClassifier(hidden_layer_sizes=(6,), batch_size=50, max_iter=3,
                              random_state=0)
    with pytest.warns(UserWarning, match="Training interrupted"):
        clf.fit(X, y)
    assert clf.n_iter_ == 0
    assert all(np.isfinite(m).all() for m in clf.m_)
    assert clf.predict(X).shape == y.shape
    assert not [t for t in threading.enumerate() if t.name.startswith("skcredit")]


def test_batch_of_one_sample_trains():
    """A batch smaller than the number of shards leaves a shard empty."""
    X, y = _small_problem(n_samples=40)
    clf = _fit_quietly(
        MeanFieldClassifier(batch_size=1, max_iter=2, random_state=0), X, y
    )
    assert np.isfinite(clf.loss_curve_).all()
    assert all(np.isfinite(m).all() for m in clf.m_)


def test_verbose_prints_one_line_per_epoch(capsys):
    X, y = _small_problem()
    _fit_quietly(MeanFieldClassifier(max_iter=3, verbose=True, random_state=0), X, y)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    for epoch, line in enumerate(lines, start=1):
        assert re.fullmatch(rf"Iteration {epoch}, loss = \d+\.\d{{8}}", line)


def test_max_iter_reached_warns():
    X, y = _small_problem()
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        MeanFieldClassifier(max_iter=2, random_state=0).fit(X, y)


def test_tol_stops_training_early():
    X, y = _small_problem()
    params = dict(max_iter=200, tol=10.0, n_iter_no_change=2, random_state=0)
    clf = MeanFieldClassifier(**params).fit(X, y)
    mlp = MLPClassifier(**params).fit(X, y)
    # The first epoch improves on an infinite loss; the next three do not
    # improve by tol, and the third of them exceeds n_iter_no_change.
    assert clf.n_iter_ == 4
    assert clf.n_iter_ == mlp.n_iter_


def test_early_stopping_keeps_best_validation_epoch(digits_split):
    X_train, _, y_train, _ = digits_split
    clf = MeanFieldClassifier(
        hidden_layer_sizes=(32,), early_stopping=True, n_iter_no_change=3,
        max_iter=200, random_state=0,
    ).fit(X_train, y_train)
    assert clf.n_iter_ < 200
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_loss_ is None
    # The restored parameters reproduce the best validation score.
    _, X_val, _, y_val = train_test_split(X_train, y_train, test_size=0.1,
                                          stratify=y_train, random_state=0)
    assert clf.score(X_val, y_val) > 0.8


def test_warm_start_continues_training():
    X, y = _small_problem()
    clf = MeanFieldClassifier(max_iter=3, warm_start=True, random_state=0)
    _fit_quietly(clf, X, y)
    m_after_first = [m.copy() for m in clf.m_]
    _fit_quietly(clf, X, y)
    assert len(clf.loss_curve_) == 6
    assert clf.n_iter_ == 3
    assert not np.array_equal(clf.m_[0], m_after_first[0])


def test_warm_start_rejects_new_layer_sizes():
    X, y = _small_problem()
    clf = _fit_quietly(
        MeanFieldClassifier(hidden_layer_sizes=(5,), max_iter=2, warm_start=True),
        X, y,
    )
    clf.set_params(hidden_layer_sizes=(6,))
    with pytest.raises(ValueError, match=r"warm_start=False"):
        clf.fit(X, y)


def test_partial_fit_runs_one_epoch_per_call():
    X, y = _small_problem()
    clf = MeanFieldClassifier(random_state=0)
    for call in range(1, 4):
        clf.partial_fit(X, y, classes=np.unique(y))
        assert clf.n_iter_ == call
        assert len(clf.loss_curve_) == call
    assert clf.t_ == 3 * len(y)
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


def test_partial_fit_accepts_subset_of_classes():
    X, y = _small_problem()
    clf = MeanFieldClassifier(random_state=0)
    clf.partial_fit(X[y != 2], y[y != 2], classes=[0, 1, 2])
    assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.predict_proba(X).shape == (len(y), 3)


def test_partial_fit_requires_classes_on_first_call():
    X, y = _small_problem()
    with pytest.raises(ValueError, match="classes must be passed"):
        MeanFieldClassifier().partial_fit(X, y)


def test_partial_fit_rejects_unknown_label():
    X, y = _small_problem()
    clf = MeanFieldClassifier().partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"labels not seen before: \[7\]"):
        clf.partial_fit(X, np.where(y == 2, 7, y))
    with pytest.raises(ValueError, match="not the same as on the first call"):
        clf.partial_fit(X, y, classes=[0, 1, 2, 3])


def test_partial_fit_rejects_early_stopping():
    X, y = _small_problem()
    with pytest.raises(ValueError, match="early_stopping"):
        MeanFieldClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])


# ----------------------------------------------------------------------
# scikit-learn tooling


def test_joblib_round_trip(tmp_path):
    X, y = _small_problem()
    clf = _fit_quietly(MeanFieldClassifier(max_iter=3, random_state=0), X, y)
    path = tmp_path / "model.joblib"
    joblib.dump(clf, path)
    loaded = joblib.load(path)
    assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_clone_copies_parameters_only():
    X, y = _small_problem()
    clf = _fit_quietly(MeanFieldClassifier(alpha=0.1, max_iter=2), X, y)
    copy = clone(clf)
    assert copy.get_params() == clf.get_params()
    with pytest.raises(NotFittedError):
        copy.predict(X)


def test_pipeline_grid_search_and_cross_val_score(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    pipe = make_pipeline(
        MinMaxScaler(), MeanFieldClassifier(max_iter=15, random_state=0)
    )
    grid = GridSearchCV(
        pipe,
        {
            "meanfieldclassifier__alpha": [1e-4, 1e-2],
            "meanfieldclassifier__hidden_layer_sizes": [(16,), (32,)],
        },
        cv=2,
        n_jobs=2,
    )
    _fit_quietly(grid, X_train, y_train)
    assert len(grid.cv_results_["params"]) == 4
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    assert grid.score(X_test, y_test) > 0.85

    clf = MeanFieldClassifier(hidden_layer_sizes=(32,), max_iter=15, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(clf, X_train, y_train, cv=3)
        # joblib's worker processes limit BLAS to one thread, so training
        # runs its shards on one thread there: the scores stay the same.
        scores_in_workers = cross_val_score(clf, X_train, y_train, cv=3, n_jobs=2)
    assert scores.shape == (3,)
    assert_array_equal(scores_in_workers, scores)
    # Ten classes: chance is 0.1; 15 epochs on two thirds of the data are
    # far from converged but well above it.
    assert scores.min() > 0.6


# ----------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize("bad_value", [np.nan, np.inf])
def test_non_finite_input_is_rejected(bad_value):
    X, y = _small_problem()
    X[3, 2] = bad_value
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        MeanFieldClassifier().fit(X, y)
    clf = _fit_quietly(MeanFieldClassifier(max_iter=1), *_small_problem())
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        clf.predict(X)


def test_wrong_number_of_features_at_predict():
    X, y = _small_problem()
    clf = _fit_quietly(MeanFieldClassifier(max_iter=1), X, y)
    with pytest.raises(ValueError, match="X has 5 features, but MeanFieldClassifier "
                       "is expecting 8 features"):
        clf.predict(X[:, :5])


def test_one_class_target_is_rejected():
    X, _ = _small_problem()
    with pytest.raises(ValueError, match="only one class: 4"):
        MeanFieldClassifier().fit(X, np.full(X.shape[0], 4))


def test_continuous_target_is_rejected():
    X, y = _small_problem()
    with pytest.raises(ValueError, match="Unknown label type: 'continuous'"):
        MeanFieldClassifier().fit(X, y + 0.5)


def test_multilabel_target_is_rejected():
    X, y = _small_problem()
    Y = np.eye(3, dtype=int)[y]
    Y[0, 1] = 1
    with pytest.raises(ValueError, match="y should be a 1d array|multilabel"):
        MeanFieldClassifier().fit(X, Y)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"alpha": -1.0}, "'alpha' parameter .* Got -1.0"),
        ({"learning_rate_init": 0.0}, "'learning_rate_init' parameter"),
        ({"activation": "softplus"}, "'activation' parameter .* Got 'softplus'"),
        ({"batch_size": 0}, "'batch_size' parameter"),
        ({"max_iter": "ten"}, "'max_iter' parameter .* Got 'ten'"),
        ({"pi_init": 1.0}, "'pi_init' parameter .* Got 1.0"),
        ({"xi_init": -0.1}, "'xi_init' parameter"),
        ({"validation_fraction": 1.0}, "'validation_fraction' parameter"),
        ({"beta_1": 1.0}, "'beta_1' parameter"),
    ],
)
def test_invalid_parameters_are_rejected(params, match):
    X, y = _small_problem()
    with pytest.raises(InvalidParameterError, match=match):
        MeanFieldClassifier(**params).fit(X, y)


@pytest.mark.parametrize("sizes", [(10, 0), (10, -3), (4.5,)])
def test_invalid_hidden_layer_sizes_are_rejected(sizes):
    X, y = _small_problem()
    with pytest.raises(ValueError, match="hidden_layer_sizes must contain "
                       "positive integers"):
        MeanFieldClassifier(hidden_layer_sizes=sizes).fit(X, y)


def test_negative_sample_weight_is_rejected():
    X, y = _small_problem()
    weight = np.ones(len(y))
    weight[5] = -1.0
    with pytest.raises(ValueError, match="Negative values in data passed to "
                       "`sample_weight`"):
        MeanFieldClassifier().fit(X, y, sample_weight=weight)


def test_divergence_names_learning_rate_and_keeps_finite_model():
    X, y = _small_problem()
    # Squares of these features overflow in the variance of the first layer.
    X = X * 1e200
    clf = MeanFieldClassifier(max_iter=5, random_state=0)
    with pytest.raises(ValueError, match="learning_rate_init .* left unfitted"):
        clf.fit(X, y)
    with pytest.raises(NotFittedError):
        clf.predict(X)

    # A fitted model survives a diverging warm-started fit unharmed.
    X_ok, y_ok = _small_problem()
    clf = _fit_quietly(
        MeanFieldClassifier(max_iter=2, warm_start=True, random_state=0),
        X_ok, y_ok,
    )
    before = clf.predict_proba(X_ok)
    with pytest.raises(ValueError, match="keeps the parameters from the start"):
        clf.fit(X, y)
    for name in ("pi_", "m_", "xi_"):
        assert all(np.isfinite(a).all() for a in getattr(clf, name))
    assert_array_equal(clf.predict_proba(X_ok), before)


def test_training_recovers_after_divergence():
    """Lowering the learning rate after a diverged step is enough."""
    X, y = _small_problem()
    clf = _fit_quietly(
        MeanFieldClassifier(batch_size=20, max_iter=3, random_state=0), X, y
    )
    clf.set_params(learning_rate_init=1e300)
    with pytest.raises(ValueError, match="keeps the parameters from the start"):
        clf.partial_fit(X, y)
    clf.set_params(learning_rate_init=0.01)
    clf.partial_fit(X, y)
    assert np.isfinite(clf.loss_)
    for name in ("pi_", "m_", "xi_"):
        assert all(np.isfinite(a).all() for a in getattr(clf, name))


def test_first_partial_fit_retries_after_divergence():
    X, y = _small_problem()
    clf = MeanFieldClassifier(
        batch_size=20, learning_rate_init=1e300, random_state=0
    )
    with pytest.raises(ValueError, match="left unfitted"):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(NotFittedError):
        clf.predict(X)
    clf.set_params(learning_rate_init=0.01)
    clf.partial_fit(X[:, :5], y, classes=[0, 1, 2])
    assert np.isfinite(clf.loss_)
    assert clf.n_features_in_ == 5


def test_failed_refit_leaves_estimator_unfitted():
    """A refit that fails on its new data keeps nothing of the old model."""
    X, y = _small_problem()
    clf = _fit_quietly(MeanFieldClassifier(max_iter=2, random_state=0), X, y)
    with pytest.raises(ValueError, match="non-zero"):
        clf.fit(X[:, :5], y % 2, sample_weight=np.zeros(len(y)))
    with pytest.raises(NotFittedError):
        clf.predict(X[:, :5])
    assert not hasattr(clf, "classes_")
    assert not hasattr(clf, "n_features_in_")


def test_early_stopping_split_error_names_the_fix():
    X, y = _small_problem(n_samples=12)
    clf = MeanFieldClassifier(early_stopping=True, validation_fraction=0.1)
    with pytest.raises(ValueError, match="validation_fraction=0.1 of 12 samples"):
        clf.fit(X, y)


def test_early_stopping_rejects_unweighted_validation_set():
    X, y = _small_problem(n_samples=60)
    sample_weight = np.zeros(len(y))
    sample_weight[:3] = 1.0
    clf = MeanFieldClassifier(early_stopping=True, max_iter=2, random_state=0)
    # With random_state=0 the three weighted samples land in the training set.
    with pytest.raises(ValueError, match="sample_weight 0"):
        clf.fit(X, y, sample_weight=sample_weight)
