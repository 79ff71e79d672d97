"""Betti matching: persistence features of two images matched through their comparison image.

The Betti-matching error of Stucki et al. [1]_ counts the topological features of a
prediction and of its ground truth that do not correspond to a feature of the other
image *at the same place*. Features are the bars of the persistence barcodes of the two
images; bars are matched by the induced matchings of Bauer and Lesnick [2]_ through a
comparison image that contains both.

Conventions (those of the whole package, ``docs/spec.md``)
-----------------------------------------------------------
- Pixels (voxels) are the *vertices* of a cubical complex; a cell's value is the minimum
  of its vertices' values; the filtration is the *superlevel* filtration. A binary mask
  is thus seen with its foreground 4-connected (2-D) or 6-connected (3-D).
- Ties are broken by the documented total order: vertex rank = position in a stable sort
  by (value descending, C-order index ascending); a cell's key = its vertices' ranks
  sorted descending, compared lexicographically. Every cell, pair and match below is
  defined by that order, separately for each of the three images.
- The comparison image of the superlevel filtration is the pointwise maximum
  ``C = max(P, G)``: every superlevel set of the prediction ``P`` and of the truth ``G``
  is a subcomplex of the superlevel set of ``C`` at the same threshold.
- A *feature* is a bar of positive persistence (birth value > death value). The one
  essential class of dimension 0 is taken to die at value 0, the bottom of the
  likelihood range, so a binary mask has exactly its Betti numbers of features (an
  empty mask has none).

Induced matching, on cells (as in [1]_ and its fast implementation [3]_)
-----------------------------------------------------------------------
For each dimension p, three barcodes with their cells: those of P, of C, and of the
image module ``im(H_p(P_t) -> H_p(C_t))``. The image pairs come from the boundary
matrix of C with its *rows in P's filtration order* and its columns in C's
(Cohen-Steiner et al. [4]_): a reduced column of the (p+1)-cell tau whose lowest row is
the p-cell sigma gives the image bar born at ``P(sigma)`` and dying at ``C(tau)``.

- A bar of P is matched to the image bar with the same birth cell (the image is a
  quotient of P's module, so it keeps the births), that one to the bar of C with the
  same death cell (a submodule of C's, so it keeps the deaths). Each step requires
  both bars to be features: a bar of P whose image bar is empty (it dies in C before it
  is born in P) is matched to nothing, as in Bauer and Lesnick's theory. (The
  implementation of [3]_ does not check the image bar, so on likelihoods it can match
  more; on binary masks the check is implied by the others.)
- Likewise for G. A bar of P and one of G are *matched* when they reach the same bar of
  C. The essential classes of P and G (dimension 0) are matched to each other when both
  are features (both masks non-empty).
- The error of dimension p is the number of features of P plus that of G left
  unmatched. For binary masks every matched pair is at distance 0, so this count is the
  whole Betti-matching error; for likelihoods in [0, 1] it counts every bar of positive
  persistence (noise included), and matched bars need not coincide: threshold the
  prediction first, as the paper does for its metric.

Algorithm and complexity
------------------------
Ranks come from one stable sort per image; the cells of each dimension are listed in
filtration order by a sweep over the vertices in rank order, sorting each vertex's
lower star (at most 12 cells) by the rest of its key, so no cell key is ever stored.

- Dimension 0: union-find with the elder rule on vertices and edges. For the image
  pairs the edges come in C's order while a component's root is its vertex of lowest
  P-rank (this is the column reduction of C's edge-vertex matrix with rows in P's
  order).
- Dimension d-1: union-find on the dual graph, top cells plus an OUTSIDE node, joined
  through (d-1)-cells taken in *reverse* row order (P's for the image); the root of a
  dual component is its top cell of largest position in C's order, OUTSIDE above all,
  and a face joining two components pairs with the younger root. This is the
  reduction of the anti-transposed matrix, which has the same pivots (de Silva et al.
  [5]_).
- Dimension 1 in 3-D: a plain Z/2 column reduction of the square-edge matrix (columns
  in C's order, rows in P's) with clearing: the squares that C pairs with cubes (found
  by C's dual union-find) are positive in C, their columns would reduce to zero and are
  skipped; columns are kept as sorted arrays, the reduced ones in one growing buffer.

Everything is O(n log n) (the sorts) plus near-linear union-finds, but the reduction of
3-D, O(m^3) in the worst case and a fifth to a third of the time on segmentation masks.
Five persistence computations per dimension (P, G and C, and the two images) are run;
measured with one thread on a shared 2-core machine: 0.5-0.9 s for a pair of 512 x 512
masks, 0.6-1.1 s for 48^3 (``benchmarks/metrics.py``), with about 150 MB of scratch
arrays (a few int64 arrays over the ``prod(2 n_i - 1)`` cells per image).

References
----------
.. [1] N. Stucki, J. C. Paetzold, S. Shit, B. Menze, U. Bauer, "Topologically faithful
   image segmentation via induced matching of persistence barcodes", ICML 2023.
.. [2] U. Bauer, M. Lesnick, "Induced matchings and the algebraic stability of
   persistence barcodes", J. Comput. Geom. 6(2), 2015.
.. [3] N. Stucki, V. Buergin, J. C. Paetzold, U. Bauer, "Efficient Betti matching enables
   topology-aware 3D segmentation via persistent homology", arXiv:2407.04683, 2024.
.. [4] D. Cohen-Steiner, H. Edelsbrunner, J. Harer, D. Morozov, "Persistent homology for
   kernels, images, and cokernels", SODA 2009.
.. [5] V. de Silva, D. Morozov, M. Vejdemo-Johansson, "Dualities in persistent
   (co)homology", Inverse Problems 27, 2011.
"""

