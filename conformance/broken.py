"""Deliberately broken implementations: each makes ONE real mistake; the suite must catch it.

``DMTLOSS_IMPL=dmtloss.conformance.broken.<name>``. Each wraps ``dmtloss.reference`` (or its
building blocks, or cripser) and changes exactly what its one-line description says:

=========================  ==================================================================
``ties_index_descending``  ties ranked by C index descending instead of ascending (all levels)
``no_outside``             dual union-find for the (d-1)-pairs without the OUTSIDE node (diagram)
``sublevel``               sublevel filtration of x (cells take the max of their vertices) (all)
``t_construction``         pixels as top cells: cripser ``computePH_T`` of -x (diagram)
``eight_connectivity``     0-dim pairs from a union-find over 8 (2-D) / 26 (3-D) neighbours (diagram)
``quantised_256``          input quantised to 256 levels (uint8, as the authors' pipeline) (all)
``younger_elder_swapped``  elder rule reversed: at a merge the OLDER component dies (diagram)
``zero_persistence_kept``  zero-persistence pairs left in the diagram (diagram)
``epsilon_strict``         persistence compared with epsilon by < instead of <= (cells, masks)
``frame_in_boundaries``    boundaries always include the frame (frame=True ignored) (masks)
``ridge_drop_last``        off by one: the last pixel of each ridge V-path is not painted (masks)
``ridges_dilated``         ridges dilated by one pixel (4-neighbours) (masks)
``cells_fortran_order``    cells reported with their coordinates reversed (x, y) (cells)
``mutates_input``          negates the caller's array in place (to run a sublevel code) (all)
``freezes_input``          leaves the caller's array read-only (all)
``memory_order``           reads the input in memory order: wrong on F-ordered and reversed views (all)
``narrow_integer_cast``    integer input cast through int16 first (all)
``masks_uint8``            masks of dtype uint8 instead of bool (masks)
``cells_int32``            pairs' and critical cells as int32 instead of int64 (cells)
``diagram_rows_by_dim_desc``  diagram rows by dimension descending, as GUDHI lists them (diagram)
``pairs_by_dimension``     pairs sorted by dimension instead of by birth position (cells)
``critical_sorted``        critical cells in lexicographic instead of filtration order (cells)
``uncancelled_dropped``    uncancelled pairs not reported (cells)
``basin_labels_uint8``     basin labels kept in a uint8: wrap past 255 basins (masks)
``positive_ties_reversed``  equal positive persistences cancelled in the reverse tie order (cells, masks)
=========================  ==================================================================

(The level in brackets is where the mistake shows; every one declares the levels its
results cover, so the others are reported as skipped.)
"""

from types import SimpleNamespace

import numpy as np
from scipy.ndimage import binary_dilation, generate_binary_structure

from dmtloss import __version__, reference
from dmtloss.reference import structures as _s
from dmtloss.reference.complex import OUTSIDE, CubicalComplex
from dmtloss.reference.persistence import persistence_pairs_of
from dmtloss.reference.gradient import GradientField
from dmtloss.reference.results import PersistencePairs
from dmtloss.reference.simplify import simplify

ALL = ("diagram", "cells", "masks")
__all__ = ["ties_index_descending", "no_outside", "sublevel", "t_construction", "eight_connectivity",
           "quantised_256", "younger_elder_swapped", "zero_persistence_kept", "epsilon_strict",
           "frame_in_boundaries", "ridge_drop_last", "ridges_dilated", "cells_fortran_order",
           "mutates_input", "freezes_input", "memory_order", "narrow_integer_cast", "masks_uint8", "cells_int32",
           "diagram_rows_by_dim_desc", "pairs_by_dimension", "critical_sorted", "uncancelled_dropped",
           "basin_labels_uint8", "positive_ties_reversed"]


class Broken:
    """Base: the reference at every level; subclasses override one step."""

    LEVELS = ALL
    VERSION = __version__

    @property
    def NAME(self):  # noqa: N802 -- protocol attribute
        return f"broken.{type(self).__name__}"

    def persistence_diagram(self, x):
        return reference.persistence_diagram(x)

    def persistence_pairs(self, x):
        return reference.persistence_pairs(x)

    def morse_structures(self, x, epsilon, frame=False):
        return reference.morse_structures(x, epsilon, frame=frame)


