"""Figures of discrete Morse structures: every step from the likelihood to the loss mask.

Each ``plot_*`` function draws one panel on a matplotlib ``Axes`` (a new figure when
`ax` is None) and returns the ``Axes``; :func:`explain_figure` puts them together in one
figure and writes it to a file.

Colours are the same in every panel (Okabe-Ito, readable with colour-blind vision):

* vermilion -- maxima, 0-dimensional pairs (a maximum born, killed at a saddle), ridges;
* blue -- minima, 1-dimensional pairs (a loop closed at a saddle, filled at a minimum),
  basin boundaries;
* bluish green -- saddles.

Images are drawn with pixel centres at integer coordinates, ``(row, column)`` =
``(y, x)``, the origin at the top left. A cell in doubled coordinates ``c`` sits at
``c / 2``: a vertex on a pixel, an edge between two, a square at the centre of four.

Nothing here uses :mod:`matplotlib.pyplot`: figures are plain
:class:`matplotlib.figure.Figure` objects drawn by the Agg canvas, so that calling these
functions never opens a window, never changes the user's backend and never leaves a
figure open in pyplot's registry.
"""

import errno
import os
import pathlib

import numpy as np
from matplotlib import colors as mcolors
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Patch, Rectangle
from scipy import ndimage

from .reference._validation import as_likelihood
from .reference.results import MorseStructures

__all__ = [
    "COLOURS",
    "comparison_figure",
    "explain_figure",
    "find_zoom",
    "plot_basins",
    "plot_critical_cells",
    "plot_diagram",
    "plot_likelihood",
    "plot_mask",
    "plot_structures",
    "training_curves",
]

#: The colours of the package's figures, by role.
COLOURS = {
    "maximum": "#D55E00",   # vermilion
    "saddle": "#009E73",    # bluish green
    "minimum": "#0072B2",   # blue
    "ridges": "#D55E00",
    "boundaries": "#0072B2",
    "both": "#9B4F96",      # a ridge pixel that is also a boundary pixel
    "mask": "#1A1A1A",
    "off_target": "#E69F00",  # orange: mask pixels off the ground truth
    "target": "#BBBBBB",
    "highlight": "#F0E442",   # yellow rings around regions of interest
    "missed": "#D55E00",      # vermilion: structure pixels a prediction missed
    "extra": "#56B4E9",       # sky blue: pixels a prediction added
}
_BASIN_PALETTE = np.array([mcolors.to_rgba(c) for c in (  # Paul Tol's "muted"
    "#88CCEE", "#CC6677", "#DDCC77", "#117733", "#332288", "#AA4499", "#44AA99",
    "#999933", "#882255")])
_DIMENSION_COLOURS = (COLOURS["maximum"], COLOURS["minimum"], "#CC79A7")
_CELL_STYLE = (  # by cell dimension: (names, colour, marker, edge colour)
    (("maximum", "maxima"), COLOURS["maximum"], "^", "black"),
    (("saddle", "saddles"), COLOURS["saddle"], "X", "black"),
    (("minimum", "minima"), COLOURS["minimum"], "v", "white"),
)
_RC = {  # sizes for a figure printed two columns wide (about 7 inches)
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.titleweight": "bold",
    "axes.labelsize": 8,
    "legend.fontsize": 7,
    "legend.title_fontsize": 7,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
}


# -- helpers ---------------------------------------------------------------------------

def _check(likelihood, structures):
    values = as_likelihood(likelihood)
    if values.ndim != 2:
        raise ValueError(f"`likelihood` must be 2-D to be drawn; got shape {values.shape}")
    _check_structures(structures)
    if structures.shape != values.shape:
        raise ValueError(f"`structures` were computed for shape {structures.shape}; "
                         f"got a likelihood of shape {values.shape}")
    return values


def _check_structures(structures):
    if not isinstance(structures, MorseStructures):
        raise TypeError(f"`structures` must be a MorseStructures; got {type(structures).__name__}")
    if len(structures.shape) != 2:
        raise ValueError(f"`structures` must be of a 2-D image to be drawn; got shape {structures.shape}")


def _check_target(target, shape, name="target"):
    if target is None:
        return None
    array = np.asarray(target)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"`{name}` must be an array of bools or numbers; got dtype {array.dtype}")
    if array.shape != shape:
        raise ValueError(f"`{name}` must have the image's shape {shape}; got {array.shape}")
    return array != 0


def _axes(ax, figsize=(3.2, 3.2)):
    if ax is not None:
        return ax
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig.add_subplot()


def _image_axes(ax, shape, title):
    ax.set_xlim(-0.5, shape[1] - 0.5)
    ax.set_ylim(shape[0] - 0.5, -0.5)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)


def _backdrop(ax, values, strength=0.55):
    """The likelihood in muted greys, under overlays: 0 dark grey, 1 white."""
    lo = min(float(values.min()), 0.0)
    hi = max(float(values.max()), 1.0) if lo == 0.0 else float(values.max())
    span = hi - lo or 1.0
    ax.imshow(values, cmap="gray", vmin=lo - span * (1 - strength) / strength, vmax=hi,
              interpolation="nearest")


def _overlay(ax, layers, shape):
    """Paint boolean `layers` ``[(mask, colour), ...]`` in order, opaque."""
    rgba = np.zeros((*shape, 4))
    for mask, colour in layers:
        rgba[mask] = mcolors.to_rgba(colour)
    ax.imshow(rgba, interpolation="nearest")


