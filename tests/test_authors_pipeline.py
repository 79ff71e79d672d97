"""The authors' pipeline (conformance/authors.py) from its recorded outputs: formats, model, table.

No MPI, DIPHA or MATLAB: the outputs of their programs are read from
``conformance/data/authors``; the agreement table of docs/conformance.md is recomputed from
them and compared number for number.
"""

import doctest
import re
from pathlib import Path

import numpy as np
import pytest

from dmtloss.conformance import authors
from dmtloss import fast, reference

ROOT = Path(__file__).resolve().parent.parent
CASES = authors.load_recorded()
BY_NAME = {case["name"]: case for case in CASES}
OUTPUTS = [(case["name"], t) for case in CASES for t in case["outputs"]]


def _header(count):
    return np.array([authors.DIPHA, authors.PERSISTENCE_DIAGRAM, count], "<i8").tobytes()


def _records(rows):
    return np.array(rows, dtype="<i8,<f8,<f8").tobytes()


def test_doctests():
    result = doctest.testmod(authors, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 10 and result.failed == 0


# -- formats, on hand-made files ------------------------------------------------------------


def test_image_file_layout_non_square_first_axis_fastest():
    x = np.array([[0.0, 0.1, 0.2], [1.0, 0.999, 0.5]])
    before = x.copy()
    data = authors.image_file(x)
    assert np.array_equal(x, before)
    head = np.frombuffer(data[:56], "<i8").tolist()
    assert head == [authors.DIPHA, authors.IMAGE_DATA, 6, 3, 2, 3, 1]
    values = np.frombuffer(data[56:], "<f8")
    # int(-x * 255) pixel by pixel, first axis fastest: (0,0), (1,0), (0,1), (1,1), (0,2), (1,2)
    assert values.tolist() == [-0.0, -255.0, -25.0, -254.0, -51.0, -127.0]


def test_image_file_3d():
    x = np.arange(8).reshape(2, 2, 2) / 7
    data = authors.image_file(x)
    assert np.frombuffer(data[32:56], "<i8").tolist() == [2, 2, 2]
    assert np.frombuffer(data[56:], "<f8").tolist() == (-authors.quantise(x)).ravel(order="F").tolist()


def test_quantise_truncates_like_their_writer():
    x = np.array([[0.0, 1 / 255, 0.5, 0.99999], [1.0, -0.5, 2.0, 0.2]])
    expected = [[int(-v * 255) for v in row] for row in x]
    assert (-authors.quantise(x)).tolist() == expected
    assert authors.quantise(x).dtype == np.int64


@pytest.mark.parametrize("bad, error", [(np.zeros(4), ValueError), (np.zeros((1, 4)), ValueError),
                                         (np.array([[0.0, np.nan], [0, 0]]), ValueError),
                                         (np.array([["a", "b"], ["c", "d"]]), TypeError)])
def test_quantise_rejects_bad_images(bad, error):
    with pytest.raises(error, match="`likelihood`"):
        authors.quantise(bad)


def test_read_diagram_hand_made():
    data = _header(3) + _records([(0, -200.0, -100.0), (1, -150.0, -20.0), (-1, -255.0, 0.0)])
    assert authors.read_diagram(data).tolist() == [[0, -200, -100], [1, -150, -20], [0, -255, np.inf]]
    assert authors.superlevel_diagram(authors.read_diagram(data)).tolist() == [
        [0, 200, 100], [0, 255, -np.inf], [1, 150, 20]]


def test_read_edges_hand_made():
    data = _header(2) + _records([(3, 4.0, -1.0), (0, 1.0, 17.0)])
    assert authors.read_edges(data).tolist() == [[3, 4, -1], [0, 1, 17]]
    assert authors.read_edges(_header(0)).shape == (0, 3)


@pytest.mark.parametrize("data, match", [
    (b"", "preamble"),
    (np.array([1, 2, 0], "<i8").tobytes(), "preamble"),
    (np.array([authors.DIPHA, authors.IMAGE_DATA, 0], "<i8").tobytes(), "preamble"),
    (_header(2) + _records([(0, 1.0, -1.0)]), "truncated"),
    (_header(1) + _records([(0, 1.0, -1.0)]) + b"\0", "truncated"),
    (_header(-1), "truncated"),
])
def test_readers_refuse_corrupt_files(data, match):
    for read in (authors.read_diagram, authors.read_edges):
        with pytest.raises(ValueError, match=match):
            read(data)


def test_read_edges_refuses_non_integers():
    with pytest.raises(ValueError, match="non-integer"):
        authors.read_edges(_header(1) + _records([(0, 1.5, -1.0)]))


def test_vertices_to_ridges():
    vertices = authors.read_vertices("2 0 0 -9\n0 1 0 -3\n")
    assert authors.ridges_of(vertices, (3, 2)).tolist() == [[False, True], [False, False], [True, False]]
    assert not authors.ridges_of(authors.read_vertices(""), (2, 2)).any()
    with pytest.raises(ValueError, match="outside"):
        authors.ridges_of([[3, 0, 0, 0]], (3, 2))


@pytest.mark.parametrize("epsilon, t", [(0, 0), (0.2, 51), (1 / 255, 1), (0.5, 127), (1e9, 2 ** 31 - 1)])
def test_threshold_of(epsilon, t):
    assert authors.threshold_of(epsilon) == t


@pytest.mark.parametrize("epsilon", [-1, np.inf, np.nan])
def test_threshold_of_refuses(epsilon):
    with pytest.raises(ValueError, match="`epsilon`"):
        authors.threshold_of(epsilon)


def test_live_adapter_says_what_is_missing(monkeypatch):
    monkeypatch.delenv("DMTLOSS_AUTHORS_DIPHA", raising=False)
    with pytest.raises(LookupError, match="DMTLOSS_AUTHORS_DIPHA"):
        authors.Live()
    with pytest.raises(LookupError, match="DMTLOSS_AUTHORS_DIPHA"):
        authors.live.LEVELS  # built on first use only
    assert not hasattr(authors.live, "__wrapped__")  # introspection starts nothing


# -- the recorded outputs -------------------------------------------------------------------


def test_recorded_inputs_are_golden_images_and_the_extra_cases():
    """The recorded golden images are still in the corpus, unchanged (it may have grown since)."""
    from dmtloss.conformance.golden import cases

    golden = dict(cases())
    recorded_golden = [c for c in CASES if c["source"] == "conformance.golden.cases()"]
    assert len(recorded_golden) == 30
    for case in recorded_golden:
        assert np.array_equal(case["x"], golden[case["name"]]), case["name"]
    extra = authors.extra_cases()
    assert [c["name"] for c in CASES if c["source"] != "conformance.golden.cases()"] == [n for n, _, _ in extra]
    for name, source, x in extra:
        case = BY_NAME[name]
        assert case["source"] == source and case["x"].dtype == x.dtype and np.array_equal(case["x"], x), name


@pytest.mark.parametrize("name, t", OUTPUTS, ids=[f"{n}-T{t}" for n, t in OUTPUTS])
def test_replay_reproduces_their_program(name, t):
    """Our model of ComputeGraphReconstruction gives exactly the pixels their program wrote."""
    case = BY_NAME[name]
    assert np.array_equal(authors.replay_ridges(case["x"], case["edges"], t), case["outputs"][t]["ridges"])


@pytest.mark.parametrize("name", list(BY_NAME))
def test_dipha_diagram_is_the_contracts_diagram_of_the_quantised_image(name):
    case = BY_NAME[name]
    ours = reference.persistence_diagram(authors.quantise(case["x"]))
    ours = ours[np.lexsort((ours[:, 2], ours[:, 1], ours[:, 0]))]
    assert np.array_equal(authors.superlevel_diagram(case["diagram"]), ours)


@pytest.mark.parametrize("name", list(BY_NAME))
def test_their_rule_on_the_contracts_pairs_gives_the_contracts_ridges(name):
    """Every pixel of difference comes from the order of cells, none from the ridge rule."""
    case = BY_NAME[name]
    edges, rank = authors.contract_edges(case["x"])
    q = authors.quantise(case["x"])
    for t in case["outputs"]:
        ours = fast.morse_structures(q, float(t)).ridges
        assert np.array_equal(authors.replay_ridges(case["x"], edges, t, rank=rank), ours), t


def test_recorded_data_has_attribution():
    import json

    manifest = json.loads((authors.DATA / "manifest.json").read_text())
    assert manifest["repository"] == authors.REPOSITORY and manifest["commit"] == authors.COMMIT
    assert manifest["licence"].startswith("MIT")
    readme = (authors.DATA / "README.md").read_text()
    assert authors.COMMIT in readme and "MIT License" in readme and "Xiaoling Hu" in readme


# -- the published table ----------------------------------------------------------------------


def _published():
    text = (ROOT / "docs" / "conformance.md").read_text()
    section = text.split("## The authors' pipeline", 1)[1]
    table = section.split("<!-- authors-table -->", 2)[1]
    rows = {}
    for line in table.strip().splitlines()[2:]:
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        name, t = cells[0], int(cells[1])
        rows[name, t] = [int(c) for c in cells[2:9]] + [cells[9]]
    assert len(rows) == len(table.strip().splitlines()) - 2, "a row is repeated"
    return section, rows


def _row(case, t, engine):
    c = authors.compare(case, t, engine=engine)
    diagram = "yes" if c["diagram_equal"] else "no"
    diagram += " / yes" if c["diagram_given_equal"] else " / no"
    return [c["pixels"], c["theirs"], c["quantised"], c["only_q"], c["only_theirs_q"],
            c["given"], c["given_vs_q"], diagram]


def test_published_table_is_the_data():
    _, rows = _published()
    expected = {}
    for case in CASES:
        for t in case["outputs"]:
            if t < authors.INT_MAX:
                expected[case["name"], t] = _row(case, t, fast)
    assert rows == expected


@pytest.mark.parametrize("name", [n for n in BY_NAME if BY_NAME[n]["x"].size <= 200])
def test_published_table_small_cases_with_the_reference(name):
    _, rows = _published()
    case = BY_NAME[name]
    for t in case["outputs"]:
        if t < authors.INT_MAX:
            assert rows[name, t] == _row(case, t, reference), t


def test_published_summary_is_the_data():
    """The bold numbers of the summary, in order; "all N" claims are checked per output above."""
    section, rows = _published()
    golden = {c["name"] for c in CASES if c["source"] == "conformance.golden.cases()"}
    exact = {k for k, row in rows.items() if row[3] == row[4] == 0}
    golden_rows = [k for k in rows if k[0] in golden]
    both = [name for name in golden if (name, 0) in exact and (name, 51) in exact]
    empty = sum(not case["outputs"][authors.INT_MAX]["ridges"].any() for case in CASES)
    expected = [len(CASES), len(golden), len(CASES) - len(golden), len(authors.THRESHOLDS), len(OUTPUTS),
                len(OUTPUTS),
                len(CASES), len({k[0] for k, row in rows.items() if row[7].endswith("/ yes")}),
                len(OUTPUTS),
                len(exact), len(rows), len(exact & set(golden_rows)), len(golden_rows), len(both), empty,
                sum(row[6] > 0 for row in rows.values())]
    summary = re.search(r"<!-- authors-summary -->(.*?)<!-- /authors-summary -->", section, re.S).group(1)
    assert [int(n) for n in re.findall(r"\*\*(\d+)\*\*", summary)] == expected
