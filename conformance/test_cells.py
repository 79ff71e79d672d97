"""Level ``cells``: persistence pairs with their cells, critical and uncancelled cells at epsilon.

Cells are in doubled (Khalimsky) coordinates (docs/spec.md, section 1); the pairs are
those of positive persistence plus the essential class (death row -1), rows (dim,
birth cell, death cell, birth value, death value) in order of the birth cell's
filtration position; the critical cells of the gradient simplified at epsilon in
filtration order, and the uncancelled pairs in the order they came up (section 5).
int64 cells and dims, float64 values.
"""

import numpy as np
import pytest
from hypothesis import example, given

from dmtloss.conformance.assertions import Case, check_critical, check_pairs
from dmtloss.conformance.strategies import epsilons, images, tied_images

pytestmark = pytest.mark.level("cells")

#: a binary volume with a pair left uncancelled at epsilon 0 (docs/spec.md section 5)
UNCANCELLED = np.array([[[1, 1, 0, 1], [1, 0, 0, 1], [0, 1, 0, 1], [1, 0, 1, 0]],
                        [[0, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1], [1, 1, 0, 1]],
                        [[1, 1, 1, 0], [0, 1, 0, 1], [0, 0, 1, 1], [0, 1, 1, 1]]], dtype=np.float64)
#: a loop born (at 1) before a maximum (0.5): pairs of mixed dimensions in birth order
LOOP_FIRST = np.array([[1, 1, 1, 0, 0.5], [1, 0, 1, 0, 0], [1, 1, 1, 0, 0]], dtype=np.float64)
#: equal positive persistences whose cancellation order decides the gradient at 0.25
TIED = np.array([[0.25, 0.5], [0.5, 0.0], [0.25, 0.5], [0.0, 1.0]])


@given(x=images())
@example(x=LOOP_FIRST)
def test_pairs(impl, x):
    check_pairs(impl, Case(x))


@given(x=images(), epsilon=epsilons)
@example(x=UNCANCELLED, epsilon=0.0)
def test_critical_cells(impl, x, epsilon):
    check_critical(impl, Case(x), epsilon)


@given(tied=tied_images())
@example(tied=(TIED, 0.25))
def test_critical_cells_with_tied_persistence(impl, tied):
    x, epsilon = tied
    check_critical(impl, Case(x), epsilon)
