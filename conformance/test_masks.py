"""Level ``masks``: ridges, basin boundaries and the default loss mask (docs/spec.md, section 6).

At epsilon 0, 0.2, 0.25, 0.5 and 1e9 (and at epsilons equal to the level step of tied
images), with and without the frame, compared exactly, pixel for pixel; masks are bool.
"""

import pytest
from hypothesis import given

from dmtloss.conformance.assertions import Case, check_masks
from dmtloss.conformance.strategies import epsilons, frames, images, tied_images

pytestmark = pytest.mark.level("masks")


@given(x=images(), epsilon=epsilons, frame=frames)
def test_masks(impl, x, epsilon, frame):
    check_masks(impl, Case(x), epsilon, frame)


@pytest.mark.ndim(3)
@given(x=images(dims=(3,)), epsilon=epsilons, frame=frames)
def test_masks_3d(impl, x, epsilon, frame):
    check_masks(impl, Case(x), epsilon, frame)


@given(tied=tied_images(), frame=frames)
def test_masks_with_tied_persistence(impl, tied, frame):
    x, epsilon = tied
    check_masks(impl, Case(x), epsilon, frame)
