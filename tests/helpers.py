"""Assertion helpers shared by the tests."""

import numpy as np


def reproducer(x, call):
    """A pasteable line that rebuilds the failing input."""
    return f"x = np.array({np.asarray(x).tolist()!r}); {call}"


def assert_array_equal(got, expected, what, x, call):
    """Exact equality, with `what=got, but should be expected` and a reproducer on failure."""
    if not np.array_equal(got, expected):
        raise AssertionError(
            f"{what}={np.asarray(got).tolist()}, but should be {np.asarray(expected).tolist()}\n"
            f"reproduce: {reproducer(x, call)}"
        )


def critical_dims(structures):
    """Dimension of each critical cell (number of odd doubled coordinates)."""
    return (structures.critical % 2).sum(axis=1)
