"""Tools that check the credit a trained ensemble assigns to its synapses."""

from ._perturbation import perturbation_curve

__all__ = ["perturbation_curve"]
