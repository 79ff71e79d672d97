"""The golden corpus (conformance/golden/corpus.json): hand cases and seeded images with
the reference's answer at every level, checked against the implementation under test."""

import numpy as np
import pytest

from conformance.assertions import as_mask, assert_same, call, canonical_cells, canonical_diagram, canonical_pairs
from conformance.golden import load

CASES = load()
IDS = [case["name"] for case in CASES]


def _diagram(case):
    rows = [[d, b, -np.inf if e is None else e] for d, b, e in case["diagram"]]
    return np.array(rows, dtype=np.float64).reshape(-1, 3)


class _Pairs:
    def __init__(self, case):
        ndim = len(case["shape"])
        pairs = case["pairs"]
        self.dim = [p["dim"] for p in pairs]
        self.birth = np.array([p["birth"] for p in pairs]).reshape(-1, ndim)
        self.death = np.array([[-1] * ndim if p["death"] is None else p["death"] for p in pairs]).reshape(-1, ndim)
        self.birth_value = [p["birth_value"] for p in pairs]
        self.death_value = [-np.inf if p["death_value"] is None else p["death_value"] for p in pairs]


@pytest.mark.level("diagram")
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_golden_diagram(impl, case):
    x, text = case["x"], "persistence_diagram(x)"
    got = canonical_diagram(call(impl, text, x, impl.persistence_diagram, x), impl, text, x)
    assert_same(f"{case['name']}: diagram", got, _diagram(case), impl, text, x)


@pytest.mark.level("cells")
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_golden_cells(impl, case):
    x, ndim = case["x"], case["x"].ndim
    text = "persistence_pairs(x)"
    got = call(impl, text, x, lambda: canonical_pairs(impl.persistence_pairs(x), ndim))
    assert_same(f"{case['name']}: pairs (dim, birth cell, death cell, birth value, death value)",
                got, canonical_pairs(_Pairs(case), ndim), impl, text, x)
    for s in case["structures"]:
        if s["frame"]:
            continue
        text = f"morse_structures(x, {s['epsilon']!r}).critical"
        got = call(impl, text, x, lambda: canonical_cells(impl.morse_structures(x, s["epsilon"]).critical, ndim))
        assert_same(f"{case['name']}: critical cells", got, canonical_cells(s["critical"], ndim), impl, text, x)


@pytest.mark.level("masks")
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_golden_masks(impl, case):
    x = case["x"]
    for s in case["structures"]:
        text = f"morse_structures(x, {s['epsilon']!r}, frame={s['frame']!r})"
        got = call(impl, text, x, impl.morse_structures, x, s["epsilon"], frame=s["frame"])
        for name in ("ridges", "boundaries", "mask"):
            got_mask = call(impl, text, x, as_mask, got, name, x.ndim)
            assert_same(f"{case['name']}: {name}", got_mask, s[name], impl, text, x)
