"""Other projects' own test cases as golden data: GUDHI's cubical-complex hand cases and
CubicalRipser's 3-D hole, with the answers their tests assert (``golden/peers.json``,
sources, commits and licenses recorded there and in docs/conformance.md).

Their convention is the SUBLEVEL filtration; ours the superlevel one, so an image ``v``
of theirs is given to the implementation as ``x = -v`` and the diagram negated back.
Cases written for pixels as top cells (GUDHI's ``top_dimensional_cells=``, the
T-construction) are mapped onto pixels as vertices exactly: :func:`all_cells` gives every
cell of their complex the minimum of the top cells it bounds (GUDHI's ``all_cells()``),
and that array, taken as vertices, subdivides their filtration without changing any
sublevel set's homotopy type, hence its diagram.
"""

import json
from pathlib import Path

import numpy as np

from .assertions import Case, _fail, invoke

__all__ = ["PATH", "load", "all_cells", "cripser_sphere", "sublevel_diagram", "check_case"]

PATH = Path(__file__).resolve().parent / "golden" / "peers.json"


def all_cells(top_cells):
    """The T-construction's cell values on the doubled grid: each cell, the min of its top cells.

    Examples
    --------
    >>> all_cells(np.array([[0.0, 1.0]]))
    array([[0., 0., 0., 1., 1.],
           [0., 0., 0., 1., 1.],
           [0., 0., 0., 1., 1.]])
    """
    top = np.asarray(top_cells, dtype=np.float64)
    padded = np.pad(top, 1, constant_values=np.inf)
    out = np.full(tuple(2 * n + 1 for n in top.shape), np.inf)
    # doubled coordinate i touches the top cells (i - 1) // 2 and i // 2 on each axis
    index = [np.arange(2 * n + 1) for n in top.shape]
    for corner in np.ndindex(*([2] * top.ndim)):
        pick = tuple(np.ix_(*[(i - 1) // 2 + 1 if c == 0 else i // 2 + 1 for i, c in zip(index, corner)]))
        out = np.minimum(out, padded[pick])
    return out


def cripser_sphere(n=5):
    """CubicalRipser's 3-D hole test image: 0 on a spherical shell, 1 elsewhere.

    Examples
    --------
    >>> int((cripser_sphere() == 0).sum())
    86
    """
    axis = np.arange(n, dtype=np.float64)
    x, y, z = np.meshgrid(axis, axis, axis, indexing="ij")
    centre = (n - 1) / 2.0
    distance = np.sqrt((x - centre) ** 2 + (y - centre) ** 2 + (z - centre) ** 2)
    return np.where(np.abs(distance - centre) <= 0.85, 0.0, 1.0)


def _image(case):
    values = cripser_sphere(5) if case["values"] == "cripser_sphere_5" else np.array(case["values"], dtype=np.float64)
    return all_cells(values) if case["construction"] == "top_cells" else values


def load(path=PATH):
    """The peers' cases, each with ``v`` (their sublevel image, as vertices) and ``x = -v``.

    Examples
    --------
    >>> [case["name"] for case in load()][:1]
    ['gudhi_constructor_from_vertices_4x4']
    """
    data = json.loads(Path(path).read_text())
    if data.get("format") != "dmtloss-conformance-peers" or data.get("version") != 1:
        raise ValueError(f"{path}: not a dmtloss-conformance-peers version 1 file")
    for case in data["cases"]:
        case["v"] = _image(case)
        case["x"] = -case["v"]
        case["shape"] = list(case["x"].shape)
    return data["cases"]


def mappings(path=PATH):
    """The recorded (top cells, all cells) pairs that check :func:`all_cells` itself."""
    return json.loads(Path(path).read_text())["mappings"]


def sublevel_diagram(superlevel_rows):
    """Rows (dim, birth, death) of x's superlevel diagram as rows of -x's sublevel one, sorted.

    Examples
    --------
    >>> sublevel_diagram([[0, -1.0, -np.inf], [1, -7.0, -9.0]]).tolist()
    [[0.0, 1.0, inf], [1.0, 7.0, 9.0]]
    """
    rows = -np.asarray(superlevel_rows, dtype=np.float64).reshape(-1, 3)
    rows[:, 0] *= -1
    return rows[np.lexsort((rows[:, 2], rows[:, 1], rows[:, 0]))]


def check_case(impl, case):
    """The implementation's diagram of ``-v`` must be the peer's diagram of ``v``, negated.

    Examples
    --------
    >>> from dmtloss.conformance.impl import load as load_impl
    >>> check_case(load_impl("dmtloss.reference"), load()[2])
    """
    x, text = Case(case["x"]), "persistence_diagram(x)"
    got = invoke(impl, text, x, "persistence_diagram")
    rows = sublevel_diagram(got)
    what = f"{case['name']} ({case['source']}'s {case['test']}): sublevel diagram of -x"
    if "diagram" in case:
        theirs = np.array([[d, b, np.inf if e is None else e] for d, b, e in case["diagram"]],
                          dtype=np.float64).reshape(-1, 3)
        theirs = theirs[np.lexsort((theirs[:, 2], theirs[:, 1], theirs[:, 0]))]
        if rows.shape != theirs.shape or not np.array_equal(rows, theirs):
            _fail(f"{what}={rows.tolist()}, but should be {theirs.tolist()} (the peer's expected answer)",
                  impl, text, x)
    for dim in case.get("dims_present", []):
        if dim not in set(rows[:, 0].astype(int)):
            _fail(f"{what} has no row of dimension {dim}, but the peer's test requires one "
                  f"(dimensions found: {sorted(set(rows[:, 0].astype(int)))})", impl, text, x)