def _legend(ax, handles, **kwargs):
    options = dict(loc="upper left", bbox_to_anchor=(0.0, -0.01), ncols=len(handles),
                   frameon=False, handlelength=1.0, handletextpad=0.4, columnspacing=0.9,
                   borderaxespad=0.0, borderpad=0.2)
    options.update(kwargs)
    return ax.legend(handles=handles, **options)


def _check_highlight(highlight, shape):
    if highlight is None:
        return None
    return _check_target(highlight, shape, name="highlight")


def _ring(ax, highlight, label):
    """Circle each connected region of `highlight`; return a legend handle or None."""
    if highlight is None or not highlight.any():
        return None
    labels, count = ndimage.label(highlight)
    effects = [patheffects.withStroke(linewidth=2.4, foreground="black")]
    for k in range(1, count + 1):
        rows, cols = np.nonzero(labels == k)
        r, c = rows.mean(), cols.mean()
        radius = np.sqrt(((rows - r) ** 2 + (cols - c) ** 2).max()) + 2.0
        ax.add_patch(Circle((c, r), radius, fill=False, edgecolor=COLOURS["highlight"], lw=1.2,
                            path_effects=effects, zorder=5, clip_on=False))
    return Line2D([], [], ls="", marker="o", markersize=7, markerfacecolor="none",
                  markeredgecolor=COLOURS["highlight"], markeredgewidth=1.2,
                  path_effects=effects, label=f"{label} ({count})")


def _colouring(labels):
    """Palette index per label, neighbours apart where the palette allows (greedy)."""
    count = int(labels.max())
    neighbours = [set() for _ in range(count + 1)]
    for a, b in ((labels[1:, :], labels[:-1, :]), (labels[:, 1:], labels[:, :-1])):
        differ = a != b
        for i, j in zip(a[differ].tolist(), b[differ].tolist()):
            neighbours[i].add(j)
            neighbours[j].add(i)
    colour = np.zeros(count + 1, dtype=np.int64)
    for k in range(1, count + 1):
        taken = {colour[n] for n in neighbours[k] if 0 < n < k}
        free = [c for c in range(len(_BASIN_PALETTE)) if c not in taken]
        colour[k] = free[0] if free else k % len(_BASIN_PALETTE)
    return colour


def _marker_size(shape):
    """Scatter marker area (points^2) that suits an image of `shape` in a small panel."""
    return float(np.clip(1500.0 / max(shape), 6.0, 36.0))


def _count(n, one, many):
    return f"{n} {one if n == 1 else many}"


def _cell_dimensions(critical):
    return (critical % 2).sum(axis=1) if len(critical) else np.zeros(0, dtype=np.int64)


# -- panels ----------------------------------------------------------------------------

def plot_likelihood(likelihood, *, highlight=None, highlight_label="highlighted", ax=None,
                    colorbar=True, title="likelihood"):
    """Draw a 2-D likelihood map in greys, with a colour bar.

    Parameters
    ----------
    likelihood : (M, N) array_like
        The map; drawn from 0 (black) to 1 (white), or over its own range when its
        values leave [0, 1].
    highlight : (M, N) array_like of bool, optional
        Regions to ring in yellow, e.g. the weak spots of a synthetic map
        (:func:`dmtloss.synthetic.membrane_gaps`); non-zero values count as True.
    highlight_label : str, optional
        What the rings stand for, in the legend.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.
    colorbar : bool, optional
        Add a colour bar under the image.
    title : str, optional

    Returns
    -------
    ax : matplotlib.axes.Axes

    Raises
    ------
    TypeError, ValueError
        If `likelihood` is not a finite 2-D array of real numbers, or `highlight` not
        an array of its shape.

    Examples
    --------
    >>> ax = plot_likelihood([[0.1, 0.9], [0.8, 0.2]])
    >>> ax.get_title()
    'likelihood'
    """
    values = as_likelihood(likelihood)
    if values.ndim != 2:
        raise ValueError(f"`likelihood` must be 2-D to be drawn; got shape {values.shape}")
    highlight = _check_highlight(highlight, values.shape)
    ax = _axes(ax)
    inside = values.min() >= 0 and values.max() <= 1
    image = ax.imshow(values, cmap="gray", vmin=0 if inside else None, vmax=1 if inside else None,
                      interpolation="nearest")
    _image_axes(ax, values.shape, title)
    _ring(ax, highlight, highlight_label)
    if colorbar:
        # An inset under the image, where the other panels have their legends, so that
        # the colour bar takes no room from the layout.
        cax = ax.inset_axes([0.0, -0.085, 1.0, 0.04])
        bar = ax.figure.colorbar(image, cax=cax, orientation="horizontal")
        bar.outline.set_linewidth(0.5)
        bar.ax.tick_params(width=0.5, length=2, pad=1.5)
    return ax


