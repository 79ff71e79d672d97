"""The fast engine: the reference's exact answer from union-finds and local reductions.

Algorithm
---------
1. One global sort of the pixels gives their ranks: a vectorised sort of distinct
   64-bit keys, the value's bits above the pixel's index, so equal values (8-bit
   images have thousands per level) come in index order at no extra cost. No array is
   kept per cell: a cell's key starts with the rank of its lowest vertex v, so the
   cells of v's *lower star* (those whose lowest vertex is v) are told apart by the
   rest of their keys, read off v's neighbourhood when needed (:mod:`._plane` in 2-D,
   :mod:`._volume` in 3-D, where edges and squares have compact ids per voxel).
2. 0-dimensional pairs: union-find with the elder rule on vertices and edges, in
   filtration order (each vertex's lower edges in order of the other rank). It also
   records which edges are positive (close a loop).
3. (d-1)-dimensional pairs: union-find on top cells and an OUTSIDE node, joined through
   (d-1)-cells, in reverse filtration order (Alexander duality); OUTSIDE is oldest. In
   2-D it visits only the edges the primal pass found positive (the others join one
   dual component to itself). In 3-D it visits only the squares left by step 4.
4. In 3-D, edge-square pairs. One pass over the voxels in memory order does all that
   is local to a lower star: the squares' order, the cubes' ages, and a column
   reduction (homology) of the lower squares' boundaries while the pivot stays at the
   vertex -- only older squares of the same star can own such a pivot, so this is the
   global reduction, and it pairs nearly every square there (apparent pairs [3]_ are
   its simplest case). The squares whose columns leave their star go to step 3; those
   it finds negative (the others' columns would reduce to zero: clearing) are reduced
   globally, in filtration order, their columns kept in a heap.
5. Cancellation in the contract's order: for dimensions 0 and d-1, the gradient trees
   are union-find sets, each represented by its critical cell, so "exactly one V-path"
   is a test on two roots. A cancellation of dimension 0 reverses one path (the ridges
   follow the vertex-edge gradient); one of dimension d-1 only joins two trees, since
   nothing but the basins reads the dual gradient and a top cell's basin is its tree's
   critical cell. The union-finds of steps 2 and 3 meet the pairs in
   the cancellation order of their dimension, so they cancel the zero-persistence
   pairs on the spot and report only the pairs of positive persistence (and any
   zero-persistence pair they could not cancel), in the order met -- the tie order, so
   the pairs with 0 < persistence <= epsilon need only a stable sort by persistence
   before they are cancelled. The branching edge-square V-paths of 3-D are counted by
   a memoised search, as in the reference: within one lower star when the vertex's
   value is unique (every zero-persistence pair lies there), within the level set on
   ties, and over the whole gradient for the pairs of positive persistence.
6. The critical cells are the essential vertex and both cells of every pair left
   (above epsilon, or uncancelled): no scan of all cells. Ridges are painted from the
   most persistent edge down, each vertex walked once; a top cell's basin is the root
   of its gradient tree, found in memory order; boundaries compare the basins on the
   two sides of each (d-1)-cell.

Everything but the global part of step 4 and the searches of step 5 is O(n log n) (the
sort) plus near-linear union-finds; only the pairs of positive persistence are sorted.
Positions (27 per rank) must fit in int32, so an image may have at most 79.5 million
pixels. On large images the sweeps in rank order are bound by memory latency (every
access out of cache costs about 100 ns on the machine the figures below come from),
which is why so much of the work runs in memory order instead.

Measured with ``python benchmarks/compare.py --full`` on a 2-core x86-64 machine, one
thread, epsilon 0.2, the whole result (pairs, critical cells, masks and their
persistence) against cripser's bare persistence diagram of the same image: 0.4x
(smooth), 0.5x (membrane-like) and 0.6x (the membrane map in 8-bit levels) at
1024^2, 0.5-0.65x and 0.75-0.8x at 128^3, 0.9x and 1.1-1.2x at 64^3. From 1024^2 to
2048^2 the time grows 5.1-7.0x (over several runs) where n log n grows 4.4x, and so
do cripser's (4.9-6.4x), numpy's sort of the values (4.7-5.4x) and a textbook
union-find in filtration order (6.1-7.1x), measured in the same processes: the memory
hierarchy, not the algorithm, adds the rest (the report's scaling table). Peak
memory, as the growth of the process's maximum resident set: about 76-93 bytes per
pixel in 2-D and 109-131 bytes per voxel in 3-D. The large work arrays are allocated
by numpy, which asks for transparent huge pages, so that first touching
them costs few page faults (see :func:`._kernels.empty`). The kernels compile once per
machine (``cache=True``): about 7-8 s for 2-D and 16-17 s for 3-D with an empty
cache, 0.3 s and 0.1 s to load from it.

References
----------
.. [1] H. Wagner, C. Chen, E. Vucini, "Efficient computation of persistent homology
   for cubical data", Topological Methods in Data Analysis and Visualization II (2012).
.. [2] S. Kaji, T. Sudo, K. Ahara, "Cubical Ripser: software for computing persistent
   homology of image and volume data", arXiv:2005.12692 (2020).
.. [3] U. Bauer, "Ripser: efficient computation of Vietoris-Rips persistence
   barcodes", J. Appl. Comput. Topology 5 (2021) -- clearing and apparent pairs.
.. [4] V. Robins, P. J. Wood, A. P. Sheppard, "Theory and algorithms for constructing
   discrete Morse complexes from grayscale digital images", IEEE TPAMI 33 (2011) --
   lower stars.
"""

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