from dataclasses import dataclass

import numpy as np
from numba import njit

from dmtloss.reference._validation import as_likelihood

__all__ = ["BettiMatching", "betti_matching"]

NONE = -1
_OLDEST = 2**62  # the position of OUTSIDE in the dual union-find


# ----------------------------------------------------------------------------------
# result
# ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class BettiMatching:
    """Counts of the Betti matching of a prediction and a target, by dimension.

    Attributes
    ----------
    prediction_features, target_features : tuple of int
        Features (bars of positive persistence, the essential class included when the
        image is not all 0) of each image, for dimensions 0 .. d-1. For binary masks
        these are the Betti numbers of the foreground.
    matched : tuple of int
        Pairs of features matched through the comparison image, by dimension.

    Examples
    --------
    >>> m = BettiMatching(prediction_features=(1, 2), target_features=(1, 1), matched=(1, 0))
    >>> m.unmatched_prediction, m.unmatched_target, m.by_dim, m.error
    ((0, 2), (0, 1), (0, 3), 3)
    >>> m.as_dict()
    {'betti_matching': 3, 'betti_matching0': 0, 'betti_matching1': 3}
    """

    prediction_features: tuple
    target_features: tuple
    matched: tuple

    @property
    def unmatched_prediction(self):
        """Features of the prediction left unmatched, by dimension (tuple of int)."""
        return tuple(p - m for p, m in zip(self.prediction_features, self.matched))

    @property
    def unmatched_target(self):
        """Features of the target left unmatched, by dimension (tuple of int)."""
        return tuple(t - m for t, m in zip(self.target_features, self.matched))

    @property
    def by_dim(self):
        """The Betti-matching error of each dimension: unmatched features of both images."""
        return tuple(p + t for p, t in zip(self.unmatched_prediction, self.unmatched_target))

    @property
    def error(self):
        """The Betti-matching error: unmatched features of both images, all dimensions (int)."""
        return sum(self.by_dim)

    def as_dict(self, prefix="betti_matching"):
        """Flat ``{f"{prefix}": error, f"{prefix}{k}": by_dim[k]}`` for tables of metrics."""
        row = {prefix: self.error}
        row.update({f"{prefix}{k}": v for k, v in enumerate(self.by_dim)})
        return row


# ----------------------------------------------------------------------------------
# kernels: cells are C-order indices in the doubled grid (2 n_i - 1); a 2-D image of
# shape (M, N) is the volume (1, M, N), whose complex is the 2-D one
# ----------------------------------------------------------------------------------

