"""The authors' own pipeline as an outside implementation: ``morse_DMT`` of HuXiaoling/DMT_loss.

The paper's code (https://github.com/HuXiaoling/DMT_loss, commit ``b50bc35``, MIT licence)
extracts the 1-stable manifolds in four steps, each a separate program passing files:

1. ``write_dipha_file_3d_revise.py`` writes the image as a DIPHA ``IMAGE_DATA`` file with
   the values ``int(-x * 255)`` (negated, scaled to 255 levels, truncated towards zero),
   always as a 3-D lattice ``(n1, n2, n3)`` (``n3 = 1`` for an image), first axis fastest;
   and a text file of ``x y z value`` lines, one per pixel in the same order.
2. Their fork of DIPHA (``dipha-graph-recon``), ``mpiexec -n P dipha complex diagram edges
   n1 n2 n3``, computes the persistence of the *sublevel* filtration of those values
   (a cell's value is the largest of its vertices'; ties broken by dimension, then by the
   cell's index, first axis fastest) and writes, besides the diagram, an *edges* file: one
   record per persistence pair of dimension 0 (the death edge's two pixels, code
   ``-persistence - 1``) and of dimension 1 (the birth edge's two pixels, code
   ``persistence``), zero-persistence pairs included.
3. A MATLAB script turns the edges file into text; here :func:`read_edges` reads the binary.
4. ``ComputeGraphReconstruction`` (C++), given the pixel file, the edge text and an integer
   threshold ``T``, keeps the negative edges of persistence ``<= T`` as a forest, and for
   every edge (negative or positive) of persistence ``> T`` outputs the edge and the forest
   paths from both its pixels to the lowest pixel of their tree (ties: smallest
   ``(z, y, x)``); ``dimo_vert.txt`` lists the pixels, ``dimo_edge.txt`` the path edges.

This module reads and writes those formats, maps the output onto the ``ridges`` level of
the contract (``docs/spec.md``, section 6) and the diagram onto the ``diagram`` level,
replays step 4 in Python (:func:`replay_ridges`, so CI can check that the recorded outputs
are what the model of their code predicts), and records new outputs when the two programs
are built (``python -m dmtloss.conformance.authors --dipha ... --graph-recon ...``).
``docs/conformance.md`` (section "The authors' pipeline") has the build commands and the
agreement table; ``conformance/data/authors/`` the recorded outputs and their attribution.

Matching the contract: the pipeline sees ``Q = trunc(255 x)`` (integers) through a sublevel
filtration of ``-Q``, which is the superlevel filtration of ``Q``; its integer threshold
``T`` keeps the pairs of persistence ``> T`` exactly as the contract keeps those ``>
epsilon`` (``<=`` cancels). So the pipeline's answer at ``T`` is compared with
``dmtloss.reference`` on ``Q`` at ``epsilon = T`` (the *quantised contract*: only the order
of cells can differ) and on ``x`` at ``epsilon = T / 255`` (what a user of the contract
gets: quantisation differs too).
"""

import gzip
import io
import json
import zipfile
from collections import deque
from pathlib import Path

import numpy as np

__all__ = ["REPOSITORY", "COMMIT", "SCALE", "DATA", "quantise", "image_file", "read_diagram",
           "read_edges", "read_vertices", "ridges_of", "superlevel_diagram", "replay_ridges",
           "threshold_of", "load_recorded", "compare", "Pipeline", "Live", "live", "THRESHOLDS",
           "extra_cases", "record", "main"]

REPOSITORY = "https://github.com/HuXiaoling/DMT_loss"
COMMIT = "b50bc35ad0a8f0875549d932990d33175d108c6d"
SCALE = 255  # their writer's scale: int(-x * 255)
DATA = Path(__file__).resolve().parent / "data" / "authors"

DIPHA = 8067171840  # DIPHA's magic number, 'D' * 'i' * 'p' * 'h' * 'a'
IMAGE_DATA = 1
PERSISTENCE_DIAGRAM = 2
INT_MAX = 2 ** 31 - 1  # their threshold is read with atoi into an int


def _image(likelihood):
    x = np.asarray(likelihood)
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise TypeError(f"`likelihood` must be a real array; got dtype {x.dtype}")
    if x.ndim not in (2, 3) or min(x.shape) < 2:
        raise ValueError(f"`likelihood` must be 2-D or 3-D with every side >= 2; got shape {x.shape}")
    x = x.astype(np.float64)  # a copy: the input is never touched
    if not np.isfinite(x).all():
        raise ValueError("`likelihood` must be finite")
    return x


