"""Tests of dmtloss.plotting: panels draw what the structures hold, files are written whole."""

import doctest
import struct

import matplotlib
import numpy as np
import pytest
from matplotlib import colors as mcolors
from matplotlib import pyplot
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure

from dmtloss import plotting, reference
from dmtloss.plotting import (
    COLOURS,
    explain_figure,
    plot_basins,
    plot_critical_cells,
    plot_diagram,
    plot_likelihood,
    plot_mask,
    plot_structures,
)
from dmtloss.synthetic import membrane_gaps, membrane_likelihood, membrane_walls

SHAPE = (24, 30)  # not square: rows and columns must not be swapped anywhere


@pytest.fixture(scope="module")
def case():
    kwargs = dict(cells=4, gap_count=1, seed=2)
    likelihood = membrane_likelihood(SHAPE, noise=0.1, **kwargs)
    structures = reference.morse_structures(likelihood, epsilon=0.1)
    return likelihood, structures, membrane_walls(SHAPE, cells=4, seed=2), membrane_gaps(SHAPE, **kwargs)


@pytest.fixture(autouse=True)
def no_open_figures():
    pyplot.close("all")
    yield
    assert pyplot.get_fignums() == [], "a figure was left open in pyplot"


def _png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _axes():
    return Figure().add_subplot()


def test_explain_figure_writes_a_png_and_closes_its_figures(case, tmp_path):
    likelihood, structures, walls, gaps = case
    rc_before = dict(matplotlib.rcParams)
    out = explain_figure(likelihood, structures, tmp_path / "explain.png", target=walls,
                         highlight=gaps, title="test")
    assert out == tmp_path / "explain.png"
    width, height = _png_size(out.read_bytes())
    assert 1000 <= width <= 3000 and 800 <= height <= 3000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["explain.png"]  # no temporary left
    assert pyplot.get_fignums() == []
    assert dict(matplotlib.rcParams) == rc_before  # styles were local to the figure


def test_explain_figure_dpi_sets_the_size(case, tmp_path):
    likelihood, structures, *_ = case
    small = _png_size(explain_figure(likelihood, structures, tmp_path / "a.png", dpi=50).read_bytes())
    large = _png_size(explain_figure(likelihood, structures, tmp_path / "b.png", dpi=100).read_bytes())
    assert large[0] == pytest.approx(2 * small[0], abs=2)


@pytest.mark.parametrize(("suffix", "magic"), [(".pdf", b"%PDF"), (".svg", b"<?xml")])
def test_explain_figure_format_follows_suffix(case, tmp_path, suffix, magic):
    likelihood, structures, *_ = case
    out = explain_figure(likelihood, structures, str(tmp_path / f"f{suffix}"))
    assert out.read_bytes().startswith(magic)


def test_explain_figure_refuses_unknown_format(case, tmp_path):
    likelihood, structures, *_ = case
    with pytest.raises(ValueError, match=r"`path` must end in one of .*\.png.*; got 'f\.txt'"):
        explain_figure(likelihood, structures, tmp_path / "f.txt")
    assert list(tmp_path.iterdir()) == []


def test_explain_figure_leaves_nothing_on_failure(case, tmp_path, monkeypatch):
    likelihood, structures, *_ = case
    (tmp_path / "f.png").write_bytes(b"old")

    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken)
    with pytest.raises(OSError, match="disk full"):
        explain_figure(likelihood, structures, tmp_path / "f.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.png"]
    assert (tmp_path / "f.png").read_bytes() == b"old"  # the old file is untouched


def test_explain_figure_unwritable_directory(case, tmp_path):
    likelihood, structures, *_ = case
    with pytest.raises(OSError):
        explain_figure(likelihood, structures, tmp_path / "missing" / "f.png")


def test_critical_cells_are_drawn_where_they_are(case):
    likelihood, structures, *_ = case
    ax = plot_critical_cells(likelihood, structures, ax=_axes())
    dims = (structures.critical % 2).sum(axis=1)
    for dim, collection in enumerate(ax.collections[:3]):
        cells = structures.critical[dims == dim]
        # Scatter positions are (x, y) = (column, row) = doubled coordinates / 2.
        assert np.array_equal(collection.get_offsets(), cells[:, ::-1] / 2.0)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0].startswith(f"{int((dims == 0).sum())} maxim")
    assert labels[2].startswith(f"{int((dims == 2).sum())} minim")


