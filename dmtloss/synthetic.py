"""Synthetic likelihood maps with exact ground truth.

A network trained on electron-microscopy (EM) membranes outputs a likelihood map: high
on the thin walls between cells, low inside them, with noise, and with a few walls it
was unsure of -- the weak spots that split or merge cells and that a topology-aware loss
is meant to fix. :func:`membrane_likelihood` draws such a map from a seed:

1. Cell centres are spread over the image by best-candidate sampling (Mitchell's
   algorithm: each new centre is the farthest from the previous ones among a few random
   candidates), so cells have similar sizes.
2. The walls are the pixels close to the bisector of their two nearest centres: those
   whose nearest and second-nearest centre distances differ by less than
   ``WALL_WIDTH`` pixels (a Voronoi diagram drawn about two pixels thick). This is the
   exact ground truth, :func:`membrane_walls`.
3. The wall image is blurred (Gaussian, sigma 1 pixel) and scaled so that a wall's
   centre line is at about 1.
4. ``gap_count`` wall segments are weakened around one point each, to 40% of their
   strength at that point. Each is on the wall between a different pair of cells, at
   the point of that wall farthest from the junctions of three cells, and away from the
   image border. Walls that do not reach the border are chosen first: only a gap in a
   closed loop of walls merges two cells inside the image. A gap is a Gaussian dip of
   standard deviation ``GAP_RADIUS`` cut off at three times that, so the map farther
   from it is unchanged. The wall pixels within ``GAP_RADIUS`` of the weakened points
   are :func:`membrane_gaps`.
5. Smooth Gaussian noise of standard deviation `noise` is added, and the result goes
   through a logistic, ``expit(GAIN * (signal - 0.5))``: walls near 0.95, cell
   interiors near 0.02, the weakest way across a gap near 0.25. Thresholded at 0.5,
   the weakened walls break and merge two cells: a small error in pixels, a large one
   in topology.

The three random steps (centres, gap choice, noise) draw from independent streams
spawned from `seed`, so the walls depend on `shape`, `cells` and `seed` only, and the
same arguments always give the same arrays.

Complexity: O(n log c) for an image of n pixels and c cells (nearest-centre queries in
a k-d tree), O(c^2) to place the centres, and O(n) for the Gaussian filters.
"""

import numbers

import numpy as np
from scipy import ndimage, spatial, special

from dmtloss.reference._validation import as_int

__all__ = ["membrane_likelihood", "membrane_walls", "membrane_gaps",
           "WALL_WIDTH", "GAP_RADIUS", "GAIN"]

#: A pixel is on a wall when its two nearest cell centres are closer than this to each
#: other's distance (in pixels); the walls are about this many pixels thick.
WALL_WIDTH = 2.0
#: Wall pixels closer than this (in pixels) to a gap's centre belong to the gap.
GAP_RADIUS = 2.5
#: Slope of the logistic that turns the noisy wall signal into a likelihood.
GAIN = 8.0

_GAP_DEPTH = 0.6         # a gap's centre keeps 1 - _GAP_DEPTH of the wall's strength
_BLUR = 1.0              # Gaussian blur of the walls, in pixels
_NOISE_CORRELATION = 0.75  # Gaussian smoothing of the noise, in pixels
_CANDIDATES = 16         # best-candidate sampling: random candidates per centre
_MIN_SIDE = 8


# -- validation ------------------------------------------------------------------------

def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _check_shape(shape):
    message = f"`shape` must be 2 positive ints >= {_MIN_SIDE}; got {shape!r}"
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__len__"):
        raise TypeError(message)
    items = tuple(shape)
    if not all(_is_int(n) for n in items):
        raise TypeError(message)
    if len(items) != 2 or min(items) < _MIN_SIDE:
        raise ValueError(message)
    return tuple(int(n) for n in items)


def _check_args(shape, cells, gap_count, noise, seed):
    shape = _check_shape(shape)
    # At least two cells make a wall; at most one per 4 x 4 pixels keeps the cells
    # wider than the walls.
    cells = as_int(cells, "cells", 2, shape[0] * shape[1] // 16)
    gap_count = as_int(gap_count, "gap_count", 0)
    if isinstance(noise, (bool, np.bool_)) or not isinstance(noise, numbers.Real):
        raise TypeError(f"`noise` must be a real number; got {type(noise).__name__}")
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"`noise` must be a finite number >= 0; got {noise!r}")
    seed = as_int(seed, "seed", 0)
    return shape, cells, gap_count, float(noise), seed


