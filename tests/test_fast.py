"""The fast engine gives the reference's answer, cell for cell.

Tier 2 of the property tests: exact agreement under the documented tie order, at
epsilon 0, a middle value and a huge one, in 2-D and 3-D, with ties, constants and
non-square shapes. On images too big for the reference, the fast diagram is checked
against GUDHI and cripser instead.
"""

import inspect

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from scipy.ndimage import gaussian_filter

from dmtloss import fast, reference
from helpers import assert_array_equal
from oracles import canonical, cripser_diagram, gudhi_diagram
from strategies import images

FIELDS = ("critical", "ridges", "ridge_persistence", "basins", "boundaries", "boundary_persistence")


def test_same_api():
    assert fast.__all__ == reference.__all__
    for name in fast.__all__:
        ours, theirs = getattr(fast, name), getattr(reference, name)
        if inspect.isclass(theirs):
            assert ours is theirs, "the result types are the reference's own"
        else:
            assert inspect.signature(ours) == inspect.signature(theirs), name
            # prove which engine runs: a silent fallback to the reference cannot pass
            assert ours.__module__ == "dmtloss.fast.engine", ours.__module__


def assert_same_structures(x, epsilon, frame=False):
    want = reference.morse_structures(x, epsilon, frame=frame)
    got = fast.morse_structures(x, epsilon, frame=frame)
    call = f"fast.morse_structures(x, {epsilon!r}, frame={frame})"
    for name in FIELDS:
        assert_array_equal(getattr(got, name), getattr(want, name), name, x, call)
    for name in ("pairs", "uncancelled"):
        for field in ("dim", "birth", "death", "birth_value", "death_value"):
            assert_array_equal(getattr(getattr(got, name), field), getattr(getattr(want, name), field),
                               f"{name}.{field}", x, call)
    assert got.epsilon == want.epsilon and got.frame == want.frame and got.sheets is None
    for structures in (None, "ridges", "boundaries"):
        assert np.array_equal(got.mask(structures), want.mask(structures))


@given(images(), st.sampled_from([0.0, 0.25, 1e9]), st.booleans())
@example(np.array([[0.58, 0.3], [0.67, 0.2], [0.94, 0.37], [0.11, 0.63], [0.93, 0.44], [0.95, 0.5],
                   [0.43, 0.62], [1.0, 0.95]]), 1e9, False)  # once broke the root bookkeeping
def test_fast_equals_reference(x, epsilon, frame):
    assert_same_structures(x, epsilon, frame)


@given(images())
def test_fast_pairs_and_diagram_equal_reference(x):
    assert fast.persistence_pairs(x) == reference.persistence_pairs(x)
    assert np.array_equal(fast.persistence_diagram(x), reference.persistence_diagram(x))


def _smooth(shape, sigma, seed):
    z = gaussian_filter(np.random.default_rng(seed).standard_normal(shape), sigma)
    return 1 / (1 + np.exp(-3 * z / z.std()))


def _membrane_like(shape, seed):
    """Walls of high likelihood between cells: a distance-to-seed-boundary map."""
    rng = np.random.default_rng(seed)
    seeds = rng.random((max(4, int(np.prod(shape)) // 400), len(shape))) * shape
    grid = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), axis=-1)
    dist = np.sort(np.linalg.norm(grid[..., None, :] - seeds, axis=-1), axis=-1)
    walls = np.exp(-((dist[..., 1] - dist[..., 0]) ** 2) / 4)
    return np.clip(gaussian_filter(walls, 1) + 0.1 * rng.standard_normal(shape), 0, 1)


@pytest.mark.parametrize("x", [
    pytest.param(_smooth((256, 256), 4, 0), id="smooth-256^2"),
    pytest.param(_membrane_like((256, 192), 1), id="membrane-256x192"),
    pytest.param(_smooth((48, 48, 48), 2, 2), id="smooth-48^3"),
    pytest.param(_membrane_like((40, 48, 32), 3), id="membrane-40x48x32"),
])
def test_big_images_match_gudhi_and_cripser(x):
    got = canonical(fast.persistence_diagram(x))
    assert np.array_equal(got, canonical(cripser_diagram(x)))
    assert np.array_equal(got, canonical(gudhi_diagram(x)))
    s = fast.morse_structures(x, 0.2)
    # every ridge edge is an edge whose pair is above epsilon: count them from the diagram
    assert s.ridges.any() and (s.ridge_persistence[s.ridges] > 0.2).all()


@pytest.mark.parametrize("shape", [(5, 6, 7), (4, 3, 5, 6)])
def test_batch_equals_per_image_calls_with_any_workers(shape):
    rng = np.random.default_rng(7)
    batch = np.round(rng.random(shape) * 4) / 4  # ties
    single = [fast.morse_structures(x, 0.25) for x in batch]
    for workers in (None, 1, 2, 3):
        got = fast.morse_structures_batch(batch, 0.25, workers=workers)
        assert len(got) == len(batch)
        for a, b in zip(got, single):
            for name in FIELDS:
                assert np.array_equal(getattr(a, name), getattr(b, name)), (workers, name)
            assert a.pairs == b.pairs and a.uncancelled == b.uncancelled
    ref = reference.morse_structures_batch(batch, 0.25)
    assert all(np.array_equal(a.mask(), b.mask()) for a, b in zip(ref, single))


def test_same_input_same_output_every_run():
    x = _membrane_like((64, 80), 5)
    first = fast.morse_structures(x, 0.1)
    for _ in range(3):
        again = fast.morse_structures(x.copy(), 0.1)
        assert all(np.array_equal(getattr(again, n), getattr(first, n)) for n in FIELDS)
        assert again.pairs == first.pairs


_CLOSE_VALUES = st.lists(
    st.tuples(st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, 1e-300, -2.5e10, np.inf]), st.integers(-3, 3)),
    min_size=1, max_size=60)


