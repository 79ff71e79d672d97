"""Level ``masks``: ridges, basin boundaries and the default loss mask (docs/spec.md, section 6).

At epsilon 0, 0.2, 0.25, 0.5 and 1e9, with and without the frame, compared exactly,
pixel for pixel.
"""

import pytest
from hypothesis import given

from conformance.assertions import as_mask, assert_same, call
from conformance.strategies import epsilons, frames, images
from dmtloss import reference

pytestmark = pytest.mark.level("masks")


def check_masks(impl, x, epsilon, frame):
    text = f"morse_structures(x, {epsilon!r}, frame={frame!r})"
    got = call(impl, text, x, impl.morse_structures, x, epsilon, frame=frame)
    expected = reference.morse_structures(x, epsilon, frame=frame)
    for name in ("ridges", "boundaries", "mask"):
        what = f"{name}" if name != "mask" else "mask() (the default loss mask)"
        got_mask = call(impl, text, x, as_mask, got, name, x.ndim)
        assert_same(what, got_mask, as_mask(expected, name, x.ndim), impl, text, x)


@given(x=images(), epsilon=epsilons, frame=frames)
def test_masks(impl, x, epsilon, frame):
    check_masks(impl, x, epsilon, frame)


@given(x=images(dims=(3,)), epsilon=epsilons, frame=frames)
def test_masks_3d(impl, x, epsilon, frame):
    check_masks(impl, x, epsilon, frame)
