"""Assertion helpers of the conformance suite.

Every failure reads ``what=got, but should be expected [impl.func(args)]`` and ends
with a line that reproduces it, pasteable in a Python shell at the repository root::

    reproduce: import numpy as np; from conformance.impl import load; impl = load('dmtloss.fast'); x = np.array([[1.0, 0.0], [0.0, 1.0]]); impl.persistence_diagram(x)
"""

import numpy as np

from .impl import default_mask

__all__ = ["reproducer", "call", "assert_same", "canonical_diagram", "canonical_pairs",
           "canonical_cells", "as_mask"]


def reproducer(impl, call_text, x):
    """The pasteable line that rebuilds ``x`` and repeats the call."""
    return (f"reproduce: import numpy as np; from conformance.impl import load; "
            f"impl = load({impl.path!r}); x = np.array({np.asarray(x).tolist()!r}); impl.{call_text}")


def _fail(message, impl, call_text, x):
    raise AssertionError(f"{message} [{impl.name}.{call_text}]\n{reproducer(impl, call_text, x)}")


def call(impl, call_text, x, function, *args, **kwargs):
    """Call the implementation; an exception it raises becomes a failure with a reproducer."""
    try:
        return function(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 -- any error of the implementation is a finding
        _fail(f"raised {type(error).__name__}: {error}", impl, call_text, x)


def _show(value):
    value = np.asarray(value)
    if value.dtype == bool:
        value = value.astype(int)
    return value.tolist()


def assert_same(what, got, expected, impl, call_text, x):
    """Exact equality of two arrays (shape, and values compared as float64/int/bool)."""
    got_array, expected_array = np.asarray(got), np.asarray(expected)
    if got_array.shape != expected_array.shape or not np.array_equal(got_array, expected_array):
        shape = "" if got_array.shape == expected_array.shape else \
            f" (shape {got_array.shape}, should be {expected_array.shape})"
        _fail(f"{what}={_show(got_array)}, but should be {_show(expected_array)}{shape}", impl, call_text, x)


def _check(condition, message, impl, call_text, x):
    if not condition:
        _fail(message, impl, call_text, x)


def canonical_diagram(diagram, impl, call_text, x):
    """An (n, 3) float64 array sorted by (dim, birth, death), checked for form first."""
    try:
        rows = np.asarray(diagram, dtype=np.float64)
    except (TypeError, ValueError) as error:
        _fail(f"diagram is not an array of numbers ({error})", impl, call_text, x)
    _check(rows.ndim == 2 and rows.shape[1] == 3 or rows.size == 0,
           f"diagram shape={rows.shape}, but should be (n, 3)", impl, call_text, x)
    rows = rows.reshape(-1, 3)
    return rows[np.lexsort((rows[:, 2], rows[:, 1], rows[:, 0]))]


def canonical_pairs(pairs, ndim):
    """Pairs as an (n, 3 + 2d) float64 array of rows (dim, birth..., death..., bv, dv), sorted."""
    dim = np.asarray(pairs.dim, dtype=np.float64).reshape(-1, 1)
    n = len(dim)
    birth = np.asarray(pairs.birth, dtype=np.float64).reshape(n, ndim)
    death = np.asarray(pairs.death, dtype=np.float64).reshape(n, ndim)
    values = np.column_stack([np.asarray(pairs.birth_value, dtype=np.float64).reshape(n),
                              np.asarray(pairs.death_value, dtype=np.float64).reshape(n)])
    rows = np.hstack([dim, birth, death, values])
    return rows[np.lexsort(rows.T[::-1])]


def canonical_cells(cells, ndim):
    """Cells as an (m, d) int64 array sorted lexicographically."""
    cells = np.asarray(cells, dtype=np.int64).reshape(-1, ndim)
    return cells[np.lexsort(cells.T[::-1])] if len(cells) else cells


def as_mask(structures, name, ndim):
    """A mask of a structures object, as a bool array ("mask" is the default loss mask)."""
    if name == "mask":
        return np.asarray(default_mask(structures, ndim))
    return np.asarray(getattr(structures, name))
