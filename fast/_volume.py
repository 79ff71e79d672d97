"""numba kernels specialised for 3-D images: the lower stars, then two sweeps by rank.

A volume of shape (n0, n1, n2) has n voxels (the vertices), about 3n edges, 3n squares
and n cubes. No array is kept per cell of the doubled grid (8n cells): edges and squares
have *compact* ids, from the voxel at their lowest corner,

* edge ``3 u + a``: from voxel u to its neighbour along axis a (0, 1, 2);
* square ``3 u + p``: the square with lowest corner u spanning the two axes other than p;
* cube ``(i (n1 - 1) + j) (n2 - 1) + k``: lowest corner (i, j, k), as the basins number
  them; OUTSIDE is the index after the last cube.

Public results use the cell ids of :mod:`._kernels` (doubled coordinates).

The filtration order (``docs/spec.md``, section 3) is never stored per cell. A cell's
key starts with the rank r of its lowest vertex v: the cells whose lowest vertex is v
form v's *lower star* (at most 6 edges, 12 squares and 8 cubes), ordered among
themselves by the rest of their keys. Squares of one star are told apart by their
second and third largest ranks (two squares never share three vertices), cubes by their
second largest rank or, on a tie, by the largest rank one has and the other lacks;
edges compare by their two ranks, packed in one integer (:func:`_edge_key`).

1. :func:`primal_pairs_3d` (forward, by rank): union-find on voxels with the elder rule,
   as in 2-D. It finds the 0-dimensional pairs, cancels the zero-persistence ones on
   the spot, and records per voxel which of its lower edges are *positive* (close a
   loop): only those are paired with squares.
2. :func:`lower_stars` (one pass over the voxels in memory order): the cubes' ages, and
   the edge-square pairs found by a column reduction of each star's lower squares
   while the pivot stays at the vertex -- exact, as only older squares of the same
   star can own such a pivot -- with their cancellation when the vertex's value is
   unique. On large volumes an access out of cache costs about 100 ns, so all that
   is local is done here, in memory order, not in the sweeps by rank.
3. :func:`dual_sweep` (backward, by rank): union-find on cubes and OUTSIDE through the
   squares step 2 left, giving the square-cube pairs (zero persistence cancelled on
   the spot) and the squares that join nothing: negative squares paired with an edge
   of another star.
4. :func:`middle_pairs`: the column reduction of those squares, in filtration order;
   :func:`cancel_middle`: the searches for V-paths of the pairs cancelled outside a
   single lower star (ties, and pairs of positive persistence).

Only the pairs of positive persistence leave these kernels, with the few
zero-persistence pairs whose cancellation failed.

References
----------
.. [1] H. Wagner, C. Chen, E. Vucini, "Efficient computation of persistent homology
   for cubical data", Topological Methods in Data Analysis and Visualization II (2012).
.. [2] V. Robins, P. J. Wood, A. P. Sheppard, "Theory and algorithms for constructing
   discrete Morse complexes from grayscale digital images", IEEE TPAMI 33 (2011).
.. [3] U. Bauer, "Ripser: efficient computation of Vietoris-Rips persistence
   barcodes", J. Appl. Comput. Topology 5 (2021) -- apparent pairs, clearing.
.. [4] V. de Silva, D. Morozov, M. Vejdemo-Johansson, "Dualities in persistent
   (co)homology", Inverse Problems 27 (2011) -- clearing.
"""

import numpy as np
from numba import njit

from ._kernels import (IDX, MAX_POSITION, NONE, _cancel_dual, _cancel_primal, _coords, _top_cell, pair_buffers,
                       prefetch, primal_start, trimmed, union_elder)

#: How many vertices ahead the sweeps prefetch.
AHEAD = 8

#: A square's position is ``SQ_SLOT * rank + index in the lower star`` (at most 12).
SQ_SLOT = 16
#: A cube's age is ``CUBE_SLOT * rank + index in the lower star`` (at most 8).
CUBE_SLOT = 8
_CUBE_SHIFT = 3


def _nb(a, b, c):
    """Index of the neighbour at offset (a, b, c) in the 3 x 3 x 3 block around a voxel."""
    return (a + 1) * 9 + (b + 1) * 3 + (c + 1)


def _tables():
    """Constant tables of the cells around a voxel (numba reads them as constants)."""
    unit = np.eye(3, dtype=np.int64)
    # edges by direction d: axis d >> 1, towards +1 if d & 1 else -1
    edge_nb = np.array([_nb(*((1 if d & 1 else -1) * unit[d >> 1])) for d in range(6)], dtype=np.int64)
    # squares at a voxel: normal p, spanning axes a < b, signs sa, sb along them
    sq = []
    for p in range(3):
        a, b = [x for x in range(3) if x != p]
        for sa in (-1, 1):
            for sb in (-1, 1):
                lo = [0, 0, 0]
                hi = [0, 0, 0]
                lo[a], lo[b], lo[p] = sa, sb, -1
                hi[a], hi[b], hi[p] = sa, sb, 1
                cube = [4 * (s[0] > 0) + 2 * (s[1] > 0) + (s[2] > 0) for s in (lo, hi)]
                sq.append((p, a, b, sa, sb, 2 * a + (sa > 0), 2 * b + (sb > 0),
                           _nb(*(sa * unit[a])), _nb(*(sb * unit[b])), _nb(*(sa * unit[a] + sb * unit[b])),
                           cube[0], cube[1]))
    sq = np.array(sq, dtype=np.int64)
    # cubes at a voxel by corner signs, c = 4 [s0 > 0] + 2 [s1 > 0] + [s2 > 0]
    cube_sign = np.array([[1 if c & 4 else -1, 1 if c & 2 else -1, 1 if c & 1 else -1] for c in range(8)],
                         dtype=np.int64)
    cube_nb = np.array([[_nb(*(cube_sign[c] * np.array(x))) for x in np.ndindex(2, 2, 2) if any(x)]
                        for c in range(8)], dtype=np.int64)
    # for two cubes c1, c2 at the voxel, the block indices of c1's vertices not in c2,
    # padded with 27 (a slot beyond the block that holds rank -1)
    corners = [{tuple(cube_sign[c] * np.array(x)) for x in np.ndindex(2, 2, 2)} for c in range(8)]
    cube_excl = np.full((8, 8, 7), 27, dtype=np.int64)
    for c1 in range(8):
        for c2 in range(8):
            for t, x in enumerate(sorted(corners[c1] - corners[c2])):
                cube_excl[c1, c2, t] = _nb(*x)
    # the three squares of each cube at the voxel, as bits by square code
    cube_sq = np.array([sum(1 << q for q in range(12) if cube_sign[c, sq[q, 1]] == sq[q, 3]
                            and cube_sign[c, sq[q, 2]] == sq[q, 4]) for c in range(8)], dtype=np.int64)
    # the 26 cells of the closed star of a voxel other than itself, by offset: the block
    # indices of their vertices other than the voxel, padded with 27
    star_nb = np.full((27, 7), 27, dtype=np.int64)
    for a, b, c in np.ndindex(3, 3, 3):
        off = np.array([a - 1, b - 1, c - 1])
        corners = [x for x in np.ndindex(*[2 if o else 1 for o in off]) if any(x)]
        for t, x in enumerate(corners):
            star_nb[_nb(*off), t] = _nb(*(off * np.array(x)))
    # for each set of lower edges (bits by direction), the squares whose two edges at the
    # voxel are among them (the only candidates for lower squares), and their number
    cand = np.zeros((64, 12), dtype=np.int64)
    ncand = np.zeros(64, dtype=np.int64)
    for mask in range(64):
        for q in range(12):
            if (mask >> sq[q, 5]) & 1 and (mask >> sq[q, 6]) & 1:
                cand[mask, ncand[mask]] = q
                ncand[mask] += 1
    return edge_nb, sq, cube_sign, cube_nb, cube_sq, cube_excl, cand, ncand, star_nb


