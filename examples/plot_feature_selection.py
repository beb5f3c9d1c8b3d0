"""
=====================================
Feature selection by synapse credit
=====================================

:class:`~skcredit.SynapseCategorizer` sorts the synapses of a trained
:class:`~skcredit.MeanFieldClassifier` into important (deterministic),
unimportant (absent) and variable ones, after Chan Li and Haiping Huang,
"Learning credit assignment", Phys. Rev. Lett. 125, 178301 (2020),
arXiv:2001.03354. The credit of an input feature is the share of its
first-layer synapses that are important. Like
:class:`~sklearn.feature_selection.SelectFromModel`, the categorizer is a
transformer that keeps the features of highest credit, so it fits in a
:class:`~sklearn.pipeline.Pipeline` and its parameters can be tuned with
:class:`~sklearn.model_selection.GridSearchCV`.

This example selects pixels of the digits data set with the categorizer and,
for comparison, with ``SelectFromModel`` on the coefficients of a logistic
regression, and feeds the selected pixels to a logistic regression.
"""

# %%
# Data and the two pipelines
# --------------------------
#
# Both selectors keep the ``max_features`` features of highest importance:
# ``threshold=-np.inf`` turns off the threshold, so that ``max_features``
# alone sets the number of features kept. The categorizer trains a small
# ensemble with one hidden layer of 32 units for 30 epochs, which is enough
# for the credits and keeps the grid search fast.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_selection import SelectFromModel
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline

from skcredit import MeanFieldClassifier, SynapseCategorizer

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X / 16, y, test_size=0.3, stratify=y, random_state=0
)

credit_pipeline = Pipeline([
    ("select", SynapseCategorizer(
        MeanFieldClassifier(hidden_layer_sizes=(32,), max_iter=30, random_state=0),
        threshold=-np.inf,
    )),
    ("classify", LogisticRegression(max_iter=1000)),
])
linear_pipeline = Pipeline([
    ("select", SelectFromModel(LogisticRegression(max_iter=1000), threshold=-np.inf)),
    ("classify", LogisticRegression(max_iter=1000)),
])

# %%
# Tuning the number of features
# -----------------------------
#
# The grid search picks the number of pixels by 3-fold cross-validation on
# the training set. In each fold, the categorizer trains a new ensemble on
# the training part of the fold.
n_features_grid = [4, 8, 16, 24, 32]
searches = {}
for name, pipeline in [("synapse credit", credit_pipeline),
                       ("logistic coefficients", linear_pipeline)]:
    search = GridSearchCV(pipeline, {"select__max_features": n_features_grid}, cv=3)
    with warnings.catch_warnings():
        # 30 epochs stop before the loss converges, on purpose.
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X_train, y_train)
    searches[name] = search
    print(
        f"{name}: best max_features={search.best_params_['select__max_features']}, "
        f"cross-validated accuracy {search.best_score_:.3f}, "
        f"test accuracy {search.score(X_test, y_test):.3f}"
    )

# %%
# Accuracy against the number of pixels kept
# ------------------------------------------
#
# The curves show the cross-validated accuracy of the logistic regression on
# the selected pixels, with one standard deviation over the folds. The two
# selectors answer different questions. The coefficients of a logistic
# regression rank the pixels by their weight in the same linear model that
# then classifies, while the credit counts how many synapses of a pixel the
# ensemble fixed to a deterministic weight. In this run the linear selector
# suits the linear classifier better, most of all when few pixels are kept.
fig, ax = plt.subplots(layout="constrained")
for name, search in searches.items():
    results = search.cv_results_
    ax.errorbar(
        n_features_grid, results["mean_test_score"], yerr=results["std_test_score"],
        marker="o", capsize=3, label=name,
    )
ax.set_xlabel("Number of pixels kept (max_features)")
ax.set_ylabel("Cross-validated accuracy")
ax.set_title("Logistic regression on the selected pixels")
ax.legend(title="selected by")
plt.show()

# %%
# Which pixels are kept
# ---------------------
#
# The selected pixels of the best pipeline of each search, and the credit of
# every pixel. Pixels that are blank in every image have no active synapse,
# so the categorizer gives them credit 0: they are never selected.
selector = searches["synapse credit"].best_estimator_.named_steps["select"]
linear_selector = searches["logistic coefficients"].best_estimator_.named_steps["select"]

fig, axes = plt.subplots(1, 3, figsize=(10, 3.5), layout="constrained")
image = axes[0].imshow(selector.feature_credit_.reshape(8, 8), cmap="viridis")
fig.colorbar(image, ax=axes[0], shrink=0.8)
axes[0].set_title("Credit of each pixel")
axes[1].imshow(selector.get_support().reshape(8, 8), cmap="gray_r")
axes[1].set_title(f"{selector.get_support().sum()} pixels by synapse credit")
axes[2].imshow(linear_selector.get_support().reshape(8, 8), cmap="gray_r")
axes[2].set_title(f"{linear_selector.get_support().sum()} pixels by coefficients")
for ax in axes:
    ax.set_xticks([])
    ax.set_yticks([])
plt.show()

# %%
# Both selectors favor the pixels in the middle of the image. The categorizer
# also reports how many synapses of each category the network has, here for
# the best pipeline, trained on the whole training set.
print("category counts per layer (unimportant, important, variable):")
print(selector.category_counts_)