def quantise(likelihood):
    """The integer image the authors' pipeline sees: ``trunc(255 x)``, the negation of its values.

    Their writer stores ``int(-x * 255)`` (truncation towards zero) and DIPHA takes the
    sublevel filtration of it, which is the superlevel filtration of the returned ``Q``.

    Parameters
    ----------
    likelihood : (M, N[, P]) array_like
        The image (finite reals).

    Returns
    -------
    q : (M, N[, P]) ndarray of int64
        ``-int(-x * 255)`` pixel by pixel.

    Raises
    ------
    TypeError
        If `likelihood` is not a real array.
    ValueError
        If it is not 2-D or 3-D with sides >= 2, or not finite.

    Examples
    --------
    >>> quantise([[0.0, 0.5], [0.999, 1.0]]).tolist()
    [[0, 127], [254, 255]]
    """
    x = _image(likelihood)
    return -np.trunc(-x * SCALE).astype(np.int64)


def _lattice(shape):
    return tuple(shape) + (1,) * (3 - len(shape))


def image_file(likelihood):
    """The DIPHA ``IMAGE_DATA`` file the authors' step 1 writes for an image, as bytes.

    Little-endian int64 ``DIPHA, IMAGE_DATA, n, 3, n1, n2, n3``, then the ``n`` float64
    values ``int(-x * 255)`` with the first axis fastest (a 2-D image gets ``n3 = 1``).

    Parameters
    ----------
    likelihood : (M, N[, P]) array_like
        The image.

    Returns
    -------
    data : bytes

    Examples
    --------
    >>> data = image_file([[0.0, 1.0], [0.5, 0.25]])
    >>> np.frombuffer(data[:56], "<i8").tolist()
    [8067171840, 1, 4, 3, 2, 2, 1]
    >>> np.frombuffer(data[56:], "<f8").tolist()
    [-0.0, -127.0, -255.0, -63.0]
    """
    q = quantise(likelihood)
    lattice = _lattice(q.shape)
    head = np.array([DIPHA, IMAGE_DATA, q.size, 3, *lattice], dtype="<i8")
    values = (-q.astype(np.float64)).ravel(order="F")
    return head.tobytes() + values.astype("<f8").tobytes()


def _records(data, what):
    data = bytes(data)
    if len(data) < 24:
        raise ValueError(f"`data` is not a DIPHA {what} file: {len(data)} bytes, the preamble alone is 24")
    magic, kind, count = np.frombuffer(data[:24], "<i8").tolist()
    if magic != DIPHA or kind != PERSISTENCE_DIAGRAM:
        raise ValueError(f"`data` is not a DIPHA {what} file: preamble ({magic}, {kind}), "
                         f"expected ({DIPHA}, {PERSISTENCE_DIAGRAM})")
    if count < 0 or len(data) != 24 + 24 * count:
        raise ValueError(f"`data` is truncated or corrupt: {count} records of 24 bytes announced, "
                         f"{len(data) - 24} bytes follow")
    return np.frombuffer(data[24:], dtype=[("a", "<i8"), ("b", "<f8"), ("c", "<f8")])


def read_diagram(data):
    """DIPHA's persistence diagram file, as rows ``(dim, birth, death)`` of the sublevel filtration.

    Format: int64 ``DIPHA, PERSISTENCE_DIAGRAM, N``, then ``N`` records (int64 dim, float64
    birth, float64 death); an essential class has dim ``-dim - 1`` and death the largest
    value of the complex. Rows keep the file's order.

    Parameters
    ----------
    data : bytes
        The whole file.

    Returns
    -------
    rows : (N, 3) ndarray of float64
        ``(dim, birth, death)``; essential classes have ``death = inf``.

    Raises
    ------
    ValueError
        If `data` is not a DIPHA diagram file, or is truncated.

    Examples
    --------
    >>> head = np.array([8067171840, 2, 2], "<i8").tobytes()
    >>> rows = np.array([(-1, -255.0, 0.0), (1, -255.0, 0.0)], dtype="<i8,<f8,<f8").tobytes()
    >>> read_diagram(head + rows).tolist()
    [[0.0, -255.0, inf], [1.0, -255.0, 0.0]]
    """
    r = _records(data, "diagram")
    dim = r["a"].astype(np.float64)
    essential = dim < 0
    dim = np.where(essential, -dim - 1, dim)
    death = np.where(essential, np.inf, r["c"])
    return np.column_stack([dim, r["b"], death]).reshape(-1, 3)


