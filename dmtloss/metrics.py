"""Segmentation metrics of the paper (Hu et al., ICLR 2021, appendix A.3.2), and a few more.

Every function takes a binary `prediction` and a binary `target` of the same shape, 2-D
or 3-D, the foreground being 1 (membranes, vessels, roads). Topology follows the complex
of the loss (``docs/spec.md``, section 1): pixels are vertices, so the foreground is
4-connected in 2-D and 6-connected in 3-D, and the background, its complement, is
8-connected in 2-D and 26-connected in 3-D.

- :func:`pixel_accuracy`, :func:`dice`: per pixel.
- :func:`adapted_rand_score` (the paper's ARI: the foreground-restricted adapted Rand
  F-score) and :func:`variation_of_information` (VOI), from scikit-image, on region
  labelings: the components of the background for membrane data (cells between the
  walls), of the foreground for curvilinear data (vessels, roads).
- :func:`betti_numbers` of the foreground: ``b0`` components, ``b_{d-1}`` enclosed
  background components (holes in 2-D, voids in 3-D), and in 3-D ``b1`` from the Euler
  characteristic ``chi = b0 - b1 + b2`` of the cubical complex.
- :func:`betti_error`: mean absolute difference of the Betti numbers of random patches;
  :func:`hole_errors` splits the top one into missing and extra holes;
  :func:`cell_count_error` counts regions gained or lost over the whole image;
  :func:`image_betti_error` compares the Betti numbers of whole images (TopoMortar's
  Betti-0 and Betti-1 errors).
- :func:`hausdorff_distance`: the 95th-percentile (HD95) or maximal symmetric Hausdorff
  distance between the surfaces of the two masks, in pixels.
- :func:`betti_matching_error` (Stucki et al., ICML 2023): features of the prediction and
  of the target (components, loops, voids) that have no partner at the same place, by
  the induced matching of their persistence barcodes (:mod:`dmtloss.topology`).
- :func:`summarize`: mean and standard deviation over images, as the paper's tables.

Complexity: O(n) per image (connected-component labelling and cell counts), times the
number of patches for the Betti error; O(n log n) and union-finds for the Betti-matching
error, but for a column reduction in dimension 1 of 3-D images.
"""

import itertools
import numbers

import numpy as np
from scipy import ndimage

from dmtloss.reference._validation import as_choice, as_int

__all__ = ["pixel_accuracy", "dice", "adapted_rand_score", "variation_of_information", "region_labels",
           "betti_numbers", "betti_error", "hole_errors", "cell_count_error", "image_betti_error",
           "hausdorff_distance", "betti_matching_error", "image_metrics", "summarize"]

_REGIONS = ("background", "foreground", "labels")
#: Default patch side of the Betti error, by dimension: the paper's 64 x 64 in 2-D; the
#: 3-D side is this project's choice.
PATCH_SIZE = {2: 64, 3: 32}


# ----------------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------------

