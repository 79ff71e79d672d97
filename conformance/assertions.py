"""Assertion helpers and the checks of the conformance suite, shared by its tests and the
golden runner (``python -m dmtloss.conformance``).

Every failure reads ``what=got, but should be expected [impl.func(args)]`` and ends
with a line that reproduces it, pasteable in any Python shell where dmtloss is installed::

    reproduce: import numpy as np; from dmtloss.conformance.impl import load; impl = load('dmtloss.fast'); x = np.array([[1.0, 0.0], [0.0, 1.0]]); impl.persistence_diagram(x)

Every call is made on a fresh array built from a :class:`Case` (the image's float64
values, copied before anything else, and a *layout*: C or Fortran order, a reversed
view, read-only, an integer, bool or float32 dtype); the expected answer and the
reproducer come from that copy, and after the call the argument must be unchanged and
exactly as writeable as before.
"""

import numpy as np

from .impl import default_mask

__all__ = ["Case", "LAYOUTS", "reproducer", "call", "assert_same", "canonical_diagram", "canonical_pairs",
           "canonical_cells", "as_mask", "check_diagram", "check_pairs", "check_critical", "check_masks",
           "pairs_rows", "Expected"]

#: layout -> (code applied to the float64 C-order x in the reproducer, when it applies)
LAYOUTS = {
    "C": "",
    "F": "x = np.asfortranarray(x)",
    "reversed": "x = np.flip(np.flip(x).copy())",
    "readonly": "x.setflags(write=False)",
    "float32": "x = x.astype(np.float32)",
    "int64": "x = x.astype(np.int64)",
    "int32": "x = x.astype(np.int32)",
    "uint16": "x = x.astype(np.uint16)",
    "bool": "x = x.astype(bool)",
}


def layout_applies(values, layout):
    """Whether ``values`` (float64) survive ``layout``'s dtype exactly.

    Examples
    --------
    >>> layout_applies(np.array([[0.0, 1.0]]), "bool"), layout_applies(np.array([[0.5, 2.0]]), "int64")
    (True, False)
    """
    values = np.asarray(values, dtype=np.float64)
    dtype = {"float32": np.float32, "int64": np.int64, "int32": np.int32, "uint16": np.uint16,
             "bool": bool}.get(layout)
    if dtype is None:
        return True
    if dtype is not np.float32 and not np.all(values == np.round(values)):
        return False
    if dtype is bool:
        return bool(np.isin(values, (0.0, 1.0)).all())
    if dtype is not np.float32:
        info = np.iinfo(dtype)
        if values.min() < info.min or values.max() > info.max:
            return False
    return bool(np.array_equal(values.astype(dtype).astype(np.float64), values))


class Case:
    """An image to call the implementation with: its float64 values and a layout.

    ``values`` is a private float64 C-order copy, taken first: the expected answer and
    the reproducer come from it, whatever the call does to its own argument.

    Examples
    --------
    >>> case = Case([[1, 0], [0, 1]], "F")
    >>> case.argument().flags.f_contiguous, case.values.dtype
    (True, dtype('float64'))
    """

    def __init__(self, x, layout="C"):
        self.values = np.array(x, dtype=np.float64, copy=True, order="C")
        self.values.setflags(write=False)
        if layout not in LAYOUTS:
            raise ValueError(f"`layout` must be one of {sorted(LAYOUTS)}; got {layout!r}")
        self.layout = layout
        self.ndim = self.values.ndim

    def argument(self):
        """A fresh array with the case's values, in its layout."""
        x = np.array(self.values)
        if self.layout == "F":
            return np.asfortranarray(x)
        if self.layout == "reversed":
            return np.flip(np.flip(x).copy())
        if self.layout == "readonly":
            x.setflags(write=False)
            return x
        if self.layout != "C":
            return x.astype({"bool": bool}.get(self.layout, self.layout))
        return x

    def code(self):
        """Python statements that rebuild the argument, for the reproducer."""
        text = f"x = np.array({self.values.tolist()!r})"
        return text + (f"; {LAYOUTS[self.layout]}" if LAYOUTS[self.layout] else "")


def reproducer(impl, call_text, case):
    """The pasteable line that rebuilds the argument and repeats the call."""
    case = case if isinstance(case, Case) else Case(case)
    return (f"reproduce: import numpy as np; from dmtloss.conformance.impl import load; "
            f"impl = load({impl.path!r}); {case.code()}; impl.{call_text}")


def _fail(message, impl, call_text, case):
    layout = "" if not isinstance(case, Case) or case.layout == "C" else f" (x in layout {case.layout!r})"
    raise AssertionError(f"{message} [{impl.name}.{call_text}]{layout}\n{reproducer(impl, call_text, case)}")


