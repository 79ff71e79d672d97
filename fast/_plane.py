"""numba kernels specialised for 2-D images: two sweeps over the pixels, no per-cell arrays.

A 2-D image of shape (n1, n2) has n = n1 n2 vertices, about 2n edges and
(n1 - 1)(n2 - 1) squares (top cells, numbered in C order: square (i, j) has the pixel
(i, j) as its top-left corner, compact index ``i (n2 - 1) + j``; OUTSIDE is the index
after the last square). Cell ids are as in :mod:`._kernels`.

The filtration order (``docs/spec.md``, section 3) is never stored per cell. A cell's
key starts with the rank r of its lowest vertex v, so

* the edges whose lowest vertex is v come in order of their other vertex's rank: a sweep
  over the vertices by rank, each vertex's lower edges by that rank, visits all edges
  in filtration order (the primal sweep), and its reverse visits them in reverse (the
  dual sweep);
* squares are only compared with squares (which of two dual components is older): by
  (r1, r2, r3), the three largest ranks of their vertices -- r1 decides between squares
  of different lowest vertices, (r2, r3) between the at most four squares of one lower
  star -- computed in one pass over the image (:func:`_dual_state`).

1. The primal sweep (forward, union-find on pixels with the elder rule) finds the
   0-dimensional pairs and cancels the zero-persistence ones on the spot. It also
   records, per rank, the vertex's *positive* edges (those that join a component to
   itself): by Alexander duality exactly the edges that merge two dual components, so
   the dual sweep visits only those (about n of the 2n edges) and reads them
   sequentially.
2. The dual sweep (backward, union-find on squares and OUTSIDE, the representative of
   a set being its oldest square) finds the 1-dimensional pairs, likewise.

Each sweep is O(n) work plus a near-linear union-find (union by age, path halving).
The vertices come in value order, all over the image, so the sweeps are bound by cache
misses; the data of the vertex :data:`AHEAD` steps ahead is prefetched, and the random
accesses of one vertex stay within three rows of the image around it.

Birth *keys* sort the pairs' births by filtration position without positions: a vertex
of rank r has key 5 r, the q-th lower edge of a vertex of rank r (by the other vertex's
rank) the key 5 r + 1 + q; only vertices and edges are births in 2-D. The positions of
the few cells that need one (the critical cells) come from :func:`positions_2d`.
"""

import numpy as np
from numba import njit

from ._kernels import (MAX_POSITION, _cancel_dual, _cancel_primal, _top_cell, empty, pair_buffers, prefetch,
                       primal_start, trimmed, union_elder)

#: How many vertices ahead the sweeps prefetch.
AHEAD = 8

#: Directions of an edge from its lowest vertex: up, down, left, right.
_UP, _DOWN, _LEFT, _RIGHT = 0, 1, 2, 3


@njit(cache=True, nogil=True, inline="always")
def _sort2(a, b):
    return min(a, b), max(a, b)


@njit(cache=True, nogil=True, inline="always")
def _find2(uf, x):
    """Find in a union-find whose parents are the even entries of `uf` (path halving)."""
    while uf[2 * x] != x:
        uf[2 * x] = uf[2 * uf[2 * x]]
        x = uf[2 * x]
    return x