def plot_critical_cells(likelihood, structures, *, ax=None, title="critical cells"):
    """Draw the critical cells of the simplified gradient over the likelihood.

    Maxima (critical vertices) are drawn as vermilion triangles, saddles (critical
    edges) as green crosses between two pixels, minima (critical squares) as blue
    triangles between four.

    Parameters
    ----------
    likelihood : (M, N) array_like
        The map the structures were computed from.
    structures : MorseStructures
        As returned by :func:`dmtloss.reference.morse_structures`.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.
    title : str, optional

    Returns
    -------
    ax : matplotlib.axes.Axes

    Raises
    ------
    TypeError, ValueError
        On a likelihood that is not 2-D, or structures not computed from its shape.

    Examples
    --------
    >>> from dmtloss import reference
    >>> f = [[0.9, 0.1, 0.8], [0.2, 0.1, 0.3]]
    >>> ax = plot_critical_cells(f, reference.morse_structures(f, epsilon=0.1))
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['2 maxima', '1 saddle', '0 minima']
    """
    values = _check(likelihood, structures)
    ax = _axes(ax)
    _backdrop(ax, values)
    dims = _cell_dimensions(structures.critical)
    handles = []
    size = _marker_size(values.shape)
    for dim, (names, colour, marker, edge) in enumerate(_CELL_STYLE):
        where = structures.critical[dims == dim] / 2.0
        ax.scatter(where[:, 1], where[:, 0], s=size, c=colour, marker=marker,
                   edgecolors=edge, linewidths=0.5, zorder=3, clip_on=False)
        handles.append(Line2D([], [], ls="", marker=marker, markersize=5, color=colour,
                              markeredgecolor=edge, markeredgewidth=0.5,
                              label=_count(len(where), *names)))
    _image_axes(ax, values.shape, title)
    _legend(ax, handles)
    return ax


def plot_diagram(structures, *, ax=None, title="persistence diagram"):
    """Draw the superlevel persistence diagram, with the threshold `epsilon`.

    Each pair is a point (birth, death) below the diagonal, coloured by dimension.
    The band between the diagonal and the line ``persistence = epsilon`` holds the
    pairs the simplification cancelled (drawn faint); the points beyond it are the
    structures that were kept. The essential class (the component that never dies) is
    drawn on the bottom edge, at death ``-inf``.

    Parameters
    ----------
    structures : MorseStructures
        As returned by :func:`dmtloss.reference.morse_structures` (2-D or 3-D).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.
    title : str, optional

    Returns
    -------
    ax : matplotlib.axes.Axes

    Raises
    ------
    TypeError
        If `structures` is not a MorseStructures.

    Examples
    --------
    >>> from dmtloss import reference
    >>> s = reference.morse_structures([[0.9, 0.1, 0.8], [0.2, 0.1, 0.3]], epsilon=0.1)
    >>> ax = plot_diagram(s)
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('birth (likelihood)', 'death (likelihood)')
    """
    if not isinstance(structures, MorseStructures):
        raise TypeError(f"`structures` must be a MorseStructures; got {type(structures).__name__}")
    ax = _axes(ax)
    pairs, epsilon = structures.pairs, structures.epsilon
    birth, death, dim = pairs.birth_value, pairs.death_value, pairs.dim
    finite = np.isfinite(death)
    values = np.concatenate([birth, death[finite]]) if len(birth) else np.array([0.0, 1.0])
    lo, hi = float(values.min()), float(values.max())
    if lo >= 0 and hi <= 1:
        lo, hi = 0.0, 1.0
    pad = 0.04 * (hi - lo or 1.0)
    floor = lo - 3 * pad  # where the essential class is drawn: the bottom edge
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(floor, hi + pad)
    ax.set_aspect("equal")
    line = np.array([lo - pad, hi + pad])
    ax.plot(line, line, color="0.2", lw=0.8, zorder=1)
    ax.fill_between(line, line, line - epsilon, color="0.88", lw=0, zorder=0)
    ax.plot(line, line - epsilon, color="0.35", lw=0.8, ls="--", zorder=1)
    ax.axhline(floor, color="0.35", lw=0.6, ls=":", zorder=1)
    handles = []
    kept = pairs.persistence > epsilon
    for d in range(structures.ridges.ndim):
        colour = _DIMENSION_COLOURS[d]
        faint = (dim == d) & finite & ~kept
        strong = (dim == d) & finite & kept
        ax.scatter(birth[faint], death[faint], s=7, color=colour, alpha=0.35, lw=0, zorder=2)
        ax.scatter(birth[strong], death[strong], s=18, color=colour, edgecolors="black",
                   linewidths=0.4, zorder=3)
        handles.append(Line2D([], [], ls="", marker="o", markersize=4.5, color=colour,
                              markeredgecolor="black", markeredgewidth=0.4,
                              label=f"H{d}: {int(strong.sum())} of {int(((dim == d) & finite).sum())}"))
    essential = ~finite
    ax.scatter(birth[essential], np.full(int(essential.sum()), floor), s=30, marker="^",
               color=_DIMENSION_COLOURS[0], edgecolors="black", linewidths=0.4, zorder=4,
               clip_on=False)
    # Labels written along the lines they name, in the empty half above the diagonal
    # and in the band, so that no legend covers a point.
    span = hi - lo or 1.0
    room = (hi - lo - epsilon) / span  # the length of the epsilon line inside, in spans
    label = (f"persistence = $\\varepsilon$ = {epsilon:g}" if room > 0.5
             else f"$\\varepsilon$ = {epsilon:g}" if room > 0.22 else None)
    if label:
        x_eps = min(lo + epsilon + 0.4 * span, hi - (0.45 if room > 0.5 else 0.2) * span)
        ax.annotate(label, (x_eps, x_eps - epsilon), rotation=45, rotation_mode="anchor",
                    transform_rotates_text=True, xytext=(-3, 3), textcoords="offset points",
                    fontsize=6.5, color="0.25")
    if essential.any():
        ax.annotate("essential", (float(birth[essential][0]), floor), xytext=(-4, 3),
                    textcoords="offset points", ha="right", va="bottom", fontsize=6.5,
                    color="0.25")
    ticks = [t for t in ax.get_yticks() if lo - pad <= t <= hi + pad]
    ax.set_yticks([floor, *ticks], ["$-\\infty$", *[f"{t:g}" for t in ticks]])
    ax.set_xlabel("birth (likelihood)")
    ax.set_ylabel("death (likelihood)", labelpad=1)
    ax.legend(handles=handles, title="pairs kept", loc="upper left", frameon=False,
              handlelength=1.0, handletextpad=0.3, borderaxespad=0.3, labelspacing=0.25,
              alignment="left")
    if title:
        ax.set_title(title)
    return ax


