"""Every level, called with the same values in another memory layout or dtype.

The argument is a Fortran-ordered copy, a reversed (negative-stride) view, a read-only
array, or a float32, int64, int32, uint16 or bool array holding exactly the same values;
the answer must be the one for the float64 C-ordered image, and the argument must come
back unchanged and as writeable as it was (checked by every call of the suite).
"""

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from dmtloss.conformance.assertions import Case, check_critical, check_diagram, check_masks, check_pairs
from dmtloss.conformance.strategies import epsilons, frames, images, layouts

KINDS = ("levels", "binary", "integers", "distinct", "floats")
#: integers beyond int16: a narrowing cast wraps them and reorders the pixels
WIDE = np.array([[-40000, 300, 129], [40000, -7, 40000], [300, -40000, 129]], dtype=np.float64)


@st.composite
def cases(draw):
    x = draw(images(kinds=KINDS))
    return Case(x, draw(layouts(x)))


@pytest.mark.level("diagram")
@given(case=cases())
@example(case=Case(WIDE, "int64"))
@example(case=Case(WIDE[::-1].T, "F"))
def test_diagram_layouts(impl, case):
    check_diagram(impl, case)


@pytest.mark.level("cells")
@given(case=cases(), epsilon=epsilons)
@example(case=Case(WIDE, "int32"), epsilon=0.0)
def test_cells_layouts(impl, case, epsilon):
    check_pairs(impl, case)
    check_critical(impl, case, epsilon)


@pytest.mark.level("masks")
@given(case=cases(), epsilon=epsilons, frame=frames)
@example(case=Case(WIDE, "int64"), epsilon=0.0, frame=False)
def test_masks_layouts(impl, case, epsilon, frame):
    check_masks(impl, case, epsilon, frame)