def _as_array(image, name):
    if isinstance(image, (str, bytes)):
        raise TypeError(f"`{name}` must be an array; got {type(image).__name__}")
    if hasattr(image, "detach") and hasattr(image, "cpu"):  # a torch tensor
        image = image.detach().cpu().numpy()
    try:
        array = np.asarray(image)
    except Exception as err:
        raise TypeError(f"`{name}` must be an array; got {type(image).__name__}") from err
    if array.dtype.kind not in "biuf":
        raise TypeError(f"`{name}` must be an array of real numbers; got dtype {array.dtype}")
    if array.ndim not in (2, 3):
        raise ValueError(f"`{name}` must be 2-D or 3-D; got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"`{name}` must not be empty; got shape {array.shape}")
    return array


def _as_binary(image, name):
    array = _as_array(image, name)
    if array.dtype != bool:
        binary = (array == 0) | (array == 1)
        if not binary.all():
            raise ValueError(f"`{name}` must be binary (values 0 and 1); got {int((~binary).sum())} other "
                             f"values, e.g. {array[~binary].ravel()[0].item()!r}; threshold it first")
    return array.astype(bool)


def _same_shape(prediction, target):
    if prediction.shape != target.shape:
        raise ValueError(f"`prediction` and `target` must have the same shape; got {prediction.shape} "
                         f"and {target.shape}")


def _pair(prediction, target):
    prediction, target = _as_binary(prediction, "prediction"), _as_binary(target, "target")
    _same_shape(prediction, target)
    return prediction, target


# ----------------------------------------------------------------------------------
# pixel metrics
# ----------------------------------------------------------------------------------

def pixel_accuracy(prediction, target):
    """Fraction of pixels where `prediction` equals `target`.

    Parameters
    ----------
    prediction, target : (M, N[, P]) array_like of {0, 1}
        Binary images of the same shape (bool, integer or float).

    Returns
    -------
    accuracy : float

    Raises
    ------
    TypeError, ValueError
        On non-binary input or different shapes.

    Examples
    --------
    >>> pixel_accuracy([[1, 0], [1, 1]], [[1, 0], [0, 1]])
    0.75
    """
    prediction, target = _pair(prediction, target)
    return float((prediction == target).mean())


def dice(prediction, target):
    """DICE coefficient ``2 |P & T| / (|P| + |T|)`` of the foregrounds (1 when both are empty).

    Parameters
    ----------
    prediction, target : (M, N[, P]) array_like of {0, 1}
        Binary images of the same shape.

    Returns
    -------
    dice : float

    Raises
    ------
    TypeError, ValueError
        On non-binary input or different shapes.

    Examples
    --------
    >>> dice([[1, 0], [1, 1]], [[1, 0], [0, 1]])
    0.8
    """
    prediction, target = _pair(prediction, target)
    total = int(prediction.sum()) + int(target.sum())
    return 1.0 if total == 0 else 2.0 * int((prediction & target).sum()) / total


# ----------------------------------------------------------------------------------
# regions
# ----------------------------------------------------------------------------------

def _label(mask, connectivity):
    structure = ndimage.generate_binary_structure(mask.ndim, connectivity)
    labels, count = ndimage.label(mask, structure=structure)
    return labels, count


def region_labels(image, regions="background"):
    """Label the regions of a binary image, 0 standing for no region.

    Parameters
    ----------
    image : (M, N[, P]) array_like of {0, 1}
        A binary segmentation, foreground 1.
    regions : {"background", "foreground", "labels"}, optional
        ``"background"`` (membrane data): the components of the background,
        8-connected in 2-D and 26-connected in 3-D, the foreground being 0;
        ``"foreground"`` (curvilinear data): the components of the foreground, 4- or
        6-connected, the background being 0; ``"labels"``: `image` is a label image
        already and is returned as int64.

    Returns
    -------
    labels : (M, N[, P]) ndarray of int64
        Regions numbered from 1.

    Raises
    ------
    TypeError, ValueError
        On a non-binary image (but for ``"labels"``) or an unknown `regions`.

    Examples
    --------
    >>> region_labels([[0, 1, 0], [1, 1, 1], [0, 1, 0]])
    array([[1, 0, 2],
           [0, 0, 0],
           [3, 0, 4]])
    >>> region_labels([[1, 0, 1], [0, 1, 0], [1, 0, 1]], "foreground").max()
    np.int64(5)
    """
    regions = as_choice(regions, _REGIONS, "regions")
    if regions == "labels":
        array = _as_array(image, "image")
        if array.dtype.kind == "f" and not np.array_equal(array, np.round(array)):
            raise ValueError("`image` must hold integer labels with regions='labels'")
        return array.astype(np.int64)
    image = _as_binary(image, "image")
    if regions == "background":
        labels, _ = _label(~image, image.ndim)
    else:
        labels, _ = _label(image, 1)
    return labels.astype(np.int64)


def _labels_pair(prediction, target, regions):
    regions = as_choice(regions, _REGIONS, "regions")
    if regions == "labels":
        prediction, target = _as_array(prediction, "prediction"), _as_array(target, "target")
    else:
        prediction, target = _pair(prediction, target)
    _same_shape(prediction, target)
    return region_labels(prediction, regions), region_labels(target, regions)


def adapted_rand_score(prediction, target, regions="background"):
    """The paper's ARI: the foreground-restricted adapted Rand F-score of the regions.

    ``1 - skimage.metrics.adapted_rand_error(target_labels, prediction_labels)[0]``:
    the pixels that are no region in the target (label 0: its membranes, or its
    background for curvilinear data) are ignored; in the prediction, label 0 counts as
    one more region. 1 is a perfect match; the adapted Rand error (ARE) is one minus it.

    Parameters
    ----------
    prediction, target : (M, N[, P]) array_like
        Binary images of the same shape (label images with ``regions="labels"``).
    regions : {"background", "foreground", "labels"}, optional
        How regions are made, as in :func:`region_labels`.

    Returns
    -------
    score : float

    Raises
    ------
    TypeError, ValueError
        On invalid input or different shapes.

    Examples
    --------
    >>> walls = np.zeros((5, 5), int); walls[2] = 1
    >>> adapted_rand_score(walls, walls)
    1.0
    >>> round(adapted_rand_score(np.zeros((5, 5), int), walls), 3)  # the two cells merged
    0.643
    """
    from skimage.metrics import adapted_rand_error

    pred_labels, true_labels = _labels_pair(prediction, target, regions)
    if not true_labels.any():
        raise ValueError("`target` has no region: the adapted Rand score is undefined")
    with np.errstate(invalid="ignore", divide="ignore"):
        error, _, _ = adapted_rand_error(true_labels, pred_labels)
    if np.isnan(error):
        # no two pixels share a region in either labelling: they agree on every pair
        return 1.0
    return float(1.0 - error)


def variation_of_information(prediction, target, regions="background"):
    """Variation of information ``H(T | P) + H(P | T)`` between the regions, in bits.

    From ``skimage.metrics.variation_of_information``, restricted, as the adapted Rand
    score is, to the pixels that are a region in the target. 0 is a perfect match.

    Parameters
    ----------
    prediction, target : (M, N[, P]) array_like
        Binary images of the same shape (label images with ``regions="labels"``).
    regions : {"background", "foreground", "labels"}, optional
        How regions are made, as in :func:`region_labels`.

    Returns
    -------
    voi : float

    Raises
    ------
    TypeError, ValueError
        On invalid input or different shapes.

    Examples
    --------
    >>> walls = np.zeros((5, 5), int); walls[2] = 1
    >>> variation_of_information(walls, walls)
    0.0
    >>> round(variation_of_information(np.zeros((5, 5), int), walls), 6)  # two cells merged: 1 bit
    1.0
    """
    from skimage.metrics import variation_of_information as voi

    pred_labels, true_labels = _labels_pair(prediction, target, regions)
    if not true_labels.any():
        raise ValueError("`target` has no region: the variation of information is undefined")
    split, merge = voi(true_labels, pred_labels, ignore_labels=(0,))
    return float(split + merge) + 0.0  # + 0.0 turns -0.0 into 0.0


# ----------------------------------------------------------------------------------
# topology
# ----------------------------------------------------------------------------------

def _euler(image):
    """Euler characteristic of the cubical complex with the foreground pixels as vertices."""
    chi = 0
    for axes in itertools.product((0, 1), repeat=image.ndim):
        # cells spanning the axes where the offset is 1: all their 2^k vertices are foreground
        cells = np.ones(tuple(n - a for n, a in zip(image.shape, axes)), dtype=bool)
        for corner in itertools.product(*[(0, 1) if a else (0,) for a in axes]):
            cells &= image[tuple(slice(c, n - a + c) for c, a, n in zip(corner, axes, image.shape))]
        chi += (-1) ** sum(axes) * int(cells.sum())
    return chi


def _euler_top_cells(image):
    """Euler characteristic of the union of the closed pixels (voxels) of the foreground.

    The other complex of an image (GUDHI's ``top_dimensional_cells``): each foreground
    pixel is a closed square (cube), so a cell of the grid of pixel corners belongs to
    the union when any pixel around it is foreground.
    """
    padded = np.pad(image, 1, constant_values=False)
    chi = 0
    for axes in itertools.product((0, 1), repeat=image.ndim):
        # a cell extending along the axes where the offset is 1 touches the pixels that
        # differ from it along the other axes: 2^(d - k) of them
        cells = np.zeros(tuple(n + 1 + a for n, a in zip(image.shape, axes)), dtype=bool)
        for corner in itertools.product(*[(0,) if a else (0, 1) for a in axes]):
            cells |= padded[tuple(slice(c, c + m) for c, m in zip(corner, cells.shape))]
        chi += (-1) ** sum(axes) * int(cells.sum())
    return chi


def _betti(image, connectivity=1):
    """Betti numbers of the foreground: pixels as vertices (connectivity 1), or as
    closed squares / cubes (connectivity ``ndim``: 8- or 26-connected foreground)."""
    full = connectivity == image.ndim and connectivity > 1
    _, b0 = _label(image, image.ndim if full else 1)
    # enclosed background components: those of the padded background but the outer one
    padded = np.pad(~image, 1, constant_values=True)
    _, outside = _label(padded, 1 if full else image.ndim)
    top = outside - 1
    if image.ndim == 2:
        return np.array([b0, top], dtype=np.int64)
    b1 = b0 + top - (_euler_top_cells(image) if full else _euler(image))
    return np.array([b0, b1, top], dtype=np.int64)


def _connectivity(connectivity, ndim):
    if isinstance(connectivity, (bool, np.bool_)) or not isinstance(connectivity, numbers.Integral):
        raise TypeError(f"`connectivity` must be an int; got {type(connectivity).__name__}")
    if connectivity not in (1, ndim):
        raise ValueError(f"`connectivity` must be 1 (pixels as vertices: 4- or 6-connected foreground) or "
                         f"{ndim} (full: {3 ** ndim - 1}-connected foreground) for {ndim}-D images; "
                         f"got {connectivity}")
    return int(connectivity)


def betti_numbers(image, *, connectivity=1):
    """Betti numbers of the foreground of a binary image, pixels being vertices.

    ``b0`` counts the 4-connected (2-D) or 6-connected (3-D) foreground components;
    ``b_{d-1}`` the background components (8- or 26-connected) that do not reach the
    border; in 3-D ``b1 = b0 + b2 - chi``, ``chi`` being the Euler characteristic of the
    cubical complex (vertices minus edges plus squares minus cubes of foreground).

    With ``connectivity=ndim`` the pixels are closed squares (cubes) instead, as in
    GUDHI's ``CubicalComplex(top_dimensional_cells=...)`` and the TopoMortar
    benchmark's Betti numbers: the foreground is 8- (26-) connected, the background
    4- (6-) connected, and ``chi`` is that of the union of the closed pixels. A
    diagonal line of pixels is then one component, not one per pixel.

    Parameters
    ----------
    image : (M, N[, P]) array_like of {0, 1}
        A binary image, foreground 1.
    connectivity : {1, ndim}, optional
        Foreground connectivity as in scikit-image: 1 (4 or 6 neighbours, the complex of
        the loss, ``docs/spec.md``) or ``ndim`` (8 or 26).

    Returns
    -------
    betti : (d,) ndarray of int64
        ``(b0, b1)`` in 2-D, ``(b0, b1, b2)`` in 3-D.

    Raises
    ------
    TypeError, ValueError
        On a non-binary or non-2-D/3-D image.

    Examples
    --------
    >>> betti_numbers([[1, 1, 1], [1, 0, 1], [1, 1, 1]]).tolist()
    [1, 1]
    >>> betti_numbers([[1, 0], [0, 1]]).tolist()  # diagonal pixels do not touch
    [2, 0]
    >>> betti_numbers([[1, 0], [0, 1]], connectivity=2).tolist()  # unless pixels are squares
    [1, 0]
    """
    image = _as_binary(image, "image")
    return _betti(image, _connectivity(connectivity, image.ndim))


def _patches(shape, patch_size, n_patches, seed):
    ndim = len(shape)
    if patch_size is None:
        patch_size = PATCH_SIZE[ndim]
    if isinstance(patch_size, numbers.Integral) and not isinstance(patch_size, (bool, np.bool_)):
        size = (patch_size,) * ndim
    else:
        try:
            if isinstance(patch_size, (str, bytes)):
                raise TypeError
            size = tuple(patch_size)
        except TypeError as err:
            raise TypeError(f"`patch_size` must be None, an int or a tuple of ints; got "
                            f"{type(patch_size).__name__}") from err
        if len(size) != ndim:
            raise ValueError(f"`patch_size` must have one entry per axis ({ndim}); got {patch_size!r}")
    size = tuple(min(as_int(s, "patch_size", 1), n) for s, n in zip(size, shape))
    n_patches = as_int(n_patches, "n_patches", 1)
    rng = np.random.default_rng(seed)
    corners = np.stack([rng.integers(0, n - s + 1, size=n_patches) for s, n in zip(size, shape)], axis=1)
    return [tuple(slice(c, c + s) for c, s in zip(corner, size)) for corner in corners]


def _patch_betti(prediction, target, patch_size, n_patches, seed):
    prediction, target = _pair(prediction, target)
    patches = _patches(prediction.shape, patch_size, n_patches, seed)
    pred = np.array([_betti(prediction[p]) for p in patches])
    true = np.array([_betti(target[p]) for p in patches])
    return pred, true


def betti_error(prediction, target, *, patch_size=None, n_patches=100, seed=0):
    """Mean absolute difference of the Betti numbers of random patches, per dimension.

    The paper's Betti error: patches drawn uniformly (the same for both images) and the
    difference of their Betti numbers (:func:`betti_numbers`) averaged. The paper reports
    ``b1`` in 2-D (entry 1) and, for 3-D, ``b2`` (entry 2).

    Parameters
    ----------
    prediction, target : (M, N[, P]) array_like of {0, 1}
        Binary images of the same shape.
    patch_size : int or tuple of int, optional
        Side(s) of the patches, clipped to the image; None: 64 in 2-D (the paper's),
        32 in 3-D.
    n_patches : int, optional
        Number of patches.
    seed : int or numpy.random.Generator, optional
        Seed of the patch positions.

    Returns
    -------
    error : (d,) ndarray of float64
        Mean ``|b_k(prediction patch) - b_k(target patch)|`` for k = 0 .. d-1.

    Raises
    ------
    TypeError, ValueError
        On invalid input, different shapes or bad patch options.

    Examples
    --------
    >>> ring = np.ones((4, 4), int); ring[1:3, 1:3] = 0
    >>> betti_error(np.ones((4, 4), int), ring, n_patches=5).tolist()
    [0.0, 1.0]
    """
    pred, true = _patch_betti(prediction, target, patch_size, n_patches, seed)
    return np.abs(pred - true).mean(axis=0)


def hole_errors(prediction, target, *, patch_size=None, n_patches=100, seed=0):
    """Missing and extra holes (``b_{d-1}``: loops in 2-D, voids in 3-D) per patch.

    On the patches of :func:`betti_error` (same arguments, same patches), the mean of
    ``max(0, b(target) - b(prediction))`` (missing: merged cells) and of
    ``max(0, b(prediction) - b(target))`` (extra: spurious holes). They add up to the
    Betti error of that dimension.

    Parameters
    ----------
    prediction, target : (M, N[, P]) array_like of {0, 1}
        Binary images of the same shape.
    patch_size : int or tuple of int, optional
        As in :func:`betti_error`.
    n_patches : int, optional
        As in :func:`betti_error`.
    seed : int or numpy.random.Generator, optional
        As in :func:`betti_error`.

    Returns
    -------
    missing, extra : float

    Raises
    ------
    TypeError, ValueError
        As :func:`betti_error`.

    Examples
    --------
    >>> ring = np.ones((4, 4), int); ring[1:3, 1:3] = 0
    >>> hole_errors(np.ones((4, 4), int), ring, n_patches=5)
    (1.0, 0.0)
    """
    pred, true = _patch_betti(prediction, target, patch_size, n_patches, seed)
    diff = pred[:, -1] - true[:, -1]
    return float(np.maximum(-diff, 0).mean()), float(np.maximum(diff, 0).mean())


def cell_count_error(prediction, target, regions="background"):
    """Number of regions in `prediction` minus that in `target`, over the whole image.

    Negative when regions merged (cells lost through broken walls), positive when
    they split.

    Parameters
    ----------
    prediction, target : (M, N[, P]) array_like
        Binary images of the same shape (label images with ``regions="labels"``).
    regions : {"background", "foreground", "labels"}, optional
        As in :func:`region_labels`.

    Returns
    -------
    error : int

    Raises
    ------
    TypeError, ValueError
        On invalid input or different shapes.

    Examples
    --------
    >>> walls = np.zeros((5, 5), int); walls[2] = 1
    >>> cell_count_error(np.zeros((5, 5), int), walls)
    -1
    """
    pred_labels, true_labels = _labels_pair(prediction, target, regions)
    return int(len(np.unique(pred_labels[pred_labels > 0])) - len(np.unique(true_labels[true_labels > 0])))


def image_betti_error(prediction, target, *, connectivity=1):
    """Absolute difference of the Betti numbers of whole images, per dimension.

    The Betti-0 and Betti-1 errors that the TopoMortar benchmark reports (Valverde et
    al., BMVC 2025): ``|b_k(prediction) - b_k(target)|`` over the whole image, with
    the Betti numbers of :func:`betti_numbers` (4-connected foreground in 2-D,
    6-connected in 3-D). Unlike :func:`betti_error`, one wrong component or hole
    anywhere counts once, however large the image. TopoMortar's own numbers take the
    pixels as closed squares (GUDHI's top-dimensional cells): ``connectivity=2``.

    Parameters
    ----------
    prediction, target : (M, N[, P]) array_like of {0, 1}
        Binary images of the same shape.
    connectivity : {1, ndim}, optional
        Foreground connectivity of the Betti numbers (:func:`betti_numbers`).

    Returns
    -------
    error : (d,) ndarray of int64
        ``|b_k(prediction) - b_k(target)|`` for k = 0 .. d-1.

    Raises
    ------
    TypeError, ValueError
        On invalid input or different shapes.

    Examples
    --------
    >>> ring = np.ones((4, 4), int); ring[1:3, 1:3] = 0
    >>> image_betti_error(np.ones((4, 4), int), ring).tolist()
    [0, 1]
    """
    prediction, target = _pair(prediction, target)
    connectivity = _connectivity(connectivity, prediction.ndim)
    return np.abs(_betti(prediction, connectivity) - _betti(target, connectivity))


def _surface(mask):
    # the mask's pixels with a 4- (6-) neighbour outside it; the image border is outside
    inner = ndimage.binary_erosion(mask, ndimage.generate_binary_structure(mask.ndim, 1), border_value=0)
    return mask & ~inner


def hausdorff_distance(prediction, target, *, percentile=95):
    """Symmetric Hausdorff distance between the surfaces of two masks (HD95 by default).

    The surface of a mask is its pixels with a 4-connected (6 in 3-D) neighbour
    outside it, the image border counting as outside. The distances (Euclidean, in
    pixels) from each surface pixel of one mask to the other mask's surface are taken
    in both directions; the result is the larger of the two directed `percentile`-th
    percentiles (as medpy's ``hd95`` and MONAI's ``compute_hausdorff_distance`` with
    ``directed=False``). ``percentile=100`` gives the Hausdorff distance itself.

    Parameters
    ----------
    prediction, target : (M, N[, P]) array_like of {0, 1}
        Binary images of the same shape.
    percentile : float, optional
        In (0, 100].

    Returns
    -------
    distance : float
        In pixels. 0.0 when both masks are empty; when exactly one is, the diagonal of
        the image (the largest possible distance), so that an empty prediction is the
        worst, not undefined.

    Raises
    ------
    TypeError, ValueError
        On invalid input, different shapes or a percentile outside (0, 100].

    Examples
    --------
    >>> a = np.zeros((8, 8), int); a[2:5, 2:5] = 1
    >>> b = np.zeros((8, 8), int); b[2:5, 3:6] = 1
    >>> hausdorff_distance(a, a), hausdorff_distance(a, b, percentile=100)
    (0.0, 1.0)
    """
    prediction, target = _pair(prediction, target)
    if isinstance(percentile, (bool, np.bool_)) or not isinstance(percentile, numbers.Real):
        raise TypeError(f"`percentile` must be a number; got {type(percentile).__name__}")
    if not 0 < percentile <= 100:
        raise ValueError(f"`percentile` must be in (0, 100]; got {percentile}")
    if not prediction.any() and not target.any():
        return 0.0
    if not prediction.any() or not target.any():
        return float(np.sqrt(sum((n - 1) ** 2 for n in prediction.shape)))
    a, b = _surface(prediction), _surface(target)
    to_b = ndimage.distance_transform_edt(~b)[a]
    to_a = ndimage.distance_transform_edt(~a)[b]
    return float(max(np.percentile(to_b, percentile), np.percentile(to_a, percentile)))


def betti_matching_error(prediction, target):
    """Betti-matching error: features of either image with no partner at the same place.

    The features of a binary mask are the bars of the persistence barcode of its
    superlevel filtration -- its components, loops and (3-D) voids, as many as its
    :func:`betti_numbers`. A feature of the prediction and one of the target are matched
    when both induce the same bar of the comparison image ``max(prediction, target)``
    (Stucki et al.'s induced matching); the error counts the features left unmatched in
    both images. Unlike the Betti error it sees *where* a feature is: a hole that moves
    away from the true one costs 2 (one missing, one extra), not 0.

    Parameters
    ----------
    prediction, target : (M, N[, P]) array_like
        Binary masks (bool, 0/1; foreground 1) of the same shape, every axis of length
        >= 2. Likelihoods in [0, 1] are accepted: every bar of positive persistence is
        then a feature, noise included, so threshold a prediction first to evaluate it.

    Returns
    -------
    result : dmtloss.topology.BettiMatching
        ``.error`` (int, all dimensions), ``.by_dim`` (tuple, dimensions 0 .. d-1),
        ``.unmatched_prediction`` (extra features), ``.unmatched_target`` (missing
        ones), ``.matched``, ``.prediction_features``, ``.target_features``, and
        ``.as_dict()`` for tables.

    Raises
    ------
    TypeError
        If an input is not an array of real numbers.
    ValueError
        On different shapes, shapes not 2-D/3-D with axes >= 2, or values outside
        [0, 1] or not finite.

    See Also
    --------
    betti_error : the Betti numbers of patches, compared without their places.
    dmtloss.topology.betti_matching : the matching itself.

    Notes
    -----
    Conventions are the package's (``docs/spec.md``): pixels are vertices of a cubical
    complex, a cell takes the minimum of its vertices, the filtration is the superlevel
    one (so the foreground is 4-connected in 2-D, 6-connected in 3-D), ties are broken by
    the contract's total order. The comparison image of a superlevel filtration is the
    pointwise maximum, whose superlevel sets contain both images'. A bar of the
    prediction is matched to the bar of the image module ``im(H(P_t) -> H(C_t))`` with
    the same birth cell, that one to the bar of C with the same death cell; likewise for
    the target; each bar on the way must have positive persistence. The essential class
    of dimension 0 dies at value 0: an empty mask has no feature. For binary masks every
    matched pair is at distance 0, so the count is the whole error of the paper.

    Cost: five persistence computations per dimension (both images, the comparison and
    the two image modules), by union-finds in dimensions 0 and d-1, and a column
    reduction with clearing for dimension 1 in 3-D: under a second for a pair of
    512 x 512 masks or of 48^3 volumes, with one thread (``benchmarks/metrics.py``).

    References
    ----------
    .. [1] N. Stucki, J. C. Paetzold, S. Shit, B. Menze, U. Bauer, "Topologically
       faithful image segmentation via induced matching of persistence barcodes",
       ICML 2023.
    .. [2] N. Stucki, V. Buergin, J. C. Paetzold, U. Bauer, "Efficient Betti matching
       enables topology-aware 3D segmentation via persistent homology",
       arXiv:2407.04683, 2024.

    Examples
    --------
    >>> truth = np.ones((5, 7), int); truth[2, 2] = 0       # a hole on the left
    >>> shifted = np.ones((5, 7), int); shifted[2, 4] = 0   # the same hole, moved
    >>> betti_error(shifted, truth, n_patches=5).tolist()   # same Betti numbers
    [0.0, 0.0]
    >>> result = betti_matching_error(shifted, truth)
    >>> result.error, result.by_dim, result.unmatched_prediction, result.unmatched_target
    (2, (0, 2), (0, 1), (0, 1))
    """
    from dmtloss.topology import betti_matching

    return betti_matching(_as_array(prediction, "prediction"), _as_array(target, "target"))


def image_metrics(predictions, targets, *, regions="background", patch_size=None, n_patches=100, seed=0):
    """Every metric of every image: the rows :func:`summarize` averages.

    Keep the rows to compare two methods image by image (a paired comparison is far
    more sensitive than two means and standard deviations).

    Parameters
    ----------
    predictions, targets : sequence of (M, N[, P]) array_like of {0, 1}
        Binary images, paired; a pair shares its shape, images may differ.
    regions : {"background", "foreground"}, optional
        Region labelling for ARI, VOI and cell counts (:func:`region_labels`).
    patch_size, n_patches, seed : optional
        Patches of the Betti error, as in :func:`betti_error` (the same seed for each
        image).

    Returns
    -------
    rows : list of dict of str to float
        One dict per image with the keys listed in :func:`summarize`.

    Raises
    ------
    TypeError, ValueError
        On invalid images, a pair of different shapes, or sequences of different lengths.

    Examples
    --------
    >>> walls = np.zeros((5, 5), int); walls[2] = 1
    >>> broken = walls.copy(); broken[2, 2] = 0
    >>> [row["cell_count_error"] for row in image_metrics([walls, broken], [walls, walls], n_patches=4)]
    [0, -1]
    """
    regions = as_choice(regions, _REGIONS[:2], "regions")
    predictions, targets = list(predictions), list(targets)
    if len(predictions) != len(targets):
        raise ValueError(f"`predictions` and `targets` must have the same length; got {len(predictions)} "
                         f"and {len(targets)}")
    if not predictions:
        raise ValueError("`predictions` must hold at least one image")
    rows = []
    for prediction, target in zip(predictions, targets):
        prediction, target = _pair(prediction, target)
        row = {"accuracy": pixel_accuracy(prediction, target), "dice": dice(prediction, target)}
        row["ari"] = adapted_rand_score(prediction, target, regions)
        row["are"] = 1.0 - row["ari"]
        row["voi"] = variation_of_information(prediction, target, regions)
        pred, true = _patch_betti(prediction, target, patch_size, n_patches, seed)
        for k, value in enumerate(np.abs(pred - true).mean(axis=0)):
            row[f"betti{k}"] = float(value)
        diff = pred[:, -1] - true[:, -1]
        row["missing_holes"] = float(np.maximum(-diff, 0).mean())
        row["extra_holes"] = float(np.maximum(diff, 0).mean())
        row["cell_count_error"] = cell_count_error(prediction, target, regions)
        for k, value in enumerate(image_betti_error(prediction, target)):
            row[f"image_betti{k}"] = float(value)
        for k, value in enumerate(image_betti_error(prediction, target, connectivity=prediction.ndim)):
            row[f"image_betti{k}_full"] = float(value)
        row["hd95"] = hausdorff_distance(prediction, target)
        row.update(betti_matching_error(prediction, target).as_dict())
        rows.append(row)
    keys = list(rows[0])
    if any(list(row) != keys for row in rows):
        raise ValueError("`predictions` must be all 2-D or all 3-D")
    return rows


def summarize(predictions, targets, *, regions="background", patch_size=None, n_patches=100, seed=0):
    """Every metric over a set of images: mean and standard deviation, as the paper's tables.

    Parameters
    ----------
    predictions, targets : sequence of (M, N[, P]) array_like of {0, 1}
        Binary images, paired; a pair shares its shape, images may differ.
    regions : {"background", "foreground"}, optional
        Region labelling for ARI, VOI and cell counts (:func:`region_labels`).
    patch_size, n_patches, seed : optional
        Patches of the Betti error, as in :func:`betti_error` (the same seed for each
        image).

    Returns
    -------
    summary : dict of str to (float, float)
        ``(mean, std)`` over images (population std) of ``"accuracy"``, ``"dice"``,
        ``"ari"``, ``"are"`` (``1 - ari``), ``"voi"``, ``"betti0"``, ``"betti1"``
        (and ``"betti2"`` in 3-D: the Betti errors), ``"missing_holes"``,
        ``"extra_holes"``, ``"cell_count_error"`` (signed), ``"image_betti0"``,
        ``"image_betti1"`` (and ``"image_betti2"``: :func:`image_betti_error`), the same
        with full connectivity (``"image_betti0_full"`` ..., TopoMortar's convention),
        ``"hd95"`` (:func:`hausdorff_distance`), and ``"betti_matching"`` with its
        parts ``"betti_matching0"`` ... per dimension (:func:`betti_matching_error`).

    Raises
    ------
    TypeError, ValueError
        On invalid images, a pair of different shapes, or sequences of different lengths.

    Examples
    --------
    >>> walls = np.zeros((5, 5), int); walls[2] = 1
    >>> broken = walls.copy(); broken[2, 2] = 0
    >>> s = summarize([walls, broken], [walls, walls], n_patches=4)
    >>> f"{s['accuracy'][0]:.2f} +- {s['accuracy'][1]:.2f}"
    '0.98 +- 0.02'
    >>> s["betti1"], s["cell_count_error"]
    ((0.0, 0.0), (-0.5, 0.5))
    """
    return _summary(image_metrics(predictions, targets, regions=regions, patch_size=patch_size,
                                  n_patches=n_patches, seed=seed))


def _summary(rows):
    """``{key: (mean, population std)}`` over the rows of :func:`image_metrics`."""
    return {key: (float(np.mean([r[key] for r in rows])), float(np.std([r[key] for r in rows])))
            for key in rows[0]}
