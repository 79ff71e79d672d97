"""Level ``diagram``: the persistence diagram as values (docs/spec.md, section 4).

An (n, 3) array of rows (dim, birth, death) of the superlevel filtration, pixels as
vertices, essential death -inf, zero persistence omitted; compared with the reference's
as rows sorted by (dim, birth, death), exactly.
"""

import numpy as np
import pytest
from hypothesis import given

from conformance.assertions import assert_same, call, canonical_diagram
from conformance.strategies import images
from dmtloss import reference

pytestmark = pytest.mark.level("diagram")


def check_diagram(impl, x):
    text = "persistence_diagram(x)"
    got = call(impl, text, x, impl.persistence_diagram, x)
    got = canonical_diagram(got, impl, text, x)
    expected = canonical_diagram(reference.persistence_diagram(x), impl, text, x)
    assert_same("diagram", got, expected, impl, text, x)


@given(x=images())
def test_diagram(impl, x):
    check_diagram(impl, x)


@given(x=images(dims=(3,)))
def test_diagram_3d(impl, x):
    check_diagram(impl, x)


@given(x=images(kinds=("distinct",)))
def test_diagram_invariant_under_increasing_map(impl, x):
    """Only the order of the values matters: x -> x**3 + 2 maps the diagram row by row."""
    y = x ** 3 + 2
    text = "persistence_diagram(x)"
    got = canonical_diagram(call(impl, text, y, impl.persistence_diagram, y), impl, text, y)
    base = reference.persistence_diagram(x)
    mapped = np.column_stack([base[:, 0], base[:, 1] ** 3 + 2, np.where(np.isinf(base[:, 2]), -np.inf,
                                                                       base[:, 2] ** 3 + 2)])
    assert_same("diagram", got, canonical_diagram(mapped, impl, text, y), impl, text, y)
