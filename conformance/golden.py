"""The golden corpus: small images with the reference's answer at every level.

The corpus is ``conformance/golden/corpus.json`` (format described field by field in
``docs/conformance.md``), written by ``python conformance/make_golden.py`` from the
images below; regenerating it must give the same bytes.
"""

import json
from pathlib import Path

import numpy as np

__all__ = ["PATH", "EPSILONS", "cases", "record", "dumps", "load"]

PATH = Path(__file__).resolve().parent / "golden" / "corpus.json"
FORMAT = "dmtloss-conformance-golden"
VERSION = 1
#: epsilon 0 (unsimplified), 0.2 and a huge one (everything cancelled but the essential class)
EPSILONS = (0.0, 0.2, 1e9)


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
    return out


def _bits(mask):
    return "".join("1" if v else "0" for v in np.asarray(mask, dtype=bool).ravel())


def _value(v):
    return None if np.isinf(v) else float(v)


def record(name, x):
    """The reference's answer for one image, as a JSON-ready dict."""
    from dmtloss import reference

    pairs = reference.persistence_pairs(x)
    structures = []
    for epsilon in EPSILONS:
        for frame in (False, True):
            s = reference.morse_structures(x, epsilon, frame=frame)
            structures.append(dict(epsilon=epsilon, frame=frame, critical=s.critical.tolist(),
                                   ridges=_bits(s.ridges), boundaries=_bits(s.boundaries),
                                   mask=_bits(s.mask())))
    diagram = reference.persistence_diagram(x)
    diagram = diagram[np.lexsort((diagram[:, 2], diagram[:, 1], diagram[:, 0]))]
    return dict(
        name=name,
        shape=list(x.shape),
        values=[float(v) for v in x.ravel()],
        diagram=[[int(d), float(b), _value(e)] for d, b, e in diagram],
        pairs=[dict(dim=int(pairs.dim[i]), birth=pairs.birth[i].tolist(),
                    death=None if pairs.death[i][0] < 0 else pairs.death[i].tolist(),
                    birth_value=float(pairs.birth_value[i]), death_value=_value(pairs.death_value[i]))
               for i in range(len(pairs))],
        structures=structures,
    )


def dumps(records):
    """The corpus as text: deterministic, one case per line, valid JSON."""
    head = json.dumps(dict(format=FORMAT, version=VERSION, contract="docs/spec.md",
                           generator="conformance/make_golden.py", epsilons=list(EPSILONS)),
                      sort_keys=True, separators=(",", ":"))
    lines = [json.dumps(r, sort_keys=True, separators=(",", ":"), allow_nan=False) for r in records]
    return head[:-1] + ',"cases":[\n' + ",\n".join(lines) + "\n]}\n"


def load(path=PATH):
    """The corpus as a list of dicts, with ``x`` (the image) and masks as numpy arrays."""
    corpus = json.loads(Path(path).read_text())
    if corpus.get("format") != FORMAT or corpus.get("version") != VERSION:
        raise ValueError(f"{path}: not a {FORMAT} version {VERSION} file")
    for case in corpus["cases"]:
        shape = tuple(case["shape"])
        case["x"] = np.array(case["values"], dtype=np.float64).reshape(shape)
        for s in case["structures"]:
            for name in ("ridges", "boundaries", "mask"):
                s[name] = np.array([c == "1" for c in s[name]], dtype=bool).reshape(shape)
    return corpus["cases"]
