"""Draw the figure of docs/spec.md: the 4 x 4 worked example, cell by cell.

Run from anywhere::

    python docs/figures/make_spec_figures.py

It writes ``docs/figures/spec_cells.png`` next to this file. Everything drawn is computed
by :mod:`dmtloss.reference` (nothing is typed in by hand but the image itself), so the
figure cannot drift from the code. The output is deterministic: Agg backend, fixed
sizes, no timestamps in the PNG metadata.

Panels
------
(a) The complex in doubled coordinates at epsilon = 0: vertices (coloured by value,
    labelled with their rank and value), edges, squares, the gradient pairs as arrows
    (vertex -> edge, edge -> square) and the critical cells.
(b) The structures at epsilon = 0 over the likelihood: ridges, separating edges and the
    boundary pixels, the non-OUTSIDE basin.
(c) The same at epsilon = 0.25, where the loop is cancelled and the ridge that is left
    takes the route chosen by the tie rule.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch, Polygon  # noqa: E402

from dmtloss.reference import morse_structures  # noqa: E402
from dmtloss.reference.complex import CubicalComplex  # noqa: E402
from dmtloss.reference.persistence import persistence_pairs_of  # noqa: E402
from dmtloss.reference.simplify import simplify  # noqa: E402

#: The 4 x 4 example of docs/spec.md, section 7(b). It is symmetric under transposition;
#: only the tie rule makes the answer asymmetric.
EXAMPLE_4X4 = np.array(
    [[1.00, 0.50, 0.50, 0.00],
     [0.50, 0.25, 0.50, 0.00],
     [0.50, 0.50, 1.00, 0.00],
     [0.00, 0.00, 0.00, 0.00]]
)

OUT = Path(__file__).resolve().parent / "spec_cells.png"
CMAP = plt.get_cmap("YlGnBu")
RIDGE = "#d62728"
BOUNDARY = "#1f5fbf"
ARROW_VE = "#222222"
ARROW_ES = "#e07b00"


def xy(cell):
    """Plot position of a cell given in doubled coordinates: x = column, y = row (pixels)."""
    return cell[1] / 2.0, cell[0] / 2.0


def colour(value):
    return CMAP(0.12 + 0.8 * value)


def draw_cells(ax, cx, field):
    """Panel (a): the cubical complex, the gradient pairs and the critical cells."""
    critical = set(field.critical_cells())
    for sq in cx.cells(2):
        x, y = xy(sq)
        ax.add_patch(Polygon([(x - .5, y - .5), (x + .5, y - .5), (x + .5, y + .5), (x - .5, y + .5)],
                             closed=True, facecolor=colour(cx.value(sq)), alpha=0.35, lw=0, zorder=0))
        if sq in critical:
            ax.add_patch(Polygon([(x - .42, y - .42), (x + .42, y - .42), (x + .42, y + .42), (x - .42, y + .42)],
                                 closed=True, fill=False, hatch="////", edgecolor=RIDGE, lw=1.2, zorder=1))
    for e in cx.cells(1):
        (r0, c0), (r1, c1) = cx.vertices(e)
        crit = e in critical
        ax.plot([c0, c1], [r0, r1], color=RIDGE if crit else "#9a9a9a", lw=4.5 if crit else 1.2,
                solid_capstyle="butt", zorder=2)
    # gradient pairs: alpha -> V(alpha), drawn from the lower cell towards its partner
    for alpha, beta in field.up.items():
        (x0, y0), (x1, y1) = xy(alpha), xy(beta)
        is_ve = cx.dim(alpha) == 0
        shrink_a, shrink_b = (11, 2) if is_ve else (3, 3)
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0), zorder=4,
                    arrowprops=dict(arrowstyle="-|>", color=ARROW_VE if is_ve else ARROW_ES,
                                    lw=1.6, mutation_scale=11, shrinkA=shrink_a, shrinkB=shrink_b))
    for v in cx.cells(0):
        x, y = xy(v)
        pixel = cx.pixel(v)
        value, rank = cx.values[pixel], int(cx.rank[pixel])
        if v in critical:
            ax.scatter([x], [y], s=720, facecolor="none", edgecolor=RIDGE, lw=2.4, zorder=5)
        ax.scatter([x], [y], s=330, color=colour(value), edgecolor="black", lw=0.8, zorder=6)
        ax.text(x, y, str(rank), ha="center", va="center", fontsize=8.5, zorder=7,
                color="white" if value >= 0.5 else "black", fontweight="bold")
        ax.text(x + 0.13, y - 0.2, f"{value:g}", ha="left", va="bottom", fontsize=7, color="#333333", zorder=7,
                bbox=dict(boxstyle="square,pad=0.05", fc="white", ec="none", alpha=0.7))
    ticks = np.arange(0, 3.5, 0.5)
    ax.set_xticks(ticks, [str(int(2 * t)) for t in ticks])
    ax.set_yticks(ticks, [str(int(2 * t)) for t in ticks])
    ax.set_xlabel("doubled column $c_2$")
    ax.set_ylabel("doubled row $c_1$")
    ax.set_title("(a) cells, gradient and critical cells, $\\varepsilon = 0$", fontsize=10)
    ax.legend(handles=[
        Line2D([], [], marker="o", ls="", ms=9, mfc=colour(0.5), mec="black", label="vertex: rank (in dot), value"),
        Line2D([], [], marker="o", ls="", ms=13, mfc="none", mec=RIDGE, mew=2, label="critical vertex"),
        Line2D([], [], color=RIDGE, lw=4, label="critical edge"),
        Patch(facecolor="none", edgecolor=RIDGE, hatch="////", label="critical square"),
        Line2D([], [], color=ARROW_VE, lw=1.6, marker=">", ms=5, label="pair vertex $\\to$ edge"),
        Line2D([], [], color=ARROW_ES, lw=1.6, marker=">", ms=5, label="pair edge $\\to$ square"),
    ], loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize=7.5, frameon=False)


def ridge_cells(cx, field, pairs, epsilon):
    """The edges of every ridge at `epsilon`: (critical edge, [edges of its V-paths], persistence).

    The same walk as :func:`dmtloss.reference.structures.morse_structures` does for its
    ``ridges`` mask, kept here with the cells so that the paths can be drawn.
    """
    out = []
    for p in pairs:
        edge = p["death"] if p["dim"] == 0 else p["birth"]
        if edge is None or cx.dim(edge) != 1 or not p["persistence"] > epsilon:
            continue
        path = []
        for vertex in cx.facets(edge):
            while vertex in field.up:
                up = field.up[vertex]
                path.append(up)
                vertex = next(v for v in cx.facets(up) if v != vertex)
        out.append((edge, path, p["persistence"]))
    return out


def draw_structures(ax, cx, s, ridges, title):
    """Panels (b) and (c): the masks over the likelihood."""
    ax.imshow(cx.values, cmap=CMAP, vmin=-0.15, vmax=1.1, extent=(-.5, 3.5, 3.5, -.5), alpha=0.55, zorder=0)
    for (i, j), value in np.ndenumerate(cx.values):
        ax.text(j + .42, i + .42, f"{value:g}", ha="right", va="bottom", fontsize=7, color="#333333", zorder=6)
    # the top cells of non-OUTSIDE basins lie between the pixel centres
    for (i, j), k in np.ndenumerate(s.basins):
        if k:
            ax.add_patch(Polygon([(j, i), (j + 1, i), (j + 1, i + 1), (j, i + 1)], closed=True, fill=False,
                                 hatch="...", edgecolor="#777777", lw=0, zorder=1))
    for k in range(1, s.basins.max() + 1):
        (i, j), = np.argwhere(s.basins == k)[:1]
        ax.text(j + .5, i + .5, f"basin {k}", ha="center", va="center", fontsize=7.5, zorder=2,
                bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="#777777", lw=0.5))
    # separating edges: interior edges whose two squares are in different basins
    padded = np.pad(s.basins, 1)  # 0 = OUTSIDE, also beyond the frame
    separated = np.zeros(cx.shape, dtype=bool)
    for e in cx.cells(1):
        if cx.on_border(e) and not s.frame:
            continue
        (r0, c0), (r1, c1) = cx.vertices(e)
        if r0 == r1:  # horizontal edge: the squares above and below it
            a, b = padded[r0, c0 + 1], padded[r0 + 1, c0 + 1]
        else:  # vertical edge: the squares left and right of it
            a, b = padded[r0 + 1, c0], padded[r0 + 1, c0 + 1]
        if a != b:
            separated[r0, c0] = separated[r1, c1] = True
            ax.plot([c0, c1], [r0, r1], color=BOUNDARY, lw=7, alpha=0.45, solid_capstyle="round", zorder=3)
    assert np.array_equal(separated, s.boundaries)  # what is drawn is what the engine reports
    rr, cc = np.nonzero(s.boundaries)
    ax.scatter(cc, rr, s=520, facecolor="none", edgecolor=BOUNDARY, lw=2, marker="s", zorder=4)
    # ridges: the critical edge (thick) and the V-paths from its endpoints (thin)
    for edge, path, persistence in ridges:
        for cell, lw in [(edge, 4.5)] + [(c, 2.2) for c in path]:
            (r0, c0), (r1, c1) = cx.vertices(cell)
            ax.plot([c0, c1], [r0, r1], color=RIDGE, lw=lw, solid_capstyle="round", zorder=5)
        (r0, c0), (r1, c1) = cx.vertices(edge)
        horizontal = r0 == r1
        ax.text((c0 + c1) / 2 + (0 if horizontal else 0.14), (r0 + r1) / 2 - (0.14 if horizontal else 0),
                f"persistence {persistence:g}", ha="center" if horizontal else "left",
                va="bottom" if horizontal else "center", fontsize=7, color=RIDGE, zorder=8,
                bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.85))
    rr, cc = np.nonzero(s.ridges)
    ax.scatter(cc, rr, s=110, color=RIDGE, edgecolor="white", lw=1, zorder=7)
    ax.set_xticks(range(4))
    ax.set_yticks(range(4))
    ax.set_xlim(-.5, 3.5)
    ax.set_ylim(3.5, -.5)
    ax.set_aspect("equal")
    ax.set_xlabel("pixel column")
    ax.set_ylabel("pixel row")
    ax.set_title(title, fontsize=10)


def main(out=OUT):
    cx = CubicalComplex(EXAMPLE_4X4)
    _, pairs = persistence_pairs_of(cx)
    fields = {eps: simplify(cx, pairs, eps) for eps in (0.0, 0.25)}
    assert not any(unc for _, unc in fields.values())
    structures = {eps: morse_structures(EXAMPLE_4X4, epsilon=eps) for eps in fields}

    plt.rcParams.update({"font.size": 8.5, "axes.linewidth": 0.6})
    fig, axes = plt.subplots(1, 3, figsize=(12.0, 4.7))
    ax = axes[0]
    ax.set_xlim(-.4, 3.4)
    ax.set_ylim(3.4, -.4)
    ax.set_aspect("equal")
    draw_cells(ax, cx, fields[0.0][0])
    ridges = {eps: ridge_cells(cx, fields[eps][0], pairs, eps) for eps in fields}
    for eps, found in ridges.items():  # what is drawn is what the engine reports
        drawn = np.zeros(cx.shape, dtype=bool)
        for edge, path, _ in found:
            for cell in [edge] + path:
                for v in cx.vertices(cell):
                    drawn[v] = True
        assert np.array_equal(drawn, structures[eps].ridges)
    for ax, eps, title in [(axes[1], 0.0, "(b) $\\varepsilon = 0$: ridges and boundaries"),
                           (axes[2], 0.25, "(c) $\\varepsilon = 0.25$: the loop is cancelled")]:
        draw_structures(ax, cx, structures[eps], ridges[eps], title)
    axes[1].legend(handles=[
        Line2D([], [], color=RIDGE, lw=4.5, label="critical edge of a ridge"),
        Line2D([], [], color=RIDGE, lw=2.2, marker="o", ms=7, mec="white", label="its V-paths; ridge pixels"),
        Line2D([], [], color=BOUNDARY, lw=6, alpha=0.45, label="separating edge"),
        Line2D([], [], marker="s", ls="", ms=12, mfc="none", mec=BOUNDARY, mew=2, label="boundary pixel"),
        Patch(facecolor="none", edgecolor="#777777", hatch="...", label="squares of a basin $k \\geq 1$"),
    ], loc="upper center", bbox_to_anchor=(1.1, -0.12), ncol=3, fontsize=7.5, frameon=False)
    fig.subplots_adjust(left=0.045, right=0.995, top=0.94, bottom=0.22, wspace=0.22)
    fig.savefig(out, dpi=130, metadata={"Software": None})
    plt.close(fig)
    return out


if __name__ == "__main__":
    print(main())