from dmtloss.reference._validation import as_batch, as_bool, as_epsilon, as_likelihood, as_workers
from dmtloss.reference.results import MorseStructures, PersistencePairs, _Sealed

from . import _kernels as K
from . import _plane as P
from . import _volume as V

__all__ = ["morse_structures", "morse_structures_batch", "persistence_diagram", "persistence_pairs"]


@njit(cache=True, nogil=True)
def _packed_keys(bits, low_bits, descending, keys):
    """Sort keys of float64 values (given as their bits), the index in the low `low_bits` bits.

    The bits of a float, sign bit flipped (all bits for a negative number), order
    as the float does (-0.0, the sign bit alone, is taken as 0.0); complemented, they
    order as its negation. The value keeps the high bits, so keys are distinct and
    equal values come in index order.
    """
    sign = np.uint64(1) << np.uint64(63)
    low = (np.uint64(1) << np.uint64(low_bits)) - np.uint64(1)
    for i in range(bits.size):
        b = bits[i]
        if b == sign:
            b = np.uint64(0)
        b = ~b if b & sign else b | sign
        if descending:
            b = ~b
        keys[i] = (b & ~low) | np.uint64(i)


#: How many keys ahead :func:`_unpack` prefetches the value and the rank of a pixel.
UNPACK_AHEAD = 16


@njit(cache=True, nogil=True)
def _unpack(keys, values, low_bits, order, ranked, rank):
    """The order, the sorted values and the ranks from sorted :func:`_packed_keys`; the mixed runs.

    Fills `order`, `ranked` (-0.0 as 0.0) and, unless it is empty, `rank` (the inverse
    of `order`). Keys that agree but for the index hold equal values, or values that
    differ only in bits the index took. Returns the bounds ``[start, end)`` of the runs
    of such keys that hold different values (rare, short; the caller sorts them again,
    see :func:`_stable_argsort`), flat.
    """
    n = keys.size
    low = (np.uint64(1) << np.uint64(low_bits)) - np.uint64(1)
    ranks = rank.size > 0
    for r in range(n):
        if r + UNPACK_AHEAD < n:  # the reads and writes all over the image overlap
            w = np.int64(keys[r + UNPACK_AHEAD] & low)
            K.prefetch(values, w)
            if ranks:
                K.prefetch(rank, w)
        v = np.int64(keys[r] & low)
        order[r] = v
        ranked[r] = values[v] + 0.0
        if ranks:
            rank[v] = r
    bounds = []
    r = 0
    while r < n - 1:
        if (keys[r] ^ keys[r + 1]) > low:
            r += 1
            continue
        end = r + 1  # the run [r, end] shares the value's high bits
        mixed = ranked[end] != ranked[r]
        while end < n - 1 and (keys[end] ^ keys[end + 1]) <= low:
            end += 1
            mixed |= ranked[end] != ranked[r]
        if mixed:
            bounds.append(r)
            bounds.append(end + 1)
        r = end + 1
    return np.array(bounds, dtype=np.int64)


