"""Seeded synthetic images with exact ground truth, and the one real image that ships.

Every generator returns a :class:`~dmtloss.data.SegmentationSet` of `count` images. An
image is a noiseless *signal* in [0, 1], made from the exact geometry of its target, then
weakened at a few gaps, corrupted by noise and mapped to intensities::

    image = clip(0.3 + 0.4 * (signal + noise_field), 0, 1)

The structure is bright on a dark background (walls near 0.7, the rest near 0.3; invert
with ``1 - image`` for dark, EM-like membranes). The signal is at least 0.6 on the target
and at most 0.4 off it, so that thresholding a noiseless image without gaps at 0.5 gives
back its target exactly; the gaps and the noise are what a network must see through.

- :func:`synthetic_membranes` (2-D) and :func:`synthetic_sheets` (3-D): the walls of a
  Voronoi diagram of cells spread by best-candidate sampling, about two pixels thick (the
  construction of :mod:`dmtloss.synthetic`: a pixel is on a wall when its two nearest
  cell centres are at distances differing by less than ``WALL_WIDTH``). Regions are the
  cells: ``regions="background"``.
- :func:`synthetic_vessels` (2-D) and :func:`synthetic_tubes` (3-D): trees of smooth
  random curves (a unit-step walk whose turning rate is itself a damped random walk);
  roots enter from the image border heading for its middle half, and each later branch
  sprouts from a point of an earlier one at 25 to 60 degrees, thinner than its parent. The target is the set of pixels whose centre is within
  its curve's radius of the curve (a polyline with unit steps); radii are at least
  ``sqrt(d) / 2`` so that every tree is one 4-connected (6-connected in 3-D) component.
  ``regions="foreground"``.
- Gaps: `gap_count` places of the structure keep only a fraction ``s`` of their
  strength, ``s`` drawn uniformly from `gap_strength` for each gap, within a radius that
  covers the structure's whole thickness (3 pixels on walls, the curve's radius + 1.5 on
  curves), rising back to full strength over 2 more pixels. Gaps are in the image only,
  never in the target: thresholding the image breaks the structure there (merges cells,
  splits vessels). On walls they go to the middle of distinct wall segments, interior
  segments first (only those merge two cells inside the image); on curves, away from
  junctions, crossings, ends and each other.
- Noise: `noise` is the standard deviation of the noise field in units of the wall
  contrast, half of its variance white and half correlated (Gaussian-smoothed white
  noise with a sigma of 1.5 pixels, rescaled to unit variance).
- :func:`retina`: ``skimage.data.retina()`` with a *pseudo* ground truth from a
  vesselness filter; see its docstring.

Randomness: ``np.random.SeedSequence(seed).spawn(count)`` gives each image its own
stream, itself spawned into independent streams for the geometry, the gaps and the
noise. Image ``i`` therefore depends only on ``seed``, ``i`` and the other arguments,
not on `count`, and changing `gap_count` or `noise` leaves the geometry unchanged.

Complexity, for an image of n pixels: Voronoi walls O(n log c) for c cells (k-d tree
queries) plus O(c^2) to place the centres; curves O(L r^d) for a total curve length L
and radius r; gaps O(g r^d); noise O(n). Defaults run in well under a second.

References
----------
.. [1] X. Hu, Y. Wang, L. Fuxin, D. Samaras, C. Chen. Topology-aware segmentation
       using discrete Morse theory. ICLR 2021.
.. [2] D. P. Mitchell. Spectrally optimal sampling for distribution ray tracing.
       SIGGRAPH 1991 (best-candidate sampling).
.. [3] Y. Sato et al. Three-dimensional multi-scale line filter for segmentation and
       visualization of curvilinear structures in medical images. Medical Image
       Analysis 2(2), 1998 (the vesselness filter of :func:`retina`).
"""

import math
import numbers

import numpy as np
from scipy import ndimage, spatial

from dmtloss import synthetic
from dmtloss.reference._validation import as_int
from dmtloss.synthetic import _is_int

from ._types import SegmentationSet

__all__ = ["synthetic_membranes", "synthetic_vessels", "synthetic_tubes", "synthetic_sheets", "retina",
           "VAL_SEED_OFFSET"]

