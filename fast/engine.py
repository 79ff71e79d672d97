"""The fast engine: the reference's exact answer from union-finds and one reduction.

Algorithm
---------
1. One global sort of the pixels gives their ranks; each cell's filtration position
   is derived from its lowest vertex's rank and its place in that vertex's lower star
   (no sort of cells).
2. 0-dimensional pairs: union-find with the elder rule on vertices and edges, in
   filtration order.
3. (d-1)-dimensional pairs: union-find on top cells and an OUTSIDE node, joined through
   (d-1)-cells, in reverse filtration order (Alexander duality); OUTSIDE is oldest.
4. In 3-D, edge-square pairs: a column reduction of the boundaries of the squares
   that start no 2-dimensional class (clearing), skipping apparent pairs.
5. Cancellation in the contract's order: for dimensions 0 and d-1, the gradient trees
   are union-find sets, so "exactly one V-path" is a test on two roots and the
   cancellation reverses one path. The union-finds of steps 2 and 3 meet the pairs in
   the cancellation order of their dimension, so they cancel the zero-persistence
   pairs on the spot; only pairs with 0 < persistence <= epsilon are sorted and
   cancelled afterwards. The branching edge-square V-paths of 3-D are counted by a
   memoised search, as in the reference, confined to one level set while only
   zero-persistence pairs have been cancelled.
6. Ridges are painted from the most persistent edge down, each vertex walked once;
   basins follow the dual gradient with memoisation; boundaries compare the basins
   on the two sides of each (d-1)-cell.

Everything but step 4 and the 3-D cancellations is O(n log n) (the sort) plus
near-linear union-finds. Per-cell arrays are int32, so an image may have at most
79.5 million pixels. Peak memory, measured as the growth of the process's maximum
resident set (``benchmarks/compare.py``): about 250-300 bytes per pixel in 2-D (512^2
and 1024^2) and about 600 bytes per voxel in 3-D (64^3); the per-pair arrays of all
dimensions, zero persistence included, are the largest part.

References
----------
.. [1] H. Wagner, C. Chen, E. Vucini, "Efficient computation of persistent homology
   for cubical data", Topological Methods in Data Analysis and Visualization II (2012).
.. [2] S. Kaji, T. Sudo, K. Ahara, "Cubical Ripser: software for computing persistent
   homology of image and volume data", arXiv:2005.12692 (2020).
.. [3] U. Bauer, "Ripser: efficient computation of Vietoris-Rips persistence
   barcodes", J. Appl. Comput. Topology 5 (2021) -- clearing and apparent pairs.
"""

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

from dmtloss.reference._validation import as_batch, as_epsilon, as_likelihood, as_workers
from dmtloss.reference.results import MorseStructures, PersistencePairs

from . import _kernels as K

__all__ = ["morse_structures", "morse_structures_batch", "persistence_diagram", "persistence_pairs"]


def _stable_descending_order(flat):
    """Pixels by value descending, ties by index ascending (a stable sort, done faster).

    An unstable quicksort, then only the runs of equal values are put in index order.
    """
    order = np.argsort(-flat, kind="quicksort")
    ranked = flat[order]
    tied = np.flatnonzero(ranked[1:] == ranked[:-1])
    if tied.size:
        members = np.unique(np.concatenate([tied, tied + 1]))
        run = np.cumsum(np.r_[True, np.diff(members) > 1] | np.r_[True, ranked[members[1:]] != ranked[members[:-1]]])
        order[members] = order[members][np.lexsort((order[members], run))]
    return order