@njit(cache=True, nogil=True)
def _offsets(k):
    """The offsets (o0, o1, o2) in {-1, 0, 1}^3 with exactly k nonzero entries."""
    out = np.empty((27, 3), np.int64)
    m = 0
    for o0 in range(-1, 2):
        for o1 in range(-1, 2):
            for o2 in range(-1, 2):
                if (o0 != 0) + (o1 != 0) + (o2 != 0) == k:
                    out[m, 0], out[m, 1], out[m, 2] = o0, o1, o2
                    m += 1
    return out[:m]


@njit(cache=True, nogil=True)
def _lower_star(v, k, offsets, rank, n0, n1, n2, cells, keys, other):
    """The k-cells whose lowest vertex is `v`, sorted by the rest of their keys.

    A k-cell containing v spans v + o for one of the `offsets` (k nonzero entries).
    Fills ``cells[:m]`` (ids) and ``keys[:m, :2**k - 1]`` (the other vertices' ranks,
    descending); returns m.
    """
    x0 = v // (n1 * n2)
    x1 = (v // n2) % n1
    x2 = v % n2
    r = rank[v]
    d1 = 2 * n1 - 1
    d2 = 2 * n2 - 1
    width = (1 << k) - 1
    m = 0
    for t in range(offsets.shape[0]):
        o0, o1, o2 = offsets[t, 0], offsets[t, 1], offsets[t, 2]
        if not (0 <= x0 + o0 < n0 and 0 <= x1 + o1 < n1 and 0 <= x2 + o2 < n2):
            continue
        mask = (1 if o0 != 0 else 0) | (2 if o1 != 0 else 0) | (4 if o2 != 0 else 0)
        count = 0
        lowest = True
        for s in range(1, 8):
            if s & ~mask:
                continue
            u = ((x0 + (o0 if s & 1 else 0)) * n1 + (x1 + (o1 if s & 2 else 0))) * n2 \
                + (x2 + (o2 if s & 4 else 0))
            ru = rank[u]
            if ru > r:
                lowest = False
                break
            # insertion into `other`, descending
            j = count
            while j > 0 and other[j - 1] < ru:
                other[j] = other[j - 1]
                j -= 1
            other[j] = ru
            count += 1
        if not lowest:
            continue
        cell = ((2 * x0 + o0) * d1 + (2 * x1 + o1)) * d2 + (2 * x2 + o2)
        # insertion of the cell into the sorted lower star
        j = m
        while j > 0:
            smaller = False  # is the new key smaller than keys[j - 1]?
            for i in range(width):
                if other[i] != keys[j - 1, i]:
                    smaller = other[i] < keys[j - 1, i]
                    break
            if not smaller:
                break
            cells[j] = cells[j - 1]
            for i in range(width):
                keys[j, i] = keys[j - 1, i]
            j -= 1
        cells[j] = cell
        for i in range(width):
            keys[j, i] = other[i]
        m += 1
    return m


@njit(cache=True, nogil=True)
def _filtration(order, rank, k, n0, n1, n2, count, positions):
    """The k-cells in filtration order (ids) and, if `positions`, each one's position
    (by id, else -1; an empty array otherwise)."""
    size = (2 * n0 - 1) * (2 * n1 - 1) * (2 * n2 - 1) if positions else 0
    cells = np.empty(count, np.int64)
    position = np.full(size, NONE, np.int64)
    star = np.empty(27, np.int64)
    keys = np.empty((27, 7), np.int64)
    other = np.empty(8, np.int64)
    offsets = _offsets(k)
    m = 0
    for v in order:
        found = _lower_star(v, k, offsets, rank, n0, n1, n2, star, keys, other)
        for i in range(found):
            cells[m] = star[i]
            if positions:
                position[star[i]] = m
            m += 1
    return cells, position


@njit(cache=True, nogil=True, inline="always")
def _find(parent, x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@njit(cache=True, nogil=True)
def _primal(edges, row_rank, n0, n1, n2):
    """Dimension 0: death edge of each vertex (by cell id; -1 for the essential one).

    Edges in the columns' order; a component's root is its vertex of smallest row rank.
    """
    d1 = 2 * n1 - 1
    d2 = 2 * n2 - 1
    parent = np.arange(n0 * n1 * n2)
    death = np.full((2 * n0 - 1) * d1 * d2, NONE, np.int64)
    for e in edges:
        c0 = e // (d1 * d2)
        c1 = (e // d2) % d1
        c2 = e % d2
        # the odd coordinate spans the two vertices
        a0, a1, a2 = c0 // 2, c1 // 2, c2 // 2
        b0, b1, b2 = (c0 + 1) // 2, (c1 + 1) // 2, (c2 + 1) // 2
        a = _find(parent, (a0 * n1 + a1) * n2 + a2)
        b = _find(parent, (b0 * n1 + b1) * n2 + b2)
        if a == b:
            continue
        if row_rank[a] > row_rank[b]:
            a, b = b, a
        parent[b] = a
        death[((b // (n1 * n2)) * 2 * d1 + (b // n2) % n1 * 2) * d2 + b % n2 * 2] = e
    return death


@njit(cache=True, nogil=True)
def _dual(faces, top_position, n0, n1, n2):
    """Dimension d-1: death top cell of each (d-1)-cell (by id, else -1).

    Faces in the rows' order, taken in reverse; a dual component's root is its top cell
    of largest column position, OUTSIDE (id = grid size) above all.
    """
    d0 = 2 * n0 - 1
    d1 = 2 * n1 - 1
    d2 = 2 * n2 - 1
    size = d0 * d1 * d2
    outside = size
    parent = np.arange(size + 1)
    death = np.full(size, NONE, np.int64)
    for idx in range(faces.shape[0] - 1, -1, -1):
        f = faces[idx]
        c0 = f // (d1 * d2)
        c1 = (f // d2) % d1
        c2 = f % d2
        # the one even coordinate along an axis of length > 1
        if d0 > 1 and c0 % 2 == 0:
            c, dd, stride = c0, d0, d1 * d2
        elif d1 > 1 and c1 % 2 == 0:
            c, dd, stride = c1, d1, d2
        else:
            c, dd, stride = c2, d2, 1
        a = f - stride if c > 0 else outside
        b = f + stride if c < dd - 1 else outside
        a = _find(parent, a)
        b = _find(parent, b)
        if a == b:
            continue
        pa = _OLDEST if a == outside else top_position[a]
        pb = _OLDEST if b == outside else top_position[b]
        if pa < pb:
            a, b = b, a
        parent[b] = a
        death[f] = b
    return death


@njit(cache=True, nogil=True)
def _symdiff(a, na, b, nb, out):
    """Symmetric difference of two descending sorted arrays into `out`; returns its length."""
    i = 0
    j = 0
    m = 0
    while i < na and j < nb:
        if a[i] > b[j]:
            out[m] = a[i]
            i += 1
            m += 1
        elif a[i] < b[j]:
            out[m] = b[j]
            j += 1
            m += 1
        else:
            i += 1
            j += 1
    while i < na:
        out[m] = a[i]
        i += 1
        m += 1
    while j < nb:
        out[m] = b[j]
        j += 1
        m += 1
    return m


@njit(cache=True, nogil=True)
def _reduce(squares, skip, edge_position, edges, n0, n1, n2):
    """Dimension 1 of 3-D: death square of each edge (by id, else -1).

    Columns: the squares in the columns' order, but those flagged in `skip` (positive:
    clearing); rows: edge positions in the rows' order (`edges` lists them).
    """
    d1 = 2 * n1 - 1
    d2 = 2 * n2 - 1
    size = (2 * n0 - 1) * d1 * d2
    strides = np.array([d1 * d2, d2, 1], np.int64)
    death = np.full(size, NONE, np.int64)
    start = np.full(edges.shape[0], NONE, np.int64)
    length = np.zeros(edges.shape[0], np.int64)
    store = np.empty(max(16, 6 * edges.shape[0]), np.int64)
    used = 0
    work = np.empty(64, np.int64)
    spare = np.empty(64, np.int64)
    for s in squares:
        if skip[s]:
            continue
        c0 = s // (d1 * d2)
        c1 = (s // d2) % d1
        c2 = s % d2
        n = 0
        for axis, c in enumerate((c0, c1, c2)):
            if c % 2 == 1:
                for sign in (-1, 1):
                    p = edge_position[s + sign * strides[axis]]
                    j = n
                    while j > 0 and work[j - 1] < p:
                        work[j] = work[j - 1]
                        j -= 1
                    work[j] = p
                    n += 1
        while n > 0:
            low = work[0]
            j = start[low]
            if j == NONE:
                if used + n > store.shape[0]:
                    grown = np.empty(2 * (used + n), np.int64)
                    grown[:used] = store[:used]
                    store = grown
                store[used:used + n] = work[:n]
                start[low] = used
                length[low] = n
                used += n
                death[edges[low]] = s
                break
            nb = length[low]
            if n + nb > spare.shape[0]:
                spare = np.empty(2 * (n + nb), np.int64)
            n = _symdiff(work, n, store[j:j + nb], nb, spare)
            work, spare = spare, work
    return death


# ----------------------------------------------------------------------------------
# driver
# ----------------------------------------------------------------------------------

def _cell_values(values):
    """Value of every cell of the doubled grid: the minimum of its vertices."""
    out = values
    for axis in range(values.ndim):
        n = out.shape[axis]
        shape = list(out.shape)
        shape[axis] = 2 * n - 1
        grid = np.empty(shape, dtype=out.dtype)
        even = [slice(None)] * out.ndim
        odd = [slice(None)] * out.ndim
        even[axis] = slice(0, None, 2)
        odd[axis] = slice(1, None, 2)
        grid[tuple(even)] = out
        lo = [slice(None)] * out.ndim
        hi = [slice(None)] * out.ndim
        lo[axis] = slice(0, n - 1)
        hi[axis] = slice(1, n)
        grid[tuple(odd)] = np.minimum(out[tuple(lo)], out[tuple(hi)])
        out = grid
    return out.ravel()


def _counts(shape, k):
    """Number of k-cells of the complex of `shape` (a 3-tuple)."""
    total = 0
    for mask in range(8):
        if bin(mask).count("1") != k:
            continue
        cells = 1
        for axis, n in enumerate(shape):
            cells *= (n - 1) if mask >> axis & 1 else n
        total += cells
    return total


class _Image:
    """One image's order: ranks, cell lists by dimension and positions, cell values."""

    def __init__(self, values, shape3):
        flat = values.ravel()
        self.order = np.argsort(-flat, kind="stable")
        self.rank = np.empty_like(self.order)
        self.rank[self.order] = np.arange(flat.size)
        self.shape3 = shape3
        self.value = _cell_values(values.reshape(shape3))
        self.top = len(values.shape)
        self._cells = {}
        self._positive = None

    def positive_faces(self):
        """Flags (by id) of the (d-1)-cells this image pairs with top cells: positive ones."""
        if self._positive is None:
            self._positive = _dual(self.cells(self.top - 1)[0], self.cells(self.top)[1], *self.shape3) != NONE
        return self._positive

    def cells(self, k):
        """``(ids in filtration order, position by id)`` of the k-cells; positions are
        kept only where they are read: top cells (dual roots) and 3-D edges (rows)."""
        if k not in self._cells:
            positions = k == self.top or (k == 1 and self.top == 3)
            self._cells[k] = _filtration(self.order, self.rank, k, *self.shape3, _counts(self.shape3, k), positions)
        return self._cells[k]


def _deaths(rows, cols, p, top):
    """Death cell of every p-cell (by id, -1 if none) in the matrix of `cols` with rows in
    `rows`' order: the persistence pairs of one image when ``rows is cols``, else the
    image pairs."""
    n0, n1, n2 = cols.shape3
    if p == 0:
        return _primal(cols.cells(1)[0], rows.rank, n0, n1, n2)
    if p == top - 1:
        return _dual(rows.cells(p)[0], cols.cells(top)[1], n0, n1, n2)
    # the middle dimension of 3-D: clearing by the squares `cols` pairs with cubes
    edges, edge_position = rows.cells(1)
    return _reduce(cols.cells(2)[0], cols.positive_faces(), edge_position, edges, n0, n1, n2)


def _matched_deaths(image, comparison, p, top, comparison_birth):
    """Features of `image` in dimension p and the death cells of C they reach."""
    own = _deaths(image, image, p, top)
    births = np.flatnonzero(own != NONE)
    features = births[image.value[births] > image.value[own[births]]]
    reach = _deaths(image, comparison, p, top)[features]
    # every positive cell of `image` but the essential one is a pivot of the image
    # reduction (its pivots are positive cells, as many as the positive cells that die)
    if reach.size and reach.min() == NONE:
        raise RuntimeError("internal error: a feature has no death in the comparison image")
    born = comparison_birth[reach]
    # the image bar and the comparison bar must both be features
    keep = (image.value[features] > comparison.value[reach]) & (comparison.value[born] > comparison.value[reach])
    return features.size, reach[keep]


def _match(prediction, target):
    shape3 = (1,) * (3 - prediction.ndim) + prediction.shape
    top = prediction.ndim
    images = [_Image(v, shape3) for v in (prediction, target, np.maximum(prediction, target))]
    pred, true, comp = images
    size = comp.value.size
    counts = {"prediction_features": [], "target_features": [], "matched": []}
    for p in range(top):
        death = _deaths(comp, comp, p, top)
        birth_of = np.full(size, NONE, np.int64)
        births = np.flatnonzero(death != NONE)
        birth_of[death[births]] = births
        n_pred, reach_pred = _matched_deaths(pred, comp, p, top, birth_of)
        n_true, reach_true = _matched_deaths(true, comp, p, top, birth_of)
        matched = np.intersect1d(reach_pred, reach_true, assume_unique=True).size
        if p == 0:  # the essential classes, dying at value 0
            alive = prediction.max() > 0, target.max() > 0
            n_pred, n_true, matched = n_pred + alive[0], n_true + alive[1], matched + (alive[0] and alive[1])
        counts["prediction_features"].append(int(n_pred))
        counts["target_features"].append(int(n_true))
        counts["matched"].append(int(matched))
    return BettiMatching(**{key: tuple(value) for key, value in counts.items()})


def betti_matching(prediction, target):
    """Match the persistence features of `prediction` and `target` through ``max(P, G)``.

    See the module docstring for the definition, the conventions and the algorithm;
    :func:`dmtloss.metrics.betti_matching_error` is the metric built on it.

    Parameters
    ----------
    prediction, target : (M, N[, P]) array_like of float in [0, 1]
        Binary masks (bool, 0/1) or likelihoods of the same shape, every axis of length
        >= 2.

    Returns
    -------
    matching : BettiMatching
        Features of each image and matched pairs, by dimension; ``.error`` and
        ``.by_dim`` give the Betti-matching error.

    Raises
    ------
    TypeError
        If an input is not an array of real numbers.
    ValueError
        On shapes that differ or are not 2-D/3-D with axes >= 2, and on values outside
        [0, 1] or not finite.

    Examples
    --------
    >>> ring = [[1, 1, 1], [1, 0, 1], [1, 1, 1]]
    >>> m = betti_matching(ring, [[1, 1, 1], [1, 1, 1], [1, 1, 1]])
    >>> m.prediction_features, m.target_features, m.matched, m.error
    ((1, 1), (1, 0), (1, 0), 1)
    """
    prediction = as_likelihood(prediction, "prediction")
    target = as_likelihood(target, "target")
    if prediction.shape != target.shape:
        raise ValueError(f"`prediction` and `target` must have the same shape; got {prediction.shape} "
                         f"and {target.shape}")
    for name, values in (("prediction", prediction), ("target", target)):
        if values.min() < 0 or values.max() > 1:
            raise ValueError(f"`{name}` must hold values in [0, 1] (a mask or a likelihood); got values in "
                             f"[{values.min()!r}, {values.max()!r}]")
    return _match(prediction, target)