def _uncancelled(pairs, ndim):
    """A PersistencePairs of the reference's internal pair dicts."""
    def cells(key, fill):
        return np.array([p[key] if p[key] is not None else fill for p in pairs], dtype=np.int64).reshape(-1, ndim)

    return PersistencePairs(np.array([p["dim"] for p in pairs], dtype=np.int64), cells("birth", None),
                            cells("death", (-1,) * ndim),
                            np.array([p["birth_value"] for p in pairs], dtype=np.float64),
                            np.array([p["death_value"] for p in pairs], dtype=np.float64))


def _pipeline(x, epsilon, frame, *, keep_epsilon=None, boundary_frame=None, ridges=_s._ridges,
              simplify=simplify, basin_dtype=None):
    """reference.morse_structures, step by step, with hooks for one mistake."""
    cx = CubicalComplex(np.asarray(x, dtype=np.float64))
    keep_epsilon = epsilon if keep_epsilon is None else keep_epsilon
    _, pairs = persistence_pairs_of(cx)
    field, uncancelled = simplify(cx, pairs, keep_epsilon)
    ridge_mask, _ = ridges(cx, field, pairs, keep_epsilon)
    basins, roots = _s._basins(cx, field)
    if basin_dtype is not None:
        basins = basins.astype(basin_dtype)
    death_persistence = {p["death"]: p["persistence"] for p in pairs if p["death"] is not None}
    root_persistence = [np.inf] + [death_persistence[r] for r in roots]
    boundaries, _ = _s._boundaries(cx, basins, root_persistence, frame if boundary_frame is None else boundary_frame)
    critical = np.array(field.critical_cells(), dtype=np.int64).reshape(-1, cx.ndim)
    ndim = cx.ndim
    return SimpleNamespace(critical=critical, uncancelled=_uncancelled(uncancelled, ndim), ridges=ridge_mask,
                           boundaries=boundaries, basins=basins,
                           mask=lambda: ridge_mask | boundaries if ndim == 3 else ridge_mask.copy())


def _replace_dimension(x, dim, rows):
    """The reference diagram with the rows of one dimension replaced by ``rows``."""
    base = reference.persistence_diagram(x)
    rows = np.asarray(rows, dtype=np.float64).reshape(-1, 3)
    return np.vstack([base[base[:, 0] != dim], rows[rows[:, 1] != rows[:, 2]]])


def _zero_dim_rows(x, neighbours="face", elder=True):
    """0-dim superlevel pairs by union-find over pixels in rank order.

    ``neighbours="face"`` (4 / 6, the contract) or ``"all"`` (8 / 26); ``elder=False``
    kills the older component at a merge instead of the younger.
    """
    x = np.asarray(x, dtype=np.float64)
    rank = CubicalComplex(x).rank
    structure = generate_binary_structure(x.ndim, 1 if neighbours == "face" else x.ndim)
    offsets = [tuple(o - 1 for o in off) for off in np.argwhere(structure) if tuple(off) != (1,) * x.ndim]
    parent, root_of = {}, {}

    def find(p):
        while parent[p] != p:
            parent[p] = parent[parent[p]]
            p = parent[p]
        return p

    rows = []
    for flat in np.argsort(rank, axis=None):
        p = np.unravel_index(flat, x.shape)
        p = tuple(int(i) for i in p)
        parent[p] = p
        root_of[p] = p  # the birth pixel of the component of root p
        for off in offsets:
            q = tuple(a + b for a, b in zip(p, off))
            if q not in parent:
                continue  # outside the image, or not entered yet
            a, b = find(p), find(q)
            if a == b:
                continue
            older, younger = sorted((root_of[a], root_of[b]), key=lambda v: rank[v])
            dies = younger if elder else older
            rows.append((0, x[dies], x[p]))
            keep = a if root_of[a] != dies else b
            parent[b if keep == a else a] = keep
    survivor = root_of[find(tuple(int(i) for i in np.unravel_index(0, x.shape)))]
    rows.append((0, x[survivor], -np.inf))
    return rows