@given(_CLOSE_VALUES, st.booleans())
@example([(1.0, k) for k in range(-3, 4)] * 3, True)
def test_sort_orders_by_value_then_index(values, descending):
    """The engine's one global sort: by value (either way), ties by index, -0.0 equal to 0.0,
    values a few units in the last place apart told apart (they share the key's value bits)."""
    from dmtloss.fast.engine import _stable_argsort
    x = np.array([v if np.isinf(v) else v + k * np.spacing(v) for v, k in values])  # k units in the last place
    order, ranked = _stable_argsort(x, descending=descending)
    want = np.lexsort((np.arange(x.size), -x if descending else x))
    assert order.tolist() == want.tolist()
    assert ranked.tolist() == x[want].tolist()


def test_sort_of_a_long_run_of_nearly_equal_values():
    """Thousands of distinct values whose keys differ only in the index bits: sorted again as one run."""
    from dmtloss.fast.engine import _stable_argsort
    x = 1.0 + np.random.default_rng(3).integers(0, 50, 5000) * np.spacing(1.0)
    for descending in (False, True):
        order, ranked = _stable_argsort(x, descending=descending)
        want = np.lexsort((np.arange(x.size), -x if descending else x))
        assert order.tolist() == want.tolist()
        assert ranked.tolist() == x[want].tolist()


def test_basins_are_the_roots_of_the_gradient_trees():
    """Each top cell takes the label of its tree's critical cell; a tree without one is an error."""
    from dmtloss.fast._kernels import basins
    # five top cells and OUTSIDE (5): trees {0, 1, 3} -> 1, {2} critical, {4} -> OUTSIDE
    gparent = np.array([1, 3, 2, 3, 5, 5], dtype=np.int32)
    label = basins(gparent.copy(), np.array([3, 2]), np.empty(6, dtype=np.int64))
    assert label.tolist() == [1, 1, 2, 1, 0]
    with pytest.raises(RuntimeError, match="critical"):
        basins(gparent.copy(), np.array([3]), np.empty(6, dtype=np.int64))


def _ranked(shape, levels, seed):
    """A random image (with `levels` values, or floats) and its pixels' ranks."""
    x = np.random.default_rng(seed).random(shape)
    if levels:
        x = np.round(x * (levels - 1))
    order = np.argsort(-x.ravel(), kind="stable")
    rank = np.empty(x.size, dtype=np.int32)
    rank[order] = np.arange(x.size)
    return x, rank


def _reference_positions(x):
    """Each cell's position 27 r + index in its lower star, from the reference's filtration."""
    from dmtloss.reference.complex import CubicalComplex
    cx = CubicalComplex(x)
    ranks = {}
    for cell in cx.filtration():  # faces before cofaces, ties by the documented order
        r = cx.key(cell)[0]
        ranks[cell] = 27 * r + sum(1 for c in ranks if cx.key(c)[0] == r)
    return ranks


