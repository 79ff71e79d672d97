"""Property tests of the reference engine on generated images.

Tier 1: invariants any valid answer satisfies (the diagram equals GUDHI's and
cripser's, the gradient is valid, critical cells count right, masks behave under value
maps, flips and transposes).
"""

import numpy as np
from hypothesis import example, given, note
from hypothesis import strategies as st

from dmtloss.reference import morse_structures, persistence_diagram, persistence_pairs
from dmtloss.reference.complex import CubicalComplex
from dmtloss.reference.persistence import persistence_pairs_of
from dmtloss.reference.simplify import simplify
from helpers import assert_array_equal, critical_dims
from oracles import canonical, cripser_diagram, gudhi_diagram
from strategies import distinct_images, epsilons, images


@given(images())
@example(np.array([[1.0, 0.0], [0.0, 1.0]]))
def test_diagram_equals_gudhi_and_cripser(x):
    got = canonical(persistence_diagram(x))
    assert_array_equal(got, canonical(gudhi_diagram(x)), "diagram", x, "persistence_diagram(x) vs GUDHI")
    assert_array_equal(got, canonical(cripser_diagram(x)), "diagram", x, "persistence_diagram(x) vs cripser")


@given(images())
def test_pairs_are_face_ordered_and_cover_every_cell_once(x):
    cx = CubicalComplex(x)
    order, pairs = persistence_pairs_of(cx)
    cells = [p["birth"] for p in pairs] + [p["death"] for p in pairs if p["death"] is not None]
    assert sorted(cells) == sorted(order), "every cell is in exactly one pair"
    essential = [p for p in pairs if p["death"] is None]
    assert len(essential) == 1 and cx.key(essential[0]["birth"]) == (0,)
    for p in pairs:
        if p["death"] is not None:
            assert cx.dim(p["death"]) == cx.dim(p["birth"]) + 1
            assert p["birth_pos"] < p["death_pos"] and p["persistence"] >= 0


@given(images(), epsilons)
def test_simplified_gradient_is_valid_and_counts_add_up(x, epsilon):
    cx = CubicalComplex(x)
    _, pairs = persistence_pairs_of(cx)
    field, uncancelled = simplify(cx, pairs, epsilon)
    field.check()
    crit = field.critical_cells()
    dims = np.array([cx.dim(c) for c in crit])
    assert sum((-1) ** k * int((dims == k).sum()) for k in range(cx.ndim + 1)) == 1
    above = sum(1 for p in pairs if p["death"] is not None and p["persistence"] > epsilon)
    assert len(crit) == 1 + 2 * (above + len(uncancelled))
    expected = {p["birth"] for p in pairs if p["persistence"] > epsilon}
    expected |= {p["death"] for p in pairs if p["death"] is not None and p["persistence"] > epsilon}
    expected |= {c for p in uncancelled for c in (p["birth"], p["death"])}
    assert set(crit) == expected
    # no cancellation fails in 2-D, nor in dimensions 0 and d-1 in 3-D
    assert all(p["dim"] == 1 and cx.ndim == 3 for p in uncancelled), [p["dim"] for p in uncancelled]


@given(images(), epsilons)
def test_result_agrees_with_its_parts(x, epsilon):
    s = morse_structures(x, epsilon)
    assert s.epsilon == epsilon and s.shape == x.shape
    assert len(s.critical) == 1 + 2 * (int((s.pairs.persistence > epsilon).sum()) - 1 + len(s.uncancelled))
    assert (s.uncancelled.persistence <= epsilon).all()
    dims = critical_dims(s)
    n_roots = int((dims == x.ndim).sum())
    assert s.basins.min() >= 0 and s.basins.max() <= n_roots
    assert set(np.unique(s.basins)) >= set(range(1, n_roots + 1)), "every critical top cell is its own basin"
    assert np.array_equal(s.ridge_persistence > 0, s.ridges)
    assert (s.ridge_persistence[s.ridges] > epsilon).all()
    assert np.array_equal(s.boundary_persistence > 0, s.boundaries)
    assert np.array_equal(s.mask(), s.ridges if x.ndim == 2 else s.ridges | s.boundaries)
    assert np.array_equal(persistence_pairs(x).diagram(), s.pairs.diagram())