def _dual_rows(x, outside=True):
    """(d-1)-dim pairs by union-find on top cells (and OUTSIDE) in reverse filtration order."""
    cx = CubicalComplex(np.asarray(x, dtype=np.float64))
    d = cx.ndim
    parent = {OUTSIDE: OUTSIDE} if outside else {}
    birth = {OUTSIDE: float("inf")}  # reverse position of each root's birth: OUTSIDE oldest

    def find(c):
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    rows = []
    order = cx.filtration()[::-1]
    for step, cell in enumerate(order):
        dim = cx.dim(cell)
        if dim == d:
            parent[cell] = cell
            birth[cell] = -step  # entered later in reverse order = younger = smaller
        elif dim == d - 1:
            sides = [c for c in cx.cofacets(cell, outside=outside) if c in parent]
            if len(sides) != 2:
                continue
            a, b = find(sides[0]), find(sides[1])
            if a == b:
                continue
            younger, older = sorted((a, b), key=lambda r: birth[r])
            rows.append((d - 1, cx.value(cell), cx.value(younger)))
            parent[younger] = older
    return rows


def _flip_cells(cells, shape):
    cells = np.asarray(cells, dtype=np.int64)
    top = np.array([2 * n - 2 for n in shape], dtype=np.int64)
    return np.where(cells < 0, cells, top - cells)


class TiesIndexDescending(Broken):
    """Ties ranked by C index descending: the reference on the image with every axis reversed."""

    def persistence_pairs(self, x):
        x = np.asarray(x, dtype=np.float64)
        p = reference.persistence_pairs(np.flip(x))
        return PersistencePairs(p.dim, _flip_cells(p.birth, x.shape), _flip_cells(p.death, x.shape),
                                p.birth_value, p.death_value)

    def morse_structures(self, x, epsilon, frame=False):
        x = np.asarray(x, dtype=np.float64)
        s = reference.morse_structures(np.flip(x), epsilon, frame=frame)
        u = s.uncancelled
        return SimpleNamespace(critical=_flip_cells(s.critical, x.shape), ridges=np.flip(s.ridges),
                               uncancelled=PersistencePairs(u.dim, _flip_cells(u.birth, x.shape),
                                                            _flip_cells(u.death, x.shape), u.birth_value,
                                                            u.death_value),
                               boundaries=np.flip(s.boundaries), mask=lambda: np.flip(s.mask()))


class NoOutside(Broken):
    """The (d-1)-pairs from a dual union-find that has no OUTSIDE node."""

    LEVELS = ("diagram",)

    def persistence_diagram(self, x):
        return _replace_dimension(x, np.ndim(x) - 1, _dual_rows(x, outside=False))


class Sublevel(Broken):
    """The sublevel filtration (a cell's value the max of its pixels), reported in x's values."""

    def persistence_diagram(self, x):
        d = reference.persistence_diagram(-np.asarray(x, dtype=np.float64))
        return np.column_stack([d[:, 0], -d[:, 1], -d[:, 2]])

    def persistence_pairs(self, x):
        p = reference.persistence_pairs(-np.asarray(x, dtype=np.float64))
        return PersistencePairs(p.dim, p.birth, p.death, -p.birth_value, -p.death_value)

    def morse_structures(self, x, epsilon, frame=False):
        return reference.morse_structures(-np.asarray(x, dtype=np.float64), epsilon, frame=frame)


class TConstruction(Broken):
    """Pixels as top cells (the T-construction): cripser.computePH_T of -x, negated back."""

    LEVELS = ("diagram",)

    def persistence_diagram(self, x):
        import cripser

        x = np.ascontiguousarray(x, dtype=np.float64)
        pairs = cripser.computePH_T(-x, maxdim=x.ndim - 1)
        death = np.where(pairs[:, 2] >= np.finfo(np.float64).max, np.inf, pairs[:, 2])
        rows = np.column_stack([pairs[:, 0], -pairs[:, 1], -death])
        return rows[rows[:, 1] != rows[:, 2]]


