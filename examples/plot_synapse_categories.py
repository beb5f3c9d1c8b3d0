"""
============================================
Important, unimportant and variable synapses
============================================

A :class:`~skcredit.MeanFieldClassifier` trains a whole ensemble of networks:
every synapse is absent with probability ``pi`` and otherwise weighs a
Gaussian value of mean ``m`` and variance ``xi``. Chan Li and Haiping Huang,
"Learning credit assignment", Phys. Rev. Lett. 125, 178301 (2020),
arXiv:2001.03354, observed that training sorts the synapses into three
categories: important synapses with a deterministic weight (``pi = 0`` and
``xi = 0``), unimportant synapses that are absent (``pi = 1``), and variable
synapses in between.

This example trains an ensemble on the digits data set, looks at the three
parameters of its synapses, counts the categories and checks what each
category is worth by removing its synapses.
"""

# %%
# Training
# --------
#
# :class:`~skcredit.SynapseCategorizer` fits the classifier and assigns a
# category to each of its synapses. The network has two hidden layers of 100
# units. To keep the example fast, it trains for 30 epochs, which is enough
# for the three categories to form. The default ``max_iter=200`` gains little
# accuracy on this data set.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skcredit import MeanFieldClassifier, SynapseCategorizer
from skcredit.inspection import (
    PerturbationCurveDisplay,
    SynapseDistributionDisplay,
    synapse_entropy,
)

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X / 16, y, test_size=0.3, stratify=y, random_state=0
)

classifier = MeanFieldClassifier(hidden_layer_sizes=(100, 100), max_iter=30, random_state=0)
selector = SynapseCategorizer(classifier)
with warnings.catch_warnings():
    # 30 epochs stop before the loss converges, on purpose.
    warnings.simplefilter("ignore", ConvergenceWarning)
    selector.fit(X_train, y_train)
ensemble = selector.estimator_
print(f"Test accuracy of the mean network: {ensemble.score(X_test, y_test):.3f}")

# %%
# The three parameters of the synapses
# ------------------------------------
#
# Each row shows one layer of synapses: layer 0 connects the 64 pixels to the
# first hidden layer and layer 2 connects the second hidden layer to the 10
# outputs. The histograms stack the three categories. The counts use a log
# scale because most synapses sit at ``pi = 0`` or ``xi = 0``.
#
# The important synapses (blue) are all in the first bin of ``pi`` and of
# ``xi``: they are present in every network of the ensemble with the same
# weight ``m``. The variable synapses (orange) spread over all of ``pi``. The
# unimportant ones (gray) sit at ``pi = 1``, or leave an input or a hidden
# unit that is never active, such as the pixels at the border of the digits
# that are blank in every image.
display = SynapseDistributionDisplay.from_estimator(selector)
display.figure_.suptitle("Synapse parameters after training on digits")
plt.show()

# %%
# Category counts
# ---------------
#
# :attr:`~skcredit.SynapseCategorizer.category_counts_` has one row per layer
# and one column per category code: 0 unimportant, 1 important, 2 variable.
# :func:`~skcredit.inspection.synapse_entropy` summarizes the same picture in
# one number per layer, the mean entropy of the synapse distributions: 0 when
# every synapse is deterministic or absent, higher when more of them stay
# uncertain.
entropy = synapse_entropy(selector)
print("layer  synapses  unimportant  important  variable  mean entropy (nats)")
for layer, counts in enumerate(selector.category_counts_):
    shares = counts / counts.sum()
    print(
        f"{layer:5d}  {counts.sum():8d}  "
        f"{shares[0]:11.1%}  {shares[1]:9.1%}  {shares[2]:8.1%}  "
        f"{entropy[layer]:.3f}"
    )

# %%
# Removing synapses of one category
# ---------------------------------
#
# The target-perturbation experiment removes a random share of the synapses
# of one category (their ``pi`` is set to 1) and measures the error of
# networks sampled from the perturbed ensemble, repeated over several random
# removals. On the left, the same number of synapses is removed from every
# category of layer 0, the size of its smallest category. On the right, each
# category is removed in full, so the horizontal axis counts synapses.
n_synapses = int(selector.category_counts_[0].min())
fig, (ax_equal, ax_full) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
equal = PerturbationCurveDisplay.from_estimator(
    selector, X_test, y_test, layer=0, n_synapses=n_synapses,
    n_repeats=5, n_networks=10, random_state=0, ax=ax_equal,
)
full = PerturbationCurveDisplay.from_estimator(
    selector, X_test, y_test, layer=0, x="n_removed",
    n_repeats=5, n_networks=10, random_state=0, ax=ax_full,
)
ax_equal.set_title(f"{n_synapses} synapses of each category")
ax_full.set_title("All synapses of each category")
plt.show()

# %%
# Removing important synapses raises the error more than removing as many
# variable ones, and removing unimportant synapses leaves it unchanged:
# the sampled networks never use them. The table gives the error at the end
# of each curve, that is with all ``n_synapses`` removed (left) and with the
# whole category removed (right).
for name in equal.results:
    left, right = equal.results[name], full.results[name]
    print(
        f"{name:>11}: {left.n_removed[-1]:5d} removed, error "
        f"{left.errors_mean[-1]:.3f} +- {left.errors_std[-1]:.3f};  "
        f"{right.n_removed[-1]:5d} removed, error "
        f"{right.errors_mean[-1]:.3f} +- {right.errors_std[-1]:.3f}"
    )
print(f"Error before any removal: {full.results['important'].errors_mean[0]:.3f}")

# %%
# The same measurement on layer 1, the synapses between the two hidden
# layers.
display = PerturbationCurveDisplay.from_estimator(
    selector, X_test, y_test, layer=1, x="n_removed",
    n_repeats=5, n_networks=10, random_state=0,
)
plt.show()
np.set_printoptions(precision=3)
for name, result in display.results.items():
    print(f"{name:>11}: mean error per fraction {result.errors_mean}")