def read_edges(data):
    """The authors' edges file (their DIPHA fork's third output), as integer rows ``(u, v, code)``.

    Same preamble as a diagram file; each record is (int64 ``u``, float64 ``v``, float64
    ``code``): the two pixels of an edge (linear indices, first axis fastest) and
    ``-p - 1`` for the death edge of a dimension-0 pair of persistence ``p``, ``p`` for the
    birth edge of a dimension-1 pair. Their MATLAB step prints these as ``%d %d %d``.

    Parameters
    ----------
    data : bytes
        The whole file.

    Returns
    -------
    rows : (N, 3) ndarray of int64

    Raises
    ------
    ValueError
        If `data` is not such a file, is truncated, or holds non-integer entries.

    Examples
    --------
    >>> head = np.array([8067171840, 2, 1], "<i8").tobytes()
    >>> read_edges(head + np.array([(0, 1.0, -1.0)], dtype="<i8,<f8,<f8").tobytes()).tolist()
    [[0, 1, -1]]
    """
    r = _records(data, "edges")
    rows = np.column_stack([r["a"].astype(np.float64), r["b"], r["c"]]).reshape(-1, 3)
    if not np.array_equal(rows, np.round(rows)):
        raise ValueError("`data` holds non-integer pixel indices or codes")
    return rows.astype(np.int64)


def read_vertices(text):
    """``dimo_vert.txt`` of ``ComputeGraphReconstruction``: rows ``(x, y, z, value)``.

    Parameters
    ----------
    text : str
        The file's content (possibly empty: no ridge at all).

    Returns
    -------
    rows : (m, 4) ndarray of int64

    Examples
    --------
    >>> read_vertices("0 1 0 -255\\n1 1 0 -3\\n").tolist()
    [[0, 1, 0, -255], [1, 1, 0, -3]]
    """
    return np.array(text.split(), dtype=np.int64).reshape(-1, 4)


def ridges_of(vertices, shape):
    """The ``ridges`` mask (spec section 6) of the pixels ``ComputeGraphReconstruction`` output.

    Parameters
    ----------
    vertices : (m, 4) array_like of int
        Rows ``(x, y, z, value)`` of ``dimo_vert.txt``; ``(x, y, z)`` index the image's axes
        in order (``z = 0`` for a 2-D image).
    shape : tuple of 2 or 3 ints
        The image's shape.

    Returns
    -------
    ridges : ndarray of bool, shaped `shape`

    Raises
    ------
    ValueError
        If a pixel lies outside `shape`.

    Examples
    --------
    >>> ridges_of([[0, 1, 0, -255], [1, 1, 0, -3]], (2, 3)).astype(int).tolist()
    [[0, 1, 0], [0, 1, 0]]
    """
    v = np.asarray(vertices, dtype=np.int64).reshape(-1, 4)[:, :3]
    lattice = np.array(_lattice(shape))
    if len(v) and ((v < 0).any() or (v >= lattice).any()):
        raise ValueError(f"`vertices` hold pixels outside the shape {tuple(shape)}")
    mask = np.zeros(_lattice(shape), dtype=bool)
    mask[tuple(v.T)] = True
    return mask.reshape(shape)


def superlevel_diagram(rows):
    """DIPHA's sublevel diagram of ``-Q`` as the contract's superlevel diagram of ``Q``.

    Negates births and deaths (``inf`` becomes ``-inf``), drops zero persistence (DIPHA
    already does) and sorts rows by (dim, birth, death), as the suite compares diagrams.

    Parameters
    ----------
    rows : (N, 3) array_like
        Output of :func:`read_diagram`.

    Returns
    -------
    diagram : (N, 3) ndarray of float64

    Examples
    --------
    >>> superlevel_diagram([[1, -255, 0], [0, -255, np.inf]]).tolist()
    [[0.0, 255.0, -inf], [1.0, 255.0, -0.0]]
    """
    r = np.asarray(rows, dtype=np.float64).reshape(-1, 3)
    out = np.column_stack([r[:, 0], -r[:, 1], -r[:, 2]])
    out = out[out[:, 1] != out[:, 2]]
    return out[np.lexsort((out[:, 2], out[:, 1], out[:, 0]))]


