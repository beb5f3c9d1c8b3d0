"""
============================================
The 784-100-100-10 network on Fashion-MNIST
============================================

Chan Li and Haiping Huang, "Learning credit assignment", Phys. Rev. Lett.
125, 178301 (2020), arXiv:2001.03354, train ensembles of networks with 784
inputs, two hidden layers of 100 units and 10 outputs on 28x28 images. This
example trains the same architecture on Fashion-MNIST, or on any folder of
MNIST-format IDX files, and shows the three categories of synapses.

**Getting the data.** On Debian and Ubuntu, ``apt-get install
dataset-fashion-mnist`` installs Fashion-MNIST in
:data:`skcredit.datasets.FASHION_MNIST_DIR`. Any other folder with the four
files ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (gzipped or not),
such as a copy of MNIST, works too: set the environment variable
``SKCREDIT_MNIST_DIR`` to that folder. Without data, the script prints how
to get it and exits with status 0.

**Training budget.** To finish in about a minute on two cores, the example
trains on the first 6000 of the 60000 training images for 5 epochs, and
evaluates on all 10000 test images. Its accuracy is therefore well below
that of a full training run: train on all images with the default
``max_iter=200`` for that, which takes far longer.
"""

# %%
# Loading the data
# ----------------
import os
import sys
import warnings

import matplotlib.pyplot as plt
from sklearn.exceptions import ConvergenceWarning

from skcredit import MeanFieldClassifier, SynapseCategorizer
from skcredit.datasets import FASHION_MNIST_DIR, load_mnist_folder
from skcredit.inspection import (
    PerturbationCurveDisplay,
    SynapseDistributionDisplay,
    synapse_entropy,
)

data_dir = os.environ.get("SKCREDIT_MNIST_DIR", FASHION_MNIST_DIR)
if not os.path.isdir(data_dir):
    print(
        f"No MNIST-format data folder at {data_dir!r}. Install Fashion-MNIST "
        "with 'apt-get install dataset-fashion-mnist', or set "
        "SKCREDIT_MNIST_DIR to a folder of MNIST IDX files. Exiting."
    )
    sys.exit(0)

X_train, X_test, y_train, y_test = load_mnist_folder(data_dir)
print(f"{data_dir}: {X_train.shape[0]} training and {X_test.shape[0]} test "
      f"images of {X_train.shape[1]} pixels")

n_train = 6000
X_train, y_train = X_train[:n_train], y_train[:n_train]

# %%
# Training
# --------
#
# ``hidden_layer_sizes=(100, 100)`` is the default of
# :class:`~skcredit.MeanFieldClassifier`. The pixels are already scaled to
# [0, 1] by :func:`~skcredit.datasets.load_mnist_folder`.
selector = SynapseCategorizer(
    MeanFieldClassifier(hidden_layer_sizes=(100, 100), max_iter=5, random_state=0)
)
with warnings.catch_warnings():
    # 5 epochs stop before the loss converges, on purpose.
    warnings.simplefilter("ignore", ConvergenceWarning)
    selector.fit(X_train, y_train)
ensemble = selector.estimator_
print(f"Test accuracy of the mean network after {ensemble.n_iter_} epochs on "
      f"{n_train} images: {ensemble.score(X_test, y_test):.3f}")

# %%
# Categories of the synapses
# --------------------------
#
# Layer 0 has 78400 synapses from the pixels to the first hidden layer. After
# so short a training, few synapses have reached ``pi = 1``, so the
# unimportant category is small, while the important synapses (``pi = 0``
# and ``xi = 0``) have already formed in every layer.
entropy = synapse_entropy(selector)
print("layer  synapses  unimportant  important  variable  mean entropy (nats)")
for layer, counts in enumerate(selector.category_counts_):
    shares = counts / counts.sum()
    print(
        f"{layer:5d}  {counts.sum():8d}  "
        f"{shares[0]:11.1%}  {shares[1]:9.1%}  {shares[2]:8.1%}  "
        f"{entropy[layer]:.3f}"
    )

display = SynapseDistributionDisplay.from_estimator(selector)
display.figure_.suptitle("Synapse parameters, 784-100-100-10")
plt.show()

# %%
# Removing synapses
# -----------------
#
# The error of networks sampled from the ensemble while growing shares of
# each category of layer 1, the synapses between the two hidden layers, are
# removed. The error is measured on the first 2000 test images, and the
# horizontal axis counts the removed synapses.
display = PerturbationCurveDisplay.from_estimator(
    selector, X_test[:2000], y_test[:2000], layer=1, x="n_removed",
    n_repeats=3, n_networks=5, random_state=0,
)
plt.show()
for name, result in display.results.items():
    print(f"{name:>11}: error {result.errors_mean[0]:.3f} with none removed, "
          f"{result.errors_mean[-1]:.3f} with all {result.n_removed[-1]} removed")