EDGE_NB, _SQ, CUBE_SIGN, CUBE_NB, CUBE_SQ, CUBE_EXCL, SQ_CAND, SQ_NCAND, STAR_NB = _tables()
SQ_P, SQ_A, SQ_B, SQ_SA, SQ_SB, SQ_DA, SQ_DB, SQ_NA, SQ_NB, SQ_ND, SQ_CLO, SQ_CHI = (
    np.ascontiguousarray(_SQ[:, t]) for t in range(12))
#: The far corner of each cube at a voxel: the cube exists when that voxel does.
CUBE_CORNER = np.ascontiguousarray(CUBE_NB[:, 6])


@njit(cache=True, nogil=True, error_model="numpy")
def _block(v, i, j, k, rank, n0, n1, n2, big, nr):
    """The ranks of the 3 x 3 x 3 block around voxel v into `nr` (`big` beyond the border)."""
    s0 = n1 * n2
    if 0 < i < n0 - 1 and 0 < j < n1 - 1 and 0 < k < n2 - 1:
        q = 0
        for a in range(-1, 2):
            for b in range(-1, 2):
                base = v + a * s0 + b * n2
                nr[q] = rank[base - 1]
                nr[q + 1] = rank[base]
                nr[q + 2] = rank[base + 1]
                q += 3
        return
    q = 0
    for a in range(-1, 2):
        for b in range(-1, 2):
            for c in range(-1, 2):
                if 0 <= i + a < n0 and 0 <= j + b < n1 and 0 <= k + c < n2:
                    nr[q] = rank[v + a * s0 + b * n2 + c]
                else:
                    nr[q] = big
                q += 1


@njit(cache=True, nogil=True, error_model="numpy")
def primal_pairs_3d(order, rank, value_by_rank, n0, n1, n2, work):
    """0-dimensional pairs by union-find with the elder rule, in filtration order.

    As :func:`._plane.primal_pairs_2d`, for a volume. Returns the pairs of positive
    persistence (birth vertex cell, death edge cell, their values, birth keys ``27 r``,
    the vertex's position), the zero-persistence pairs that could not be cancelled
    (birth, death, value), the gradient state (``vnext``, ``gparent``) and
    ``positive[v]``: bit d set when the lower edge of voxel v in direction d (axis
    d >> 1, towards + if d & 1) closes a loop.
    """
    s0 = n1 * n2
    cs1, cs2 = 2 * n1 - 1, 2 * n2 - 1
    n = n0 * s0
    uf, gparent, vnext = primal_start(rank, work)  # parents beside ranks
    positive = np.zeros(n, dtype=np.uint8)
    buffers = pair_buffers(n)
    p_birth, p_death, p_bv, p_dv, p_key, f_birth, f_death, f_value = buffers
    npos = nfail = 0
    offset = np.array([-s0, s0, -n2, n2, -1, 1], dtype=np.int64)
    lim = np.array([n0, n1, n2], dtype=np.int64)
    kstep = np.array([-cs1 * cs2, cs1 * cs2, -cs2, cs2, -1, 1], dtype=np.int64)
    nbk = np.empty(6, dtype=np.int64)  # lower neighbours: rank * 8 + direction
    run_start = 0
    for r in range(n):
        value = value_by_rank[r]
        if r > 0 and value != value_by_rank[r - 1]:
            run_start = r
        if r + AHEAD < n:
            w = order[r + AHEAD]
            prefetch(uf, 2 * max(w - s0, 0))
            prefetch(uf, 2 * max(w - n2, 0))
            prefetch(uf, 2 * w)
            prefetch(uf, 2 * min(w + n2, n - 1))
            prefetch(uf, 2 * min(w + s0, n - 1))
            prefetch(vnext, w)
        v = order[r]
        i, j, k = _coords(v, n1, n2)
        m = 0
        for d in range(6):  # the lower neighbours, within the volume
            c = i if d < 2 else (j if d < 4 else k)
            if c == 0 if d & 1 == 0 else c == lim[d >> 1] - 1:
                continue
            x = uf[2 * (v + offset[d]) + 1]
            if x < r:
                nbk[m] = np.int64(x) * 8 + d
                m += 1
        if m == 0:
            continue
        for t in range(1, m):  # by neighbour rank, ascending
            x = nbk[t]
            q = t - 1
            while q >= 0 and nbk[q] > x:
                nbk[q + 1] = nbk[q]
                q -= 1
            nbk[q + 1] = x
        # v's first edge: v is alone and the youngest, so it dies here at zero
        # persistence; its gradient tree is {v}, so exactly one V-path joins them
        u = v + offset[nbk[0] & 7]
        root = _find2(uf, u)
        uf[2 * v] = root
        vnext[v] = u
        gparent[v] = u
        vc = ((2 * i) * cs1 + 2 * j) * cs2 + 2 * k
        bits = 0
        for t in range(1, m):
            d = nbk[t] & 7
            u = v + offset[d]
            other = _find2(uf, u)
            if other == root:
                bits |= 1 << d
                continue
            root, young, ry = union_elder(uf, root, other)
            yi, yj, yk = _coords(young, n1, n2)
            ycell = ((2 * yi) * cs1 + 2 * yj) * cs2 + 2 * yk
            edge = vc + kstep[d]
            if ry < run_start:
                p_birth[npos] = ycell
                p_death[npos] = edge
                p_bv[npos] = value_by_rank[ry]
                p_dv[npos] = value
                p_key[npos] = 27 * np.int64(ry)
                npos += 1
            elif not _cancel_primal(young, v, u, vnext, gparent):
                f_birth[nfail] = ycell
                f_death[nfail] = edge
                f_value[nfail] = value
                nfail += 1
        positive[v] = bits
    return trimmed(buffers, npos, nfail) + (vnext, gparent, positive)


