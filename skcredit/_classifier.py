"""The mean-field spike-and-slab classifier."""

import math
import warnings
from functools import partial
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.utils import gen_batches
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    check_random_state,
    validate_data,
)

from . import _kernels, _network, _sampling, _threads


# Private attributes of a fitted estimator, kept between partial_fit calls.
_TRAINING_STATE = (
    "_adam_first", "_adam_second", "_adam_steps", "_best_parameters",
    "_no_improvement_count", "_noise_rngs", "_rng", "_sampling_entropy",
)


class MeanFieldClassifier(ClassifierMixin, BaseEstimator):
    """Classifier trained as a spike-and-slab ensemble of networks.

    Every synapse ``w`` of a fully connected network is a random variable
    with the spike-and-slab distribution
    ``P(w) = pi * delta(w) + (1 - pi) * Normal(m, xi)``: absent with
    probability ``pi``, otherwise drawn around ``m`` with variance ``xi``.
    Training fits ``(pi, m, xi)`` of every synapse at once, so that the whole
    ensemble of sub-networks does the task (Li and Huang, 2020). The forward
    pass propagates the mean and variance of each pre-activation (central
    limit theorem) and adds Gaussian noise scaled by its standard deviation.
    The backward pass carries the loss gradient to the three parameters of
    every synapse. Adam updates them, then ``pi`` is clipped to [0, 1] and
    ``xi`` to [0, inf), which lets synapses become exactly absent
    (``pi = 1``) or exactly deterministic (``pi = 0``, ``xi = 0``).

    Prediction uses the mean network: the network whose weights are the
    synapse means ``(1 - pi) * m / sqrt(n_in)`` (:attr:`coefs_`).

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100, 100)
        The ith element is the number of units in the ith hidden layer.

    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        Activation function of the hidden layers.

    alpha : float, default=0.0001
        Strength of the L2 penalty on the slab means ``m``.

    batch_size : int or "auto", default="auto"
        Size of the mini-batches; "auto" means ``min(200, n_samples)``.

    learning_rate_init : float, default=0.01
        Learning rate of Adam for ``pi``, ``m``, ``xi`` and the intercepts.

    max_iter : int, default=200
        Maximum number of epochs (passes over the training data).

    shuffle : bool, default=True
        Whether to shuffle the samples before each epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds the initial ``m`` and ``xi``, the shuffling of the samples,
        the Gaussian noise of the forward pass, the split of the validation
        set when ``early_stopping=True``, and the sub-networks of sampled
        inference (drawn from a seed fixed at fit time, so a fitted model
        gives the same sampled predictions at every call). Pass an int for
        reproducible results across calls to ``fit``.

    tol : float, default=1e-4
        Tolerance for the optimization. When the training loss, or the
        validation score with ``early_stopping=True``, does not improve by
        at least ``tol`` for ``n_iter_no_change`` consecutive epochs,
        training stops.

    verbose : bool, default=False
        Whether to print the loss after each epoch.

    warm_start : bool, default=False
        When True, reuse the solution of the previous call to fit as the
        initialization; otherwise start afresh.

    early_stopping : bool, default=False
        Whether to set aside ``validation_fraction`` of the training data
        (stratified) and stop when the accuracy of the mean network on it
        stops improving. The parameters of the best epoch are kept.

    validation_fraction : float, default=0.1
        Share of the training data set aside for early stopping.

    beta_1 : float, default=0.9
        Exponential decay rate of Adam's first moment estimates, in [0, 1).

    beta_2 : float, default=0.999
        Exponential decay rate of Adam's second moment estimates, in [0, 1).

    epsilon : float, default=1e-8
        Value added to Adam's denominator for numerical stability.

    n_iter_no_change : int, default=10
        Number of epochs without an improvement of ``tol`` before training
        stops.

    fit_intercept : bool, default=False
        Whether each unit has a deterministic bias. The biases are not
        synapses: they have no spike-and-slab distribution.

    pi_init : float, default=0.0
        Initial probability of absence of every synapse, in [0, 1).

    xi_init : float, default=0.01
        Initial slab variances are drawn uniformly from ``[0, xi_init]``.

    inference : {"mean_field", "sampled"}, default="mean_field"
        How ``predict_proba`` and ``predict`` combine the ensemble.
        "mean_field" runs the deterministic mean network (:attr:`coefs_`).
        "sampled" draws ``n_networks`` concrete sub-networks and averages
        their probabilities. It can be changed after fitting.

    n_networks : int, default=32
        Number of sub-networks drawn for ``inference="sampled"``.

    n_jobs : int, default=None
        Number of joblib workers across the sub-networks of sampled
        inference. ``None`` means 1 unless in a
        :obj:`joblib.parallel_backend` context; ``-1`` means all processors,
        and 0 is invalid. Results do not depend on it. Training does not use
        it: it runs the two row shards of every batch on two threads where
        BLAS may use two or more (see the user guide's performance notes).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit. Defined only when ``X`` has
        feature names that are all strings.

    n_layers_ : int
        Number of layers, input and output included.

    n_outputs_ : int
        Number of output units: 1 for a binary target (a logistic unit),
        else the number of classes (a softmax).

    out_activation_ : str
        Name of the output activation, "logistic" or "softmax".

    pi_ : list of ndarray
        Probability of absence of each synapse; element ``l`` has shape
        ``(n_units[l], n_units[l + 1])``, as ``MLPClassifier.coefs_``.

    m_ : list of ndarray
        Slab mean of each synapse, shaped like ``pi_``.

    xi_ : list of ndarray
        Slab variance of each synapse, shaped like ``pi_``.

    coefs_ : list of ndarray
        Weights of the mean network, ``(1 - pi_) * m_ / sqrt(n_in)`` per
        layer. An ``MLPClassifier`` with these weights and ``intercepts_``
        predicts exactly as this estimator.

    intercepts_ : list of ndarray
        Biases of each layer, zeros unless ``fit_intercept=True``.

    loss_ : float
        Training loss of the last epoch.

    loss_curve_ : list of float
        Training loss of each epoch: the weighted mean cross-entropy of the
        noisy ensemble plus the L2 penalty.

    best_loss_ : float or None
        Lowest training loss reached; None with ``early_stopping=True``.

    validation_scores_ : list of float or None
        Accuracy of the mean network on the validation set after each
        epoch; None unless ``early_stopping=True``.

    best_validation_score_ : float or None
        Best of ``validation_scores_``; None unless ``early_stopping=True``.

    n_iter_ : int
        Number of epochs run by the last call to fit (cumulative over calls
        to ``partial_fit``).

    t_ : int
        Number of training samples seen by the optimizer.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : The ordinary network with the same
        parameters.
    skcredit.SynapseCategorizer : Sorts the synapses of a fitted classifier
        into important, unimportant and variable ones.
    skcredit.inspection.perturbation_curve : Error of sampled networks after
        removing synapses of one category.
    skcredit.inspection.SynapseDistributionDisplay : Histograms of ``pi``,
        ``m`` and ``xi`` per layer.

    Notes
    -----
    The pre-activation of a unit sums ``n_in`` independent random synapses,
    so across the ensemble it is Gaussian with mean
    ``G = H @ mu / sqrt(n_in)`` and variance ``D = (H * H) @ var / n_in``,
    where ``mu = (1 - pi) m`` and ``var = (1 - pi) xi + pi (1 - pi) m**2``
    are the moments of each synapse. Training draws
    ``Z = G + sqrt(D + 1e-8) * eps`` with fresh ``eps ~ Normal(0, 1)`` per
    sample and unit.

    The initial slab means are drawn as the weights of ``MLPClassifier``
    (uniform, Glorot scaling), multiplied by ``sqrt(n_in)`` to undo the
    scaling of the pre-activation.

    A binary target has one logistic output unit, as in ``MLPClassifier``;
    this is the two-class softmax with one logit fixed at 0.

    References
    ----------
    Chan Li and Haiping Huang, "Learning credit assignment", Physical Review
    Letters 125, 178301 (2020). arXiv:2001.03354.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import train_test_split
    >>> from skcredit import MeanFieldClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(
    ...     X / 16, y, stratify=y, random_state=0)
    >>> clf = MeanFieldClassifier(max_iter=30, random_state=0)
    >>> clf.fit(X_train, y_train)
    MeanFieldClassifier(max_iter=30, random_state=0)
    >>> print(f"{clf.score(X_test, y_test):.2f}")
    0.9...
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions(set(_kernels.ACTIVATION_CODES))],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "fit_intercept": ["boolean"],
        "pi_init": [Interval(Real, 0, 1, closed="left")],
        "xi_init": [Interval(Real, 0, None, closed="left")],
        "inference": [StrOptions({"mean_field", "sampled"})],
        "n_networks": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": _sampling.N_JOBS_CONSTRAINT,
    }

    def __init__(
        self,
        hidden_layer_sizes=(100, 100),
        activation="relu",
        *,
        alpha=0.0001,
        batch_size="auto",
        learning_rate_init=0.01,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        fit_intercept=False,
        pi_init=0.0,
        xi_init=0.01,
        inference="mean_field",
        n_networks=32,
        n_jobs=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.fit_intercept = fit_intercept
        self.pi_init = pi_init
        self.xi_init = xi_init
        self.inference = inference
        self.n_networks = n_networks
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    @property
    def coefs_(self):
        """Weights of the mean network, ``(1 - pi_) * m_ / sqrt(n_in)``."""
        check_is_fitted(self)
        return _network.mean_network_coefs(self.pi_, self.m_)

    # ------------------------------------------------------------------
    # Fitting

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the ensemble to data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. Sparse input is used as CSR without densifying.

        y : array-like of shape (n_samples,)
            Target class labels.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples in the loss.

        Returns
        -------
        self : MeanFieldClassifier
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Update the ensemble with one epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.

        y : array-like of shape (n_samples,)
            Target class labels.

        classes : array-like of shape (n_classes,), default=None
            All classes that ``y`` can contain over the calls. Required on
            the first call, ignored (if equal to ``classes_``) afterwards.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples in the loss.

        Returns
        -------
        self : MeanFieldClassifier
            The updated estimator.
        """
        if self.early_stopping:
            raise ValueError(
                "partial_fit does not support early_stopping=True; set "
                "early_stopping=False or use fit."
            )
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _fit(self, X, y, sample_weight, incremental, classes=None):
        hidden = self._hidden_sizes()
        first_pass = not hasattr(self, "pi_") or (
            not self.warm_start and not incremental
        )

        previous_curve = getattr(self, "loss_curve_", None)
        try:
            self._validate_and_train(
                X, y, sample_weight, incremental, classes, hidden, first_pass
            )
        except Exception:
            # A new fit sets classes_ and n_features_in_ while it validates,
            # then initializes the network with a new, empty loss curve. If
            # it fails before it completes an epoch, the estimator is left
            # unfitted rather than with a mixture of the old model and the
            # new data.
            curve = getattr(self, "loss_curve_", None)
            if first_pass and (curve is previous_curve or not curve):
                self._forget_fit()
            raise
        return self

    def _validate_and_train(self, X, y, sample_weight, incremental, classes,
                            hidden, first_pass):
        # Validate the data and encode the labels as class indices.
        X, y_index = self._validate_input(X, y, first_pass, incremental, classes)
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=X.dtype, ensure_non_negative=True
        )
        layer_units = [X.shape[1], *hidden, self.n_outputs_]

        # Initialize the ensemble, or check that the previous one fits.
        if first_pass:
            random_state = check_random_state(self.random_state)
            self._initialize(layer_units, X.dtype, random_state)
        else:
            self._check_warm_layers(layer_units)
            self._cast_parameters(X.dtype)
        if not incremental or not hasattr(self, "_adam_first"):
            self._reset_optimizer()

        # Run the stochastic optimization. The shards of every batch run on
        # parallel Python threads, each with one BLAS and one numba thread,
        # because thread pools of BLAS and numba side by side slow training
        # by orders of magnitude when the cores are shared.
        with _threads.training_threads(_network.N_SHARDS) as threads:
            self._fit_stochastic(
                X, y_index, sample_weight, layer_units, incremental, threads
            )

    def _hidden_sizes(self):
        hidden = self.hidden_layer_sizes
        if not hasattr(hidden, "__iter__"):
            hidden = [hidden]
        hidden = list(hidden)
        if any(not isinstance(h, Integral) or h <= 0 for h in hidden):
            raise ValueError(
                "hidden_layer_sizes must contain positive integers, got "
                f"{self.hidden_layer_sizes!r}."
            )
        return [int(h) for h in hidden]

    def _validate_input(self, X, y, first_pass, incremental, classes):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse="csr",
            dtype=(np.float64, np.float32),
            reset=first_pass,
        )
        target_type = type_of_target(y, input_name="y")
        if target_type not in ("binary", "multiclass"):
            raise ValueError(
                f"Unknown label type: {target_type!r}. MeanFieldClassifier "
                "supports binary and multiclass targets only; for a "
                "continuous target use a regressor, for a multilabel target "
                "wrap the classifier in sklearn.multioutput.MultiOutputClassifier."
            )

        if first_pass:
            if incremental:
                if classes is None:
                    raise ValueError(
                        "classes must be passed on the first call to "
                        "partial_fit."
                    )
                all_classes = unique_labels(classes)
            else:
                all_classes = unique_labels(y)
            if len(all_classes) < 2:
                raise ValueError(
                    "MeanFieldClassifier needs samples of at least 2 classes "
                    f"in the data, but the data contains only one class: "
                    f"{all_classes.tolist()[0]!r}."
                )
            self.classes_ = all_classes
            self.n_outputs_ = 1 if len(all_classes) == 2 else len(all_classes)
            self.out_activation_ = "logistic" if self.n_outputs_ == 1 else "softmax"
        elif classes is not None and not np.array_equal(
            unique_labels(classes), self.classes_
        ):
            raise ValueError(
                f"classes={unique_labels(classes).tolist()} is not the same "
                f"as on the first call to partial_fit, {self.classes_.tolist()}."
            )

        unknown = np.setdiff1d(unique_labels(y), self.classes_)
        if len(unknown):
            raise ValueError(
                f"y contains labels not seen before: {unknown.tolist()}; the "
                f"known classes are {self.classes_.tolist()}. Refit without "
                "warm_start, or "
                "pass every class in classes= on the first call to partial_fit."
            )
        y_index = np.searchsorted(self.classes_, y).astype(np.intp)
        return X, y_index

    def _initialize(self, layer_units, dtype, random_state):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_layers_ = len(layer_units)
        self.loss_curve_ = []
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = np.inf

        # Slab means start as MLPClassifier's Glorot-uniform weights, times
        # sqrt(n_in) because the forward pass divides by it.
        factor = 2.0 if self.activation == "logistic" else 6.0
        self.pi_, self.m_, self.xi_, self.intercepts_ = [], [], [], []
        for n_in, n_out in zip(layer_units[:-1], layer_units[1:]):
            bound = np.sqrt(factor / (n_in + n_out)) * np.sqrt(n_in)
            shape = (n_in, n_out)
            self.m_.append(random_state.uniform(-bound, bound, shape).astype(dtype))
            self.xi_.append(
                random_state.uniform(0.0, self.xi_init, shape).astype(dtype)
            )
            self.pi_.append(np.full(shape, self.pi_init, dtype=dtype))
            self.intercepts_.append(np.zeros(n_out, dtype=dtype))

        # One generator for shuffling and noise, kept across partial_fit
        # calls so that successive epochs draw fresh noise.
        self._rng = np.random.default_rng(random_state.randint(2**31 - 1))
        # Root seed of the sub-networks of sampled inference.
        self._sampling_entropy = int(random_state.randint(2**31 - 1))
        # One noise generator per batch shard, so that the noise of a shard
        # does not depend on the thread that draws it.
        noise_seed = np.random.SeedSequence(random_state.randint(2**31 - 1))
        self._noise_rngs = [
            np.random.default_rng(seed) for seed in noise_seed.spawn(_network.N_SHARDS)
        ]

    def _check_warm_layers(self, layer_units):
        previous = [self.pi_[0].shape[0]] + [p.shape[1] for p in self.pi_]
        if previous != layer_units:
            raise ValueError(
                f"The fitted network has layer sizes {previous}, but "
                f"hidden_layer_sizes={self.hidden_layer_sizes!r} with this "
                f"data needs {layer_units}. Set warm_start=False to refit."
            )

    def _cast_parameters(self, dtype):
        for name in ("pi_", "m_", "xi_", "intercepts_"):
            setattr(
                self, name, [p.astype(dtype, copy=False) for p in getattr(self, name)]
            )
        if hasattr(self, "_adam_first"):
            self._adam_first = [a.astype(dtype, copy=False) for a in self._adam_first]
            self._adam_second = [
                a.astype(dtype, copy=False) for a in self._adam_second
            ]

    def _reset_optimizer(self):
        dtype = self.pi_[0].dtype
        self._adam_steps = 0
        # Adam moments of (pi, m, xi) stacked per layer, then of intercepts.
        shapes = [(3, *p.shape) for p in self.pi_]
        shapes += [b.shape for b in self.intercepts_]
        self._adam_first = [np.zeros(s, dtype=dtype) for s in shapes]
        self._adam_second = [np.zeros(s, dtype=dtype) for s in shapes]

    def _fit_stochastic(self, X, y, sample_weight, layer_units, incremental,
                        threads):
        # Split off the validation set for early stopping.
        if self.early_stopping:
            try:
                X, X_val, y, y_val, sample_weight, sample_weight_val = (
                    train_test_split(
                        X,
                        y,
                        sample_weight,
                        random_state=self._rng.integers(2**31 - 1),
                        test_size=self.validation_fraction,
                        stratify=y,
                    )
                )
            except ValueError as error:
                raise ValueError(
                    "early_stopping=True could not split off a stratified "
                    f"validation set of validation_fraction="
                    f"{self.validation_fraction} of {X.shape[0]} samples: "
                    f"{error} Increase validation_fraction or the number of "
                    "samples, or set early_stopping=False."
                ) from error
            if X_val.shape[0] < 2:
                raise ValueError(
                    f"The validation set has {X_val.shape[0]} sample(s). "
                    "Increase validation_fraction or the number of samples."
                )
            if not sample_weight_val.any():
                raise ValueError(
                    "Every sample of the validation set split off for "
                    "early_stopping has sample_weight 0, so it cannot score "
                    "the model. Give more samples a positive weight or set "
                    "early_stopping=False."
                )
            self._best_parameters = self._copy_parameters()

        n_samples = X.shape[0]
        batch_size = self._batch_size(n_samples)
        work = _network.Workspace(
            layer_units, batch_size, X.dtype, n_shards=_network.N_SHARDS
        )
        sample_idx = np.arange(n_samples)

        try:
            if not incremental:
                self.n_iter_ = 0
            for _ in range(1 if incremental else self.max_iter):
                if self.shuffle:
                    sample_idx = self._rng.permutation(n_samples)
                self.loss_ = self._run_epoch(
                    X, y, sample_weight, sample_idx, batch_size, work, threads
                )
                self.n_iter_ += 1
                self.t_ += n_samples
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")

                if self.early_stopping:
                    self._update_validation(X_val, y_val, sample_weight_val)
                else:
                    self._update_training_loss()

                if self._no_improvement_count > self.n_iter_no_change:
                    self._report_stop()
                    break
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        f"Stochastic optimizer: maximum iterations "
                        f"({self.max_iter}) reached and the optimization "
                        "hasn't converged yet. Increase max_iter.",
                        ConvergenceWarning,
                    )
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user; the model keeps the "
                          "parameters reached so far.")

        if self.early_stopping:
            self._restore_parameters(self._best_parameters)

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn(
                f"batch_size={self.batch_size} is larger than the number of "
                f"samples ({n_samples}); using batch_size={n_samples}."
            )
        return min(self.batch_size, n_samples)

    def _run_epoch(self, X, y, sample_weight, sample_idx, batch_size, work,
                   threads):
        """Run one pass of mini-batches; return the epoch's mean loss.

        If the loss or the parameters become non-finite, the parameters go
        back to their values at the start of the epoch and Adam's moment
        estimates start afresh, or the estimator becomes unfitted if no
        epoch has completed, and ValueError is raised. So the estimator
        never contains NaN.
        """
        snapshot = self._copy_parameters()
        batches = []
        for batch_slice in gen_batches(X.shape[0], batch_size):
            batch_idx = sample_idx[batch_slice]
            weight_sum = float(sample_weight[batch_idx].sum())
            if weight_sum > 0.0:
                batches.append((batch_idx, weight_sum))
        # Per batch, the losses of the shards and the sums of squared m of
        # the parts of the optimizer step, then the batch's loss.
        shard_losses = np.zeros((len(batches), work.n_shards))
        squared_m = np.zeros((len(batches), work.n_shards))
        batch_losses = np.zeros(len(batches))
        work.refresh_moments(self.pi_, self.m_, self.xi_)
        n_done = threads.run(
            partial(
                self._train_batches, X, y, sample_weight, batches, work,
                threads.n_threads, self._adam_steps, shard_losses, squared_m,
                batch_losses,
            )
        )
        weight_sums = np.array([weight_sum for _, weight_sum in batches])
        if n_done < len(batches):
            self._raise_diverged(
                snapshot, f"training loss ({batch_losses[n_done - 1]})"
            )
        if not self._parameters_are_finite():
            self._raise_diverged(snapshot, "parameters")
        if not batches:
            raise ValueError(
                "All sample weights are zero; at least one sample needs a "
                "positive weight."
            )
        return float(np.dot(batch_losses, weight_sums) / weight_sums.sum())

    def _train_batches(self, X, y, sample_weight, batches, work, n_threads,
                       first_step, shard_losses, squared_m, batch_losses,
                       thread, arrive, wait):
        """Run one training thread's share of every batch of an epoch.

        Thread ``thread`` of ``n_threads`` runs the shards and the parts of
        the optimizer step whose index is ``thread`` modulo ``n_threads``,
        and writes their losses and sums of squared ``m`` into the batch's
        row of ``shard_losses`` and ``squared_m``. ``arrive()`` and
        ``wait()`` synchronize the threads twice per batch: when its
        gradients are complete and when its step is done. In between, each
        thread draws the noise and gathers the rows of its next shards,
        which do not depend on the parameters. Adam steps are counted from
        ``first_step``, and thread 0 writes the loss of every batch into
        ``batch_losses``. Return the number of batches trained.
        It is short of ``len(batches)`` when a batch's loss is not finite.
        """
        if not batches:
            return 0
        code = _kernels.ACTIVATION_CODES[self.activation]
        own = range(thread, work.n_shards, n_threads)
        rows, inputs = {}, {}

        def select_rows_and_draw_noise(index):
            for shard in own:
                rows[shard] = self._shard_rows(batches, index, shard, work)
                work.shards[shard].draw_noise(
                    self._noise_rngs[shard], len(rows[shard])
                )

        def gather_rows():
            for shard in own:
                inputs[shard] = _network.gather_rows(
                    X, rows[shard], work.shards[shard]
                )

        # NumPy's error state is per thread. Overflow shows up as a
        # non-finite loss or parameter, checked by every thread and at the
        # end of the epoch.
        with np.errstate(over="ignore", invalid="ignore"):
            select_rows_and_draw_noise(0)
            gather_rows()
            for index, (_, weight_sum) in enumerate(batches):
                last = index + 1 == len(batches)
                for shard in own:
                    shard_losses[index, shard] = _network.forward_backward(
                        self.pi_, self.m_, self.xi_, self.intercepts_,
                        *inputs[shard], y[rows[shard]],
                        sample_weight[rows[shard]], weight_sum, code, work,
                        shard, intercept_grad=self.fit_intercept,
                    )
                arrive()
                if not last:
                    select_rows_and_draw_noise(index + 1)
                wait()
                for part in own:
                    squared_m[index, part] = self._adam_update(
                        work, part, first_step + index + 1, weight_sum
                    )
                arrive()
                if not last:
                    gather_rows()
                wait()
                data_loss = sum(shard_losses[index].tolist())
                penalty = sum(squared_m[index].tolist()) / weight_sum
                loss = data_loss + 0.5 * self.alpha * penalty
                if thread == 0:
                    self._adam_steps = first_step + index + 1
                    batch_losses[index] = loss
                # Every thread computes the same loss from the same values,
                # so all threads stop together.
                if not math.isfinite(loss):
                    return index + 1
        return len(batches)

    @staticmethod
    def _shard_rows(batches, index, shard, work):
        batch_idx = batches[index][0]
        return batch_idx[work.shard_slices(len(batch_idx))[shard]]

    def _raise_diverged(self, snapshot, quantity):
        epoch = self.n_iter_ + 1
        # Before any completed epoch there is nothing trained to keep.
        if self.loss_curve_:
            self._restore_parameters(snapshot)
            # Adam's moment estimates may be non-finite now, so the next
            # call starts them afresh.
            self._reset_optimizer()
            outcome = "keeps the parameters from the start of that epoch"
        else:
            self._forget_fit()
            outcome = "is left unfitted"
        raise ValueError(
            f"The {quantity} became non-finite in epoch {epoch}, so training "
            "diverged. Lower learning_rate_init (now "
            f"{self.learning_rate_init}) or scale the features, e.g. with "
            f"StandardScaler. The estimator {outcome}."
        )

    def _forget_fit(self):
        """Delete every fitted attribute and the optimizer state."""
        for name in [
            key for key in vars(self)
            if key.endswith("_") or key in _TRAINING_STATE
        ]:
            delattr(self, name)

    def _adam_update(self, work, part, t, weight_sum):
        """Take part ``part`` of Adam step ``t``.

        Each part updates its own share of the rows of every layer, and part
        0 also updates the intercepts. Return the sum of squared ``m`` over
        the part's rows before the step.
        """
        step = (
            self.learning_rate_init
            * math.sqrt(1.0 - self.beta_2**t)
            / (1.0 - self.beta_1**t)
        )
        l2 = self.alpha / weight_sum
        n_layers = len(self.pi_)
        squared_m = 0.0
        for layer in range(n_layers):
            n_in = self.pi_[layer].shape[0]
            start = n_in * part // work.n_shards
            stop = n_in * (part + 1) // work.n_shards
            rows = self.m_[layer][start:stop].ravel()
            squared_m += float(np.dot(rows, rows))
            mu_scale, var_scale = work.scales[layer]
            _kernels.adam_spike_slab(
                self.pi_[layer], self.m_[layer], self.xi_[layer],
                work.grad_mu[layer], work.grad_var[layer],
                mu_scale, var_scale, l2, step,
                self.beta_1, self.beta_2, self.epsilon,
                self._adam_first[layer], self._adam_second[layer],
                work.mu[layer], work.var[layer], start, stop,
            )
        if part == 0 and self.fit_intercept:
            for layer in range(n_layers):
                _kernels.adam_vector(
                    self.intercepts_[layer], work.grad_intercept[layer], step,
                    self.beta_1, self.beta_2, self.epsilon,
                    self._adam_first[n_layers + layer],
                    self._adam_second[n_layers + layer],
                )
        return squared_m

    def _update_training_loss(self):
        loss = self.loss_curve_[-1]
        if loss > self.best_loss_ - self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        self.best_loss_ = min(self.best_loss_, loss)

    def _update_validation(self, X_val, y_val, sample_weight_val):
        proba = self._mean_field_proba(X_val)
        y_pred = self._proba_to_index(proba)
        score = accuracy_score(y_val, y_pred, sample_weight=sample_weight_val)
        self.validation_scores_.append(score)
        if self.verbose:
            print(f"Validation score: {score:.6f}")
        if score < self.best_validation_score_ + self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if score > self.best_validation_score_:
            self.best_validation_score_ = score
            self._best_parameters = self._copy_parameters()

    def _report_stop(self):
        if not self.verbose:
            return
        quantity = "Validation score" if self.early_stopping else "Training loss"
        print(
            f"{quantity} did not improve more than tol={self.tol} for "
            f"{self.n_iter_no_change} consecutive epochs. Stopping."
        )

    def _copy_parameters(self):
        return [
            [p.copy() for p in getattr(self, name)]
            for name in ("pi_", "m_", "xi_", "intercepts_")
        ]

    def _restore_parameters(self, parameters):
        self.pi_, self.m_, self.xi_, self.intercepts_ = (
            [p.copy() for p in group] for group in parameters
        )

    def _parameters_are_finite(self):
        return all(
            np.isfinite(p).all()
            for name in ("pi_", "m_", "xi_", "intercepts_")
            for p in getattr(self, name)
        )

    # ------------------------------------------------------------------
    # Prediction

    def _mean_field_proba(self, X):
        """Return output-unit probabilities of the mean network for valid X."""
        dtype = X.dtype
        coefs = [c.astype(dtype, copy=False) for c in self.coefs_]
        intercepts = [b.astype(dtype, copy=False) for b in self.intercepts_]
        code = _kernels.ACTIVATION_CODES[self.activation]
        return _network.predict_mean_field(coefs, intercepts, X, code)

    def _proba_to_index(self, proba):
        if proba.shape[1] == 1:
            return (proba[:, 0] > 0.5).astype(np.intp)
        return np.argmax(proba, axis=1)

    def _validate_predict_input(self, X):
        check_is_fitted(self)
        # inference, n_networks and n_jobs may have changed since fit.
        self._validate_params()
        return validate_data(
            self,
            X,
            accept_sparse="csr",
            dtype=(np.float64, np.float32),
            reset=False,
        )

    def _sampled_proba(self, X):
        seeds = _sampling.network_seeds(self._sampling_entropy, self.n_networks)
        probas = _sampling.predict_networks(
            self.pi_, self.m_, self.xi_, self.intercepts_, X,
            _kernels.ACTIVATION_CODES[self.activation], seeds, self.n_jobs,
        )
        return probas.mean(axis=0)

    def _output_proba(self, X):
        """Return output-unit probabilities under the chosen inference."""
        if self.inference == "sampled":
            return self._sampled_proba(X)
        return self._mean_field_proba(X)

    def predict_proba(self, X):
        """Return class probabilities of the ensemble.

        With ``inference="mean_field"`` these are the probabilities of the
        mean network; with ``inference="sampled"`` the average over
        ``n_networks`` concrete sub-networks.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class, in the order of ``classes_``, in the
            floating point type of ``X``.
        """
        X = self._validate_predict_input(X)
        proba = self._output_proba(X)
        if proba.shape[1] == 1:
            proba = np.hstack([1.0 - proba, proba])
        return proba

    def predict_log_proba(self, X):
        """Return the logarithm of the class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Natural logarithm of :meth:`predict_proba`.
        """
        return np.log(self.predict_proba(X))

    def predict(self, X):
        """Predict class labels with the ensemble.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predicted class labels: the most probable class under
            :meth:`predict_proba`.
        """
        X = self._validate_predict_input(X)
        return self.classes_[self._proba_to_index(self._output_proba(X))]

    def sample_networks(self, n_networks=1, random_state=None):
        """Draw concrete sub-networks from the ensemble.

        Every synapse of a drawn network is present with probability
        ``1 - pi`` and then weighs ``m + sqrt(xi) * zeta`` with
        ``zeta ~ Normal(0, 1)``. The weights are returned divided by
        ``sqrt(n_in)``, in the convention of ``MLPClassifier.coefs_``: an
        ``MLPClassifier`` with these ``coefs_`` and this estimator's
        ``intercepts_`` computes the drawn network.

        Parameters
        ----------
        n_networks : int, default=1
            Number of networks to draw.

        random_state : int, RandomState instance or None, default=None
            Seeds the draws. Each network gets its own child of a
            ``numpy.random.SeedSequence``, so the first ``k`` networks are
            the same for every ``n_networks >= k``.

        Returns
        -------
        networks : list of list of ndarray
            One list of weight arrays per network, shaped like
            :attr:`coefs_`.

        See Also
        --------
        skcredit.inspection.perturbation_curve : Error of sampled networks
            after removing synapses of one category.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_digits
        >>> from skcredit import MeanFieldClassifier
        >>> X, y = load_digits(return_X_y=True)
        >>> clf = MeanFieldClassifier(hidden_layer_sizes=(32,), max_iter=20,
        ...                           random_state=0).fit(X / 16, y)
        >>> coefs = clf.sample_networks(3, random_state=0)[0]
        >>> [c.shape for c in coefs]
        [(64, 32), (32, 10)]

        Run the drawn network with plain NumPy:

        >>> hidden = np.maximum(X / 16 @ coefs[0], 0)
        >>> accuracy = np.mean((hidden @ coefs[1]).argmax(axis=1) == y)
        >>> bool(accuracy > 0.8)
        True
        """
        check_is_fitted(self)
        if (
            not isinstance(n_networks, Integral)
            or isinstance(n_networks, bool)
            or n_networks < 1
        ):
            raise ValueError(
                f"n_networks must be an integer >= 1, got {n_networks!r}."
            )
        entropy = check_random_state(random_state).randint(2**31 - 1)
        seeds = _sampling.network_seeds(int(entropy), n_networks)
        return [
            _sampling.draw_network(self.pi_, self.m_, self.xi_, seed)
            for seed in seeds
        ]
