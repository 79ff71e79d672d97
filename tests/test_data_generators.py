"""Tests of dmtloss.data.generators: seeded synthetic sets with exact ground truth."""

import numpy as np
import pytest
from scipy import ndimage, spatial
from skimage.filters import threshold_otsu

from dmtloss import synthetic
from dmtloss.data import SegmentationSet, generators
from dmtloss.data.generators import (retina, synthetic_membranes, synthetic_sheets, synthetic_tubes,
                                     synthetic_vessels)

# Small but non-square sizes: (function, shape, regions, kind)
CASES = [
    (synthetic_membranes, (40, 56), "background", "membranes"),
    (synthetic_vessels, (48, 36), "foreground", "vessels"),
    (synthetic_tubes, (20, 24, 16), "foreground", "tubes"),
    (synthetic_sheets, (16, 24, 20), "background", "sheets"),
]
IDS = [case[3] for case in CASES]


def _components(mask, connectivity):
    return ndimage.label(mask, ndimage.generate_binary_structure(mask.ndim, connectivity))[1]


def _geometry_rng(seed, index):
    """The documented stream of image `index`'s geometry."""
    child = np.random.SeedSequence(seed).spawn(index + 1)[index]
    return np.random.default_rng(child.spawn(3)[0])


@pytest.mark.parametrize("func, shape, regions, kind", CASES, ids=IDS)
def test_shapes_dtypes_names_and_values(func, shape, regions, kind):
    data = func(3, shape, seed=4)
    assert isinstance(data, SegmentationSet)
    assert len(data) == 3 and data.regions == regions and data.ndim == len(shape)
    assert data.names == tuple(f"{kind}/{i:02d}" for i in range(3))
    assert data.source.startswith(f"synthetic_{kind}(count=3, shape={shape!r}")
    for image, target in data:
        assert image.dtype == np.float32 and target.dtype == np.bool_
        assert image.shape == target.shape == shape
        assert 0 <= image.min() and image.max() <= 1
        assert 0.005 < target.mean() < 0.6  # a real structure, not empty, not everything
        assert image[target].mean() > image[~target].mean() + 0.1  # bright structure


@pytest.mark.parametrize("func, shape, regions, kind", CASES, ids=IDS)
def test_deterministic_independent_streams_and_seeds_differ(func, shape, regions, kind):
    a, b = func(3, shape, seed=11), func(3, shape, seed=11)
    for (ia, ta), (ib, tb) in zip(a, b):
        assert np.array_equal(ia, ib) and np.array_equal(ta, tb)
    # image i has its own stream: it does not depend on how many images follow it
    one = func(1, shape, seed=11)
    assert np.array_equal(one[0][0], a[0][0]) and np.array_equal(one[0][1], a[0][1])
    # images of a set differ, and so do seeds
    assert not np.array_equal(a[0][1], a[1][1])
    assert not np.array_equal(func(1, shape, seed=12)[0][1], a[0][1])
    # gaps and noise have their own streams: the geometry (the target) does not move
    assert np.array_equal(func(1, shape, gap_count=0, noise=0.0, seed=11)[0][1], a[0][1])


@pytest.mark.parametrize("func, shape, regions, kind", CASES, ids=IDS)
def test_noiseless_image_without_gaps_thresholds_to_its_target(func, shape, regions, kind):
    for image, target in func(3, shape, gap_count=0, noise=0.0, seed=5):
        assert np.array_equal(image > 0.5, target)
        # the documented margins: signal >= 0.6 on the target, <= 0.4 off it
        assert image[target].min() >= np.float32(0.3 + 0.4 * 0.6)
        assert image[~target].max() <= np.float32(0.3 + 0.4 * 0.4)


@pytest.mark.parametrize("shape, cells", [((40, 56), 6), ((33, 30), 3)])
def test_membrane_walls_are_exactly_the_voronoi_band(shape, cells):
    data = synthetic_membranes(2, shape, cells=cells, seed=9)
    pixels = np.indices(shape).reshape(2, -1).T
    for index, (_, target) in enumerate(data):
        centres = synthetic._centres(shape, cells, _geometry_rng(9, index))
        dist = np.sort(spatial.distance.cdist(pixels, centres), axis=1)  # brute force
        walls = (dist[:, 1] - dist[:, 0] < synthetic.WALL_WIDTH).reshape(shape)
        assert np.array_equal(target, walls)
        # every cell is one region between the walls
        assert _components(~target, 2) == cells


def test_sheets_are_exactly_the_3d_voronoi_band():
    shape, cells = (12, 14, 16), 5
    (_, target), = synthetic_sheets(1, shape, cells=cells, seed=3)
    centres = synthetic._centres(shape, cells, _geometry_rng(3, 0))
    dist = np.sort(spatial.distance.cdist(np.indices(shape).reshape(3, -1).T, centres), axis=1)
    assert np.array_equal(target, (dist[:, 1] - dist[:, 0] < synthetic.WALL_WIDTH).reshape(shape))