def threshold_of(epsilon):
    """The authors' integer threshold ``T`` that matches `epsilon` on the 255-level scale.

    Their persistences are integers ``p`` (in units of 1/255) and ``p > T`` keeps a pair, so
    ``T = floor(255 * epsilon)`` keeps exactly the pairs with ``p / 255 > epsilon`` (capped at
    ``2**31 - 1``, the largest ``T`` their ``atoi`` reads).

    Parameters
    ----------
    epsilon : float
        A finite number >= 0.

    Returns
    -------
    T : int

    Raises
    ------
    ValueError
        If `epsilon` is negative or not finite.

    Examples
    --------
    >>> threshold_of(0.0), threshold_of(0.2), threshold_of(1e9)
    (0, 51, 2147483647)
    """
    epsilon = float(epsilon)
    if not np.isfinite(epsilon) or epsilon < 0:
        raise ValueError(f"`epsilon` must be a finite number >= 0; got {epsilon}")
    return int(min(np.floor(epsilon * SCALE), INT_MAX))


def replay_ridges(likelihood, edges, threshold, rank=None):
    """Step 4 of the pipeline replayed: the pixels ``ComputeGraphReconstruction`` outputs.

    The negative edges of persistence ``<= threshold`` form a forest; each edge (negative or
    positive) of persistence ``> threshold`` contributes its two pixels and the forest
    paths from both to the lowest pixel of their tree (lowest ``-Q``, ties by smallest
    linear index, first axis fastest). A model of their code, checked against their
    recorded outputs in ``tests/test_authors_pipeline.py``.

    Parameters
    ----------
    likelihood : (M, N[, P]) array_like
        The image given to the pipeline.
    edges : (N, 3) array_like of int
        Output of :func:`read_edges` for that image.
    threshold : int
        Their ``T`` (>= 0).
    rank : ndarray of int, shaped like `likelihood`, optional
        Pick each tree's root as the pixel of smallest `rank` instead (with the contract's
        vertex ranks and :func:`contract_edges`, the replay gives the contract's ridges).

    Returns
    -------
    ridges : ndarray of bool, shaped like `likelihood`

    Examples
    --------
    >>> ring = [[1, 1, 1], [1, 0, 1], [1, 1, 1]]
    >>> edges = load_recorded()[0]["edges"]  # what their DIPHA wrote for the ring
    >>> edges[edges[:, 2] > 0].tolist()  # the edge closing the loop: pixels (1, 2) and (2, 2)
    [[7, 8, 255]]
    >>> replay_ridges(ring, edges, 0).astype(int).tolist()
    [[1, 1, 1], [1, 0, 1], [1, 1, 1]]
    >>> int(replay_ridges(ring, edges, 255).sum())
    0
    """
    q = quantise(likelihood)
    value = -q.ravel(order="F")  # their vertex values, indexed first axis fastest
    e = np.asarray(edges, dtype=np.int64).reshape(-1, 3)
    persistence = np.where(e[:, 2] < 0, -(e[:, 2] + 1), e[:, 2])
    neighbours = [[] for _ in range(q.size)]
    for u, v in e[(e[:, 2] < 0) & (persistence <= threshold), :2]:
        neighbours[u].append(v)
        neighbours[v].append(u)
    if rank is not None:
        order = np.asarray(rank).reshape(_lattice(q.shape)).ravel(order="F")
    parent = np.full(q.size, -2)  # -2: tree not yet rooted; -1: a root
    on = np.zeros(q.size, dtype=bool)
    for u, v in e[persistence > threshold, :2]:
        for w in (u, v):
            if parent[w] == -2:
                tree = _component(w, neighbours)
                root = min(tree, key=(lambda i: (value[i], i)) if rank is None else order.__getitem__)
                _root_at(root, neighbours, parent)
            on[w] = True
            while parent[w] >= 0:
                w = parent[w]
                on[w] = True
    return on.reshape(_lattice(q.shape), order="F").reshape(q.shape)