class EightConnectivity(Broken):
    """Components joined through corners: 0-dim pairs over 8 (26) neighbours."""

    LEVELS = ("diagram",)

    def persistence_diagram(self, x):
        return _replace_dimension(x, 0, _zero_dim_rows(x, neighbours="all"))


class Quantised256(Broken):
    """The input quantised to 256 levels first, as uint8 (the authors' DIPHA pipeline)."""

    @staticmethod
    def _q(x):
        return np.clip(np.round(np.asarray(x, dtype=np.float64) * 255), 0, 255).astype(np.uint8) / 255

    def persistence_diagram(self, x):
        return reference.persistence_diagram(self._q(x))

    def persistence_pairs(self, x):
        return reference.persistence_pairs(self._q(x))

    def morse_structures(self, x, epsilon, frame=False):
        return reference.morse_structures(self._q(x), epsilon, frame=frame)


class YoungerElderSwapped(Broken):
    """At a merge the older component dies instead of the younger one."""

    LEVELS = ("diagram",)

    def persistence_diagram(self, x):
        return _replace_dimension(x, 0, _zero_dim_rows(x, elder=False))


class ZeroPersistenceKept(Broken):
    """The diagram keeps the pairs of zero persistence."""

    LEVELS = ("diagram",)

    def persistence_diagram(self, x):
        _, pairs = persistence_pairs_of(CubicalComplex(np.asarray(x, dtype=np.float64)))
        return np.array([(p["dim"], p["birth_value"], p["death_value"]) for p in pairs])


class EpsilonStrict(Broken):
    """Cancels pairs with persistence < epsilon (and keeps those >= epsilon): < for <=."""

    def morse_structures(self, x, epsilon, frame=False):
        return _pipeline(x, epsilon, frame, keep_epsilon=np.nextafter(float(epsilon), -np.inf))


class FrameInBoundaries(Broken):
    """Boundaries always include the cells separating basins from the frame."""

    def morse_structures(self, x, epsilon, frame=False):
        return _pipeline(x, epsilon, frame, boundary_frame=True)


def _ridges_drop_last(cx, field, pairs, epsilon):
    """As the reference's ridges, but each V-path stops one pixel short of its critical vertex."""
    ridges = np.zeros(cx.shape, dtype=bool)
    for p in pairs:
        edge = p["death"] if p["dim"] == 0 else p["birth"]
        if edge is None or cx.dim(edge) != 1 or not p["persistence"] > epsilon:
            continue
        for vertex in cx.facets(edge):
            path = [vertex]
            while vertex in field.up:
                up = field.up[vertex]
                vertex = next(v for v in cx.facets(up) if v != vertex)
                path.append(vertex)
            for v in path[:-1] if len(path) > 1 else path:  # off by one
                ridges[cx.pixel(v)] = True
    return ridges, None


class RidgeDropLast(Broken):
    """Ridge V-paths lose their last pixel (the critical vertex they reach)."""

    def morse_structures(self, x, epsilon, frame=False):
        return _pipeline(x, epsilon, frame, ridges=_ridges_drop_last)


class RidgesDilated(Broken):
    """Ridges dilated by one pixel (4 / 6 neighbours)."""

    def morse_structures(self, x, epsilon, frame=False):
        s = reference.morse_structures(x, epsilon, frame=frame)
        ridges = binary_dilation(s.ridges, generate_binary_structure(s.ridges.ndim, 1))
        boundaries = s.boundaries
        return SimpleNamespace(critical=s.critical, uncancelled=s.uncancelled, ridges=ridges, boundaries=boundaries,
                               mask=lambda: ridges | boundaries if ridges.ndim == 3 else ridges)


