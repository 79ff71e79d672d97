"""asv suites: speed, peak memory and exactness of the engines, beside cripser and GUDHI.

Every suite builds its images in ``setup`` from fixed seeds (memoised per process: asv
calls ``setup`` again before each sample) and, for the fast engine, compiles the numba
kernels there on a tiny image of the same dimension, so JIT compilation is never timed.
asv's default warm-up then makes one untimed call on the real image before the samples.

Images (see :func:`make_image`)

``smooth``
    Gaussian-blurred white noise through a logistic: many shallow critical points with
    a characteristic size of a few pixels, no ties.
``membrane``
    Voronoi-like walls (curves in 2-D, sheets in 3-D) of varying strength, with
    correlated noise, through a logistic: the kind of map a network trained on
    electron-microscopy membranes outputs.
``membrane-8bit``
    The membrane map rounded to 256 levels, as saved in an 8-bit image: about 4,000
    pixels share each value at 1024^2 (only in ``Ties2D``).

Suites

=====================  ===========================================================
``MorseStructures2D``  ``fast.morse_structures``, sides 256 .. 2048, epsilon 0 and 0.2
``MorseStructures3D``  the same on volumes, sides 32 .. 128
``Ties2D``             the same on ``membrane-8bit``, sides 512 and 1024
``Batch``              ``fast.morse_structures_batch`` on 8 x 512^2, 1 and 2 workers
``Diagrams2D/3D``      diagrams by the fast engine, cripser and GUDHI on the same
                       images (same params), so that ratios come from one run
``Reference``          ``reference.morse_structures`` at 32^2, 48^2 and 8^3
``Exactness``          ``track_disagreement``: cells where fast and reference differ
                       (must be 0), on small images
=====================  ===========================================================

Slow grid points (2048^2, 128^3, and GUDHI above 512^2 or 64^3) run only when the
environment variable ``DMTLOSS_BENCH_FULL=1`` is set; otherwise their ``setup`` raises
``NotImplementedError`` and asv reports them as skipped.
"""

import collections
import functools
import os

import numpy as np
from scipy import ndimage, spatial, special

from dmtloss import fast, reference

__all__ = ["KINDS", "FULL_ENV", "SEED", "full_grid", "skip_unless_full", "make_image", "make_batch",
           "parse_shape", "warm_up", "diagram_function", "disagreement"]

#: Environment variable that switches the slow grid points on (value ``"1"``).
FULL_ENV = "DMTLOSS_BENCH_FULL"
#: The image kinds every suite runs on.
KINDS = ("smooth", "membrane")
#: Seed of every image (a batch uses ``SEED + i`` for its i-th image).
SEED = 0

# smooth: blur (pixels) and logistic gain on the standardised field
_SMOOTH_SIGMA = 3.0
_SMOOTH_GAIN = 2.0
# membrane: mean cell diameter (pixels), wall half-width, wall strength range, noise
_CELL_SIZE = {2: 24.0, 3: 16.0}
_WALL_WIDTH = 1.0
_WEAKEST_WALL = 0.4
_NOISE = 0.15
_GAIN = 8.0
_QUERY_CHUNK = 1 << 16  # pixels per k-d tree query, to keep the generator's memory low


# -- images ------------------------------------------------------------------------------

def full_grid():
    """True when ``DMTLOSS_BENCH_FULL=1``: run the slow grid points too."""
    return os.environ.get(FULL_ENV) == "1"


def skip_unless_full(slow, what):
    """Raise NotImplementedError (asv: skipped) for a `slow` grid point unless full_grid()."""
    if slow and not full_grid():
        raise NotImplementedError(f"{what} is a slow grid point; set {FULL_ENV}=1 to run it")


def _standardised(field):
    field -= field.mean()
    field /= field.std() or 1.0
    return field


def _smooth(shape, rng):
    field = ndimage.gaussian_filter(rng.standard_normal(shape), _SMOOTH_SIGMA, mode="wrap")
    return special.expit(_SMOOTH_GAIN * _standardised(field))