@pytest.mark.parametrize("levels", [None, 2, 3])
@pytest.mark.parametrize("shape", [(2, 2), (2, 7), (7, 2), (9, 11), (2, 2, 2), (3, 4, 5), (5, 2, 3)])
def test_positions_of_single_cells_follow_the_filtration(shape, levels):
    """The engines' positions of single cells are the reference's filtration order."""
    from dmtloss.fast import _plane, _volume
    x, rank = _ranked(shape, levels, sum(shape) + (levels or 0))
    want = _reference_positions(x)
    cs = tuple(2 * n - 1 for n in shape)
    cells = np.array([np.ravel_multi_index(c, cs) for c in want])
    if len(shape) == 2:
        got = _plane.positions_2d(cells, rank, *shape)
    else:
        got = _volume.positions_3d(cells, rank, *shape)
    assert got.tolist() == list(want.values())


@pytest.mark.parametrize("levels", [None, 2, 3])
@pytest.mark.parametrize("shape", [(2, 2, 2), (3, 4, 5), (5, 2, 3), (4, 4, 4)])
def test_square_positions_and_edge_keys_follow_the_filtration(shape, levels):
    """Squares by position and edges by packed key come in the reference's order."""
    from dmtloss.fast import _volume
    x, rank = _ranked(shape, levels, len(shape) + sum(shape) + (levels or 0))
    want = _reference_positions(x)
    n0, n1, n2 = shape
    for dim, p_of in ((1, lambda c: [i for i in range(3) if c[i] % 2][0]),
                      (2, lambda c: [i for i in range(3) if c[i] % 2 == 0][0])):
        cells = [c for c in want if sum(v % 2 for v in c) == dim]
        compact = np.array([3 * np.ravel_multi_index(tuple(v // 2 for v in c), shape) + p_of(c) for c in cells])
        if dim == 1:
            assert np.array_equal(_volume.compact_cells(compact, False, n1, n2),
                                  [np.ravel_multi_index(c, tuple(2 * n - 1 for n in shape)) for c in cells])
            u = compact // 3
            w = u + np.array([n1 * n2, n2, 1])[compact % 3]
            keys = np.maximum(rank[u], rank[w]).astype(np.int64) << 32 | np.minimum(rank[u], rank[w])
            assert np.argsort(keys).tolist() == np.argsort([want[c] for c in cells]).tolist()
        else:
            assert np.array_equal(_volume.compact_cells(compact, True, n1, n2),
                                  [np.ravel_multi_index(c, tuple(2 * n - 1 for n in shape)) for c in cells])
            got = _volume.square_positions(compact, rank, n0, n1, n2)
            assert np.argsort(got).tolist() == np.argsort([want[c] for c in cells]).tolist()


@pytest.mark.parametrize("x", [
    pytest.param(np.round(np.random.default_rng(11).random((31, 37)) * 2) / 2, id="3-levels-31x37"),
    pytest.param(_smooth((40, 33), 1.5, 12), id="smooth-40x33"),
    pytest.param(np.round(_membrane_like((36, 30), 13) * 4) / 4, id="membrane-quantised-36x30"),
])
@pytest.mark.parametrize("epsilon", [0.0, 0.1, 0.3])
def test_fast_equals_reference_on_medium_2d_images(x, epsilon):
    """Many vertices, ties and plateaus at once: the 2-D sweeps, square ages and keys."""
    assert_same_structures(x, epsilon, frame=epsilon > 0)


def _quantised(x, levels):
    return np.round(x * (levels - 1)) / (levels - 1)


@pytest.mark.parametrize("x", [
    pytest.param(np.random.default_rng(21).random((16, 14, 12)), id="uniform-16x14x12"),
    pytest.param(_quantised(np.random.default_rng(22).random((12, 12, 12)), 3), id="3-levels-12^3"),
    pytest.param(_quantised(np.random.default_rng(23).random((14, 16, 10)), 4), id="4-levels-14x16x10"),
    pytest.param(_quantised(_smooth((16, 16, 16), 1.5, 24), 6), id="smooth-quantised-16^3"),
    pytest.param(_quantised(_membrane_like((12, 16, 14), 25), 5), id="membrane-quantised-12x16x14"),
])
@pytest.mark.parametrize("epsilon", [0.0, 0.1, 0.3])
def test_fast_equals_reference_on_medium_3d_volumes(x, epsilon):
    """Many voxels, plateaus, uncancelled pairs: the lower stars, the edge-square
    reduction that leaves its star, and the searches on level sets and after them."""
    assert_same_structures(x, epsilon, frame=epsilon > 0)