def _segment_distance(points, a, b):
    axis = b - a
    t = np.clip(((points - a) @ axis) / max(axis @ axis, 1e-300), 0.0, 1.0)
    return np.linalg.norm(points - a - t[:, None] * axis, axis=1)


@pytest.mark.parametrize("shape, radius", [((30, 44), (0.75, 2.0)), ((14, 12, 16), (1.0, 2.5))])
def test_curve_targets_are_exactly_the_pixels_within_the_radius(shape, radius):
    func = synthetic_vessels if len(shape) == 2 else synthetic_tubes
    extra = {"width": (2 * radius[0], 2 * radius[1])} if len(shape) == 2 else {"radius": radius}
    (_, target), = func(1, shape, trees=2, branches=4, seed=8, **extra)
    curves = generators._trees(shape, 2, 4, radius, _geometry_rng(8, 0))
    pixels = np.indices(shape).reshape(len(shape), -1).T.astype(np.float64)
    inside = np.zeros(len(pixels), dtype=bool)
    for points, r in curves:
        if len(points) == 1:
            inside |= np.linalg.norm(pixels - points[0], axis=1) <= r
        for a, b in zip(points[:-1], points[1:]):
            inside |= _segment_distance(pixels, a, b) <= r
    assert np.array_equal(target, inside.reshape(shape))


@pytest.mark.parametrize("func, shape, trees", [(synthetic_vessels, (96, 80), 3), (synthetic_tubes, (32, 28, 30), 2)])
def test_each_tree_is_one_component(func, shape, trees):
    # the thinnest curves are wide enough that every tree is 4- (6-) connected
    for _, target in func(4, shape, trees=trees, branches=4 * trees, seed=2):
        assert 1 <= _components(target, 1) <= trees


def test_membrane_gaps_merge_cells_in_the_thresholded_image():
    # noiseless: each gap opens one wall between two cells inside the image
    for image, target in synthetic_membranes(3, (128, 128), gap_count=10, noise=0.0, seed=1):
        cells = _components(~target, 2)
        assert cells == 28
        assert _components(image <= 0.5, 2) <= cells - 9
    # with the default noise, on average: smoothed and thresholded (Otsu), the image
    # merges more cells than the same image without gaps
    with_gaps = synthetic_membranes(3, seed=2)
    without = synthetic_membranes(3, gap_count=0, seed=2)
    merged = np.zeros(2)
    for (image, target), (plain, _) in zip(with_gaps, without):
        truth = ndimage.label(~target, np.ones((3, 3)))[0]
        smooth, plain = ndimage.gaussian_filter(image, 1.0), ndimage.gaussian_filter(plain, 1.0)
        level = threshold_otsu(plain)
        for k, picture in enumerate((smooth, plain)):
            found = ndimage.label(picture <= level, np.ones((3, 3)))[0]
            both = (found > 0) & (truth > 0)
            pairs = np.unique(np.stack([found[both], truth[both]]), axis=1)
            per_region = np.bincount(pairs[0])
            merged[k] += (per_region[per_region > 1] - 1).sum()  # cells lost to merges
    assert merged[0] > merged[1] + 3 * len(with_gaps)


@pytest.mark.parametrize("func, shape, connectivity", [(synthetic_vessels, (128, 128), 1),
                                                       (synthetic_tubes, (40, 40, 40), 1)])
def test_curve_gaps_split_the_thresholded_structure(func, shape, connectivity):
    split = removed = 0
    for image, target in func(3, shape, noise=0.0, seed=6):
        split += _components(image > 0.5, connectivity) - _components(target, connectivity)
        assert not ((image > 0.5) & ~target).any()  # gaps only remove
        removed += target.sum() - (image > 0.5).sum()
    assert split >= 3 and removed > 0


def test_sheet_holes_merge_cells():
    for image, target in synthetic_sheets(2, (40, 40, 40), noise=0.0, gap_count=6, seed=1):
        assert _components(image <= 0.5, 3) < _components(~target, 3)


def test_gap_strength_sets_the_weakest_intensity():
    (strong, target), = synthetic_membranes(1, (64, 64), gap_count=8, gap_strength=(0.5, 0.5), noise=0.0, seed=3)
    (gone, _), = synthetic_membranes(1, (64, 64), gap_count=8, gap_strength=(0.0, 0.0), noise=0.0, seed=3)
    assert strong[target].min() == np.float32(0.3 + 0.4 * 0.5)
    assert gone[target].min() == np.float32(0.3)
    (intact, _), = synthetic_membranes(1, (64, 64), gap_count=8, gap_strength=(1.0, 1.0), noise=0.0, seed=3)
    assert np.array_equal(intact > 0.5, target)