def _stable_argsort(values, descending=False, ranks=False):
    """Indices that sort float `values` (ascending, or descending), ties by index ascending.

    One vectorised sort of distinct 64-bit keys (value bits, then index), so runs
    of equal values cost nothing extra; the rare runs of keys that differ only in the
    index bits but hold different values are sorted again, by value then index. Also
    returns the sorted values (-0.0 as 0.0), and with `ranks` each value's rank (the
    inverse permutation).
    """
    values = np.ascontiguousarray(values, dtype=np.float64)
    low_bits = max(1, int(values.size - 1).bit_length())
    keys = K.empty(values.size, np.uint64)
    _packed_keys(values.view(np.uint64), low_bits, descending, keys)
    keys.sort()
    order, ranked = K.empty(values.size, np.int64), K.empty(values.size, np.float64)
    rank = K.empty(values.size if ranks else 0)
    bounds = _unpack(keys, values, low_bits, order, ranked, rank).reshape(-1, 2)
    if len(bounds):  # each run is in index order: sort its members by value, then index
        lengths = bounds[:, 1] - bounds[:, 0]
        run = np.repeat(np.arange(len(bounds)), lengths)
        members = bounds[run, 0] + np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        by_value = np.lexsort((order[members], -ranked[members] if descending else ranked[members], run))
        order[members] = order[members][by_value]
        ranked[members] = ranked[members][by_value]
        if ranks:
            rank[order[members]] = members
    return (order, ranked, rank) if ranks else (order, ranked)


class _Pairs:
    """Persistence pairs of one dimension, in the order their pass met them (internal).

    ``birth`` and ``death`` are cell ids (compact ids for the edge-square pairs of
    3-D, see :meth:`_Complex.middle_cells`), ``key`` sorts the births as their
    filtration positions would (the positions themselves in 3-D, see
    :mod:`._plane` in 2-D).
    """

    __slots__ = ("dim", "birth", "death", "birth_value", "death_value", "key")

    def __init__(self, dim, birth, death, birth_value, death_value, key=None):
        self.dim, self.birth, self.death = dim, birth, death
        self.birth_value, self.death_value, self.key = birth_value, death_value, key

    def __len__(self):
        return len(self.birth)

    @property
    def persistence(self):
        return self.birth_value - self.death_value

    def take(self, index):
        return _Pairs(self.dim, self.birth[index], self.death[index], self.birth_value[index],
                      self.death_value[index], None if self.key is None else self.key[index])


