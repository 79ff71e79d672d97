"""The cubical complex of an image, with pixels (voxels) as vertices.

A d-dimensional image of shape ``(n_1, ..., n_d)`` is the vertex set of a cubical
complex. Every cell is written in *doubled* (Khalimsky) coordinates: a tuple of d
integers ``c_i`` in ``0 .. 2 n_i - 2``. A coordinate is even where the cell sits *at*
a pixel row/column and odd where it spans two neighbouring ones, so

* the dimension of a cell is the number of its odd coordinates;
* its vertices are the pixels ``(v_1, ..., v_d)`` with ``v_i = c_i // 2`` for even
  ``c_i`` and ``v_i`` in ``{(c_i - 1) // 2, (c_i + 1) // 2}`` for odd ``c_i``;
* its facets change one odd coordinate by +-1, its cofacets one even coordinate.

Two pixels are joined by an edge exactly when they are 4-neighbours (2-D) or
6-neighbours (3-D): this is the foreground connectivity of the whole package.

Values and the total order (the tie rule of the whole package)
---------------------------------------------------------------
A cell's value is the *minimum* of its vertices' values, and the filtration is the
*superlevel* filtration: cells enter from the highest value down. Ties are normal
input, so the order is made total:

1. The *rank* of a vertex is its position in a stable sort of all pixels by
   (value descending, C-order linear index ascending). Rank 0 is the highest pixel.
2. The *key* of a cell is the tuple of its vertices' ranks sorted in descending order;
   keys are compared lexicographically, a proper prefix being smaller.

The first entry of a key is the rank of the cell's lowest vertex, so the key order
refines the value order; a face's key is always smaller than its coface's key, so
every prefix of the order is a subcomplex (a filtration). Among the edges whose lowest
vertex is v, the one to v's highest-ranked neighbour comes first, so a vertex that
enters beside an older neighbour is paired (at zero persistence) with its
steepest-ascent edge. A vertex with no older neighbour starts a component of its own
and dies later, at the edge that merges it into an older one.

This module builds everything with plain Python tuples, for reading, not for speed:
an image of 64 x 64 pixels has 16,129 cells.

References
----------
.. [1] R. Forman, "Morse theory for cell complexes", Advances in Mathematics 134 (1998).
.. [2] X. Hu, Y. Wang, L. Fuxin, D. Samaras, C. Chen, "Topology-Aware Segmentation
   Using Discrete Morse Theory", ICLR 2021.
.. [3] T. Y. Kong, A. Rosenfeld, "Digital topology: introduction and survey",
   Computer Vision, Graphics, and Image Processing 48 (1989).
"""

from itertools import product

import numpy as np

from ._validation import as_likelihood

__all__ = ["OUTSIDE", "CubicalComplex"]

#: The node that stands for everything beyond the image border. It is the extra
#: cofacet of each (d-1)-cell on the border, and it is not a cell of the complex.
OUTSIDE = "OUTSIDE"


