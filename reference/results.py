"""Result types shared by every engine.

Cells are reported in doubled (Khalimsky) coordinates, as rows of an int64 array: a
cell of an image of shape ``(n_1, ..., n_d)`` is ``(c_1, ..., c_d)`` with
``0 <= c_i <= 2 n_i - 2``; its dimension is the number of odd coordinates and its
vertices are the pixels ``c_i // 2`` (even ``c_i``) or ``(c_i -+ 1) // 2`` (odd ``c_i``).
See ``docs/spec.md``. All arrays held by a result are read-only.
"""

from dataclasses import dataclass

import numpy as np

from ._validation import as_structures

__all__ = ["PersistencePairs", "MorseStructures"]


class _Sealed:
    """An array handed over by an engine that keeps no other reference to it (internal).

    A result adopts such an array instead of copying it; any other array it is given is
    copied, so a caller's arrays are never shared with a result.
    """

    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array


def _frozen(array, dtype):
    if isinstance(array, _Sealed) and array.array.dtype == dtype and array.array.flags.c_contiguous:
        array = array.array
    else:
        array = np.array(array.array if isinstance(array, _Sealed) else array, dtype=dtype, copy=True)
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class PersistencePairs:
    """Persistence pairs with their cells, one row per pair.

    Rows are ordered by the filtration position of the birth cell.

    Attributes
    ----------
    dim : (n,) ndarray of int64
        Homology dimension: the dimension of the birth cell.
    birth, death : (n, d) ndarray of int64
        Doubled coordinates of the birth and death cells. The essential class has a
        death row of -1.
    birth_value, death_value : (n,) ndarray of float64
        Cell values; ``death_value`` is ``-inf`` for the essential class.

    Examples
    --------
    >>> pairs = PersistencePairs.from_rows(2, [(0, (0, 0), None, 1.0, -np.inf),
    ...                                        (0, (2, 2), (1, 2), 1.0, 0.0)])
    >>> pairs.persistence.tolist(), len(pairs)
    ([inf, 1.0], 2)
    >>> pairs.diagram().tolist()
    [[0.0, 1.0, -inf], [0.0, 1.0, 0.0]]
    """

    dim: np.ndarray
    birth: np.ndarray
    death: np.ndarray
    birth_value: np.ndarray
    death_value: np.ndarray

    def __post_init__(self):
        for name, dtype in [("dim", np.int64), ("birth", np.int64), ("death", np.int64),
                            ("birth_value", np.float64), ("death_value", np.float64)]:
            object.__setattr__(self, name, _frozen(getattr(self, name), dtype))

    @classmethod
    def from_rows(cls, ndim, rows):
        """Build from ``(dim, birth_cell, death_cell or None, birth_value, death_value)`` rows."""
        rows = list(rows)
        return cls(
            dim=np.array([r[0] for r in rows], dtype=np.int64),
            birth=np.array([r[1] for r in rows], dtype=np.int64).reshape(len(rows), ndim),
            death=np.array([(-1,) * ndim if r[2] is None else r[2] for r in rows],
                           dtype=np.int64).reshape(len(rows), ndim),
            birth_value=np.array([r[3] for r in rows], dtype=np.float64),
            death_value=np.array([r[4] for r in rows], dtype=np.float64),
        )

    def __len__(self):
        return len(self.dim)

    @property
    def persistence(self):
        """``birth_value - death_value`` (``inf`` for the essential class)."""
        return self.birth_value - self.death_value

    def diagram(self):
        """The pairs as an ``(n, 3)`` float64 array of rows ``(dim, birth, death)``, in pair order."""
        return np.column_stack([self.dim.astype(np.float64), self.birth_value, self.death_value])

    def diagram_by_dimension(self):
        """:meth:`diagram` with rows ordered by dimension, then by birth position."""
        diagram = self.diagram()
        return diagram[np.argsort(diagram[:, 0], kind="stable")]

    def __eq__(self, other):
        if not isinstance(other, PersistencePairs):
            return NotImplemented
        return all(np.array_equal(getattr(self, f), getattr(other, f))
                   for f in ("dim", "birth", "death", "birth_value", "death_value"))

    __hash__ = None