def test_noise_has_the_documented_standard_deviation():
    (clean, _), = synthetic_vessels(1, (128, 128), gap_count=0, noise=0.0, seed=1)
    (noisy, _), = synthetic_vessels(1, (128, 128), gap_count=0, noise=0.1, seed=1)
    residual = (noisy.astype(np.float64) - clean) / 0.4  # in units of the contrast
    assert residual.std() == pytest.approx(0.1, rel=0.05)


def test_defaults():
    data = synthetic_membranes(1)
    assert data[0][0].shape == (256, 256) and "cells=114" in data.source  # one cell per 24 x 24
    assert synthetic_sheets(1).ndim == 3 and "cells=27" in synthetic_sheets(1).source
    assert len(synthetic_vessels()) == 8 and len(synthetic_tubes()) == 2


def test_retina_pseudo_ground_truth():
    data = retina(0.25)
    (image, target), = data
    assert data.names == ("retina",) and data.regions == "foreground"
    assert data.source.startswith("pseudo ground truth")
    assert image.shape == target.shape == (353, 353) and image.dtype == np.float32
    assert 0.02 < target.mean() < 0.2
    assert not target[:40, :40].any()  # the corners are outside the field of view
    field = image > 0.1
    assert image[target].mean() < image[field & ~target].mean() - 0.05  # vessels are dark
    assert np.array_equal(retina(0.25)[0][1], target)


@pytest.mark.parametrize("call, error, message", [
    (lambda: synthetic_membranes(0), ValueError, r"`count` must be >= 1; got 0"),
    (lambda: synthetic_membranes(1.0), TypeError, r"`count` must be an int; got float"),
    (lambda: synthetic_membranes(shape=(8, 64)), ValueError, r"`shape` must be 2 ints >= 16; got \(8, 64\)"),
    (lambda: synthetic_membranes(shape=(16, 16, 16)), ValueError, r"`shape` must be 2 ints"),
    (lambda: synthetic_membranes(shape="ab"), TypeError, r"`shape` must be 2 ints"),
    (lambda: synthetic_membranes(shape=(16.0, 16)), TypeError, r"`shape` must be 2 ints"),
    (lambda: synthetic_sheets(shape=(16, 16)), ValueError, r"`shape` must be 3 ints >= 8; got \(16, 16\)"),
    (lambda: synthetic_membranes(cells=1), ValueError, r"`cells` must be between 2 and"),
    (lambda: synthetic_membranes(gap_count=-1), ValueError, r"`gap_count` must be >= 0; got -1"),
    (lambda: synthetic_membranes(gap_strength=(0.3, 0.1)), ValueError, r"`gap_strength` must be a pair"),
    (lambda: synthetic_membranes(gap_strength=(0.0, 1.5)), ValueError, r"`gap_strength` must be a pair"),
    (lambda: synthetic_membranes(gap_strength=0.2), TypeError, r"`gap_strength` must be a pair"),
    (lambda: synthetic_membranes(gap_strength=(0.0, "a")), TypeError, r"`gap_strength` must hold real numbers"),
    (lambda: synthetic_membranes(gap_strength=(0.0, float("nan"))), ValueError, r"`gap_strength` must be a pair"),
    (lambda: synthetic_membranes(noise=-0.1), ValueError, r"`noise` must be a finite number >= 0"),
    (lambda: synthetic_membranes(noise=float("nan")), ValueError, r"`noise` must be a finite number"),
    (lambda: synthetic_membranes(noise="x"), TypeError, r"`noise` must be a real number; got str"),
    (lambda: synthetic_membranes(seed=True), TypeError, r"`seed` must be an int; got bool"),
    (lambda: synthetic_membranes(seed=-1), ValueError, r"`seed` must be >= 0"),
    (lambda: synthetic_vessels(trees=0), ValueError, r"`trees` must be >= 1; got 0"),
    (lambda: synthetic_vessels(trees=4, branches=3), ValueError, r"`branches` must be >= 4; got 3"),
    (lambda: synthetic_vessels(width=(1.0, 3.0)), ValueError, r"`width` must be a pair \(low, high\) with 1.5"),
    (lambda: synthetic_tubes(radius=(0.5, 2.0)), ValueError, r"`radius` must be a pair \(low, high\) with 1.0"),
    (lambda: retina(0), ValueError, r"`scale` must be"),
    (lambda: retina(1.5), ValueError, r"`scale` must be a finite number between 0.0 and 1.0; got 1.5"),
    (lambda: retina("1"), TypeError, r"`scale` must be a real number; got str"),
])
def test_bad_arguments_raise_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