@njit(cache=True, nogil=True)
def primal_pairs_2d(order, rank, value_by_rank, n1, n2, work):
    """0-dimensional pairs by union-find with the elder rule, in filtration order.

    As :func:`._volume.primal_pairs_3d` for volumes. For the dual sweep it records
    ``lower[r]`` (uint16): the positive edges of the vertex of rank r, their
    count in bits 0-1, then 4 bits per edge in the order met (direction in the low 2
    bits, index among the vertex's lower edges by the other vertex's rank in the high 2).

    Returns the pairs of positive persistence (birth vertex cell, death edge, their
    values, the birth keys), the zero-persistence pairs that could not be cancelled
    (birth, death, value), the gradient state (``vnext``, ``gparent``) and ``lower``.
    """
    n = n1 * n2
    cs2 = 2 * n2 - 1
    big = n  # the rank of a pixel beyond the frame: never lower
    none = np.int64(1) << 62  # the sort key of a neighbour outside the lower star
    uf, gparent, vnext = primal_start(rank, work)  # parents beside ranks
    lower = np.empty(n, dtype=np.uint16)
    # pairs of positive persistence; zero-persistence pairs left uncancelled
    buffers = pair_buffers(n)
    p_birth, p_death, p_bv, p_dv, p_key, f_birth, f_death, f_value = buffers
    npos = nfail = 0
    offset = np.array([-n2, n2, -1, 1], dtype=np.int64)  # by direction
    step = np.array([-cs2, cs2, -1, 1], dtype=np.int64)
    run_start = 0  # the first rank of the current run of equal values
    for r in range(n):
        value = value_by_rank[r]
        if r > 0 and value != value_by_rank[r - 1]:
            run_start = r
        if r + AHEAD < n:
            w = order[r + AHEAD]
            prefetch(uf, 2 * max(w - n2, 0))
            prefetch(uf, 2 * w)
            prefetch(uf, 2 * min(w + n2, n - 1))
            prefetch(vnext, w)
            prefetch(gparent, w)
        v = order[r]
        i = v // n2
        j = v - i * n2
        # ranks around v (big beyond the frame)
        up = i > 0
        down = i < n1 - 1
        left = j > 0
        right = j < n2 - 1
        ru = np.int64(uf[2 * (v - n2) + 1]) if up else big
        rd = np.int64(uf[2 * (v + n2) + 1]) if down else big
        rl = np.int64(uf[2 * (v - 1) + 1]) if left else big
        rr = np.int64(uf[2 * (v + 1) + 1]) if right else big
        # the lower edges by neighbour rank ascending: a sorting network on rank * 4 + direction
        k0 = ru * 4 + _UP if ru < r else none
        k1 = rd * 4 + _DOWN if rd < r else none
        k2 = rl * 4 + _LEFT if rl < r else none
        k3 = rr * 4 + _RIGHT if rr < r else none
        k0, k1 = _sort2(k0, k1)
        k2, k3 = _sort2(k2, k3)
        k0, k2 = _sort2(k0, k2)
        k1, k3 = _sort2(k1, k3)
        k1, k2 = _sort2(k1, k2)
        m = (ru < r) + (rd < r) + (rl < r) + (rr < r)
        lower[r] = 0
        if m == 0:
            continue
        # v's first edge: v is alone and the youngest, so it dies here at zero
        # persistence, and its gradient tree is {v}: exactly one V-path
        u = v + offset[k0 & 3]
        root = _find2(uf, u)
        uf[2 * v] = root
        vnext[v] = u
        gparent[v] = u
        if m == 1:
            continue
        vc = 2 * i * cs2 + 2 * j
        for t in range(1, m):
            code = k1 if t == 1 else (k2 if t == 2 else k3)
            u = v + offset[code & 3]
            other = _find2(uf, u)
            if other == root:
                # a positive edge (it closes a loop): for the dual sweep, which meets
                # it backwards, its direction and its index t in v's lower star
                w = np.int64(lower[r])
                lower[r] = (w + 1) | ((code & 3) | (t << 2)) << (2 + 4 * (w & 3))
                continue
            root, young, ry = union_elder(uf, root, other)
            yi = young // n2
            ycell = 2 * yi * cs2 + 2 * (young - yi * n2)
            edge = vc + step[code & 3]
            if ry < run_start:
                p_birth[npos] = ycell
                p_death[npos] = edge
                p_bv[npos] = value_by_rank[ry]
                p_dv[npos] = value
                p_key[npos] = 5 * ry
                npos += 1
            elif not _cancel_primal(young, v, u, vnext, gparent):
                f_birth[nfail] = ycell
                f_death[nfail] = edge
                f_value[nfail] = value
                nfail += 1
    return trimmed(buffers, npos, nfail) + (vnext, gparent, lower)


#: Fields of a square in the dual sweep's state (:func:`dual_pairs_2d`), one record per
#: square (12 bytes): what one positive edge reads and writes comes in one or two cache lines.
_PARENT, _AGE, _GPARENT = range(3)
_W = 3


