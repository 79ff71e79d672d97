"""Hypothesis strategies of the conformance suite: likelihood maps, layouts and parameters.

Every draw is labelled, so a failure report names what was drawn. Image sides are
2..``MAX_SIDE`` (environment variable ``DMTLOSS_CONFORMANCE_MAX_SIDE``, default 6),
in the dimensions the implementation under test declares (2-D and 3-D by default),
square or not.
"""

import os

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from . import impl as _impl
from .assertions import LAYOUTS, layout_applies

__all__ = ["MAX_SIDE", "EPSILONS", "KINDS", "images", "epsilons", "frames", "layouts", "tied_images"]

MAX_SIDE = max(2, int(os.environ.get("DMTLOSS_CONFORMANCE_MAX_SIDE", "6")))

#: 0 (unsimplified), 0.2 (a typical threshold), dyadic values that equal persistences of
#: tie-heavy images exactly (the <= of the contract matters there) and a huge one.
EPSILONS = (0.0, 0.2, 0.25, 0.5, 1e9)
KINDS = ("levels", "binary", "floats", "distinct", "constant", "decimal", "wide", "integers")


def _dims(dims):
    current = _impl.current()
    allowed = current.dims if current is not None else (2, 3)
    return [d for d in dims if d in allowed] or list(allowed)


@st.composite
def shapes(draw, dims=(2, 3)):
    """A shape of 2 or 3 axes (those the implementation handles), each of length 2..MAX_SIDE."""
    ndim = draw(st.sampled_from(_dims(dims)), label="ndim")
    return draw(st.tuples(*[st.integers(2, MAX_SIDE)] * ndim), label="shape")


@st.composite
def images(draw, dims=(2, 3), kinds=KINDS):
    """A float64 likelihood map.

    kinds: ``levels`` (an alphabet of 3..6 evenly spaced values in [0, 1]: many ties),
    ``binary`` (0 and 1), ``floats`` (any float in [0, 1]: ties rare), ``distinct`` (a
    permutation of 0..n-1 scaled into [0, 1): no ties), ``constant``, ``decimal`` (tenths:
    non-dyadic values, whose differences are not the decimal ones, and ties),
    ``wide`` (floats in [-1e6, 1e6], outside [0, 1]) and ``integers`` (integer values
    in [-40000, 40000], ties: exact in any integer dtype of 32 bits or more).
    """
    shape = draw(shapes(dims))
    kind = draw(st.sampled_from(kinds), label="kind")
    size = int(np.prod(shape))
    if kind in ("levels", "binary"):
        k = 2 if kind == "binary" else draw(st.integers(3, 6), label="levels")
        codes = draw(arrays(np.int64, shape, elements=st.integers(0, k - 1)), label="codes")
        return codes / (k - 1)
    if kind == "floats":
        return draw(arrays(np.float64, shape, elements=st.floats(0, 1)), label="values")
    if kind == "decimal":
        codes = draw(arrays(np.int64, shape, elements=st.integers(0, 10)), label="tenths")
        return codes / 10
    if kind == "wide":
        return draw(arrays(np.float64, shape, elements=st.floats(-1e6, 1e6)), label="values")
    if kind == "integers":
        alphabet = draw(st.lists(st.integers(-40000, 40000), min_size=2, max_size=5, unique=True), label="alphabet")
        codes = draw(arrays(np.int64, shape, elements=st.integers(0, len(alphabet) - 1)), label="codes")
        return np.array(alphabet, dtype=np.float64)[codes]
    if kind == "distinct":
        perm = draw(st.permutations(range(size)), label="permutation")
        return np.array(perm, dtype=np.float64).reshape(shape) / size
    return np.full(shape, draw(st.sampled_from([0.0, 0.5, 1.0]), label="value"))


@st.composite
def tied_images(draw, dims=(2, 3)):
    """``(x, epsilon)``: a level image whose step is a divisor of ``epsilon``.

    Many pairs then have persistence exactly ``epsilon`` (cancelled: ``<=``) or a
    multiple of the step (equal persistences), so the order in which equal-persistence
    pairs are cancelled (docs/spec.md section 5) decides the gradient.
    """
    shape = draw(shapes(dims))
    k = draw(st.integers(3, 6), label="levels")
    codes = draw(arrays(np.int64, shape, elements=st.integers(0, k - 1)), label="codes")
    m = draw(st.integers(1, k - 2), label="epsilon in steps")
    return codes / (k - 1), m / (k - 1)


@st.composite
def layouts(draw, x):
    """A layout (conformance.assertions.LAYOUTS) that keeps the values of ``x`` exactly."""
    return draw(st.sampled_from([name for name in LAYOUTS if layout_applies(x, name)]), label="layout")


epsilons = st.sampled_from(EPSILONS)
frames = st.booleans()
