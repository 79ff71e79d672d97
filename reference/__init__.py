"""The reference engine: the mathematical contract of dmtloss, written out plainly.

This package is the oracle every other engine is checked against, and the code to read
next to the paper. Each step of the contract (``docs/spec.md``) is a small module:

=========================================  ===============================================
:mod:`dmtloss.reference.complex`           cells, faces, values, the total order
:mod:`dmtloss.reference.persistence`       Z/2 column reduction, persistence pairs
:mod:`dmtloss.reference.gradient`          Forman gradient fields, V-paths, cancellation
:mod:`dmtloss.reference.simplify`          persistence-guided simplification at epsilon
:mod:`dmtloss.reference.structures`        ridges, basins, boundaries, sheets
:mod:`dmtloss.reference.results`           the result types shared by every engine
=========================================  ===============================================

Examples
--------
>>> from dmtloss import reference
>>> s = reference.morse_structures([[1, 1, 1], [1, 0, 1], [1, 1, 1]], epsilon=0.5)
>>> s.ridges.astype(int)
array([[1, 1, 1],
       [1, 0, 1],
       [1, 1, 1]])
"""

from .results import MorseStructures, PersistencePairs
from .structures import morse_structures, morse_structures_batch, persistence_diagram, persistence_pairs

__all__ = [
    "MorseStructures",
    "PersistencePairs",
    "morse_structures",
    "morse_structures_batch",
    "persistence_diagram",
    "persistence_pairs",
]
