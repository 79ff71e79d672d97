"""Reference persistence diagrams from GUDHI and CubicalRipser.

``dmtloss`` computes persistence of the *superlevel* filtration of an image
whose pixels/voxels are the vertices of a cubical complex (V-construction: a
cell's value is the minimum of its vertices' values).  Both libraries compute
*sublevel* persistence, so each oracle runs them on the negated image and
negates the resulting values back: a sublevel pair ``(b', d')`` of ``-image``
is the superlevel pair ``(-b', -d')`` of ``image``, and the essential class
``d' = inf`` becomes ``death = -inf``.

Diagrams are float64 arrays of shape ``(n, 3)`` with rows
``(dim, birth, death)``, ``birth > death``, dimensions ``0 .. ndim - 1`` and
zero-persistence pairs omitted.  Compare them exactly with
``np.array_equal(canonical(a), canonical(b))``.

Examples
--------
>>> ring = np.ones((3, 3))
>>> ring[1, 1] = 0
>>> canonical(gudhi_diagram(ring)).tolist()
[[0.0, 1.0, -inf], [1.0, 1.0, 0.0]]
>>> np.array_equal(canonical(cripser_diagram(ring)), canonical(gudhi_diagram(ring)))
True
"""

import cripser
import gudhi
import numpy as np

__all__ = ["canonical", "cripser_diagram", "gudhi_diagram"]

# CubicalRipser encodes the death of an essential class as DBL_MAX.
_CRIPSER_INFINITY = np.finfo(np.float64).max


def gudhi_diagram(likelihood):
    """Superlevel persistence diagram of ``likelihood`` computed by GUDHI.

    Parameters
    ----------
    likelihood : array_like
        2D or 3D image (int, bool or float); its entries are the vertex
        values.  It is not modified.

    Returns
    -------
    numpy.ndarray
        Diagram of shape ``(n, 3)``, rows ``(dim, birth, death)``, in GUDHI's
        order.
    """
    image = np.asarray(likelihood, dtype=np.float64)
    complex_ = gudhi.CubicalComplex(vertices=-image)
    # min_persistence=0 keeps only pairs with d' - b' > 0 (Z/2 coefficients).
    pairs = complex_.persistence(homology_coeff_field=2, min_persistence=0)
    rows = [(dim, -birth, -death) for dim, (birth, death) in pairs]
    return np.array(rows, dtype=np.float64).reshape(-1, 3)


def cripser_diagram(likelihood):
    """Superlevel persistence diagram of ``likelihood`` computed by CubicalRipser.

    Parameters
    ----------
    likelihood : array_like
        2D or 3D image (int, bool or float); its entries are the vertex
        values.  It is not modified.

    Returns
    -------
    numpy.ndarray
        Diagram of shape ``(n, 3)``, rows ``(dim, birth, death)``, in
        CubicalRipser's order.
    """
    image = np.ascontiguousarray(likelihood, dtype=np.float64)
    # cripser.computePH is the V-construction (computePH_T is the T one).
    pairs = cripser.computePH(-image, maxdim=image.ndim - 1)
    dim, birth, death = pairs[:, 0], pairs[:, 1], pairs[:, 2]
    death = np.where(death == _CRIPSER_INFINITY, np.inf, death)
    diagram = np.column_stack((dim, -birth, -death))
    return diagram[diagram[:, 1] != diagram[:, 2]]


def canonical(diagram):
    """Drop zero-persistence rows and sort by dim, then birth, then death.

    Parameters
    ----------
    diagram : array_like
        Diagram of shape ``(n, 3)``, rows ``(dim, birth, death)``.

    Returns
    -------
    numpy.ndarray
        A new float64 array of shape ``(m, 3)``, suitable for exact
        multiset comparison with ``np.array_equal``.
    """
    rows = np.asarray(diagram, dtype=np.float64).reshape(-1, 3)
    rows = rows[rows[:, 1] != rows[:, 2]]
    return rows[np.lexsort((rows[:, 2], rows[:, 1], rows[:, 0]))]
