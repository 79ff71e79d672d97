"""Input validation shared by every engine.

Both engines call these helpers first, so that bad input gets the same exception and
the same message whichever engine runs (TypeError for the wrong kind of object,
ValueError for a wrong shape or value). Inputs are never modified: the helpers return
new arrays.
"""

import math
import numbers

import numpy as np

__all__ = ["as_likelihood", "as_batch", "as_bool", "as_choice", "as_epsilon", "as_int", "as_structures", "as_workers",
           "MAX_PIXELS", "STRUCTURES"]

# Integers beyond this magnitude are not all representable in float64: converting them
# could merge distinct values into ties (2**53 + 1 would become 2**53), which would
# change the answer silently, so they are refused.
_EXACT_INT = 2**53

#: The most pixels (voxels) an image may have; larger ones are refused by both engines
#: from their shape alone, before anything is copied. The fast engine numbers the 27
#: cells around each pixel in int32: 27 * MAX_PIXELS < 2**31 (79.5 million pixels,
#: about 8900 x 8900 or 430^3). Larger images are computed in tiles.
MAX_PIXELS = (2**31 - 1) // 27

#: Names of the structures a loss mask can be made of.
STRUCTURES = ("ridges", "boundaries", "sheets")


def _real_array(value, name):
    """``np.asarray(value)`` if it is an array of bools, ints or floats; else TypeError."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"`{name}` must be an array of real numbers; got {type(value).__name__}")
    try:
        array = np.asarray(value)
    except Exception as err:  # ragged nested lists, tensors that need grad or live on a GPU, ...
        hint = ""
        if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch.Tensor, without importing torch
            hint = (f" ({err}); pass a numpy array, e.g. `{name}.detach().cpu().numpy()` "
                    "(the structures are not differentiated through)")
        raise TypeError(f"`{name}` must be an array of real numbers; got {type(value).__name__}{hint}") from err
    if array.dtype.kind not in "biuf":
        raise TypeError(f"`{name}` must be an array of real numbers; got dtype {array.dtype}")
    return array


def _check_size(shape, name):
    """Refuse a shape of more than MAX_PIXELS pixels, before anything is copied."""
    size = math.prod(shape)
    if size > MAX_PIXELS:
        raise ValueError(f"`{name}` is too large: shape {tuple(shape)} has {size} pixels; at most "
                         f"MAX_PIXELS = {MAX_PIXELS} (compute it in tiles)")


def _check_values(array, name):
    """Refuse values float64 cannot hold exactly, NaN and infinities; reads `array`, copies nothing
    (but for long doubles, and the counts of an error message)."""
    if not array.size:
        return
    kind = array.dtype.kind
    if kind in "iu":  # integer min and max: exact, whatever the magnitude
        low, high = int(array.min()), int(array.max())
        if low < -_EXACT_INT or high > _EXACT_INT:
            raise ValueError(
                f"`{name}` holds integers beyond 2**53 in magnitude (from {low} to {high}), which float64 "
                "cannot represent exactly; rescale them first"
            )
    elif kind == "f":
        low, high = array.min(), array.max()  # NaN propagates through min and max
        if not (np.isfinite(low) and np.isfinite(high)):
            n_nan = int(np.count_nonzero(np.isnan(array)))
            n_inf = int(np.count_nonzero(np.isinf(array)))
            raise ValueError(f"`{name}` must be finite; got {n_nan} NaN and {n_inf} infinite values")
        if array.dtype.itemsize > 8 and not np.array_equal(array.astype(np.float64).astype(array.dtype), array):
            raise ValueError(f"`{name}` holds {array.dtype} values that float64 cannot represent exactly; "
                             "convert them to float64 first, knowing that close values may become ties")


def as_likelihood(likelihood, name="likelihood"):
    """Return `likelihood` as a new C-contiguous float64 array, after checking it.

    Every check comes before the copy: the shape (and its size against
    :data:`MAX_PIXELS`), then the values, read in place (integer minimum and maximum,
    floating minimum and maximum for NaN and infinities).

    Parameters
    ----------
    likelihood : (M, N[, P]) array_like of real numbers
        A 2-D or 3-D image whose every axis has length >= 2, of at most
        :data:`MAX_PIXELS` pixels. Bool, integer and floating dtypes are accepted;
        values must be finite.
    name : str, optional
        The argument's name, used in error messages.

    Returns
    -------
    values : (M, N[, P]) ndarray of float64
        A copy of the input. The conversion is exact: ties are neither merged nor
        split (integers of magnitude above 2**53, and long doubles that float64
        cannot hold, are refused).

    Raises
    ------
    TypeError
        If the input is not an array of real numbers.
    ValueError
        If the input is not 2-D or 3-D, has an axis shorter than 2, more than
        MAX_PIXELS pixels, NaN or infinite values, or values that float64 cannot
        represent exactly.

    Examples
    --------
    >>> as_likelihood([[0, 1], [1, 0]]).dtype
    dtype('float64')
    >>> as_likelihood([1.0, 2.0])
    Traceback (most recent call last):
    ...
    ValueError: `likelihood` must be 2-D or 3-D; got shape (2,)
    """
    array = _real_array(likelihood, name)
    _check_image(array.shape, name)
    _check_values(array, name)
    return np.array(array, dtype=np.float64, order="C", copy=True)


def _check_image(shape, name):
    if len(shape) not in (2, 3):
        raise ValueError(f"`{name}` must be 2-D or 3-D; got shape {tuple(shape)}")
    if min(shape) < 2:
        raise ValueError(f"every axis of `{name}` must have length >= 2; got shape {tuple(shape)}")
    _check_size(shape, name)


def as_epsilon(epsilon, name="epsilon"):
    """Return `epsilon` as a float after checking it is a finite number >= 0.

    Parameters
    ----------
    epsilon : real number
        The persistence threshold.
    name : str, optional
        The argument's name, used in error messages.

    Returns
    -------
    epsilon : float

    Raises
    ------
    TypeError
        If `epsilon` is not a real number (bools are refused too).
    ValueError
        If `epsilon` is negative, NaN or infinite, or not exactly a float64 (a
        ``Fraction(1, 3)``; ``Fraction(1, 4)`` is accepted as 0.25).

    Examples
    --------
    >>> as_epsilon(0.2)
    0.2
    >>> as_epsilon(-1)
    Traceback (most recent call last):
    ...
    ValueError: `epsilon` must be a finite number >= 0; got -1
    """
    if isinstance(epsilon, (bool, np.bool_)) or not isinstance(epsilon, numbers.Real):
        raise TypeError(f"`{name}` must be a real number; got {type(epsilon).__name__}")
    try:
        value = float(epsilon)
    except (OverflowError, ValueError, TypeError):  # an int or Fraction beyond float64's range, ...
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"`{name}` must be a finite number >= 0; got {epsilon!r}")
    if value != epsilon:  # a Fraction, a long double, a large int: compared with float64 persistence
        raise ValueError(f"`{name}` must be exactly representable as a float64 (it is compared with float64 "
                         f"persistence values); got {epsilon!r}, whose nearest float64 is {value!r}")
    return value


def as_structures(structures, ndim, name="structures"):
    """Return the tuple of structure names a mask is made of.

    Parameters
    ----------
    structures : None, str or iterable of str
        Names among ``"ridges"``, ``"boundaries"`` and ``"sheets"`` (3-D only). None
        gives the default: ridges in 2-D, ridges and boundaries in 3-D.
    ndim : {2, 3}
        Dimension of the image.
    name : str, optional
        The argument's name, used in error messages.

    Returns
    -------
    structures : tuple of str
        Distinct names, in the order of `STRUCTURES`.

    Raises
    ------
    TypeError
        If `structures` is not None, a string or an iterable of strings.
    ValueError
        If a name is unknown, if the selection is empty, or if ``"sheets"`` is asked
        for a 2-D image.

    Examples
    --------
    >>> as_structures(None, 3)
    ('ridges', 'boundaries')
    >>> as_structures("boundaries", 2)
    ('boundaries',)
    """
    if structures is None:
        return ("ridges",) if ndim == 2 else ("ridges", "boundaries")
    if isinstance(structures, str):
        structures = (structures,)
    try:
        names = list(structures)
    except TypeError as err:
        raise TypeError(
            f"`{name}` must be None, a string or an iterable of strings; got {type(structures).__name__}"
        ) from err
    for item in names:
        if not isinstance(item, str):
            raise TypeError(f"`{name}` must hold strings; got {item!r}")
        if item not in STRUCTURES:
            raise ValueError(f"`{name}` must be among {STRUCTURES}; got {item!r}")
    if not names:
        raise ValueError(f"`{name}` must name at least one structure; got an empty selection")
    if "sheets" in names and ndim != 3:
        raise ValueError(f"`{name}`: 'sheets' exist only for 3-D images; got a {ndim}-D image")
    return tuple(s for s in STRUCTURES if s in names)


def as_batch(likelihoods, name="likelihoods"):
    """Return a batch of likelihood maps as a list of new float64 arrays.

    Parameters
    ----------
    likelihoods : (B, M, N[, P]) array_like
        A batch of 2-D images (a 3-D array) or of 3-D volumes (a 4-D array), B >= 1.
    name : str, optional
        The argument's name, used in error messages.

    Returns
    -------
    images : list of ndarray
        ``as_likelihood`` of each image; every image is checked before any is copied.

    Raises
    ------
    TypeError
        If the batch is not an array of real numbers.
    ValueError
        If it is not 3-D or 4-D, is empty, or an image is invalid.

    Examples
    --------
    >>> [x.shape for x in as_batch(np.zeros((2, 3, 4)))]
    [(3, 4), (3, 4)]
    """
    array = _real_array(likelihoods, name)
    if array.ndim not in (3, 4):
        raise ValueError(f"`{name}` must be a batch of 2-D or 3-D images, shape (B, M, N[, P]); got shape {array.shape}")
    if array.shape[0] == 0:
        raise ValueError(f"`{name}` must hold at least one image; got shape {array.shape}")
    _check_image(array.shape[1:], f"{name}[0]")  # one shape for all: checked once, before any copy
    for i, image in enumerate(array):  # every image checked before any is converted
        _check_values(image, f"{name}[{i}]")
    return [np.array(image, dtype=np.float64, order="C", copy=True) for image in array]


def as_workers(workers, default, name="workers"):
    """Return the number of worker threads: `default` for None, else an int >= 1.

    Parameters
    ----------
    workers : None or int
        The number asked for.
    default : int
        The number used for None.
    name : str, optional
        The argument's name, used in error messages.

    Returns
    -------
    workers : int

    Raises
    ------
    TypeError
        If `workers` is neither None nor an int (bools are refused).
    ValueError
        If `workers` is less than 1.

    Examples
    --------
    >>> as_workers(None, default=4), as_workers(2, default=4)
    (4, 2)
    """
    if workers is None:
        return max(1, int(default))
    if isinstance(workers, (bool, np.bool_)) or not isinstance(workers, numbers.Integral):
        raise TypeError(f"`{name}` must be None or an int; got {type(workers).__name__}")
    if workers < 1:
        raise ValueError(f"`{name}` must be >= 1; got {workers}")
    return int(workers)


def as_choice(value, choices, name):
    """Return `value` after checking it is one of the strings `choices`.

    Parameters
    ----------
    value : str
        The option given.
    choices : tuple of str
        The options allowed.
    name : str
        The argument's name, used in error messages.

    Returns
    -------
    value : str

    Raises
    ------
    TypeError
        If `value` is not a string.
    ValueError
        If it is not one of `choices`.

    Examples
    --------
    >>> as_choice("mean", ("mean", "sum"), "reduction")
    'mean'
    >>> as_choice("max", ("mean", "sum"), "reduction")
    Traceback (most recent call last):
    ...
    ValueError: `reduction` must be one of ('mean', 'sum'); got 'max'
    """
    if not isinstance(value, str):
        raise TypeError(f"`{name}` must be a string among {choices}; got {type(value).__name__}")
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {choices}; got {value!r}")
    return value


def as_int(value, name, low=None, high=None):
    """Return `value` as an int after checking it is an integer (not a bool) within bounds.

    Parameters
    ----------
    value : int
        The number given (numpy integers are accepted).
    name : str
        The argument's name, used in error messages.
    low, high : int, optional
        Inclusive bounds; None: unbounded on that side.

    Returns
    -------
    value : int

    Raises
    ------
    TypeError
        If `value` is not an integer, or is a bool.
    ValueError
        If it is out of bounds.

    Examples
    --------
    >>> as_int(3, "steps", 1)
    3
    >>> as_int(0, "steps", 1)
    Traceback (most recent call last):
    ...
    ValueError: `steps` must be >= 1; got 0
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an int; got {type(value).__name__}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        if high is None:
            bounds = f">= {low}"
        elif low is None:
            bounds = f"<= {high}"
        else:
            bounds = f"between {low} and {high}"
        raise ValueError(f"`{name}` must be {bounds}; got {value}")
    return value


def as_bool(value, name):
    """Return `value` as a bool after checking it is one (Python's or numpy's).

    Integers are refused: ``1`` for ``True`` is more often a slip than a choice.

    Parameters
    ----------
    value : bool
    name : str
        The argument's name, used in error messages.

    Returns
    -------
    value : bool

    Raises
    ------
    TypeError
        If `value` is not a bool.

    Examples
    --------
    >>> as_bool(True, "augment")
    True
    >>> as_bool(1, "augment")
    Traceback (most recent call last):
    ...
    TypeError: `augment` must be a bool; got int
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be a bool; got {type(value).__name__}")
    return bool(value)