#: Validation images of a synthetic set are generated from the training set's seed plus
#: this offset (``dmtloss train --val``, ``dmtloss demo``, ``dmtloss evaluate --checkpoint``
#: on synthetic data, and the experiments), so they are never the training images.
VAL_SEED_OFFSET = 1_000_003

_BACKGROUND = 0.3         # intensity of a noiseless background pixel
_CONTRAST = 0.4           # intensity added by a signal of 1
_ON, _OFF = 0.6, 0.4      # the signal is >= _ON on the target and <= _OFF off it
_WALL_BLUR = 0.7          # Gaussian blur of the wall profile, in pixels
_WALL_GAP_RADIUS = 3.0    # radius of a gap's fully weakened core on walls
_CURVE_GAP_EXTRA = 1.5    # on curves, the core radius is the curve's radius plus this
_GAP_RAMP = 2.0           # a gap's strength rises back to 1 over this many pixels
_NOISE_CORRELATION = 1.5  # sigma of the correlated half of the noise, in pixels
_BEND = 0.005             # curves: standard deviation of the change of turning rate per step
_MOMENTUM = 0.9           # curves: how much of its turning rate a step keeps
_MIN_SIDE = {2: 16, 3: 8}


# -- validation ------------------------------------------------------------------------

def _check_shape(shape, ndim):
    low = _MIN_SIDE[ndim]
    message = f"`shape` must be {ndim} ints >= {low}; got {shape!r}"
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__len__"):
        raise TypeError(message)
    items = tuple(shape)
    if not all(_is_int(n) for n in items):
        raise TypeError(message)
    if len(items) != ndim or min(items) < low:
        raise ValueError(message)
    return tuple(int(n) for n in items)


def _check_real(value, name, low, high=math.inf):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number; got {type(value).__name__}")
    if not (np.isfinite(value) and low <= value <= high):
        bounds = f">= {low}" if high == math.inf else f"between {low} and {high}"
        raise ValueError(f"`{name}` must be a finite number {bounds}; got {value!r}")
    return float(value)


def _check_interval(interval, name, low, high):
    message = f"`{name}` must be a pair (low, high) with {low} <= low <= high <= {high}; got {interval!r}"
    if isinstance(interval, (str, bytes)) or not hasattr(interval, "__len__"):
        raise TypeError(message)
    items = tuple(interval)
    if len(items) != 2:
        raise ValueError(message)
    for value in items:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise TypeError(f"`{name}` must hold real numbers; got {type(value).__name__}")
    first, second = (float(v) for v in items)
    if not low <= first <= second <= high:  # False for NaN too
        raise ValueError(message)
    return first, second


def _check_common(count, shape, ndim, gap_count, gap_strength, noise, seed):
    return (as_int(count, "count", 1), _check_shape(shape, ndim),
            as_int(gap_count, "gap_count", 0), _check_interval(gap_strength, "gap_strength", 0.0, 1.0),
            _check_real(noise, "noise", 0.0), as_int(seed, "seed", 0))


# -- shared construction ---------------------------------------------------------------

def _streams(seed, count):
    """Per image, independent generators for the geometry, the gaps and the noise."""
    return [[np.random.default_rng(s) for s in child.spawn(3)]
            for child in np.random.SeedSequence(seed).spawn(count)]


def _weaken(signal, centres, radii, strengths):
    """Cap `signal` near each centre: `strength` within `radius`, back to 1 over _GAP_RAMP."""
    for centre, radius, strength in zip(centres, radii, strengths):
        reach = radius + _GAP_RAMP
        lower = [max(0, math.floor(c - reach)) for c in centre]
        upper = [min(n, math.ceil(c + reach) + 1) for c, n in zip(centre, signal.shape)]
        box = tuple(slice(a, b) for a, b in zip(lower, upper))
        grid = np.indices([b - a for a, b in zip(lower, upper)], dtype=np.float64)
        offsets = [g + a - c for g, a, c in zip(grid, lower, centre)]
        distance = np.sqrt(sum(o * o for o in offsets))
        keep = strength + (1.0 - strength) * np.clip((distance - radius) / _GAP_RAMP, 0.0, 1.0)
        np.minimum(signal[box], keep, out=signal[box])