def plot_structures(likelihood, structures, *, highlight=None, highlight_label="highlighted",
                    ax=None, title="ridges and boundaries"):
    """Draw the ridges (vermilion) and basin boundaries (blue) over the likelihood.

    Pixels on both are drawn purple.

    Parameters
    ----------
    likelihood : (M, N) array_like
        The map the structures were computed from, drawn in grey.
    structures : MorseStructures
        As returned by :func:`dmtloss.reference.morse_structures`.
    highlight : (M, N) array_like of bool, optional
        Regions to ring in yellow, e.g. the weak spots of a synthetic map
        (:func:`dmtloss.synthetic.membrane_gaps`); non-zero values count as True.
    highlight_label : str, optional
        What the rings stand for, in the legend.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.
    title : str, optional

    Returns
    -------
    ax : matplotlib.axes.Axes

    Raises
    ------
    TypeError, ValueError
        On a likelihood that is not 2-D, structures not computed from its shape, or a
        `highlight` of another shape.

    Examples
    --------
    >>> from dmtloss import reference
    >>> f = [[0.9, 0.1, 0.8], [0.6, 0.6, 0.6]]
    >>> ax = plot_structures(f, reference.morse_structures(f, epsilon=0.1))
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['ridges (5 px)', 'boundaries (0 px)']
    """
    values = _check(likelihood, structures)
    highlight = _check_highlight(highlight, values.shape)
    ax = _axes(ax)
    _backdrop(ax, values)
    ridges, boundaries = structures.ridges, structures.boundaries
    _overlay(ax, [(ridges, COLOURS["ridges"]), (boundaries, COLOURS["boundaries"]),
                  (ridges & boundaries, COLOURS["both"])], values.shape)
    handles = [Patch(color=COLOURS["ridges"], label=f"ridges ({int(ridges.sum())} px)"),
               Patch(color=COLOURS["boundaries"], label=f"boundaries ({int(boundaries.sum())} px)")]
    if (ridges & boundaries).any():
        handles.append(Patch(color=COLOURS["both"], label="both"))
    _image_axes(ax, values.shape, title)
    ring = _ring(ax, highlight, highlight_label)
    _legend(ax, handles + ([ring] if ring else []), ncols=1)
    return ax


def plot_basins(likelihood, structures, *, ax=None, title="basins"):
    """Draw the basins of the simplified gradient: the cells a likelihood map encloses.

    Each square of the complex (drawn between four pixels) is tinted by the basin it
    flows to, over the likelihood in grey; the basin of the OUTSIDE node, everything
    that drains through the image border, is left untinted.

    Parameters
    ----------
    likelihood : (M, N) array_like
        The map the structures were computed from.
    structures : MorseStructures
        As returned by :func:`dmtloss.reference.morse_structures`.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.
    title : str, optional

    Returns
    -------
    ax : matplotlib.axes.Axes

    Raises
    ------
    TypeError, ValueError
        On a likelihood that is not 2-D, or structures not computed from its shape.

    Examples
    --------
    A ring: one basin inside, the OUTSIDE basin around it.

    >>> from dmtloss import reference
    >>> f = [[1, 1, 1], [1, 0, 1], [1, 1, 1]]
    >>> ax = plot_basins(f, reference.morse_structures(f, epsilon=0.5))
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['1 basin inside', 'outside']
    """
    values = _check(likelihood, structures)
    ax = _axes(ax)
    _backdrop(ax, values)
    basins = structures.basins
    count = int(basins.max())
    rgba = np.zeros((*basins.shape, 4))
    inside = basins > 0
    rgba[inside] = _BASIN_PALETTE[_colouring(basins)[basins[inside]]]
    rgba[inside, 3] = 0.75
    shape = values.shape
    ax.imshow(rgba, extent=(0, shape[1] - 1, shape[0] - 1, 0), interpolation="nearest")
    _image_axes(ax, shape, title)
    _legend(ax, [Patch(facecolor=_BASIN_PALETTE[0], alpha=0.75,
                       label=_count(count, "basin", "basins") + " inside"),
                 Patch(facecolor="0.5", label="outside")])
    return ax


