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


#: Command-line options of a tiny, quick training run.
TINY = ["--width", "2", "--depth", "2", "--batch-size", "2", "--patch-size", "32", "--no-progress",
        "--device", "cpu"]


def table_rows(text):
    """``{name: value}`` of the two-space separated lines the CLI prints."""
    rows = {}
    for line in text.splitlines():
        name, _, value = line.partition("  ")
        rows[name.strip()] = value.strip()
    return rows


def one_line_error(capsys, *words):
    """The one line on stderr (no traceback), which must hold every one of `words`."""
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def topomortar_folder(root, split="val", n=2, side=20):
    """A tiny folder in TopoMortar's layout: ``split/images/NNN.png`` (RGB: grey mortar
    (128, 128, 128) between red bricks (180, 40, 30)) and ``split/labels/NNN.png``
    (255 = mortar, one connected network). Returns `root`."""
    from PIL import Image

    for sub in ("images", "labels"):
        (root / split / sub).mkdir(parents=True)
    for i in range(n):
        mortar = np.zeros((side, side), bool)
        mortar[::5] = True
        mortar[:, (i + 2)::6] = True
        rgb = np.where(mortar[..., None], [128, 128, 128], [180, 40, 30]).astype(np.uint8)
        Image.fromarray(rgb).save(root / split / "images" / f"{split}{i:02d}.png")
        Image.fromarray(np.where(mortar, 255, 0).astype(np.uint8)).save(root / split / "labels" / f"{split}{i:02d}.png")
    return root
