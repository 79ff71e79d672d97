"""Discrete Morse structures of a likelihood map: ridges, basin boundaries and sheets.

Given the gradient field simplified at ``epsilon`` (:mod:`dmtloss.reference.simplify`):

Ridges (the paper's 1-stable manifolds, S1)
    For every edge whose persistence pair has persistence > ``epsilon`` -- negative edges,
    which merge two components, and positive edges, which close a loop -- the edge
    itself and the V-paths from both of its endpoints down the vertex-edge gradient to
    critical vertices. On a likelihood map these run along the crests, from the saddle
    edge up to two maxima.

Basins and their boundaries (the paper's approximation of the 2-stable manifolds, S2)
    Each top cell flows through the (d-1, d) pairs of the gradient: a top cell ``beta``
    matched with its facet ``alpha`` flows to the other cofacet of ``alpha``, which is
    the OUTSIDE node when ``alpha`` is on the image border. Following the flow ends at a
    critical top cell or at OUTSIDE: that is the cell's basin. The separating cells are
    the interior (d-1)-cells whose two cofacets lie in different basins, and the
    boundary mask is their vertices. The frame of the image is not a structure; with
    ``frame=True`` the border (d-1)-cells of basins other than OUTSIDE count too.

Sheets (exact 2-stable manifolds, 3-D only)
    The squares on V-paths of dimension 1 from the critical squares whose pair has
    persistence > ``epsilon``, and their vertices.

Complexity: each structure is one walk over the cells it covers; the persistence
computation dominates.

References
----------
.. [1] X. Hu, Y. Wang, L. Fuxin, D. Samaras, C. Chen, "Topology-Aware Segmentation
   Using Discrete Morse Theory", ICLR 2021.
.. [2] S. Wang, Y. Wang, Y. Li, "Efficient map reconstruction and augmentation via
   topological methods", ACM SIGSPATIAL 2015.
.. [3] A. Gyulassy, P.-T. Bremer, B. Hamann, V. Pascucci, "A practical approach to
   Morse-Smale complex computation: scalability and generality", IEEE TVCG 14 (2008).
"""

import numpy as np

from ._validation import as_batch, as_bool, as_epsilon, as_likelihood, as_workers
from .complex import OUTSIDE, CubicalComplex
from .persistence import persistence_pairs_of
from .results import MorseStructures, PersistencePairs
from .simplify import simplify

__all__ = ["morse_structures", "morse_structures_batch", "persistence_diagram", "persistence_pairs"]


def _pairs_result(ndim, pairs):
    rows = [(p["dim"], p["birth"], p["death"], p["birth_value"], p["death_value"]) for p in pairs]
    return PersistencePairs.from_rows(ndim, rows)


def persistence_pairs(likelihood):
    """Persistence pairs of the superlevel filtration, with their cells.

    Parameters
    ----------
    likelihood : (M, N[, P]) array_like
        A 2-D or 3-D image of real numbers, every axis of length >= 2.

    Returns
    -------
    pairs : PersistencePairs
        Every pair of positive persistence and the essential class, ordered by the
        filtration position of the birth cell.

    Raises
    ------
    TypeError, ValueError
        On invalid input (see :func:`morse_structures`).

    See Also
    --------
    persistence_diagram : the same pairs as values only.

    Examples
    --------
    >>> pairs = persistence_pairs([[1.0, 0.0], [0.0, 1.0]])
    >>> pairs.birth.tolist(), pairs.death.tolist()
    ([[0, 0], [2, 2]], [[-1, -1], [1, 2]])
    """
    cx = CubicalComplex(likelihood)
    _, pairs = persistence_pairs_of(cx)
    return _pairs_result(cx.ndim, [p for p in pairs if p["persistence"] > 0])


def persistence_diagram(likelihood):
    """Persistence diagram of the superlevel filtration of `likelihood`.

    Pixels are the vertices of a cubical complex (4-connectivity in 2-D, 6 in 3-D) and
    a cell's value is the minimum of its pixels' values.

    Parameters
    ----------
    likelihood : (M, N[, P]) array_like
        A 2-D or 3-D image of real numbers, every axis of length >= 2.

    Returns
    -------
    diagram : (n, 3) ndarray of float64
        Rows ``(dim, birth, death)`` with ``birth > death``; the single essential class
        has ``death = -inf``; pairs of zero persistence are omitted. Rows are ordered
        by dimension, then by the filtration position of the birth cell.

    Raises
    ------
    TypeError, ValueError
        On invalid input (see :func:`morse_structures`).

    Examples
    --------
    A ring of ones around a zero: one component, one loop born at 1 and filled at 0.

    >>> persistence_diagram([[1, 1, 1], [1, 0, 1], [1, 1, 1]]).tolist()
    [[0.0, 1.0, -inf], [1.0, 1.0, 0.0]]
    """
    return persistence_pairs(likelihood).diagram_by_dimension()


