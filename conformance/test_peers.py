"""Level ``diagram``: GUDHI's and CubicalRipser's own test cases (golden/peers.json).

After the documented mapping (their sublevel filtration of v is our superlevel one of
-v; their top-cell images become vertex images through the all-cells array), the
implementation's diagram must be the answer their tests assert.
"""

import numpy as np
import pytest

from dmtloss.conformance.peers import all_cells, check_case, load, mappings

CASES = load()


@pytest.mark.level("diagram")
@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_peer_case(impl, case):
    if len(case["shape"]) not in impl.dims:
        pytest.skip(f"not applicable: {impl.name} handles {impl.dims}-dimensional images only (DIMS={impl.dims})")
    check_case(impl, case)


@pytest.mark.parametrize("mapping", mappings(), ids=lambda m: m["name"])
def test_top_cells_mapping_is_the_peers_own(mapping):
    """The T-to-V mapping gives the all-cells array GUDHI's test asserts."""
    assert np.array_equal(all_cells(mapping["top_cells"]), np.array(mapping["all_cells"], dtype=float))