@dataclass(frozen=True, eq=False)
class MorseStructures:
    """Discrete Morse structures of a likelihood map, pruned at persistence `epsilon`.

    Attributes
    ----------
    epsilon : float
        The persistence threshold the gradient was simplified at.
    frame : bool
        Whether `boundaries` includes the cells separating basins from the image frame.
    pairs : PersistencePairs
        Every persistence pair of positive persistence, and the essential class.
    critical : (m, d) ndarray of int64
        Critical cells of the simplified gradient, in filtration order.
    uncancelled : PersistencePairs
        Pairs with persistence <= epsilon that no cancellation could remove (exactly
        one V-path was required). Never any in 2-D.
    ridges : (M, N[, P]) ndarray of bool
        Pixels on the ridges: the 1-stable manifolds (S1) of the edges whose pair has
        persistence > epsilon, i.e. the edge and the V-paths from its two endpoints to
        critical vertices.
    ridge_persistence : (M, N[, P]) ndarray of float64
        For each ridge pixel, the largest persistence among the ridges through it;
        0 elsewhere.
    basins : (M-1, N-1[, P-1]) ndarray of int64
        The basin of each top cell: 0 for the OUTSIDE node, k >= 1 for the k-th
        critical top cell in filtration order.
    boundaries : (M, N[, P]) ndarray of bool
        Vertices of the interior (d-1)-cells whose two cofacets lie in different basins
        (with `frame`, border (d-1)-cells of basins other than OUTSIDE too).
    boundary_persistence : (M, N[, P]) ndarray of float64
        For each boundary pixel, the largest over its separating cells of the smaller
        persistence of the two basins (OUTSIDE counts as infinite); 0 elsewhere.
    sheets : (M, N, P) ndarray of bool or None
        3-D only, reference engine only: vertices of the squares on V-paths from
        critical squares with persistence > epsilon (exact 2-stable manifolds).
    """

    epsilon: float
    frame: bool
    pairs: PersistencePairs
    critical: np.ndarray
    uncancelled: PersistencePairs
    ridges: np.ndarray
    ridge_persistence: np.ndarray
    basins: np.ndarray
    boundaries: np.ndarray
    boundary_persistence: np.ndarray
    sheets: np.ndarray = None

    def __post_init__(self):
        for name, dtype in [("critical", np.int64), ("ridges", bool), ("ridge_persistence", np.float64),
                            ("basins", np.int64), ("boundaries", bool),
                            ("boundary_persistence", np.float64)]:
            object.__setattr__(self, name, _frozen(getattr(self, name), dtype))
        if self.sheets is not None:
            object.__setattr__(self, "sheets", _frozen(self.sheets, bool))

    @property
    def shape(self):
        """Shape of the image."""
        return self.ridges.shape

    def mask(self, structures=None):
        """Union of the chosen structures, as a bool array shaped like the image.

        Parameters
        ----------
        structures : None, str or iterable of str
            Among ``"ridges"``, ``"boundaries"``, ``"sheets"``. None gives the default:
            ridges in 2-D; ridges and boundaries in 3-D.

        Returns
        -------
        mask : (M, N[, P]) ndarray of bool
        """
        names = as_structures(structures, self.ridges.ndim)
        if "sheets" in names and self.sheets is None:
            raise ValueError("`structures`: this engine does not compute 'sheets'; use dmtloss.reference")
        mask = np.zeros(self.shape, dtype=bool)
        for name in names:
            mask |= getattr(self, name)
        return mask

    def persistence_diagram(self):
        """The diagram of positive-persistence pairs: ``(n, 3)`` rows ``(dim, birth, death)``.

        Rows are ordered by dimension, then by the birth cell's filtration position, as
        :func:`dmtloss.reference.persistence_diagram` gives them.
        """
        return self.pairs.diagram_by_dimension()
