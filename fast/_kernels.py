"""numba kernels of the fast engine (3-D, and the shared cancellation helpers).

2-D images take the specialised sweeps of :mod:`._plane`, which need no per-cell
array. Every image is handled as a 3-D array: a 2-D image of shape (M, N) is the volume
(1, M, N), whose complex is exactly the 2-D complex (no cell extends along axis 0).
``d`` is the dimension of the complex (2 or 3). Cells are identified by the C-order
linear index of their doubled coordinates in the grid ``cs = (2 n_i - 1)``.

The total order of cells (see ``docs/spec.md``) is encoded in one integer per cell,
``pos = rank(lowest vertex) * 27 + index in that vertex's lower star``: a cell's key
starts with the rank of its lowest vertex, and the cells sharing that vertex (at most
27) are sorted by the rest of their keys. No global sort of cells is needed. The
passes report only the pairs of positive persistence (and the zero-persistence pairs
they could not cancel): most pairs have persistence 0 and are done with on the spot.

All kernels run without the GIL and are compiled once per machine (``cache=True``).
"""

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic
from numba.typed import List

SLOT = 27  # cells in the closed star of a vertex of a 3-D grid
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
def cell_facets(cell, cs1, cs2, out):
    """Write the facets of `cell` into `out`; return how many."""
    c0, c1, c2 = _coords(cell, cs1, cs2)
    k = 0
    if c0 & 1:
        out[k] = cell - cs1 * cs2
        out[k + 1] = cell + cs1 * cs2
        k += 2
    if c1 & 1:
        out[k] = cell - cs2
        out[k + 1] = cell + cs2
        k += 2
    if c2 & 1:
        out[k] = cell - 1
        out[k + 1] = cell + 1
        k += 2
    return k


@njit(cache=True, nogil=True)
def cell_cofacets(cell, cs0, cs1, cs2, out):
    """Write the cofacets of `cell` (within the image) into `out`; return how many."""
    c0, c1, c2 = _coords(cell, cs1, cs2)
    k = 0
    if not c0 & 1:
        if c0 > 0:
            out[k] = cell - cs1 * cs2
            k += 1
        if c0 < cs0 - 1:
            out[k] = cell + cs1 * cs2
            k += 1
    if not c1 & 1:
        if c1 > 0:
            out[k] = cell - cs2
            k += 1
        if c1 < cs1 - 1:
            out[k] = cell + cs2
            k += 1
    if not c2 & 1:
        if c2 > 0:
            out[k] = cell - 1
            k += 1
        if c2 < cs2 - 1:
            out[k] = cell + 1
            k += 1
    return k