# -- compact ids -------------------------------------------------------------------------

@njit(cache=True, nogil=True, error_model="numpy")
def _square_frame(sid, s0, n2):
    """Axes and strides of compact square `sid`: (corner, a, b, stride a, stride b), a < b."""
    m = sid // 3
    p = sid - 3 * m
    if p == 0:
        return m, 1, 2, n2, 1
    if p == 1:
        return m, 0, 2, s0, 1
    return m, 0, 1, s0, n2


@njit(cache=True, nogil=True, error_model="numpy")
def _square_facets(sid, s0, n2, out):
    """The four edges (compact) of compact square `sid`."""
    m, a, b, sa, sb = _square_frame(sid, s0, n2)
    out[0] = 3 * m + a
    out[1] = 3 * m + b
    out[2] = 3 * (m + sb) + a
    out[3] = 3 * (m + sa) + b


@njit(cache=True, nogil=True, error_model="numpy")
def compact_cells(ids, squares, n1, n2):
    """Cell ids (doubled coordinates) of compact edges, or of compact squares if `squares`.

    ``3 u + a`` is odd along axis a for an edge, along the two other axes for a square.
    """
    cs1, cs2 = 2 * n1 - 1, 2 * n2 - 1
    out = np.empty(ids.size, dtype=np.int64)
    for t in range(ids.size):
        u = ids[t] // 3
        a = ids[t] - 3 * u
        i, j, k = _coords(u, n1, n2)
        o0, o1, o2 = (a == 0) != squares, (a == 1) != squares, (a == 2) != squares
        out[t] = ((2 * i + o0) * cs1 + 2 * j + o1) * cs2 + 2 * k + o2
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def _edge_key(u, w, rank):
    """The key of the edge between voxels u and w, packed: larger rank << 32 | smaller rank.

    Keys of edges compare as their filtration positions do.
    """
    ru, rw = np.int64(rank[u]), np.int64(rank[w])
    return (max(ru, rw) << 32) | min(ru, rw)


@njit(cache=True, nogil=True, error_model="numpy")
def _boundary(sid, rank, s0, n2, keys, ids):
    """The four edges of compact square `sid`: their keys (:func:`_edge_key`) and ids.

    Rows of negative edges could be left out of every column (they are never a pivot),
    but that needs one more array read per edge; where the pivots are concerned, the
    reduction is the same either way.
    """
    m, a, b, sa, sb = _square_frame(sid, s0, n2)
    keys[0] = _edge_key(m, m + sa, rank)
    ids[0] = 3 * m + a
    keys[1] = _edge_key(m, m + sb, rank)
    ids[1] = 3 * m + b
    keys[2] = _edge_key(m + sb, m + sb + sa, rank)
    ids[2] = 3 * (m + sb) + a
    keys[3] = _edge_key(m + sa, m + sa + sb, rank)
    ids[3] = 3 * (m + sa) + b


@njit(cache=True, nogil=True, error_model="numpy")
def _square_rank(sid, rank, s0, n2):
    """The rank of the lowest vertex of compact square `sid` (its value's rank)."""
    m, a, b, sa, sb = _square_frame(sid, s0, n2)
    return max(max(rank[m], rank[m + sa]), max(rank[m + sb], rank[m + sa + sb]))


@njit(cache=True, nogil=True, error_model="numpy")
def _heap_push(keys, ids, h, key, ident):
    """Push (key, ident) on the binary max-heap keys[:h] (room assumed); return the new size."""
    q = h
    while q > 0:
        parent = (q - 1) >> 1
        if keys[parent] >= key:
            break
        keys[q] = keys[parent]
        ids[q] = ids[parent]
        q = parent
    keys[q] = key
    ids[q] = ident
    return h + 1


@njit(cache=True, nogil=True, error_model="numpy")
def _heap_pop(keys, ids, h):
    """Remove the largest entry of the binary max-heap keys[:h]; return the new size."""
    h -= 1
    key = keys[h]
    ident = ids[h]
    q = 0
    while True:
        c = 2 * q + 1
        if c >= h:
            break
        if c + 1 < h and keys[c + 1] > keys[c]:
            c += 1
        if keys[c] <= key:
            break
        keys[q] = keys[c]
        ids[q] = ids[c]
        q = c
    keys[q] = key
    ids[q] = ident
    return h


@njit(cache=True, nogil=True, error_model="numpy")
def _heap_pivot(keys, ids, h):
    """The largest entry that occurs an odd number of times in the heap (sums mod 2).

    Returns (found, its position 0 or none, new size): entries of even multiplicity
    above it are dropped, and the pivot stays at the top of the heap.
    """
    while h > 0:
        key = keys[0]
        ident = ids[0]
        h = _heap_pop(keys, ids, h)
        odd = True
        while h > 0 and keys[0] == key:
            h = _heap_pop(keys, ids, h)
            odd = not odd
        if odd:
            return True, _heap_push(keys, ids, h, key, ident)
    return False, h


@njit(cache=True, nogil=True, error_model="numpy")
def _grown(a, size):
    """`a` with room for at least `size` entries (the same array if it has it)."""
    if a.size >= size:
        return a
    b = np.empty(max(size, 2 * a.size), dtype=a.dtype)
    b[:a.size] = a
    return b


# -- V-paths of dimension 1 ------------------------------------------------------------------
#
# The edge-square gradient and the search marks live in one int32 array ``grad`` of three
# entries per compact id x: ``grad[3 x]`` the square edge x is matched with (V(x)),
# ``grad[3 x + 1]`` the edge square x is matched with, ``grad[3 x + 2]`` square x's mark
# in the searches; NONE where there is none. A square and its two edges at its lowest
# corner share 36 bytes.

_UP, _DOWN, _MARK = 0, 1, 2


