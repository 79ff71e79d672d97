"""Hypothesis strategies for likelihood maps: 2-D and 3-D, ties, floats, constants.

Sizes are capped by environment variables so a developer can search harder locally:
``DMTLOSS_MAX_SIDE_2D`` (default 8) and ``DMTLOSS_MAX_SIDE_3D`` (default 6).
"""

import os

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

MAX_SIDE = {2: int(os.environ.get("DMTLOSS_MAX_SIDE_2D", 8)), 3: int(os.environ.get("DMTLOSS_MAX_SIDE_3D", 6))}


@st.composite
def shapes(draw, dims=(2, 3)):
    """An image shape: 2-D or 3-D, every side in 2..MAX_SIDE (non-square included)."""
    ndim = draw(st.sampled_from(dims), label="ndim")
    return draw(st.tuples(*[st.integers(2, MAX_SIDE[ndim])] * ndim), label="shape")


@st.composite
def images(draw, dims=(2, 3), kinds=("levels", "floats", "constant")):
    """A float64 likelihood map.

    kinds: ``levels`` draws from an alphabet of 2..6 values (many ties), ``floats``
    from [0, 1] (rare ties), ``constant`` is one value everywhere.
    """
    shape = draw(shapes(dims))
    kind = draw(st.sampled_from(kinds), label="kind")
    if kind == "levels":
        k = draw(st.integers(2, 6), label="levels")
        codes = draw(arrays(np.int64, shape, elements=st.integers(0, k - 1)), label="codes")
        return codes / (k - 1)
    if kind == "floats":
        return draw(arrays(np.float64, shape, elements=st.floats(0, 1)), label="values")
    return np.full(shape, draw(st.floats(0, 1), label="value"))


@st.composite
def distinct_images(draw, dims=(2, 3)):
    """A likelihood map whose values are pairwise distinct (a random permutation)."""
    shape = draw(shapes(dims))
    size = int(np.prod(shape))
    perm = draw(st.permutations(range(size)), label="permutation")
    return np.array(perm, dtype=np.float64).reshape(shape) / size


epsilons = st.sampled_from([0.0, 0.2, 0.5, 1e9])
