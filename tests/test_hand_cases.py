"""Hand-checked tiny cases, run against both engines.

Each case says why the answer is what it is, and which alternatives the tie rule
excluded. Cells are in doubled coordinates; pixel (i, j) is vertex (2i, 2j).
"""

import numpy as np
import pytest

from dmtloss import fast, reference
from dmtloss.reference.complex import CubicalComplex
from dmtloss.reference.persistence import persistence_pairs_of
from dmtloss.reference.simplify import simplify

# A ring of ones around a zero. The eight ring pixels tie at 1, so their ranks follow
# C order: (0,0) r0, (0,1) r1, (0,2) r2, (1,0) r3, (1,2) r4, (2,0) r5, (2,1) r6,
# (2,2) r7; the centre is r8. The last ring edge to enter, (2,1)-(2,2) with key (7, 6),
# closes the loop (the other edge at (2,2), key (7, 4), came first and merged it); the
# last square, (3,3) with key (8, 7, 6, 4), fills it.


@pytest.fixture(params=[reference, fast], ids=["reference", "fast"])
def impl(request):
    return request.param


RING = np.array([[1, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=float)


def test_ring_pairs_and_order(impl):
    cx = CubicalComplex(RING)
    assert cx.rank.tolist() == [[0, 1, 2], [3, 8, 4], [5, 6, 7]]
    assert cx.key((4, 3)) == (7, 6) and cx.key((3, 4)) == (7, 4)
    pairs = impl.persistence_pairs(RING)
    assert pairs.dim.tolist() == [0, 1]
    assert pairs.birth.tolist() == [[0, 0], [4, 3]]
    assert pairs.death.tolist() == [[-1, -1], [3, 3]]
    assert impl.persistence_diagram(RING).tolist() == [[0, 1, -np.inf], [1, 1, 0]]


def test_ring_structures(impl):
    s = impl.morse_structures(RING, epsilon=0.5)
    # critical: the maximum, the loop-closing edge, the filling square
    assert s.critical.tolist() == [[0, 0], [4, 3], [3, 3]]
    # the ridge of the positive edge runs from both endpoints to the maximum: the ring
    assert s.ridges.tolist() == (RING == 1).tolist()
    assert s.ridge_persistence.tolist() == RING.tolist()
    # one basin, the hole's; the frame is not a boundary unless asked for
    assert s.basins.tolist() == [[1, 1], [1, 1]]
    assert not s.boundaries.any()
    framed = impl.morse_structures(RING, epsilon=0.5, frame=True)
    assert framed.boundaries.tolist() == (RING == 1).tolist()
    assert framed.boundary_persistence.tolist() == RING.tolist()
    assert s.mask().tolist() == s.ridges.tolist()
    # above the loop's persistence everything cancels: one critical vertex
    t = impl.morse_structures(RING, epsilon=1.0)
    assert t.critical.tolist() == [[0, 0]] and not t.mask().any()
    assert t.basins.tolist() == [[0, 0], [0, 0]]


def test_two_holes_make_a_boundary(impl):
    # Two loops; each hole's squares form a basin, and the wall between them (pixel
    # column 2) is where the basins meet. Hole 1's squares enter first (its centre has
    # the smaller rank), so its basin is labelled 1.
    x = np.array([[1, 1, 1, 1, 1], [1, 0, 1, 0, 1], [1, 1, 1, 1, 1]], dtype=float)
    s = impl.morse_structures(x, epsilon=0.5)
    assert s.basins.tolist() == [[1, 1, 2, 2], [1, 1, 2, 2]]
    assert s.boundaries.astype(int).tolist() == [[0, 0, 1, 0, 0]] * 3
    assert s.boundary_persistence.tolist() == [[0, 0, 1, 0, 0]] * 3
    assert s.ridges.tolist() == (x == 1).tolist()
    assert (critical_count := np.bincount((s.critical % 2).sum(1), minlength=3)).tolist() == [1, 2, 2], critical_count


# Two maxima on the top border joined through a saddle on the border, in a 2 x 3 image.
# Ranks: (0,0) r0, (0,2) r1, (0,1) r2, then the bottom row r3..r5. The saddle pixel
# (0,1) enters and first joins the older maximum (edge key (2, 0) before (2, 1)); the
# edge (0,1)-(0,2), doubled (0,3), then merges the two components and kills the younger
# maximum (0,2), doubled (0,4), with persistence 0.75 - 0.5 = 0.25 (exact in binary).
BORDER_SADDLE = np.array([[1.0, 0.5, 0.75], [0.0, 0.0, 0.0]])


def test_border_saddle_pairs(impl):
    assert impl.persistence_pairs(BORDER_SADDLE).death.tolist() == [[-1, -1], [0, 3]]
    assert impl.persistence_diagram(BORDER_SADDLE).tolist() == [[0, 1, -np.inf], [0, 0.75, 0.5]]


def test_border_saddle_epsilon_is_inclusive(impl):
    kept = impl.morse_structures(BORDER_SADDLE, epsilon=np.nextafter(0.25, 0))
    assert kept.critical.tolist() == [[0, 0], [0, 4], [0, 3]]
    assert kept.ridges.astype(int).tolist() == [[1, 1, 1], [0, 0, 0]]
    assert kept.ridge_persistence.tolist() == [[0.25, 0.25, 0.25], [0, 0, 0]]
    # persistence <= epsilon is cancelled: 0.25 at epsilon 0.25
    cancelled = impl.morse_structures(BORDER_SADDLE, epsilon=0.25)
    assert cancelled.critical.tolist() == [[0, 0]]
    assert not cancelled.ridges.any()


# Two plateau maxima of equal height 1 joined by a saddle 0.5. Ties: the left plateau
# holds rank 0 (C order), so the right one dies; within the right plateau (0,3) outranks
# (0,4), so (0,3) is its critical vertex and (0,4) flows into it and is not on the ridge.
# With the opposite tie rule, (0,4) would be the critical one and the ridge would include it.
PLATEAUS = np.array([[1, 1, 0.5, 1, 1], [0, 0, 0, 0, 0]])


def test_plateau_ties(impl):
    s = impl.morse_structures(PLATEAUS, epsilon=0.2)
    assert s.pairs.birth.tolist() == [[0, 0], [0, 6]]
    assert s.pairs.death.tolist() == [[-1, -1], [0, 5]]
    assert s.ridges.astype(int).tolist() == [[1, 1, 1, 1, 0], [0, 0, 0, 0, 0]]


def test_plateau_of_one_maximum(impl):
    # A 2 x 2 plateau inside a zero frame: one component, nothing persistent but it.
    x = np.zeros((4, 4))
    x[1:3, 1:3] = 1
    s = impl.morse_structures(x, epsilon=0.0)
    assert impl.persistence_diagram(x).tolist() == [[0, 1, -np.inf]]
    assert s.critical.tolist() == [[2, 2]]  # pixel (1, 1): the plateau's first pixel in C order
    assert not s.mask().any() and not s.boundaries.any()


@pytest.mark.parametrize("shape", [(2, 2), (2, 5), (3, 2, 4)])
@pytest.mark.parametrize("epsilon", [0.0, 0.3])
def test_constant_image(impl, shape, epsilon):
    s = impl.morse_structures(np.full(shape, 0.7), epsilon=epsilon)
    assert s.critical.tolist() == [[0] * len(shape)]
    assert impl.persistence_diagram(np.full(shape, 0.7)).tolist() == [[0, 0.7, -np.inf]]
    for name in ("ridges", "boundaries", "ridge_persistence", "boundary_persistence"):
        assert not getattr(s, name).any(), name
    assert s.basins.shape == tuple(n - 1 for n in shape) and not s.basins.any()
    if len(shape) == 3 and impl is reference:
        assert not s.sheets.any()
    else:
        assert s.sheets is None


def test_3d_ridge_non_cubic(impl):
    # Two maxima along one row of a 2 x 2 x 3 volume, joined by a saddle: as the 2-D
    # border case, one dimension up.
    x = np.zeros((2, 2, 3))
    x[0, 0] = [1.0, 0.5, 0.75]
    s = impl.morse_structures(x, epsilon=0.2)
    assert impl.persistence_diagram(x).tolist() == [[0, 1, -np.inf], [0, 0.75, 0.5]]
    expected = np.zeros(x.shape, dtype=bool)
    expected[0, 0] = True
    assert s.ridges.tolist() == expected.tolist()
    assert not s.boundaries.any()
    assert s.mask().tolist() == expected.tolist()  # 3-D default: ridges | boundaries


def test_3d_void_shell(impl):
    # A shell of ones around a zero voxel encloses a void: one 2-dimensional class.
    x = np.ones((3, 3, 3))
    x[1, 1, 1] = 0
    shell = (x == 1).tolist()
    assert impl.persistence_diagram(x).tolist() == [[0, 1, -np.inf], [2, 1, 0]]
    s = impl.morse_structures(x, epsilon=0.5)
    assert np.bincount((s.critical % 2).sum(1), minlength=4).tolist() == [1, 0, 1, 1]
    assert not s.ridges.any()
    # one basin, the void's, reaching the frame: only the frame separates it from OUTSIDE
    assert (s.basins == 1).all() and not s.boundaries.any()
    assert impl.morse_structures(x, epsilon=0.5, frame=True).boundaries.tolist() == shell
    if impl is fast:  # sheets are computed by the reference only
        assert s.sheets is None
        with pytest.raises(ValueError, match="does not compute 'sheets'"):
            s.mask("sheets")
        return
    # the exact 2-stable manifold of the critical square spans the whole shell
    assert s.sheets.tolist() == shell
    assert s.mask("sheets").tolist() == shell
    assert s.mask(["ridges", "sheets"]).tolist() == shell


def test_essential_is_rank_zero_and_gradient_valid_on_hand_cases():
    for x in (RING, BORDER_SADDLE, PLATEAUS):
        cx = CubicalComplex(x)
        order, pairs = persistence_pairs_of(cx)
        (essential,) = [p for p in pairs if p["death"] is None]
        assert cx.key(essential["birth"]) == (0,)
        for epsilon in (0.0, 0.3, 10.0):
            field, uncancelled = simplify(cx, pairs, epsilon)
            field.check()
            assert uncancelled == []


def test_mask_rejects_sheets_in_2d(impl):
    s = impl.morse_structures(RING)
    with pytest.raises(ValueError, match="'sheets' exist only for 3-D"):
        s.mask("sheets")
    with pytest.raises(ValueError, match="must be among"):
        s.mask("ridge")