def contract_edges(likelihood):
    """The contract's pairs of dimensions 0 and 1 in the authors' edges format (:func:`read_edges`).

    Computed by ``dmtloss.reference`` on ``Q`` (:func:`quantise`), zero persistence included,
    with pixels as linear indices first axis fastest: what their DIPHA fork would write if
    it used the cell order of spec section 3.

    Parameters
    ----------
    likelihood : (M, N[, P]) array_like
        The image.

    Returns
    -------
    edges : (N, 3) ndarray of int64
    rank : ndarray of int64, shaped like `likelihood`
        The contract's vertex ranks (for :func:`replay_ridges`).

    Examples
    --------
    >>> edges, rank = contract_edges([[1, 1, 1], [1, 0, 1], [1, 1, 1]])
    >>> len(edges), edges[edges[:, 2] > 0].tolist()  # closing the loop: pixels (2, 1), (2, 2)
    (12, [[5, 8, 255]])
    >>> rank.tolist()
    [[0, 1, 2], [3, 8, 4], [5, 6, 7]]
    """
    from dmtloss.reference.complex import CubicalComplex
    from dmtloss.reference.persistence import persistence_pairs_of

    q = quantise(likelihood)
    cx = CubicalComplex(q)
    lattice = _lattice(q.shape)
    _, pairs = persistence_pairs_of(cx)
    rows = []
    for p in pairs:
        if p["dim"] == 0 and p["death"] is not None:
            edge, code = p["death"], -int(p["persistence"]) - 1
        elif p["dim"] == 1:
            edge, code = p["birth"], int(p["persistence"])
        else:
            continue
        u, v = (np.ravel_multi_index(tuple(w) + (0,) * (3 - len(w)), lattice, order="F")
                for w in cx.vertices(edge))
        rows.append((u, v, code))
    return np.array(rows, dtype=np.int64).reshape(-1, 3), np.asarray(cx.rank, dtype=np.int64)


def _component(start, neighbours):
    seen, todo = {start}, [start]
    while todo:
        for n in neighbours[todo.pop()]:
            if n not in seen:
                seen.add(n)
                todo.append(n)
    return seen


def _root_at(root, neighbours, parent):
    parent[root] = -1
    todo = deque([root])
    while todo:
        w = todo.popleft()
        for n in neighbours[w]:
            if parent[n] == -2:
                parent[n] = w
                todo.append(n)


# -- recorded outputs ---------------------------------------------------------------------


def load_recorded(path=None):
    """The recorded outputs of the authors' pipeline, as a list of case dicts.

    Each case has ``name``, ``source``, ``x`` (the image given to the pipeline),
    ``diagram`` and ``edges`` (DIPHA's two binary files, read), and ``outputs``: for each
    threshold ``T`` recorded, the ``ridges`` mask from ``dimo_vert.txt`` and the raw
    ``vert`` and ``edge`` texts.

    Parameters
    ----------
    path : path-like, optional
        The data folder (default ``conformance/data/authors``).

    Returns
    -------
    cases : list of dict

    Examples
    --------
    >>> cases = load_recorded()
    >>> cases[0]["name"], sorted(cases[0]["outputs"])
    ('ring_3x3', [0, 51, 2147483647])
    """
    folder = Path(DATA if path is None else path)
    manifest = json.loads((folder / "manifest.json").read_text())
    cases = []
    with zipfile.ZipFile(folder / manifest["archive"]) as archive:
        def read(name):
            return gzip.decompress(archive.read(name)) if name.endswith(".gz") else archive.read(name)

        for entry in manifest["cases"]:
            stem = entry["name"]
            x = np.load(io.BytesIO(read(f"{stem}/input.npy")), allow_pickle=False)
            case = dict(name=stem, source=entry["source"], x=x,
                        diagram=read_diagram(read(f"{stem}/diagram.bin")),
                        edges=read_edges(read(f"{stem}/edges.bin")), outputs={})
            for t in entry["thresholds"]:
                vert = read(f"{stem}/T{t}/dimo_vert.txt").decode()
                edge = read(f"{stem}/T{t}/dimo_edge.txt").decode()
                case["outputs"][t] = dict(ridges=ridges_of(read_vertices(vert), x.shape), vert=vert, edge=edge)
            cases.append(case)
    return cases


