"""Tools that check the credit a trained ensemble assigns to its synapses."""

from ._entropy import synapse_entropy
from ._perturbation import perturbation_curve
from ._plot import PerturbationCurveDisplay, SynapseDistributionDisplay

__all__ = [
    "PerturbationCurveDisplay",
    "SynapseDistributionDisplay",
    "perturbation_curve",
    "synapse_entropy",
]
