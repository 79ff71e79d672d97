"""Hypothesis strategies of the conformance suite: likelihood maps and parameters.

Every draw is labelled, so a failure report names what was drawn. Image sides are
2..``MAX_SIDE`` (environment variable ``DMTLOSS_CONFORMANCE_MAX_SIDE``, default 6),
in 2-D and 3-D, square or not.
"""

import os

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

__all__ = ["MAX_SIDE", "EPSILONS", "images", "epsilons", "frames"]

MAX_SIDE = max(2, int(os.environ.get("DMTLOSS_CONFORMANCE_MAX_SIDE", "6")))

#: 0 (unsimplified), 0.2 (a typical threshold), dyadic values that equal persistences of
#: tie-heavy images exactly (the <= of the contract matters there) and a huge one.
EPSILONS = (0.0, 0.2, 0.25, 0.5, 1e9)
KINDS = ("levels", "binary", "floats", "distinct", "constant")


@st.composite
def shapes(draw, dims=(2, 3)):
    """A shape of 2 or 3 axes, each of length 2..MAX_SIDE."""
    ndim = draw(st.sampled_from(dims), label="ndim")
    return draw(st.tuples(*[st.integers(2, MAX_SIDE)] * ndim), label="shape")


@st.composite
def images(draw, dims=(2, 3), kinds=KINDS):
    """A float64 likelihood map.

    kinds: ``levels`` (an alphabet of 3..6 evenly spaced values in [0, 1]: many ties),
    ``binary`` (0 and 1), ``floats`` (any float in [0, 1]: ties rare), ``distinct`` (a
    permutation of 0..n-1 scaled into [0, 1): no ties) and ``constant``.
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
    if kind == "distinct":
        perm = draw(st.permutations(range(size)), label="permutation")
        return np.array(perm, dtype=np.float64).reshape(shape) / size
    return np.full(shape, draw(st.sampled_from([0.0, 0.5, 1.0]), label="value"))


epsilons = st.sampled_from(EPSILONS)
frames = st.booleans()