def compare(case, threshold, engine=None):
    """Pixel counts of the pipeline's ridges against the contract's, for one recorded output.

    Parameters
    ----------
    case : dict
        One entry of :func:`load_recorded`.
    threshold : int
        One of the case's recorded thresholds.
    engine : module, optional
        The engine giving the contract's answer (default ``dmtloss.reference``).

    Returns
    -------
    counts : dict
        ``pixels``; ``theirs`` (ridge pixels of the pipeline); ``quantised`` (of the engine on
        ``Q`` at ``epsilon = T``), ``only_q`` / ``only_theirs_q`` (pixels in one and not the
        other); ``given``, ``only_given`` / ``only_theirs_given`` the same against the engine
        on ``x`` at ``epsilon = T / 255``, ``given_vs_q`` the pixels where the engine's two
        answers differ (what quantising alone changes); ``diagram_equal`` (DIPHA's diagram equals the
        engine's diagram of ``Q`` exactly).

    Examples
    --------
    >>> c = compare(load_recorded()[0], 0)
    >>> c["theirs"], c["quantised"], c["only_q"], c["only_theirs_q"]
    (8, 8, 0, 0)
    """
    if engine is None:
        from dmtloss import reference as engine
    x = case["x"]
    theirs = case["outputs"][threshold]["ridges"]
    q = quantise(x)
    ours_q = engine.morse_structures(q, float(threshold)).ridges
    epsilon = float(threshold) / SCALE if threshold < INT_MAX else 1e9
    ours_x = engine.morse_structures(x, epsilon).ridges
    diagram, given = (_sorted(engine.persistence_diagram(y)) for y in (q, x))
    theirs_given = superlevel_diagram(case["diagram"])
    theirs_given = _sorted(np.column_stack([theirs_given[:, 0], theirs_given[:, 1:] / SCALE]))
    return dict(pixels=int(x.size), theirs=int(theirs.sum()),
                quantised=int(ours_q.sum()), only_q=int((ours_q & ~theirs).sum()),
                only_theirs_q=int((theirs & ~ours_q).sum()),
                given=int(ours_x.sum()), only_given=int((ours_x & ~theirs).sum()),
                only_theirs_given=int((theirs & ~ours_x).sum()), given_vs_q=int((ours_x ^ ours_q).sum()),
                diagram_equal=bool(np.array_equal(superlevel_diagram(case["diagram"]), diagram)),
                diagram_given_equal=bool(np.array_equal(theirs_given, given)))


def _sorted(diagram):
    d = np.asarray(diagram, dtype=np.float64).reshape(-1, 3)
    return d[np.lexsort((d[:, 2], d[:, 1], d[:, 0]))]


# -- running the pipeline (only where it is built) ----------------------------------------


class Pipeline:
    """The two built programs of the pipeline, run on temporary files.

    Parameters
    ----------
    dipha : path-like
        Their DIPHA fork's ``dipha`` binary (built from ``morse_DMT/dipha-graph-recon``).
    graph_recon : path-like
        ``ComputeGraphReconstruction`` built from ``morse_DMT/src``.
    mpiexec : sequence of str, optional
        The MPI launcher and its options, e.g. ``("mpiexec", "-n", "1")``.

    Examples
    --------
    >>> pipeline = Pipeline("build/dipha", "build/ComputeGraphReconstruction")
    >>> diagram, edges = pipeline.persistence([[1.0, 0.0], [0.0, 1.0]])  # doctest: +SKIP
    >>> read_edges(edges).tolist()  # doctest: +SKIP
    [[1, 3, -256], [0, 1, -1], [0, 2, -1], [2, 3, 0]]
    """

    def __init__(self, dipha, graph_recon, mpiexec=("mpiexec", "-n", "1")):
        self.dipha, self.graph_recon, self.mpiexec = str(dipha), str(graph_recon), tuple(mpiexec)

    def persistence(self, likelihood):
        """Steps 1-2: DIPHA's diagram and edges files, as bytes, for an image.

        Parameters
        ----------
        likelihood : (M, N[, P]) array_like
            The image; written as their step 1 writes it (:func:`image_file`).

        Returns
        -------
        diagram, edges : bytes
            For :func:`read_diagram` and :func:`read_edges`.

        Raises
        ------
        subprocess.CalledProcessError
            If DIPHA fails (with more MPI processes than the smallest images have work for).
        """
        import subprocess
        import tempfile

        x = _image(likelihood)
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            (tmp / "complex.bin").write_bytes(image_file(x))
            subprocess.run([*self.mpiexec, self.dipha, str(tmp / "complex.bin"), str(tmp / "diagram.bin"),
                            str(tmp / "edges.bin"), *map(str, _lattice(x.shape))],
                           check=True, capture_output=True)
            return (tmp / "diagram.bin").read_bytes(), (tmp / "edges.bin").read_bytes()

    def graph(self, likelihood, edges, threshold):
        """Steps 3-4: ``dimo_vert.txt`` and ``dimo_edge.txt``, as text, at an integer threshold.

        Parameters
        ----------
        likelihood : (M, N[, P]) array_like
            The image (its pixel file is written as their step 1 writes it).
        edges : bytes
            The edges file of :meth:`persistence` (printed as their MATLAB step prints it).
        threshold : int
            Their ``T``.

        Returns
        -------
        vert, edge : str
            For :func:`read_vertices`; the path edges, two output-vertex numbers a line.
        """
        import subprocess
        import tempfile

        q = quantise(likelihood)
        lattice = _lattice(q.shape)
        index = np.indices(lattice).reshape(3, -1, order="F")
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            lines = [f"{i} {j} {k} {v}" for i, j, k, v in zip(*index, -q.reshape(lattice).ravel(order="F"))]
            (tmp / "vert.txt").write_text("\n".join(lines) + "\n")
            rows = read_edges(edges)
            (tmp / "edges.txt").write_text("".join(f"{u} {v} {c}\n" for u, v, c in rows))
            (tmp / "out").mkdir()
            subprocess.run([self.graph_recon, str(tmp / "vert.txt"), str(tmp / "edges.txt"), str(int(threshold)),
                            str(tmp / "out") + "/"], check=True, capture_output=True)
            return (tmp / "out" / "dimo_vert.txt").read_text(), (tmp / "out" / "dimo_edge.txt").read_text()


