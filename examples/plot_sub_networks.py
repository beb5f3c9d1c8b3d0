"""
==========================================
Sampled sub-networks and the mean network
==========================================

A :class:`~skcredit.MeanFieldClassifier` does not train one network but a
distribution over networks: every synapse is absent with probability ``pi``
and otherwise weighs a Gaussian value of mean ``m`` and variance ``xi``.
Chan Li and Haiping Huang, "Learning credit assignment", Phys. Rev. Lett.
125, 178301 (2020), arXiv:2001.03354, describe the trained model as an
ensemble of sub-networks that can all do the task.

This example draws many concrete networks from a trained ensemble and
compares their accuracy with that of the mean network, which predicts by
default, and with the average of the sampled networks.
"""

# %%
# Training
# --------
#
# The ensemble has two hidden layers of 100 units and trains for 30 epochs
# on 70 % of the digits, which keeps the example fast.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from scipy.special import softmax
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skcredit import MeanFieldClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X / 16, y, test_size=0.3, stratify=y, random_state=0
)

clf = MeanFieldClassifier(hidden_layer_sizes=(100, 100), max_iter=30, random_state=0)
with warnings.catch_warnings():
    # 30 epochs stop before the loss converges, on purpose.
    warnings.simplefilter("ignore", ConvergenceWarning)
    clf.fit(X_train, y_train)
mean_field_accuracy = clf.score(X_test, y_test)
print(f"Accuracy of the mean network: {mean_field_accuracy:.3f}")

# %%
# Drawing networks
# ----------------
#
# :meth:`~skcredit.MeanFieldClassifier.sample_networks` draws concrete
# weights: each synapse is present with probability ``1 - pi`` and then
# weighs ``m + sqrt(xi) * zeta`` with ``zeta ~ Normal(0, 1)``. The weights
# follow the convention of :attr:`MLPClassifier.coefs_
# <sklearn.neural_network.MLPClassifier>`, so a forward pass is a few lines of
# NumPy: ReLU hidden layers and a softmax output.
n_networks = 200
networks = clf.sample_networks(n_networks, random_state=0)


def predict_proba(coefs, intercepts, X):
    """Return the class probabilities of one network with ReLU hidden units."""
    hidden = X
    for coef, intercept in zip(coefs[:-1], intercepts[:-1]):
        hidden = np.maximum(hidden @ coef + intercept, 0.0)
    return softmax(hidden @ coefs[-1] + intercepts[-1], axis=1)


# The same forward pass with the mean weights gives the classifier's own
# predictions.
same = np.allclose(predict_proba(clf.coefs_, clf.intercepts_, X_test),
                   clf.predict_proba(X_test))
print(f"NumPy forward pass with coefs_ equals predict_proba: {same}")

probas = np.stack(
    [predict_proba(coefs, clf.intercepts_, X_test) for coefs in networks]
)
accuracies = np.mean(clf.classes_[probas.argmax(axis=2)] == y_test, axis=1)
print(
    f"Accuracy of {n_networks} sampled networks: mean {accuracies.mean():.3f}, "
    f"min {accuracies.min():.3f}, max {accuracies.max():.3f}"
)

# %%
# The share of synapses present differs from network to network, since each
# synapse is present with probability ``1 - pi``.
present = np.array(
    [sum(np.count_nonzero(c) for c in coefs) for coefs in networks]
) / sum(c.size for c in clf.coefs_)
print(f"Share of synapses present: {present.mean():.3f} on average")

# %%
# Every sampled network alone classifies the digits with an accuracy close to
# that of the mean network, whose weights are the means ``(1 - pi) * m`` of
# the synapses. The ensemble is not one good network surrounded by bad ones:
# the networks it contains solve the task.
fig, ax = plt.subplots(layout="constrained")
ax.hist(accuracies, bins=20, color="tab:orange", label="sampled networks")
ax.axvline(mean_field_accuracy, color="tab:blue", linewidth=2, label="mean network")
ax.set_xlabel("Test accuracy")
ax.set_ylabel("Number of networks")
ax.set_title(f"{n_networks} networks drawn from one ensemble")
ax.legend()
plt.show()

# %%
# Averaging sampled networks
# --------------------------
#
# With ``inference="sampled"``, the classifier predicts with the average
# probabilities of ``n_networks`` sampled networks. The same average over
# the first ``k`` of the networks drawn above shows how the accuracy of the
# average changes with ``k``.
sizes = np.array([1, 2, 4, 8, 16, 32, 64, 128, 200])
average_accuracies = [
    np.mean(clf.classes_[probas[:k].mean(axis=0).argmax(axis=1)] == y_test)
    for k in sizes
]
fig, ax = plt.subplots(layout="constrained")
ax.plot(sizes, average_accuracies, marker="o", color="tab:orange",
        label="average of k sampled networks")
ax.axhline(mean_field_accuracy, color="tab:blue", label="mean network")
ax.set_xscale("log", base=2)
ax.set_xticks(sizes, labels=[str(k) for k in sizes])
ax.set_xlabel("Number of networks averaged, k")
ax.set_ylabel("Test accuracy")
ax.legend()
plt.show()

# %%
# The estimator gives the same kind of average directly. It draws its
# networks from a seed fixed at fit time, so repeated calls agree.
clf.set_params(inference="sampled", n_networks=32)
print(f"Accuracy with inference='sampled', 32 networks: {clf.score(X_test, y_test):.3f}")
clf.set_params(inference="mean_field")
