"""scikit-learn's estimator checks on every estimator of skcredit."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skcredit import MeanFieldClassifier, SynapseCategorizer

# Each expected failure names the check and the reason it cannot pass.
EXPECTED_FAILED_CHECKS = {
    "MeanFieldClassifier": {
        "check_sample_weight_equivalence_on_dense_data": (
            "Mini-batch Adam with noise injected per sample: repeating a "
            "sample changes the batches and the noise drawn, so a weight "
            "equals a repetition only in expectation."
        ),
        "check_sample_weight_equivalence_on_sparse_data": (
            "Mini-batch Adam with noise injected per sample: repeating a "
            "sample changes the batches and the noise drawn, so a weight "
            "equals a repetition only in expectation."
        ),
    },
}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


@parametrize_with_checks(
    [
        MeanFieldClassifier(max_iter=20, random_state=0),
        SynapseCategorizer(
            MeanFieldClassifier(hidden_layer_sizes=(8,), max_iter=20, random_state=0)
        ),
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
