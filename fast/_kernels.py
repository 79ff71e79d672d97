"""numba kernels shared by the 2-D (:mod:`._plane`) and 3-D (:mod:`._volume`) sweeps.

Cells are identified by the C-order linear index of their doubled coordinates in the
grid ``cs = (2 n_i - 1)``; a 2-D image of shape (M, N) is the volume (1, M, N), whose
complex is exactly the 2-D complex (no cell extends along axis 0). Here: cell
geometry, the pair buffers the passes fill, and the cancellations of dimensions 0 and
d-1, whose gradient trees are union-find sets, each represented by its critical cell
(a cancellation is a test on two roots, and in dimension 0 the reversal of one path).

The total order of cells (see ``docs/spec.md``) is never stored per cell. A cell's key
starts with the rank of its lowest vertex, and the cells sharing that vertex (at most
27, its lower star) are told apart by the rest of their keys, so a cell's *position* is
``27 * rank(lowest vertex) + index in that lower star``, computed only for the few
cells that need one.

All kernels run without the GIL and are compiled once per machine (``cache=True``).
"""

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

SLOT = 27  # cells in the closed star of a vertex of a 3-D grid: positions are 27 r + index
NONE = -1
#: Integer type of per-cell and per-pixel arrays: int32 halves the memory traffic of the
#: union-finds, whose random accesses dominate. The engine refuses images whose cell
#: ids or positions would not fit (:data:`MAX_POSITION`).
IDX = np.int32
MAX_POSITION = np.iinfo(np.int32).max


@intrinsic
def prefetch(typingctx, array, index):
    """Hint the CPU to fetch ``array[index]`` into the cache (no bounds check, no effect).

    The sweeps visit pixels in value order, all over the image: fetching the data of
    the vertex a few steps ahead overlaps the cache misses of consecutive vertices.
    """
    sig = types.void(array, index)

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]], wraparound=False)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
        # read access, high temporal locality, data cache
        builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True, nogil=True, inline="always")
def _coords(cell, cs1, cs2):
    c0 = cell // (cs1 * cs2)
    rest = cell - c0 * cs1 * cs2
    c1 = rest // cs2
    return c0, c1, rest - c1 * cs2


