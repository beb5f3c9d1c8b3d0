"""Synapse categories of a spike-and-slab ensemble and selection by credit."""

from copy import deepcopy
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn import get_config
from sklearn.base import BaseEstimator, MetaEstimatorMixin, _fit_context, clone
from sklearn.exceptions import NotFittedError
from sklearn.feature_selection import SelectorMixin
from sklearn.utils import gen_batches, get_tags
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    process_routing,
)
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    check_scalar,
    validate_data,
)

from ._classifier import MeanFieldClassifier
from ._kernels import ACTIVATION_CODES, activate_inplace

# Category codes stored in ``SynapseCategorizer.categories_``.
UNIMPORTANT = 0
IMPORTANT = 1
VARIABLE = 2

class SynapseCategorizer(MetaEstimatorMixin, SelectorMixin, BaseEstimator):
    """Meta-transformer that categorizes synapses and selects credited features.

    A :class:`MeanFieldClassifier` trains an ensemble of networks in which
    every synapse is absent with probability ``pi`` and otherwise drawn
    from a normal distribution of mean ``m`` and variance ``xi``. Li and
    Huang (2020) classify the trained synapses into three categories:
    important ones with a deterministic weight, unimportant ones that are
    absent, and variable ones. This transformer assigns every synapse of a
    fitted classifier one of these categories and keeps the input features
    whose first-layer synapses are important.

    Parameters
    ----------
    estimator : MeanFieldClassifier, default=None
        The classifier whose synapses are categorized: an unfitted one when
        ``prefit=False`` (it is cloned and fitted by :meth:`fit`), a fitted
        one when ``prefit=True``. None means ``MeanFieldClassifier()`` with
        its default parameters.

    prefit : bool, default=False
        Whether ``estimator`` is already fitted. If True, :meth:`fit` does
        not train it and only needs the training data ``X`` to find the
        inactive units (see Notes).

    pi_tol : float, default=0.01
        Tolerance on the probability of absence ``pi``, in [0, 1). A synapse
        with ``pi >= 1 - pi_tol`` is unimportant, and one with
        ``pi <= pi_tol`` can be important.

    xi_tol : float, default=1e-6
        Tolerance on the slab variance ``xi``, in [0, 1). A synapse with
        ``pi <= pi_tol`` is important only if ``xi <= xi_tol``.

    threshold : str, float or None, default=None
        Features whose credit (see :attr:`feature_credit_`) is greater than
        or equal to the threshold are kept. A string sets the threshold
        from the credits: "mean", "median" or a scaled reference such as
        "1.5*mean". None keeps the features with a credit greater than 0,
        that is with at least one important first-layer synapse.

    max_features : int, callable or None, default=None
        Maximum number of features to keep, the ones of highest credit
        (ties go to the lower column index).

        - If an int, at most that many features are kept.
        - If a callable, it receives the ``X`` passed to :meth:`fit` and
          returns the maximum: ``max_features(X)``.
        - If None, the threshold alone selects the features.

        To select by ``max_features`` alone, set ``threshold=-np.inf``.

    Attributes
    ----------
    estimator_ : MeanFieldClassifier
        The categorized classifier. With ``prefit=False`` it is a clone of
        ``estimator`` fitted on the data passed to :meth:`fit`; with
        ``prefit=True`` it is a deep copy of ``estimator``.

    categories_ : list of ndarray of dtype int8
        Category of each synapse, one array per layer shaped like
        ``estimator_.pi_[l]``, that is ``(n_units[l], n_units[l + 1])``:
        0 for unimportant, 1 for important and 2 for variable synapses.

    category_counts_ : ndarray of shape (`len(categories_)`, 3)
        Number of synapses of each category. Row ``l`` counts the synapses
        of ``categories_[l]``, so there are ``estimator_.n_layers_ - 1``
        rows, and column ``c`` those of code ``c`` (unimportant, important,
        variable). Each row sums to the number of synapses of its layer.

    feature_credit_ : ndarray of shape (`n_features_in_`,)
        Credit of each input feature: the share of its first-layer synapses
        (a row of ``categories_[0]``) that are important, in [0, 1]. A
        feature that is zero in every training sample has credit 0.

    threshold_ : float
        The threshold applied to ``feature_credit_``. With
        ``threshold=None`` it is ``1 / estimator_.pi_[0].shape[1]``, the
        credit of a feature with exactly one important synapse.

    max_features_ : int
        Maximum number of features to keep, computed by :meth:`fit`.
        Defined only when ``max_features`` is not None.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when ``X``
        has feature names that are all strings.

    See Also
    --------
    MeanFieldClassifier : The spike-and-slab ensemble categorized here.
    sklearn.feature_selection.SelectFromModel : Feature selection from the
        importance weights of any estimator.
    skcredit.inspection.SynapseDistributionDisplay : Histograms of ``pi``,
        ``m`` and ``xi`` per layer, stacked by category.
    skcredit.inspection.perturbation_curve : Error of sampled networks after
        removing synapses of one category.
    skcredit.inspection.synapse_entropy : Mean entropy of the synapse
        distributions per layer.

    Notes
    -----
    The category of a synapse follows from its ``(pi, xi)``; the first
    matching rule applies:

    - 0, unimportant: ``pi >= 1 - pi_tol``, the synapse is (almost) always
      absent;
    - 1, important: ``pi <= pi_tol`` and ``xi <= xi_tol``, the synapse is
      (almost) always present with a (nearly) fixed weight;
    - 2, variable: every other synapse.

    A synapse that leaves an inactive unit is unimportant, whatever its
    ``(pi, xi)``. An input unit is inactive when its feature is zero in
    every training sample, and a hidden unit is inactive when its mean-network
    activation ``f(H @ coefs_[l] + intercepts_[l])`` is zero on every training
    sample. Training leaves such synapses at their initial ``(pi, m, xi)``
    because their gradient is zero, so with ``xi_init=0`` and ``pi_init=0``
    the rules above would call them important. Removing them leaves the
    output of the mean network on the training data unchanged. Samples
    given a ``sample_weight`` of 0 do not count as training samples here.
    With ``early_stopping=True`` the estimator trains on part of the
    samples only, yet all samples passed to :meth:`fit` count, so an input
    that is nonzero only in the validation split counts as active.

    The credit of a feature counts its first-layer synapses only. It does
    not take into account which hidden units those synapses lead to.

    References
    ----------
    Chan Li and Haiping Huang, "Learning credit assignment", Physical Review
    Letters 125, 178301 (2020). arXiv:2001.03354.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skcredit import MeanFieldClassifier, SynapseCategorizer
    >>> X, y = load_digits(return_X_y=True)
    >>> selector = SynapseCategorizer(
    ...     MeanFieldClassifier(hidden_layer_sizes=(32,), random_state=0))
    >>> X_selected = selector.fit_transform(X / 16, y)
    >>> selector.categories_[0].shape
    (64, 32)
    >>> selector.category_counts_.sum(axis=1).tolist()
    [2048, 320]

    Pixel 0 is blank in every image, so it carries no credit:

    >>> float(selector.feature_credit_[0])
    0.0
    >>> bool(selector.get_support()[0])
    False
    >>> X_selected.shape[1] < X.shape[1]
    True
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods("fit"), None],
        "prefit": ["boolean"],
        "pi_tol": [Interval(Real, 0, 1, closed="left")],
        "xi_tol": [Interval(Real, 0, 1, closed="left")],
        "threshold": [Interval(Real, None, None, closed="both"), str, None],
        "max_features": [Interval(Integral, 0, None, closed="left"), callable, None],
    }

    def __init__(
        self,
        estimator=None,
        *,
        prefit=False,
        pi_tol=0.01,
        xi_tol=1e-6,
        threshold=None,
        max_features=None,
    ):
        self.estimator = estimator
        self.prefit = prefit
        self.pi_tol = pi_tol
        self.xi_tol = xi_tol
        self.threshold = threshold
        self.max_features = max_features

    def _resolve_estimator(self):
        """Return ``estimator``, or a default MeanFieldClassifier for None."""
        if self.estimator is None:
            return MeanFieldClassifier()
        return self.estimator

    @_fit_context(
        # The nested estimator validates its own parameters when fitted.
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y=None, **fit_params):
        """Fit the classifier if needed, then categorize its synapses.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. Sparse input is used as CSR without densifying.
            With ``prefit=True``, pass the data the estimator was trained on.

        y : array-like of shape (n_samples,), default=None
            Target class labels. Required unless ``prefit=True``.

        **fit_params : dict
            Parameters passed to the ``fit`` method of the estimator, such
            as ``sample_weight``, or routed to it when metadata routing is
            enabled. Ignored when ``prefit=True``. With or without prefit,
            samples of ``sample_weight`` 0 do not count when finding the
            inactive units (see Notes).

        Returns
        -------
        self : SynapseCategorizer
            The fitted transformer.
        """
        estimator = self._resolve_estimator()
        self._check_estimator(estimator)
        X_checked = validate_data(
            self, X, accept_sparse="csr", dtype=(np.float64, np.float32)
        )
        self._set_max_features(X)

        # Fit the estimator, or check that the given one fits X.
        if self.prefit:
            if X_checked.shape[1] != estimator.n_features_in_:
                raise ValueError(
                    f"X has {X_checked.shape[1]} features, but the prefit "
                    f"{type(estimator).__name__} was fitted with "
                    f"{estimator.n_features_in_} features. Pass the data the "
                    "estimator was trained on."
                )
            self.estimator_ = deepcopy(estimator)
            sample_weight = fit_params.get("sample_weight")
        else:
            if get_config()["enable_metadata_routing"]:
                routed_params = process_routing(self, "fit", **fit_params)
                estimator_params = routed_params.estimator.fit
            else:
                estimator_params = fit_params
            self.estimator_ = clone(estimator)
            self.estimator_.fit(X, y, **estimator_params)
            sample_weight = estimator_params.get("sample_weight")

        # Only samples of positive weight give the synapses a gradient.
        # NOTE: with early_stopping=True the validation split gives none
        # either, but the estimator does not expose which samples it held.
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X_checked)
            X_checked = X_checked[sample_weight > 0]

        active_units = self._find_active_units(X_checked)
        self.categories_ = [
            _categorize_layer(pi, xi, self.pi_tol, self.xi_tol, active)
            for pi, xi, active in zip(
                self.estimator_.pi_, self.estimator_.xi_, active_units
            )
        ]
        self.category_counts_ = np.array(
            [np.bincount(c.ravel(), minlength=3) for c in self.categories_]
        )

        first_layer = self.categories_[0]
        n_first_layer_units = first_layer.shape[1]
        self.feature_credit_ = (
            np.count_nonzero(first_layer == IMPORTANT, axis=1) / n_first_layer_units
        )
        self.threshold_ = _resolve_threshold(
            self.threshold, self.feature_credit_, n_first_layer_units
        )
        return self

    def _check_estimator(self, estimator):
        if not isinstance(estimator, MeanFieldClassifier):
            raise TypeError(
                "SynapseCategorizer needs a MeanFieldClassifier as estimator "
                f"(or None for the default one), got {type(estimator).__name__}. "
                "It categorizes the spike-and-slab parameters pi_ and xi_, "
                "which only MeanFieldClassifier fits."
            )
        if self.prefit:
            try:
                check_is_fitted(estimator)
            except NotFittedError as exc:
                raise NotFittedError(
                    f"The estimator {type(estimator).__name__} is not fitted, "
                    "but prefit=True needs a fitted estimator. Fit it first, "
                    "or set prefit=False to let SynapseCategorizer fit it."
                ) from exc

    def _set_max_features(self, X):
        if self.max_features is None:
            return
        if callable(self.max_features):
            max_features = self.max_features(X)
        else:
            max_features = self.max_features
        check_scalar(max_features, "max_features", Integral, min_val=0)
        self.max_features_ = max_features

    def _find_active_units(self, X):
        """Return, per layer of synapses, a mask of the active input units.

        An input feature is active when it is nonzero in some sample of
        ``X``, a hidden unit when its mean-network activation is nonzero on
        some sample of ``X``.
        """
        coefs = [c.astype(X.dtype, copy=False) for c in self.estimator_.coefs_]
        intercepts = [
            b.astype(X.dtype, copy=False) for b in self.estimator_.intercepts_
        ]
        activation_code = ACTIVATION_CODES[self.estimator_.activation]
        hidden_sizes = [c.shape[1] for c in coefs[:-1]]
        active_hidden = [np.zeros(size, dtype=bool) for size in hidden_sizes]

        # Propagate X in chunks of rows, so that the input and the output
        # activations of the widest layer fit in sklearn's working_memory.
        row_bytes = 2 * X.dtype.itemsize * max(hidden_sizes, default=1)
        working_bytes = get_config()["working_memory"] * 2**20
        chunk_n_rows = max(1, int(working_bytes // row_bytes))
        for rows in gen_batches(X.shape[0], chunk_n_rows):
            hidden = X[rows]
            for layer, active in enumerate(active_hidden):
                hidden = np.ascontiguousarray(hidden @ coefs[layer])
                activate_inplace(hidden, intercepts[layer], activation_code)
                active |= np.any(hidden != 0, axis=0)

        return [_find_nonzero_columns(X), *active_hidden]

    def _get_support_mask(self):
        check_is_fitted(self)
        credit = self.feature_credit_
        if self.max_features is None:
            mask = np.ones(credit.shape, dtype=bool)
        else:
            mask = np.zeros(credit.shape, dtype=bool)
            # A stable sort keeps the lower column index first among ties.
            highest = np.argsort(-credit, kind="stable")[: self.max_features_]
            mask[highest] = True
        mask &= credit >= self.threshold_
        return mask

    def get_metadata_routing(self):
        """Get the metadata routing of this object.

        Please check :ref:`User Guide <metadata_routing>` on how the routing
        mechanism works.

        Returns
        -------
        routing : MetadataRouter
            A :class:`~sklearn.utils.metadata_routing.MetadataRouter` that
            routes the parameters of :meth:`fit` to the estimator's ``fit``.
        """
        return MetadataRouter(owner=self).add(
            estimator=self._resolve_estimator(),
            method_mapping=MethodMapping().add(caller="fit", callee="fit"),
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        estimator_tags = get_tags(self._resolve_estimator())
        tags.input_tags.sparse = estimator_tags.input_tags.sparse
        tags.input_tags.allow_nan = estimator_tags.input_tags.allow_nan
        tags.target_tags.required = not self.prefit
        # Selecting columns keeps the floating point type of X.
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _categorize_layer(pi, xi, pi_tol, xi_tol, active_inputs):
    """Return the int8 category codes of one layer of synapses.

    Later assignments override earlier ones, so the unimportant rules take
    precedence over the important one.
    """
    categories = np.full(pi.shape, VARIABLE, dtype=np.int8)
    categories[(pi <= pi_tol) & (xi <= xi_tol)] = IMPORTANT
    categories[pi >= 1.0 - pi_tol] = UNIMPORTANT
    categories[~active_inputs] = UNIMPORTANT
    return categories


def _find_nonzero_columns(X):
    """Return a mask of the columns of a dense or CSR ``X`` with a nonzero."""
    if sp.issparse(X):
        # Stored entries can be explicit zeros, so test their values.
        nonzero_columns = X.indices[X.data != 0]
        return np.bincount(nonzero_columns, minlength=X.shape[1]) > 0
    return np.any(X != 0, axis=0)


def _resolve_threshold(threshold, credit, n_first_layer_units):
    """Return the numeric threshold on the credits for a ``threshold`` value."""
    if threshold is None:
        # Credits are multiples of 1 / n_first_layer_units, so this keeps
        # exactly the features of positive credit.
        return 1.0 / n_first_layer_units
    if not isinstance(threshold, str):
        return float(threshold)

    invalid = ValueError(
        f"threshold={threshold!r} is invalid. Expected a number, 'mean', "
        "'median' or a scaled reference such as '1.5*mean' or '0.5*median'."
    )
    scale_text, star, reference = threshold.rpartition("*")
    reference = reference.strip()
    if reference == "mean":
        value = float(np.mean(credit))
    elif reference == "median":
        value = float(np.median(credit))
    else:
        raise invalid
    if not star:
        return value
    try:
        scale = float(scale_text)
    except ValueError:
        raise invalid from None
    return scale * value