def dual_arrays(n1, n2):
    """The work array of :func:`dual_pairs_2d` (see :func:`._kernels.empty`)."""
    return empty(_W * ((n1 - 1) * (n2 - 1) + 1))


@njit(cache=True, nogil=True)
def _dual_state(rank, n1, n2, state):
    """The state the dual sweep starts from, one record of :data:`_W` fields per square.

    A square's key is its vertices' ranks, descending: (r1, r2, r3, r4), where r1 (its
    lowest vertex's rank) decides between squares of different lowest vertices, and
    (r2, r3) between the at most four squares of one lower star (two that share their
    two lowest vertices share no other; see :func:`_square_tie`). ``_AGE`` holds 2 r1
    (OUTSIDE, after the last square, the largest), ``_PARENT`` the union-find's parent,
    ``_GPARENT`` the parent in the gradient trees' union-find (see
    :func:`._kernels._cancel_dual`).
    """
    t2 = n2 - 1
    n_top = (n1 - 1) * t2
    for i in range(n1 - 1):
        for j in range(t2):
            v = i * n2 + j
            t = i * t2 + j
            state[_W * t + _AGE] = 2 * max(max(rank[v], rank[v + 1]), max(rank[v + n2], rank[v + n2 + 1]))
    state[_W * n_top + _AGE] = (MAX_POSITION - 1) | 1  # OUTSIDE is the oldest, and never alone: it is not a cell
    for t in range(n_top + 1):
        state[_W * t + _PARENT] = t
        state[_W * t + _GPARENT] = t
    return state


@njit(cache=True, nogil=True, inline="always")
def _find_square(state, x):
    """Find in the dual sweep's union-find (path halving)."""
    while state[_W * x] != x:
        state[_W * x] = state[_W * state[_W * x]]
        x = state[_W * x]
    return x


@njit(cache=True, nogil=True, inline="always")
def _square_tie(t, rank, n2):
    """The second and third largest ranks of square t's vertices, packed: its order in its star."""
    t2 = n2 - 1
    i = t // t2
    v = i * n2 + t - i * t2
    a, b = _sort2(np.int64(rank[v]), np.int64(rank[v + 1]))
    c, d = _sort2(np.int64(rank[v + n2]), np.int64(rank[v + n2 + 1]))
    a, c = _sort2(a, c)  # a: the smallest
    b, d = _sort2(b, d)  # d: the largest
    b, c = _sort2(b, c)
    return (c << 27) | b