class CellsFortranOrder(Broken):
    """Cells with their doubled coordinates in reversed axis order (column-major thinking)."""

    LEVELS = ("diagram", "cells")

    def persistence_pairs(self, x):
        p = reference.persistence_pairs(x)
        return PersistencePairs(p.dim, p.birth[:, ::-1], p.death[:, ::-1], p.birth_value, p.death_value)

    def morse_structures(self, x, epsilon, frame=False):
        s = reference.morse_structures(x, epsilon, frame=frame)
        u = s.uncancelled
        return SimpleNamespace(critical=s.critical[:, ::-1], uncancelled=PersistencePairs(
            u.dim, u.birth[:, ::-1], u.death[:, ::-1], u.birth_value, u.death_value))


class MutatesInput(Broken):
    """Negates the caller's float array in place, to run a sublevel code on it, and keeps it so."""

    @staticmethod
    def _negated(x):
        a = np.asarray(x)
        if a.dtype == np.float64 and a.flags.writeable:
            a *= -1  # in place: the caller's array
            return -a
        return a

    def persistence_diagram(self, x):
        return reference.persistence_diagram(self._negated(x))

    def persistence_pairs(self, x):
        return reference.persistence_pairs(self._negated(x))

    def morse_structures(self, x, epsilon, frame=False):
        return reference.morse_structures(self._negated(x), epsilon, frame=frame)


class FreezesInput(Broken):
    """Marks the caller's array read-only (as a result type that shares memory with it would)."""

    @staticmethod
    def _frozen(x):
        a = np.asarray(x)
        a.setflags(write=False)
        return a

    def persistence_diagram(self, x):
        return reference.persistence_diagram(self._frozen(x))

    def persistence_pairs(self, x):
        return reference.persistence_pairs(self._frozen(x))

    def morse_structures(self, x, epsilon, frame=False):
        return reference.morse_structures(self._frozen(x), epsilon, frame=frame)


class MemoryOrder(Broken):
    """Reads the pixels in memory order (``ravel(order="K")``) and reshapes them in C order."""

    @staticmethod
    def _read(x):
        a = np.asarray(x)
        return a.ravel(order="K").reshape(a.shape)

    def persistence_diagram(self, x):
        return reference.persistence_diagram(self._read(x))

    def persistence_pairs(self, x):
        return reference.persistence_pairs(self._read(x))

    def morse_structures(self, x, epsilon, frame=False):
        return reference.morse_structures(self._read(x), epsilon, frame=frame)


class NarrowIntegerCast(Broken):
    """Integer input cast through int16 first (values past 32767 wrap)."""

    @staticmethod
    def _cast(x):
        a = np.asarray(x)
        return a.astype(np.int16) if a.dtype.kind in "iu" else a

    def persistence_diagram(self, x):
        return reference.persistence_diagram(self._cast(x))

    def persistence_pairs(self, x):
        return reference.persistence_pairs(self._cast(x))

    def morse_structures(self, x, epsilon, frame=False):
        return reference.morse_structures(self._cast(x), epsilon, frame=frame)


class MasksUint8(Broken):
    """Masks as uint8 0/1 arrays: ``pred[mask]`` then fancy-indexes instead of masking."""

    def morse_structures(self, x, epsilon, frame=False):
        s = reference.morse_structures(x, epsilon, frame=frame)
        ridges, boundaries, mask = (a.astype(np.uint8) for a in (s.ridges, s.boundaries, s.mask()))
        return SimpleNamespace(critical=s.critical, uncancelled=s.uncancelled, ridges=ridges,
                               boundaries=boundaries, mask=lambda: mask)


class CellsInt32(Broken):
    """Cells (pairs and critical) as int32 arrays instead of int64."""

    LEVELS = ("diagram", "cells")

    def persistence_pairs(self, x):
        p = reference.persistence_pairs(x)
        return SimpleNamespace(dim=p.dim, birth=p.birth.astype(np.int32), death=p.death.astype(np.int32),
                               birth_value=p.birth_value, death_value=p.death_value)

    def morse_structures(self, x, epsilon, frame=False):
        s = reference.morse_structures(x, epsilon, frame=frame)
        return SimpleNamespace(critical=s.critical.astype(np.int32), uncancelled=s.uncancelled)


