"""Every error path of the shared input validation, with its message."""

import re

import numpy as np
import pytest

from dmtloss import fast, reference
from dmtloss.reference import morse_structures

ENGINES = [pytest.param(reference, id="reference"), pytest.param(fast, id="fast")]
ENTRY_POINTS = [
    pytest.param(lambda x, impl=impl: impl.morse_structures(x), id=f"{impl.__name__}.morse_structures")
    for impl in (reference, fast)
] + [
    pytest.param(getattr(impl, name), id=f"{impl.__name__}.{name}")
    for impl in (reference, fast)
    for name in ("persistence_diagram", "persistence_pairs")
]


@pytest.mark.parametrize("call", ENTRY_POINTS)
@pytest.mark.parametrize(
    "bad, error, message",
    [
        ("abc", TypeError, "`likelihood` must be an array of real numbers; got str"),
        (None, TypeError, "`likelihood` must be an array of real numbers; got dtype object"),
        ([[1, 2], [3]], TypeError, "`likelihood` must be an array of real numbers; got list"),
        (np.ones((2, 2), dtype=complex), TypeError, "got dtype complex128"),
        (np.array([["a", "b"], ["c", "d"]]), TypeError, "got dtype <U1"),
        (np.ones(5), ValueError, "`likelihood` must be 2-D or 3-D; got shape (5,)"),
        (np.ones((2, 2, 2, 2)), ValueError, "`likelihood` must be 2-D or 3-D; got shape (2, 2, 2, 2)"),
        (np.ones((1, 5)), ValueError, "every axis of `likelihood` must have length >= 2; got shape (1, 5)"),
        (np.ones((3, 0)), ValueError, "got shape (3, 0)"),
        (np.ones((3, 3, 1)), ValueError, "got shape (3, 3, 1)"),
        (np.array([[np.nan, 1], [1, np.inf]]), ValueError, "`likelihood` must be finite; got 1 NaN and 1 infinite values"),
        (np.array([[-np.inf, 1], [1, 1]], dtype=np.float32), ValueError, "got 0 NaN and 1 infinite values"),
        (np.array([[2**60, 1], [1, 1]]), ValueError, "integers beyond 2**53"),
    ],
)
def test_bad_likelihood(call, bad, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call(bad)


@pytest.mark.parametrize(
    "epsilon, error, message",
    [
        (-0.1, ValueError, "`epsilon` must be a finite number >= 0; got -0.1"),
        (float("nan"), ValueError, "`epsilon` must be a finite number >= 0; got nan"),
        (float("inf"), ValueError, "`epsilon` must be a finite number >= 0; got inf"),
        ("0.2", TypeError, "`epsilon` must be a real number; got str"),
        (None, TypeError, "`epsilon` must be a real number; got NoneType"),
        (True, TypeError, "`epsilon` must be a real number; got bool"),
        (np.array([0.1]), TypeError, "`epsilon` must be a real number; got ndarray"),
    ],
)
@pytest.mark.parametrize("impl", ENGINES)
def test_bad_epsilon(impl, epsilon, error, message):
    with pytest.raises(error, match=re.escape(message)):
        impl.morse_structures(np.zeros((3, 3)), epsilon)
    with pytest.raises(error, match=re.escape(message)):
        impl.morse_structures_batch(np.zeros((2, 3, 3)), epsilon)


@pytest.mark.parametrize("impl", ENGINES)
@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(likelihoods=np.zeros((3, 3))), ValueError,
         "`likelihoods` must be a batch of 2-D or 3-D images, shape (B, M, N[, P]); got shape (3, 3)"),
        (dict(likelihoods=np.zeros((0, 3, 3))), ValueError, "`likelihoods` must hold at least one image; got shape (0, 3, 3)"),
        (dict(likelihoods=np.zeros((2, 1, 3))), ValueError, "every axis of `likelihoods[0]` must have length >= 2"),
        (dict(likelihoods=np.full((2, 3, 3), np.nan)), ValueError, "`likelihoods[0]` must be finite"),
        (dict(likelihoods="x"), TypeError, "`likelihoods` must be an array of real numbers; got str"),
        (dict(likelihoods=np.zeros((2, 3, 3)), workers=0), ValueError, "`workers` must be >= 1; got 0"),
        (dict(likelihoods=np.zeros((2, 3, 3)), workers=1.5), TypeError, "`workers` must be None or an int; got float"),
    ],
)
def test_bad_batch(impl, kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        impl.morse_structures_batch(**kwargs)


@pytest.mark.parametrize(
    "structures, error, message",
    [
        ("sheets", ValueError, "'sheets' exist only for 3-D images; got a 2-D image"),
        ("membranes", ValueError, "`structures` must be among ('ridges', 'boundaries', 'sheets'); got 'membranes'"),
        ([], ValueError, "`structures` must name at least one structure"),
        (3, TypeError, "`structures` must be None, a string or an iterable of strings; got int"),
        ([b"ridges"], TypeError, "`structures` must hold strings; got b'ridges'"),
    ],
)
@pytest.mark.parametrize("impl", ENGINES)
def test_bad_structures(impl, structures, error, message):
    s = impl.morse_structures(np.zeros((3, 3)))
    with pytest.raises(error, match=re.escape(message)):
        s.mask(structures)


@pytest.mark.parametrize("impl", ENGINES)
def test_accepted_inputs_are_numpy_scalars_lists_and_views(impl):
    x = np.arange(24, dtype=float).reshape(4, 6)
    want = morse_structures(x, 0.0)
    for like in (x.tolist(), x[:, ::-1][:, ::-1], np.asfortranarray(x), x.astype(np.float32)):
        got = impl.morse_structures(like, np.float32(0.0))
        assert np.array_equal(got.critical, want.critical)
    assert morse_structures(x, 1).epsilon == 1.0 and isinstance(morse_structures(x, np.int64(1)).epsilon, float)


@pytest.mark.parametrize("impl", ENGINES)
def test_float32_ties_are_neither_merged_nor_split(impl):
    # two float32 values one ulp apart stay distinct; equal ones stay tied
    a = np.float32(0.5)
    b = np.nextafter(a, np.float32(1))
    x = np.array([[a, 0, b], [0, 0, 0]], dtype=np.float32)
    diagram = impl.persistence_diagram(x)
    assert diagram.tolist() == [[0, float(b), -np.inf], [0, float(a), 0]]


def test_results_copy_the_arrays_they_are_given():
    """A caller's arrays are never shared with a result; only an engine's sealed ones are."""
    from dmtloss.reference.results import MorseStructures, PersistencePairs, _Sealed
    ridges = np.zeros((2, 3), dtype=bool)
    sealed = np.ones((2, 3), dtype=bool)
    empty = PersistencePairs(*[np.zeros(0)] * 5)
    fields = dict(epsilon=0.0, frame=False, pairs=empty, critical=np.zeros((0, 2)), uncancelled=empty,
                  ridge_persistence=np.zeros((2, 3)), basins=np.zeros((1, 2)),
                  boundary_persistence=np.zeros((2, 3)))
    s = MorseStructures(ridges=ridges, boundaries=_Sealed(sealed), **fields)
    assert not np.shares_memory(s.ridges, ridges) and ridges.flags.writeable
    assert s.boundaries is sealed and not s.boundaries.flags.writeable
    # a sealed array of another dtype is converted, as any other
    s = MorseStructures(ridges=_Sealed(np.zeros((2, 3))), boundaries=ridges, **fields)
    assert s.ridges.dtype == bool


@pytest.mark.parametrize("impl", ENGINES)
def test_results_are_read_only(impl):
    s = impl.morse_structures(np.eye(3))
    for name in ("ridges", "boundaries", "basins", "critical", "ridge_persistence"):
        with pytest.raises(ValueError, match="read-only"):
            getattr(s, name)[...] = 0
    with pytest.raises(AttributeError):
        s.epsilon = 1.0
    with pytest.raises(ValueError, match="read-only"):
        s.pairs.birth_value[0] = 3