@njit(cache=True, nogil=True)
def _lower_star(v, rank, n0, n1, n2, cs1, cs2, cells, keys, idx, dims, kw):
    """Cells whose lowest vertex is pixel `v`, in key order; return how many.

    On return ``cells[idx[t]]`` is the t-th cell of the lower star in filtration order
    and ``dims[idx[t]]`` its dimension.
    ``keys[c, :kw]`` holds the ranks of cell c's vertices sorted descending, padded with
    -1 (a proper prefix compares smaller); ``kw`` is the most vertices a cell has.
    """
    i = v // (n1 * n2)
    j = (v // n2) % n1
    k = v % n2
    r = rank[v]
    count = 0
    for a in range(-1, 2):
        if (a == -1 and i == 0) or (a == 1 and i == n0 - 1):
            continue
        for b in range(-1, 2):
            if (b == -1 and j == 0) or (b == 1 and j == n1 - 1):
                continue
            for c in range(-1, 2):
                if (c == -1 and k == 0) or (c == 1 and k == n2 - 1):
                    continue
                # the vertices: along an axis with offset -1 also the pixel before, +1 after
                nv = 0
                ok = True
                for da in range(2 if a != 0 else 1):
                    for db in range(2 if b != 0 else 1):
                        for dc in range(2 if c != 0 else 1):
                            u = ((i + a * da) * n1 + (j + b * db)) * n2 + (k + c * dc)
                            ru = rank[u]
                            if ru > r:
                                ok = False
                            keys[count, nv] = ru
                            nv += 1
                if not ok:
                    continue
                for t in range(nv, kw):
                    keys[count, t] = -1
                for t in range(1, nv):  # insertion sort of the vertex ranks, descending
                    x = keys[count, t]
                    q = t - 1
                    while q >= 0 and keys[count, q] < x:
                        keys[count, q + 1] = keys[count, q]
                        q -= 1
                    keys[count, q + 1] = x
                cells[count] = ((2 * i + a) * cs1 + (2 * j + b)) * cs2 + (2 * k + c)
                dims[count] = (a != 0) + (b != 0) + (c != 0)
                idx[count] = count
                count += 1
    for t in range(1, count):  # insertion sort of the cells by key, through an index
        x = idx[t]
        q = t - 1
        while q >= 0:
            y = idx[q]
            less = False
            for e in range(kw):
                if keys[x, e] != keys[y, e]:
                    less = keys[x, e] < keys[y, e]
                    break
            if not less:
                break
            idx[q + 1] = y
            q -= 1
        idx[q + 1] = x
    return count


@njit(cache=True, nogil=True)
def cell_positions(rank, n0, n1, n2, d):
    """Filtration position of every cell, and the (d-1)-cells in filtration order.

    The order comes from a counting sort on the lowest vertex's rank: no comparison
    sort of cells.
    """
    cs0, cs1, cs2 = 2 * n0 - 1, 2 * n1 - 1, 2 * n2 - 1
    n = n0 * n1 * n2
    pos = np.empty(cs0 * cs1 * cs2, dtype=IDX)
    slot = np.empty(cs0 * cs1 * cs2, dtype=np.int8)  # a facet's index among its vertex's
    start = np.zeros(n + 1, dtype=np.int64)  # per rank: (d-1)-cells in the lower star
    cells = np.empty(SLOT, dtype=np.int64)
    keys = np.empty((SLOT, 8), dtype=np.int64)
    idx = np.empty(SLOT, dtype=np.int64)
    dims = np.empty(SLOT, dtype=np.int64)
    for v in range(n):
        count = _lower_star(v, rank, n0, n1, n2, cs1, cs2, cells, keys, idx, dims, 1 << d)
        nf = 0
        for t in range(count):
            cell = cells[idx[t]]
            pos[cell] = rank[v] * SLOT + t
            if dims[idx[t]] == d - 1:
                slot[cell] = nf
                nf += 1
        start[rank[v] + 1] = nf
    for r in range(n):
        start[r + 1] += start[r]
    facets = np.empty(start[n], dtype=IDX)
    cell = 0
    for c0 in range(cs0):
        for c1 in range(cs1):
            for c2 in range(cs2):
                if (c0 & 1) + (c1 & 1) + (c2 & 1) == d - 1:
                    facets[start[pos[cell] // SLOT] + slot[cell]] = cell
                cell += 1
    return pos, facets


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


@njit(cache=True, nogil=True)
def _find(parent, x):
    while parent[x] != x:  # path halving
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@njit(cache=True, nogil=True)
def _cancel_primal(y, p, q, vnext, gparent, groot):
    """Cancel the pair (vertex y, edge pq) if exactly one V-path joins them.

    The gradient trees (vertices joined by matched edges) are union-find sets whose
    stored root is their critical vertex, so the V-paths from the edge are the paths
    from p and from q to their roots: exactly one reaches y when exactly one of p, q
    lies in y's tree. Then the path from that endpoint to y is reversed
    (``vnext[x]`` is the vertex x's matched edge leads to) and y's tree hangs from
    the other endpoint's tree, which keeps its root. Returns whether it cancelled.
    """
    rp = groot[_find(gparent, p)]
    rq = groot[_find(gparent, q)]
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
    gparent[_find(gparent, y)] = _find(gparent, b)
    return True


@njit(cache=True, nogil=True)
def primal_pairs(order, rank, pos, value_by_rank, n0, n1, n2):
    """0-dimensional pairs by union-find with the elder rule, in filtration order.

    The pairs come out in order of death, which is the cancellation order of the
    zero-persistence ones, so those are cancelled on the spot (:func:`_cancel_primal`).
    Returns the pairs of positive persistence (birth vertex and death edge as cells,
    their values, the birth positions), the zero-persistence pairs that could not be
    cancelled (birth, death, value), and the gradient state after them: ``vnext`` and
    the gradient trees' union-find (``gparent``, ``groot``).
    """
    cs1, cs2 = 2 * n1 - 1, 2 * n2 - 1
    n = n0 * n1 * n2
    parent = np.arange(n, dtype=IDX)  # representative = the oldest vertex of the component
    gparent = np.arange(n, dtype=IDX)
    groot = np.arange(n, dtype=IDX)
    vnext = np.full(n, NONE, dtype=IDX)
    buffers = pair_buffers(n)
    p_birth, p_death, p_bv, p_dv, p_key, f_birth, f_death, f_value = buffers
    npos = nfail = 0
    nb = np.empty(6, dtype=np.int64)
    nbrank = np.empty(6, dtype=np.int64)
    for idx in range(n):
        v = order[idx]
        i = v // (n1 * n2)
        j = (v // n2) % n1
        k = v % n2
        r = idx
        m = 0
        # the edges whose lowest vertex is v join it to older neighbours, by neighbour rank
        if i > 0 and rank[v - n1 * n2] < r:
            nb[m] = v - n1 * n2
            m += 1
        if i < n0 - 1 and rank[v + n1 * n2] < r:
            nb[m] = v + n1 * n2
            m += 1
        if j > 0 and rank[v - n2] < r:
            nb[m] = v - n2
            m += 1
        if j < n1 - 1 and rank[v + n2] < r:
            nb[m] = v + n2
            m += 1
        if k > 0 and rank[v - 1] < r:
            nb[m] = v - 1
            m += 1
        if k < n2 - 1 and rank[v + 1] < r:
            nb[m] = v + 1
            m += 1
        for t in range(m):
            nbrank[t] = rank[nb[t]]
        for t in range(1, m):
            q = t
            while q > 0 and nbrank[q] < nbrank[q - 1]:
                nbrank[q], nbrank[q - 1] = nbrank[q - 1], nbrank[q]
                nb[q], nb[q - 1] = nb[q - 1], nb[q]
                q -= 1
        vc = ((2 * i) * cs1 + 2 * j) * cs2 + 2 * k
        value = value_by_rank[r]
        for t in range(m):
            u = nb[t]
            if t == 0:
                # v's first edge: v is alone and the youngest, so it dies here at zero
                # persistence; its gradient tree is {v}, so exactly one V-path joins them
                parent[v] = _find(parent, u)
                vnext[v] = u
                gparent[v] = u
                continue
            ru = _find(parent, u)
            rv = _find(parent, v)
            if ru == rv:
                continue
            # the edge's cell id: the mean of its two vertices' cell ids
            dd = u - v
            step = cs1 * cs2 if dd == n1 * n2 or dd == -n1 * n2 else (cs2 if dd == n2 or dd == -n2 else 1)
            edge = vc + (step if dd > 0 else -step)
            if rank[ru] < rank[rv]:
                young = rv
                parent[rv] = ru
            else:
                young = ru
                parent[ru] = rv
            ry = rank[young]
            bvalue = value_by_rank[ry]
            ycell = (((2 * (young // (n1 * n2))) * cs1 + 2 * ((young // n2) % n1)) * cs2
                     + 2 * (young % n2))
            if bvalue > value:
                p_birth[npos] = ycell
                p_death[npos] = edge
                p_bv[npos] = bvalue
                p_dv[npos] = value
                p_key[npos] = pos[ycell]
                npos += 1
            elif not _cancel_primal(young, v, u, vnext, gparent, groot):
                f_birth[nfail] = ycell
                f_death[nfail] = edge
                f_value[nfail] = value
                nfail += 1
    return trimmed(buffers, npos, nfail) + (vnext, gparent, groot)


@njit(cache=True, nogil=True)
def _cancel_dual(f, tau, lo, hi, tdown, tnext, gparent, groot):
    """Cancel the pair ((d-1)-cell f, top cell tau) if exactly one V-path joins them.

    The mirror image of :func:`_cancel_primal` on the dual graph: top cells (compact
    indices) and OUTSIDE, gradient trees rooted at critical top cells or OUTSIDE.
    ``lo`` and ``hi`` are the two sides of f; ``tdown[t]`` is the facet top cell t is
    matched with and ``tnext[t]`` the top cell on its other side.
    """
    r1 = groot[_find(gparent, lo)]
    r2 = groot[_find(gparent, hi)]
    if (r1 == tau) == (r2 == tau):
        return False
    g, other = (lo, hi) if r1 == tau else (hi, lo)
    y, prev, incoming = g, other, f
    while True:  # every top cell on the path takes the facet it was reached by
        nxt = tnext[y]
        out = tdown[y]
        tdown[y] = incoming
        tnext[y] = prev
        if y == tau:
            break
        prev = y
        y = nxt
        incoming = out
    gparent[_find(gparent, tau)] = _find(gparent, other)
    return True


@njit(cache=True, nogil=True)
def dual_pairs(facets, pos, value_by_rank, n0, n1, n2):
    """(d-1)-dimensional pairs by union-find on top cells and OUTSIDE, in reverse order.

    A top cell starts a dual component; a (d-1)-cell joins its two cofacets (or its
    cofacet and OUTSIDE, the oldest of all). When it merges two components, the
    younger one's root (the one born later in this reverse order) dies with it.
    `facets` are the (d-1)-cells in filtration order, so the pairs come out in order
    of birth position descending -- the cancellation order of the zero-persistence
    ones, which are cancelled on the spot (:func:`_cancel_dual`).

    Returns, as :func:`primal_pairs`, the pairs of positive persistence (birth
    (d-1)-cell, death top cell, values, birth positions) and the zero-persistence pairs
    that could not be cancelled; then a flag per cell marking the (d-1)-cells that
    merge (births), and the gradient state: ``tdown``, ``tnext``, ``gparent``,
    ``groot`` (compact top indices, OUTSIDE last).
    """
    cs0, cs1, cs2 = 2 * n0 - 1, 2 * n1 - 1, 2 * n2 - 1
    total = cs0 * cs1 * cs2
    t1, t2 = n1 - 1, n2 - 1
    n_top = max(n0 - 1, 1) * t1 * t2
    parent = np.arange(n_top + 1, dtype=IDX)  # compact top cells, then OUTSIDE
    root = np.empty(n_top + 1, dtype=IDX)  # oldest top cell (compact) of each set
    root_pos = np.empty(n_top + 1, dtype=IDX)
    root[n_top] = n_top
    root_pos[n_top] = MAX_POSITION  # OUTSIDE is the oldest
    tdown = np.full(n_top, NONE, dtype=IDX)
    tnext = np.full(n_top, NONE, dtype=IDX)
    gparent = np.arange(n_top + 1, dtype=IDX)
    groot = np.arange(n_top + 1, dtype=IDX)
    buffers = pair_buffers(n_top)
    p_birth, p_death, p_bv, p_dv, p_key, f_birth, f_death, f_value = buffers
    npos = nfail = 0
    grown = np.zeros(n_top + 1, dtype=np.bool_)  # a representative's set has >= 2 members
    grown[n_top] = True  # OUTSIDE is never alone: it is not a cell
    positive = np.zeros(total, dtype=np.bool_)
    # each top cell starts a dual component; none is touched before it enters the
    # reverse sweep (its facets come after it), so they can all be set up front
    odd0 = 1 if n0 > 1 else 0
    for i in range(max(n0 - 1, 1)):
        for j in range(t1):
            for k in range(t2):
                t = (i * t1 + j) * t2 + k
                root[t] = t
                root_pos[t] = pos[((2 * i + odd0) * cs1 + 2 * j + 1) * cs2 + 2 * k + 1]
    for idx in range(facets.size - 1, -1, -1):
        cell = facets[idx]
        lo, hi = _cofacet_tops(cell, n0, n1, n2, cs1, cs2)
        a = _find(parent, lo)
        b = _find(parent, hi)
        if a == b:
            continue
        # the larger position was born first in this reverse sweep: it survives
        if root_pos[a] > root_pos[b]:
            a, b = b, a
        tau = root[a]
        parent[a] = b
        positive[cell] = True
        cpos = pos[cell]
        bvalue = value_by_rank[cpos // SLOT]
        dvalue = value_by_rank[root_pos[a] // SLOT]
        if bvalue > dvalue:
            p_birth[npos] = cell
            p_death[npos] = _top_cell(tau, n0, n1, n2)
            p_bv[npos] = bvalue
            p_dv[npos] = dvalue
            p_key[npos] = cpos
            npos += 1
        elif not grown[a]:
            # tau is alone in its component, so its gradient tree is {tau}: exactly
            # one V-path, the facet itself
            other = hi if lo == tau else lo
            tdown[tau] = cell
            tnext[tau] = other
            gparent[tau] = other
        elif not _cancel_dual(cell, tau, lo, hi, tdown, tnext, gparent, groot):
            f_birth[nfail] = cell
            f_death[nfail] = _top_cell(tau, n0, n1, n2)
            f_value[nfail] = bvalue
            nfail += 1
        grown[b] = True
    return trimmed(buffers, npos, nfail) + (positive, tdown, tnext, gparent, groot)


@njit(cache=True, nogil=True)
def _symdiff(a, b, pos):
    """Symmetric difference of two cell arrays sorted by position."""
    out = np.empty(a.size + b.size, dtype=np.int64)
    i = j = k = 0
    while i < a.size and j < b.size:
        pa, pb = pos[a[i]], pos[b[j]]
        if pa < pb:
            out[k] = a[i]
            i += 1
            k += 1
        elif pb < pa:
            out[k] = b[j]
            j += 1
            k += 1
        else:
            i += 1
            j += 1
    while i < a.size:
        out[k] = a[i]
        i += 1
        k += 1
    while j < b.size:
        out[k] = b[j]
        j += 1
        k += 1
    return out[:k]


@njit(cache=True, nogil=True)
def _sorted_facets(cell, pos, cs1, cs2):
    buf = np.empty(6, dtype=np.int64)
    m = cell_facets(cell, cs1, cs2, buf)
    out = buf[:m].copy()
    for t in range(1, m):
        s = t
        while s > 0 and pos[out[s]] < pos[out[s - 1]]:
            out[s], out[s - 1] = out[s - 1], out[s]
            s -= 1
    return out


@njit(cache=True, nogil=True)
def middle_pairs(squares, pos, n0, n1, n2):
    """Edge-square pairs (3-D) by column reduction of the negative squares' boundaries.

    `squares` are the squares that do not start a 2-dimensional class (the others'
    columns would reduce to zero: clearing), in filtration order. A square whose
    youngest edge has it as its oldest cofacet forms an *apparent pair* and needs no
    reduction; only the other columns are reduced and stored.
    """
    cs0, cs1, cs2 = 2 * n0 - 1, 2 * n1 - 1, 2 * n2 - 1
    owner = np.full(cs0 * cs1 * cs2, NONE, dtype=IDX)  # pivot edge -> square
    stored = np.full(cs0 * cs1 * cs2, NONE, dtype=IDX)  # square -> index in columns
    columns = List.empty_list(types.int64[::1])
    births = np.empty(squares.size, dtype=np.int64)
    cof = np.empty(6, dtype=np.int64)
    fac = np.empty(6, dtype=np.int64)
    for t in range(squares.size):
        s = squares[t]
        nf = cell_facets(s, cs1, cs2, fac)
        pivot = fac[0]
        for q in range(1, nf):
            if pos[fac[q]] > pos[pivot]:
                pivot = fac[q]
        m = cell_cofacets(pivot, cs0, cs1, cs2, cof)
        oldest = s
        for q in range(m):
            if pos[cof[q]] < pos[oldest]:
                oldest = cof[q]
        if oldest != s or owner[pivot] != NONE:  # not an apparent pair: reduce
            column = _sorted_facets(s, pos, cs1, cs2)
            while column.size > 0:
                pivot = column[column.size - 1]
                o = owner[pivot]
                if o == NONE:
                    break
                other = columns[stored[o]] if stored[o] != NONE else _sorted_facets(o, pos, cs1, cs2)
                column = _symdiff(column, other, pos)
            if column.size == 0:
                raise RuntimeError("a negative square reduced to zero")
            stored[s] = len(columns)
            columns.append(column)
            pivot = column[column.size - 1]
        owner[pivot] = s
        births[t] = pivot
    return births


@njit(cache=True, nogil=True)
def simplify_primal(births, deaths, vnext, gparent, groot, n1, n2, cs1, cs2):
    """Cancel the given vertex-edge pairs (cells) in order, from the state `primal_pairs` left.

    Modifies ``vnext``, ``gparent`` and ``groot`` in place; returns the failures.
    """
    failed = np.zeros(births.size, dtype=np.bool_)
    ends = np.empty(2, dtype=np.int64)
    for t in range(births.size):
        cell_vertices(births[t], cs1, cs2, n1, n2, ends)
        y = ends[0]
        cell_vertices(deaths[t], cs1, cs2, n1, n2, ends)
        failed[t] = not _cancel_primal(y, ends[0], ends[1], vnext, gparent, groot)
    return failed


@njit(cache=True, nogil=True)
def simplify_dual(births, deaths, tdown, tnext, gparent, groot, n0, n1, n2):
    """Cancel the given (d-1, d) pairs in order, from the state `dual_pairs` left.

    Modifies the state in place; returns the failures.
    """
    cs1, cs2 = 2 * n1 - 1, 2 * n2 - 1
    failed = np.zeros(births.size, dtype=np.bool_)
    for t in range(births.size):
        lo, hi = _cofacet_tops(births[t], n0, n1, n2, cs1, cs2)
        tau = top_index(deaths[t], n0, n1, n2)
        failed[t] = not _cancel_dual(births[t], tau, lo, hi, tdown, tnext, gparent, groot)
    return failed


@njit(cache=True, nogil=True)
def _count_paths(tau, sigma, base, eup, sdown, stamp, count, stack, cs1, cs2, level, pos, value_by_rank, fac):
    """Capped number of V-paths from square `tau` to edge `sigma` (memoised DFS).

    ``stamp[b] == base`` marks a square being expanded, ``base + 1`` a square whose
    ``count`` is final. With ``level`` not NaN, only squares of that value are searched:
    while every matched pair joins cells of equal value (before any pair of positive
    persistence is cancelled), values never decrease along a V-path, so a path between
    two cells of value ``level`` stays at that value. Returns the (possibly grown) stack.
    """
    top = 0
    stack[0] = tau
    while top >= 0:
        beta = stack[top]
        if stamp[beta] == base + 1:
            top -= 1
            continue
        m = cell_facets(beta, cs1, cs2, fac)
        if stamp[beta] != base:  # first visit: push the successors not yet finished
            stamp[beta] = base
            pushed = False
            for q in range(m):
                alpha = fac[q]
                if alpha == sdown[beta] or alpha == sigma:
                    continue
                nxt = eup[alpha]
                if nxt != NONE and stamp[nxt] != base + 1:
                    if level == level and value_by_rank[pos[nxt] // SLOT] != level:
                        continue  # off the level set: no path to sigma through it
                    if top + 1 == stack.size:
                        bigger = np.empty(2 * stack.size, dtype=np.int64)
                        bigger[: stack.size] = stack
                        stack = bigger
                    top += 1
                    stack[top] = nxt
                    pushed = True
            if pushed:
                continue
        paths = 0  # every successor is final now (V-paths never close a loop)
        for q in range(m):
            alpha = fac[q]
            if alpha == sdown[beta]:
                continue
            if alpha == sigma:
                paths += 1
            elif eup[alpha] != NONE and stamp[eup[alpha]] == base + 1:
                paths += count[eup[alpha]]
        count[beta] = min(paths, 2)
        stamp[beta] = base + 1
        top -= 1
    return stack


@njit(cache=True, nogil=True)
def simplify_middle(births, deaths, persistence, pos, value_by_rank, n0, n1, n2):
    """Cancel edge-square pairs (3-D) in the given order by explicit V-path search.

    The V-paths of dimension 1 branch, so each pair's paths are counted (capped at 2)
    by a memoised depth-first search from the square, as the reference does. The pairs
    come in order of persistence, so all zero-persistence pairs come first, and their
    searches are confined to one level set.
    """
    cs0, cs1, cs2 = 2 * n0 - 1, 2 * n1 - 1, 2 * n2 - 1
    total = cs0 * cs1 * cs2
    eup = np.full(total, NONE, dtype=IDX)  # edge -> square it is matched with
    sdown = np.full(total, NONE, dtype=IDX)  # square -> edge matched with it
    stamp = np.full(total, -1, dtype=IDX)
    count = np.zeros(total, dtype=IDX)
    stack = np.empty(1024, dtype=np.int64)
    path_alpha = np.empty(1024, dtype=np.int64)
    path_beta = np.empty(1024, dtype=np.int64)
    failed = np.zeros(births.size, dtype=np.bool_)
    fac = np.empty(6, dtype=np.int64)
    positive_seen = False
    for t in range(births.size):
        sigma, tau = births[t], deaths[t]
        base = 2 * t
        if persistence[t] == 0 and not positive_seen:
            level = value_by_rank[pos[sigma] // SLOT]
            # most searches end at once: when no facet of tau but sigma leads on to a
            # square of this level, the only possible V-path is tau > sigma
            m = cell_facets(tau, cs1, cs2, fac)
            direct = 0
            deeper = False
            for q in range(m):
                alpha = fac[q]
                if alpha == sigma:
                    direct += 1
                elif eup[alpha] != NONE and value_by_rank[pos[eup[alpha]] // SLOT] == level:
                    deeper = True
            if not deeper:
                if direct == 1:
                    eup[sigma] = tau
                    sdown[tau] = sigma
                else:
                    failed[t] = True
                continue
        else:
            positive_seen = True
            level = np.nan
        stack = _count_paths(tau, sigma, base, eup, sdown, stamp, count, stack, cs1, cs2, level, pos,
                             value_by_rank, fac)
        if count[tau] != 1:
            failed[t] = True
            continue
        # follow the unique path: at each square exactly one facet leads on to sigma
        length = 0
        beta = tau
        while True:
            m = cell_facets(beta, cs1, cs2, fac)
            alpha_next = NONE
            for q in range(m):
                alpha = fac[q]
                if alpha == sdown[beta]:
                    continue
                if alpha == sigma or (eup[alpha] != NONE and count[eup[alpha]] == 1
                                      and stamp[eup[alpha]] == base + 1):
                    alpha_next = alpha
                    break
            if length == path_alpha.size:
                path_alpha = np.concatenate((path_alpha, np.empty(length, dtype=np.int64)))
                path_beta = np.concatenate((path_beta, np.empty(length, dtype=np.int64)))
            path_beta[length] = beta
            path_alpha[length] = alpha_next
            length += 1
            if alpha_next == sigma:
                break
            beta = eup[alpha_next]
        for q in range(length):  # reverse: alpha_i is matched with the square before it
            eup[path_alpha[q]] = path_beta[q]
            sdown[path_beta[q]] = path_alpha[q]
    return eup, sdown, failed
