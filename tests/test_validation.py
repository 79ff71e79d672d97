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


# -- issue 18, items 2, 10 and 11: exact conversions, strict options, hints ------------------

@pytest.mark.parametrize("impl", ENGINES)
@pytest.mark.parametrize("big", [2**53 + 1, -(2**53 + 1), 2**63 - 1])
def test_integers_float64_would_merge_are_refused(impl, big):
    # 2**53 + 1 becomes 2**53 in float64: a tie that is not in the input
    x = np.array([[big, 2**53 if big > 0 else -(2**53)], [0, 1]], dtype=np.int64)
    with pytest.raises(ValueError, match=re.escape("`likelihood` holds integers beyond 2**53 in magnitude")):
        impl.morse_structures(x)
    with pytest.raises(ValueError, match=re.escape("`likelihoods[1]` holds integers beyond 2**53")):
        impl.morse_structures_batch(np.stack([x * 0, x]))


@pytest.mark.parametrize("impl", ENGINES)
def test_integers_up_to_2_53_convert_exactly(impl):
    low = -(2**53)
    x = np.array([[2**53, low, 2**53 - 1], [low, low, low]], dtype=np.int64)  # two maxima one apart
    got = impl.persistence_diagram(x)
    assert got.tolist() == impl.persistence_diagram(x.astype(np.float64)).tolist()
    assert {float(2**53), float(2**53 - 1)} <= set(got[:, 1].tolist())  # 2**53 - 1 stays apart from 2**53
    assert impl.morse_structures(np.array([[2**53, 1], [0, 1]], dtype=np.uint64)).pairs.birth_value.max() == 2.0**53


@pytest.mark.parametrize("impl", ENGINES)
@pytest.mark.parametrize("frame", ["no", 1, None, np.array([True])])
def test_engines_refuse_a_frame_that_is_not_a_bool(impl, frame):
    message = f"`frame` must be a bool; got {type(frame).__name__}"
    with pytest.raises(TypeError, match=re.escape(message)):
        impl.morse_structures(np.zeros((3, 3)), frame=frame)
    with pytest.raises(TypeError, match=re.escape(message)):
        impl.morse_structures_batch(np.zeros((2, 3, 3)), frame=frame)


@pytest.mark.parametrize("impl", ENGINES)
def test_fraction_epsilon_is_taken_exactly_or_refused(impl):
    from fractions import Fraction

    x = np.array([[0.0, 0.25, 1.0], [0.5, 0.0, 0.75]])
    got = impl.morse_structures(x, Fraction(1, 4))
    assert got.epsilon == 0.25 and isinstance(got.epsilon, float)
    assert np.array_equal(got.ridges, impl.morse_structures(x, 0.25).ridges)
    message = "`epsilon` must be exactly representable as a float64"
    with pytest.raises(ValueError, match=re.escape(message)):
        impl.morse_structures(x, Fraction(1, 3))
    with pytest.raises(ValueError, match=re.escape(message)):
        impl.morse_structures_batch(x[None], Fraction(1, 10))
    with pytest.raises(ValueError, match=re.escape("`epsilon` must be a finite number >= 0")):
        impl.morse_structures(x, 10**400)  # beyond float64: not an OverflowError from numpy


@pytest.mark.parametrize("impl", ENGINES)
def test_long_doubles_float64_cannot_hold_are_refused(impl):
    if np.finfo(np.longdouble).nmant <= 52:
        pytest.skip("long double is float64 on this platform")
    x = np.zeros((2, 2), dtype=np.longdouble)
    x[0, 0] = np.longdouble(1) + np.finfo(np.longdouble).eps  # equal to 1 in float64
    x[0, 1] = 1
    with pytest.raises(ValueError, match="float64 cannot represent exactly"):
        impl.morse_structures(x)
    assert impl.morse_structures(x.round()).pairs.birth_value.max() == 1.0


@pytest.mark.parametrize("call", ENTRY_POINTS)
def test_a_tensor_that_needs_grad_gets_a_hint(call):
    torch = pytest.importorskip("torch")
    x = torch.zeros(3, 3, requires_grad=True)
    with pytest.raises(TypeError, match=re.escape("got Tensor")) as info:
        call(x)
    assert ".detach().cpu().numpy()" in str(info.value)
    call(x.detach())  # a CPU tensor without grad is an array like any other


@pytest.mark.parametrize("impl", ENGINES)
def test_too_many_pixels_are_refused_from_the_shape(impl):
    from dmtloss.reference._validation import MAX_PIXELS

    assert MAX_PIXELS == fast._kernels.MAX_POSITION // fast._kernels.SLOT
    side = int(np.sqrt(MAX_PIXELS)) + 1
    view = np.broadcast_to(np.uint8(1), (side, side))  # no memory behind it
    message = f"`likelihood` is too large: shape ({side}, {side}) has {side * side} pixels; at most MAX_PIXELS"
    with pytest.raises(ValueError, match=re.escape(message)):
        impl.morse_structures(view)
    with pytest.raises(ValueError, match=re.escape("`likelihoods[0]` is too large")):
        impl.morse_structures_batch(np.broadcast_to(np.uint8(1), (3, side, side)))