def _walls(shape, rng):
    """Voronoi walls: 1 on the bisector of the two nearest cell centres, a Gaussian across."""
    ndim, size = len(shape), int(np.prod(shape))
    cells = max(2, round(size / _CELL_SIZE[ndim] ** ndim))
    centres = rng.uniform(0, 1, (cells, ndim)) * np.array(shape)
    tree = spatial.cKDTree(centres)
    walls = np.empty(size)
    for start in range(0, size, _QUERY_CHUNK):
        index = np.arange(start, min(start + _QUERY_CHUNK, size))
        points = np.column_stack(np.unravel_index(index, shape)).astype(np.float64)
        distance, _ = tree.query(points, k=2)
        # distance[:, 1] - distance[:, 0] is about twice the distance to the bisector
        walls[index] = np.exp(-0.5 * ((distance[:, 1] - distance[:, 0]) / (2 * _WALL_WIDTH)) ** 2)
    return walls.reshape(shape)


def _membrane(shape, rng):
    walls = _walls(shape, rng)
    # walls vary in strength along their length (weak spots), from _WEAKEST_WALL to 1
    strength = _standardised(ndimage.gaussian_filter(rng.standard_normal(shape), 4.0))
    walls *= _WEAKEST_WALL + (1 - _WEAKEST_WALL) * special.expit(2 * strength)
    walls = ndimage.gaussian_filter(walls, 1.0)
    walls /= walls.max() or 1.0
    noise = _standardised(ndimage.gaussian_filter(rng.standard_normal(shape), 0.75))
    walls += _NOISE * noise
    walls -= 0.5
    walls *= _GAIN
    return special.expit(walls, out=walls)


def _membrane_8bit(shape, rng):
    """The membrane map stored as 8-bit levels, as a network's output often is saved."""
    return np.round(_membrane(shape, rng) * 255) / 255


_GENERATORS = {"smooth": _smooth, "membrane": _membrane, "membrane-8bit": _membrane_8bit}


@functools.lru_cache(maxsize=4)
def make_image(kind, shape, seed=SEED):
    """A seeded likelihood map in [0, 1] (read-only float64; memoised).

    Parameters
    ----------
    kind : {"smooth", "membrane", "membrane-8bit"}
        ``membrane-8bit`` is the membrane map rounded to 256 levels: ties everywhere.
    shape : tuple of int
        2-D or 3-D.
    seed : int, optional

    Returns
    -------
    image : ndarray of float64
    """
    try:
        generate = _GENERATORS[kind]
    except KeyError as err:
        raise ValueError(f"`kind` must be one of {sorted(_GENERATORS)}; got {kind!r}") from err
    image = generate(tuple(shape), np.random.default_rng(seed))
    image.setflags(write=False)
    return image


@functools.lru_cache(maxsize=2)
def make_batch(kind, count, shape):
    """``count`` images of one kind, seeds ``SEED .. SEED + count - 1``, stacked (memoised)."""
    batch = np.stack([make_image.__wrapped__(kind, tuple(shape), SEED + i) for i in range(count)])
    batch.setflags(write=False)
    return batch


def parse_shape(text):
    """``"48x48"`` -> ``(48, 48)``."""
    return tuple(int(n) for n in text.split("x"))


# -- engines -----------------------------------------------------------------------------

_warm = set()


def warm_up(ndim):
    """Compile every kernel the fast engine runs on `ndim`-D images (once per process).

    Calls each public function on tiny random and tie-heavy images, at epsilon 0 and
    0.2, with and without the frame, and batched over two threads.
    """
    if ndim in _warm:
        return
    rng = np.random.default_rng(1)
    shape = (9, 11) if ndim == 2 else (5, 6, 7)
    images = [rng.random(shape), rng.integers(0, 3, shape).astype(np.float64)]
    for image in images:
        fast.persistence_diagram(image)
        for epsilon in (0.0, 0.2):
            for frame in (False, True):
                fast.morse_structures(image, epsilon, frame=frame)
    fast.morse_structures_batch(np.stack(images), 0.2, workers=2)
    _warm.add(ndim)


def _cripser_diagram(image):
    import cripser
    return cripser.computePH(-image, maxdim=image.ndim - 1)


