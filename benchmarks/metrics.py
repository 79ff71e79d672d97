"""asv suite: the Betti-matching error of a prediction and a target.

Inputs: seeded binary pairs, as segmentations of real data look. The target is a
Gaussian-blurred random field thresholded to walls (2-D: membranes around some 450
cells; 3-D: walls with some 200 tunnels and a dozen voids); the prediction is the same
construction on the field plus an independent one, so most features have a partner,
some at a shifted place, and some have none. They are built, and the numba kernels compiled on a tiny pair, in
``setup``.

Suites

======================  ======================================================
``BettiMatchingError``  ``dmtloss.metrics.betti_matching_error`` on a 512 x 512 and a
                        48^3 pair: time, peak memory, and the error itself (track)
======================  ======================================================
"""

import functools

import numpy as np
from scipy import ndimage

from dmtloss.metrics import betti_matching_error

__all__ = ["SHAPES", "SEED", "make_pair", "BettiMatchingError"]

#: Image shapes "H x W" or "D x H x W", smallest first.
SHAPES = ["512x512", "48x48x48"]
#: The target's field is seeded with SEED, the prediction's extra field with SEED + 1.
SEED = 0
_SIGMA = {2: 4.0, 3: 2.0}   # blur of the random fields (pixels)
_WALL = {2: 0.5, 3: 0.8}    # |field| below this (in standard deviations) is foreground
_NOISE = 0.3                # weight of the prediction's independent field


def _field(shape, seed):
    field = ndimage.gaussian_filter(np.random.default_rng(seed).standard_normal(shape), _SIGMA[len(shape)])
    return field / (field.std() or 1.0)


@functools.lru_cache(maxsize=4)
def make_pair(shape):
    """``(prediction, target)`` binary uint8 arrays of a shape label (read-only; memoised)."""
    shape = tuple(int(n) for n in shape.split("x"))
    truth = _field(shape, SEED)
    guess = truth + _NOISE * _field(shape, SEED + 1)
    pair = tuple((np.abs(f) < _WALL[len(shape)]).astype(np.uint8) for f in (guess, truth))
    for image in pair:
        image.setflags(write=False)
    return pair


class BettiMatchingError:
    """The Betti-matching error of one binary pair, one thread."""

    params = (SHAPES,)
    param_names = ["shape"]
    number = 1
    repeat = (3, 10, 20.0)
    timeout = 120.0

    def setup(self, shape):
        self.prediction, self.target = make_pair(shape)
        tiny = (slice(0, 4),) * self.target.ndim
        betti_matching_error(self.prediction[tiny], self.target[tiny])  # compile the kernels

    def time_betti_matching_error(self, shape):
        betti_matching_error(self.prediction, self.target)

    def peakmem_betti_matching_error(self, shape):
        betti_matching_error(self.prediction, self.target)

    def peakmem_reference(self, shape):
        """The inputs alone: subtract it from the above."""

    def track_betti_matching_error(self, shape):
        """The error itself (features left unmatched, all dimensions): must not drift."""
        return betti_matching_error(self.prediction, self.target).error

    track_betti_matching_error.unit = "features"