class _Complex:
    """Ranks and persistence pairs of one image, and the gradient state (internal).

    ``positive[p]`` holds the pairs of dimension p (0 and d-1) with positive
    persistence, ``failed[p]`` the zero-persistence pairs the union-find could not
    cancel; in 3-D ``middle`` holds the edge-square pairs of positive persistence,
    ``middle_failed`` the zero-persistence ones that could not be cancelled, and
    ``grad`` the edge-square gradient after the zero-persistence cancellations (see
    :mod:`._volume`).
    """

    def __init__(self, values):
        self.ndim = values.ndim
        self.shape3 = (1,) * (3 - values.ndim) + values.shape
        n0, n1, n2 = self.shape3
        self.cs = (2 * n0 - 1, 2 * n1 - 1, 2 * n2 - 1)
        if values.size * K.SLOT > K.MAX_POSITION:
            raise ValueError(f"`likelihood` is too large for the fast engine: {values.size} pixels; "
                             f"at most {K.MAX_POSITION // K.SLOT} (use tiles)")
        flat = values.ravel()
        self.order, self.value_by_rank, self.rank = _stable_argsort(flat, descending=True, ranks=True)
        self.positive, self.failed = {}, {}
        self.middle = None
        # each pass also cancels its zero-persistence pairs and keeps the gradient state
        if self.ndim == 2:
            self._pairs_2d()
        else:
            self._pairs_3d()

    def _store(self, dim, result):
        birth, death, birth_value, death_value, key, f_birth, f_death, f_value = result[:8]
        self.positive[dim] = _Pairs(dim, birth, death, birth_value, death_value, key)
        self.failed[dim] = _Pairs(dim, f_birth, f_death, f_value, f_value)
        return result[8:]

    def _pairs_2d(self):
        _, n1, n2 = self.shape3
        *self.primal_state, lower = self._store(
            0, P.primal_pairs_2d(self.order, self.rank, self.value_by_rank, n1, n2, K.primal_arrays(n1 * n2)))
        (self.dual_trees,) = self._store(1, P.dual_pairs_2d(self.order, self.rank, lower, self.value_by_rank, n1, n2,
                                                         P.dual_arrays(n1, n2)))

    def _pairs_3d(self):
        n0, n1, n2 = self.shape3
        rank, value_by_rank = self.rank, self.value_by_rank
        *self.primal_state, positive = self._store(0, V.primal_pairs_3d(self.order, rank, value_by_rank, n0, n1, n2, K.primal_arrays(n0 * n1 * n2)))
        code, owner, sums, self.grad, uf, fails, ties = V.lower_stars(rank, self._tied(), positive, n0, n1, n2)
        dual, self.dual_trees, negative = V.dual_sweep(self.order, value_by_rank, code, uf, n0, n1, n2)
        self._store(2, dual)  # birth keys: positions, computed for the pairs reported (tables)
        edges, squares, birth_value, death_value = V.middle_pairs(
            negative, rank, value_by_rank, owner, sums, n0, n1, n2)
        # the zero-persistence pairs on ties, cancelled by square position once all are known
        zero = birth_value == death_value
        tie_edges = np.concatenate([ties[:, 0], edges[zero]])
        tie_squares = np.concatenate([ties[:, 1], squares[zero]])
        by_position = np.argsort(V.square_positions(tie_squares, rank, n0, n1, n2))
        tie_edges, tie_squares = tie_edges[by_position], tie_squares[by_position]
        failed, self.mark = V.cancel_middle(tie_edges, tie_squares, True, self.grad, 0, rank, value_by_rank,
                                            n0, n1, n2)
        # edge-square pairs in compact ids (see ._volume); the failed zero-persistence
        # ones by square position, as they come up in the contract's order
        self.middle = _Pairs(1, edges[~zero], squares[~zero], birth_value[~zero], death_value[~zero])
        f_edge = np.concatenate([fails[:, 0], tie_edges[failed]])
        f_square = np.concatenate([fails[:, 1], tie_squares[failed]])
        positions = V.square_positions(f_square, rank, n0, n1, n2)
        by_position = np.argsort(positions)
        f_value = value_by_rank[positions[by_position] // V.SQ_SLOT]
        self.middle_failed = _Pairs(1, f_edge[by_position], f_square[by_position], f_value, f_value)

    def _tied(self):
        """Per pixel, whether another pixel has the same value (empty when none has)."""
        same = self.value_by_rank[1:] == self.value_by_rank[:-1]
        if not same.any():
            return np.zeros(0, dtype=np.uint8)
        tied = np.zeros(self.order.size, dtype=np.uint8)
        tied[self.order[1:][same]] = 1
        tied[self.order[:-1][same]] = 1
        return tied

    def middle_cells(self, pairs):
        """Edge-square pairs in compact ids as pairs of cell ids."""
        _, n1, n2 = self.shape3
        return _Pairs(1, V.compact_cells(pairs.birth, False, n1, n2), V.compact_cells(pairs.death, True, n1, n2),
                      pairs.birth_value, pairs.death_value)

    def positions(self, cells):
        if self.ndim == 3:
            return V.positions_3d(cells, self.rank, *self.shape3)
        return P.positions_2d(cells, self.rank, self.shape3[1], self.shape3[2])

    def vertex_cell(self, pixels):
        i, j, k = np.unravel_index(pixels, self.shape3)
        return ((2 * i) * self.cs[1] + 2 * j) * self.cs[2] + 2 * k

    def coords(self, cells):
        """Doubled coordinates of cells, one row each (a cell id of -1 gives a row of -1)."""
        return _cell_coords(np.asarray(cells, dtype=np.int64), self.cs[1], self.cs[2], self.ndim)

    def tables(self):
        """The pairs of positive persistence of each dimension, 0 first, with birth keys."""
        if self.ndim == 2:
            return [self.positive[0], self.positive[1]]
        tables = [self.positive[0], self.middle_cells(self.middle), self.positive[2]]
        for t in tables[1:]:
            t.key = self.positions(t.birth)
        return tables

    def positive_pairs(self):
        """Pairs of positive persistence and the essential class, by birth position."""
        tables = self.tables()
        essential = self.vertex_cell(self.order[:1])
        keys = np.concatenate([[0]] + [t.key for t in tables])  # the essential vertex has rank 0
        order = np.argsort(keys)  # distinct keys
        births = np.concatenate([essential] + [t.birth for t in tables])[order]
        deaths = np.concatenate([[-1]] + [t.death for t in tables])[order]  # the essential class: a row of -1
        return PersistencePairs(
            dim=_Sealed(np.concatenate([[0]] + [np.full(len(t), t.dim) for t in tables])[order]),
            birth=_Sealed(self.coords(births)),
            death=_Sealed(self.coords(deaths)),
            birth_value=_Sealed(np.concatenate([self.value_by_rank[:1]] + [t.birth_value for t in tables])[order]),
            death_value=_Sealed(np.concatenate([[-np.inf]] + [t.death_value for t in tables])[order]),
        )


@njit(cache=True, nogil=True)
def _cell_coords(cells, cs1, cs2, ndim):
    """The last `ndim` doubled coordinates of each cell (a row of -1 for a cell id of -1)."""
    out = np.empty((cells.size, ndim), dtype=np.int64)
    for q in range(cells.size):
        if cells[q] < 0:
            out[q, :] = -1
            continue
        c0, c1, c2 = K._coords(cells[q], cs1, cs2)
        if ndim == 3:
            out[q, 0] = c0
        out[q, ndim - 2] = c1
        out[q, ndim - 1] = c2
    return out


@njit(cache=True, nogil=True)
def _paint_ridges(edges, strength, vnext, n0, n1, n2, ridges, saliency, walked):
    """Paint the ridges of `edges` (sorted by strength, descending) into zeroed arrays."""
    cs1, cs2 = 2 * n1 - 1, 2 * n2 - 1
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


def _top_indices(cx, cells):
    """Compact indices of top cells given by cell id (see ``_kernels.top_index``)."""
    n0, n1, n2 = cx.shape3
    c0, c1, c2 = np.unravel_index(cells, cx.cs)
    return ((c0 // 2) * (n1 - 1) + c1 // 2) * (n2 - 1) + c2 // 2


def _small(pairs, epsilon):
    """Indices of the pairs with 0 < persistence <= epsilon, in the contract's order.

    The union-finds emit their pairs in the tie order of their dimension (death
    position ascending forwards, birth position descending backwards), so a stable sort
    by persistence gives the order (persistence, tie).
    """
    persistence = pairs.persistence
    small = np.flatnonzero((persistence > 0) & (persistence <= epsilon))
    return small[_stable_argsort(persistence[small])[0]]


def _zeroed(n, scratch=False):
    """A mask and its float64 saliency (and a scratch mask), zeroed by calloc, not by a kernel."""
    arrays = np.zeros(n, dtype=np.bool_), np.zeros(n, dtype=np.float64)
    return arrays + (np.zeros(n, dtype=np.bool_),) if scratch else arrays


def _structures(values, epsilon, frame):
    cx = _Complex(values)
    n0, n1, n2 = cx.shape3
    d = cx.ndim
    uncancelled = []  # pairs, in the order they came up
    kept = []  # pairs that stay critical
    # dimension 0: zero persistence was cancelled by the union-find; then the rest,
    # by persistence, ties by death position ascending
    uncancelled.append(cx.failed[0])
    pairs = cx.positive[0]
    sel = _small(pairs, epsilon)
    vnext, gparent = cx.primal_state
    failed = K.simplify_primal(pairs.birth[sel], pairs.death[sel], vnext, gparent,
                               n1, n2, cx.cs[1], cx.cs[2])
    uncancelled.append(pairs.take(sel[failed]))
    kept.append(pairs.take(pairs.persistence > epsilon))
    ridge_pairs = [kept[-1]]
    if d == 3:  # edge-square pairs: zero persistence was cancelled with the pairs;
        # then the rest, by persistence, ties by death position ascending
        uncancelled.append(cx.middle_cells(cx.middle_failed))
        pairs = cx.middle
        persistence = pairs.persistence
        small = np.flatnonzero((persistence > 0) & (persistence <= epsilon))
        positions = V.square_positions(pairs.death[small], cx.rank, n0, n1, n2)
        sel = small[np.lexsort((positions, persistence[small]))]
        failed, _ = V.cancel_middle(pairs.birth[sel], pairs.death[sel], False, cx.grad, cx.mark, cx.rank,
                                    cx.value_by_rank, n0, n1, n2)
        uncancelled.append(cx.middle_cells(pairs.take(sel[failed])))
        kept.append(cx.middle_cells(pairs.take(persistence > epsilon)))
        ridge_pairs.append(kept[-1])
    # dimension d-1: likewise, ties by birth position descending
    uncancelled.append(cx.failed[d - 1])
    pairs = cx.positive[d - 1]
    sel = _small(pairs, epsilon)
    failed = K.simplify_dual(pairs.birth[sel], pairs.death[sel], cx.dual_trees, n0, n1, n2)
    uncancelled.append(pairs.take(sel[failed]))
    kept.append(pairs.take(pairs.persistence > epsilon))
    if d == 2:
        ridge_pairs.append(kept[-1])

    # the critical cells: the essential vertex and both cells of every pair left
    # uncancelled (persistence above epsilon, or a cancellation that failed)
    critical = np.concatenate([cx.vertex_cell(cx.order[:1]).astype(np.int64)]
                              + [t.birth for t in kept + uncancelled] + [t.death for t in kept + uncancelled])
    strength = np.concatenate([[np.inf]] + [t.persistence for t in kept + uncancelled] * 2)
    by_position = np.argsort(cx.positions(critical))  # distinct positions
    critical, strength = critical[by_position], strength[by_position]
    critical_coords = cx.coords(critical)

    # ridges: edges whose pair has persistence above epsilon, the most persistent first
    persistence = np.concatenate([t.persistence for t in ridge_pairs])
    edges = np.concatenate([ridge_pairs[0].death] + [t.birth for t in ridge_pairs[1:]])
    by_strength = _stable_argsort(persistence, descending=True)[0]
    ridges, ridge_saliency = _paint_ridges(edges[by_strength], persistence[by_strength], vnext, n0, n1, n2,
                                           *_zeroed(values.size, scratch=True))

    # basins: the critical top cells are the gradient trees' roots, labelled in filtration order
    is_root = (critical_coords & 1).sum(axis=1) == d
    root_tops = _top_indices(cx, critical[is_root])
    label = K.basins(cx.dual_trees, root_tops, K.empty(cx.dual_trees.size, np.int64))
    root_strength = np.concatenate([[np.inf], strength[is_root]])
    if d == 2:
        boundaries, boundary_saliency = P.paint_boundaries_2d(label, root_strength, bool(frame), n1, n2,
                                                              *_zeroed(values.size))
    else:
        boundaries, boundary_saliency = V.paint_boundaries_3d(label, root_strength, bool(frame), n0, n1, n2,
                                                              *_zeroed(values.size))

    fail = [t for t in uncancelled if len(t)]
    return MorseStructures(
        epsilon=epsilon,
        frame=bool(frame),
        pairs=cx.positive_pairs(),
        critical=_Sealed(critical_coords),
        uncancelled=PersistencePairs(
            dim=np.concatenate([np.full(len(t), t.dim) for t in fail] + [np.zeros(0, np.int64)]),
            birth=cx.coords(np.concatenate([t.birth for t in fail] + [np.zeros(0, np.int64)])),
            death=cx.coords(np.concatenate([t.death for t in fail] + [np.zeros(0, np.int64)])),
            birth_value=np.concatenate([t.birth_value for t in fail] + [np.zeros(0)]),
            death_value=np.concatenate([t.death_value for t in fail] + [np.zeros(0)])),
        # the engine's own fresh arrays: the result adopts them rather than copying them
        ridges=_Sealed(ridges.reshape(values.shape)),
        ridge_persistence=_Sealed(ridge_saliency.reshape(values.shape)),
        basins=_Sealed(label.reshape(tuple(n - 1 for n in values.shape))),
        boundaries=_Sealed(boundaries.reshape(values.shape)),
        boundary_persistence=_Sealed(boundary_saliency.reshape(values.shape)),
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
        If `likelihood` is not an array of real numbers, `epsilon` not a number or
        `frame` not a bool.
    ValueError
        If `likelihood` is not 2-D or 3-D, has an axis shorter than 2, more than
        ``MAX_PIXELS`` pixels (79.5 million), non-finite values or integers beyond
        2**53 in magnitude, or if `epsilon` is negative, not finite or not exactly a
        float64.

    Examples
    --------
    >>> s = morse_structures([[1, 1, 1], [1, 0, 1], [1, 1, 1]], epsilon=0.5)
    >>> s.ridges.astype(int)
    array([[1, 1, 1],
           [1, 0, 1],
           [1, 1, 1]])
    """
    values = as_likelihood(likelihood)
    return _structures(values, as_epsilon(epsilon), as_bool(frame, "frame"))


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
    frame = as_bool(frame, "frame")
    workers = as_workers(workers, default=min(len(images), os.cpu_count() or 1))
    if workers == 1 or len(images) <= 1:
        return [_structures(x, epsilon, frame) for x in images]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda x: _structures(x, epsilon, frame), images))