def _paint(mask, cx, cell):
    for v in cx.vertices(cell):
        mask[v] = True


def _ridges(cx, field, pairs, epsilon):
    ridges = np.zeros(cx.shape, dtype=bool)
    saliency = np.zeros(cx.shape, dtype=np.float64)
    for p in pairs:
        edge = p["death"] if p["dim"] == 0 else p["birth"]
        if edge is None or cx.dim(edge) != 1 or not p["persistence"] > epsilon:
            continue
        on_ridge = [edge]
        for vertex in cx.facets(edge):  # follow each endpoint's V-path to a critical vertex
            while True:
                on_ridge.append(vertex)
                if vertex not in field.up:
                    break
                up = field.up[vertex]
                on_ridge.append(up)
                vertex = next(v for v in cx.facets(up) if v != vertex)
        for cell in on_ridge:
            for v in cx.vertices(cell):
                ridges[v] = True
                saliency[v] = max(saliency[v], p["persistence"])
    return ridges, saliency


def _basins(cx, field):
    top = cx.ndim
    roots = [c for c in field.critical_cells() if cx.dim(c) == top]
    label = {OUTSIDE: 0}
    label.update({root: k for k, root in enumerate(roots, start=1)})
    for cell in cx.cells(top):
        trail = []
        while cell not in label:  # flow until a labelled cell, then label the whole trail
            trail.append(cell)
            alpha = field.down[cell]  # non-critical top cells are matched with a facet
            cell = next(c for c in cx.cofacets(alpha, outside=True) if c != cell)
        for t in trail:
            label[t] = label[cell]
    basins = np.zeros(tuple(n - 1 for n in cx.shape), dtype=np.int64)
    for cell, k in label.items():
        if cell != OUTSIDE:
            basins[tuple(c // 2 for c in cell)] = k
    return basins, roots


def _boundaries(cx, basins, root_persistence, frame):
    boundaries = np.zeros(cx.shape, dtype=bool)
    saliency = np.zeros(cx.shape, dtype=np.float64)
    for alpha in cx.cells(cx.ndim - 1):
        sides = [0 if c == OUTSIDE else basins[tuple(x // 2 for x in c)]
                 for c in cx.cofacets(alpha, outside=True)]
        if sides[0] == sides[1] or (0 in sides and cx.on_border(alpha) and not frame):
            continue
        strength = min(root_persistence[k] for k in sides)
        for v in cx.vertices(alpha):
            boundaries[v] = True
            saliency[v] = max(saliency[v], strength)
    return boundaries, saliency


def _sheets(cx, field, pairs, epsilon):
    sheets = np.zeros(cx.shape, dtype=bool)
    starts = [c for p in pairs if p["persistence"] > epsilon
              for c in (p["birth"], p["death"]) if c is not None and cx.dim(c) == 2]
    seen, stack = set(starts), list(starts)
    while stack:
        square = stack.pop()
        _paint(sheets, cx, square)
        for edge in cx.facets(square):
            nxt = field.up.get(edge)
            if edge != field.down.get(square) and nxt is not None and nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return sheets


def morse_structures(likelihood, epsilon=0.2, *, frame=False):
    """Discrete Morse structures of `likelihood`, simplified at persistence `epsilon`.

    Parameters
    ----------
    likelihood : (M, N[, P]) array_like
        A 2-D or 3-D likelihood map (any real values; the structures depend only on
        their order and on differences compared with `epsilon`). Every axis must have
        length >= 2. Never modified.
    epsilon : float, optional
        Persistence threshold >= 0: pairs with persistence <= epsilon are cancelled,
        structures of pairs above it are kept. 0 keeps everything of positive
        persistence.
    frame : bool, optional
        Also count as boundaries the border cells that separate a basin from the
        OUTSIDE node (the image frame).

    Returns
    -------
    structures : MorseStructures
        Ridges, basins and boundaries (and sheets in 3-D), their persistence, the
        persistence pairs, the critical cells and the uncancelled pairs.

    Raises
    ------
    TypeError
        If `likelihood` is not an array of real numbers, `epsilon` not a number or
        `frame` not a bool.
    ValueError
        If `likelihood` is not 2-D or 3-D, has an axis shorter than 2, more than
        ``MAX_PIXELS`` pixels (79.5 million), non-finite values or integers beyond
        2**53 in magnitude, or if `epsilon` is negative, not finite or not exactly a
        float64.

    Notes
    -----
    The reference engine is written for reading: plain Python over cells. It handles
    a 64 x 64 image or a 12^3 volume in seconds; use :mod:`dmtloss.fast` for real
    sizes. ``docs/spec.md`` states the contract this function implements.

    Examples
    --------
    Three maxima. The 0.8 crest at the bottom right joins the 0.9 crest at the saddle
    0.6 through the 0.6 wall; the 0.8 crest at the top right joins it only at level 0.1,
    by its steepest way, the gap at (0, 2). At epsilon 0.1 both ridges are kept:

    >>> f = [[0.9, 0.9, 0.1, 0.8, 0.8],
    ...      [0.1, 0.6, 0.1, 0.1, 0.1],
    ...      [0.1, 0.6, 0.6, 0.6, 0.8]]
    >>> s = morse_structures(f, epsilon=0.1)
    >>> s.ridges.astype(int)
    array([[1, 1, 1, 1, 0],
           [0, 1, 0, 0, 0],
           [0, 1, 1, 1, 1]])
    >>> s.pairs.diagram().tolist()
    [[0.0, 0.9, -inf], [0.0, 0.8, 0.1], [0.0, 0.8, 0.6]]
    >>> bool(s.boundaries.any())
    False
    """
    cx = CubicalComplex(as_likelihood(likelihood))
    epsilon = as_epsilon(epsilon)
    frame = as_bool(frame, "frame")
    _, pairs = persistence_pairs_of(cx)
    field, uncancelled = simplify(cx, pairs, epsilon)
    ridges, ridge_persistence = _ridges(cx, field, pairs, epsilon)
    basins, roots = _basins(cx, field)
    death_persistence = {p["death"]: p["persistence"] for p in pairs if p["death"] is not None}
    root_persistence = [np.inf] + [death_persistence[r] for r in roots]
    boundaries, boundary_persistence = _boundaries(cx, basins, root_persistence, frame)
    return MorseStructures(
        epsilon=epsilon,
        frame=frame,
        pairs=_pairs_result(cx.ndim, [p for p in pairs if p["persistence"] > 0]),
        critical=np.array(field.critical_cells(), dtype=np.int64).reshape(-1, cx.ndim),
        uncancelled=_pairs_result(cx.ndim, uncancelled),
        ridges=ridges,
        ridge_persistence=ridge_persistence,
        basins=basins,
        boundaries=boundaries,
        boundary_persistence=boundary_persistence,
        sheets=_sheets(cx, field, pairs, epsilon) if cx.ndim == 3 else None,
    )


def morse_structures_batch(likelihoods, epsilon=0.2, *, frame=False, workers=None):
    """Morse structures of each image of a batch.

    Parameters
    ----------
    likelihoods : (B, M, N[, P]) array_like
        A batch of 2-D images (a 3-D array) or of 3-D volumes (a 4-D array).
    epsilon : float, optional
        Persistence threshold, as in :func:`morse_structures`.
    frame : bool, optional
        As in :func:`morse_structures`.
    workers : int, optional
        Accepted and checked for parity with :mod:`dmtloss.fast`; the reference runs
        one image after another (plain Python holds the GIL).

    Returns
    -------
    structures : list of MorseStructures
        One per image.

    Raises
    ------
    TypeError, ValueError
        On invalid input, naming the argument.

    Examples
    --------
    >>> batch = np.stack([np.eye(3), 1 - np.eye(3)])
    >>> [int(s.ridges.sum()) for s in morse_structures_batch(batch, epsilon=0.1)]
    [5, 3]
    """
    images = as_batch(likelihoods)
    epsilon = as_epsilon(epsilon)
    frame = as_bool(frame, "frame")
    as_workers(workers, default=1)
    return [morse_structures(x, epsilon, frame=frame) for x in images]
