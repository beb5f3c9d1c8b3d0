"""Learning credit assignment with spike-and-slab network ensembles.

skcredit trains a whole ensemble of sub-networks at once: every synapse of a
feed-forward network carries a spike-and-slab distribution, after Chan Li and
Haiping Huang, "Learning credit assignment", Phys. Rev. Lett. 125, 178301
(2020).
"""

from ._categorizer import SynapseCategorizer
from ._classifier import MeanFieldClassifier

__version__ = "0.1.0.dev0"

__all__ = ["MeanFieldClassifier", "SynapseCategorizer", "__version__"]
