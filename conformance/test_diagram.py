"""Level ``diagram``: the persistence diagram as values (docs/spec.md, section 4).

An (n, 3) float64 array of rows (dim, birth, death) of the superlevel filtration, pixels
as vertices, essential death -inf, zero persistence omitted; compared with the
reference's as rows sorted by (dim, birth, death), exactly; rows must come by dimension,
then birth (exactly the reference's order if the cells level is declared too).
"""

import numpy as np
import pytest
from hypothesis import example, given

from dmtloss import reference
from dmtloss.conformance.assertions import Case, assert_same, canonical_diagram, check_diagram, invoke
from dmtloss.conformance.strategies import images

pytestmark = pytest.mark.level("diagram")


@given(x=images())
@example(x=np.array([[0.9, 0.9, 0.1], [0.1, 0.6, 0.1], [0.1, 0.6, 0.6]]))
@example(x=np.array([[-3.0, 5.0], [2.0, 7.0]]))
def test_diagram(impl, x):
    check_diagram(impl, Case(x))


@pytest.mark.ndim(3)
@given(x=images(dims=(3,)))
def test_diagram_3d(impl, x):
    check_diagram(impl, Case(x))


@given(x=images(kinds=("distinct",)))
def test_diagram_invariant_under_increasing_map(impl, x):
    """Only the order of the values matters: x -> x**3 + 2 maps the diagram row by row."""
    case = Case(x ** 3 + 2)
    text = "persistence_diagram(x)"
    got = canonical_diagram(invoke(impl, text, case, "persistence_diagram"), impl, text, case)
    base = reference.persistence_diagram(x)
    mapped = np.column_stack([base[:, 0], base[:, 1] ** 3 + 2, np.where(np.isinf(base[:, 2]), -np.inf,
                                                                       base[:, 2] ** 3 + 2)])
    assert_same("diagram", got, canonical_diagram(mapped, impl, text, case), impl, text, case)