@njit(cache=True, nogil=True, error_model="numpy")
def _count_paths(tau, sigma, base, grad, frames, level, rank, value_by_rank, s0, n2):
    """The number of V-paths from square `tau` to edge `sigma`, capped at 2 (memoised DFS).

    Marks: ``base`` while a square is open, ``base + 1 + count`` once final. Each open
    square has a frame of 8 entries in `frames`: the square, the edge it is matched
    with, its four facets, the next facet to follow and the paths counted so far. With
    ``level`` not NaN, only squares of that value are searched: while every matched pair
    joins cells of equal value (before any pair of positive persistence is cancelled),
    values never decrease along a V-path, so a path between two cells of value
    ``level`` stays at that value. Returns the count and the (possibly grown) frames.
    """
    top = 0
    m, a, b, sa, sb = _square_frame(tau, s0, n2)
    frames[0] = tau
    frames[1] = grad[3 * tau + _DOWN]
    frames[2], frames[3], frames[4], frames[5] = 3 * m + a, 3 * m + b, 3 * (m + sb) + a, 3 * (m + sa) + b
    frames[6] = 0
    frames[7] = 0
    grad[3 * tau + _MARK] = base
    while True:
        f = 8 * top
        q = frames[f + 6]
        if q < 4:
            frames[f + 6] = q + 1
            alpha = frames[f + 2 + q]
            if alpha == frames[f + 1]:
                continue
            if alpha == sigma:
                frames[f + 7] += 1
                continue
            nxt = grad[3 * alpha + _UP]
            if nxt == NONE:
                continue
            mark = grad[3 * nxt + _MARK]
            if mark > base:  # final
                frames[f + 7] += mark - base - 1
                continue
            if level == level and value_by_rank[_square_rank(nxt, rank, s0, n2)] != level:
                continue  # off the level set: no path to sigma through it
            # open nxt (V-paths never close a loop: it cannot be open already)
            top += 1
            f += 8
            if f + 8 > frames.size:
                frames = _grown(frames, f + 8)
            m, a, b, sa, sb = _square_frame(nxt, s0, n2)
            frames[f] = nxt
            frames[f + 1] = grad[3 * nxt + _DOWN]
            frames[f + 2], frames[f + 3] = 3 * m + a, 3 * m + b
            frames[f + 4], frames[f + 5] = 3 * (m + sb) + a, 3 * (m + sa) + b
            frames[f + 6] = 0
            frames[f + 7] = 0
            grad[3 * nxt + _MARK] = base
            continue
        paths = min(frames[f + 7], 2)
        grad[3 * frames[f] + _MARK] = base + 1 + paths
        if top == 0:
            return paths, frames
        top -= 1
        frames[8 * top + 7] += paths


@njit(cache=True, nogil=True, error_model="numpy")
def cancel_middle(edges, squares, zero, grad, base, rank, value_by_rank, n0, n1, n2):
    """Cancel the given edge-square pairs (compact ids) in order, if exactly one V-path joins them.

    The V-paths from the square are counted (capped at 2, :func:`_count_paths`); with
    `zero` (pairs of zero persistence, cancelled before any other) the search stays in
    the square's level set. A unique path is then reversed in ``grad``, updated in
    place. Search t marks squares with ``base + 4 t`` to ``base + 4 t + 3``: `base` must
    be above every mark in ``grad``. Returns the failures and the next free base.
    """
    s0 = n1 * n2
    failed = np.zeros(edges.size, dtype=np.bool_)
    frames = np.empty(512, dtype=np.int64)
    path = np.empty(64, dtype=np.int64)
    fac = np.empty(4, dtype=np.int64)
    for t in range(edges.size):
        sigma, tau = edges[t], squares[t]
        level = value_by_rank[_square_rank(tau, rank, s0, n2)] if zero else np.nan
        paths, frames = _count_paths(tau, sigma, base, grad, frames, level, rank, value_by_rank, s0, n2)
        final_one = base + 2
        base += 4
        if paths != 1:
            failed[t] = True
            continue
        # follow the unique path: at each square exactly one facet leads on to sigma
        length = 0
        beta = tau
        while True:
            _square_facets(beta, s0, n2, fac)
            down = grad[3 * beta + _DOWN]
            alpha_next = NONE
            for q in range(4):
                alpha = fac[q]
                if alpha == down:
                    continue
                nxt = grad[3 * alpha + _UP]
                if alpha == sigma or (nxt != NONE and grad[3 * nxt + _MARK] == final_one):
                    alpha_next = alpha
                    break
            if 2 * length + 2 > path.size:
                path = _grown(path, 2 * length + 2)
            path[2 * length] = beta
            path[2 * length + 1] = alpha_next
            length += 1
            if alpha_next == sigma:
                break
            beta = grad[3 * alpha_next + _UP]
        for q in range(length):  # reverse: alpha_i is matched with the square before it
            grad[3 * path[2 * q + 1] + _UP] = path[2 * q]
            grad[3 * path[2 * q] + _DOWN] = path[2 * q + 1]
    return failed, base


# -- the lower stars -------------------------------------------------------------------------

@njit(cache=True, nogil=True, error_model="numpy")
def _offsets(n0, n1, n2):
    """Per-image offsets of the cells around a voxel v, by direction, square and cube code.

    ``3 v + e_off[d]`` is the compact id of v's edge in direction d, ``3 v + sq_off[q]``
    of square q, ``vc + sq_kh[q]`` its cell id (vc: v's cell id), ``vtop + cube_off[c]``
    the compact index of cube c (vtop: the cube whose lowest corner is v), and
    ``v + nb_off[x]`` the voxel at index x of the 3 x 3 x 3 block.
    """
    s0 = n1 * n2
    st = np.array([s0, n2, 1], dtype=np.int64)
    kst = np.array([(2 * n1 - 1) * (2 * n2 - 1), 2 * n2 - 1, 1], dtype=np.int64)
    t1, t2 = n1 - 1, n2 - 1
    e_off = np.empty(6, dtype=np.int64)
    for d in range(6):
        a = d >> 1
        e_off[d] = a if d & 1 else a - 3 * st[a]
    sq_off = np.empty(12, dtype=np.int64)
    sq_kh = np.empty(12, dtype=np.int64)
    for q in range(12):
        a, b = SQ_A[q], SQ_B[q]
        sq_off[q] = 3 * (min(SQ_SA[q], 0) * st[a] + min(SQ_SB[q], 0) * st[b]) + SQ_P[q]
        sq_kh[q] = SQ_SA[q] * kst[a] + SQ_SB[q] * kst[b]
    cube_off = np.empty(8, dtype=np.int64)
    for c in range(8):
        cube_off[c] = (min(CUBE_SIGN[c, 0], 0) * t1 + min(CUBE_SIGN[c, 1], 0)) * t2 + min(CUBE_SIGN[c, 2], 0)
    nb_off = np.empty(27, dtype=np.int64)
    for a in range(-1, 2):
        for b in range(-1, 2):
            for c in range(-1, 2):
                nb_off[(a + 1) * 9 + (b + 1) * 3 + c + 1] = a * s0 + b * n2 + c
    return e_off, sq_off, sq_kh, cube_off, nb_off