def _gudhi_diagram(image):
    import gudhi
    return gudhi.CubicalComplex(vertices=-image).persistence(homology_coeff_field=2,
                                                             min_persistence=0)


_DIAGRAMS = {"fast": fast.persistence_diagram, "cripser": _cripser_diagram, "gudhi": _gudhi_diagram}


def diagram_function(engine):
    """The superlevel persistence diagram of an image, as `engine` computes it.

    ``"fast"`` is ``dmtloss.fast.persistence_diagram``; ``"cripser"`` and ``"gudhi"``
    are the peers' own calls on the negated image (V-construction), unconverted.
    Raises NotImplementedError (asv: skipped) when the peer is not installed.
    """
    try:
        function = _DIAGRAMS[engine]
    except KeyError as err:
        raise ValueError(f"`engine` must be one of {sorted(_DIAGRAMS)}; got {engine!r}") from err
    if engine != "fast":
        try:
            __import__(engine)
        except ImportError as err:
            raise NotImplementedError(f"{engine} is not installed") from err
    return function


def _rows(pairs):
    return collections.Counter(
        zip(pairs.dim.tolist(), map(tuple, pairs.birth.tolist()), map(tuple, pairs.death.tolist()),
            pairs.birth_value.tolist(), pairs.death_value.tolist()))


def _row_difference(a, b):
    a, b = collections.Counter(a), collections.Counter(b)
    return sum(((a - b) + (b - a)).values())


def disagreement(want, got):
    """Number of cells on which two MorseStructures differ (0 when they are equal).

    Counts pixels (or top cells, for ``basins``) where an array field differs, critical
    cells in one answer only, and persistence pairs (of ``pairs`` and ``uncancelled``)
    in one answer only.
    """
    count = 0
    for name in ("ridges", "ridge_persistence", "basins", "boundaries", "boundary_persistence"):
        a, b = getattr(want, name), getattr(got, name)
        count += max(a.size, b.size) if a.shape != b.shape else int(np.count_nonzero(a != b))
    count += _row_difference(map(tuple, want.critical.tolist()), map(tuple, got.critical.tolist()))
    for name in ("pairs", "uncancelled"):
        count += _row_difference(_rows(getattr(want, name)).elements(),
                                 _rows(getattr(got, name)).elements())
    return count


# -- suites ------------------------------------------------------------------------------

class _Suite:
    """Timing defaults: one call per sample, 3 to 10 samples within 20 s."""

    number = 1
    repeat = (3, 10, 20.0)
    timeout = 120.0


class MorseStructures2D(_Suite):
    """``fast.morse_structures`` on 2-D images."""

    params = (list(KINDS), [256, 512, 1024, 2048], [0.0, 0.2])
    param_names = ("image", "side", "epsilon")
    timeout = 300.0

    def setup(self, image, side, epsilon):
        skip_unless_full(side > 1024, f"{side}^2")
        warm_up(2)
        self.image = make_image(image, (side, side))

    def time_morse_structures(self, image, side, epsilon):
        fast.morse_structures(self.image, epsilon)

    def peakmem_morse_structures(self, image, side, epsilon):
        fast.morse_structures(self.image, epsilon)

    def peakmem_reference(self, image, side, epsilon):
        """Baseline: the process after setup (imports, compiled kernels, the image)."""


class Ties2D(_Suite):
    """``fast.morse_structures`` on 8-bit images, where thousands of pixels share a value.

    Ties decide the filtration order and the zero-persistence pairs cancelled on
    level sets; this suite keeps the cost of both in view.
    """

    params = ([512, 1024], [0.0, 0.2])
    param_names = ("side", "epsilon")

    def setup(self, side, epsilon):
        warm_up(2)
        self.image = make_image("membrane-8bit", (side, side))

    def time_morse_structures(self, side, epsilon):
        fast.morse_structures(self.image, epsilon)


