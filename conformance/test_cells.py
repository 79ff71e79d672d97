"""Level ``cells``: persistence pairs with their cells, and critical cells at epsilon.

Cells are in doubled (Khalimsky) coordinates (docs/spec.md, section 1); the pairs are
those of positive persistence plus the essential class (death row -1), compared as a
set of rows (dim, birth cell, death cell, birth value, death value); the critical cells
of the gradient simplified at epsilon are compared as a set.
"""

import pytest
from hypothesis import given

from conformance.assertions import assert_same, call, canonical_cells, canonical_pairs
from conformance.strategies import epsilons, images
from dmtloss import reference

pytestmark = pytest.mark.level("cells")


def check_pairs(impl, x):
    text = "persistence_pairs(x)"
    got = call(impl, text, x, impl.persistence_pairs, x)
    got = call(impl, text, x, canonical_pairs, got, x.ndim)
    expected = canonical_pairs(reference.persistence_pairs(x), x.ndim)
    assert_same("pairs (dim, birth cell, death cell, birth value, death value)", got, expected,
                impl, text, x)


def check_critical(impl, x, epsilon):
    text = f"morse_structures(x, {epsilon!r}).critical"
    got = call(impl, text, x, lambda: impl.morse_structures(x, epsilon).critical)
    got = call(impl, text, x, canonical_cells, got, x.ndim)
    expected = canonical_cells(reference.morse_structures(x, epsilon).critical, x.ndim)
    assert_same("critical cells", got, expected, impl, text, x)


@given(x=images())
def test_pairs(impl, x):
    check_pairs(impl, x)


@given(x=images(), epsilon=epsilons)
def test_critical_cells(impl, x, epsilon):
    check_critical(impl, x, epsilon)