@njit(cache=True, nogil=True, error_model="numpy")
def _lower_squares(r, nr, sq_list, keys, codes):
    """The lower squares of a vertex of rank r, from the ranks `nr` of its 3 x 3 x 3 block.

    Fills ``sq_list`` with their codes in filtration order -- by their second and third
    largest ranks, placed by counting rather than sorted; ``keys`` and ``codes`` are
    scratch space (12 entries). Returns their number and the lower edges as bits by
    direction.
    """
    lower = 0
    for d in range(6):
        lower |= np.int64(nr[EDGE_NB[d]] < r) << d
    ms = 0
    for c in range(SQ_NCAND[lower]):  # squares with both edges at v lower; then the diagonal
        q = SQ_CAND[lower, c]
        x = nr[SQ_NA[q]]
        y = nr[SQ_NB[q]]
        z = nr[SQ_ND[q]]
        hi = max(x, max(y, z))
        lo = min(x, min(y, z))
        keys[ms] = (hi << 32) | (x + y + z - hi - lo)
        codes[ms] = q
        ms += z < r
    for t in range(ms):
        place = 0
        for u in range(ms):
            place += keys[u] < keys[t]
        sq_list[place] = codes[t]
    return ms, lower


@njit(cache=True, nogil=True, error_model="numpy")
def _lower_cubes(r, nr, sq_list, ms, cubes, found, ckeys):
    """The lower cubes of a vertex of rank r (see :func:`_lower_squares`), in filtration order.

    Fills ``cubes`` with their codes; returns their number. Cubes are placed by
    counting: two keys (the vertices' ranks, descending) mostly differ in their second
    entry; when not, they first differ where the larger of the ranks of the vertices
    one cube has and the other lacks stands, so that rank decides. ``nr[27]`` must be
    -1; ``found`` and ``ckeys`` are scratch space (8 entries).
    """
    if ms < 3:  # a lower cube has three lower squares at the vertex
        return 0
    lower = 0
    for t in range(ms):
        lower |= 1 << sq_list[t]
    mc = 0
    for c in range(8):
        if (lower & CUBE_SQ[c]) == CUBE_SQ[c] and nr[CUBE_CORNER[c]] < r:
            found[mc] = c
            mc += 1
    if mc == 1:
        cubes[0] = found[0]
        return mc
    for t in range(mc):  # second largest rank of each key: the largest of the others'
        c = found[t]
        top = nr[CUBE_NB[c, 0]]
        for s in range(1, 7):
            top = max(top, nr[CUBE_NB[c, s]])
        ckeys[t] = top
    for t in range(mc):
        c = found[t]
        place = 0
        for u in range(mc):
            if u == t:
                continue
            if ckeys[u] != ckeys[t]:
                place += ckeys[u] < ckeys[t]
                continue
            d = found[u]
            mine = -1
            theirs = -1
            for s in range(7):
                mine = max(mine, nr[CUBE_EXCL[c, d, s]])
                theirs = max(theirs, nr[CUBE_EXCL[d, c, s]])
            place += theirs < mine
        cubes[place] = c
    return mc


@njit(cache=True, nogil=True, error_model="numpy")
def _cancel_in_star(v, npair, z_sq, z_dir, sq_list, eup_l, sdown_l, e_off, sq_off, grad, fails, nfails):
    """Cancel the zero-persistence edge-square pairs of a vertex of unique value.

    The pairs (``z_dir[t]``, ``sq_list[z_sq[t]]``) come by square position. Their V-paths
    run through the lower squares (every other cell has another value), each of which
    has two facets at v, so from a square they form at most two chains. Writes the
    matching into ``grad``; appends failures (edge, square) to ``fails``.
    Returns the (possibly grown) ``fails`` and its length.
    """
    for t in range(6):
        eup_l[t] = NONE
    for t in range(12):
        sdown_l[t] = NONE
    for t in range(npair):
        tau_l, sigma = z_sq[t], z_dir[t]
        q = sq_list[tau_l]
        paths = 0
        way = NONE
        for side in range(2):
            alpha = SQ_DA[q] if side == 0 else SQ_DB[q]
            while True:
                if alpha == sigma:
                    paths += 1
                    way = side
                    break
                beta = eup_l[alpha]
                if beta == NONE:
                    break
                qb = sq_list[beta]
                alpha = SQ_DB[qb] if SQ_DA[qb] == alpha else SQ_DA[qb]
        if paths != 1:
            if 2 * nfails + 2 > fails.size:
                fails = _grown(fails, 2 * nfails + 2)
            fails[2 * nfails] = 3 * v + e_off[sigma]
            fails[2 * nfails + 1] = 3 * v + sq_off[q]
            nfails += 1
            continue
        beta = tau_l
        alpha = SQ_DA[q] if way == 0 else SQ_DB[q]
        while True:  # reverse the path: each edge takes the square before it
            nxt = eup_l[alpha]
            eup_l[alpha] = beta
            sdown_l[beta] = alpha
            if alpha == sigma:
                break
            beta = nxt
            qb = sq_list[beta]
            alpha = SQ_DB[qb] if SQ_DA[qb] == alpha else SQ_DA[qb]
    for t in range(12):
        if sdown_l[t] != NONE:
            sid = 3 * v + sq_off[sq_list[t]]
            e = 3 * v + e_off[sdown_l[t]]
            grad[3 * sid + _DOWN] = e
            grad[3 * e + _UP] = sid
    return fails, nfails


@njit(cache=True, nogil=True, error_model="numpy")
def _youngest(bits, nr):
    """Of the edges at a vertex given as bits by direction, the youngest: the larger other rank."""
    best = -1
    top = np.int64(-1)
    for d in range(6):
        if (bits >> d) & 1 and nr[EDGE_NB[d]] > top:
            best = d
            top = nr[EDGE_NB[d]]
    return best


