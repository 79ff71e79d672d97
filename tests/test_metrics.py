"""dmtloss.metrics: Betti numbers against GUDHI and the Euler number, ARI/VOI against
scikit-image, patch errors, summaries and validation."""

import re

import gudhi
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage
from skimage.measure import euler_number
from skimage.metrics import adapted_rand_error
from skimage.metrics import variation_of_information as skimage_voi

from dmtloss import metrics
from dmtloss.metrics import (adapted_rand_score, betti_error, betti_numbers, cell_count_error, dice, hole_errors,
                             pixel_accuracy, region_labels, summarize, variation_of_information)


def gudhi_betti(image):
    """Betti numbers of the foreground with pixels as vertices (GUDHI's V-construction).

    The foreground gets filtration value 0 and the background 1: the sublevel set at 0
    is the complex of the cells whose every vertex is foreground, where two pixels are
    joined only by an edge, i.e. when they are 4- (6-) neighbours. Its Betti numbers are
    the intervals born at 0 that are still alive after it.
    """
    image = np.asarray(image, dtype=bool)
    cc = gudhi.CubicalComplex(vertices=np.where(image, 0.0, 1.0))
    intervals = cc.persistence(homology_coeff_field=2, min_persistence=-1)
    betti = [0] * image.ndim
    for dim, (birth, death) in intervals:
        if birth <= 0 < death and dim < image.ndim:
            betti[dim] += 1
    return betti


binary_2d = arrays(bool, st.tuples(st.integers(2, 9), st.integers(2, 9)))
binary_3d = arrays(bool, st.tuples(st.integers(2, 6), st.integers(2, 6), st.integers(2, 6)))


# --- Betti numbers ---------------------------------------------------------------------

def test_betti_hand_cases():
    ring = np.ones((3, 3), int)
    ring[1, 1] = 0
    assert betti_numbers(ring).tolist() == [1, 1]
    # diagonal pixels are not joined (foreground 4-connected) ...
    assert betti_numbers(np.eye(3, dtype=int)).tolist() == [3, 0]
    # ... so a diamond of pixels encloses nothing: its centre touches the outside diagonally
    diamond = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]])
    assert betti_numbers(diamond).tolist() == [4, 0]
    assert betti_numbers(np.zeros((4, 5))).tolist() == [0, 0]
    assert betti_numbers(np.ones((4, 5))).tolist() == [1, 0]
    shell = np.zeros((5, 5, 5), bool)
    shell[1:4, 1:4, 1:4] = True
    shell[2, 2, 2] = False
    assert betti_numbers(shell).tolist() == [1, 0, 1]
    torus = np.zeros((5, 5, 3), bool)
    torus[1:4, 1:4, 1] = True
    torus[2, 2, 1] = False
    assert betti_numbers(torus).tolist() == [1, 1, 0]
    two_tunnels = np.ones((3, 5, 2), bool)
    two_tunnels[1, 1, :] = two_tunnels[1, 3, :] = False
    assert betti_numbers(two_tunnels).tolist() == [1, 2, 0]


@given(binary_2d)
@example(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], bool))
@example(np.array([[1, 1, 1, 1], [1, 0, 0, 1], [1, 0, 1, 1], [1, 1, 1, 1]], bool))
def test_betti_2d_agrees_with_gudhi_and_euler_number(image):
    betti = betti_numbers(image).tolist()
    assert betti == gudhi_betti(image)
    assert betti[0] - betti[1] == euler_number(image, connectivity=1)
    assert betti[0] == ndimage.label(image)[1]


@given(binary_3d)
@example(np.ones((3, 3, 3), bool) ^ (np.arange(27).reshape(3, 3, 3) == 13))
def test_betti_3d_agrees_with_gudhi_and_euler_number(image):
    betti = betti_numbers(image).tolist()
    assert betti == gudhi_betti(image)
    assert betti[0] - betti[1] + betti[2] == euler_number(image, connectivity=1)


# --- ARI and VOI --------------------------------------------------------------------------

labels_2d = st.tuples(st.integers(2, 9), st.integers(2, 9)).flatmap(
    lambda shape: st.tuples(arrays(np.int64, shape, elements=st.integers(0, 4)),
                            arrays(np.int64, shape, elements=st.integers(0, 4))))


@given(labels_2d)
def test_ari_and_voi_agree_with_skimage_on_label_images(pair):
    prediction, target = pair
    if not target.any():
        with pytest.raises(ValueError, match="`target` has no region"):
            adapted_rand_score(prediction, target, regions="labels")
        return
    with np.errstate(invalid="ignore", divide="ignore"):
        are = adapted_rand_error(target, prediction)[0]
    expected = 1.0 if np.isnan(are) else 1.0 - are
    assert adapted_rand_score(prediction, target, regions="labels") == pytest.approx(expected, abs=1e-12)
    split, merge = skimage_voi(target, prediction, ignore_labels=(0,))
    assert variation_of_information(prediction, target, regions="labels") == pytest.approx(split + merge, abs=1e-12)