class MorseStructures3D(_Suite):
    """``fast.morse_structures`` on 3-D volumes."""

    params = (list(KINDS), [32, 64, 128], [0.0, 0.2])
    param_names = ("image", "side", "epsilon")
    timeout = 300.0

    def setup(self, image, side, epsilon):
        skip_unless_full(side > 64, f"{side}^3")
        warm_up(3)
        self.image = make_image(image, (side, side, side))

    def time_morse_structures(self, image, side, epsilon):
        fast.morse_structures(self.image, epsilon)

    def peakmem_morse_structures(self, image, side, epsilon):
        fast.morse_structures(self.image, epsilon)

    def peakmem_reference(self, image, side, epsilon):
        """Baseline: the process after setup (imports, compiled kernels, the image)."""


class Batch(_Suite):
    """``fast.morse_structures_batch`` on 8 images of 512^2, on 1 and 2 threads."""

    params = (list(KINDS), [1, 2])
    param_names = ("image", "workers")
    timeout = 300.0
    count, side, epsilon = 8, 512, 0.2

    def setup(self, image, workers):
        warm_up(2)
        self.batch = make_batch(image, self.count, (self.side, self.side))

    def time_morse_structures_batch(self, image, workers):
        fast.morse_structures_batch(self.batch, self.epsilon, workers=workers)

    def peakmem_morse_structures_batch(self, image, workers):
        fast.morse_structures_batch(self.batch, self.epsilon, workers=workers)

    def peakmem_reference(self, image, workers):
        """Baseline: the process after setup (imports, compiled kernels, the batch)."""


class Diagrams2D(_Suite):
    """Persistence diagrams of the 2-D images of ``MorseStructures2D``: fast, cripser, GUDHI."""

    params = (["fast", "cripser", "gudhi"], list(KINDS), [256, 512, 1024, 2048])
    param_names = ("engine", "image", "side")
    timeout = 600.0

    def setup(self, engine, image, side):
        skip_unless_full(side > 1024 or (engine == "gudhi" and side > 512), f"{engine} at {side}^2")
        self.diagram = diagram_function(engine)
        if engine == "fast":
            warm_up(2)
        self.image = make_image(image, (side, side))

    def time_diagram(self, engine, image, side):
        self.diagram(self.image)

    def peakmem_diagram(self, engine, image, side):
        self.diagram(self.image)

    def peakmem_reference(self, engine, image, side):
        """Baseline: the process after setup (imports, compiled kernels, the image)."""


class Diagrams3D(_Suite):
    """Persistence diagrams of the 3-D volumes of ``MorseStructures3D``: fast, cripser, GUDHI."""

    params = (["fast", "cripser", "gudhi"], list(KINDS), [32, 64, 128])
    param_names = ("engine", "image", "side")
    timeout = 600.0

    def setup(self, engine, image, side):
        skip_unless_full(side > 64, f"{engine} at {side}^3")
        self.diagram = diagram_function(engine)
        if engine == "fast":
            warm_up(3)
        self.image = make_image(image, (side, side, side))

    def time_diagram(self, engine, image, side):
        self.diagram(self.image)

    def peakmem_diagram(self, engine, image, side):
        self.diagram(self.image)

    def peakmem_reference(self, engine, image, side):
        """Baseline: the process after setup (imports, compiled kernels, the image)."""


class Reference(_Suite):
    """``reference.morse_structures``, the plain-Python oracle, at the sizes it is meant for."""

    params = (list(KINDS), ["32x32", "48x48", "8x8x8"], [0.0, 0.2])
    param_names = ("image", "shape", "epsilon")
    repeat = (2, 5, 20.0)

    def setup(self, image, shape, epsilon):
        self.image = make_image(image, parse_shape(shape))

    def time_morse_structures(self, image, shape, epsilon):
        reference.morse_structures(self.image, epsilon)


class Exactness:
    """Cells where the fast engine's answer differs from the reference's (must be 0)."""

    params = (list(KINDS), ["32x32", "8x8x8"], [0.0, 0.2])
    param_names = ("image", "shape", "epsilon")
    timeout = 120.0

    def setup(self, image, shape, epsilon):
        shape = parse_shape(shape)
        warm_up(len(shape))
        self.image = make_image(image, shape)

    def track_disagreement(self, image, shape, epsilon):
        return disagreement(reference.morse_structures(self.image, epsilon),
                            fast.morse_structures(self.image, epsilon))

    track_disagreement.unit = "cells"
