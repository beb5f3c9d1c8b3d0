"""Displays of the synapse distributions and of the target perturbation.

The displays follow the pattern of scikit-learn's plotting API: the
constructor stores precomputed results, ``plot`` draws them and returns the
display, and ``from_estimator`` computes the results and plots them.
matplotlib is imported only when a display draws, so that skcredit works
without it.
"""

from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._categorizer import SynapseCategorizer
from .._classifier import MeanFieldClassifier
from ._perturbation import CATEGORY_CODES, perturbation_curve

# Category names in the order of their codes in SynapseCategorizer.categories_.
CATEGORY_NAMES = ("unimportant", "important", "variable")

CATEGORY_COLORS = {
    "important": "tab:blue",
    "variable": "tab:orange",
    "unimportant": "tab:gray",
}

# Axis labels of the three spike-and-slab parameters, in column order.
PARAMETER_LABELS = (
    r"$\pi$ (probability of absence)",
    r"$m$ (slab mean)",
    r"$\xi$ (slab variance)",
)

# Bin estimators of numpy.histogram_bin_edges.
_BIN_ESTIMATORS = ("auto", "fd", "doane", "scott", "stone", "rice", "sturges", "sqrt")


def _import_pyplot(caller):
    """Return ``matplotlib.pyplot``, or raise ImportError naming the fix."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"{caller} requires matplotlib, which is not installed. Install "
            "it with 'pip install matplotlib', or install skcredit from its "
            "checkout with the plot extra: pip install '.[plot]'."
        ) from exc
    return plt


def _merge_kw(defaults, user_kw):
    """Return ``defaults`` updated with the user's keyword arguments."""
    merged = dict(defaults)
    if user_kw is not None:
        merged.update(user_kw)
    return merged


def _check_bins(bins):
    if isinstance(bins, str) and bins in _BIN_ESTIMATORS:
        return
    if isinstance(bins, Integral) and not isinstance(bins, bool) and bins >= 1:
        return
    raise ValueError(
        f"bins={bins!r} is invalid. Pass a positive number of bins or one of "
        f"the bin estimators of numpy.histogram_bin_edges: {list(_BIN_ESTIMATORS)}."
    )


def _check_ensemble(estimator, caller):
    """Return the fitted MeanFieldClassifier of ``estimator``."""
    if isinstance(estimator, SynapseCategorizer):
        check_is_fitted(estimator)
        return estimator.estimator_
    if isinstance(estimator, MeanFieldClassifier):
        check_is_fitted(estimator)
        return estimator
    raise TypeError(
        f"{caller} needs a fitted MeanFieldClassifier or SynapseCategorizer, "
        f"got {type(estimator).__name__}."
    )


