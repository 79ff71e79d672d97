"""The fast engine: the reference engine's exact answer, at the speed of a training loop.

Same API as :mod:`dmtloss.reference` (same ``__all__``, signatures, result types and
input validation, imported from the reference), re-implemented with numba kernels that
run without the GIL: union-finds for dimensions 0 and d-1, and for the edge-square
pairs of 3-D images a column reduction that runs almost entirely inside each voxel's
lower star. ``sheets`` are computed by the reference engine only.

Examples
--------
>>> from dmtloss import fast
>>> int(fast.morse_structures([[1, 1, 1], [1, 0, 1], [1, 1, 1]], epsilon=0.5).ridges.sum())
8
"""

from dmtloss.reference.results import MorseStructures, PersistencePairs

from .engine import morse_structures, morse_structures_batch, persistence_diagram, persistence_pairs

__all__ = ["MorseStructures", "PersistencePairs", "morse_structures", "morse_structures_batch",
           "persistence_diagram", "persistence_pairs"]