class _Complex:
    """Ranks, positions and persistence pairs of one image (internal)."""

    def __init__(self, values):
        self.ndim = values.ndim
        self.shape3 = (1,) * (3 - values.ndim) + values.shape
        n0, n1, n2 = self.shape3
        self.cs = (2 * n0 - 1, 2 * n1 - 1, 2 * n2 - 1)
        if values.size * K.SLOT > K.MAX_POSITION:
            raise ValueError(f"`likelihood` is too large for the fast engine: {values.size} pixels; "
                             f"at most {K.MAX_POSITION // K.SLOT} (use tiles)")
        flat = values.ravel()
        self.order = _stable_descending_order(flat)
        self.rank = np.empty(flat.size, dtype=K.IDX)
        self.rank[self.order] = np.arange(flat.size, dtype=K.IDX)
        self.pos, self.facets = K.cell_positions(self.rank, n0, n1, n2, self.ndim)
        self.value_by_rank = flat[self.order]
        self._pairs()

    def value(self, cells):
        return self.value_by_rank[self.pos[cells] // K.SLOT]

    def vertex_cell(self, pixels):
        n0, n1, n2 = self.shape3
        i, j, k = np.unravel_index(pixels, self.shape3)
        return ((2 * i) * self.cs[1] + 2 * j) * self.cs[2] + 2 * k

    def _pairs(self):
        n0, n1, n2 = self.shape3
        d = self.ndim
        # each pass also cancels its zero-persistence pairs and keeps the gradient state
        (self.v_birth, v_cells, self.e_death, v_value, e_value, negative, self.primal_failed,
         *self.primal_state) = K.primal_pairs(self.order, self.rank, self.value_by_rank, n0, n1, n2)
        (self.f_birth, self.t_death, f_value, t_value, self.top_persistence, positive,
         self.dual_failed, *self.dual_state) = K.dual_pairs(self.facets, self.pos, self.value_by_rank, n0, n1, n2)
        # all pairs, zero persistence included, by dimension: (dim, birth cell, death cell)
        dims = [np.zeros(len(self.e_death), np.int8)]
        births, deaths = [v_cells], [self.e_death]
        birth_values, death_values = [v_value], [e_value]
        if d == 3:
            squares = self.facets[~positive[self.facets]]  # in filtration order
            self.m_birth = K.middle_pairs(squares, self.pos, n0, n1, n2).astype(K.IDX)
            self.m_death = squares
            dims.append(np.ones(len(squares), np.int8))
            births.append(self.m_birth)
            deaths.append(self.m_death)
            birth_values.append(self.value(self.m_birth))
            death_values.append(self.value(self.m_death))
        dims.append(np.full(len(self.t_death), d - 1, np.int8))
        births.append(self.f_birth)
        deaths.append(self.t_death)
        birth_values.append(f_value)
        death_values.append(t_value)
        self.dim = np.concatenate(dims)
        self.birth = np.concatenate(births)
        self.death = np.concatenate(deaths)
        self.birth_value = np.concatenate(birth_values)
        self.death_value = np.concatenate(death_values)
        self.persistence = self.birth_value - self.death_value

    def coords(self, cells):
        coords = np.stack(np.unravel_index(cells, self.cs), axis=-1).astype(np.int64)
        return coords[:, 3 - self.ndim:]

    def positive_pairs(self):
        """Pairs of positive persistence and the essential class, by birth position."""
        keep = np.flatnonzero(self.persistence > 0)
        essential = self.vertex_cell(self.order[:1])
        births = np.concatenate([essential, self.birth[keep]])
        order = np.argsort(self.pos[births], kind="stable")
        death_coords = np.concatenate([np.full((1, self.ndim), -1, np.int64), self.coords(self.death[keep])])
        return PersistencePairs(
            dim=np.concatenate([[0], self.dim[keep]])[order],
            birth=self.coords(births)[order],
            death=death_coords[order],
            birth_value=np.concatenate([self.value(essential), self.birth_value[keep]])[order],
            death_value=np.concatenate([[-np.inf], self.death_value[keep]])[order],
        )


@njit(cache=True, nogil=True)
def _paint_ridges(edges, strength, vnext, n0, n1, n2):
    """Paint the ridges of `edges` (sorted by strength, descending)."""
    cs1, cs2 = 2 * n1 - 1, 2 * n2 - 1
    n = n0 * n1 * n2
    ridges = np.zeros(n, dtype=np.bool_)
    saliency = np.zeros(n, dtype=np.float64)
    walked = np.zeros(n, dtype=np.bool_)
    ends = np.empty(2, dtype=np.int64)
    for t in range(edges.size):
        K.cell_vertices(edges[t], cs1, cs2, n1, n2, ends)
        for q in range(2):
            x = ends[q]
            while True:
                if not ridges[x]:  # strengths come in descending order: the first is the max
                    ridges[x] = True
                    saliency[x] = strength[t]
                if walked[x]:
                    break  # the rest of this V-path is painted already, at least as strong
                walked[x] = True
                if vnext[x] == K.NONE:
                    break
                x = vnext[x]
    return ridges, saliency


@njit(cache=True, nogil=True)
def _basins(tnext, roots):
    """Label each top cell (compact index) with the basin it flows to (0 = OUTSIDE).

    ``tnext[t]`` is the top cell (or OUTSIDE, index ``tnext.size``) that t flows to
    through the facet it is matched with; ``roots`` are the critical top cells.
    """
    n_top = tnext.size
    label = np.full(n_top + 1, -1, dtype=np.int64)
    label[n_top] = 0  # OUTSIDE
    for r in range(roots.size):
        label[roots[r]] = r + 1
    trail = np.empty(n_top, dtype=np.int64)
    for start in range(n_top):
        t = start
        length = 0
        while label[t] < 0:  # flow until a labelled cell, then label the whole trail
            trail[length] = t
            length += 1
            t = tnext[t]
        for q in range(length):
            label[trail[q]] = label[t]
    return label[:n_top]


@njit(cache=True, nogil=True)
def _paint_boundaries(facets, label, root_strength, frame, n0, n1, n2):
    """Paint the vertices of the (d-1)-cells between two different basins."""
    cs1, cs2 = 2 * n1 - 1, 2 * n2 - 1
    n = n0 * n1 * n2
    n_top = label.size
    boundaries = np.zeros(n, dtype=np.bool_)
    saliency = np.zeros(n, dtype=np.float64)
    verts = np.empty(8, dtype=np.int64)
    for q in range(facets.size):
        cell = facets[q]
        lo, hi = K._cofacet_tops(cell, n0, n1, n2, cs1, cs2)
        border = lo == n_top or hi == n_top
        a = 0 if lo == n_top else label[lo]
        b = 0 if hi == n_top else label[hi]
        if a == b or (border and not frame):
            continue
        strength = min(root_strength[a], root_strength[b])
        nv = K.cell_vertices(cell, cs1, cs2, n1, n2, verts)
        for k in range(nv):
            v = verts[k]
            boundaries[v] = True
            saliency[v] = max(saliency[v], strength)
    return boundaries, saliency


def _top_indices(cx, cells):
    """Compact indices of top cells given by cell id (see ``_kernels.top_index``)."""
    n0, n1, n2 = cx.shape3
    c0, c1, c2 = np.unravel_index(cells, cx.cs)
    return ((c0 // 2) * (n1 - 1) + c1 // 2) * (n2 - 1) + c2 // 2


def _order(cx, dim, epsilon, tie, zero=False):
    """Indices of the pairs of `dim` to cancel, in the contract's order.

    The union-finds emit their pairs in the tie order of their dimension and cancel
    the zero-persistence ones on the spot, so only the pairs with
    0 < persistence <= epsilon are left, sorted by (persistence, tie). With `zero`
    (the 3-D middle dimension, cancelled separately), the zero-persistence pairs come
    first, in the order they were emitted.
    """
    of_dim = cx.dim == dim
    small = np.flatnonzero(of_dim & (cx.persistence > 0) & (cx.persistence <= epsilon))
    small = small[np.lexsort((tie(small), cx.persistence[small]))]
    if not zero:
        return small
    return np.concatenate([np.flatnonzero(of_dim & (cx.persistence == 0)), small])


def _structures(values, epsilon, frame):
    cx = _Complex(values)
    n0, n1, n2 = cx.shape3
    d = cx.ndim
    n_dual = len(cx.t_death)
    first_dual = len(cx.dim) - n_dual  # pairs are stored by dimension: 0, (1,) d-1
    uncancelled = []
    # dimension 0: zero persistence was cancelled by the union-find; then the rest,
    # by persistence, ties by death position ascending
    uncancelled.append(np.flatnonzero(cx.primal_failed))
    sel = _order(cx, 0, epsilon, lambda i: cx.pos[cx.death[i]])
    vnext, gparent, groot = cx.primal_state
    failed = K.simplify_primal(cx.v_birth[sel], cx.death[sel], vnext, gparent, groot, n1, n2, cx.cs[1], cx.cs[2])
    uncancelled.append(sel[failed])
    eup = np.zeros(0, dtype=K.IDX)
    if d == 3:  # edge-square pairs, ties by death position ascending
        sel = _order(cx, 1, epsilon, lambda i: cx.pos[cx.death[i]], zero=True)
        cell_value = cx.value_by_rank[cx.pos // K.SLOT]
        eup, _, failed = K.simplify_middle(cx.birth[sel], cx.death[sel], cx.persistence[sel], cell_value, n0, n1, n2)
        uncancelled.append(sel[failed])
    # dimension d-1: likewise, ties by birth position descending
    uncancelled.append(first_dual + np.flatnonzero(cx.dual_failed))
    sel = _order(cx, d - 1, epsilon, lambda i: -cx.pos[cx.birth[i]])
    tdown, tnext, gparent, groot = cx.dual_state
    failed = K.simplify_dual(cx.birth[sel], cx.death[sel], tdown, tnext, gparent, groot, n0, n1, n2)
    uncancelled.append(sel[failed])

    critical = K.critical_cells(vnext, tdown, eup, n0, n1, n2)
    critical = critical[np.argsort(cx.pos[critical], kind="stable")]
    critical_coords = cx.coords(critical)

    # ridges: edges whose pair has persistence above epsilon
    kept = np.flatnonzero((cx.dim <= 1) & (cx.persistence > epsilon))
    kept = kept[np.argsort(-cx.persistence[kept], kind="stable")]
    edges = np.where(cx.dim[kept] == 0, cx.death[kept], cx.birth[kept])
    ridges, ridge_saliency = _paint_ridges(edges, cx.persistence[kept], vnext, n0, n1, n2)

    # basins: the critical top cells are the roots, labelled in filtration order
    roots = critical[(critical_coords & 1).sum(axis=1) == d]
    root_tops = _top_indices(cx, roots)
    label = _basins(tnext, root_tops)
    root_strength = np.concatenate([[np.inf], cx.top_persistence[root_tops]])
    boundaries, boundary_saliency = _paint_boundaries(cx.facets, label, root_strength, bool(frame), n0, n1, n2)

    fail = np.concatenate(uncancelled)
    return MorseStructures(
        epsilon=epsilon,
        frame=bool(frame),
        pairs=cx.positive_pairs(),
        critical=critical_coords,
        uncancelled=PersistencePairs(
            dim=cx.dim[fail], birth=cx.coords(cx.birth[fail]), death=cx.coords(cx.death[fail]),
            birth_value=cx.birth_value[fail], death_value=cx.death_value[fail]),
        ridges=ridges.reshape(values.shape),
        ridge_persistence=ridge_saliency.reshape(values.shape),
        basins=label.reshape(tuple(n - 1 for n in values.shape)),
        boundaries=boundaries.reshape(values.shape),
        boundary_persistence=boundary_saliency.reshape(values.shape),
        sheets=None,
    )


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
    dmtloss.reference.persistence_pairs : the same answer, computed plainly.

    Examples
    --------
    >>> pairs = persistence_pairs([[1.0, 0.0], [0.0, 1.0]])
    >>> pairs.birth.tolist(), pairs.death.tolist()
    ([[0, 0], [2, 2]], [[-1, -1], [1, 2]])
    """
    return _Complex(as_likelihood(likelihood)).positive_pairs()


def persistence_diagram(likelihood):
    """Persistence diagram of the superlevel filtration of `likelihood`.

    Parameters
    ----------
    likelihood : (M, N[, P]) array_like
        A 2-D or 3-D image of real numbers, every axis of length >= 2.

    Returns
    -------
    diagram : (n, 3) ndarray of float64
        Rows ``(dim, birth, death)`` with ``birth > death``; the essential class has
        ``death = -inf``; zero persistence omitted; rows ordered by dimension, then by
        the filtration position of the birth cell.

    Raises
    ------
    TypeError, ValueError
        On invalid input (see :func:`morse_structures`).

    Examples
    --------
    >>> persistence_diagram([[1, 1, 1], [1, 0, 1], [1, 1, 1]]).tolist()
    [[0.0, 1.0, -inf], [1.0, 1.0, 0.0]]
    """
    return persistence_pairs(likelihood).diagram_by_dimension()


def morse_structures(likelihood, epsilon=0.2, *, frame=False):
    """Discrete Morse structures of `likelihood`, simplified at persistence `epsilon`.

    The same answer as :func:`dmtloss.reference.morse_structures`, cell for cell, but
    for ``sheets``, which only the reference computes (None here).

    Parameters
    ----------
    likelihood : (M, N[, P]) array_like
        A 2-D or 3-D likelihood map, every axis of length >= 2. Never modified.
    epsilon : float, optional
        Persistence threshold >= 0: pairs with persistence <= epsilon are cancelled.
    frame : bool, optional
        Also count as boundaries the border cells between a basin and OUTSIDE.

    Returns
    -------
    structures : MorseStructures

    Raises
    ------
    TypeError
        If `likelihood` is not an array of real numbers, or `epsilon` not a number.
    ValueError
        If `likelihood` is not 2-D or 3-D, has an axis shorter than 2 or non-finite
        values, or if `epsilon` is negative or not finite.

    Examples
    --------
    >>> s = morse_structures([[1, 1, 1], [1, 0, 1], [1, 1, 1]], epsilon=0.5)
    >>> s.ridges.astype(int)
    array([[1, 1, 1],
           [1, 0, 1],
           [1, 1, 1]])
    """
    values = as_likelihood(likelihood)
    return _structures(values, as_epsilon(epsilon), frame)


def morse_structures_batch(likelihoods, epsilon=0.2, *, frame=False, workers=None):
    """Morse structures of a batch of images, spread over threads.

    Parameters
    ----------
    likelihoods : (B, M, N[, P]) array_like
        A batch of 2-D images (a 3-D array) or of 3-D volumes (a 4-D array).
    epsilon : float, optional
        Persistence threshold, as in :func:`morse_structures`.
    frame : bool, optional
        As in :func:`morse_structures`.
    workers : int, optional
        Number of threads; None uses one per CPU (at most one per image). The kernels
        run without the GIL, so threads work in parallel.

    Returns
    -------
    structures : list of MorseStructures
        One per image, equal to per-image calls.

    Raises
    ------
    TypeError, ValueError
        On invalid input, naming the argument.

    Examples
    --------
    >>> batch = np.stack([np.eye(3), 1 - np.eye(3)])
    >>> [int(s.ridges.sum()) for s in morse_structures_batch(batch, epsilon=0.1, workers=2)]
    [5, 3]
    """
    images = as_batch(likelihoods)
    epsilon = as_epsilon(epsilon)
    workers = as_workers(workers, default=min(len(images), os.cpu_count() or 1))
    if workers == 1 or len(images) <= 1:
        return [_structures(x, epsilon, frame) for x in images]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda x: _structures(x, epsilon, frame), images))