@njit(cache=True, nogil=True)
def cell_vertices(cell, cs1, cs2, n1, n2, out):
    """Write the pixel linear indices of `cell` into `out`; return how many."""
    c0, c1, c2 = _coords(cell, cs1, cs2)
    k = 0
    for a in range((c0 & 1) + 1):
        for b in range((c1 & 1) + 1):
            for c in range((c2 & 1) + 1):
                out[k] = ((c0 // 2 + a) * n1 + (c1 // 2 + b)) * n2 + (c2 // 2 + c)
                k += 1
    return k


@njit(cache=True, nogil=True)
def top_index(cell, n0, n1, n2):
    """Compact index of a top cell (in the grid of top cells), or of OUTSIDE."""
    cs1, cs2 = 2 * n1 - 1, 2 * n2 - 1
    if cell == (2 * n0 - 1) * cs1 * cs2:
        return max(n0 - 1, 1) * (n1 - 1) * (n2 - 1)  # OUTSIDE comes after every top cell
    c0, c1, c2 = _coords(cell, cs1, cs2)
    return ((c0 // 2) * (n1 - 1) + c1 // 2) * (n2 - 1) + c2 // 2


@njit(cache=True, nogil=True)
def _top_cell(t, n0, n1, n2):
    """The cell id of the top cell with compact index t."""
    t1, t2 = n1 - 1, n2 - 1
    i, rest = t // (t1 * t2), t % (t1 * t2)
    odd0 = 1 if n0 > 1 else 0
    return ((2 * i + odd0) * (2 * n1 - 1) + 2 * (rest // t2) + 1) * (2 * n2 - 1) + 2 * (rest % t2) + 1


@njit(cache=True, nogil=True, inline="always")
def _cofacet_tops(cell, n0, n1, n2, cs1, cs2):
    """Compact indices of the two cofacets of a (d-1)-cell; OUTSIDE beyond the border.

    One division per call: the hot loops of the dual passes need nothing else.
    """
    c0, c1, c2 = _coords(cell, cs1, cs2)
    t1, t2 = n1 - 1, n2 - 1
    outside = max(n0 - 1, 1) * t1 * t2
    # the cofacets differ from the cell along its one even axis (axis 0 is inactive in 2-D)
    if n0 > 1 and not c0 & 1:
        lo = (c0 // 2 - 1) * t1 * t2 + (c1 // 2) * t2 + c2 // 2
        hi = lo + t1 * t2
        return (lo if c0 > 0 else outside), (hi if c0 < 2 * n0 - 2 else outside)
    base0 = (c0 // 2) * t1 * t2
    if not c1 & 1:
        lo = base0 + (c1 // 2 - 1) * t2 + c2 // 2
        hi = lo + t2
        return (lo if c1 > 0 else outside), (hi if c1 < 2 * n1 - 2 else outside)
    lo = base0 + (c1 // 2) * t2 + c2 // 2 - 1
    hi = lo + 1
    return (lo if c2 > 0 else outside), (hi if c2 < 2 * n2 - 2 else outside)


@njit(cache=True, nogil=True)
def pair_buffers(n):
    """Room for n pairs of positive persistence and n zero-persistence pairs left uncancelled.

    Returns ``(birth, death, birth value, death value, key)`` of the former and
    ``(birth, death, value)`` of the latter, as the passes fill them; see :func:`trimmed`.
    """
    return (np.empty(n, dtype=IDX), np.empty(n, dtype=IDX), np.empty(n, dtype=np.float64),
            np.empty(n, dtype=np.float64), np.empty(n, dtype=np.int64),
            np.empty(n, dtype=IDX), np.empty(n, dtype=IDX), np.empty(n, dtype=np.float64))


@njit(cache=True, nogil=True)
def trimmed(buffers, npos, nfail):
    """The filled part of :func:`pair_buffers`: the first `npos` and `nfail` entries, copied."""
    p_birth, p_death, p_bv, p_dv, p_key, f_birth, f_death, f_value = buffers
    return (p_birth[:npos].copy(), p_death[:npos].copy(), p_bv[:npos].copy(), p_dv[:npos].copy(),
            p_key[:npos].copy(), f_birth[:nfail].copy(), f_death[:nfail].copy(), f_value[:nfail].copy())


#: Work arrays from this many bytes up are allocated by numpy, which asks the OS for
#: transparent huge pages; smaller ones by a kernel, without that advice (see :func:`empty`).
HUGE_MIN = 8 << 20


@njit(cache=True, nogil=True)
def _plain_empty(n, like):
    """n uninitialised entries of `like`'s dtype, allocated by numba (plain malloc)."""
    return np.empty(n, dtype=like.dtype)


def empty(n, dtype=IDX):
    """An uninitialised work array for the sweeps.

    From :data:`HUGE_MIN` bytes up it is allocated by numpy, which asks the OS for
    transparent huge pages (Linux), so that first touching it faults once per 2 MB
    rather than once per 4 KB: a 1024^2 image faults about 3,000 times instead of
    24,000, and spends 6-8 ms instead of 35 in the kernel. Smaller arrays come from a
    kernel, without that advice: with it, a batch of 8 x 512^2 ran only 1.56 times
    faster on two threads than on one in two of five runs (huge-page faults of both
    threads at once), against 1.76-1.85 times without.
    """
    dtype = np.dtype(dtype)
    if n * dtype.itemsize >= HUGE_MIN:
        return np.empty(n, dtype=dtype)
    return _plain_empty(n, np.empty(0, dtype=dtype))


def primal_arrays(n):
    """The work arrays of a primal sweep over n vertices (see :func:`primal_start`)."""
    return empty(2 * n), empty(n), empty(n)


@njit(cache=True, nogil=True)
def primal_start(rank, work):
    """The state a primal sweep starts from, in the arrays of :func:`primal_arrays`.

    Returns ``uf``, ``gparent``, ``vnext``: ``uf`` interleaves the union-find's
    parents (even entries; a representative is the oldest vertex of its component)
    with the vertices' ranks (odd), so that a root's rank comes in the same cache
    line; ``gparent`` is the gradient trees' union-find (see :func:`_cancel_primal`),
    ``vnext`` the vertex-edge matching.
    """
    uf, gparent, vnext = work
    for v in range(rank.size):
        uf[2 * v] = v
        uf[2 * v + 1] = rank[v]
        gparent[v] = v
        vnext[v] = NONE
    return uf, gparent, vnext


@njit(cache=True, nogil=True)
def union_elder(uf, root, other):
    """Join the components of roots `root` and `other` in a :func:`primal_start` union-find.

    The elder rule: the older root (smaller rank) stays the representative. Returns
    (the representative, the younger root, its rank).
    """
    if uf[2 * other + 1] < uf[2 * root + 1]:
        uf[2 * root] = other
        return other, root, uf[2 * root + 1]
    uf[2 * other] = root
    return root, other, uf[2 * other + 1]


@njit(cache=True, nogil=True)
def _find(parent, x):
    while parent[x] != x:  # path halving
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@njit(cache=True, nogil=True)
def _cancel_primal(y, p, q, vnext, gparent):
    """Cancel the pair (vertex y, edge pq) if exactly one V-path joins them.

    The gradient trees (vertices joined by matched edges) are the sets of the
    union-find ``gparent``, and a tree's representative is its critical vertex: a
    tree only ever hangs from another one when its critical vertex is cancelled
    (and so was its representative). The V-paths from the edge are the paths from p
    and from q to their roots: exactly one reaches y when exactly one of p, q lies in
    y's tree. Then the path from that endpoint to y is reversed (``vnext[x]`` is the
    vertex x's matched edge leads to) and y's tree hangs from the other endpoint's
    tree, whose critical vertex stays its representative. Returns whether it cancelled.
    """
    rp = _find(gparent, p)
    rq = _find(gparent, q)
    if (rp == y) == (rq == y):
        return False
    a, b = (p, q) if rp == y else (q, p)
    x, prev = a, b
    while True:  # every vertex on the path takes the edge it was reached by
        nxt = vnext[x]
        vnext[x] = prev
        if x == y:
            break
        prev = x
        x = nxt
    gparent[y] = _find(gparent, b)
    return True


@njit(cache=True, nogil=True)
def _cancel_dual(tau, lo, hi, gparent):
    """Cancel the pair ((d-1)-cell f, top cell tau) if exactly one V-path joins them.

    The mirror image of :func:`_cancel_primal` on the dual graph: top cells (compact
    indices) and OUTSIDE, ``lo`` and ``hi`` the two sides of f. The gradient trees are
    the sets of the union-find ``gparent``, each represented by its critical top cell
    (or OUTSIDE). Cancelling reverses the V-path from f to tau: every cell of tau's
    tree then flows across f into the other side's tree, so tau's tree hangs from it.
    Nothing but the basins reads the dual gradient, and a top cell's basin is the
    representative of its tree, so the union-find is all that is kept and the path is
    never walked. Returns whether it cancelled.
    """
    r1 = _find(gparent, lo)
    r2 = _find(gparent, hi)
    if (r1 == tau) == (r2 == tau):
        return False
    gparent[tau] = r2 if r1 == tau else r1
    return True


#: How many pairs ahead the cancellations prefetch.
PAIRS_AHEAD = 8


@njit(cache=True, nogil=True)
def simplify_primal(births, deaths, vnext, gparent, n1, n2, cs1, cs2):
    """Cancel the given vertex-edge pairs (cells) in order, from the state `primal_pairs` left.

    Modifies ``vnext`` and ``gparent`` in place; returns the failures. The pairs
    come in persistence order, all over the image: the union-find entries of the
    edge :data:`PAIRS_AHEAD` pairs ahead, and the matching of its vertex, are
    prefetched.
    """
    failed = np.zeros(births.size, dtype=np.bool_)
    ends = np.empty(2, dtype=np.int64)
    for t in range(births.size):
        if t + PAIRS_AHEAD < births.size:
            cell_vertices(deaths[t + PAIRS_AHEAD], cs1, cs2, n1, n2, ends)
            prefetch(gparent, ends[0])
            prefetch(gparent, ends[1])
            prefetch(vnext, ends[0])
            prefetch(vnext, ends[1])
        cell_vertices(births[t], cs1, cs2, n1, n2, ends)
        y = ends[0]
        cell_vertices(deaths[t], cs1, cs2, n1, n2, ends)
        failed[t] = not _cancel_primal(y, ends[0], ends[1], vnext, gparent)
    return failed


@njit(cache=True, nogil=True)
def simplify_dual(births, deaths, gparent, n0, n1, n2):
    """Cancel the given (d-1, d) pairs in order, from the state `dual_pairs` left.

    Modifies ``gparent`` in place; returns the failures. The pairs come in
    persistence order, all over the image: the union-find entries of the pair
    :data:`PAIRS_AHEAD` ahead are prefetched.
    """
    cs1, cs2 = 2 * n1 - 1, 2 * n2 - 1
    failed = np.zeros(births.size, dtype=np.bool_)
    for t in range(births.size):
        if t + PAIRS_AHEAD < births.size:
            lo, hi = _cofacet_tops(births[t + PAIRS_AHEAD], n0, n1, n2, cs1, cs2)
            prefetch(gparent, lo)
            prefetch(gparent, hi)
        lo, hi = _cofacet_tops(births[t], n0, n1, n2, cs1, cs2)
        tau = top_index(deaths[t], n0, n1, n2)
        failed[t] = not _cancel_dual(tau, lo, hi, gparent)
    return failed


@njit(cache=True, nogil=True)
def basins(gparent, roots, label):
    """Label each top cell with its basin: the label of its gradient tree's critical cell.

    ``gparent`` is the dual gradient trees' union-find (compact top cells, OUTSIDE
    last), each tree represented by its critical top cell, or OUTSIDE: the gradient
    flow from a top cell ends there. ``roots`` are the critical top cells, labelled
    1, 2, ... in their order; OUTSIDE is 0. Fills ``label`` (one more entry than
    there are top cells) and returns it but for OUTSIDE. Compresses ``gparent``'s
    paths as it goes, in memory order, so that a top cell beside one already seen
    finds its root in a step or two.
    """
    n_top = label.size - 1
    label[n_top] = 0
    for r in range(roots.size):
        label[roots[r]] = r + 1
    found = 0
    for t in range(n_top + 1):
        x = t
        while gparent[x] != x:  # path halving
            gparent[x] = gparent[gparent[x]]
            x = gparent[x]
        if x == t:
            found += 1
        else:
            label[t] = label[x]
    if found != roots.size + 1:
        raise RuntimeError("the gradient trees and the critical top cells disagree")
    return label[:n_top]
