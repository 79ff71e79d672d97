"""Draw the figure of docs/conformance.md, section "The authors' pipeline".

Run from the repository root::

    python docs/figures/make_authors_figure.py

It writes ``docs/figures/authors_ridges.png``. Everything drawn comes from the recorded
outputs of the authors' pipeline (``conformance/data/authors``) and from ``dmtloss.fast``
(equal to ``dmtloss.reference`` cell for cell) on the same quantised image, so the figure
cannot drift from the data. Deterministic: Agg backend, fixed sizes, no PNG metadata.

Rows: one recorded case each. Columns: the image; the contract's ridges on the 255-level
image the pipeline sees, at ``epsilon = T``; the pipeline's ridges at ``T``; the
difference (pixels only in the contract's, only in the pipeline's).
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from dmtloss.conformance import authors  # noqa: E402
from dmtloss import fast  # noqa: E402

OUT = Path(__file__).resolve().parent / "authors_ridges.png"
ROWS = [("membrane_likelihood_64x64", 51), ("distinct_12x12", 0)]


def main():
    cases = {c["name"]: c for c in authors.load_recorded()}
    fig, axes = plt.subplots(len(ROWS), 4, figsize=(10, 3.1 * len(ROWS)), dpi=80)
    diff_map = ListedColormap(["white", "#d62728", "#1f77b4", "black"])
    for row, (name, t) in zip(axes, ROWS):
        case = cases[name]
        x = np.asarray(case["x"], dtype=np.float64)
        ours = fast.morse_structures(authors.quantise(x), float(t)).ridges
        theirs = case["outputs"][t]["ridges"]
        row[0].imshow(x, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        row[0].set_title(f"{name}\nlikelihood", fontsize=9)
        row[1].imshow(ours, cmap="gray_r", interpolation="nearest")
        row[1].set_title(f"contract on Q = trunc(255 x), epsilon = {t}\n({int(ours.sum())} px)", fontsize=9)
        row[2].imshow(theirs, cmap="gray_r", interpolation="nearest")
        row[2].set_title(f"authors' pipeline, T = {t}\n({int(theirs.sum())} px)", fontsize=9)
        code = (ours & ~theirs) * 1 + (theirs & ~ours) * 2 + (ours & theirs) * 3
        row[3].imshow(code, cmap=diff_map, vmin=0, vmax=3, interpolation="nearest")
        row[3].set_title(f"difference: {int((ours & ~theirs).sum())} / {int((theirs & ~ours).sum())} px",
                         fontsize=9)
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.legend(handles=[Patch(color="black", label="both"), Patch(color="#d62728", label="contract only"),
                        Patch(color="#1f77b4", label="pipeline only")],
               loc="lower center", ncol=3, fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(OUT, metadata={"Software": None})
    plt.close(fig)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