class Live:
    """The pipeline under the conformance suite (diagram level), built outside this tree.

    ``DMTLOSS_IMPL=conformance.authors.live`` with ``DMTLOSS_AUTHORS_DIPHA`` and
    ``DMTLOSS_AUTHORS_GRAPH_RECON`` naming the two binaries (``DMTLOSS_AUTHORS_MPIEXEC``,
    default ``mpiexec -n 1``). Diagram values are ``Q / 255``. ``ridges(x, epsilon)`` gives
    the pipeline's ridges; there are no basin boundaries and no cells in its output, so the
    masks and cells levels are not declared.
    """

    NAME = "authors-morse_DMT"
    VERSION = COMMIT[:7]
    LEVELS = ("diagram",)

    def __init__(self):
        import os
        import shlex

        try:
            dipha, graph = os.environ["DMTLOSS_AUTHORS_DIPHA"], os.environ["DMTLOSS_AUTHORS_GRAPH_RECON"]
        except KeyError as error:
            raise LookupError(f"set {error.args[0]} to the built binary (docs/conformance.md, "
                              "section \"The authors' pipeline\")") from None
        mpiexec = shlex.split(os.environ.get("DMTLOSS_AUTHORS_MPIEXEC", "mpiexec -n 1"))
        self.pipeline = Pipeline(dipha, graph, mpiexec)

    def persistence_diagram(self, x):
        diagram, _ = self.pipeline.persistence(x)
        rows = superlevel_diagram(read_diagram(diagram))
        return np.column_stack([rows[:, 0], rows[:, 1:] / SCALE]).reshape(-1, 3)

    def ridges(self, x, epsilon):
        _, edges = self.pipeline.persistence(x)
        vert, _ = self.pipeline.graph(x, edges, threshold_of(epsilon))
        return ridges_of(read_vertices(vert), np.shape(x))


class _Lazy:
    """Build the adapter on first use, so that importing this module runs nothing."""

    def __init__(self, factory):
        self._factory, self._obj = factory, None

    def __getattr__(self, name):
        if name.startswith("__"):  # introspection (doctest, inspect) must not start the pipeline
            raise AttributeError(name)
        if self.__dict__["_obj"] is None:
            self.__dict__["_obj"] = self.__dict__["_factory"]()
        return getattr(self.__dict__["_obj"], name)


live = _Lazy(Live)


# -- recording ----------------------------------------------------------------------------

#: thresholds recorded for every case: epsilon 0, 0.2 and 1e9 of the golden corpus
THRESHOLDS = (0, 51, INT_MAX)


def extra_cases():
    """The images beyond the golden corpus: distinct values, 64 x 64 smooth, noisy and membrane-like.

    ``distinct_12x12`` has 144 distinct levels ``k / 255`` (no ties even after quantising), and
    ``distinct_12x12_T`` is its transpose: on them only the order of edges sharing their
    lowest pixel can differ from the contract's.

    Returns
    -------
    cases : list of (name, source, ndarray)
        ``source`` is the call that makes the image.

    Examples
    --------
    >>> [name for name, _, _ in extra_cases()][:3]
    ['distinct_12x12', 'distinct_12x12_T', 'smooth_64x64']
    """
    from scipy import ndimage

    from dmtloss.data import synthetic_membranes
    from dmtloss.synthetic import membrane_likelihood

    smooth = ndimage.gaussian_filter(np.random.default_rng(19).random((64, 64)), 3.0)
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min())
    distinct = np.random.default_rng(21).choice(256, 144, replace=False).reshape(12, 12) / 255
    cases = [
        ("distinct_12x12", "default_rng(21).choice(256, 144, replace=False).reshape(12, 12) / 255", distinct),
        ("distinct_12x12_T", "distinct_12x12 transposed", distinct.T),
        ("smooth_64x64", "gaussian_filter(default_rng(19).random((64, 64)), 3.0), rescaled to [0, 1]", smooth),
        ("noise_64x64", "default_rng(20).random((64, 64))", np.random.default_rng(20).random((64, 64))),
        ("membranes_64x64", "dmtloss.data.synthetic_membranes(1, (64, 64), seed=3)[0][0]",
         synthetic_membranes(1, (64, 64), seed=3)[0][0]),
        ("membrane_likelihood_64x64", "dmtloss.synthetic.membrane_likelihood((64, 64), seed=4)",
         membrane_likelihood((64, 64), seed=4)),
    ]
    # the 64 x 64 ones as float32, as a network's output is (and half the bytes to record)
    return cases[:2] + [(name, source + ", as float32", np.asarray(x, dtype=np.float32))
                        for name, source, x in cases[2:]]


