"""The golden corpus: images with the reference's answer at every level.

The corpus is ``golden/corpus.json`` (small hand cases and seeded images) and
``golden/large.json`` (a few images of thousands of pixels and hundreds of basins),
format described field by field in ``docs/conformance.md``, written by ``python -m
dmtloss.conformance.make_golden`` from the images below; regenerating them must give the
same bytes. :func:`check_case` checks one case against an implementation, for the tests
(``test_golden.py``) and the runner (``python -m dmtloss.conformance``) alike.
"""

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from .assertions import Case, Expected, check_critical, check_diagram, check_masks, check_pairs

__all__ = ["PATH", "LARGE_PATH", "EPSILONS", "LARGE_EPSILONS", "cases", "large_cases", "record", "dumps", "load",
           "check_case"]

PATH = Path(__file__).resolve().parent / "golden" / "corpus.json"
LARGE_PATH = PATH.with_name("large.json")
FORMAT = "dmtloss-conformance-golden"
VERSION = 2
#: epsilon 0 (unsimplified), 0.2, two that equal level steps exactly and a huge one
#: (everything cancelled but the essential class)
EPSILONS = (0.0, 0.2, 0.25, 0.5, 1e9)
LARGE_EPSILONS = (0.0, 0.25)


def _rng_levels(seed, shape, k):
    return np.random.default_rng(seed).integers(0, k, shape) / (k - 1)


def _rng_floats(seed, shape):
    # rounded to 1/64 so that every value and persistence is exact in any language
    return np.round(np.random.default_rng(seed).random(shape) * 64) / 64


