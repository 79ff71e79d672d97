"""Epsilon and beta of the DMT-loss on the synthetic membranes of ``dmtloss demo``.

Fine-tunes the demo's BCE-pretrained network once per setting (epsilon 0.1 and 0.3 at
beta 3, beta 2 and 4 at epsilon 0.2), with the demo's data, patches and schedule, and
compares each with the demo's BCE and DMT arms image by image (docs/results.md)::

    dmtloss demo --out-dir dmtloss-demo              # the BCE pretraining and both arms
    python experiments/membranes_ablation.py dmtloss-demo docs/figures/results/membranes-epsilon-beta.png

About four minutes on two CPU cores, after the demo.
"""

import dataclasses
import json
import pathlib
import sys

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from dmtloss.data import VAL_SEED_OFFSET, synthetic_membranes
from dmtloss.study import compare_losses, paired_test
from dmtloss.train import load_checkpoint

ARMS = {"eps01": dict(epsilon=0.1), "eps03": dict(epsilon=0.3), "beta2": dict(beta=2.0), "beta4": dict(beta=4.0)}


def main(demo_dir, figure):
    demo_dir = pathlib.Path(demo_dir)
    _, dmt, _ = load_checkpoint(demo_dir / "DMT" / "last.pt")
    # the demo's data (dmtloss demo defaults: seed 0, 60 weak walls, noise 0.4)
    train = synthetic_membranes(16, (256, 256), seed=0, gap_count=60, noise=0.4)
    val = synthetic_membranes(24, (256, 256), seed=VAL_SEED_OFFSET, gap_count=60, noise=0.4)
    configs = {name: dataclasses.replace(dmt, **change) for name, change in ARMS.items()}
    result = compare_losses(train, val, None, configs, out_dir=demo_dir / "ablation",
                            init=demo_dir / "pretrain" / "last.pt", progress=False)
    demo = json.loads((demo_dir / "metrics.json").read_text())["rows"]
    rows = {"BCE": demo["BCE"], "eps02-beta3": demo["DMT"], **result.rows}
    for name, arm in rows.items():
        line = [name]
        for key in ("betti1", "missing_holes", "extra_holes", "are", "dice"):
            base = [r[key] for r in demo["BCE"]]
            values = [r[key] for r in arm]
            diff, lower, higher, p = paired_test(base, values)
            line.append(f"{key} {np.mean(values):.3f} +- {np.std(values):.3f} "
                        f"({diff:+.3f}, lower/higher {lower}/{higher}, p {p:.2g})")
        print(" | ".join(line), flush=True)
    _figure(rows, figure)


def _figure(rows, path):
    def stat(name):
        v = np.array([r["betti1"] for r in rows[name]])
        return v.mean(), v.std() / np.sqrt(len(v))

    fig = Figure(figsize=(6.4, 2.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2, sharey=True)
    bce, se = stat("BCE")
    panels = [("$\\varepsilon$ ($\\beta$ = 3)", [0.1, 0.2, 0.3], ["eps01", "eps02-beta3", "eps03"]),
              ("$\\beta$ ($\\varepsilon$ = 0.2)", [2, 3, 4], ["beta2", "eps02-beta3", "beta4"])]
    for ax, (label, xs, names) in zip(axes, panels):
        ax.axhspan(bce - se, bce + se, color="#BBBBBB", alpha=0.6, lw=0)
        ax.axhline(bce, color="#777777", lw=1, label="BCE (mean $\\pm$ s.e.)")
        means = [stat(n) for n in names]
        ax.errorbar(xs, [m for m, _ in means], yerr=[s for _, s in means], color="#D55E00", marker="o",
                    capsize=3, label="DMT")
        ax.set_xlabel(label)
        ax.set_xticks(xs)
    axes[0].set_ylabel("Betti error b1 (per 64$^2$ patch)")
    axes[0].legend(frameon=False, fontsize=7, loc="lower left")
    fig.suptitle("Synthetic membranes (dmtloss demo data): DMT fine-tuning vs $\\varepsilon$ and $\\beta$, "
                 f"{len(rows['BCE'])} images", fontsize=8)
    fig.savefig(path, dpi=150, facecolor="white")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "dmtloss-demo",
         sys.argv[2] if len(sys.argv) > 2 else "membranes-epsilon-beta.png")