def test_structures_overlay_colours_ridges_and_boundaries(case):
    likelihood, structures, *_ = case
    ax = plot_structures(likelihood, structures, ax=_axes())
    overlay = ax.images[-1].get_array()
    ridges, boundaries = structures.ridges, structures.boundaries
    assert ridges.any()
    assert np.allclose(overlay[ridges & ~boundaries], mcolors.to_rgba(COLOURS["ridges"]))
    assert np.allclose(overlay[boundaries & ~ridges], mcolors.to_rgba(COLOURS["boundaries"]))
    assert np.allclose(overlay[ridges & boundaries], mcolors.to_rgba(COLOURS["both"]))
    assert np.all(overlay[~(ridges | boundaries), 3] == 0)


def test_mask_panel_compares_with_target(case):
    likelihood, structures, walls, _ = case
    ax = plot_mask(structures, target=walls, ax=_axes())
    mask = structures.mask()
    overlay = ax.images[-1].get_array()
    assert np.allclose(overlay[mask & walls], mcolors.to_rgba(COLOURS["mask"]))
    assert np.allclose(overlay[mask & ~walls], mcolors.to_rgba(COLOURS["off_target"]))
    assert np.allclose(overlay[walls & ~mask], mcolors.to_rgba(COLOURS["target"]))
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0] == f"mask on truth ({int((mask & walls).sum())} px)"


def test_diagram_draws_every_pair(case):
    _, structures, *_ = case
    ax = plot_diagram(structures, ax=_axes())
    pairs = structures.pairs
    points = np.concatenate([c.get_offsets() for c in ax.collections
                             if isinstance(c, PathCollection)])  # the scatters
    assert len(points) == len(pairs)
    finite = np.isfinite(pairs.death_value)
    drawn = {tuple(p) for p in points}
    for b, d in zip(pairs.birth_value[finite], pairs.death_value[finite]):
        assert (b, d) in drawn
    # The essential class sits on the bottom edge, below every finite death.
    (essential,) = pairs.birth_value[~finite]
    bottom = ax.get_ylim()[0]
    assert (essential, bottom) in drawn
    assert bottom < pairs.death_value[finite].min()


def test_basins_panel_tints_every_basin_but_outside(case):
    likelihood, structures, *_ = case
    ax = plot_basins(likelihood, structures, ax=_axes())
    tint = ax.images[-1].get_array()
    assert tint.shape[:2] == structures.basins.shape
    assert np.all(tint[structures.basins == 0, 3] == 0)
    assert np.all(tint[structures.basins > 0, 3] > 0)


def test_basin_colouring_separates_neighbours():
    labels = np.array([[1, 1, 2, 2], [1, 3, 3, 2], [4, 4, 3, 5]])
    colour = plotting._colouring(labels)
    for a, b in [(1, 2), (1, 3), (2, 3), (1, 4), (3, 4), (3, 5), (2, 5)]:
        assert colour[a] != colour[b]


def test_new_figures_are_not_registered_with_pyplot(case):
    likelihood, structures, *_ = case
    ax = plot_likelihood(likelihood)
    assert isinstance(ax.figure, Figure)
    plot_structures(likelihood, structures)
    plot_diagram(structures)
    assert pyplot.get_fignums() == []


def test_highlight_rings_each_region(case):
    likelihood, structures, _, gaps = case
    ax = plot_likelihood(likelihood, highlight=gaps, ax=_axes())
    assert len(ax.patches) == 1  # one gap, one ring


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda f, s: plot_structures(f[:-1], s), ValueError, "`structures` were computed for shape"),
        (lambda f, s: plot_structures(f, "s"), TypeError, "`structures` must be a MorseStructures; got str"),
        (lambda f, s: plot_critical_cells(np.stack([f, f]), s), ValueError, "`likelihood` must be 2-D"),
        (lambda f, s: plot_diagram(None), TypeError, "`structures` must be a MorseStructures"),
        (lambda f, s: plot_mask(s, target=np.ones((3, 3))), ValueError,
         "`target` must have the image's shape"),
        (lambda f, s: plot_mask(s, highlight=f.astype(str)), TypeError, "`highlight` must be an array"),
        (lambda f, s: plot_likelihood([1.0, 2.0]), ValueError, "`likelihood` must be 2-D or 3-D"),
    ],
)
def test_bad_arguments(case, call, error, message):
    likelihood, structures, *_ = case
    with pytest.raises(error, match=message):
        call(likelihood, structures)


