"""Tests of dmtloss.synthetic: seeded membrane likelihood maps with exact ground truth."""

import doctest

import numpy as np
import pytest
from scipy import ndimage

from dmtloss import synthetic
from dmtloss.synthetic import membrane_gaps, membrane_likelihood, membrane_walls


def test_deterministic_for_a_seed():
    a = membrane_likelihood((40, 56), cells=8, seed=7)
    b = membrane_likelihood((40, 56), cells=8, seed=7)
    assert np.array_equal(a, b)
    assert np.array_equal(membrane_walls((40, 56), cells=8, seed=7),
                          membrane_walls((40, 56), cells=8, seed=7))
    assert np.array_equal(membrane_gaps((40, 56), cells=8, seed=7),
                          membrane_gaps((40, 56), cells=8, seed=7))


def test_seeds_differ():
    assert not np.array_equal(membrane_likelihood(seed=0), membrane_likelihood(seed=1))
    assert not np.array_equal(membrane_walls(seed=0), membrane_walls(seed=1))


@pytest.mark.parametrize("shape", [(48, 48), (20, 64), (64, 20), (8, 8)])
def test_values_dtype_and_shape(shape):
    f = membrane_likelihood(shape, cells=2)
    assert f.dtype == np.float64
    assert f.shape == shape
    assert np.all((f > 0) & (f < 1))
    walls = membrane_walls(shape, cells=2)
    assert walls.dtype == bool and walls.shape == shape


def test_walls_are_non_trivial_and_bright():
    f, walls = membrane_likelihood(), membrane_walls()
    assert 0.05 < walls.mean() < 0.4
    assert np.median(f[walls]) > 0.9
    assert np.median(f[~walls]) < 0.1
    # Every cell is a region of the complement of the walls.
    assert ndimage.label(~walls)[1] == 9


def test_walls_depend_on_shape_cells_and_seed_only():
    base = membrane_likelihood(noise=0.0, gap_count=0)
    noisy = membrane_likelihood(noise=0.3, gap_count=3)
    walls = membrane_walls()
    # The noise and the gaps change the map, not where its walls are.
    assert not np.array_equal(base, noisy)
    assert np.array_equal(base > 0.5, walls | (base > 0.5))  # the clean map is high on every wall...
    assert np.median(noisy[walls]) > 0.9                     # ...and so is the noisy one


def test_gaps_are_weak_wall_pixels():
    f, walls, gaps = membrane_likelihood(), membrane_walls(), membrane_gaps()
    assert gaps.any()
    assert not (gaps & ~walls).any()
    assert ndimage.label(gaps)[1] == 3
    # The weakened walls are much lower than the others, where the map was unchanged.
    assert f[gaps].mean() < 0.5 < np.median(f[walls & ~gaps])
    # A gap changes the map within 3 * GAP_RADIUS of its centre only, exactly.
    far = ndimage.distance_transform_edt(~gaps) > 3 * synthetic.GAP_RADIUS + 0.5
    assert np.array_equal(membrane_likelihood(gap_count=0)[far], f[far])
    assert not np.array_equal(membrane_likelihood(gap_count=0)[~far], f[~far])
    assert not membrane_gaps(gap_count=0).any()


def test_gaps_merge_cells_when_thresholded():
    # The point of the map: a small pixel error that changes the topology.
    cells = ndimage.label(membrane_likelihood(gap_count=0) < 0.5)[1]
    merged = ndimage.label(membrane_likelihood() < 0.5)[1]
    assert cells == 9
    assert merged < cells


def test_noise_free_map_without_gaps_is_a_function_of_the_walls():
    a = membrane_likelihood(noise=0.0, gap_count=0, seed=3)
    b = membrane_likelihood(noise=0.0, gap_count=0, seed=3)
    assert np.array_equal(a, b)
    assert np.std(a - membrane_likelihood(noise=0.15, gap_count=0, seed=3)) > 0.01


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(shape=(3,)), ValueError, "`shape` must be 2 positive ints >= 8; got (3,)"),
        (dict(shape=(8, 7)), ValueError, "`shape` must be 2 positive ints >= 8; got (8, 7)"),
        (dict(shape=(8, 8, 8)), ValueError, "`shape` must be 2 positive ints >= 8"),
        (dict(shape=48), TypeError, "`shape` must be 2 positive ints >= 8; got 48"),
        (dict(shape=(16.0, 16)), TypeError, "`shape` must be 2 positive ints"),
        (dict(shape="ab"), TypeError, "`shape`"),
        (dict(cells=1), ValueError, "`cells` must be between 2 and 144; got 1"),
        (dict(cells=145), ValueError, "`cells` must be between 2 and 144; got 145"),
        (dict(cells=2.5), TypeError, "`cells` must be an int; got float"),
        (dict(cells=True), TypeError, "`cells` must be an int; got bool"),
        (dict(gap_count=-1), ValueError, "`gap_count` must be >= 0; got -1"),
        (dict(noise=-0.1), ValueError, "`noise` must be a finite number >= 0; got -0.1"),
        (dict(noise=float("nan")), ValueError, "`noise` must be a finite number >= 0"),
        (dict(noise="0.1"), TypeError, "`noise` must be a real number; got str"),
        (dict(seed=-1), ValueError, "`seed` must be >= 0; got -1"),
        (dict(seed=1.5), TypeError, "`seed` must be an int; got float"),
    ],
)
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error) as info:
        membrane_likelihood(**kwargs)
    assert message in str(info.value)


def test_siblings_validate_too():
    with pytest.raises(ValueError, match=r"`shape` must be 2 positive ints >= 8; got \(3,\)"):
        membrane_walls((3,))
    with pytest.raises(ValueError, match="`gap_count` must be >= 0"):
        membrane_gaps(gap_count=-2)


def test_numpy_integers_are_accepted():
    shape = (np.int64(16), np.int32(24))
    assert membrane_likelihood(shape, cells=np.int64(3), seed=np.uint8(2)).shape == (16, 24)


def test_arguments_after_shape_are_keyword_only():
    with pytest.raises(TypeError):
        membrane_likelihood((16, 16), 4)


def test_docstring_examples():
    failed, attempted = doctest.testmod(synthetic, optionflags=doctest.ELLIPSIS)
    assert attempted > 0 and failed == 0