class SynapseDistributionDisplay:
    """Histograms of the spike-and-slab parameters of the synapses per layer.

    Every synapse of a :class:`~skcredit.MeanFieldClassifier` has the
    distribution ``P(w) = pi * delta(w) + (1 - pi) * Normal(m, xi)``. The
    display draws one row of three histograms per layer: the probability
    of absence ``pi``, the slab mean ``m`` and the slab variance ``xi``.
    After training, the peaks at ``pi = 0`` with ``xi = 0`` (deterministic
    synapses) and at ``pi = 1`` (absent synapses) show the important and
    unimportant synapses, and the rest of the mass shows the variable ones.
    When category codes are given, each histogram stacks the three
    categories in their own colors.

    Use :meth:`from_estimator` to create a display from a fitted estimator.
    All parameters are stored as attributes.

    Parameters
    ----------
    pi : list of ndarray
        Probability of absence of the synapses, one array per layer shown,
        as in :attr:`MeanFieldClassifier.pi_ <skcredit.MeanFieldClassifier>`.

    m : list of ndarray
        Slab means, shaped like ``pi``.

    xi : list of ndarray
        Slab variances, shaped like ``pi``.

    layers : list of int, default=None
        Index in the network of each layer shown, used in the axis titles.
        None means 0, 1, 2 and so on.

    categories : list of ndarray, default=None
        Category code of every synapse, shaped like ``pi``, as in
        :attr:`SynapseCategorizer.categories_ <skcredit.SynapseCategorizer>`:
        0 unimportant, 1 important, 2 variable. None draws one histogram per
        parameter without categories.

    Attributes
    ----------
    axes_ : ndarray of matplotlib Axes of shape (n_layers_shown, 3)
        Axes of the histograms: one row per layer shown, with the columns
        ``pi``, ``m`` and ``xi``.

    bars_ : ndarray of shape (n_layers_shown, 3), dtype=object
        The bars of each histogram: a list of one matplotlib
        ``BarContainer``, or of one per category in code order (unimportant,
        important, variable) when ``categories`` is given.

    bin_edges_ : ndarray of shape (n_layers_shown, 3), dtype=object
        The bin edges of each histogram. The bins of ``pi`` span [0, 1];
        those of ``m`` and ``xi`` span the values of the layer.

    figure_ : matplotlib Figure
        Figure that contains the histograms.

    See Also
    --------
    SynapseDistributionDisplay.from_estimator : Plot the histograms of a
        fitted estimator.
    skcredit.SynapseCategorizer : Sorts the synapses into the three
        categories.
    skcredit.inspection.synapse_entropy : Mean entropy of the synapse
        distributions per layer.

    References
    ----------
    Chan Li and Haiping Huang, "Learning credit assignment", Physical Review
    Letters 125, 178301 (2020). arXiv:2001.03354.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from skcredit.inspection import SynapseDistributionDisplay
    >>> rng = np.random.default_rng(0)
    >>> pi = [rng.uniform(size=(4, 3))]
    >>> m = [rng.normal(size=(4, 3))]
    >>> xi = [rng.uniform(0, 0.1, size=(4, 3))]
    >>> display = SynapseDistributionDisplay(pi, m, xi).plot(bins=5)
    >>> display.axes_.shape
    (1, 3)
    >>> plt.close("all")
    """

    def __init__(self, pi, m, xi, *, layers=None, categories=None):
        self.pi = pi
        self.m = m
        self.xi = xi
        self.layers = layers
        self.categories = categories

    def _check_data(self):
        """Return the layer indices, after checking the stored arrays."""
        n_rows = len(self.pi)
        if n_rows == 0:
            raise ValueError("pi is empty. Pass one array per layer to show.")
        lists = {"m": self.m, "xi": self.xi}
        if self.categories is not None:
            lists["categories"] = self.categories
        for name, values in lists.items():
            if len(values) != n_rows:
                raise ValueError(
                    f"{name} has {len(values)} arrays but pi has {n_rows}: "
                    "pass one array per layer shown."
                )
        for row in range(n_rows):
            shape = np.shape(self.pi[row])
            for name, values in lists.items():
                if np.shape(values[row]) != shape:
                    raise ValueError(
                        f"{name}[{row}] has shape {np.shape(values[row])}, but "
                        f"pi[{row}] has shape {shape}."
                    )

        layers = list(range(n_rows)) if self.layers is None else list(self.layers)
        if len(layers) != n_rows:
            raise ValueError(
                f"layers has {len(layers)} entries but pi has {n_rows} arrays."
            )
        return layers

    def _check_axes(self, ax, n_rows):
        """Return the axes as an (n_rows, 3) array, creating them if None."""
        if ax is None:
            plt = _import_pyplot("SynapseDistributionDisplay.plot")
            _, axes = plt.subplots(
                n_rows, 3, figsize=(12, 3 * n_rows), squeeze=False,
                layout="constrained",
            )
            return axes
        axes = np.asarray(ax, dtype=object)
        if axes.size != 3 * n_rows:
            raise ValueError(
                f"ax contains {axes.size} axes, but the display needs "
                f"{3 * n_rows}: a row of three (pi, m, xi) for each of the "
                f"{n_rows} layer(s) shown."
            )
        return axes.reshape(n_rows, 3)

    def plot(self, ax=None, *, bins=30, log=True, hist_kw=None):
        """Plot the histograms.

        Parameters
        ----------
        ax : array-like of matplotlib Axes, default=None
            Axes to draw on, ``3 * n_layers_shown`` of them, filled row by
            row: the ``pi``, ``m`` and ``xi`` of the first layer shown, then
            of the next one. None creates a new figure with one row of three
            axes per layer.

        bins : int or str, default=30
            Number of bins of each histogram, or the name of a bin estimator
            of :func:`numpy.histogram_bin_edges` such as "auto".

        log : bool, default=True
            Whether the counts use a logarithmic scale. Trained ensembles
            put large shares of their synapses at ``pi = 0``, ``pi = 1`` and
            ``xi = 0``, which hide the rest on a linear scale.

        hist_kw : dict, default=None
            Keyword arguments passed to :meth:`matplotlib.axes.Axes.hist`,
            overriding those of the display.

        Returns
        -------
        display : SynapseDistributionDisplay
            The display, with the matplotlib objects as attributes.
        """
        layers = self._check_data()
        _check_bins(bins)
        n_rows = len(layers)
        axes = self._check_axes(ax, n_rows)

        self.bars_ = np.empty((n_rows, 3), dtype=object)
        self.bin_edges_ = np.empty((n_rows, 3), dtype=object)
        for row, layer in enumerate(layers):
            parameters = (self.pi[row], self.m[row], self.xi[row])
            for column, values in enumerate(parameters):
                values = np.asarray(values, dtype=np.float64).ravel()
                value_range = (0.0, 1.0) if column == 0 else None
                edges = np.histogram_bin_edges(values, bins=bins, range=value_range)
                if self.categories is None:
                    data, kw = values, {}
                else:
                    codes = np.asarray(self.categories[row]).ravel()
                    data = [values[codes == code] for code in range(len(CATEGORY_NAMES))]
                    kw = {
                        "stacked": True,
                        "color": [CATEGORY_COLORS[name] for name in CATEGORY_NAMES],
                        "label": list(CATEGORY_NAMES),
                    }
                kw = _merge_kw({"log": log, **kw}, hist_kw)
                _, _, bars = axes[row, column].hist(data, bins=edges, **kw)
                self.bars_[row, column] = bars if isinstance(bars, list) else [bars]
                self.bin_edges_[row, column] = edges

                axes[row, column].set_title(f"layer {layer}")
                axes[row, column].set_xlabel(PARAMETER_LABELS[column])
            axes[row, 0].set_ylabel("Number of synapses")

        if self.categories is not None:
            axes[0, 0].legend(title="category")
        self.axes_ = axes
        self.figure_ = axes[0, 0].figure
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        *,
        layer=None,
        by_category="auto",
        bins=30,
        log=True,
        ax=None,
        hist_kw=None,
    ):
        """Plot the histograms of ``pi``, ``m`` and ``xi`` of a fitted ensemble.

        Parameters
        ----------
        estimator : MeanFieldClassifier or SynapseCategorizer
            A fitted ensemble. For a fitted ``SynapseCategorizer`` the
            histograms are those of its ``estimator_``, and its
            ``categories_`` can color them.

        layer : int, default=None
            Layer of synapses to show, 0 for the synapses from the inputs to
            the first hidden layer. None shows every layer, one row each.

        by_category : bool or "auto", default="auto"
            Whether to stack the histograms by synapse category. "auto"
            means True for a ``SynapseCategorizer`` and False for a
            ``MeanFieldClassifier``, which has no categories.

        bins : int or str, default=30
            Number of bins, or a bin estimator of
            :func:`numpy.histogram_bin_edges`.

        log : bool, default=True
            Whether the counts use a logarithmic scale.

        ax : array-like of matplotlib Axes, default=None
            Axes to draw on, three per layer shown (see :meth:`plot`). None
            creates a new figure.

        hist_kw : dict, default=None
            Keyword arguments passed to :meth:`matplotlib.axes.Axes.hist`.

        Returns
        -------
        display : SynapseDistributionDisplay
            The display, with the matplotlib objects as attributes.

        See Also
        --------
        SynapseDistributionDisplay.plot : Plot precomputed arrays.

        Examples
        --------
        >>> import matplotlib.pyplot as plt
        >>> from sklearn.datasets import load_digits
        >>> from skcredit import MeanFieldClassifier, SynapseCategorizer
        >>> from skcredit.inspection import SynapseDistributionDisplay
        >>> X, y = load_digits(return_X_y=True)
        >>> selector = SynapseCategorizer(MeanFieldClassifier(
        ...     hidden_layer_sizes=(32,), max_iter=20, random_state=0))
        >>> selector = selector.fit(X / 16, y)
        >>> display = SynapseDistributionDisplay.from_estimator(selector)
        >>> display.axes_.shape
        (2, 3)
        >>> len(display.bars_[0, 0])  # one bar container per category
        3
        >>> plt.close("all")
        """
        _import_pyplot("SynapseDistributionDisplay.from_estimator")
        ensemble = _check_ensemble(
            estimator, "SynapseDistributionDisplay.from_estimator"
        )
        is_categorizer = isinstance(estimator, SynapseCategorizer)
        if by_category == "auto":
            by_category = is_categorizer
        elif not isinstance(by_category, (bool, np.bool_)):
            raise ValueError(
                f"by_category must be True, False or 'auto', got {by_category!r}."
            )
        if by_category and not is_categorizer:
            raise ValueError(
                "by_category=True needs the categories of a fitted "
                "SynapseCategorizer, but a MeanFieldClassifier was passed. "
                "Pass SynapseCategorizer(estimator, prefit=True).fit(X) instead."
            )

        n_layers = len(ensemble.pi_)
        if layer is None:
            layers = list(range(n_layers))
        elif (
            isinstance(layer, Integral)
            and not isinstance(layer, bool)
            and 0 <= layer < n_layers
        ):
            layers = [int(layer)]
        else:
            raise ValueError(
                f"layer={layer!r} is invalid: the network has {n_layers} layers "
                f"of synapses, numbered 0 to {n_layers - 1}. Pass one of them "
                "or None for all."
            )

        categories = None
        if by_category:
            categories = [estimator.categories_[i] for i in layers]
        display = cls(
            [ensemble.pi_[i] for i in layers],
            [ensemble.m_[i] for i in layers],
            [ensemble.xi_[i] for i in layers],
            layers=layers,
            categories=categories,
        )
        return display.plot(ax=ax, bins=bins, log=log, hist_kw=hist_kw)