@njit(cache=True, nogil=True, error_model="numpy")
def lower_stars(rank, tied, positive, n0, n1, n2):
    """Everything local to each vertex's lower star, in one pass over the voxels in C order.

    For each voxel v of rank r:

    * the ages of its lower cubes, ``8 r + index``, into the odd entries of the dual
      union-find ``uf`` (parents, even entries, are set by :func:`dual_sweep`);
    * the edge-square pairs inside its lower star, by a column reduction (homology) of
      its lower squares' boundaries in filtration order, rows of negative edges left
      out. While a column's pivot (its youngest edge) lies at v, only older squares of
      the same star can own it, so the reduction is the global one, and the edges at v
      (younger than the others) decide it: a column is a bit set of v's lower edges,
      beside the set of squares it sums. A column whose pivot leaves the star (a pair
      of positive persistence, or a square that will prove positive) is left to
      :func:`dual_sweep` and :func:`middle_pairs`. ``owner[e]`` records each pair: the
      square, or -2 - k when its column sums several squares, listed in ``sums[k]``
      (``v << 12`` and the squares' codes as bits);
    * when its value is unique (``tied``, per voxel, empty or 0 there), these pairs are
      all its edge-square pairs of zero persistence, and they are cancelled here in
      order of square position (into ``grad``, see :func:`cancel_middle`). A
      pair whose square is the edge's oldest cofacet and has it as youngest facet (an
      *apparent pair*) is cancelled without a search: any other V-path from the square
      to the edge would run through an older lower square (every matched one is older)
      with the edge as a facet. On ties the pairs are returned for the caller to
      cancel once every pair of the level set is known.

    Returns ``code`` per voxel: its lower squares in no pair yet (the only ones the dual
    union-find must see), in filtration order, 4 bits each from bit 4, their count in
    bits 0-3; ``owner``, ``sums``, ``grad``, ``uf``, the failed cancellations and
    the pairs left on ties, as (edge, square) rows.
    """
    s0 = n1 * n2
    n = n0 * s0
    t1, t2 = n1 - 1, n2 - 1
    n_top = (n0 - 1) * t1 * t2
    e_off, sq_off, _, cube_off, _ = _offsets(n0, n1, n2)
    code = np.empty(n, dtype=np.uint64)
    owner = np.full(3 * n, NONE, dtype=IDX)
    grad = np.full(9 * n, NONE, dtype=IDX)
    uf = np.empty(2 * (n_top + 1), dtype=IDX)
    sums = np.empty(1024, dtype=np.int64)
    nsums = 0
    fails = np.empty(16, dtype=np.int64)
    nfails = 0
    tie_pairs = np.empty(16, dtype=np.int64)
    nties = 0
    nr = np.empty(28, dtype=np.int64)
    nr[27] = -1
    sq_list = np.empty(12, dtype=np.int64)
    keys = np.empty(12, dtype=np.int64)
    codes = np.empty(12, dtype=np.int64)
    cubes = np.empty(8, dtype=np.int64)
    found = np.empty(8, dtype=np.int64)
    ckeys = np.empty(8, dtype=np.int64)
    col = np.empty(12, dtype=np.int64)  # the lower squares' reduced columns: edges at v by direction
    summed = np.empty(12, dtype=np.int64)  # ... and the squares they sum, as code bits
    loc_owner = np.empty(6, dtype=np.int64)  # direction -> the square (index) paired with it
    z_sq = np.empty(12, dtype=np.int64)
    z_dir = np.empty(12, dtype=np.int64)
    eup_l = np.empty(6, dtype=np.int64)
    sdown_l = np.empty(12, dtype=np.int64)
    has_ties = tied.size > 0
    v = 0
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                r = np.int64(rank[v])
                _block(v, i, j, k, rank, n0, n1, n2, n, nr)
                ms, _ = _lower_squares(r, nr, sq_list, keys, codes)
                if ms == 0:
                    code[v] = 0
                    v += 1
                    continue
                mc = _lower_cubes(r, nr, sq_list, ms, cubes, found, ckeys)
                vtop = (i * t1 + j) * t2 + k
                for t in range(mc):
                    uf[2 * (vtop + cube_off[cubes[t]]) + 1] = 2 * (r * CUBE_SLOT + t)
                bits = np.int64(positive[v])
                for d in range(6):
                    loc_owner[d] = NONE
                word = np.uint64(0)
                nfree = 0
                npair = 0
                apparent = True
                seen = 0  # directions of the edges at v of the squares so far
                for t in range(ms):
                    q = sq_list[t]
                    da, db = SQ_DA[q], SQ_DB[q]
                    cm = bits & ((1 << da) | (1 << db))  # its positive edges at v, as directions
                    sm = np.int64(1) << q
                    paired = NONE
                    while cm != 0:  # reduce while the pivot lies at v
                        d = _youngest(cm, nr)
                        o = loc_owner[d]
                        if o == NONE:
                            paired = d
                            break
                        cm ^= col[o]
                        sm ^= summed[o]
                    col[t] = cm
                    summed[t] = sm
                    young = da if nr[SQ_NA[q]] > nr[SQ_NB[q]] else db
                    first = not (seen >> young) & 1
                    seen |= (1 << da) | (1 << db)
                    if paired == NONE:
                        word |= np.uint64(q) << np.uint64(4 + 4 * nfree)
                        nfree += 1
                        continue
                    loc_owner[paired] = t
                    e = 3 * v + e_off[paired]
                    if sm != np.int64(1) << q:
                        if nsums == sums.size:
                            sums = _grown(sums, nsums + 1)
                        sums[nsums] = (np.int64(v) << 12) | sm
                        owner[e] = -2 - nsums
                        nsums += 1
                        apparent = False
                    else:
                        owner[e] = 3 * v + sq_off[q]
                        apparent = apparent and paired == young and first
                    z_sq[npair] = t
                    z_dir[npair] = paired
                    npair += 1
                if npair > 0:
                    if has_ties and tied[v] != 0:
                        tie_pairs = _grown(tie_pairs, 2 * (nties + npair))
                        for t in range(npair):
                            tie_pairs[2 * nties] = 3 * v + e_off[z_dir[t]]
                            tie_pairs[2 * nties + 1] = 3 * v + sq_off[sq_list[z_sq[t]]]
                            nties += 1
                    elif apparent:
                        for t in range(npair):
                            e = 3 * v + e_off[z_dir[t]]
                            sid = 3 * v + sq_off[sq_list[z_sq[t]]]
                            grad[3 * e + _UP] = sid
                            grad[3 * sid + _DOWN] = e
                    else:
                        fails, nfails = _cancel_in_star(v, npair, z_sq, z_dir, sq_list, eup_l, sdown_l, e_off,
                                                        sq_off, grad, fails, nfails)
                code[v] = word | np.uint64(nfree)
                v += 1
    uf[2 * n_top + 1] = MAX_POSITION  # OUTSIDE is the oldest, and never alone
    return (code, owner, sums[:nsums].copy(), grad, uf, fails[:2 * nfails].reshape(nfails, 2).copy(),
            tie_pairs[:2 * nties].reshape(nties, 2).copy())


@njit(cache=True, nogil=True, error_model="numpy")
def _find2(uf, x):
    """Find in a union-find whose parents are the even entries of `uf` (path halving)."""
    while uf[2 * x] != x:
        uf[2 * x] = uf[2 * uf[2 * x]]
        x = uf[2 * x]
    return x