class CubicalComplex:
    """The cubical complex of a 2-D or 3-D image whose pixels are the vertices.

    Parameters
    ----------
    likelihood : (M, N[, P]) array_like
        The image; see :func:`dmtloss.reference._validation.as_likelihood` for what is
        accepted. It is copied, never modified.

    Attributes
    ----------
    values : (M, N[, P]) ndarray of float64
        The pixel values.
    shape : tuple of int
        The image shape.
    ndim : int
        2 or 3.
    rank : (M, N[, P]) ndarray of int64
        The rank of each vertex in the total order (0 = first to enter).
    cell_shape : tuple of int
        The extent of doubled coordinates, ``2 n_i - 1`` along each axis.

    Examples
    --------
    >>> cx = CubicalComplex([[0.0, 0.5], [1.0, 0.5]])
    >>> cx.rank.tolist()
    [[3, 1], [0, 2]]
    >>> cx.dim((1, 1)), cx.vertices((1, 1))
    (2, [(0, 0), (0, 1), (1, 0), (1, 1)])
    >>> cx.key((1, 0)), cx.value((1, 0))
    ((3, 0), 0.0)
    """

    def __init__(self, likelihood):
        self.values = as_likelihood(likelihood)
        self.shape = self.values.shape
        self.ndim = self.values.ndim
        self.cell_shape = tuple(2 * n - 1 for n in self.shape)
        # Stable sort by value descending; ties keep C order (linear index ascending).
        # Negation is exact in floating point, so no tie is made or broken by it.
        order = np.argsort(-self.values.ravel(), kind="stable")
        rank = np.empty(order.size, dtype=np.int64)
        rank[order] = np.arange(order.size)
        self.rank = rank.reshape(self.shape)

    # -- cells ----------------------------------------------------------------------
    def cells(self, dim=None):
        """All cells (optionally only those of dimension `dim`), in C order.

        Parameters
        ----------
        dim : int, optional
            Keep only cells of this dimension.

        Returns
        -------
        cells : list of tuple of int
            Doubled coordinates.

        Examples
        --------
        >>> CubicalComplex([[1, 2], [3, 4]]).cells(1)
        [(0, 1), (1, 0), (1, 2), (2, 1)]
        """
        every = product(*(range(n) for n in self.cell_shape))
        return [c for c in every if dim is None or self.dim(c) == dim]

    @staticmethod
    def dim(cell):
        """Dimension of `cell`: the number of its odd coordinates.

        Examples
        --------
        >>> CubicalComplex.dim((3, 4, 5))
        2
        """
        return sum(c % 2 for c in cell)

    @staticmethod
    def vertices(cell):
        """The pixels of `cell`, as image indices, in C order.

        Examples
        --------
        >>> CubicalComplex.vertices((1, 4))
        [(0, 2), (1, 2)]
        """
        ranges = [(c // 2,) if c % 2 == 0 else (c // 2, c // 2 + 1) for c in cell]
        return list(product(*ranges))

    @staticmethod
    def facets(cell):
        """The faces of `cell` of one dimension less.

        Examples
        --------
        >>> CubicalComplex.facets((1, 1))
        [(0, 1), (2, 1), (1, 0), (1, 2)]
        """
        out = []
        for i, c in enumerate(cell):
            if c % 2 == 1:
                out.append(cell[:i] + (c - 1,) + cell[i + 1 :])
                out.append(cell[:i] + (c + 1,) + cell[i + 1 :])
        return out

    def cofacets(self, cell, outside=False):
        """The cofaces of `cell` of one dimension more.

        Parameters
        ----------
        cell : tuple of int
        outside : bool, optional
            If True, a (d-1)-cell on the image border also gets :data:`OUTSIDE` as a
            cofacet, so that every (d-1)-cell has exactly two.

        Examples
        --------
        >>> cx = CubicalComplex([[1, 2], [3, 4]])
        >>> cx.cofacets((0, 1)), cx.cofacets((0, 1), outside=True)
        ([(1, 1)], [(1, 1), 'OUTSIDE'])
        """
        out = []
        for i, c in enumerate(cell):
            if c % 2 == 0:
                if c - 1 >= 0:
                    out.append(cell[:i] + (c - 1,) + cell[i + 1 :])
                if c + 1 < self.cell_shape[i]:
                    out.append(cell[:i] + (c + 1,) + cell[i + 1 :])
        if outside and self.dim(cell) == self.ndim - 1 and len(out) == 1:
            out.append(OUTSIDE)
        return out

    def on_border(self, cell):
        """Whether `cell` lies on the frame of the image (its boundary as a box).

        A (d-1)-cell on the border has a single cofacet in the complex.

        Examples
        --------
        >>> cx = CubicalComplex([[1, 2, 3], [4, 5, 6]])
        >>> cx.on_border((0, 1)), cx.on_border((1, 2))
        (True, False)
        """
        return any(c % 2 == 0 and c in (0, n - 1) for c, n in zip(cell, self.cell_shape))

    # -- values and order -------------------------------------------------------------
    def value(self, cell):
        """The value of `cell`: the minimum of its vertices' values.

        Examples
        --------
        >>> CubicalComplex([[1, 2], [3, 4]]).value((1, 2))
        2.0
        """
        return float(min(self.values[v] for v in self.vertices(cell)))

    def key(self, cell):
        """The key of `cell` in the total order: its vertex ranks, descending.

        Examples
        --------
        >>> cx = CubicalComplex([[1, 2], [3, 4]])
        >>> cx.key((0, 0)), cx.key((1, 1))
        ((3,), (3, 2, 1, 0))
        """
        return tuple(sorted((int(self.rank[v]) for v in self.vertices(cell)), reverse=True))

    def filtration(self):
        """All cells in the order they enter the superlevel filtration.

        Returns
        -------
        cells : list of tuple of int

        Examples
        --------
        >>> CubicalComplex([[0, 1]]*2).filtration()[:4]
        [(0, 2), (2, 2), (1, 2), (0, 0)]
        """
        return sorted(self.cells(), key=self.key)

    @staticmethod
    def pixel(vertex_cell):
        """The image index of a vertex given in doubled coordinates.

        Examples
        --------
        >>> CubicalComplex.pixel((4, 2))
        (2, 1)
        """
        return tuple(c // 2 for c in vertex_cell)
