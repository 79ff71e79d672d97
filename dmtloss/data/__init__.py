"""Data for training and evaluation: generators with exact ground truth, loaders for the
field's on-disk formats, and patch sampling with flips and rotations.

Nothing is ever downloaded: generators are seeded, the one real image is the one that
ships with scikit-image (:func:`retina`), and loaders read files the user points them to.
Every loader and generator returns a :class:`SegmentationSet`.
"""

from ._types import SegmentationSet
from . import generators as _generators
from . import loaders as _loaders
from . import patches as _patches
from .generators import *  # noqa: F401,F403
from .loaders import *  # noqa: F401,F403
from .patches import *  # noqa: F401,F403

__all__ = ["SegmentationSet", *_generators.__all__, *_loaders.__all__, *_patches.__all__]