@njit(cache=True, nogil=True, error_model="numpy")
def dual_sweep(order, value_by_rank, code, uf, n0, n1, n2):
    """Square-cube pairs by union-find on cubes and OUTSIDE, backwards over the vertices.

    Each vertex's lower squares in no pair yet (``code``, from :func:`lower_stars`) join
    the cubes on their two sides, in reverse filtration order. A square that merges two
    dual components is a birth, and the younger component's oldest cube (the smaller
    age: ``uf``'s odd entries) dies with it; zero-persistence pairs are cancelled on the
    spot (:func:`._kernels._cancel_dual`). A square that merges nothing is negative: it
    is paired with an edge of another star, by :func:`middle_pairs`.

    Returns the pairs as :func:`._kernels.pair_buffers` (keys left 0), the gradient
    trees' union-find ``gparent`` (compact cubes, OUTSIDE last), and the negative
    squares (compact ids) in filtration order.
    """
    s0 = n1 * n2
    n = n0 * s0
    cs1, cs2 = 2 * n1 - 1, 2 * n2 - 1
    t1, t2 = n1 - 1, n2 - 1
    n_top = (n0 - 1) * t1 * t2
    outside = n_top
    _, sq_off, sq_kh, cube_off, _ = _offsets(n0, n1, n2)
    for t in range(n_top + 1):
        uf[2 * t] = t
    gparent = np.arange(n_top + 1, dtype=IDX)
    buffers = pair_buffers(n_top)
    p_birth, p_death, p_bv, p_dv, p_key, f_birth, f_death, f_value = buffers
    npos = nfail = 0
    negative = np.empty(1024, dtype=np.int64)
    nneg = 0
    for r in range(n - 1, -1, -1):
        if r >= AHEAD:
            w = order[r - AHEAD]
            prefetch(code, w)
            wi, wj, wk = _coords(w, n1, n2)
            wt = (wi * t1 + wj) * t2 + wk
            prefetch(uf, 2 * min(wt, n_top))
            prefetch(uf, 2 * max(wt - t1 * t2, 0))
        v = order[r]
        word = code[v]
        if word == 0:
            continue
        value = value_by_rank[r]
        i, j, k = _coords(v, n1, n2)
        vc = ((2 * i) * cs1 + 2 * j) * cs2 + 2 * k
        vtop = (i * t1 + j) * t2 + k  # the cube with lowest corner v, as if it existed
        for t in range(np.int64(word & np.uint64(15)) - 1, -1, -1):
            q = np.int64((word >> np.uint64(4 + 4 * t)) & np.uint64(15))
            # the cubes on either side, along the square's normal p
            p = SQ_P[q]
            c = i if p == 0 else (j if p == 1 else k)
            limit = n0 if p == 0 else (n1 if p == 1 else n2)
            lo = vtop + cube_off[SQ_CLO[q]] if c > 0 else outside
            hi = vtop + cube_off[SQ_CHI[q]] if c < limit - 1 else outside
            a = _find2(uf, lo)
            b = _find2(uf, hi)
            if a == b:
                if nneg == negative.size:
                    negative = _grown(negative, nneg + 1)
                negative[nneg] = 3 * v + sq_off[q]
                nneg += 1
                continue
            ka = uf[2 * a + 1] >> 1
            kb = uf[2 * b + 1] >> 1
            if ka > kb:
                a, b = b, a
                ka = kb
            tau = a  # the representative of a set is its oldest cube: the younger dies
            grown = uf[2 * a + 1] & 1
            uf[2 * a] = b
            uf[2 * b + 1] |= 1
            cell = vc + sq_kh[q]
            dvalue = value_by_rank[ka >> _CUBE_SHIFT]
            if dvalue < value:
                p_birth[npos] = cell
                p_death[npos] = _top_cell(tau, n0, n1, n2)
                p_bv[npos] = value
                p_dv[npos] = dvalue
                p_key[npos] = 0
                npos += 1
            elif not grown:
                # tau is alone in its component, so its gradient tree is {tau}: exactly
                # one V-path, the square itself
                gparent[tau] = hi if lo == tau else lo
            elif not _cancel_dual(tau, lo, hi, gparent):
                f_birth[nfail] = cell
                f_death[nfail] = _top_cell(tau, n0, n1, n2)
                f_value[nfail] = value
                nfail += 1
    return trimmed(buffers, npos, nfail), gparent, negative[:nneg][::-1].copy()


@njit(cache=True, nogil=True, error_model="numpy")
def middle_pairs(squares, rank, value_by_rank, owner, sums, n0, n1, n2):
    """The edge-square pairs left by :func:`lower_stars`: a column reduction (homology).

    `squares` are the negative squares in no pair yet, in filtration order (clearing:
    the positive squares' columns would reduce to zero). A column -- edges as keys
    (:func:`_edge_key`) beside their ids -- lives in a binary heap while it is reduced,
    so adding the short column of a pair inside one star costs its own length; the
    pivot is the youngest edge. The owners of the edges a column takes in are fetched
    as they come, ahead of their turn as pivot. The columns that needed a reduction are
    stored. ``owner`` (see :func:`lower_stars`) is updated in place; stored columns are
    numbered after ``sums``.

    Returns the pairs (compact edge, compact square, values).
    """
    s0 = n1 * n2
    _, sq_off, _, _, _ = _offsets(n0, n1, n2)
    edges = np.empty(squares.size, dtype=IDX)
    bvalue = np.empty(squares.size, dtype=np.float64)
    dvalue = np.empty(squares.size, dtype=np.float64)
    nsums = sums.size
    pool_keys = np.empty(1024, dtype=np.int64)
    pool_ids = np.empty(1024, dtype=np.int64)
    col_start = np.empty(64, dtype=np.int64)
    col_len = np.empty(64, dtype=np.int64)
    ncol = 0
    pool_end = 0
    heap_keys = np.empty(1024, dtype=np.int64)
    heap_ids = np.empty(1024, dtype=np.int64)
    keys = np.empty(4, dtype=np.int64)
    ids = np.empty(4, dtype=np.int64)
    for t in range(squares.size):
        sid = squares[t]
        _boundary(sid, rank, s0, n2, keys, ids)
        best = 0
        for q in range(1, 4):
            if keys[q] > keys[best]:
                best = q
        e = ids[best]
        piv = keys[best]
        o = owner[e]
        if o == NONE:
            owner[e] = sid
        else:
            h = 0
            for q in range(4):
                h = _heap_push(heap_keys, heap_ids, h, keys[q], ids[q])
            while True:
                if o >= 0 or -2 - o < nsums:  # one square, or several of one star
                    entry = sums[-2 - o] if o < 0 else np.int64(-1)
                    for q in range(12):
                        if o >= 0:
                            if q > 0:
                                break
                            other = np.int64(o)
                        elif (entry >> q) & 1:
                            other = 3 * (entry >> 12) + sq_off[q]
                        else:
                            continue
                        _boundary(other, rank, s0, n2, keys, ids)
                        heap_keys = _grown(heap_keys, h + 4)
                        heap_ids = _grown(heap_ids, h + 4)
                        for x in range(4):
                            prefetch(owner, ids[x])
                            h = _heap_push(heap_keys, heap_ids, h, keys[x], ids[x])
                else:
                    c = -2 - o - nsums
                    first = col_start[c]
                    heap_keys = _grown(heap_keys, h + col_len[c])
                    heap_ids = _grown(heap_ids, h + col_len[c])
                    for x in range(first, first + col_len[c]):
                        prefetch(owner, pool_ids[x])
                        h = _heap_push(heap_keys, heap_ids, h, pool_keys[x], pool_ids[x])
                found, h = _heap_pivot(heap_keys, heap_ids, h)
                if not found:
                    raise RuntimeError("a negative square with no edge to pair")
                piv = heap_keys[0]
                e = heap_ids[0]
                o = owner[e]
                if o == NONE:
                    break
            # store the reduced column
            pool_keys = _grown(pool_keys, pool_end + h)
            pool_ids = _grown(pool_ids, pool_end + h)
            m = 0
            while h > 0:
                key = heap_keys[0]
                ident = heap_ids[0]
                h = _heap_pop(heap_keys, heap_ids, h)
                if h > 0 and heap_keys[0] == key:
                    h = _heap_pop(heap_keys, heap_ids, h)
                else:
                    pool_keys[pool_end + m] = key
                    pool_ids[pool_end + m] = ident
                    m += 1
            if ncol == col_start.size:
                col_start = _grown(col_start, ncol + 1)
                col_len = _grown(col_len, ncol + 1)
            col_start[ncol] = pool_end
            col_len[ncol] = m
            pool_end += m
            owner[e] = -2 - (nsums + ncol)
            ncol += 1
        edges[t] = e
        bvalue[t] = value_by_rank[piv >> 32]
        dvalue[t] = value_by_rank[_square_rank(sid, rank, s0, n2)]
    return edges, squares.astype(IDX), bvalue, dvalue