def test_region_labels_follow_the_complex():
    rng = np.random.default_rng(0)
    image = rng.random((12, 10)) > 0.6
    background = ndimage.label(~image, structure=np.ones((3, 3)))[0]
    foreground = ndimage.label(image, structure=[[0, 1, 0], [1, 1, 1], [0, 1, 0]])[0]
    assert np.array_equal(region_labels(image), background)
    assert np.array_equal(region_labels(image, "foreground"), foreground)
    volume = rng.random((5, 6, 7)) > 0.7
    assert np.array_equal(region_labels(volume), ndimage.label(~volume, structure=np.ones((3, 3, 3)))[0])
    # and the regions of the binary path are what skimage sees
    pred = rng.random((12, 10)) > 0.6
    expected = 1 - adapted_rand_error(background, ndimage.label(~pred, structure=np.ones((3, 3)))[0])[0]
    assert adapted_rand_score(pred, image) == pytest.approx(expected, abs=1e-12)


def test_membrane_hand_case():
    # two cells separated by a wall; a gap in the wall merges them
    walls = np.zeros((6, 7), int)
    walls[:, 3] = 1
    broken = walls.copy()
    broken[2, 3] = 0
    assert adapted_rand_score(walls, walls) == 1.0
    assert variation_of_information(walls, walls) == 0.0
    assert cell_count_error(broken, walls) == -1
    assert cell_count_error(walls, broken) == 1
    # 36 cell pixels, two cells of 18: one region of 36 in the prediction
    # (precision = 2 * (18^2 - 18) / (36^2 - 36), recall = 1)
    precision = 2 * (18 * 18 - 18) / (36 * 36 - 36)
    assert adapted_rand_score(broken, walls) == pytest.approx(2 * precision / (1 + precision), abs=1e-12)
    assert variation_of_information(broken, walls) == pytest.approx(1.0, abs=1e-12)  # one bit: which cell
    assert pixel_accuracy(broken, walls) == pytest.approx(41 / 42)
    assert dice(broken, walls) == pytest.approx(2 * 5 / 11)
    assert dice(np.zeros((3, 3)), np.zeros((3, 3))) == 1.0


# --- patch errors -------------------------------------------------------------------------

def test_betti_error_and_hole_errors():
    rng = np.random.default_rng(1)
    target = rng.random((40, 30)) > 0.4
    prediction = target.copy()
    prediction[10:20, 5:15] = ~prediction[10:20, 5:15]
    error = betti_error(prediction, target, patch_size=16, n_patches=25, seed=3)
    missing, extra = hole_errors(prediction, target, patch_size=16, n_patches=25, seed=3)
    assert error.shape == (2,) and error[1] > 0
    assert missing + extra == pytest.approx(error[1])
    assert np.array_equal(error, betti_error(prediction, target, patch_size=16, n_patches=25, seed=3))
    assert betti_error(target, target, patch_size=16).tolist() == [0.0, 0.0]
    # a patch larger than the image is the whole image
    whole = np.abs(betti_numbers(prediction) - betti_numbers(target))
    assert np.array_equal(betti_error(prediction, target, patch_size=500, n_patches=3), whole)
    assert np.array_equal(betti_error(prediction, target, patch_size=(40, 30), n_patches=2), whole)


def test_betti_error_3d_and_default_patches():
    shell = np.zeros((6, 6, 6), bool)
    shell[1:5, 1:5, 1:5] = True
    shell[2:4, 2:4, 2:4] = False
    punctured = shell.copy()
    punctured[1, 2, 2] = False  # a hole in the wall: the void opens
    assert betti_error(punctured, shell, n_patches=2).tolist() == [0.0, 0.0, 1.0]
    assert hole_errors(punctured, shell, n_patches=2) == (1.0, 0.0)
    assert hole_errors(shell, punctured, n_patches=2) == (0.0, 1.0)
    assert metrics.PATCH_SIZE == {2: 64, 3: 32}