def cases():
    """The corpus images, as ``[(name, array)]``; every one is small (at most 175 pixels)."""
    out = []

    def add(name, x):
        out.append((name, np.asarray(x, dtype=np.float64)))

    add("ring_3x3", [[1, 1, 1], [1, 0, 1], [1, 1, 1]])
    add("two_tied_maxima_4x4", [[1.0, 0.5, 0.5, 0.0], [0.5, 0.25, 0.5, 0.0],
                                [0.5, 0.5, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    add("three_crests_3x5", [[0.9, 0.9, 0.1, 0.8, 0.8], [0.1, 0.6, 0.1, 0.1, 0.1],
                             [0.1, 0.6, 0.6, 0.6, 0.8]])
    add("constant_3x4", np.full((3, 4), 0.7))
    two_holes = np.ones((5, 7)); two_holes[2, 2] = two_holes[2, 4] = 0
    add("two_holes_5x7", two_holes)
    add("diagonal_2x2", [[1, 0], [0, 1]])
    add("checkerboard_4x4", np.indices((4, 4)).sum(axis=0) % 2)
    add("plateau_2x3", [[1, 1, 0], [1, 1, 0]])
    add("ramp_2x6", np.arange(12).reshape(2, 6) / 11)
    add("ramp_6x2", np.arange(12)[::-1].reshape(6, 2) / 11)
    c_open = np.zeros((5, 5)); c_open[0:4, 0] = c_open[0, 0:4] = c_open[3, 0:4] = 1; c_open[1:3, 3] = 0.5
    add("c_open_to_border_5x5", c_open)
    pit = np.ones((4, 4)); pit[0, 1:3] = 0; pit[1, 1:3] = 0.25
    add("pit_at_border_4x4", pit)
    nested = np.zeros((7, 7)); nested[0:7, 0:7] = 0.5; nested[1:6, 1:6] = 0; nested[2:5, 2:5] = 1
    nested[3, 3] = 0.25
    add("nested_rings_7x7", nested)
    add("saturated_sigmoid_4x5", 1 / (1 + np.exp(-np.array([[40, 40, 3, 40, 40], [40, -2, -2, 1, 40],
                                                             [40, 0, 40, 1, 40], [40, 40, 2, 40, 40]], float))))
    add("integers_5x4", np.random.default_rng(20).integers(-3, 4, (5, 4)))
    add("diagonal_maxima_3x3", [[1, 0, 0], [0, 0.5, 0], [0, 0, 1]])
    add("floats_5x5", _rng_floats(0, (5, 5)))
    add("floats_4x7", _rng_floats(1, (4, 7)))
    add("levels3_6x6", _rng_levels(2, (6, 6), 3))
    add("binary_7x5", _rng_levels(3, (7, 5), 2))
    add("levels5_8x8", _rng_levels(4, (8, 8), 5))
    shell = np.zeros((5, 5, 5)); shell[1:4, 1:4, 1:4] = 1; shell[2, 2, 2] = 0
    add("shell_5x5x5", shell)
    add("constant_3x3x3", np.full((3, 3, 3), 0.7))
    ring3 = np.zeros((3, 4, 4)); ring3[1] = 0.5; ring3[1, 0:4, 0] = ring3[1, 0, :] = ring3[1, 3, :] = 1
    ring3[1, :, 3] = 1
    add("ring_in_slice_3x4x4", ring3)
    add("floats_4x4x4", _rng_floats(5, (4, 4, 4)))
    add("levels3_3x4x5", _rng_levels(6, (3, 4, 5), 3))
    add("binary_4x3x4", _rng_levels(7, (4, 3, 4), 2))
    add("uncancelled_3x4x4", [[[1, 1, 0, 1], [1, 0, 0, 1], [0, 1, 0, 1], [1, 0, 1, 0]],
                              [[0, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1], [1, 1, 0, 1]],
                              [[1, 1, 1, 0], [0, 1, 0, 1], [0, 0, 1, 1], [0, 1, 1, 1]]])
    voids = np.zeros((5, 5, 7)); voids[1:4, 1:4, 1:6] = 1; voids[2, 2, 2] = voids[2, 2, 4] = 0.25
    add("two_voids_5x5x7", voids)
    add("distinct_2x2x2", np.array([3, 7, 1, 5, 0, 6, 2, 4]).reshape(2, 2, 2) / 8)
    # a loop born (at 1) before a lower maximum (0.5): pairs of both dimensions interleave
    add("loop_before_peak_3x5", [[1, 1, 1, 0, 0.5], [1, 0, 1, 0, 0], [1, 1, 1, 0, 0]])
    # equal positive persistences (0.25) whose cancellation order decides the gradient
    add("tied_persistence_4x2", [[0.25, 0.5], [0.5, 0.0], [0.25, 0.5], [0.0, 1.0]])
    add("tenths_5x6", np.random.default_rng(8).integers(0, 11, (5, 6)) / 10)
    add("tenths_3x4x4", np.random.default_rng(9).integers(0, 11, (3, 4, 4)) / 10)
    add("wide_floats_6x5", np.random.default_rng(10).uniform(-1e6, 1e6, (6, 5)))
    add("wide_integers_5x5", np.random.default_rng(11).choice([-40000, -7, 300, 129, 40000], (5, 5)))
    return out


def large_cases():
    """Images with hundreds of basins (more than 255: labels must not wrap) and pairs."""
    rng = np.random.default_rng(30)
    pits = 0.5 + np.round(rng.random((52, 52)) * 128) / 256
    pits[1::3, 1::3] = np.round(rng.random(pits[1::3, 1::3].shape) * 48) / 256
    volume = np.round(np.random.default_rng(32).random((8, 9, 10)) * 256) / 256
    return [("pits_52x52", pits), ("noise_8x9x10", volume)]


def _bits(mask):
    return "".join("1" if v else "0" for v in np.asarray(mask, dtype=bool).ravel())


def _value(v):
    return None if np.isinf(v) else float(v)


def _pairs(pairs):
    return [dict(dim=int(pairs.dim[i]), birth=pairs.birth[i].tolist(),
                 death=None if pairs.death[i][0] < 0 else pairs.death[i].tolist(),
                 birth_value=float(pairs.birth_value[i]), death_value=_value(pairs.death_value[i]))
            for i in range(len(pairs))]


def record(name, x, epsilons=EPSILONS):
    """The reference's answer for one image, as a JSON-ready dict."""
    from dmtloss import reference

    structures = []
    for epsilon in epsilons:
        for frame in (False, True):
            s = reference.morse_structures(x, epsilon, frame=frame)
            entry = dict(epsilon=epsilon, frame=frame, ridges=_bits(s.ridges), boundaries=_bits(s.boundaries),
                         mask=_bits(s.mask()))
            if not frame:  # the gradient does not depend on the frame
                entry.update(critical=s.critical.tolist(), uncancelled=_pairs(s.uncancelled))
            structures.append(entry)
    diagram = reference.persistence_diagram(x)  # rows by dimension, then birth position
    return dict(
        name=name,
        shape=list(x.shape),
        values=[float(v) for v in x.ravel()],
        epsilons=list(epsilons),
        diagram=[[int(d), float(b), _value(e)] for d, b, e in diagram],
        pairs=_pairs(reference.persistence_pairs(x)),
        structures=structures,
    )


def dumps(records, epsilons=EPSILONS):
    """The corpus as text: deterministic, one case per line, valid JSON."""
    head = json.dumps(dict(format=FORMAT, version=VERSION, contract="docs/spec.md",
                           generator="python -m dmtloss.conformance.make_golden", epsilons=list(epsilons)),
                      sort_keys=True, separators=(",", ":"))
    lines = [json.dumps(r, sort_keys=True, separators=(",", ":"), allow_nan=False) for r in records]
    return head[:-1] + ',"cases":[\n' + ",\n".join(lines) + "\n]}\n"


def load(path=None):
    """The corpus as a list of dicts, with ``x`` (the image) and masks as numpy arrays.

    Without ``path``, both files (``corpus.json``, then ``large.json``).

    Examples
    --------
    >>> [case["name"] for case in load()][:2]
    ['ring_3x3', 'two_tied_maxima_4x4']
    """
    if path is None:
        return load(PATH) + load(LARGE_PATH)
    corpus = json.loads(Path(path).read_text())
    if corpus.get("format") != FORMAT or corpus.get("version") != VERSION:
        raise ValueError(f"{path}: not a {FORMAT} version {VERSION} file")
    for case in corpus["cases"]:
        shape = tuple(case["shape"])
        case["x"] = np.array(case["values"], dtype=np.float64).reshape(shape)
        case["x"].setflags(write=False)
        for s in case["structures"]:
            for name in ("ridges", "boundaries", "mask"):
                s[name] = np.array([c == "1" for c in s[name]], dtype=bool).reshape(shape)
    return corpus["cases"]


def _pairs_object(rows, ndim):
    return SimpleNamespace(
        dim=np.array([p["dim"] for p in rows], dtype=np.int64),
        birth=np.array([p["birth"] for p in rows], dtype=np.int64).reshape(-1, ndim),
        death=np.array([[-1] * ndim if p["death"] is None else p["death"] for p in rows],
                       dtype=np.int64).reshape(-1, ndim),
        birth_value=np.array([p["birth_value"] for p in rows], dtype=np.float64),
        death_value=np.array([-np.inf if p["death_value"] is None else p["death_value"] for p in rows],
                             dtype=np.float64))


class Recorded(Expected):
    """The expected answers of one golden case, as recorded."""

    def __init__(self, case):
        super().__init__(case["x"])
        self.case = case
        self.ndim = len(case["shape"])

    def diagram(self):
        rows = [[d, b, -np.inf if e is None else e] for d, b, e in self.case["diagram"]]
        return np.array(rows, dtype=np.float64).reshape(-1, 3)

    def pairs(self):
        return _pairs_object(self.case["pairs"], self.ndim)

    def structures(self, epsilon, frame):
        (s,) = [s for s in self.case["structures"] if s["epsilon"] == epsilon and s["frame"] == frame]
        (cells,) = [c for c in self.case["structures"] if c["epsilon"] == epsilon and not c["frame"]]
        ridges, boundaries, mask = s["ridges"], s["boundaries"], s["mask"]
        return SimpleNamespace(critical=np.array(cells["critical"], dtype=np.int64).reshape(-1, self.ndim),
                               uncancelled=_pairs_object(cells["uncancelled"], self.ndim),
                               ridges=ridges, boundaries=boundaries, mask=lambda: mask)


def check_case(impl, case, level):
    """Check ``impl`` on one golden case at one level; AssertionError on the first difference.

    Examples
    --------
    >>> from dmtloss.conformance.impl import load as load_impl
    >>> check_case(load_impl("dmtloss.reference"), load()[0], "masks")
    """
    recorded, x = Recorded(case), Case(case["x"])
    if level == "diagram":
        check_diagram(impl, x, recorded)
    elif level == "cells":
        check_pairs(impl, x, recorded)
        for epsilon in case["epsilons"]:
            check_critical(impl, x, epsilon, recorded)
    elif level == "masks":
        for s in case["structures"]:
            check_masks(impl, x, s["epsilon"], s["frame"], recorded)
    else:
        raise ValueError(f"`level` must be one of 'diagram', 'cells', 'masks'; got {level!r}")
