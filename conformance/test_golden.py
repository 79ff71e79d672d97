"""The golden corpus (golden/corpus.json, golden/large.json): hand cases, seeded images
and images with hundreds of basins, with the reference's answer at every level, checked
against the implementation under test (the same checks as the property tests)."""

import pytest

from dmtloss.conformance.golden import check_case, load

CASES = load()
IDS = [case["name"] for case in CASES]


def _applies(impl, case):
    if len(case["shape"]) not in impl.dims:
        pytest.skip(f"not applicable: {impl.name} handles {impl.dims}-dimensional images only (DIMS={impl.dims})")


@pytest.mark.level("diagram")
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_golden_diagram(impl, case):
    _applies(impl, case)
    check_case(impl, case, "diagram")


@pytest.mark.level("cells")
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_golden_cells(impl, case):
    _applies(impl, case)
    check_case(impl, case, "cells")


@pytest.mark.level("masks")
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_golden_masks(impl, case):
    _applies(impl, case)
    check_case(impl, case, "masks")