def _render(signal, target, gap_rng, noise_rng, gaps, gap_strength, noise):
    """The image: the signal with the target's margins, gaps, noise, mapped to [0, 1]."""
    signal = np.where(target, np.maximum(signal, _ON), np.minimum(signal, _OFF))
    centres, radii = gaps
    _weaken(signal, centres, radii, gap_rng.uniform(*gap_strength, size=len(centres)))
    if noise > 0:
        correlated = ndimage.gaussian_filter(noise_rng.standard_normal(signal.shape), _NOISE_CORRELATION)
        correlated /= max(correlated.std(), np.finfo(np.float64).tiny)
        signal += noise * np.sqrt(0.5) * (correlated + noise_rng.standard_normal(signal.shape))
    return np.clip(_BACKGROUND + _CONTRAST * signal, 0.0, 1.0).astype(np.float32)


def _source(name, **arguments):
    return f"{name}(" + ", ".join(f"{k}={v!r}" for k, v in arguments.items()) + ")"


def _make_set(kind, images, targets, regions, source):
    names = [f"{kind}/{i:02d}" for i in range(len(images))]
    return SegmentationSet(images, targets, names, regions, source)


# -- Voronoi walls (membranes, sheets) -------------------------------------------------

def _voronoi_image(shape, cells, gap_count, gap_strength, noise, streams):
    geometry_rng, gap_rng, noise_rng = streams
    centres = synthetic._centres(shape, cells, geometry_rng)
    dist, index = synthetic._voronoi(shape, centres)
    excess = dist[..., 1] - dist[..., 0]
    walls = excess < synthetic.WALL_WIDTH
    profile = np.clip(0.5 + (synthetic.WALL_WIDTH - excess) / 2.0, 0.0, 1.0)
    profile = ndimage.gaussian_filter(profile, _WALL_BLUR, mode="nearest")
    centres = synthetic._gap_centres(shape, walls, dist, index, gap_count, gap_rng)
    gaps = (centres, [_WALL_GAP_RADIUS] * len(centres))
    return _render(profile, walls, gap_rng, noise_rng, gaps, gap_strength, noise), walls