def test_summarize():
    rng = np.random.default_rng(2)
    targets = [rng.random((20, 24)) > 0.5 for _ in range(3)]
    predictions = [t ^ (rng.random(t.shape) > 0.9) for t in targets]
    s = summarize(predictions, targets, patch_size=8, n_patches=10, seed=0)
    assert list(s) == ["accuracy", "dice", "ari", "are", "voi", "betti0", "betti1", "missing_holes",
                       "extra_holes", "cell_count_error", "image_betti0", "image_betti1", "image_betti0_full",
                       "image_betti1_full", "hd95", "betti_matching", "betti_matching0", "betti_matching1"]
    accuracy = [pixel_accuracy(p, t) for p, t in zip(predictions, targets)]
    assert s["accuracy"] == pytest.approx((np.mean(accuracy), np.std(accuracy)))
    b1 = [betti_error(p, t, patch_size=8, n_patches=10, seed=0)[1] for p, t in zip(predictions, targets)]
    assert s["betti1"] == pytest.approx((np.mean(b1), np.std(b1)))
    assert s["ari"][0] + s["are"][0] == pytest.approx(1.0)
    v = summarize([np.ones((4, 4, 4))], [np.ones((4, 4, 4))], regions="foreground")
    assert v["betti2"] == (0.0, 0.0) and v["ari"] == (1.0, 0.0)


# --- validation -----------------------------------------------------------------------------

PAIRED = [pixel_accuracy, dice, adapted_rand_score, variation_of_information, betti_error, hole_errors,
          cell_count_error, lambda p, t: summarize([p], [t])]


@pytest.mark.parametrize("func", PAIRED)
def test_mismatched_shapes_raise(func):
    message = "`prediction` and `target` must have the same shape; got (4, 5) and (5, 4)"
    with pytest.raises(ValueError, match=re.escape(message)):
        func(np.ones((4, 5)), np.ones((5, 4)))


@pytest.mark.parametrize("func", PAIRED)
@pytest.mark.parametrize("prediction, error, message", [
    (np.full((4, 5), 0.5), ValueError, "`prediction` must be binary (values 0 and 1); got 20 other values, e.g. 0.5"),
    (np.ones(5), ValueError, "`prediction` must be 2-D or 3-D; got shape (5,)"),
    ("abc", TypeError, "`prediction` must be an array; got str"),
    (np.ones((4, 5), complex), TypeError, "`prediction` must be an array of real numbers; got dtype complex128"),
])
def test_bad_images_raise(func, prediction, error, message):
    with pytest.raises(error, match=re.escape(message)):
        func(prediction, np.ones((4, 5)))


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(patch_size=0), ValueError, "`patch_size` must be >= 1; got 0"),
    (dict(patch_size=(4, 4, 4)), ValueError, "`patch_size` must have one entry per axis (2); got (4, 4, 4)"),
    (dict(patch_size="8"), TypeError, "`patch_size` must be None, an int or a tuple of ints; got str"),
    (dict(patch_size=(8, 2.5)), TypeError, "`patch_size` must be an int; got float"),
    (dict(n_patches=0), ValueError, "`n_patches` must be >= 1; got 0"),
    (dict(n_patches=2.0), TypeError, "`n_patches` must be an int; got float"),
])
def test_bad_patch_options(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        betti_error(np.ones((8, 8)), np.ones((8, 8)), **kwargs)


def test_bad_regions_and_summaries():
    with pytest.raises(ValueError, match=re.escape("`regions` must be one of ('background', 'foreground', 'labels'); got 'cells'")):
        adapted_rand_score(np.ones((3, 3)), np.zeros((3, 3)), regions="cells")
    with pytest.raises(ValueError, match="`target` has no region"):
        variation_of_information(np.ones((3, 3)), np.ones((3, 3)))
    with pytest.raises(ValueError, match=re.escape("`predictions` and `targets` must have the same length; got 1 and 2")):
        summarize([np.ones((3, 3))], [np.ones((3, 3))] * 2)
    with pytest.raises(ValueError, match="`predictions` must be all 2-D or all 3-D"):
        summarize([np.ones((3, 3)), np.ones((3, 3, 3))], [np.ones((3, 3)), np.ones((3, 3, 3))], regions="foreground")


def test_image_metrics_are_the_rows_summarize_averages():
    rng = np.random.default_rng(5)
    preds = [rng.random((12, 14)) > 0.4 for _ in range(3)]
    trues = [rng.random((12, 14)) > 0.4 for _ in range(3)]
    rows = metrics.image_metrics(preds, trues, n_patches=7, patch_size=6)
    summary = metrics.summarize(preds, trues, n_patches=7, patch_size=6)
    assert len(rows) == 3 and list(rows[0]) == list(summary)
    for key, (mean, std) in summary.items():
        assert mean == pytest.approx(np.mean([r[key] for r in rows]), abs=0)
        assert std == pytest.approx(np.std([r[key] for r in rows]), abs=0)
    for row, p, t in zip(rows, preds, trues):
        assert row["dice"] == metrics.dice(p, t)
        assert row["cell_count_error"] == metrics.cell_count_error(p, t)