def _zip_bytes(archive, name, data):
    info = zipfile.ZipInfo(name, date_time=(2021, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def record(pipeline, folder=DATA, thresholds=THRESHOLDS):
    """Run the pipeline on the golden corpus and :func:`extra_cases`; write the data folder.

    Writes ``outputs.zip`` (per case: ``input.npy``, DIPHA's ``diagram.bin`` and
    ``edges.bin``, and ``T<k>/dimo_vert.txt``, ``T<k>/dimo_edge.txt`` for each threshold,
    byte for byte as the programs wrote them) and ``manifest.json``.

    Parameters
    ----------
    pipeline : Pipeline
        The built programs.
    folder : path-like, optional
        Where to write (default ``conformance/data/authors``).
    thresholds : sequence of int, optional
        Their ``T`` values to record for every image.

    Examples
    --------
    >>> record(Pipeline("build/dipha", "build/ComputeGraphReconstruction"), "/tmp/authors")  # doctest: +SKIP
    """
    from .golden import cases as golden_cases

    images = [(name, "conformance.golden.cases()", x) for name, x in golden_cases()] + extra_cases()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    with zipfile.ZipFile(folder / "outputs.zip", "w") as archive:
        for name, source, x in images:
            buffer = io.BytesIO()
            np.save(buffer, np.ascontiguousarray(x), allow_pickle=False)
            _zip_bytes(archive, f"{name}/input.npy", buffer.getvalue())
            diagram, edges = pipeline.persistence(x)
            _zip_bytes(archive, f"{name}/diagram.bin", diagram)
            _zip_bytes(archive, f"{name}/edges.bin", edges)
            for t in thresholds:
                vert, edge = pipeline.graph(x, edges, t)
                _zip_bytes(archive, f"{name}/T{t}/dimo_vert.txt", vert.encode())
                _zip_bytes(archive, f"{name}/T{t}/dimo_edge.txt", edge.encode())
            entries.append(dict(name=name, source=source, shape=list(x.shape), thresholds=list(thresholds)))
    manifest = dict(repository=REPOSITORY, commit=COMMIT, licence="MIT (Copyright (c) 2021 Xiaoling Hu)",
                    programs=["morse_DMT/dipha-graph-recon (DIPHA fork): dipha",
                              "morse_DMT/src/ComputeGraphReconstruction.cpp"],
                    mpiexec=list(pipeline.mpiexec), archive="outputs.zip", cases=entries)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


def main(argv=None):
    """Record the outputs: ``python -m dmtloss.conformance.authors --dipha BIN --graph-recon BIN``.

    Options ``--mpiexec CMD`` (default ``mpiexec -n 1``) and ``--out FOLDER``; see :func:`record`.

    Examples
    --------
    >>> main(["--dipha", "build/dipha", "--graph-recon", "build/ComputeGraphReconstruction"])  # doctest: +SKIP
    """
    import argparse
    import shlex

    parser = argparse.ArgumentParser(prog="python -m dmtloss.conformance.authors",
                                     description="Record the outputs of the authors' pipeline.")
    parser.add_argument("--dipha", required=True, help="their DIPHA fork's dipha binary")
    parser.add_argument("--graph-recon", required=True, help="ComputeGraphReconstruction binary")
    parser.add_argument("--mpiexec", default="mpiexec -n 1", help="MPI launcher (default: %(default)s)")
    parser.add_argument("--out", default=str(DATA), help="data folder (default: %(default)s)")
    args = parser.parse_args(argv)
    record(Pipeline(args.dipha, args.graph_recon, shlex.split(args.mpiexec)), args.out)


if __name__ == "__main__":
    main()