def _voronoi_set(kind, ndim, count, shape, cells, per_cell, gap_count, gap_strength, noise, seed):
    count, shape, gap_count, gap_strength, noise, seed = _check_common(
        count, shape, ndim, gap_count, gap_strength, noise, seed)
    size = math.prod(shape)
    if cells is None:
        cells = max(2, round(size / per_cell ** ndim))
    cells = as_int(cells, "cells", 2, size // 4 ** ndim)
    pairs = [_voronoi_image(shape, cells, gap_count, gap_strength, noise, s) for s in _streams(seed, count)]
    source = _source(f"synthetic_{kind}", count=count, shape=shape, cells=cells, gap_count=gap_count,
                     gap_strength=gap_strength, noise=noise, seed=seed)
    return _make_set(kind, [p[0] for p in pairs], [p[1] for p in pairs], "background", source)


# -- curves (vessels, tubes) -----------------------------------------------------------

def _turn(direction, angle, rng):
    """`direction` turned by `angle` radians toward a random perpendicular direction."""
    other = rng.standard_normal(len(direction))
    other -= (other @ direction) * direction
    other /= np.linalg.norm(other)
    return math.cos(angle) * direction + math.sin(angle) * other


def _walk(start, direction, steps, shape, rng):
    """Unit-step points of a smooth random curve, stopped where it leaves the image."""
    high = np.array(shape, dtype=np.float64) - 0.5
    points, point, turning = [start], start, np.zeros(len(shape))
    for kick in rng.standard_normal((steps, len(shape))) * _BEND:
        turning = _MOMENTUM * turning + kick
        turning -= (turning @ direction) * direction
        direction = direction + turning
        direction /= np.linalg.norm(direction)
        point = point + direction
        if (point < -0.5).any() or (point > high).any():
            break
        points.append(point)
    return np.array(points)


def _trees(shape, trees, branches, radius, rng):
    """`branches` curves as ``(points, radius)``: `trees` roots, the rest sprouting from them."""
    extent = np.array(shape, dtype=np.float64) - 1
    curves = []
    for b in range(branches):
        if b < trees:  # a root enters from a random side, heading for the image's middle
            axis, side = rng.integers(len(shape)), rng.integers(2)
            start = rng.random(len(shape)) * extent
            start[axis] = side * extent[axis]
            direction = (0.25 + 0.5 * rng.random(len(shape))) * extent - start
            direction /= np.linalg.norm(direction)
            r, steps = rng.uniform((radius[0] + radius[1]) / 2, radius[1]), 2 * sum(shape)
        else:  # a branch leaves a point of an earlier curve at 25 to 60 degrees
            lengths = np.array([len(p) if len(p) >= 8 else 0 for p, _ in curves], dtype=np.float64)
            if not lengths.any():  # no curve is long enough to branch
                continue
            parent = rng.choice(len(curves), p=lengths / lengths.sum())
            points, parent_radius = curves[parent]
            i = rng.integers(3, len(points) - 3)
            tangent = points[i + 1] - points[i - 1]
            start = points[i]
            direction = _turn(tangent / np.linalg.norm(tangent), rng.uniform(0.45, 1.0), rng)
            r = max(radius[0], parent_radius * rng.uniform(0.55, 0.85))
            steps = int(rng.uniform(0.15, 0.5) * max(shape))
        curves.append((_walk(start, direction, steps, shape, rng), r))
    return curves


def _draw(shape, curves):
    """Signal ``clip(0.5 + r - d, 0, 1)`` and target ``d <= r``, d the distance to a curve."""
    starts = np.concatenate([p[:-1] if len(p) > 1 else p for p, _ in curves])
    ends = np.concatenate([p[1:] if len(p) > 1 else p for p, _ in curves])
    radii = np.concatenate([np.full(max(len(p) - 1, 1), r) for p, r in curves])
    half = math.ceil(radii.max() + 1.5)
    offsets = np.indices((2 * half + 1,) * len(shape)).reshape(len(shape), -1).T - half
    signal = np.zeros(math.prod(shape))
    target = np.zeros(math.prod(shape), dtype=bool)
    chunk = max(1, 2 ** 20 // len(offsets))
    for k in range(0, len(starts), chunk):
        a, b, r = starts[k:k + chunk, None], ends[k:k + chunk, None], radii[k:k + chunk, None]
        pixels = np.floor((a + b) / 2 + 0.5).astype(np.int64) + offsets  # (S, K, d)
        axis = b - a
        length2 = np.maximum((axis * axis).sum(-1), np.finfo(np.float64).tiny)
        t = np.clip(((pixels - a) * axis).sum(-1) / length2, 0.0, 1.0)
        distance = np.linalg.norm(pixels - a - t[..., None] * axis, axis=-1)
        keep = (distance < r + 0.5) & ((pixels >= 0) & (pixels < np.array(shape))).all(-1)
        flat = np.ravel_multi_index(tuple(pixels[keep].T), shape)
        np.maximum.at(signal, flat, np.clip(0.5 + r - distance, 0.0, 1.0)[keep])
        target[flat[(distance <= r)[keep]]] = True
    return signal.reshape(shape), target.reshape(shape)


def _curve_gaps(curves, gap_count, rng):
    """Centres and core radii of up to `gap_count` gaps, each cutting one curve only.

    A gap's reach (core radius plus ramp) must hold no point of another curve, none of its
    own curve from a loop back, neither end of its curve, and no other gap.
    """
    points = np.concatenate([p for p, _ in curves])
    owner = np.concatenate([np.full(len(p), c) for c, (p, _) in enumerate(curves)])
    position = np.concatenate([np.arange(len(p)) for p, _ in curves])
    lengths = np.array([len(p) for p, _ in curves], dtype=np.float64)
    widest = max(r for _, r in curves)
    tree = spatial.cKDTree(points)
    centres, radii = [], []
    for _ in range(100 * gap_count):
        if len(centres) == gap_count:
            break
        c = rng.choice(len(curves), p=lengths / lengths.sum())
        curve, r = curves[c]
        reach = r + _CURVE_GAP_EXTRA + _GAP_RAMP
        ends = math.ceil(reach) + 1
        if len(curve) <= 2 * ends:
            continue
        i = rng.integers(ends, len(curve) - ends)
        near = tree.query_ball_point(curve[i], reach + widest + 0.5)
        alone = all(owner[j] == c and abs(position[j] - i) <= 2 * (reach + widest) for j in near)
        apart = all(np.linalg.norm(curve[i] - g) > 2 * reach for g in centres)
        if alone and apart:
            centres.append(curve[i])
            radii.append(r + _CURVE_GAP_EXTRA)
    return centres, radii


def _curve_image(shape, trees, branches, radius, gap_count, gap_strength, noise, streams):
    geometry_rng, gap_rng, noise_rng = streams
    curves = _trees(shape, trees, branches, radius, geometry_rng)
    signal, target = _draw(shape, curves)
    gaps = _curve_gaps(curves, gap_count, gap_rng)
    return _render(signal, target, gap_rng, noise_rng, gaps, gap_strength, noise), target


def _curve_set(kind, ndim, count, shape, trees, branches, thickness, gap_count, gap_strength, noise, seed):
    """`thickness` is ``("width", (low, high))`` in 2-D, ``("radius", (low, high))`` in 3-D."""
    count, shape, gap_count, gap_strength, noise, seed = _check_common(
        count, shape, ndim, gap_count, gap_strength, noise, seed)
    trees = as_int(trees, "trees", 1)
    branches = as_int(branches, "branches", trees)
    name, interval = thickness
    radius = (interval[0] / 2, interval[1] / 2) if name == "width" else interval
    pairs = [_curve_image(shape, trees, branches, radius, gap_count, gap_strength, noise, s)
             for s in _streams(seed, count)]
    source = _source(f"synthetic_{kind}", count=count, shape=shape, trees=trees, branches=branches,
                     **{name: interval}, gap_count=gap_count, gap_strength=gap_strength, noise=noise, seed=seed)
    return _make_set(kind, [p[0] for p in pairs], [p[1] for p in pairs], "foreground", source)


# -- public API ------------------------------------------------------------------------

def synthetic_membranes(count=8, shape=(256, 256), *, cells=None, gap_count=20, gap_strength=(0.0, 0.25),
                        noise=0.4, seed=0):
    """Seeded 2-D images of cell membranes with weak spots, and their exact walls.

    Bright Voronoi walls about two pixels thick on a dark background (``1 - image`` gives
    dark, EM-like membranes), `gap_count` wall segments weakened to a fraction of their
    strength, and white plus correlated noise. See the module docstring for the recipe.

    Parameters
    ----------
    count : int, optional
        Number of images (>= 1).
    shape : tuple of 2 ints, optional
        ``(M, N)``, each at least 16.
    cells : int, optional
        Cells per image, from 2 to ``M * N // 16``. Default: one per 24 x 24 pixels
        (at least 2).
    gap_count : int, optional
        Wall segments weakened per image (>= 0); fewer when the walls have fewer
        segments away from junctions and the border.
    gap_strength : (float, float), optional
        Interval, within [0, 1], of the strength a gap keeps (uniformly drawn per gap; a
        wall's strength is 1). Below 0.5 a gap breaks the thresholded walls.
    noise : float, optional
        Standard deviation (>= 0) of the noise, in units of the wall contrast.
    seed : int, optional
        Seed (>= 0). The same arguments give the same arrays.

    Returns
    -------
    data : SegmentationSet
        `count` float32 ``(M, N)`` images in [0, 1] named ``"membranes/00"``, ...; the
        targets are the walls (True), exact; ``regions="background"``.

    Raises
    ------
    TypeError
        If an argument is of the wrong kind (a float `count`, a string `shape`, ...).
    ValueError
        If an argument is out of range.

    See Also
    --------
    dmtloss.synthetic.membrane_likelihood : a network's output on such membranes.

    Examples
    --------
    >>> data = synthetic_membranes(2, (32, 48), seed=1)
    >>> len(data), data[0][0].shape, data[0][0].dtype, data.regions
    (2, (32, 48), dtype('float32'), 'background')
    >>> clean = synthetic_membranes(1, (32, 48), gap_count=0, noise=0.0, seed=1)
    >>> image, walls = clean[0]
    >>> bool(np.array_equal(image > 0.5, walls))
    True
    >>> synthetic_membranes(shape=(8, 8))
    Traceback (most recent call last):
    ...
    ValueError: `shape` must be 2 ints >= 16; got (8, 8)
    """
    return _voronoi_set("membranes", 2, count, shape, cells, 24, gap_count, gap_strength, noise, seed)


def synthetic_sheets(count=2, shape=(48, 48, 48), *, cells=None, gap_count=8, gap_strength=(0.0, 0.25),
                     noise=0.4, seed=0):
    """Seeded 3-D images of cell membranes (sheets) with holes, and their exact walls.

    The 3-D version of :func:`synthetic_membranes`: the walls of a 3-D Voronoi diagram,
    about two voxels thick, with `gap_count` holes punched into the image (not into the
    target) in the middle of distinct sheets.

    Parameters
    ----------
    count : int, optional
        Number of images (>= 1).
    shape : tuple of 3 ints, optional
        ``(P, M, N)``, each at least 8.
    cells : int, optional
        Cells per image, from 2 to ``P * M * N // 64``. Default: one per 16^3 voxels.
    gap_count, gap_strength, noise, seed
        As for :func:`synthetic_membranes`; a hole is a ball of radius 3 voxels.

    Returns
    -------
    data : SegmentationSet
        `count` float32 ``(P, M, N)`` images named ``"sheets/00"``, ...; the targets are
        the walls; ``regions="background"``.

    Raises
    ------
    TypeError, ValueError
        As for :func:`synthetic_membranes`.

    Examples
    --------
    >>> data = synthetic_sheets(1, (12, 16, 20), cells=4, seed=2)
    >>> data.ndim, data[0][1].shape, data.regions
    (3, (12, 16, 20), 'background')
    """
    return _voronoi_set("sheets", 3, count, shape, cells, 16, gap_count, gap_strength, noise, seed)


def synthetic_vessels(count=8, shape=(256, 256), *, trees=3, branches=30, width=(1.5, 4.0), gap_count=12,
                      gap_strength=(0.0, 0.25), noise=0.3, seed=0):
    """Seeded 2-D images of branching vessels (or cracks) with gaps, and their exact masks.

    Bright smooth curves on a dark background: `trees` roots enter from the border, and
    the other branches sprout from earlier ones, each thinner than its parent. The image
    fades to a fraction of its strength at `gap_count` places; the target does not.

    Parameters
    ----------
    count : int, optional
        Number of images (>= 1).
    shape : tuple of 2 ints, optional
        ``(M, N)``, each at least 16.
    trees : int, optional
        Root curves per image (>= 1).
    branches : int, optional
        Curves per image, roots included (>= `trees`); fewer only if no curve is 8
        pixels long to branch from.
    width : (float, float), optional
        Interval of the curves' widths (twice their radii) in pixels, from 1.5 to 20:
        roots are drawn from its upper half, a branch is 55-85% as wide as its parent
        but never thinner than the lower bound.
    gap_count : int, optional
        Gaps per image (>= 0); fewer when not enough places are away from junctions,
        crossings and curve ends.
    gap_strength, noise, seed
        As for :func:`synthetic_membranes`.

    Returns
    -------
    data : SegmentationSet
        `count` float32 ``(M, N)`` images named ``"vessels/00"``, ...; the targets are
        the pixels within a curve's radius of it, each tree one 4-connected component;
        ``regions="foreground"``.

    Raises
    ------
    TypeError, ValueError
        As for :func:`synthetic_membranes`.

    Examples
    --------
    >>> data = synthetic_vessels(1, (40, 40), trees=1, branches=3, seed=3)
    >>> image, target = data[0]
    >>> bool(image[target].mean() > image[~target].mean()), data.regions
    (True, 'foreground')
    """
    width = _check_interval(width, "width", 1.5, 20.0)
    return _curve_set("vessels", 2, count, shape, trees, branches, ("width", width), gap_count, gap_strength,
                      noise, seed)


def synthetic_tubes(count=2, shape=(48, 48, 48), *, trees=4, branches=8, radius=(1.0, 3.0), gap_count=6,
                    gap_strength=(0.0, 0.25), noise=0.3, seed=0):
    """Seeded 3-D images of branching tubes with gaps, and their exact masks.

    The 3-D version of :func:`synthetic_vessels`.

    Parameters
    ----------
    count : int, optional
        Number of images (>= 1).
    shape : tuple of 3 ints, optional
        ``(P, M, N)``, each at least 8.
    trees, branches
        As for :func:`synthetic_vessels`.
    radius : (float, float), optional
        Interval of the tubes' radii in voxels, from 1 to 10 (roots from its upper
        half, branches thinner than their parents).
    gap_count, gap_strength, noise, seed
        As for :func:`synthetic_vessels`.

    Returns
    -------
    data : SegmentationSet
        `count` float32 ``(P, M, N)`` images named ``"tubes/00"``, ...; the targets are
        the voxels within a tube's radius of its centre line, each tree one 6-connected
        component; ``regions="foreground"``.

    Raises
    ------
    TypeError, ValueError
        As for :func:`synthetic_membranes`.

    Examples
    --------
    >>> data = synthetic_tubes(1, (16, 16, 16), trees=1, branches=1, gap_count=0, noise=0.0)
    >>> image, target = data[0]
    >>> data.ndim, bool(np.array_equal(image > 0.5, target))
    (3, True)
    """
    radius = _check_interval(radius, "radius", 1.0, 10.0)
    return _curve_set("tubes", 3, count, shape, trees, branches, ("radius", radius), gap_count, gap_strength,
                      noise, seed)


def retina(scale=0.5):
    """The fundus photograph that ships with scikit-image, with a PSEUDO ground truth.

    WARNING: the target is not a manual annotation. It is what a vesselness filter
    finds, so it has the filter's errors (missed thin vessels, broken crossings, false
    responses on the optic disc's rim): use it to try things on a real image, never to
    report accuracy. For a real benchmark use :func:`load_drive`.

    The image is ``skimage.data.retina()`` (CC0, bundled with scikit-image: no download),
    its green channel (where vessels contrast most, as is usual for fundus images) divided
    by 255, rescaled by `scale` (bilinear, anti-aliased). Vessels are dark. The pseudo
    ground truth is Sato's vesselness filter (dark ridges, sigmas 1 to 3 pixels at scale
    0.5, proportional at other scales) thresholded by Otsu's method within the field of
    view, restricted to the field of view shrunk by 3% of the image side (its rim makes
    a strong false ridge), with components under 30 pixels (at scale 0.5) removed. The
    field of view is where the red channel exceeds 20.

    Parameters
    ----------
    scale : float, optional
        Resize factor in (0, 1] of the 1411 x 1411 photograph.

    Returns
    -------
    data : SegmentationSet
        One float32 image named ``"retina"``, its pseudo ground truth,
        ``regions="foreground"``, and a `source` that starts with "pseudo ground truth".

    Raises
    ------
    TypeError
        If `scale` is not a real number.
    ValueError
        If `scale` is not in (0, 1].

    Examples
    --------
    >>> data = retina(0.1)
    >>> image, target = data[0]
    >>> image.shape, image.dtype, data.source.startswith("pseudo ground truth")
    ((141, 141), dtype('float32'), True)
    """
    from skimage import data, filters, transform

    scale = _check_real(scale, "scale", 0.0, 1.0)
    if scale == 0:
        raise ValueError(f"`scale` must be a finite number between 0 and 1, not 0; got {scale!r}")
    photo = data.retina()
    green = photo[..., 1] / 255.0
    field = photo[..., 0] > 20
    if scale != 1:
        green = transform.rescale(green, scale, order=1, anti_aliasing=True)
        field = transform.rescale(field.astype(np.float64), scale, order=1, anti_aliasing=True) > 0.5
    image = np.clip(green, 0.0, 1.0).astype(np.float32)
    sigmas = 2 * scale * np.arange(1.0, 4.0)
    vesselness = filters.sato(green, sigmas=sigmas, black_ridges=True, mode="reflect")
    field = ndimage.binary_erosion(field, iterations=max(1, round(0.03 * image.shape[0])))
    threshold = filters.threshold_otsu(vesselness[field])
    labels, _ = ndimage.label(field & (vesselness > threshold))  # 4-connected, as the metrics
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    target = sizes[labels] >= 120 * scale ** 2
    source = (f"pseudo ground truth: skimage.data.retina() green channel at scale {scale}; target = Sato "
              f"vesselness > Otsu threshold within the field of view, small objects removed (not a manual "
              f"annotation)")
    return SegmentationSet([image], [target], ["retina"], "foreground", source)
