"""Persistence-guided simplification of the gradient field.

Algorithm
---------
Start from the empty matching (every cell critical). Take every persistence pair
``(sigma, tau)`` with ``persistence <= epsilon`` -- zero-persistence pairs included, so
``epsilon = 0`` gives the unsimplified gradient of the image -- in this order:

1. dimension by dimension (they never interact: cancelling a p-pair re-matches only
   p- and (p+1)-cells, and the V-paths of dimension p see only those matches);
2. persistence ascending;
3. ties: for pairs of dimension d-1 (a (d-1)-cell born, a top cell killing it), the
   birth cell's filtration position *descending*; for every other dimension, the
   death cell's filtration position *ascending*.

The tie rule follows the order in which the union-find of each dimension meets the
pairs: forward through the filtration for components (dimension 0), backward through
it for the dual components of top cells (dimension d-1).

Each pair is cancelled (:meth:`GradientField.cancel`) when exactly one V-path joins
``tau`` to ``sigma``; otherwise it is reported as *uncancelled* and both cells stay
critical. Both cells of a pair are always still critical when the pair comes up: a
cancellation only re-matches cells that are already matched. In 2-D, and in dimensions
0 and d-1 in 3-D, no cancellation fails; edge-square pairs in 3-D can, rarely.

After simplification the critical cells are exactly the cells of the pairs with
persistence above ``epsilon``, of the uncancelled pairs, and the essential vertex: their
alternating count is 1, the Euler characteristic of a box.

References
----------
.. [1] R. Forman, "Morse theory for cell complexes", Advances in Mathematics 134 (1998).
.. [2] U. Bauer, C. Lange, M. Wardetzky, "Optimal topological simplification of discrete
   functions on surfaces", Discrete & Computational Geometry 47 (2012).
.. [3] X. Hu, Y. Wang, L. Fuxin, D. Samaras, C. Chen, "Topology-Aware Segmentation
   Using Discrete Morse Theory", ICLR 2021.
"""

from .gradient import GradientField

__all__ = ["cancellation_order", "simplify"]


def cancellation_order(pairs, epsilon, ndim):
    """The pairs to cancel at `epsilon`, in the order they are cancelled.

    Parameters
    ----------
    pairs : list of dict
        Persistence pairs as given by
        :func:`dmtloss.reference.persistence.persistence_pairs_of`.
    epsilon : float
        Pairs with ``persistence <= epsilon`` are cancelled.
    ndim : int
        Dimension d of the image.

    Returns
    -------
    pairs : list of dict

    Examples
    --------
    >>> pairs = [dict(dim=0, persistence=0.5, birth_pos=3, death_pos=9),
    ...          dict(dim=1, persistence=0.0, birth_pos=7, death_pos=8),
    ...          dict(dim=1, persistence=0.0, birth_pos=5, death_pos=6),
    ...          dict(dim=0, persistence=0.0, birth_pos=2, death_pos=4)]
    >>> [p["birth_pos"] for p in cancellation_order(pairs, 0.5, ndim=2)]
    [2, 3, 7, 5]
    """

    def tie(p):
        return -p["birth_pos"] if p["dim"] == ndim - 1 else p["death_pos"]

    # the essential class has infinite persistence and is never cancelled
    todo = [p for p in pairs if p["persistence"] <= epsilon]
    # Dimensions never interact (a p-pair re-matches only p- and (p+1)-cells, and
    # V-paths of dimension p see no other pairs), so they are taken one after another.
    return sorted(todo, key=lambda p: (p["dim"], p["persistence"], tie(p)))


def simplify(cx, pairs, epsilon):
    """Cancel the pairs of persistence at most `epsilon` in the contract's order.

    Parameters
    ----------
    cx : CubicalComplex
    pairs : list of dict
        All persistence pairs of `cx` (:func:`persistence_pairs_of`).
    epsilon : float

    Returns
    -------
    field : GradientField
        The simplified gradient field.
    uncancelled : list of dict
        The pairs with ``persistence <= epsilon`` that could not be cancelled, in the
        order they came up.

    Examples
    --------
    >>> from dmtloss.reference.complex import CubicalComplex
    >>> from dmtloss.reference.persistence import persistence_pairs_of
    >>> cx = CubicalComplex([[1.0, 0.0], [0.0, 1.0]])
    >>> field, uncancelled = simplify(cx, persistence_pairs_of(cx)[1], epsilon=0.0)
    >>> field.critical_cells(), uncancelled
    ([(0, 0), (2, 2), (1, 2)], [])
    """
    field = GradientField(cx)
    uncancelled = []
    for p in cancellation_order(pairs, epsilon, cx.ndim):
        if field.count_vpaths(p["death"], p["birth"]) == 1:
            field.cancel(p["birth"], p["death"])
        else:
            uncancelled.append(p)
    return field, uncancelled