class PerturbationCurveDisplay:
    """Error of the ensemble against the share of removed synapses, per category.

    The target-perturbation experiment of Li and Huang (2020) removes a
    growing share of the synapses of one category and measures the error of
    sub-networks drawn from the perturbed ensemble
    (:func:`~skcredit.inspection.perturbation_curve`). The display draws one
    line per category, the mean error over the random removals, with its
    spread: the band of one standard deviation around the mean, or error
    bars. In the experiments of Li and Huang, removing important synapses
    raises the error far more than removing as many variable ones, and
    removing unimportant synapses changes almost nothing.

    Use :meth:`from_estimator` to run the experiment and plot it, or pass
    precomputed results of :func:`~skcredit.inspection.perturbation_curve`
    to the constructor. All parameters are stored as attributes.

    Parameters
    ----------
    results : dict of str to Bunch
        Results of :func:`~skcredit.inspection.perturbation_curve` keyed by
        the name of the category removed, drawn in the order of the dict.
        Each result needs ``fractions``, ``errors_mean`` and
        ``errors_std``. ``n_removed`` is needed to plot against the number
        of removed synapses. ``n_category`` and ``n_removed``, when present,
        are shown in the legend as "up to max(n_removed) of n_category"
        synapses removed.

    layer : int, default=None
        Layer of the removed synapses, shown in the title. None shows no
        title.

    Attributes
    ----------
    lines_ : dict of str to matplotlib Line2D
        Line of the mean error of each category.

    spreads_ : dict of str to matplotlib artist, or None
        The spread of each category: a ``PolyCollection`` of the band from
        ``errors_mean - errors_std`` to ``errors_mean + errors_std``, or an
        ``ErrorbarContainer``. None when the plot shows no spread.

    ax_ : matplotlib Axes
        Axes with the curves.

    figure_ : matplotlib Figure
        Figure that contains the curves.

    See Also
    --------
    PerturbationCurveDisplay.from_estimator : Run the experiment and plot
        its results.
    skcredit.inspection.perturbation_curve : Run the experiment for one
        category.

    References
    ----------
    Chan Li and Haiping Huang, "Learning credit assignment", Physical Review
    Letters 125, 178301 (2020). arXiv:2001.03354.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from sklearn.utils import Bunch
    >>> from skcredit.inspection import PerturbationCurveDisplay
    >>> fractions = np.array([0.0, 0.5, 1.0])
    >>> results = {
    ...     "important": Bunch(fractions=fractions,
    ...                        errors_mean=np.array([0.05, 0.3, 0.8]),
    ...                        errors_std=np.array([0.01, 0.05, 0.02])),
    ...     "variable": Bunch(fractions=fractions,
    ...                       errors_mean=np.array([0.05, 0.1, 0.2]),
    ...                       errors_std=np.array([0.01, 0.02, 0.03])),
    ... }
    >>> display = PerturbationCurveDisplay(results, layer=0).plot()
    >>> sorted(display.lines_)
    ['important', 'variable']
    >>> plt.close("all")
    """

    def __init__(self, results, *, layer=None):
        self.results = results
        self.layer = layer

    def _check_results(self, x):
        if len(self.results) == 0:
            raise ValueError(
                "results is empty. Pass a dict of perturbation_curve results "
                "keyed by category name."
            )
        required = ("fractions", "errors_mean", "errors_std")
        if x == "n_removed":
            required += ("n_removed",)
        for name, result in self.results.items():
            missing = [key for key in required if key not in result]
            if missing:
                raise ValueError(
                    f"The result of {name!r} has no {missing}. Pass the Bunch "
                    "returned by perturbation_curve, or a dict with the keys "
                    f"{list(required)}."
                )
            n_points = len(result["fractions"])
            for key in required[1:]:
                if len(result[key]) != n_points:
                    raise ValueError(
                        f"The result of {name!r} has {len(result[key])} values "
                        f"of {key} but {n_points} fractions."
                    )

    def plot(
        self,
        ax=None,
        *,
        spread="std",
        x="fraction",
        line_kw=None,
        fill_between_kw=None,
    ):
        """Plot the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on. None creates a new figure and axes.

        spread : {"std", "errorbar"} or None, default="std"
            How to show the standard deviation of the error over the
            repeats: "std" fills the band from ``errors_mean - errors_std``
            to ``errors_mean + errors_std``, "errorbar" draws error bars of
            ``errors_std``, None shows the mean only.

        x : {"fraction", "n_removed"}, default="fraction"
            Quantity on the horizontal axis: the fraction removed, or the
            number of removed synapses.

        line_kw : dict, default=None
            Keyword arguments passed to :meth:`matplotlib.axes.Axes.plot`,
            or to :meth:`matplotlib.axes.Axes.errorbar` with
            ``spread="errorbar"``, for every line.

        fill_between_kw : dict, default=None
            Keyword arguments passed to
            :meth:`matplotlib.axes.Axes.fill_between` for every band, with
            ``spread="std"``.

        Returns
        -------
        display : PerturbationCurveDisplay
            The display, with the matplotlib objects as attributes.
        """
        if spread not in ("std", "errorbar", None):
            raise ValueError(
                f"spread must be 'std', 'errorbar' or None, got {spread!r}."
            )
        if x not in ("fraction", "n_removed"):
            raise ValueError(f"x must be 'fraction' or 'n_removed', got {x!r}.")
        self._check_results(x)

        if ax is None:
            plt = _import_pyplot("PerturbationCurveDisplay.plot")
            _, ax = plt.subplots(layout="constrained")

        self.lines_ = {}
        self.spreads_ = {} if spread is not None else None
        for name, result in self.results.items():
            x_values = np.asarray(
                result["fractions"] if x == "fraction" else result["n_removed"],
                dtype=np.float64,
            )
            mean = np.asarray(result["errors_mean"], dtype=np.float64)
            std = np.asarray(result["errors_std"], dtype=np.float64)
            label = name
            if "n_category" in result and "n_removed" in result:
                n_removed = int(np.max(result["n_removed"]))
                label = f"{name} (up to {n_removed} of {result['n_category']})"
            elif "n_category" in result:
                label = f"{name} ({result['n_category']} synapses)"
            defaults = {"label": label, "marker": "o"}
            if name in CATEGORY_COLORS:
                defaults["color"] = CATEGORY_COLORS[name]

            if spread == "errorbar":
                kw = _merge_kw({**defaults, "capsize": 3}, line_kw)
                container = ax.errorbar(x_values, mean, yerr=std, **kw)
                self.lines_[name] = container.lines[0]
                self.spreads_[name] = container
                continue

            (line,) = ax.plot(x_values, mean, **_merge_kw(defaults, line_kw))
            self.lines_[name] = line
            if spread == "std":
                kw = _merge_kw({"color": line.get_color(), "alpha": 0.25},
                               fill_between_kw)
                self.spreads_[name] = ax.fill_between(
                    x_values, mean - std, mean + std, **kw
                )

        if x == "fraction":
            ax.set_xlabel("Fraction of the synapses removed")
        else:
            ax.set_xlabel("Number of synapses removed")
        ax.set_ylabel("Error of the sampled networks")
        if self.layer is not None:
            ax.set_title(f"Synapses removed from layer {self.layer}")
        ax.legend(title="category removed")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        layer=0,
        categories=("important", "variable", "unimportant"),
        fractions=(0.0, 0.25, 0.5, 0.75, 1.0),
        n_synapses=None,
        n_repeats=5,
        n_networks=10,
        pi_tol=0.01,
        xi_tol=1e-6,
        n_jobs=None,
        random_state=None,
        ax=None,
        spread="std",
        x="fraction",
        line_kw=None,
        fill_between_kw=None,
    ):
        """Run the target-perturbation experiment per category and plot it.

        :func:`~skcredit.inspection.perturbation_curve` runs once per
        category, with the same seeds, so that every category is measured
        on the same drawn networks.

        Parameters
        ----------
        estimator : MeanFieldClassifier or SynapseCategorizer
            A fitted ensemble. With a ``SynapseCategorizer`` its
            ``categories_`` are used; with a ``MeanFieldClassifier`` the
            categories follow from ``pi_tol`` and ``xi_tol``.

        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data on which the error is measured, usually held-out data.

        y : array-like of shape (n_samples,)
            True labels of ``X``.

        layer : int, default=0
            Layer of synapses to perturb, 0 for the synapses from the inputs
            to the first hidden layer.

        categories : sequence of str, default=("important", "variable", \
"unimportant")
            Categories to remove, one curve each, drawn in this order.

        fractions : array-like of float, default=(0.0, 0.25, 0.5, 0.75, 1.0)
            Shares of ``n_synapses`` to remove, each in [0, 1].

        n_synapses : int, default=None
            Number of synapses that fraction 1 removes, the same for every
            category so that the curves compare removals of equal size. It
            may not exceed the size of the smallest category shown. None
            means all synapses of each category.

        n_repeats : int, default=5
            Number of random removals per fraction.

        n_networks : int, default=10
            Number of sub-networks drawn per removal.

        pi_tol, xi_tol : float, default=0.01 and 1e-6
            Tolerances of the categories for a ``MeanFieldClassifier``, as
            in :func:`~skcredit.inspection.perturbation_curve`. Ignored for
            a ``SynapseCategorizer``.

        n_jobs : int, default=None
            Number of joblib workers across removals. Results do not depend
            on it.

        random_state : int, RandomState instance or None, default=None
            Seeds the removals and the network draws. Every category gets
            the same seed, so an int gives the curves that
            ``perturbation_curve(..., random_state=random_state)`` returns.

        ax : matplotlib Axes, default=None
            Axes to draw on. None creates a new figure and axes.

        spread : {"std", "errorbar"} or None, default="std"
            How to show the spread over repeats; see :meth:`plot`.

        x : {"fraction", "n_removed"}, default="fraction"
            Quantity on the horizontal axis; see :meth:`plot`.

        line_kw : dict, default=None
            Keyword arguments for the lines; see :meth:`plot`.

        fill_between_kw : dict, default=None
            Keyword arguments for the bands; see :meth:`plot`.

        Returns
        -------
        display : PerturbationCurveDisplay
            The display, with the results in ``results`` and the matplotlib
            objects as attributes.

        See Also
        --------
        skcredit.inspection.perturbation_curve : Run the experiment for one
            category.

        Examples
        --------
        >>> import matplotlib.pyplot as plt
        >>> from sklearn.datasets import load_digits
        >>> from skcredit import MeanFieldClassifier
        >>> from skcredit.inspection import PerturbationCurveDisplay
        >>> X, y = load_digits(return_X_y=True)
        >>> clf = MeanFieldClassifier(hidden_layer_sizes=(32,), max_iter=20,
        ...                           random_state=0).fit(X / 16, y)
        >>> display = PerturbationCurveDisplay.from_estimator(
        ...     clf, X / 16, y, categories=["important", "variable"],
        ...     fractions=[0.0, 0.5, 1.0], n_repeats=2, random_state=0)
        >>> list(display.results)
        ['important', 'variable']
        >>> display.results["important"].errors_mean.shape
        (3,)
        >>> plt.close("all")
        """
        _import_pyplot("PerturbationCurveDisplay.from_estimator")
        _check_ensemble(estimator, "PerturbationCurveDisplay.from_estimator")
        if isinstance(categories, str):
            categories = [categories]
        categories = list(categories)
        unknown = [name for name in categories if name not in CATEGORY_CODES]
        if not categories or unknown or len(set(categories)) != len(categories):
            raise ValueError(
                f"categories must be a non-empty list of distinct names among "
                f"{sorted(CATEGORY_CODES)}, got {categories!r}."
            )
        if not isinstance(random_state, Integral):
            random_state = int(check_random_state(random_state).randint(2**31 - 1))

        results = {
            name: perturbation_curve(
                estimator, X, y, layer=layer, category=name,
                fractions=fractions, n_synapses=n_synapses,
                n_repeats=n_repeats, n_networks=n_networks, pi_tol=pi_tol,
                xi_tol=xi_tol, n_jobs=n_jobs, random_state=random_state,
            )
            for name in categories
        }
        display = cls(results, layer=layer)
        return display.plot(
            ax=ax, spread=spread, x=x, line_kw=line_kw,
            fill_between_kw=fill_between_kw,
        )
