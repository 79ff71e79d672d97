"""asv suite: the topological quality of a short, seeded training with BCE and with the DMT-loss.

What the loss is for, tracked across commits: a U-Net is pretrained with BCE on seeded
synthetic membranes (:func:`dmtloss.data.synthetic_membranes`: noisy walls weakened in
places), then the same state is fine-tuned once with BCE and once with
``BCE + 3 x DMT`` (epsilon 0.2), with the same patches and schedule, by
:func:`dmtloss.study.compare_losses`; both predict seeded validation images and the
paper's metrics are measured on them. A change to the engine, the loss, the trainer or
the metrics that moves these numbers shows up here.

The training happens once, in ``setup_cache`` (asv runs it in its own process and hands
its return value, a dict of plain numbers, to every ``track_`` method); one torch thread
and the CPU are used so that a commit's numbers do not depend on the machine's core count.

Scales (:data:`SCALES`)

``tiny`` (default)
    4 BCE steps, 2 steps per arm, width-4 U-Net on 48^2 images: a few seconds, for the
    CI smoke test (``tests/test_benchmarks.py``) and ``asv run --quick``. Its numbers
    only show that the pipeline runs.
``full`` (``DMTLOSS_BENCH_FULL=1``)
    1000 BCE steps, then 300 steps per arm, width-8 U-Net, 8 training and 8 validation
    images of 128^2: two to three minutes of one CPU core in all (timed on a few steps:
    0.07-0.14 s per BCE step, 0.10 s per DMT step).

Tracked (lower is better for all)

=================================  ==========================================================
``track_betti_error_bce/_dmt``     Betti error b1 (cells, per 64^2 patch) after each arm
``track_betti_error_ratio``        DMT's Betti error b1 over BCE's (NaN when BCE's is 0)
``track_missing_holes_bce/_dmt``   cells merged through broken walls, per patch
``track_extra_holes_bce/_dmt``     spurious holes, per patch
``track_adapted_rand_error_*``     1 - the adapted Rand index of the cells (ARE)
=================================  ==========================================================

The loss's own cost beside BCE is in :mod:`benchmarks.loss`; the engines' exactness
(fast against reference, cell for cell) in :mod:`benchmarks.engines`.
"""

import math
import tempfile

from .engines import full_grid

__all__ = ["SCALES", "SEED", "EPSILON", "BETA", "scale", "short_training", "ShortTraining"]

#: Seed of the training images (validation: SEED + 1), of the weights and of the patches.
SEED = 0
EPSILON, BETA = 0.2, 3.0
#: The two sizes of the training; ``full`` when ``DMTLOSS_BENCH_FULL=1``.
SCALES = {
    "tiny": {"train_images": 2, "val_images": 2, "side": 48, "width": 4, "depth": 2, "patch_size": 32,
             "batch_size": 2, "pretrain_steps": 4, "steps": 2, "n_patches": 10},
    "full": {"train_images": 8, "val_images": 8, "side": 128, "width": 8, "depth": 3, "patch_size": 96,
             "batch_size": 8, "pretrain_steps": 1000, "steps": 300, "n_patches": 100},
}
#: The metrics kept from each arm (keys of dmtloss.metrics.image_metrics), averaged over images.
KEPT = ("betti1", "betti0", "missing_holes", "extra_holes", "are", "dice")


def scale():
    """``"full"`` when ``DMTLOSS_BENCH_FULL=1``, else ``"tiny"``."""
    return "full" if full_grid() else "tiny"


def short_training(size=None):
    """Pretrain with BCE, fine-tune with BCE and with DMT, measure both (seeded, one thread).

    Parameters
    ----------
    size : {"tiny", "full"}, optional
        Default: :func:`scale`.

    Returns
    -------
    results : dict
        ``"scale"``, ``"seconds"`` (pretraining and each arm) and, per arm (``"bce"``,
        ``"dmt"``), the mean over validation images of each metric of :data:`KEPT`.
    """
    import numpy as np
    import torch

    from dmtloss.data import synthetic_membranes
    from dmtloss.study import compare_losses
    from dmtloss.train import TrainConfig

    size = size or scale()
    p = SCALES[size]
    shape = (p["side"], p["side"])
    train_set = synthetic_membranes(p["train_images"], shape, seed=SEED)
    val_set = synthetic_membranes(p["val_images"], shape, seed=SEED + 1)
    common = dict(width=p["width"], depth=p["depth"], patch_size=p["patch_size"], batch_size=p["batch_size"],
                  seed=SEED, device="cpu", epsilon=EPSILON, beta=BETA, workers=1)
    pretrain = TrainConfig(loss="bce", steps=p["pretrain_steps"], steps_per_epoch=p["pretrain_steps"],
                           lr=1e-3, lr_schedule="constant", **common)
    arms = {loss: TrainConfig(loss=loss, steps=p["steps"], steps_per_epoch=p["steps"], lr=5e-4,
                              lr_schedule="linear", **common) for loss in ("bce", "dmt")}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            comparison = compare_losses(train_set, val_set, pretrain, arms, out_dir=tmp, progress=False,
                                        metric_options={"n_patches": p["n_patches"], "seed": SEED})
    finally:
        torch.set_num_threads(threads)
    results = {"scale": size, "seconds": {k: float(v) for k, v in comparison.seconds.items()}}
    for arm in arms:
        results[arm] = {key: float(np.mean([row[key] for row in comparison.rows[arm]])) for key in KEPT}
    return results


class ShortTraining:
    """Quality of BCE and DMT fine-tunings of one pretrained U-Net (see the module docstring)."""

    timeout = 900.0  # setup_cache included: the full scale takes two to three minutes of one core

    def setup_cache(self):
        return short_training()

    def track_betti_error_bce(self, results):
        return results["bce"]["betti1"]

    def track_betti_error_dmt(self, results):
        return results["dmt"]["betti1"]

    def track_betti_error_ratio(self, results):
        bce = results["bce"]["betti1"]
        return results["dmt"]["betti1"] / bce if bce > 0 else math.nan

    def track_missing_holes_bce(self, results):
        return results["bce"]["missing_holes"]

    def track_missing_holes_dmt(self, results):
        return results["dmt"]["missing_holes"]

    def track_extra_holes_bce(self, results):
        return results["bce"]["extra_holes"]

    def track_extra_holes_dmt(self, results):
        return results["dmt"]["extra_holes"]

    def track_adapted_rand_error_bce(self, results):
        return results["bce"]["are"]

    def track_adapted_rand_error_dmt(self, results):
        return results["dmt"]["are"]

    track_betti_error_bce.unit = track_betti_error_dmt.unit = "holes per patch"
    track_betti_error_ratio.unit = "DMT / BCE"
    track_missing_holes_bce.unit = track_missing_holes_dmt.unit = "holes per patch"
    track_extra_holes_bce.unit = track_extra_holes_dmt.unit = "holes per patch"
    track_adapted_rand_error_bce.unit = track_adapted_rand_error_dmt.unit = "1 - ARI"