# -- construction ----------------------------------------------------------------------

def _streams(seed):
    """Independent generators for the centres, the gaps and the noise."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)]


def _centres(shape, cells, rng):
    """Best-candidate (Mitchell) sampling of `cells` points in the box ``[0, M) x [0, N)...``.

    Any dimension (``dmtloss.data.generators`` draws 3-D cells with it).
    """
    extent = np.array(shape, dtype=np.float64)
    points = [rng.random(len(shape)) * extent]
    for _ in range(cells - 1):
        candidates = rng.random((_CANDIDATES, len(shape))) * extent
        nearest = spatial.distance.cdist(candidates, np.array(points)).min(axis=1)
        points.append(candidates[np.argmax(nearest)])
    return np.array(points)


def _voronoi(shape, centres):
    """Distances to the 3 nearest centres and the two nearest centres' indices, per pixel.

    Any dimension.
    """
    pixels = np.indices(shape, dtype=np.float64).reshape(len(shape), -1).T
    k = min(3, len(centres))
    dist, index = spatial.cKDTree(centres).query(pixels, k=k)
    if k == 2:  # no third centre: no junctions anywhere
        dist = np.column_stack([dist, np.full(len(pixels), np.inf)])
    return dist.reshape(*shape, 3), index[:, :2].reshape(*shape, 2)


def _walls(shape, cells, seed):
    centres = _centres(shape, cells, _streams(seed)[0])
    dist, index = _voronoi(shape, centres)
    return dist[..., 1] - dist[..., 0] < WALL_WIDTH, dist, index


def _gap_centres(shape, walls, dist, index, gap_count, rng):
    """Centres of at most `gap_count` gaps, on distinct wall segments.

    Segments that do not reach the image border come first: only a gap in a closed
    wall loop merges two cells inside the image. Any dimension: in 3-D a segment is the
    sheet between two cells.
    """
    grid = np.indices(shape)
    to_border = np.minimum.reduce([*grid, *(n - 1 - g for n, g in zip(shape, grid))])
    segment = np.sort(index, axis=-1)  # a wall segment: the pair of cells it separates
    at_border = {tuple(k) for k in segment[walls & (to_border == 0)]}
    candidate = (walls & (dist[..., 1] - dist[..., 0] < 1.0)        # on the centre line
                 & (dist[..., 2] - dist[..., 1] > 2 * GAP_RADIUS + WALL_WIDTH)  # off junctions
                 & (to_border > GAP_RADIUS + 1))
    found = {}
    for point in zip(*np.nonzero(candidate)):
        key = tuple(int(i) for i in segment[point])
        score = dist[point][2] - dist[point][1]  # the middle of a segment is farthest from junctions
        if key not in found or score > found[key][0]:
            found[key] = (score, tuple(int(i) for i in point))
    keys = sorted(found, key=lambda k: (k in at_border, k))
    inner = sum(k not in at_border for k in keys)
    order = np.concatenate([rng.permutation(inner), inner + rng.permutation(len(keys) - inner)])
    return [found[keys[i]][1] for i in order[:gap_count]]


def _membrane(shape, cells, gap_count, noise, seed):
    _, gap_rng, noise_rng = _streams(seed)
    walls, dist, index = _walls(shape, cells, seed)
    signal = ndimage.gaussian_filter(walls.astype(np.float64), _BLUR, mode="nearest")
    if walls.any():
        signal /= np.median(signal[walls])
    gaps = np.zeros(shape, dtype=bool)
    rows, cols = np.indices(shape)
    for r, c in _gap_centres(shape, walls, dist, index, gap_count, gap_rng):
        d2 = (rows - r) ** 2 + (cols - c) ** 2
        near = d2 <= (3 * GAP_RADIUS) ** 2  # a gap changes nothing farther away
        keep = 1.0 - _GAP_DEPTH * np.exp(-d2[near] / (2 * GAP_RADIUS ** 2))
        signal[near] = np.minimum(signal[near] * keep, keep)  # thick walls lose as much
        gaps |= walls & (d2 <= GAP_RADIUS ** 2)
    if noise > 0:
        field = ndimage.gaussian_filter(noise_rng.standard_normal(shape), _NOISE_CORRELATION)
        signal += noise * field / field.std()
    return special.expit(GAIN * (signal - 0.5)), walls, gaps


# -- public API ------------------------------------------------------------------------

def membrane_likelihood(shape=(48, 48), *, cells=9, gap_count=3, noise=0.15, seed=0):
    """A seeded synthetic likelihood map of cell membranes, with weak spots.

    It looks like a segmentation network's output on an EM image: bright, blurred
    Voronoi cell walls on a dark background, smooth noise, and `gap_count` wall
    segments the network was unsure of. See the module docstring for the recipe.

    Parameters
    ----------
    shape : tuple of 2 ints, optional
        ``(M, N)``, each at least 8.
    cells : int, optional
        Number of cells, from 2 to ``M * N // 16``.
    gap_count : int, optional
        Number of weakened wall segments (>= 0). Fewer are made when the walls have
        fewer interior segments than that; :func:`membrane_gaps` tells where they are.
    noise : float, optional
        Standard deviation (>= 0) of the smooth Gaussian noise, in units of the wall
        strength, added before the logistic.
    seed : int, optional
        Seed (>= 0) of the random generator. The same arguments give the same map.

    Returns
    -------
    likelihood : (M, N) ndarray of float64
        Values in the open interval (0, 1).

    Raises
    ------
    TypeError
        If an argument is of the wrong kind (e.g. a float `cells`, a bool `seed`).
    ValueError
        If an argument is out of range.

    See Also
    --------
    membrane_walls : the exact ground-truth walls of the same map.
    membrane_gaps : the wall pixels that were weakened.

    Examples
    --------
    >>> f = membrane_likelihood((16, 20), cells=4, seed=1)
    >>> f.shape, f.dtype, bool(0 < f.min() and f.max() < 1)
    ((16, 20), dtype('float64'), True)
    >>> bool(f[membrane_walls((16, 20), cells=4, seed=1)].mean() > 0.5 > f.mean())
    True
    >>> membrane_likelihood((3,))
    Traceback (most recent call last):
    ...
    ValueError: `shape` must be 2 positive ints >= 8; got (3,)
    """
    return _membrane(*_check_args(shape, cells, gap_count, noise, seed))[0]


def membrane_walls(shape=(48, 48), *, cells=9, seed=0):
    """The exact ground-truth walls of :func:`membrane_likelihood`.

    The walls, gaps included, depend only on `shape`, `cells` and `seed`.

    Parameters
    ----------
    shape, cells, seed
        As for :func:`membrane_likelihood`.

    Returns
    -------
    walls : (M, N) ndarray of bool
        True on the cell walls: pixels whose two nearest cell centres are at distances
        differing by less than ``WALL_WIDTH`` pixels.

    Raises
    ------
    TypeError, ValueError
        As for :func:`membrane_likelihood`.

    Examples
    --------
    Two cells, one wall between them:

    >>> membrane_walls((8, 8), cells=2, seed=4).astype(int)
    array([[0, 0, 0, 0, 0, 0, 0, 0],
           [0, 0, 0, 0, 0, 0, 0, 0],
           [0, 0, 0, 0, 0, 1, 1, 1],
           [1, 1, 1, 1, 1, 1, 1, 1],
           [1, 1, 1, 1, 1, 1, 1, 1],
           [0, 0, 0, 0, 0, 0, 0, 0],
           [0, 0, 0, 0, 0, 0, 0, 0],
           [0, 0, 0, 0, 0, 0, 0, 0]])
    """
    shape, cells, _, _, seed = _check_args(shape, cells, 0, 0.0, seed)
    return _walls(shape, cells, seed)[0]


def membrane_gaps(shape=(48, 48), *, cells=9, gap_count=3, seed=0):
    """The wall pixels that :func:`membrane_likelihood` weakened.

    Parameters
    ----------
    shape, cells, gap_count, seed
        As for :func:`membrane_likelihood`.

    Returns
    -------
    gaps : (M, N) ndarray of bool
        True on the wall pixels within ``GAP_RADIUS`` pixels of a gap's centre; a
        subset of :func:`membrane_walls`.

    Raises
    ------
    TypeError, ValueError
        As for :func:`membrane_likelihood`.

    Examples
    --------
    >>> gaps = membrane_gaps((32, 32), cells=6, gap_count=2, seed=3)
    >>> bool((gaps <= membrane_walls((32, 32), cells=6, seed=3)).all()), bool(gaps.any())
    (True, True)
    """
    return _membrane(*_check_args(shape, cells, gap_count, 0.0, seed))[2]
