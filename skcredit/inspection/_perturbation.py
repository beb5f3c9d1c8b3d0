"""Target perturbation: remove synapses of one category and measure the error."""

from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_params,
)
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import _kernels, _sampling, _threads
from .._categorizer import (
    IMPORTANT,
    UNIMPORTANT,
    VARIABLE,
    SynapseCategorizer,
    _categorize_layer,
)
from .._classifier import MeanFieldClassifier

CATEGORY_CODES = {"unimportant": UNIMPORTANT, "important": IMPORTANT,
                  "variable": VARIABLE}


def _ensemble_and_categories(estimator, layer, pi_tol, xi_tol):
    """Return the fitted MeanFieldClassifier and the categories of ``layer``."""
    if not isinstance(estimator, (MeanFieldClassifier, SynapseCategorizer)):
        raise TypeError(
            "perturbation_curve needs a fitted MeanFieldClassifier or "
            f"SynapseCategorizer, got {type(estimator).__name__}: only their "
            "synapses have the pi, m and xi that the removal changes."
        )
    if isinstance(estimator, SynapseCategorizer):
        check_is_fitted(estimator)
        ensemble = estimator.estimator_
        categories = estimator.categories_
    else:
        check_is_fitted(estimator, "pi_")
        ensemble = estimator
        categories = None
    n_layers = len(ensemble.pi_)
    if not 0 <= layer < n_layers:
        raise ValueError(
            f"layer={layer} is out of range: the network has {n_layers} layers "
            f"of synapses, numbered 0 to {n_layers - 1}."
        )
    if categories is None:
        pi, xi = ensemble.pi_[layer], ensemble.xi_[layer]
        active = np.ones(pi.shape[0], dtype=bool)
        return ensemble, _categorize_layer(pi, xi, pi_tol, xi_tol, active)
    return ensemble, categories[layer]


def _perturbed_error(ensemble, X, y_index, layer, removed, seeds):
    """Return the mean error of networks drawn with ``removed`` synapses absent."""
    pi = [p.copy() if i == layer else p for i, p in enumerate(ensemble.pi_)]
    pi[layer].flat[removed] = 1.0
    probas = _sampling._predict_networks(
        pi, ensemble.m_, ensemble.xi_,
        [b.astype(X.dtype, copy=False) for b in ensemble.intercepts_], X,
        _kernels.ACTIVATION_CODES[ensemble.activation], seeds,
    )
    errors = [
        np.mean(ensemble._proba_to_index(proba) != y_index) for proba in probas
    ]
    return float(np.mean(errors))


def _run_jobs(ensemble, X, y_index, layer, jobs):
    return [
        _perturbed_error(ensemble, X, y_index, layer, removed, seeds)
        for removed, seeds in jobs
    ]


