"""The displays of skcredit.inspection, drawn with the Agg backend."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.utils import Bunch

from skcredit import MeanFieldClassifier, SynapseCategorizer
from skcredit.inspection import (
    PerturbationCurveDisplay,
    SynapseDistributionDisplay,
    perturbation_curve,
)

pytest.importorskip("matplotlib")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def selector(digits_split):
    """Return a SynapseCategorizer over a small ensemble fitted on digits."""
    X_train, _, y_train, _ = digits_split
    estimator = MeanFieldClassifier(
        hidden_layer_sizes=(16,), max_iter=15, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return SynapseCategorizer(estimator).fit(X_train, y_train)


@pytest.fixture(scope="module")
def clf(selector):
    return selector.estimator_


def _bar_heights(container):
    return np.array([patch.get_height() for patch in container.patches])


# ----------------------------------------------------------------------
# SynapseDistributionDisplay


def test_distribution_bars_are_numpy_histograms(clf):
    display = SynapseDistributionDisplay.from_estimator(clf, bins=12)

    assert display.axes_.shape == (2, 3)
    for layer in range(2):
        parameters = (clf.pi_[layer], clf.m_[layer], clf.xi_[layer])
        for column, values in enumerate(parameters):
            (container,) = display.bars_[layer, column]
            value_range = (0.0, 1.0) if column == 0 else None
            counts, edges = np.histogram(values, bins=12, range=value_range)
            assert_array_equal(_bar_heights(container), counts)
            assert_allclose(display.bin_edges_[layer, column], edges)


def test_distribution_stacks_categories(selector):
    display = SynapseDistributionDisplay.from_estimator(selector, bins=10)
    clf = selector.estimator_

    for layer in range(2):
        codes = selector.categories_[layer].ravel()
        parameters = (clf.pi_[layer], clf.m_[layer], clf.xi_[layer])
        for column, values in enumerate(parameters):
            containers = display.bars_[layer, column]
            assert len(containers) == 3
            edges = display.bin_edges_[layer, column]
            for code, container in enumerate(containers):
                expected, _ = np.histogram(values.ravel()[codes == code], bins=edges)
                assert_array_equal(_bar_heights(container), expected)
    legend_labels = [t.get_text() for t in display.axes_[0, 0].get_legend().get_texts()]
    assert legend_labels == ["unimportant", "important", "variable"]


def test_distribution_categories_can_be_turned_off(selector):
    display = SynapseDistributionDisplay.from_estimator(selector, by_category=False)
    assert len(display.bars_[0, 0]) == 1
    assert display.axes_[0, 0].get_legend() is None


def test_distribution_single_layer(clf):
    display = SynapseDistributionDisplay.from_estimator(clf, layer=1)
    assert display.axes_.shape == (1, 3)
    assert display.axes_[0, 0].get_title() == "layer 1"
    (container,) = display.bars_[0, 1]
    counts, _ = np.histogram(clf.m_[1], bins=30)
    assert_array_equal(_bar_heights(container), counts)


def test_distribution_honours_given_axes(clf):
    fig, axes = plt.subplots(2, 3)
    display = SynapseDistributionDisplay.from_estimator(clf, ax=axes)
    assert display.figure_ is fig
    assert np.all(display.axes_ == axes)
    assert len(fig.axes) == 6

    fig, axes = plt.subplots(1, 3)
    display = SynapseDistributionDisplay.from_estimator(clf, layer=0, ax=list(axes))
    assert display.axes_.shape == (1, 3)
    assert display.axes_[0, 2] is axes[2]


def test_distribution_plot_returns_self(clf):
    display = SynapseDistributionDisplay(clf.pi_, clf.m_, clf.xi_, layers=[0, 1])
    assert display.plot() is display
    assert display.figure_ is display.axes_[0, 0].figure


def test_distribution_log_scale(clf):
    display = SynapseDistributionDisplay.from_estimator(clf, layer=0)
    assert display.axes_[0, 0].get_yscale() == "log"
    display = SynapseDistributionDisplay.from_estimator(clf, layer=0, log=False)
    assert display.axes_[0, 0].get_yscale() == "linear"


def test_distribution_hist_kw_overrides_defaults(clf):
    display = SynapseDistributionDisplay.from_estimator(
        clf, layer=0, hist_kw={"color": "red"}
    )
    (container,) = display.bars_[0, 0]
    assert_allclose(container.patches[0].get_facecolor(), (1.0, 0.0, 0.0, 1.0))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"layer": 2}, r"layer=2 is invalid: the network has 2 layers"),
        ({"layer": -1}, r"layer=-1 is invalid"),
        ({"by_category": True}, "needs the categories of a fitted SynapseCategorizer"),
        ({"by_category": "yes"}, "by_category must be True, False or 'auto'"),
        ({"bins": 0}, r"bins=0 is invalid"),
        ({"bins": "many"}, r"bins='many' is invalid"),
    ],
)
def test_distribution_bad_arguments(clf, kwargs, match):
    with pytest.raises(ValueError, match=match):
        SynapseDistributionDisplay.from_estimator(clf, **kwargs)


def test_distribution_wrong_number_of_axes(clf):
    _, axes = plt.subplots(1, 3)
    with pytest.raises(ValueError, match="ax contains 3 axes, but the display needs 6"):
        SynapseDistributionDisplay.from_estimator(clf, ax=axes)
    with pytest.raises(ValueError, match="ax contains 1 axes"):
        SynapseDistributionDisplay.from_estimator(clf, layer=0, ax=axes[0])


def test_distribution_bad_estimators(digits_split):
    X_train, _, y_train, _ = digits_split
    with pytest.raises(TypeError, match="needs a fitted MeanFieldClassifier"):
        SynapseDistributionDisplay.from_estimator(
            LogisticRegression().fit(X_train, y_train)
        )
    with pytest.raises(NotFittedError):
        SynapseDistributionDisplay.from_estimator(MeanFieldClassifier())


def test_distribution_inconsistent_arrays(clf):
    display = SynapseDistributionDisplay(clf.pi_, clf.m_[:1], clf.xi_)
    with pytest.raises(ValueError, match="m has 1 arrays but pi has 2"):
        display.plot()
    display = SynapseDistributionDisplay(clf.pi_, clf.m_, [clf.xi_[0], clf.xi_[0]])
    with pytest.raises(ValueError, match=r"xi\[1\] has shape \(64, 16\)"):
        display.plot()
    display = SynapseDistributionDisplay(clf.pi_, clf.m_, clf.xi_, layers=[0])
    with pytest.raises(ValueError, match="layers has 1 entries"):
        display.plot()
    with pytest.raises(ValueError, match="pi is empty"):
        SynapseDistributionDisplay([], [], []).plot()


# ----------------------------------------------------------------------
# PerturbationCurveDisplay

FRACTIONS = [0.0, 0.5, 1.0]


@pytest.fixture(scope="module")
def curve_display(selector, digits_split):
    """Return the curves of two categories, drawn on an Agg figure."""
    _, X_test, _, y_test = digits_split
    display = PerturbationCurveDisplay.from_estimator(
        selector, X_test, y_test, categories=["important", "variable"],
        fractions=FRACTIONS, n_repeats=3, n_networks=2, random_state=0,
    )
    return display


def test_curves_carry_perturbation_results(curve_display, selector, digits_split):
    _, X_test, _, y_test = digits_split
    assert list(curve_display.results) == ["important", "variable"]
    for name, line in curve_display.lines_.items():
        expected = perturbation_curve(
            selector, X_test, y_test, category=name, fractions=FRACTIONS,
            n_repeats=3, n_networks=2, random_state=0,
        )
        result = curve_display.results[name]
        assert_array_equal(result.errors, expected.errors)
        assert_array_equal(line.get_xdata(), FRACTIONS)
        assert_array_equal(line.get_ydata(), result.errors_mean)


def test_curve_bands_span_mean_plus_minus_std(curve_display):
    for name, band in curve_display.spreads_.items():
        result = curve_display.results[name]
        vertices = band.get_paths()[0].vertices
        for x, mean, std in zip(FRACTIONS, result.errors_mean, result.errors_std):
            y_at_x = vertices[np.isclose(vertices[:, 0], x), 1]
            assert_allclose(y_at_x.min(), mean - std)
            assert_allclose(y_at_x.max(), mean + std)


def test_curve_legend_and_labels(curve_display, selector):
    ax = curve_display.ax_
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    n_important = selector.category_counts_[0, 1]
    assert labels[0] == f"important (up to {n_important} of {n_important})"
    assert ax.get_xlabel() == "Fraction of the synapses removed"
    assert ax.get_title() == "Synapses removed from layer 0"
    assert curve_display.figure_ is ax.figure


def test_curve_errorbars(curve_display):
    display = PerturbationCurveDisplay(curve_display.results, layer=0)
    assert display.plot(spread="errorbar") is display
    for name, container in display.spreads_.items():
        result = display.results[name]
        segments = container.lines[2][0].get_segments()
        lower = [segment[0][1] for segment in segments]
        upper = [segment[1][1] for segment in segments]
        assert_allclose(lower, result.errors_mean - result.errors_std)
        assert_allclose(upper, result.errors_mean + result.errors_std)
        assert_array_equal(display.lines_[name].get_ydata(), result.errors_mean)


def test_curve_without_spread(curve_display):
    display = PerturbationCurveDisplay(curve_display.results).plot(spread=None)
    assert display.spreads_ is None
    assert len(display.ax_.collections) == 0
    assert display.ax_.get_title() == ""


def test_curve_against_number_removed(curve_display):
    display = PerturbationCurveDisplay(curve_display.results).plot(x="n_removed")
    for name, line in display.lines_.items():
        assert_array_equal(line.get_xdata(), display.results[name].n_removed)
    assert display.ax_.get_xlabel() == "Number of synapses removed"


def test_curve_honours_given_axes(curve_display):
    fig, ax = plt.subplots()
    display = PerturbationCurveDisplay(curve_display.results).plot(ax=ax)
    assert display.ax_ is ax
    assert display.figure_ is fig
    assert len(ax.get_lines()) == 2


def test_curve_from_precomputed_results():
    results = {
        "important": Bunch(fractions=np.array([0.0, 1.0]),
                           errors_mean=np.array([0.1, 0.6]),
                           errors_std=np.array([0.0, 0.1])),
        "my removal": {"fractions": [0.0, 1.0], "errors_mean": [0.1, 0.2],
                       "errors_std": [0.0, 0.05]},
    }
    display = PerturbationCurveDisplay(results).plot(line_kw={"linestyle": "--"})
    assert_array_equal(display.lines_["my removal"].get_ydata(), [0.1, 0.2])
    assert display.lines_["important"].get_linestyle() == "--"
    labels = [text.get_text() for text in display.ax_.get_legend().get_texts()]
    assert labels == ["important", "my removal"]


def test_curve_equal_removals(selector, digits_split):
    _, X_test, _, y_test = digits_split
    n_synapses = int(selector.category_counts_[0].min())
    display = PerturbationCurveDisplay.from_estimator(
        selector, X_test, y_test, fractions=[0.0, 1.0], n_synapses=n_synapses,
        n_repeats=1, n_networks=1, random_state=0,
    )
    assert list(display.results) == ["important", "variable", "unimportant"]
    for result in display.results.values():
        assert result.n_removed[-1] == n_synapses


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"categories": ["essential"]}, "categories must be a non-empty list"),
        ({"categories": []}, "categories must be a non-empty list"),
        ({"categories": ["important", "important"]}, "distinct names"),
        ({"spread": "band"}, "spread must be 'std', 'errorbar' or None"),
        ({"x": "synapses"}, "x must be 'fraction' or 'n_removed'"),
        ({"layer": 5}, r"layer=5 is out of range"),
    ],
)
def test_curve_bad_arguments(clf, digits_split, kwargs, match):
    _, X_test, _, y_test = digits_split
    kwargs = {"fractions": [0.0], "n_repeats": 1, "n_networks": 1, **kwargs}
    with pytest.raises(ValueError, match=match):
        PerturbationCurveDisplay.from_estimator(clf, X_test, y_test, **kwargs)


def test_curve_bad_results():
    with pytest.raises(ValueError, match="results is empty"):
        PerturbationCurveDisplay({}).plot()
    with pytest.raises(ValueError, match=r"'important' has no \['errors_std'\]"):
        PerturbationCurveDisplay(
            {"important": {"fractions": [0.0], "errors_mean": [0.1]}}
        ).plot()
    with pytest.raises(ValueError, match="has 1 values of errors_std but 2"):
        PerturbationCurveDisplay(
            {"important": {"fractions": [0.0, 1.0], "errors_mean": [0.1, 0.2],
                           "errors_std": [0.0]}}
        ).plot()
    with pytest.raises(ValueError, match=r"has no \['n_removed'\]"):
        PerturbationCurveDisplay(
            {"important": {"fractions": [0.0], "errors_mean": [0.1],
                           "errors_std": [0.0]}}
        ).plot(x="n_removed")


def test_curve_bad_estimator(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    with pytest.raises(TypeError, match="needs a fitted MeanFieldClassifier"):
        PerturbationCurveDisplay.from_estimator(
            LogisticRegression().fit(X_train, y_train), X_test, y_test
        )


# ----------------------------------------------------------------------
# matplotlib as an optional dependency


def test_missing_matplotlib_names_the_install(monkeypatch, clf):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    match = r"requires matplotlib.*pip install matplotlib"
    with pytest.raises(ImportError, match=match):
        SynapseDistributionDisplay.from_estimator(clf)
    with pytest.raises(ImportError, match=match):
        PerturbationCurveDisplay(
            {"important": {"fractions": [0.0], "errors_mean": [0.1],
                           "errors_std": [0.0]}}
        ).plot()


def test_skcredit_imports_without_matplotlib():
    code = (
        "import sys\n"
        "sys.modules['matplotlib'] = None\n"
        "import skcredit.inspection\n"
        "print(sorted(skcredit.inspection.__all__))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert "SynapseDistributionDisplay" in completed.stdout
