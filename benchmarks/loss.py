"""asv suites: the cost of the DMT-loss beside plain BCE, alone and in a training step.

Inputs (see :func:`make_logits`): seeded logits, a Gaussian-blurred random field per
image scaled to [-8, 8] (so the likelihood has blobs and ridges a few pixels wide, as a
network's output has, rather than white noise), and binary targets thresholded from a
field correlated with it. They are built, and the numba kernels of the fast engine
compiled (one ``DMTLoss`` call on a tiny batch, with 2 workers), in ``setup``; asv's
warm-up then makes one untimed call on the real batch.

``torch.set_num_threads`` is left at torch's default (one thread per physical core),
so BCE and the U-Net use every core; ``workers`` is the engine's thread count only.

Suites

===============  ===========================================================
``Loss``         forward + backward of ``DMTLoss(epsilon=0.2, beta=3.0)`` (workers 1
                 and 2) and of ``torch.nn.BCEWithLogitsLoss()`` on 1 x 1 x 128^2 and
                 8 x 1 x 256^2 batches; peak memory of the same
``UNetStep``     forward + backward + Adam step of the package's 2-D U-Net at the
                 demo's size (:class:`dmtloss.models.UNet`, widths 8-16-32, batch
                 norm) with BCE, and with the DMT-loss (which contains the BCE term)
===============  ===========================================================
"""

import functools

import numpy as np
import torch
from scipy import ndimage

from dmtloss import DMTLoss
from dmtloss.models import UNet

__all__ = ["BATCHES", "SEED", "EPSILON", "BETA", "make_logits", "make_targets", "make_batch",
           "warm_up", "make_loss", "make_step", "Loss", "UNetStep"]

#: Batches "N x H x W" (one channel), smallest first.
BATCHES = ["1x128x128", "8x256x256"]
#: Seed of the i-th image's logits is SEED + i (its target's, SEED + 1000 + i).
SEED = 0
EPSILON, BETA = 0.2, 3.0
LOGIT_RANGE = 8.0  # |logit| <= 8: likelihoods from 3e-4 to 1 - 3e-4
_SIGMA = 4.0        # blur of the random field (pixels)
_TARGET_NOISE = 0.5  # weight of the independent field in the target


def _field(shape, seed):
    field = ndimage.gaussian_filter(np.random.default_rng(seed).standard_normal(shape), _SIGMA, mode="wrap")
    field -= field.mean()
    return field / (field.std() or 1.0)


@functools.lru_cache(maxsize=4)
def make_logits(count, side):
    """(count, 1, side, side) float32 logits in [-8, 8], seeded (read-only; memoised)."""
    logits = np.stack([_field((side, side), SEED + i) for i in range(count)])[:, None]
    logits *= LOGIT_RANGE / np.abs(logits).max(axis=(1, 2, 3), keepdims=True)
    logits = logits.astype(np.float32)
    logits.setflags(write=False)
    return logits


@functools.lru_cache(maxsize=4)
def make_targets(count, side):
    """Binary targets: the sign of the logits' field plus an independent one (memoised)."""
    noise = np.stack([_field((side, side), SEED + 1000 + i) for i in range(count)])[:, None]
    targets = (make_logits(count, side) / LOGIT_RANGE + _TARGET_NOISE * noise / 4 > 0).astype(np.float32)
    targets.setflags(write=False)
    return targets


def parse_batch(batch):
    """``"8x256x256"`` -> ``(8, 256)``."""
    count, height, width = (int(n) for n in batch.split("x"))
    assert height == width, batch
    return count, height


def make_batch(batch):
    """Fresh leaf tensors ``(logits requiring grad, target)`` of a batch label."""
    count, side = parse_batch(batch)
    return (torch.tensor(make_logits(count, side), requires_grad=True),
            torch.from_numpy(make_targets(count, side).copy()))


def make_loss(loss, workers=None):
    """``"bce"``: BCEWithLogitsLoss; ``"dmt"``: DMTLoss(0.2, 3.0) with `workers` threads."""
    if loss == "bce":
        return torch.nn.BCEWithLogitsLoss()
    if loss == "dmt":
        return DMTLoss(epsilon=EPSILON, beta=BETA, workers=workers)
    raise ValueError(f"`loss` must be 'bce' or 'dmt'; got {loss!r}")


_warm = False


def warm_up():
    """Compile the fast engine's kernels: DMTLoss once on a tiny batch (once per process)."""
    global _warm
    if not _warm:
        logits = torch.tensor(_field((2, 1, 9, 11), 1), dtype=torch.float32, requires_grad=True)
        DMTLoss(epsilon=EPSILON, beta=BETA, workers=2)(logits, (logits > 0).float()).backward()
        _warm = True


def make_step(loss, batch, seed=SEED):
    """A training step ``step()`` of a freshly initialised, seeded U-Net on `batch`."""
    torch.manual_seed(seed)
    model = UNet(ndim=2, width=8, depth=3)  # the network of `dmtloss demo`
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    criterion = make_loss(loss)  # workers=None: the engine's default, one thread per CPU
    count, side = parse_batch(batch)
    # The network sees the likelihood of the seeded logits as its image (a stand-in).
    image = torch.sigmoid(torch.from_numpy(make_logits(count, side).copy()))
    target = torch.from_numpy(make_targets(count, side).copy())

    def step():
        optimizer.zero_grad(set_to_none=True)
        criterion(model(image), target).backward()
        optimizer.step()

    return step


class Loss:
    """Forward + backward of the loss alone on a batch of seeded logits."""

    params = (["bce", "dmt"], BATCHES, [1, 2])
    param_names = ("loss", "batch", "workers")
    number = 1
    repeat = (3, 10, 20.0)
    timeout = 120.0

    def setup(self, loss, batch, workers):
        if workers > 1 and (loss == "bce" or parse_batch(batch)[0] == 1):
            raise NotImplementedError("workers only matter to DMTLoss on several images")
        warm_up()
        self.loss = make_loss(loss, workers)
        self.logits, self.target = make_batch(batch)

    def time_loss(self, loss, batch, workers):
        self.logits.grad = None
        self.loss(self.logits, self.target).backward()

    def peakmem_loss(self, loss, batch, workers):
        self.logits.grad = None
        self.loss(self.logits, self.target).backward()

    def peakmem_reference(self, loss, batch, workers):
        """Baseline: the process after setup (torch, compiled kernels, the batch)."""


class UNetStep:
    """One training step (forward, backward, Adam) of the demo's U-Net with BCE or DMT-loss."""

    params = (["bce", "dmt"], BATCHES)
    param_names = ("loss", "batch")
    number = 1
    repeat = (3, 10, 30.0)
    timeout = 180.0

    def setup(self, loss, batch):
        warm_up()
        self.step = make_step(loss, batch)

    def time_unet_step(self, loss, batch):
        self.step()