@njit(cache=True, nogil=True, error_model="numpy")
def square_positions(squares, rank, n0, n1, n2):
    """Positions ``16 r + index in the lower star`` of compact squares: their filtration order."""
    s0 = n1 * n2
    n = n0 * s0
    out = np.empty(squares.size, dtype=np.int64)
    nr = np.empty(27, dtype=np.int64)
    sq_list = np.empty(12, dtype=np.int64)
    keys = np.empty(12, dtype=np.int64)
    codes = np.empty(12, dtype=np.int64)
    _, sq_off, _, _, nb_off = _offsets(n0, n1, n2)
    for t in range(squares.size):
        sid = squares[t]
        m, a, b, sa, sb = _square_frame(sid, s0, n2)
        v = m
        for u in (m + sa, m + sb, m + sa + sb):
            if rank[u] > rank[v]:
                v = u
        i, j, k = _coords(v, n1, n2)
        r = np.int64(rank[v])
        _block(v, i, j, k, rank, n0, n1, n2, n, nr)
        ms, _ = _lower_squares(r, nr, sq_list, keys, codes)
        place = 0
        while 3 * v + sq_off[sq_list[place]] != sid:
            place += 1
        out[t] = SQ_SLOT * r + place
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def paint_boundaries_3d(label, root_strength, frame, n0, n1, n2, boundaries, saliency):
    """Paint the voxels of the squares between two different basins (see the engine) into zeroed arrays.

    ``label`` has one entry per cube (C order, shape (n0 - 1, n1 - 1, n2 - 1)); beyond
    the border lies OUTSIDE, label 0, whose squares count only with `frame`.
    """
    s0 = n1 * n2
    t1, t2 = n1 - 1, n2 - 1
    for p in range(3):
        # the squares normal to axis p, by lowest corner (i, j, k): along p they may lie
        # on the border, along the other axes they stop one short of it
        for i in range(n0 - (p != 0)):
            for j in range(n1 - (p != 1)):
                for k in range(n2 - (p != 2)):
                    c = i if p == 0 else (j if p == 1 else k)
                    limit = n0 if p == 0 else (n1 if p == 1 else n2)
                    if not frame and (c == 0 or c == limit - 1):
                        continue
                    base = (i * t1 + j) * t2 + k  # the cube above along p; below: base - step
                    step = t1 * t2 if p == 0 else (t2 if p == 1 else 1)
                    la = label[base - step] if c > 0 else 0
                    lb = label[base] if c < limit - 1 else 0
                    if la == lb:
                        continue
                    strength = min(root_strength[la], root_strength[lb])
                    u = (i * n1 + j) * n2 + k
                    sa = n2 if p == 0 else s0
                    sb = n2 if p == 2 else 1
                    for x in (u, u + sa, u + sb, u + sa + sb):
                        boundaries[x] = True
                        saliency[x] = max(saliency[x], strength)
    return boundaries, saliency


@njit(cache=True, nogil=True, error_model="numpy")
def positions_3d(cells, rank, n0, n1, n2):
    """Filtration positions of the given cells (cell ids): 27 r + index in the lower star.

    r is the rank of the cell's lowest vertex v; the index counts the cells of v's lower
    star with a smaller key, most of them told apart by their second largest rank.
    """
    cs1, cs2 = 2 * n1 - 1, 2 * n2 - 1
    n = n0 * n1 * n2
    out = np.empty(cells.size, dtype=np.int64)
    key = np.empty(8, dtype=np.int64)
    other = np.empty(8, dtype=np.int64)
    nr = np.empty(28, dtype=np.int64)
    nr[27] = -1
    for t in range(cells.size):
        c0 = cells[t] // (cs1 * cs2)
        rest = cells[t] - c0 * cs1 * cs2
        c1 = rest // cs2
        c2 = rest - c1 * cs2
        nk = 0
        v = 0
        for a in range((c0 & 1) + 1):
            for b in range((c1 & 1) + 1):
                for c in range((c2 & 1) + 1):
                    u = ((c0 // 2 + a) * n1 + c1 // 2 + b) * n2 + c2 // 2 + c
                    x = np.int64(rank[u])
                    q = nk - 1
                    while q >= 0 and key[q] < x:
                        key[q + 1] = key[q]
                        q -= 1
                    key[q + 1] = x
                    nk += 1
                    if x >= key[0]:
                        v = u
        r = key[0]
        k1 = key[1] if nk > 1 else -1
        i, j, k = _coords(v, n1, n2)
        _block(v, i, j, k, rank, n0, n1, n2, n, nr)
        count = 0 if nk == 1 else 1  # v itself comes first
        for x in range(27):
            if x == 13:
                continue
            top = nr[STAR_NB[x, 0]]  # the cell towards block index x: its largest other rank
            for s in range(1, 7):
                top = max(top, nr[STAR_NB[x, s]])
            if top >= r or top > k1:  # not in the lower star (or beyond the border), or younger
                continue
            if top < k1:
                count += 1
                continue
            no = 0  # a tie on the second entry: compare whole keys
            for s in range(7):
                w = nr[STAR_NB[x, s]]
                if STAR_NB[x, s] == 27:
                    break
                q = no - 1
                while q >= 0 and other[q] < w:
                    other[q + 1] = other[q]
                    q -= 1
                other[q + 1] = w
                no += 1
            less = no < nk - 1
            for s in range(min(no, nk - 1)):
                if other[s] != key[s + 1]:
                    less = other[s] < key[s + 1]
                    break
            if less:
                count += 1
        out[t] = 27 * r + count
    return out