@given(images())
def test_huge_epsilon_leaves_one_critical_vertex(x):
    s = morse_structures(x, epsilon=1e9)
    assert not s.ridges.any() and not s.boundaries.any() and not s.basins.any()
    if x.ndim == 2:
        assert len(s.critical) == 1
    # in 3-D, edge-square pairs that cannot be cancelled stay critical, nothing else
    assert len(s.critical) == 1 + 2 * len(s.uncancelled)
    assert critical_dims(s)[0] == 0 and CubicalComplex(x).key(tuple(s.critical[0])) == (0,)


@given(images(kinds=("levels",)), st.randoms(use_true_random=False))
def test_strictly_increasing_value_maps_change_no_cell(x, random):
    levels = np.unique(x)
    new_levels = np.cumsum([random.uniform(0.01, 3.0) for _ in levels]) - 5.0
    y = new_levels[np.searchsorted(levels, x)]  # strictly increasing map of the values
    note(f"y = np.array({y.tolist()!r})")
    a, b = persistence_pairs(x), persistence_pairs(y)
    assert np.array_equal(a.birth, b.birth) and np.array_equal(a.death, b.death)
    mapped = np.interp(a.birth_value, levels, new_levels)
    assert np.array_equal(mapped, b.birth_value)
    sa, sb = morse_structures(x, 0.0), morse_structures(y, 0.0)
    for name in ("critical", "ridges", "basins", "boundaries"):
        assert_array_equal(getattr(sb, name), getattr(sa, name), name, x, "morse_structures(x, 0.0)")


def _transforms(ndim):
    yield "flip0", lambda a: np.flip(a, 0)
    yield "flip-last", lambda a: np.flip(a, -1)
    yield "transpose", lambda a: np.transpose(a, tuple(reversed(range(ndim))))
    if ndim == 3:
        yield "roll-axes", lambda a: np.transpose(a, (1, 2, 0))


@given(distinct_images(), st.sampled_from([0.0, 0.2]))
def test_flips_and_transposes_commute_with_masks(x, epsilon):
    s = morse_structures(x, epsilon)
    for name, t in _transforms(x.ndim):
        ts = morse_structures(t(x), epsilon)
        for what in ("ridges", "boundaries", "ridge_persistence", "boundary_persistence", "basins"):
            assert_array_equal(getattr(ts, what), t(getattr(s, what)), f"{name}: {what}", x,
                               f"morse_structures({name}(x), {epsilon})")
        assert np.array_equal(canonical(ts.pairs.diagram()), canonical(s.pairs.diagram()))


@given(images(), epsilons)
def test_input_is_never_modified(x, epsilon):
    before = x.copy()
    morse_structures(x, epsilon)
    persistence_diagram(x)
    assert np.array_equal(x, before)


@given(images(kinds=("levels",)))
def test_integer_bool_and_float32_inputs_give_the_same_answer(x):
    codes = np.round(x * 60).astype(np.int64)  # exact in every dtype below
    want = morse_structures(codes.astype(np.float64), 0.0)
    for dtype in (np.int8, np.uint16, np.int64, np.float32, np.float16):
        got = morse_structures(codes.astype(dtype), 0.0)
        assert np.array_equal(got.critical, want.critical) and np.array_equal(got.ridges, want.ridges)
        assert np.array_equal(got.pairs.diagram(), want.pairs.diagram())
    binary = codes > codes.mean()
    assert np.array_equal(morse_structures(binary, 0.0).ridges, morse_structures(binary.astype(float), 0.0).ridges)