def call(impl, call_text, case, function, *args, **kwargs):
    """Call the implementation; an exception it raises becomes a failure with a reproducer."""
    try:
        return function(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 -- any error of the implementation is a finding
        _fail(f"raised {type(error).__name__}: {error}", impl, call_text, case)


def invoke(impl, call_text, case, method, *args, **kwargs):
    """``impl.method(argument, *args, **kwargs)`` on a fresh argument, which must come back untouched."""
    x = case.argument()
    before, writeable, dtype = np.array(x, copy=True), x.flags.writeable, x.dtype
    result = call(impl, call_text, case, getattr(impl, method), x, *args, **kwargs)
    if x.dtype != dtype or not np.array_equal(x, before):
        _fail(f"input x={_show(x)} after the call, but should be unchanged {_show(before)} "
              "(an implementation must never modify its input)", impl, call_text, case)
    if x.flags.writeable != writeable:
        _fail(f"input x.flags.writeable={x.flags.writeable} after the call, but should be {writeable} "
              "(an implementation must not freeze or unfreeze the caller's array)", impl, call_text, case)
    return result


def _show(value):
    value = np.asarray(value)
    if value.dtype == bool:
        value = value.astype(int)
    return value.tolist()


def assert_same(what, got, expected, impl, call_text, case):
    """Exact equality of two arrays (shape, and values compared as float64/int/bool)."""
    got_array, expected_array = np.asarray(got), np.asarray(expected)
    if got_array.shape != expected_array.shape or not np.array_equal(got_array, expected_array):
        shape = "" if got_array.shape == expected_array.shape else \
            f" (shape {got_array.shape}, should be {expected_array.shape})"
        _fail(f"{what}={_show(got_array)}, but should be {_show(expected_array)}{shape}", impl, call_text, case)


def _check(condition, message, impl, call_text, case):
    if not condition:
        _fail(message, impl, call_text, case)


def _dtype(what, array, expected, impl, call_text, case):
    got = np.asarray(array).dtype
    _check(got == np.dtype(expected), f"{what}.dtype={got}, but should be {np.dtype(expected)} "
                                      "(docs/spec.md sections 4 and 6)", impl, call_text, case)


def canonical_diagram(diagram, impl, call_text, case):
    """An (n, 3) float64 array sorted by (dim, birth, death), checked for form first."""
    try:
        rows = np.asarray(diagram, dtype=np.float64)
    except (TypeError, ValueError) as error:
        _fail(f"diagram is not an array of numbers ({error})", impl, call_text, case)
    _check(rows.ndim == 2 and rows.shape[1] == 3 or rows.size == 0,
           f"diagram shape={rows.shape}, but should be (n, 3)", impl, call_text, case)
    rows = rows.reshape(-1, 3)
    return rows[np.lexsort((rows[:, 2], rows[:, 1], rows[:, 0]))]


def pairs_rows(pairs, ndim):
    """Pairs as an (n, 3 + 2d) float64 array of rows (dim, birth..., death..., bv, dv), in their order."""
    dim = np.asarray(pairs.dim, dtype=np.float64).reshape(-1, 1)
    n = len(dim)
    birth = np.asarray(pairs.birth, dtype=np.float64).reshape(n, ndim)
    death = np.asarray(pairs.death, dtype=np.float64).reshape(n, ndim)
    values = np.column_stack([np.asarray(pairs.birth_value, dtype=np.float64).reshape(n),
                              np.asarray(pairs.death_value, dtype=np.float64).reshape(n)])
    return np.hstack([dim, birth, death, values])


def canonical_pairs(pairs, ndim):
    """Pairs as an (n, 3 + 2d) float64 array of rows (dim, birth..., death..., bv, dv), sorted."""
    rows = pairs_rows(pairs, ndim)
    return rows[np.lexsort(rows.T[::-1])]


def canonical_cells(cells, ndim):
    """Cells as an (m, d) int64 array sorted lexicographically."""
    cells = np.asarray(cells, dtype=np.int64).reshape(-1, ndim)
    return cells[np.lexsort(cells.T[::-1])] if len(cells) else cells


def as_mask(structures, name, ndim):
    """A mask of a structures object, as an array ("mask" is the default loss mask)."""
    if name == "mask":
        return np.asarray(default_mask(structures, ndim))
    return np.asarray(getattr(structures, name))


class Expected:
    """The expected answers for one image: from ``dmtloss.reference`` or from the corpus.

    Subclasses (the golden corpus) override the methods; the default computes them.
    """

    def __init__(self, values):
        self.values = values

    def diagram(self):
        """The diagram in the reference's row order (dim, then birth position)."""
        from dmtloss import reference

        return reference.persistence_diagram(self.values)

    def pairs(self):
        from dmtloss import reference

        return reference.persistence_pairs(self.values)

    def structures(self, epsilon, frame):
        from dmtloss import reference

        return reference.morse_structures(self.values, epsilon, frame=frame)


def _check_pairs_object(what, got, expected, impl, text, case, ndim, order):
    """dtypes, the rows as a set, then (if ``order``) in their order."""
    for name, dtype in (("dim", np.int64), ("birth", np.int64), ("death", np.int64),
                        ("birth_value", np.float64), ("death_value", np.float64)):
        _dtype(f"{what}.{name}", call(impl, text, case, getattr, got, name), dtype, impl, text, case)
    rows = call(impl, text, case, pairs_rows, got, ndim)
    reference_rows = pairs_rows(expected, ndim)
    sort = lambda r: r[np.lexsort(r.T[::-1])] if len(r) else r  # noqa: E731
    assert_same(f"{what} (dim, birth cell, death cell, birth value, death value)", sort(rows),
                sort(reference_rows), impl, text, case)
    if order:
        assert_same(f"{what} in the order given (docs/spec.md: {order})", rows, reference_rows, impl, text, case)


def check_diagram(impl, case, expected=None):
    """Level diagram: the values as a multiset, float64, rows by dimension then birth.

    Rows must come by dimension, then by the birth cell's filtration position
    (docs/spec.md section 4); a value-only implementation is held to what that implies
    (dimensions ascending, births descending within one), one that declares the cells
    level to the exact order.
    """
    expected = expected or Expected(case.values)
    text = "persistence_diagram(x)"
    got = invoke(impl, text, case, "persistence_diagram")
    _dtype("diagram", got, np.float64, impl, text, case)
    rows = canonical_diagram(got, impl, text, case)
    reference_rows = np.asarray(expected.diagram(), dtype=np.float64).reshape(-1, 3)
    assert_same("diagram", rows, canonical_diagram(reference_rows, impl, text, case), impl, text, case)
    given = np.asarray(got, dtype=np.float64).reshape(-1, 3)
    if "cells" in impl.levels:
        assert_same("diagram rows in the order given (docs/spec.md section 4: by dimension, then the birth "
                    "cell's filtration position)", given, reference_rows, impl, text, case)
    else:
        dims, births = given[:, 0], given[:, 1]
        same_dim = dims[1:] == dims[:-1]
        _check(np.all(dims[1:] >= dims[:-1]) and np.all(births[1:][same_dim] <= births[:-1][same_dim]),
               f"diagram rows in the order given={given.tolist()}, but should be by dimension, then by birth "
               "descending (docs/spec.md section 4)", impl, text, case)


def check_pairs(impl, case, expected=None):
    """Level cells: persistence pairs, dtypes, and rows in order of the birth cell's position."""
    expected = expected or Expected(case.values)
    text = "persistence_pairs(x)"
    got = invoke(impl, text, case, "persistence_pairs")
    _check_pairs_object("pairs", got, expected.pairs(), impl, text, case, case.ndim,
                        "section 4, rows by the birth cell's filtration position")


def check_critical(impl, case, epsilon, expected=None):
    """Level cells: critical cells (in filtration order) and uncancelled pairs at epsilon."""
    expected = expected or Expected(case.values)
    text = f"morse_structures(x, {epsilon!r})"
    got = invoke(impl, text, case, "morse_structures", epsilon)
    reference = expected.structures(epsilon, False)
    critical = call(impl, text, case, getattr, got, "critical")
    _dtype("critical", critical, np.int64, impl, text + ".critical", case)
    cells = call(impl, text, case, canonical_cells, critical, case.ndim)
    assert_same("critical cells", cells, canonical_cells(reference.critical, case.ndim), impl,
                text + ".critical", case)
    assert_same("critical cells in the order given (docs/spec.md section 6: filtration order)",
                np.asarray(critical).reshape(-1, case.ndim), np.asarray(reference.critical).reshape(-1, case.ndim),
                impl, text + ".critical", case)
    uncancelled = call(impl, text, case, getattr, got, "uncancelled")
    _check_pairs_object("uncancelled", uncancelled, reference.uncancelled, impl, text + ".uncancelled", case,
                        case.ndim, "section 5, in the order they came up")


def check_masks(impl, case, epsilon, frame, expected=None):
    """Level masks: ridges, boundaries and the default loss mask, bool, pixel for pixel."""
    expected = expected or Expected(case.values)
    text = f"morse_structures(x, {epsilon!r}, frame={frame!r})"
    got = invoke(impl, text, case, "morse_structures", epsilon, frame=frame)
    reference = expected.structures(epsilon, frame)
    for name in ("ridges", "boundaries", "mask"):
        what = f"{name}" if name != "mask" else "mask() (the default loss mask)"
        got_mask = call(impl, text, case, as_mask, got, name, case.ndim)
        _dtype(what, got_mask, bool, impl, text, case)
        assert_same(what, got_mask, as_mask(reference, name, case.ndim), impl, text, case)