@validate_params(
    {
        "estimator": [HasMethods(["predict_proba"]), HasMethods(["transform"])],
        "X": ["array-like", "sparse matrix"],
        "y": ["array-like"],
        "layer": [Interval(Integral, 0, None, closed="left")],
        "category": [StrOptions(set(CATEGORY_CODES))],
        "fractions": ["array-like"],
        "n_synapses": [Interval(Integral, 0, None, closed="left"), None],
        "n_repeats": [Interval(Integral, 1, None, closed="left")],
        "n_networks": [Interval(Integral, 1, None, closed="left")],
        "pi_tol": [Interval(Real, 0, 1, closed="left")],
        "xi_tol": [Interval(Real, 0, 1, closed="left")],
        "n_jobs": _sampling.N_JOBS_CONSTRAINT,
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def perturbation_curve(
    estimator,
    X,
    y,
    *,
    layer=0,
    category="important",
    fractions=(0.0, 0.25, 0.5, 0.75, 1.0),
    n_synapses=None,
    n_repeats=5,
    n_networks=10,
    pi_tol=0.01,
    xi_tol=1e-6,
    n_jobs=None,
    random_state=None,
):
    """Measure the error after removing growing shares of one synapse category.

    For each fraction ``f`` and each repeat, a random ``f`` share of the
    synapses of ``category`` in ``layer`` is removed by setting their ``pi``
    to 1. Then ``n_networks`` concrete sub-networks are drawn from the
    perturbed ensemble, and their mean error on ``(X, y)`` is recorded.
    Within one repeat the removed sets are nested: the synapses removed at a
    smaller fraction stay removed at a larger one. Every fraction of a
    repeat also uses the same network seeds, so that sampling noise does not
    drown the differences between fractions. This is the target-perturbation experiment of
    Li and Huang (2020): removing important synapses hurts far more than
    removing as many variable ones, and removing unimportant synapses
    changes almost nothing.

    Parameters
    ----------
    estimator : MeanFieldClassifier or SynapseCategorizer
        A fitted ensemble. With a fitted ``SynapseCategorizer`` its
        ``categories_`` are used (they mark the synapses of inactive inputs
        unimportant); with a ``MeanFieldClassifier`` the categories follow
        from ``pi_tol`` and ``xi_tol`` alone.

    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Data on which the error is measured, usually held-out data.

    y : array-like of shape (n_samples,)
        True labels of ``X``.

    layer : int, default=0
        Layer of synapses to perturb, 0 for the synapses from the inputs to
        the first hidden layer.

    category : {"important", "variable", "unimportant"}, default="important"
        Category whose synapses are removed.

    fractions : array-like of float, default=(0.0, 0.25, 0.5, 0.75, 1.0)
        Shares of ``n_synapses`` to remove, each in [0, 1].

    n_synapses : int, default=None
        Number of synapses that fraction 1 removes. None means all synapses
        of the category. Pass the same number for several categories to
        compare removals of equal size; it may not exceed the size of the
        category.

    n_repeats : int, default=5
        Number of random removals per fraction.

    n_networks : int, default=10
        Number of sub-networks drawn per removal.

    pi_tol, xi_tol : float, default=0.01 and 1e-6
        Tolerances of the categories for a ``MeanFieldClassifier``: a
        synapse is unimportant when ``pi >= 1 - pi_tol``, important when
        ``pi <= pi_tol`` and ``xi <= xi_tol``, variable otherwise. Ignored
        for a ``SynapseCategorizer``, which has its own.

    n_jobs : int, default=None
        Number of joblib workers across removals. ``-1`` means all
        processors, and 0 is invalid. Results do not depend on it.

    random_state : int, RandomState instance or None, default=None
        Seeds the choice of removed synapses and the sub-network draws.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes

        fractions : ndarray of shape (n_fractions,)
            The fractions, as given.
        n_removed : ndarray of shape (n_fractions,)
            Number of synapses removed at each fraction.
        n_category : int
            Number of synapses of the category in the layer.
        errors : ndarray of shape (n_fractions, n_repeats)
            Mean error of the drawn sub-networks for each removal.
        errors_mean : ndarray of shape (n_fractions,)
            Mean of ``errors`` over repeats.
        errors_std : ndarray of shape (n_fractions,)
            Standard deviation of ``errors`` over repeats.

    See Also
    --------
    sklearn.inspection.permutation_importance : Importance of features by
        permuting them.
    skcredit.inspection.PerturbationCurveDisplay : Plots the curves of
        several categories.

    References
    ----------
    Chan Li and Haiping Huang, "Learning credit assignment", Physical Review
    Letters 125, 178301 (2020). arXiv:2001.03354.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skcredit import MeanFieldClassifier
    >>> from skcredit.inspection import perturbation_curve
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MeanFieldClassifier(hidden_layer_sizes=(32,), max_iter=20,
    ...                           random_state=0).fit(X / 16, y)
    >>> result = perturbation_curve(clf, X / 16, y, category="important",
    ...                             fractions=[0, 1], random_state=0)
    >>> bool(result.errors_mean[1] > result.errors_mean[0])
    True
    """
    ensemble, categories = _ensemble_and_categories(
        estimator, layer, pi_tol, xi_tol
    )
    X = validate_data(ensemble, X, accept_sparse="csr",
                      dtype=(np.float64, np.float32), reset=False)
    y = np.asarray(y)
    if y.shape != (X.shape[0],):
        raise ValueError(
            f"y has shape {y.shape}, but X has {X.shape[0]} rows: pass one "
            "label per row of X."
        )
    unknown = np.setdiff1d(y, ensemble.classes_)
    if len(unknown):
        raise ValueError(
            f"y contains labels the estimator was not fitted on: "
            f"{unknown.tolist()}; its classes are {ensemble.classes_.tolist()}."
        )
    y_index = np.searchsorted(ensemble.classes_, y)

    fractions = np.asarray(fractions, dtype=float).ravel()
    if fractions.size == 0 or np.any((fractions < 0) | (fractions > 1)) or (
        not np.all(np.isfinite(fractions))
    ):
        raise ValueError(
            f"fractions must be a non-empty list of values in [0, 1], got "
            f"{fractions.tolist()}."
        )

    candidates = np.flatnonzero(categories.ravel() == CATEGORY_CODES[category])
    n_category = len(candidates)
    if n_synapses is None:
        n_synapses = n_category
    elif n_synapses > n_category:
        raise ValueError(
            f"n_synapses={n_synapses} exceeds the {n_category} {category} "
            f"synapses of layer {layer}; pass at most {n_category}."
        )
    n_removed = np.round(fractions * n_synapses).astype(int)

    # One seed sequence per repeat: a child for the removal order and one
    # per drawn network, shared by all fractions of that repeat.
    entropy = int(check_random_state(random_state).randint(2**31 - 1))
    jobs = []
    for repeat_seed in np.random.SeedSequence(entropy).spawn(n_repeats):
        order_seed, network_root = repeat_seed.spawn(2)
        order = np.random.default_rng(order_seed).permutation(candidates)
        seeds = network_root.spawn(n_networks)
        jobs.append([(order[:k], seeds) for k in n_removed])
    flat_jobs = [job for repeat in jobs for job in repeat]

    # Threads share X without copies; the kernels and BLAS release the GIL.
    # The BLAS limit is global to the process, so it is set here for all.
    n_workers = min(effective_n_jobs(n_jobs), len(flat_jobs))
    chunks = np.array_split(np.arange(len(flat_jobs)), n_workers)
    with _threads.one_blas_thread():
        results = Parallel(n_jobs=n_workers, prefer="threads")(
            delayed(_run_jobs)(ensemble, X, y_index, layer,
                               [flat_jobs[i] for i in chunk])
            for chunk in chunks
        )
    errors = np.array([e for chunk in results for e in chunk])
    errors = errors.reshape(n_repeats, len(fractions)).T

    return Bunch(
        fractions=fractions,
        n_removed=n_removed,
        n_category=n_category,
        errors=errors,
        errors_mean=errors.mean(axis=1),
        errors_std=errors.std(axis=1),
    )