class DiagramRowsByDimDesc(Broken):
    """Diagram rows by dimension descending (GUDHI's listing), births descending within one."""

    LEVELS = ("diagram",)

    def persistence_diagram(self, x):
        d = reference.persistence_diagram(x)
        return d[np.argsort(-d[:, 0], kind="stable")]


class PairsByDimension(Broken):
    """Pairs sorted by dimension first (stable), not by the birth cell's position alone."""

    LEVELS = ("diagram", "cells")

    def persistence_pairs(self, x):
        p = reference.persistence_pairs(x)
        order = np.argsort(p.dim, kind="stable")
        return PersistencePairs(p.dim[order], p.birth[order], p.death[order], p.birth_value[order],
                                p.death_value[order])


class CriticalSorted(Broken):
    """Critical cells sorted lexicographically (by coordinates) instead of in filtration order."""

    LEVELS = ("diagram", "cells")

    def morse_structures(self, x, epsilon, frame=False):
        s = reference.morse_structures(x, epsilon, frame=frame)
        critical = s.critical[np.lexsort(s.critical.T[::-1])]
        return SimpleNamespace(critical=critical, uncancelled=s.uncancelled)


class UncancelledDropped(Broken):
    """The pairs that could not be cancelled are not reported (an empty ``uncancelled``)."""

    LEVELS = ("diagram", "cells")

    def morse_structures(self, x, epsilon, frame=False):
        s = reference.morse_structures(x, epsilon, frame=frame)
        u = s.uncancelled
        return SimpleNamespace(critical=s.critical, uncancelled=PersistencePairs(
            u.dim[:0], u.birth[:0], u.death[:0], u.birth_value[:0], u.death_value[:0]))


class BasinLabelsUint8(Broken):
    """Basin labels stored in a uint8: basin 256 becomes OUTSIDE, 257 basin 1, ..."""

    LEVELS = ("masks",)

    def morse_structures(self, x, epsilon, frame=False):
        return _pipeline(x, epsilon, frame, basin_dtype=np.uint8)


def _simplify_positive_ties_reversed(cx, pairs, epsilon):
    """The reference's simplification, but pairs of equal positive persistence in reverse tie order."""
    d = cx.ndim

    def tie(p):
        key = -p["birth_pos"] if p["dim"] == d - 1 else p["death_pos"]
        return -key if p["persistence"] > 0 else key

    todo = sorted([p for p in pairs if p["persistence"] <= epsilon], key=lambda p: (p["dim"], p["persistence"], tie(p)))
    field, uncancelled = GradientField(cx), []
    for p in todo:
        if field.count_vpaths(p["death"], p["birth"]) == 1:
            field.cancel(p["birth"], p["death"])
        else:
            uncancelled.append(p)
    return field, uncancelled


class PositiveTiesReversed(Broken):
    """Zero-persistence pairs in the contract's order, equal positive persistences in the reverse one."""

    def morse_structures(self, x, epsilon, frame=False):
        return _pipeline(x, epsilon, frame, simplify=_simplify_positive_ties_reversed)


ties_index_descending = TiesIndexDescending()
no_outside = NoOutside()
sublevel = Sublevel()
t_construction = TConstruction()
eight_connectivity = EightConnectivity()
quantised_256 = Quantised256()
younger_elder_swapped = YoungerElderSwapped()
zero_persistence_kept = ZeroPersistenceKept()
epsilon_strict = EpsilonStrict()
frame_in_boundaries = FrameInBoundaries()
ridge_drop_last = RidgeDropLast()
ridges_dilated = RidgesDilated()
cells_fortran_order = CellsFortranOrder()
mutates_input = MutatesInput()
freezes_input = FreezesInput()
memory_order = MemoryOrder()
narrow_integer_cast = NarrowIntegerCast()
masks_uint8 = MasksUint8()
cells_int32 = CellsInt32()
diagram_rows_by_dim_desc = DiagramRowsByDimDesc()
pairs_by_dimension = PairsByDimension()
critical_sorted = CriticalSorted()
uncancelled_dropped = UncancelledDropped()
basin_labels_uint8 = BasinLabelsUint8()
positive_ties_reversed = PositiveTiesReversed()