@njit(cache=True, nogil=True)
def dual_pairs_2d(order, rank, lower, value_by_rank, n1, n2, state):
    """1-dimensional pairs of a 2-D image by union-find on squares and OUTSIDE, backward.

    The positive edges come in reverse filtration order from ``lower`` (see
    :func:`primal_pairs_2d`); each joins two dual components and is a birth, and the
    younger component's oldest square (the smaller age, ties on the lowest vertex by
    :func:`_square_tie`) dies with it. The representative of a component is its oldest
    square (union by age), OUTSIDE the oldest of all. The state (see
    :func:`_dual_state`) keeps each square's parent, age and gradient tree in one record;
    the lowest bit of the age marks a representative whose set has grown beyond its
    own square. Zero-persistence pairs are cancelled on the spot
    (:func:`._kernels._cancel_dual`).

    Most positive edges have a side that is alone and younger than the other side's
    square, hence than that square's representative: that side dies, and its parent is
    set to the other side's parent (a member of the other set), without a find.

    Returns, as :func:`primal_pairs_2d`, the pairs of positive persistence (birth
    edge, death square, values, birth keys), the failed zero-persistence pairs and the
    gradient trees' union-find ``gparent`` (compact square indices, OUTSIDE last): a
    strided view of ``state``, room for :data:`_W` (n1 - 1) (n2 - 1) + :data:`_W`
    numbers (see :func:`dual_arrays`).
    """
    n = n1 * n2
    cs2 = 2 * n2 - 1
    t2 = n2 - 1
    n_top = (n1 - 1) * t2
    outside = n_top
    _dual_state(rank, n1, n2, state)
    gparent = state[_GPARENT::_W]
    buffers = pair_buffers(n_top)
    p_birth, p_death, p_bv, p_dv, p_key, f_birth, f_death, f_value = buffers
    npos = nfail = 0
    run_end = n  # one past the last rank of the current run of equal values
    for r in range(n - 1, -1, -1):
        value = value_by_rank[r]
        if r < n - 1 and value != value_by_rank[r + 1]:
            run_end = r + 1
        if r >= AHEAD:  # the four squares around that vertex
            w = order[r - AHEAD]
            wt = max(w // n2 - 1, 0) * t2 + w % n2
            prefetch(state, _W * max(wt - 1, 0))
            prefetch(state, _W * wt)
            prefetch(state, _W * min(wt + t2 - 1, n_top))
            prefetch(state, _W * min(wt + t2, n_top))
        code = np.int64(lower[r])
        m = code & 3
        if m == 0:
            continue
        v = order[r]
        i = v // n2
        j = v - i * n2
        vc = 2 * i * cs2 + 2 * j
        for e in range(m - 1, -1, -1):
            field = code >> (2 + 4 * e)
            dirc = field & 3
            q = (field >> 2) & 3
            # the edge and the squares on its two sides (OUTSIDE beyond the frame)
            if dirc < 2:  # up or down
                edge = vc - cs2 if dirc == _UP else vc + cs2
                base = (i - 1 if dirc == _UP else i) * t2 + j
                lo = base - 1 if j > 0 else outside
                hi = base if j < n2 - 1 else outside
            else:
                edge = vc - 1 if dirc == _LEFT else vc + 1
                col = j - 1 if dirc == _LEFT else j
                lo = (i - 1) * t2 + col if i > 0 else outside
                hi = i * t2 + col if i < n1 - 1 else outside
            alo = state[_W * lo + _AGE]
            ahi = state[_W * hi + _AGE]
            if not alo & 1 and state[_W * lo] == lo and alo >> 1 < ahi >> 1:
                a, b = lo, state[_W * hi]  # lo is alone and younger than hi
            elif not ahi & 1 and state[_W * hi] == hi and ahi >> 1 < alo >> 1:
                a, b = hi, state[_W * lo]
            else:
                a = _find_square(state, lo)
                b = _find_square(state, hi)
                if a == b:
                    raise RuntimeError("a positive edge joins one dual component")
                # the older one (born first in this backward sweep) survives
                ka = state[_W * a + _AGE] >> 1
                kb = state[_W * b + _AGE] >> 1
                if ka > kb or (ka == kb and _square_tie(a, rank, n2) > _square_tie(b, rank, n2)):
                    a, b = b, a
            tau = a  # a representative is its component's oldest square
            age = state[_W * a + _AGE]
            state[_W * a] = b  # b: the other component's representative, or a member of it
            state[_W * b + _AGE] |= 1  # (a member's flag is never read again)
            ra = age >> 1
            if ra >= run_end:  # positive persistence
                p_birth[npos] = edge
                p_death[npos] = _top_cell(tau, 1, n1, n2)
                p_bv[npos] = value
                p_dv[npos] = value_by_rank[ra]
                p_key[npos] = 5 * r + 1 + q
                npos += 1
            elif not age & 1:
                # tau is alone in its component, so its gradient tree is {tau}: exactly
                # one V-path, the edge itself
                state[_W * tau + _GPARENT] = hi if lo == tau else lo
            elif not _cancel_dual(tau, lo, hi, gparent):
                f_birth[nfail] = edge
                f_death[nfail] = _top_cell(tau, 1, n1, n2)
                f_value[nfail] = value
                nfail += 1
    return trimmed(buffers, npos, nfail) + (gparent,)


@njit(cache=True, nogil=True)
def paint_boundaries_2d(label, root_strength, frame, n1, n2, boundaries, saliency):
    """Paint the pixels of the edges between two different basins (see the engine) into zeroed arrays."""
    t2 = n2 - 1
    for i in range(n1):
        for j in range(n2):
            v = i * n2 + j
            # the edge to the right, between the squares above and below it
            if j < n2 - 1:
                a = label[(i - 1) * t2 + j] if i > 0 else 0
                b = label[i * t2 + j] if i < n1 - 1 else 0
                if a != b and (frame or (0 < i < n1 - 1)):
                    s = min(root_strength[a], root_strength[b])
                    boundaries[v] = boundaries[v + 1] = True
                    saliency[v] = max(saliency[v], s)
                    saliency[v + 1] = max(saliency[v + 1], s)
            # the edge downwards, between the squares left and right of it
            if i < n1 - 1:
                a = label[i * t2 + j - 1] if j > 0 else 0
                b = label[i * t2 + j] if j < n2 - 1 else 0
                if a != b and (frame or (0 < j < n2 - 1)):
                    s = min(root_strength[a], root_strength[b])
                    boundaries[v] = boundaries[v + n2] = True
                    saliency[v] = max(saliency[v], s)
                    saliency[v + n2] = max(saliency[v + n2], s)
    return boundaries, saliency


@njit(cache=True, nogil=True, inline="always")
def _key_less(a0, a1, a2, a3, b0, b1, b2, b3):
    """Lexicographic comparison of two keys padded with -1."""
    if a0 != b0:
        return a0 < b0
    if a1 != b1:
        return a1 < b1
    if a2 != b2:
        return a2 < b2
    return a3 < b3


@njit(cache=True, nogil=True)
def positions_2d(cells, rank, n1, n2):
    """Filtration positions of the given cells: 27 r + index in the lower star (see :mod:`._kernels`).

    A cell's position is 27 r + the number of cells of its lowest vertex's lower star
    (rank r) with a smaller key; the lower star has at most 9 cells.
    """
    cs2 = 2 * n2 - 1
    out = np.empty(cells.size, dtype=np.int64)
    ranks = np.empty(4, dtype=np.int64)
    star = np.empty((9, 4), dtype=np.int64)  # keys of the lower star
    for q in range(cells.size):
        c1 = cells[q] // cs2
        c2 = cells[q] - c1 * cs2
        # the cell's key: its vertices' ranks, descending, padded with -1
        nv = 0
        for a in range((c1 & 1) + 1):
            for b in range((c2 & 1) + 1):
                ranks[nv] = rank[(c1 // 2 + a) * n2 + c2 // 2 + b]
                nv += 1
        for t in range(nv, 4):
            ranks[t] = -1
        a, b = _sort2(ranks[0], ranks[1])  # a sorting network: k0 > k1 > k2 > k3
        c, d = _sort2(ranks[2], ranks[3])
        a, c = _sort2(a, c)
        b, d = _sort2(b, d)
        b, c = _sort2(b, c)
        k0, k1, k2, k3 = d, c, b, a
        # its lowest vertex
        v = 0
        for a in range((c1 & 1) + 1):
            for b in range((c2 & 1) + 1):
                u = (c1 // 2 + a) * n2 + c2 // 2 + b
                if rank[u] == k0:
                    v = u
        i = v // n2
        j = v - i * n2
        # the lower star of v: v, its edges to lower neighbours, the squares of lower pixels
        ns = 0
        for di in range(-1, 2):
            for dj in range(-1, 2):
                if di == 0 and dj == 0:
                    continue
                if not (0 <= i + di < n1 and 0 <= j + dj < n2):
                    continue
                if di == 0 or dj == 0:  # an edge
                    s = rank[v + di * n2 + dj]
                    if s < k0:
                        star[ns, 0], star[ns, 1], star[ns, 2], star[ns, 3] = k0, s, -1, -1
                        ns += 1
                else:  # the square towards this diagonal neighbour
                    x = rank[v + di * n2]
                    y = rank[v + dj]
                    z = rank[v + di * n2 + dj]
                    if x < k0 and y < k0 and z < k0:
                        hi = max(x, max(y, z))
                        lo = min(x, min(y, z))
                        star[ns, 0], star[ns, 1], star[ns, 2], star[ns, 3] = k0, hi, x + y + z - hi - lo, lo
                        ns += 1
        count = 0 if k1 == -1 else 1  # v itself comes first
        for t in range(ns):
            if _key_less(star[t, 0], star[t, 1], star[t, 2], star[t, 3], k0, k1, k2, k3):
                count += 1
        out[q] = 27 * k0 + count
    return out