def plot_mask(structures, *, target=None, highlight=None, highlight_label="highlighted", ax=None,
              title="loss mask"):
    """Draw the loss mask: the pixels the DMT term of the loss is computed on.

    Parameters
    ----------
    structures : MorseStructures
        As returned by :func:`dmtloss.reference.morse_structures`, of a 2-D image. The
        mask is its default one, :meth:`MorseStructures.mask`.
    target : (M, N) array_like of bool, optional
        The ground truth (non-zero values count as True). When given it is drawn in
        light grey under the mask, and the mask pixels off it are drawn orange.
    highlight : (M, N) array_like of bool, optional
        Regions to ring in yellow, e.g. the weak spots of a synthetic map
        (:func:`dmtloss.synthetic.membrane_gaps`); non-zero values count as True.
    highlight_label : str, optional
        What the rings stand for, in the legend.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.
    title : str, optional

    Returns
    -------
    ax : matplotlib.axes.Axes

    Raises
    ------
    TypeError, ValueError
        If `structures` is not a MorseStructures of a 2-D image, or `target` or
        `highlight` is not an array of the image's shape.

    Examples
    --------
    >>> from dmtloss import reference
    >>> s = reference.morse_structures([[1, 1, 1], [1, 0, 1], [1, 1, 1]], epsilon=0.5)
    >>> ax = plot_mask(s, target=[[1, 1, 1], [1, 0, 0], [1, 1, 1]])
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['mask on truth (7 px)', 'mask off truth (1 px)', 'truth missed (0 px)']
    """
    _check_structures(structures)
    shape = structures.shape
    target = _check_target(target, shape)
    highlight = _check_highlight(highlight, shape)
    ax = _axes(ax)
    mask = structures.mask()
    ax.imshow(np.ones(shape), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    if target is None:
        _overlay(ax, [(mask, COLOURS["mask"])], shape)
        handles = [Patch(color=COLOURS["mask"], label=f"mask ({int(mask.sum())} px)")]
    else:
        _overlay(ax, [(target, COLOURS["target"]), (mask, COLOURS["off_target"]),
                      (mask & target, COLOURS["mask"])], shape)
        counts = [int(n.sum()) for n in (mask & target, mask & ~target, target & ~mask)]
        handles = [Patch(color=COLOURS[key], label=f"{text} ({n} px)") for key, text, n in
                   zip(("mask", "off_target", "target"),
                       ("mask on truth", "mask off truth", "truth missed"), counts)]
    _image_axes(ax, shape, title)
    for spine in ax.spines.values():
        spine.set_color("0.5")
    ring = _ring(ax, highlight, highlight_label)
    _legend(ax, handles + ([ring] if ring else []), ncols=1)
    return ax


# -- the whole story -------------------------------------------------------------------

def explain_figure(likelihood, structures, path, *, target=None, highlight=None,
                   highlight_label="highlighted", title=None, dpi=200):
    """Write a figure that explains every step from a likelihood map to its loss mask.

    Six panels: (a) the likelihood; (b) the critical cells of the gradient simplified
    at ``structures.epsilon``; (c) the persistence diagram with the threshold; (d) the
    ridges and basin boundaries; (e) the loss mask, compared with `target` when given;
    (f) the basins.

    Parameters
    ----------
    likelihood : (M, N) array_like
        The map the structures were computed from.
    structures : MorseStructures
        As returned by :func:`dmtloss.reference.morse_structures` for `likelihood`.
    path : str or os.PathLike
        Where to write; the format follows the suffix (``.png``, ``.pdf``, ``.svg``).
        Written whole or not at all: the figure goes to a temporary file first.
    target : (M, N) array_like of bool, optional
        Ground truth to compare the mask with, in panel (e); non-zero values count as
        True.
    highlight : (M, N) array_like of bool, optional
        Regions to ring in yellow in panels (a), (d) and (e), e.g. the weak spots of a
        synthetic map (:func:`dmtloss.synthetic.membrane_gaps`).
    highlight_label : str, optional
        What the rings stand for, in the legend.
    title : str, optional
        A title over the whole figure.
    dpi : int, optional
        Resolution of raster formats.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    TypeError, ValueError
        On invalid arguments, or a format matplotlib cannot write.
    OSError
        If the file cannot be written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from dmtloss import reference
    >>> f = [[0.9, 0.2, 0.8], [0.7, 0.1, 0.9], [0.8, 0.3, 0.9]]
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = explain_figure(f, reference.morse_structures(f), pathlib.Path(tmp) / "f.png")
    ...     out.read_bytes()[:4]
    b'\\x89PNG'
    """
    values = _check(likelihood, structures)
    target = _check_target(target, values.shape)
    highlight = _check_highlight(highlight, values.shape)
    path, suffix, fig = _new_figure(path, (7.2, 6.2))
    with _rc_context():
        grid = fig.subplots(2, 3)
        ring = dict(highlight=highlight, highlight_label=highlight_label)
        plot_likelihood(values, **ring, ax=grid[0, 0], title="(a) likelihood")
        plot_critical_cells(values, structures, ax=grid[0, 1], title="(b) critical cells")
        plot_diagram(structures, ax=grid[0, 2], title="(c) persistence diagram")
        plot_structures(values, structures, **ring, ax=grid[1, 0], title="(d) ridges, boundaries")
        plot_mask(structures, target=target, **ring, ax=grid[1, 1],
                  title="(e) loss mask" + (" vs truth" if target is not None else ""))
        plot_basins(values, structures, ax=grid[1, 2], title="(f) basins")
        if title:
            fig.suptitle(title, fontsize=10)
        fig.get_layout_engine().set(w_pad=0.04, h_pad=0.06, wspace=0.04, hspace=0.06)
        _save(fig, path, suffix, dpi)
    return path


def _regions_in(binary, regions):
    """Components of the background (8-connected) or of the foreground (4-connected),
    as :func:`dmtloss.metrics.region_labels` counts them."""
    if regions == "background":
        return ndimage.label(~binary, structure=np.ones((3, 3)))[1]
    return ndimage.label(binary)[1]


def find_zoom(target, first, second, size=32, *, regions="background"):
    """A window where `second` gets the topology right and `first` does not.

    Candidates are the connected pieces of the target that `first` misses and `second`
    predicts (walls one closes and the other leaves open), and the reverse; each is
    scored by how much closer `second`'s region count inside a ``size`` window around
    it comes to the target's than `first`'s. The best-scoring window is returned; among
    equal scores, one where `first` merged regions (a broken wall) comes first.

    Parameters
    ----------
    target, first, second : (M, N) array_like of bool
        The ground truth and two binary predictions.
    size : int, optional
        Side of the window, clipped to the image.
    regions : {"background", "foreground"}, optional
        Count the components of the background (cells) or of the foreground.

    Returns
    -------
    window : tuple of slice
        The window's rows and columns.
    score : int
        ``|regions(first) - regions(target)| - |regions(second) - regions(target)|`` in
        the window: positive where `second` is closer; 0 when no window tells them apart.

    Examples
    --------
    >>> truth = np.zeros((9, 9), bool); truth[4] = True
    >>> broken = truth.copy(); broken[4, 4] = False
    >>> find_zoom(truth, broken, truth, size=5)
    ((slice(2, 7, None), slice(2, 7, None)), 1)
    """
    target, first, second = (np.asarray(a) != 0 for a in (target, first, second))
    if target.ndim != 2 or first.shape != target.shape or second.shape != target.shape:
        raise ValueError(f"`target`, `first` and `second` must be 2-D of one shape; got "
                         f"{target.shape}, {first.shape} and {second.shape}")
    if regions not in ("background", "foreground"):
        raise ValueError(f"`regions` must be 'background' or 'foreground'; got {regions!r}")
    size = int(min(size, *target.shape))
    half = size // 2
    candidates = (target & ~first & second) | (~target & first & ~second)
    labels, count = ndimage.label(candidates, structure=np.ones((3, 3)))
    best = ((0, False, -1), (slice(0, size), slice(0, size)))
    for k, where in enumerate(ndimage.find_objects(labels), start=1):
        rows, cols = np.nonzero(labels[where] == k)
        r = int(round(rows.mean())) + where[0].start
        c = int(round(cols.mean())) + where[1].start
        r0 = min(max(r - half, 0), target.shape[0] - size)
        c0 = min(max(c - half, 0), target.shape[1] - size)
        window = (slice(r0, r0 + size), slice(c0, c0 + size))
        truth = _regions_in(target[window], regions)
        found = _regions_in(first[window], regions)
        score = abs(found - truth) - abs(_regions_in(second[window], regions) - truth)
        # among equal scores, a merge (regions lost: a broken wall) before a split, then
        # the larger difference in pixels
        key = (score, found < truth, len(rows))
        if key > best[0]:
            best = (key, window)
    return best[1], max(int(best[0][0]), 0)


def _errors(ax, prediction, target, title, window=None):
    """A binary prediction in black and white, its misses vermilion, its extras blue."""
    if window is not None:
        prediction, target = prediction[window], target[window]
    image = np.where(prediction, 0.12, 1.0)
    rgba = np.dstack([image, image, image, np.ones_like(image)])
    rgba[target & ~prediction] = mcolors.to_rgba(COLOURS["missed"])
    rgba[~target & prediction] = mcolors.to_rgba(COLOURS["extra"])
    ax.imshow(rgba, interpolation="nearest")
    _image_axes(ax, prediction.shape, title)


def _regions_panel(ax, binary, window, regions, title):
    """The regions inside `window`, each in its own colour: a merge shows as one colour
    across a wall of the truth, a split as two colours in one cell."""
    crop = binary[window]
    if regions == "background":
        labels = ndimage.label(~crop, structure=np.ones((3, 3)))[0]
        rgba = np.zeros((*crop.shape, 4))
        rgba[..., 3] = 1.0
        rgba[crop] = mcolors.to_rgba("#1A1A1A")
    else:
        labels = ndimage.label(crop)[0]
        rgba = np.ones((*crop.shape, 4))
    if labels.max():
        # colour regions apart from their neighbours across the walls: grow every region
        # into the walls first (nearest region), then colour the grown map
        _, nearest = ndimage.distance_transform_edt(labels == 0, return_indices=True)
        colour = _colouring(labels[tuple(nearest)])
        inside = labels > 0
        rgba[inside] = _BASIN_PALETTE[colour[labels[inside]]]
    ax.imshow(rgba, interpolation="nearest")
    _image_axes(ax, crop.shape, title)
    return int(labels.max())


def comparison_figure(image, target, likelihoods, path, *, structures=None, window=None,
                      title=None, regions="background", dpi=200):
    """Write the figure of a loss comparison: the data, each method's prediction and a zoom.

    Top row: the input image, the ground truth, and each method's prediction
    (likelihood >= 0.5) with the structure pixels it missed in vermilion and the ones it
    added in blue. Bottom row, in the zoom `window` (framed in yellow above): the first
    method's likelihood with its ridges (vermilion), basin boundaries (blue) or both
    (purple) when `structures` is given -- where the DMT-loss looks -- then the truth
    and each prediction with every region in its own colour, so that cells merged
    through a broken wall share one colour.

    Parameters
    ----------
    image : (M, N) or (M, N, 3) array_like
        The network's input, greyscale or RGB (colour last, values in [0, 1]).
    target : (M, N) array_like of bool
        The ground truth.
    likelihoods : dict of str to (M, N) array_like
        Each method's predicted likelihood, in order (two or three read best).
    path : str or os.PathLike
        Where to write; the format follows the suffix. Written whole or not at all.
    structures : MorseStructures, optional
        The structures of the first likelihood (whole image), drawn bottom left.
    window : tuple of two slices, optional
        The zoom; default: :func:`find_zoom` between the first and the last method.
    title : str, optional
        A title over the whole figure.
    regions : {"background", "foreground"}, optional
        The regions coloured in the zoom: the cells between membranes, or the
        foreground's components (vessels).
    dpi : int, optional
        Resolution of raster formats.

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    ValueError
        On shapes that differ, fewer than one method, or a format matplotlib cannot write.
    OSError
        If the file cannot be written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> truth = np.zeros((16, 16), bool); truth[8] = True
    >>> broken = truth * 0.9; broken[8, 8] = 0.2
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = comparison_figure(truth * 1.0, truth, {"BCE": broken, "DMT": truth * 0.9},
    ...                             pathlib.Path(tmp) / "c.png")
    ...     out.read_bytes()[:4]
    b'\\x89PNG'
    """
    shown = np.asarray(image, dtype=float)
    truth = np.asarray(target) != 0
    colour = shown.ndim == 3 and shown.shape[-1] == 3
    values = shown[..., 0] if colour else shown  # the spatial shape
    if values.ndim != 2 or truth.shape != values.shape:
        raise ValueError(f"`image` and `target` must be 2-D of one shape (the image may have 3 colour "
                         f"channels last); got {shown.shape} and {truth.shape}")
    if not likelihoods:
        raise ValueError("`likelihoods` must hold at least one method's prediction")
    predicted = {}
    for name, likelihood in likelihoods.items():
        likelihood = np.asarray(likelihood, dtype=float)
        if likelihood.shape != values.shape:
            raise ValueError(f"likelihood {name!r} must have the image's shape {values.shape}; "
                             f"got {likelihood.shape}")
        predicted[name] = likelihood >= 0.5
    names = list(predicted)
    if window is None:
        window, _ = find_zoom(truth, predicted[names[0]], predicted[names[-1]],
                              size=max(16, min(values.shape) // 6), regions=regions)
    columns = 2 + len(names)
    path, suffix, fig = _new_figure(path, (1.9 * columns, 4.3))

    def frame(ax):
        r, c = window
        ax.add_patch(Rectangle(
            (c.start - 0.5, r.start - 0.5), c.stop - c.start, r.stop - r.start, fill=False,
            edgecolor=COLOURS["highlight"], lw=1.2,
            path_effects=[patheffects.withStroke(linewidth=2.4, foreground="black")]))

    with _rc_context():
        grid = fig.subplots(2, columns)
        letters = iter("abcdefghijklmnop")
        grid[0, 0].imshow(np.clip(shown, 0, 1) if colour else shown, cmap=None if colour else "gray",
                          interpolation="nearest")
        _image_axes(grid[0, 0], values.shape, f"({next(letters)}) image")
        _errors(grid[0, 1], truth, truth, f"({next(letters)}) ground truth")
        frame(grid[0, 0])
        frame(grid[0, 1])
        for k, name in enumerate(names):
            _errors(grid[0, 2 + k], predicted[name], truth, f"({next(letters)}) {name}")
            frame(grid[0, 2 + k])
        if structures is not None:
            # the first method's likelihood and its Morse structures, in the zoom: where the
            # DMT-loss looks when that likelihood is the network's
            first = np.asarray(likelihoods[names[0]], dtype=float)
            ax = grid[1, 0]
            _backdrop(ax, first[window])
            ridges, boundaries = structures.ridges[window], structures.boundaries[window]
            _overlay(ax, [(ridges, COLOURS["ridges"]), (boundaries, COLOURS["boundaries"]),
                          (ridges & boundaries, COLOURS["both"])], ridges.shape)
            _image_axes(ax, ridges.shape, f"({next(letters)}) zoom: {names[0]} structures")
        else:
            grid[1, 0].set_axis_off()
        count = _regions_panel(grid[1, 1], truth, window, regions, "")
        grid[1, 1].set_title(f"({next(letters)}) zoom: truth, {_count(count, 'region', 'regions')}")
        for k, name in enumerate(names):
            count = _regions_panel(grid[1, 2 + k], predicted[name], window, regions, "")
            grid[1, 2 + k].set_title(f"({next(letters)}) zoom: {name}, {_count(count, 'region', 'regions')}")
        handles = [Patch(color=COLOURS["missed"], label="missed structure"),
                   Patch(color=COLOURS["extra"], label="extra structure"),
                   Patch(facecolor="none", edgecolor=COLOURS["highlight"], label="zoom")]
        if structures is not None:
            handles += [Patch(color=COLOURS["ridges"], label="ridges"),
                        Patch(color=COLOURS["boundaries"], label="boundaries"),
                        Patch(color=COLOURS["both"], label="both")]
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False)
        if title:
            fig.suptitle(title, fontsize=10)
        _save(fig, path, suffix, dpi)
    return path


def _curve_keys(histories):
    present = {key for history in histories.values() for row in history for key in row}
    keys = ["train_loss"] if "train_loss" in present else []
    keys += sorted(k for k in present if k.startswith("val_") and not k.endswith(("_std", "_seconds"))
                   and k != "val_seconds")
    if "mask_fraction" in present:
        keys.append("mask_fraction")
    return keys


_CURVE_LABELS = {"train_loss": "training loss (each run's own)", "mask_fraction": "DMT mask / pixels"}


def training_curves(histories, path, *, starts=None, keys=None, title=None, dpi=100):
    """Draw training curves, one panel per logged quantity, one line per run, and write them.

    Parameters
    ----------
    histories : dict of str to list of dict
        Per run, its per-epoch rows, as ``TrainResult.history`` or the ``"history"`` of a
        run's ``history.json`` (each row has ``"step"``).
    path : str or os.PathLike
        Where to write; the suffix picks the format (.png, .pdf, .svg, ...).
    starts : dict of str to int, optional
        A step offset per run, e.g. the pretraining's length for runs fine-tuned from it,
        so that each continues where its start left off.
    keys : sequence of str, optional
        The quantities to draw; default: ``train_loss``, the validation metrics
        (``val_*``) and the DMT mask's share of the pixels (``mask_fraction``), those
        present in some run.
    title : str, optional
    dpi : int, optional

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    ValueError
        If `histories` is empty, a run has no rows, or a key is logged by no run.
    OSError
        If the file cannot be written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> runs = {"bce": [{"step": 10, "train_loss": 0.5}, {"step": 20, "train_loss": 0.3}]}
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = training_curves(runs, pathlib.Path(tmp) / "curves.png")
    ...     out.read_bytes()[:4]
    b'\\x89PNG'
    """
    if not isinstance(histories, dict) or not histories:
        raise ValueError("`histories` must be a non-empty dict of run name to its per-epoch rows")
    for name, history in histories.items():
        if not history or not all(isinstance(row, dict) and "step" in row for row in history):
            raise ValueError(f"`histories[{name!r}]` must be a non-empty list of dicts with a 'step'")
    starts = dict(starts or {})
    keys = list(keys) if keys is not None else _curve_keys(histories)
    if not keys:
        raise ValueError("`histories` log nothing to draw (no train_loss, val_* or mask_fraction)")
    for key in keys:
        if not any(key in row for history in histories.values() for row in history):
            raise ValueError(f"no run logs {key!r}")
    path, suffix, fig = _new_figure(path, (min(3.4 * len(keys), 10.5) + 1.2, 2.8))
    palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
    others = [name for name in histories if name != "pretrain"]
    styles = {name: (palette[k % len(palette)], ("-", "--", ":")[k // len(palette) % 3])
              for k, name in enumerate(others)}
    styles["pretrain"] = ("0.45", "-")  # the run the others start from, in grey
    with _rc_context():
        axes = np.atleast_1d(fig.subplots(1, len(keys)))
        for ax, key in zip(axes, keys):
            for name, history in histories.items():
                rows = [row for row in history if key in row and row[key] is not None]
                if not rows:
                    continue
                x = [row["step"] + starts.get(name, 0) for row in rows]
                y = [row[key] for row in rows]
                colour, style = styles[name]
                ax.plot(x, y, marker="o" if len(rows) < 30 else None, ms=2.5, lw=1.1, color=colour, ls=style,
                        label=name)
            ax.set_xlabel("step")
            ax.set_title(_CURVE_LABELS.get(key, key.replace("_", " ")))
            values = [row[key] for history in histories.values() for row in history if row.get(key)]
            if key == "train_loss" and values and min(values) > 0 and max(values) / min(values) > 20:
                ax.set_yscale("log")
            ax.grid(True, lw=0.3, color="0.85")
        handles = {}
        for ax in axes:
            for line in ax.get_lines():
                handles.setdefault(line.get_label(), line)
        fig.legend(list(handles.values()), list(handles), loc="outside right upper", frameon=False, fontsize=7)
        if title:
            fig.suptitle(title, fontsize=9)
        _save(fig, path, suffix, dpi)
    return path


def _new_figure(path, figsize):
    """A constrained-layout figure on an Agg canvas, after checking that `path` can take it.

    Returns ``(path, suffix, fig)``; fails before any drawing on a format matplotlib
    cannot write or a folder that does not exist.
    """
    path = pathlib.Path(os.fspath(path))
    suffix = path.suffix.lower().lstrip(".")
    fig = Figure(figsize=figsize, layout="constrained")
    supported = FigureCanvasAgg(fig).get_supported_filetypes()
    if suffix not in supported:
        raise ValueError(f"`path` must end in one of {', '.join('.' + s for s in sorted(supported))}; "
                         f"got {path.name!r}")
    if not path.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, "no such directory", str(path.parent))
    return path, suffix, fig


def _save(fig, path, suffix, dpi):
    """Write `fig` whole or not at all: to a temporary file, then renamed over `path`."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        fig.savefig(tmp, dpi=dpi, format=suffix, facecolor="white")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        fig.clear()


def _rc_context():
    import matplotlib

    return matplotlib.rc_context(_RC)