def test_3d_structures_are_refused():
    volume = np.random.default_rng(0).random((3, 3, 3))
    with pytest.raises(ValueError, match="2-D"):
        plot_structures(volume, reference.morse_structures(volume))


def test_docstring_examples():
    failed, attempted = doctest.testmod(plotting, optionflags=doctest.ELLIPSIS)
    assert attempted > 0 and failed == 0


# -- the comparison figure ---------------------------------------------------------------

def _walls(shape=(20, 26)):
    truth = np.zeros(shape, bool)
    truth[10, :] = True
    truth[:, 6] = True
    truth[:, 18] = True
    return truth


def test_find_zoom_finds_the_wall_one_closes_and_the_other_leaves_open():
    truth = _walls()
    broken = truth.copy()
    broken[10, 12] = False           # merges two cells: only the second closes it
    window, score = plotting.find_zoom(truth, broken, truth, size=8)
    assert score == 1
    assert window[0].start <= 10 < window[0].stop and window[1].start <= 12 < window[1].stop
    assert plotting.find_zoom(truth, truth, truth, size=8)[1] == 0
    assert plotting.find_zoom(truth, broken, broken, size=8)[1] == 0


def test_comparison_figure_writes_a_png(tmp_path):
    truth = _walls()
    bce = truth * 0.9
    bce[10, 12] = 0.2
    structures = reference.morse_structures(bce, epsilon=0.1)
    out = plotting.comparison_figure(truth * 0.8, truth, {"BCE": bce, "DMT": truth * 0.9},
                                     tmp_path / "c.png", structures=structures, title="toy")
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert pyplot.get_fignums() == []
    assert list(tmp_path.iterdir()) == [out]


@pytest.mark.parametrize("call, message", [
    (lambda p: plotting.comparison_figure(np.zeros((4, 4)), np.zeros((4, 5)), {"a": np.zeros((4, 4))}, p),
     "one shape"),
    (lambda p: plotting.comparison_figure(np.zeros((4, 4)), np.zeros((4, 4)), {}, p), "at least one"),
    (lambda p: plotting.comparison_figure(np.zeros((4, 4)), np.zeros((4, 4)), {"a": np.zeros((3, 4))}, p),
     "likelihood 'a'"),
    (lambda p: plotting.find_zoom(np.zeros((4, 4)), np.zeros((4, 4)), np.zeros((4, 4)), regions="x"),
     "`regions`"),
])
def test_comparison_bad_arguments(call, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        call(tmp_path / "c.png")


def test_training_curves_draw_each_logged_quantity(tmp_path):
    pretrain = [{"step": s, "train_loss": 1.0 / s} for s in (10, 20)]
    dmt = [{"step": s, "train_loss": 0.1 / s, "mask_fraction": 0.05, "val_dice": 0.8, "val_dice_std": 0.1}
           for s in (5, 10)]
    histories = {"pretrain": pretrain, "dmt": dmt}
    assert plotting._curve_keys(histories) == ["train_loss", "val_dice", "mask_fraction"]
    out = plotting.training_curves(histories, tmp_path / "t.png", starts={"dmt": 20}, title="toy")
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert pyplot.get_fignums() == []
    assert list(tmp_path.iterdir()) == [out]


@pytest.mark.parametrize("histories, keys, message", [
    ({}, None, "non-empty dict"),
    ({"a": []}, None, r"histories\['a'\]"),
    ({"a": [{"train_loss": 1.0}]}, None, "'step'"),
    ({"a": [{"step": 1}]}, None, "nothing to draw"),
    ({"a": [{"step": 1, "train_loss": 1.0}]}, ["val_dice"], "no run logs 'val_dice'"),
])
def test_training_curves_bad_arguments(histories, keys, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        plotting.training_curves(histories, tmp_path / "t.png", keys=keys)
    assert list(tmp_path.iterdir()) == []
