"""Training, prediction and evaluation of a U-Net with BCE or the DMT-loss, as in the paper.

The paper's schedule (Hu et al., ICLR 2021): pretrain with binary cross-entropy, then
fine-tune with ``BCE + beta * DMT``. Here that is two :func:`train` calls: a BCE run,
then runs that start from its weights (``init=".../last.pt"``, a fresh optimiser and
learning-rate schedule) with ``loss="bce"`` and with ``loss="dmt"``, so that both
fine-tunings see the same number of steps from the same state.

A run is ``config.steps`` optimiser steps on random augmented patches
(:class:`~dmtloss.data.PatchDataset`), cut into epochs of ``config.steps_per_epoch``
steps. After every epoch: validation on full images (:func:`evaluate`, sliding
window), a checkpoint ``last.pt`` (and ``best.pt`` when the validation metric
improved), ``log.csv`` and ``history.json``, each written atomically (a temporary file
in the same folder, flushed and fsync'ed, then ``os.replace``), so a crash never leaves
a half-written file behind; the temporary files of a process killed midway are removed
when the next run in that folder starts (new, overwriting or resumed). A run stopped
(Ctrl-C, an error) before its first checkpoint removes the folder it created.

Structures of the DMT-loss (``structures_every``):

- ``"step"`` (default): the mask is computed by :class:`~dmtloss.DMTLoss` from the
  current likelihood of each training patch, at every step;
- ``"epoch"``, as the paper did: at the start of each epoch the network predicts the
  full training images, :func:`~dmtloss.loss.dmt_mask` computes their masks once, and
  each step crops the same patch of the mask as of the image
  (:meth:`~dmtloss.data.PatchDataset.crop_batch`) and hands it to the loss
  (``mask=``). It applies to losses whose callable takes a ``mask`` keyword.

Reproducibility. Item ``i`` of epoch ``e`` is a pure function of ``(seed, e, i)``; the
model is initialised from ``torch.manual_seed(seed)``; the learning rate is a function
of the step. A checkpoint holds the model, the optimiser, the step and epoch, the
history, the best metric and the torch, numpy and Python RNG states, so that
``resume=True`` continues an interrupted run to the very weights an uninterrupted one
reaches (bit for bit on the CPU; on a GPU up to the non-determinism of its kernels).

Multi-process training (PyTorch DDP). Launched by ``torchrun`` (``WORLD_SIZE > 1`` in
the environment), :func:`train` initialises the process group (``gloo`` on the CPU,
``nccl`` on CUDA, each rank on ``cuda:LOCAL_RANK``), wraps the model in
``DistributedDataParallel`` and destroys the group at the end. ``batch_size`` is per
process: a step of ``W`` processes sees ``batch_size * W`` patches, and step ``s`` of
an epoch uses items ``[s*B*W, (s+1)*B*W)``, rank ``r`` taking
``[s*B*W + r*B, s*B*W + (r+1)*B)``; a run on ``W`` processes thus sees the patches of a
single-process run with batch ``B * W`` (the learning rate is not rescaled; with
batch-norm, each rank normalises by its own batch's statistics). Batch-norm running
statistics are rank 0's (``broadcast_buffers`` at each step, and once more at the end of
each epoch), so every rank ends with the same state. Rank 0 alone validates and writes
files; the others wait for it (a process group created here times out after two hours).
The epoch masks of ``structures_every="epoch"`` are computed on every rank (same
weights, same masks). Resuming needs the same number of processes for exact results.

Checkpoints are loaded with ``torch.load(..., weights_only=True)`` only: they hold
tensors, numbers, strings, lists and dicts (the configuration as a plain dict), never
pickled objects. Every entry is then checked, kind, range and tensor shape, against the
architecture it names (built on the ``meta`` device, which allocates nothing) before any
network is built, and a network of more than :data:`MAX_PARAMETERS` parameters
(:func:`unet_parameters`, counted from the architecture) is refused, in a configuration
as in a checkpoint; a file that cannot be read is refused in our own words, never with
torch's advice to load it with ``weights_only=False``.
"""

import contextlib
import csv
import dataclasses
import datetime
import glob
import inspect
import io
import json
import math
import numbers
import os
import pickle
import random
import re
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from .data._types import SegmentationSet
from .data.patches import PatchDataset, _sides
from .loss import DMTLoss, dmt_mask
from .metrics import summarize
from .models import UNet
from .reference._validation import as_bool, as_choice, as_epsilon, as_int, as_structures, as_workers

__all__ = ["TrainConfig", "TrainResult", "LOSSES", "MAX_PARAMETERS", "RESUMABLE", "train", "predict", "evaluate",
           "load_checkpoint", "unet_parameters"]

#: The largest U-Net a configuration or a checkpoint may describe, in parameters: 100
#: million (400 MB of float32 weights, 1.2 GB with Adam's two moments). A 2-D U-Net of
#: width 64 and depth 5 (Ronneberger et al.'s) has 31 million; width 512 and depth 8, or
#: a checkpoint claiming width 4096 and depth 6, are refused before anything is built.
MAX_PARAMETERS = 100_000_000
#: The largest checkpoint file read, in bytes: a network of :data:`MAX_PARAMETERS` with
#: its optimiser state and room to spare.
_MAX_CHECKPOINT_BYTES = 16 * MAX_PARAMETERS

_FORMAT = "dmtloss-checkpoint"
_VERSION = 1
_SCHEDULES = ("constant", "linear", "cosine")
_OPTIMIZERS = ("adam", "adamw", "sgd")
_NORMS = ("batch", "instance", "group", "none")
_EVERY = ("step", "epoch")
_NORMALIZE = ("pixels", "mask")
_CLASSES = ("foreground", "both")
#: Validation metrics a best checkpoint can be chosen by, and whether higher is better.
_BEST = {"accuracy": True, "dice": True, "ari": True, "are": False, "voi": False, "betti0": False,
         "betti1": False, "betti2": False, "missing_holes": False, "extra_holes": False}
#: Configuration fields that may change when a run is resumed: they do not change the result.
RESUMABLE = ("device", "num_workers", "workers")


# ----------------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------------

def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _float(value, name, *, positive=False, below=None):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number; got {type(value).__name__}")
    value = float(value)
    ok = math.isfinite(value) and (value > 0 if positive else value >= 0) and (below is None or value < below)
    if not ok:
        bound = "> 0" if positive else ">= 0"
        if below is not None:
            bound += f" and < {below}"
        raise ValueError(f"`{name}` must be a finite number {bound}; got {value!r}")
    return value


def _plain(value, name):
    """Check that `value` is made of plain values a weights-only checkpoint can hold."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v, name) for v in value)
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise TypeError(f"`{name}` keys must be strings; got {key!r}")
        return {k: _plain(v, name) for k, v in value.items()}
    raise TypeError(f"`{name}` must hold plain values (None, bool, int, float, str, list, tuple, dict); "
                    f"got {type(value).__name__}")


def unet_parameters(ndim=2, in_channels=1, out_channels=1, width=16, depth=3, *, norm="batch",
                    up="transpose"):
    """The number of parameters of ``UNet(...)`` with these arguments, without building it.

    Counts as :class:`~dmtloss.models.UNet` builds its layers: per level two 3^d
    convolutions (with a bias only when ``norm="none"``) each followed by a
    normalisation of two parameters per channel, an up-sampling layer per level but the
    last, and a 1^d head. It stops counting once the total passes
    :data:`MAX_PARAMETERS` (the result is then some number above it), so any depth is
    answered at once.

    Parameters
    ----------
    ndim, in_channels, out_channels, width, depth, norm, up
        As for :class:`~dmtloss.models.UNet`: ``ndim`` 2 or 3, the others ints >= 1,
        `norm` one of ``"batch"``, ``"instance"``, ``"group"``, ``"none"``, `up`
        ``"transpose"`` or ``"upsample"``.

    Returns
    -------
    count : int

    Raises
    ------
    TypeError, ValueError
        On an argument of the wrong kind or out of range.

    Examples
    --------
    >>> unet_parameters()
    117073
    >>> unet_parameters(width=512, depth=8) > MAX_PARAMETERS
    True
    """
    if not _is_int(ndim) or ndim not in (2, 3):
        raise (ValueError if _is_int(ndim) else TypeError)(f"`ndim` must be 2 or 3; got {ndim!r}")
    in_channels, out_channels, width, depth = (as_int(v, name, 1) for v, name in (
        (in_channels, "in_channels"), (out_channels, "out_channels"), (width, "width"), (depth, "depth")))
    norm = as_choice(norm, _NORMS, "norm")
    up = as_choice(up, ("transpose", "upsample"), "up")
    kernel = 3 ** ndim
    per_channel = 2 if norm == "none" else 4  # two biases, or two normalisations' weight and bias

    def block(cin, cout):
        return (cin + cout) * cout * kernel + per_channel * cout

    total, cin, channels = 0, in_channels, []
    for level in range(depth):
        c = width * 2 ** level
        channels.append(c)
        total += block(cin, c)
        cin = c
        if total > MAX_PARAMETERS:
            return total
    for c in reversed(channels[:-1]):
        total += 2 * c * c * (2 ** ndim if up == "transpose" else 1) + c + block(2 * c, c)
    return total + channels[0] * out_channels + out_channels


def _check_budget(count, what):
    if count > MAX_PARAMETERS:
        raise ValueError(f"{what} has at least {count:,} parameters; at most MAX_PARAMETERS = "
                         f"{MAX_PARAMETERS:,} are allowed (reduce the width or the depth)")


# ----------------------------------------------------------------------------------
# configuration
# ----------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run; validated on construction.

    Parameters
    ----------
    ndim : {2, 3}
        Dimension of the images and the U-Net.
    width, depth : int
        U-Net width (channels of the first level) and number of levels (:class:`UNet`);
        the network may have at most :data:`MAX_PARAMETERS` parameters.
    norm : {"batch", "instance", "group", "none"}
        U-Net normalisation.
    patch_size : int or tuple of int
        Training patch sides (>= 2); stored as a tuple.
    batch_size : int
        Patches per step *per process* (see the module docstring for DDP).
    steps : int
        Optimiser steps of the run (>= 1).
    steps_per_epoch : int
        Steps between validations and checkpoints; the last epoch may be shorter.
    lr : float
        Peak learning rate (> 0).
    lr_schedule : {"constant", "linear", "cosine"}
        Learning rate at step ``s`` of ``steps``: ``lr``; ``lr * (1 - s / steps)``;
        ``lr * (1 + cos(pi * s / steps)) / 2``.
    optimizer : {"adam", "adamw", "sgd"}
        ``torch.optim.Adam`` (L2 weight decay), ``AdamW`` (decoupled) or ``SGD`` with
        momentum 0.9.
    weight_decay : float
        Weight decay (>= 0).
    grad_clip : float or None
        Clip the gradient's global norm to this value (> 0); None: no clipping.
    loss : str
        A key of :data:`LOSSES`: ``"bce"``, ``"dmt"``, or the baselines
        ``"weighted-bce"``, ``"cldice"`` and ``"ce-dice"`` (:mod:`dmtloss.baselines`, their extra term
        weighted by ``beta``; clDice takes ``loss_options={"iterations": k}``), or one
        registered since.
    loss_options : dict
        Extra plain-valued options for the loss factory (the built-in ones take none).
    epsilon, beta, structures, normalize, frame, rim, classes, workers
        Options of :class:`~dmtloss.DMTLoss` (and of :func:`~dmtloss.loss.dmt_mask`
        for ``structures_every="epoch"``); ``structures`` is stored as a tuple or None.
    structures_every : {"step", "epoch"}
        Recompute the DMT structures of each patch at every step, or those of the full
        training images once per epoch (the paper's way).
    augment : bool
        Random flips and rotations of the patches.
    seed : int
        Seed (>= 0) of the weights and of the patches.
    device : str
        ``"auto"`` (CUDA if available), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    num_workers : int
        DataLoader worker processes (0: patches are cut in the training process).
    val_tile : None, int or tuple of int
        Tile of the sliding-window prediction of validation images (and of the full
        images for epoch masks); None: whole images at once.
    val_overlap : float
        Overlap of the tiles, as a fraction of the tile in [0, 1).
    val_batch_size : int
        Tiles per forward pass.
    regions : {None, "background", "foreground"}
        Regions of ARI / VOI; None: the validation set's own.
    metric_patch_size : None, int or tuple of int
        Patches of the Betti error (:func:`dmtloss.metrics.betti_error`).
    metric_n_patches : int
        Number of Betti-error patches per image.
    best_metric : str
        Validation metric choosing ``best.pt``: one of ``accuracy``, ``dice``, ``ari``
        (higher is better) or ``are``, ``voi``, ``betti0``, ``betti1``, ``betti2``,
        ``missing_holes``, ``extra_holes`` (lower is better).

    Raises
    ------
    TypeError
        If a field is of the wrong kind.
    ValueError
        If a field is out of range or an unknown option.

    Examples
    --------
    >>> config = TrainConfig(patch_size=32, loss="dmt", steps=100, lr_schedule="linear")
    >>> config.patch_size, config.to_dict()["loss"]
    ((32, 32), 'dmt')
    >>> TrainConfig.from_dict(config.to_dict()) == config
    True
    >>> TrainConfig(lr_schedule="step")
    Traceback (most recent call last):
    ...
    ValueError: `lr_schedule` must be one of ('constant', 'linear', 'cosine'); got 'step'
    """

    ndim: int = 2
    width: int = 16
    depth: int = 3
    norm: str = "batch"
    patch_size: object = 64
    batch_size: int = 8
    steps: int = 1000
    steps_per_epoch: int = 100
    lr: float = 1e-3
    lr_schedule: str = "constant"
    optimizer: str = "adam"
    weight_decay: float = 0.0
    grad_clip: object = None
    loss: str = "bce"
    loss_options: dict = dataclasses.field(default_factory=dict)
    epsilon: float = 0.2
    beta: float = 3.0
    structures: object = None
    normalize: str = "pixels"
    frame: bool = False
    rim: bool = False
    classes: str = "foreground"
    workers: object = None
    structures_every: str = "step"
    augment: bool = True
    seed: int = 0
    device: str = "auto"
    num_workers: int = 0
    val_tile: object = None
    val_overlap: float = 0.25
    val_batch_size: int = 4
    regions: object = None
    metric_patch_size: object = None
    metric_n_patches: int = 100
    best_metric: str = "dice"

    def __post_init__(self):
        def put(name, value):
            object.__setattr__(self, name, value)

        if not _is_int(self.ndim):
            raise TypeError(f"`ndim` must be an int; got {type(self.ndim).__name__}")
        if self.ndim not in (2, 3):
            raise ValueError(f"`ndim` must be 2 or 3; got {self.ndim}")
        put("ndim", int(self.ndim))
        for name, low in (("width", 1), ("depth", 1), ("batch_size", 1), ("steps", 1), ("steps_per_epoch", 1),
                          ("seed", 0), ("num_workers", 0), ("val_batch_size", 1), ("metric_n_patches", 1)):
            put(name, as_int(getattr(self, name), name, low))
        put("norm", as_choice(self.norm, _NORMS, "norm"))
        _check_budget(unet_parameters(self.ndim, width=self.width, depth=self.depth, norm=self.norm),
                      f"a {self.ndim}-D U-Net of `width` {self.width} and `depth` {self.depth}")
        put("patch_size", _sides(self.patch_size, "patch_size", self.ndim))
        put("lr", _float(self.lr, "lr", positive=True))
        put("lr_schedule", as_choice(self.lr_schedule, _SCHEDULES, "lr_schedule"))
        put("optimizer", as_choice(self.optimizer, _OPTIMIZERS, "optimizer"))
        put("weight_decay", _float(self.weight_decay, "weight_decay"))
        if self.grad_clip is not None:
            put("grad_clip", _float(self.grad_clip, "grad_clip", positive=True))
        if not isinstance(self.loss, str):
            raise TypeError(f"`loss` must be a string among {tuple(LOSSES)}; got {type(self.loss).__name__}")
        if self.loss not in LOSSES:
            raise ValueError(f"`loss` must be one of {tuple(LOSSES)} (keys of dmtloss.train.LOSSES); "
                             f"got {self.loss!r}")
        if not isinstance(self.loss_options, dict):
            raise TypeError(f"`loss_options` must be a dict; got {type(self.loss_options).__name__}")
        put("loss_options", _plain(dict(self.loss_options), "loss_options"))
        put("epsilon", as_epsilon(self.epsilon))
        put("beta", as_epsilon(self.beta, name="beta"))
        if self.structures is not None:
            put("structures", as_structures(self.structures, self.ndim))
        put("normalize", as_choice(self.normalize, _NORMALIZE, "normalize"))
        put("frame", as_bool(self.frame, "frame"))
        put("rim", as_bool(self.rim, "rim"))
        put("classes", as_choice(self.classes, _CLASSES, "classes"))
        if self.workers is not None:
            put("workers", as_workers(self.workers, default=1))
        put("structures_every", as_choice(self.structures_every, _EVERY, "structures_every"))
        put("augment", as_bool(self.augment, "augment"))
        if not isinstance(self.device, str):
            raise TypeError(f"`device` must be a string; got {type(self.device).__name__}")
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", self.device):
            raise ValueError(f"`device` must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {self.device!r}")
        put("val_tile", _sides(self.val_tile, "val_tile", self.ndim, allow_none=True, low=1))
        put("val_overlap", _float(self.val_overlap, "val_overlap", below=1))
        if self.regions is not None:
            put("regions", as_choice(self.regions, ("background", "foreground"), "regions"))
        put("metric_patch_size", _sides(self.metric_patch_size, "metric_patch_size", self.ndim,
                                        allow_none=True, low=1))
        put("best_metric", as_choice(self.best_metric, tuple(_BEST), "best_metric"))
        if self.best_metric == "betti2" and self.ndim == 2:
            raise ValueError("`best_metric`: 'betti2' exists only in 3-D; got ndim=2")

    def to_dict(self):
        """The configuration as a dict of plain values (as checkpoints store it).

        Returns
        -------
        config : dict

        Examples
        --------
        >>> TrainConfig().to_dict()["patch_size"]
        (64, 64)
        """
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, values):
        """A configuration from :meth:`to_dict`'s output (lists are taken as tuples).

        Parameters
        ----------
        values : dict
            Field names to values; missing fields take their defaults.

        Returns
        -------
        config : TrainConfig

        Raises
        ------
        TypeError, ValueError
            If `values` is not a dict, names an unknown field or holds a bad value.

        Examples
        --------
        >>> TrainConfig.from_dict({"patch_size": [16, 16], "steps": 5}).patch_size
        (16, 16)
        """
        if not isinstance(values, dict):
            raise TypeError(f"`values` must be a dict; got {type(values).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"`values` names unknown TrainConfig fields: {unknown}")
        values = {k: tuple(v) if isinstance(v, list) and k != "loss_options" else v for k, v in values.items()}
        return cls(**values)


@dataclasses.dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes
    ----------
    model : UNet
        The trained network after the last step (not the best one; load ``best.pt`` for
        that), on the training device, in training mode.
    history : list of dict
        One row per epoch of the whole run (resumed runs included), as in
        ``history.json``.
    paths : dict of str to pathlib.Path or None
        ``"last"``, ``"best"`` (None without a validation set), ``"log_csv"`` and
        ``"history_json"``.
    config : TrainConfig
        The run's configuration.
    seconds : float
        Wall-clock time of this call (a resumed run: of the resumed part only).
    checkpoint : pathlib.Path
        ``paths["last"]``, the checkpoint to fine-tune from (``init=``) or to load.
    """

    model: torch.nn.Module
    history: list
    paths: dict
    config: TrainConfig
    seconds: float = 0.0

    @property
    def checkpoint(self):
        return self.paths["last"]


# ----------------------------------------------------------------------------------
# losses
# ----------------------------------------------------------------------------------

def _bce(config):
    return torch.nn.BCEWithLogitsLoss()


def _dmt(config):
    return DMTLoss(epsilon=config.epsilon, beta=config.beta, structures=config.structures,
                   normalize=config.normalize, workers=config.workers, frame=config.frame,
                   rim=config.rim, classes=config.classes)


#: Loss name -> factory. ``factory(config)`` returns a callable ``loss(logits, target)``
#: -> scalar tensor (logits and target (N, 1, *patch), target 0.0 / 1.0 float32). A
#: callable that also takes ``mask=`` gets the epoch's DMT mask when
#: ``structures_every="epoch"``. Register new losses here before building the config.
LOSSES = {"bce": _bce, "dmt": _dmt}


def _weighted_bce(config):
    from .baselines import weighted_bce

    return lambda logits, target: weighted_bce(logits, target, beta=config.beta)


def _cldice(config):
    from .baselines import cldice_loss

    iterations = config.loss_options.get("iterations", 10)
    return lambda logits, target: cldice_loss(logits, target, beta=config.beta, iterations=iterations)


def _dice_ce(config):
    from .baselines import dice_ce_loss

    return lambda logits, target: dice_ce_loss(logits, target, beta=config.beta)


# the baselines of the experiments (:mod:`dmtloss.baselines`), weighted by ``beta`` too
LOSSES["weighted-bce"] = _weighted_bce
LOSSES["cldice"] = _cldice
LOSSES["ce-dice"] = _dice_ce


def _takes_mask(loss):
    try:
        target = loss.forward if isinstance(loss, torch.nn.Module) else loss
        return "mask" in inspect.signature(target).parameters
    except (TypeError, ValueError):
        return False


def _lr(config, step):
    fraction = step / config.steps
    if config.lr_schedule == "linear":
        return config.lr * (1.0 - fraction)
    if config.lr_schedule == "cosine":
        return config.lr * 0.5 * (1.0 + math.cos(math.pi * fraction))
    return config.lr


def _optimizer(config, model):
    if config.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=0.9, weight_decay=config.weight_decay)


def _model(config, channels=1):
    return UNet(config.ndim, channels, 1, config.width, config.depth, norm=config.norm)


# ----------------------------------------------------------------------------------
# files
# ----------------------------------------------------------------------------------

def _atomic_write(path, write):
    """Write `path` through a temporary file of its folder, fsync'ed, then os.replace."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable where the OS allows
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


#: The files of a run folder, each written by :func:`_atomic_write`.
_RUN_FILES = ("last.pt", "best.pt", "log.csv", "history.json")


def _remove_stale(out_dir):
    """Remove the temporary files that writes killed midway (SIGKILL, power loss) left behind."""
    for name in _RUN_FILES:
        for stale in out_dir.glob(f".{glob.escape(name)}.*.tmp"):
            with contextlib.suppress(OSError):
                stale.unlink()


def _write_text(path, text):
    _atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def _csv_text(history):
    columns = []
    for row in history:
        columns += [k for k in row if k not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    return buffer.getvalue()


def _rng_state():
    _, keys, pos, has_gauss, cached = np.random.get_state()
    version, state, gauss_next = random.getstate()
    rng = {"torch": torch.get_rng_state(),
           "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                     "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
           "python": {"version": int(version), "state": list(state), "gauss_next": gauss_next}}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    return rng


def _set_rng_state(rng):
    torch.set_rng_state(rng["torch"])
    n = rng["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    p = rng["python"]
    random.setstate((p["version"], tuple(p["state"]), p["gauss_next"]))
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])


#: What a checkpoint holds: key -> what its value must be (for the error messages).
_CHECKPOINT_KEYS = {
    "format": f"the string {_FORMAT!r}", "version": f"the int {_VERSION}",
    "model": "a dict of tensors (the network's state dict)",
    "model_config": "a dict of the U-Net's arguments",
    "config": "a dict of TrainConfig fields", "optimizer": "a dict (the optimiser's state dict)",
    "step": "an int >= 0", "epoch": "an int >= 0", "history": "a list of dicts",
    "best": "None or a dict of metric, value and epoch", "rng": "a dict of torch, numpy and python states",
    "world_size": "an int >= 1",
}
_MODEL_CONFIG = ("ndim", "in_channels", "out_channels", "width", "depth", "norm", "up")


class _Bad(ValueError):
    """A checkpoint entry that is not what it should be."""

    def __init__(self, key, expected, got):
        super().__init__(f"`{key}` must be {expected}; got {got}")


def _kind(value):
    """A short description of a value for an error message (never its whole text)."""
    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    if value is None or isinstance(value, (bool, int, float, str)):
        text = repr(value)
        return text if len(text) <= 40 else f"a {type(value).__name__} of {len(text)} characters"
    if isinstance(value, dict):
        return f"a dict of the keys {_keys(value)}"
    return type(value).__name__


def _keys(mapping):
    names = sorted(repr(k)[:30] for k in mapping)
    return "[" + ", ".join(names[:12]) + (", ..." if len(names) > 12 else "") + "]"


def _want_int(value, key, low, high=None):
    if not _is_int(value) or value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"from {low} to {high}"
        raise _Bad(key, f"an int {bound}", _kind(value))
    return int(value)


def _want_real(value, key):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise _Bad(key, "a finite real number", _kind(value))
    return value


def _want_tensor(value, key, dtype=None, shape=None):
    if not isinstance(value, torch.Tensor) or value.layout != torch.strided or value.is_quantized \
            or value.device.type != "cpu":
        raise _Bad(key, "a dense tensor", _kind(value) if not isinstance(value, torch.Tensor)
                   else f"a {value.layout} tensor on {value.device}")
    if (dtype is not None and value.dtype != dtype) or (shape is not None and tuple(value.shape) != tuple(shape)):
        want = f"a {dtype} tensor" if dtype is not None else "a tensor"
        want += f" of shape {tuple(shape)}" if shape is not None else ""
        raise _Bad(key, want, _kind(value))
    return value


def _check_model_config(model_config):
    if not isinstance(model_config, dict):
        raise _Bad("model_config", _CHECKPOINT_KEYS["model_config"], _kind(model_config))
    if set(model_config) != set(_MODEL_CONFIG):
        raise _Bad("model_config", f"a dict of the keys {sorted(_MODEL_CONFIG)}", _kind(model_config))
    values = dict(model_config)
    if not _is_int(values["ndim"]) or values["ndim"] not in (2, 3):
        raise _Bad("model_config['ndim']", "2 or 3", _kind(values["ndim"]))
    for name in ("in_channels", "out_channels", "width", "depth"):
        values[name] = _want_int(values[name], f"model_config[{name!r}]", 1)
    for name, choices in (("norm", _NORMS), ("up", ("transpose", "upsample"))):
        if not isinstance(values[name], str) or values[name] not in choices:
            raise _Bad(f"model_config[{name!r}]", f"one of {choices}", _kind(values[name]))
    _check_budget(unet_parameters(**values), f"`model_config`: the U-Net of width {values['width']} and "
                                             f"depth {values['depth']}")
    return values


def _check_model(weights, model_config):
    """Compare the state dict with that of the architecture, built on the meta device (no memory)."""
    with torch.device("meta"):
        expected = UNet(**model_config).state_dict()
    if not isinstance(weights, dict):
        raise _Bad("model", _CHECKPOINT_KEYS["model"], _kind(weights))
    missing = [k for k in expected if k not in weights]
    unknown = [str(k) for k in weights if k not in expected]
    if missing or unknown:
        raise _Bad("model", "the state dict of the U-Net of `model_config`",
                   f"{len(missing)} missing entries {missing[:3]} and {len(unknown)} unknown {unknown[:3]}")
    for key, want in expected.items():
        _want_tensor(weights[key], f"model[{key!r}]", want.dtype, want.shape)


def _check_optimizer(optimizer, config, model_config):
    if not isinstance(optimizer, dict) or set(optimizer) != {"param_groups", "state"}:
        raise _Bad("optimizer", "a dict of the keys 'param_groups' and 'state'", _kind(optimizer))
    with torch.device("meta"):
        shapes = [tuple(p.shape) for p in UNet(**model_config).parameters()]
    fresh = _optimizer(config, torch.nn.Linear(1, 1, bias=False)).state_dict()["param_groups"][0]
    groups = optimizer["param_groups"]
    if not isinstance(groups, list) or not groups:
        raise _Bad("optimizer['param_groups']", "a non-empty list", _kind(groups))
    indices = []
    for g, group in enumerate(groups):
        key = f"optimizer['param_groups'][{g}]"
        if not isinstance(group, dict) or not {"params", "lr"} <= set(group):
            raise _Bad(key, f"a dict of the options of a {config.optimizer} optimiser {sorted(fresh)}",
                       _kind(group))
        for name, value in group.items():
            where = f"{key}[{name!r}]"
            default = fresh.get(name, "unknown")
            if name == "params":
                if not isinstance(value, list) or not all(_is_int(i) for i in value):
                    raise _Bad(where, "a list of ints", _kind(value))
                indices += value
            elif isinstance(default, bool):
                if not isinstance(value, bool):
                    raise _Bad(where, "a bool", _kind(value))
            elif default is None:
                if value is not None and not isinstance(value, bool):
                    raise _Bad(where, "None or a bool", _kind(value))
            elif isinstance(default, tuple):
                if not isinstance(value, (tuple, list)) or len(value) != len(default):
                    raise _Bad(where, f"a tuple of {len(default)} numbers", _kind(value))
                for v in value:
                    _want_real(v, where)
            elif isinstance(default, numbers.Real):
                _want_real(value, where)
            else:  # an option this torch does not know: ignored by it, but plain
                try:
                    _plain(value, where)
                except TypeError:
                    raise _Bad(where, "a plain value", _kind(value)) from None
    if sorted(indices) != list(range(len(shapes))):
        raise _Bad("optimizer['param_groups']", f"the parameter indices 0 to {len(shapes) - 1}, once each",
                   f"{len(indices)} indices")
    state = optimizer["state"]
    if not isinstance(state, dict):
        raise _Bad("optimizer['state']", "a dict", _kind(state))
    for index, entry in state.items():
        if not _is_int(index) or not 0 <= index < len(shapes):
            raise _Bad("optimizer['state']", f"keys from 0 to {len(shapes) - 1}", f"the key {_kind(index)}")
        if not isinstance(entry, dict):
            raise _Bad(f"optimizer['state'][{index}]", "a dict", _kind(entry))
        for name, value in entry.items():
            if not isinstance(name, str):
                raise _Bad(f"optimizer['state'][{index}]", "string keys", _kind(entry))
            where = f"optimizer['state'][{index}][{name!r}]"
            if isinstance(value, torch.Tensor):
                _want_tensor(value, where)
                if not value.dtype.is_floating_point or tuple(value.shape) not in (shapes[index], ()):
                    raise _Bad(where, f"a float tensor of shape {shapes[index]} or ()", _kind(value))
            elif value is not None:
                _want_real(value, where)


def _check_rng(rng):
    if not isinstance(rng, dict) or not {"torch", "numpy", "python"} <= set(rng) \
            or not set(rng) <= {"torch", "numpy", "python", "cuda"}:
        raise _Bad("rng", "a dict of the keys 'torch', 'numpy', 'python' (and 'cuda')", _kind(rng))
    generator = torch.Generator()
    _want_tensor(rng["torch"], "rng['torch']", torch.uint8, generator.get_state().shape)
    try:  # on a scratch generator: the global state is only set when training starts
        generator.set_state(rng["torch"])
    except (RuntimeError, ValueError, TypeError):
        raise _Bad("rng['torch']", "a torch CPU generator state", "a state torch refuses") from None
    n = rng["numpy"]
    if not isinstance(n, dict) or set(n) != {"cached_gaussian", "has_gauss", "keys", "pos"}:
        raise _Bad("rng['numpy']", "a dict of the keys 'keys', 'pos', 'has_gauss', 'cached_gaussian'", _kind(n))
    keys = _want_tensor(n["keys"], "rng['numpy']['keys']", torch.int64, (624,))
    if keys.min() < 0 or keys.max() >= 2 ** 32:
        raise _Bad("rng['numpy']['keys']", "624 values from 0 to 2**32 - 1", "values out of that range")
    _want_int(n["pos"], "rng['numpy']['pos']", 0, 624)
    _want_int(n["has_gauss"], "rng['numpy']['has_gauss']", 0, 1)
    _want_real(n["cached_gaussian"], "rng['numpy']['cached_gaussian']")
    p = rng["python"]
    if not isinstance(p, dict) or set(p) != {"gauss_next", "state", "version"}:
        raise _Bad("rng['python']", "a dict of the keys 'version', 'state', 'gauss_next'", _kind(p))
    if not isinstance(p["state"], list) or not all(_is_int(v) for v in p["state"]):
        raise _Bad("rng['python']['state']", "a list of ints", _kind(p["state"]))
    if p["gauss_next"] is not None:
        _want_real(p["gauss_next"], "rng['python']['gauss_next']")
    try:
        random.Random().setstate((_want_int(p["version"], "rng['python']['version']", 1),
                                  tuple(p["state"]), p["gauss_next"]))
    except (ValueError, TypeError, OverflowError):
        raise _Bad("rng['python']", "a state of Python's random module", "a state it refuses") from None
    if "cuda" in rng:
        if not isinstance(rng["cuda"], list):
            raise _Bad("rng['cuda']", "a list of tensors", _kind(rng["cuda"]))
        for i, state in enumerate(rng["cuda"]):
            _want_tensor(state, f"rng['cuda'][{i}]", torch.uint8)


def _check_state(state):
    """Validate every entry of a loaded checkpoint before anything is built; its TrainConfig."""
    missing = [key for key in _CHECKPOINT_KEYS if key not in state]
    if missing:
        raise ValueError(f"it has no {missing[0]!r} entry ({_CHECKPOINT_KEYS[missing[0]]})"
                         + (f", nor {missing[1:]}" if len(missing) > 1 else ""))
    values = state["config"]
    if not isinstance(values, dict):
        raise _Bad("config", _CHECKPOINT_KEYS["config"], _kind(values))
    try:
        _plain(values, "config")
        config = TrainConfig.from_dict(dict(values))
    except (TypeError, ValueError) as err:
        raise ValueError(f"`config` is not a valid TrainConfig: {err}") from None
    model_config = _check_model_config(state["model_config"])
    # the network `_model(config, channels)` builds; the channels come from the data
    own = dict(ndim=config.ndim, in_channels=model_config["in_channels"], out_channels=1, width=config.width,
               depth=config.depth, norm=config.norm, up="transpose")
    if model_config != own:
        raise _Bad("model_config", f"the network of its `config`, {own}", _kind(model_config))
    _check_model(state["model"], model_config)
    _check_optimizer(state["optimizer"], config, model_config)
    step = _want_int(state["step"], "step", 0, config.steps)
    _want_int(state["epoch"], "epoch", 0, step)
    _want_int(state["world_size"], "world_size", 1)
    history = state["history"]
    if not isinstance(history, list) or len(history) != state["epoch"]:
        raise _Bad("history", f"a list of {state['epoch']} dicts (one per epoch)", _kind(history))
    for i, row in enumerate(history):
        if not isinstance(row, dict) or not all(isinstance(k, str) for k in row) or not all(
                v is None or isinstance(v, (bool, int, float, str)) for v in row.values()):
            raise _Bad(f"history[{i}]", "a dict of strings to numbers", _kind(row))
    best = state["best"]
    if best is not None:
        if not isinstance(best, dict) or set(best) != {"epoch", "metric", "value"} \
                or not isinstance(best["metric"], str) or best["metric"] not in _BEST:
            raise _Bad("best", f"None or a dict of 'metric' (one of {tuple(_BEST)}), 'value' and 'epoch'",
                       _kind(best))
        _want_real(best["value"], "best['value']")
        _want_int(best["epoch"], "best['epoch']", 1, state["epoch"])
    _check_rng(state["rng"])
    return config


def _read_checkpoint(path, name):
    """The validated state of a checkpoint file (see :func:`load_checkpoint`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"`{name}`: no checkpoint at {path}")
    where = f"`{name}`: {path}"
    size = path.stat().st_size
    if size > _MAX_CHECKPOINT_BYTES:
        raise ValueError(f"{where} has {size:,} bytes; a checkpoint of at most MAX_PARAMETERS = "
                         f"{MAX_PARAMETERS:,} parameters has at most {_MAX_CHECKPOINT_BYTES:,}")
    try:
        with warnings.catch_warnings():  # torch's remarks on the pickle protocol: not the user's concern
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except MemoryError:
        raise
    except pickle.UnpicklingError:  # torch's own message advises weights_only=False: never that
        raise ValueError(f"`{name}`: cannot read checkpoint {path}: it is corrupt, or holds Python "
                         "objects other than tensors and plain values, which dmtloss never unpickles") from None
    except Exception as err:  # corrupt, truncated, empty or not a PyTorch file at all
        raise ValueError(f"`{name}`: cannot read checkpoint {path}: a corrupt, truncated or empty file, "
                         f"or not one torch.save wrote ({type(err).__name__})") from None
    if not isinstance(state, dict) or not isinstance(state.get("format"), str) or state["format"] != _FORMAT:
        raise ValueError(f"{where} is not a dmtloss checkpoint (no 'format': {_FORMAT!r} entry)")
    if not _is_int(state.get("version")) or state.get("version") != _VERSION:
        raise ValueError(f"{where} has checkpoint version {_kind(state.get('version'))}; "
                         f"this dmtloss reads version {_VERSION}")
    try:
        _check_state(state)
    except ValueError as err:
        raise ValueError(f"{where} is not a valid dmtloss checkpoint: {err}") from None
    return state


def load_checkpoint(path):
    """Load a checkpoint written by :func:`train`: the model, its configuration, the rest.

    Only ``torch.load(..., weights_only=True)`` is used: a checkpoint cannot run code.

    Parameters
    ----------
    path : str or path-like
        A ``last.pt`` or ``best.pt``.

    Returns
    -------
    model : UNet
        On the CPU, in evaluation mode.
    config : TrainConfig
        The run's configuration.
    state : dict
        ``"step"`` and ``"epoch"`` (completed), ``"history"`` (list of per-epoch dicts),
        ``"best"`` (dict of ``metric``, ``value``, ``epoch``, or None), ``"optimizer"``
        (its state dict), ``"rng"`` (torch / numpy / python states), ``"world_size"``,
        ``"model"`` (the state dict) and ``"model_config"``.

    Raises
    ------
    FileNotFoundError
        If there is no file at `path`.
    ValueError
        If the file is corrupt or larger than a checkpoint can be, is not a dmtloss
        checkpoint, names a loss that :data:`LOSSES` does not hold, or if any entry
        (``config``, ``model_config``, ``model``, ``optimizer``, ``rng``, ``step``,
        ``epoch``, ``history``, ``best``, ``world_size``) is missing or not of the
        expected kind and shape, or describes a network of more than
        :data:`MAX_PARAMETERS` parameters: every entry is checked before anything is
        built, and the message names the first bad one.

    Examples
    --------
    >>> import tempfile
    >>> image = np.zeros((8, 8), np.float32); image[2:6, 2:6] = 1
    >>> data = SegmentationSet([image], [image > 0.5], ["a"], "foreground", "example")
    >>> with tempfile.TemporaryDirectory() as out:
    ...     _ = train(TrainConfig(width=2, depth=1, patch_size=4, batch_size=2, steps=1),
    ...               data, out_dir=out, progress=False)
    ...     model, config, state = load_checkpoint(Path(out) / "last.pt")
    >>> model.width, config.steps, state["step"]
    (2, 1, 1)
    """
    state = _read_checkpoint(path, "path")
    config = TrainConfig.from_dict(dict(state["config"]))
    model = UNet(**state["model_config"])
    model.load_state_dict(state["model"])
    model.eval()
    return model, config, state


# ----------------------------------------------------------------------------------
# prediction and evaluation
# ----------------------------------------------------------------------------------

def _unwrap(model):
    return model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model


def _starts(n, t, step):
    starts = list(range(0, n - t + 1, step))
    if starts[-1] != n - t:
        starts.append(n - t)
    return starts


def _ramp(t, r):
    x = np.arange(t, dtype=np.float64)
    return np.minimum(1.0, np.minimum(x + 1, t - x) / (r + 1))


def predict(model, image, *, tile=None, overlap=0.25, batch_size=4):
    """The likelihood map of an image: float64 sigmoid of the network's logits.

    Runs without gradients, with the model in evaluation mode (its previous mode is
    restored). Images larger than `tile` are predicted tile by tile: tiles of side
    `tile` start every ``tile - round(overlap * tile)`` pixels, the last one flush with
    the border; their logits are blended with weights that ramp linearly over the
    ``round(overlap * tile)`` pixels of each tile's edges (so overlapping tiles fade
    into each other), and the sigmoid of the blend is taken in float64. With
    ``overlap=0`` the tiles are disjoint but for the last one on each axis.

    Parameters
    ----------
    model : torch.nn.Module
        A :class:`UNet` (or a network with the same input/output convention, or a DDP
        wrapper of one), on any device.
    image : (M, N[, P]) ndarray or torch.Tensor
        A real-valued image with the model's number of spatial axes, or
        ``(C, M, N[, P])`` for a network of ``C > 1`` input channels.
    tile : None, int or tuple of int, optional
        Tile sides; None (or a tile at least as large as the image): one pass.
    overlap : float, optional
        Overlap of neighbouring tiles, a fraction of the tile in [0, 1).
    batch_size : int, optional
        Tiles per forward pass.

    Returns
    -------
    likelihood : ndarray of float64
        The image's spatial shape (preceded by the output channels if there are more
        than one); values in [0, 1].

    Raises
    ------
    TypeError, ValueError
        On an image of the wrong kind, shape or with non-finite values, or bad options.

    Examples
    --------
    >>> torch.manual_seed(0) is not None
    True
    >>> net = UNet(width=2, depth=2)
    >>> image = np.random.default_rng(0).random((20, 30))
    >>> whole = predict(net, image)
    >>> whole.shape, whole.dtype
    ((20, 30), dtype('float64'))
    >>> tiled = predict(net, image, tile=16, overlap=0.5)
    >>> bool(np.abs(tiled - whole).max() < 0.5)
    True
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"`model` must be a torch.nn.Module; got {type(model).__name__}")
    model = _unwrap(model)
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu().numpy()
    if not isinstance(image, np.ndarray):
        raise TypeError(f"`image` must be an ndarray or a torch.Tensor; got {type(image).__name__}")
    if image.dtype.kind not in "biuf":
        raise TypeError(f"`image` must hold real numbers; got dtype {image.dtype}")
    ndim = getattr(model, "ndim", image.ndim)
    channels = getattr(model, "in_channels", 1)
    if image.ndim == ndim and channels == 1:
        image = image[None]
    if image.ndim != ndim + 1 or image.shape[0] != channels:
        want = ("(M, N)" if ndim == 2 else "(P, M, N)") if channels == 1 else f"({channels}, *spatial)"
        raise ValueError(f"`image` must have shape {want} for this model; got shape {image.shape}")
    if not np.isfinite(image).all():
        raise ValueError("`image` must be finite")
    spatial = image.shape[1:]
    tile = _sides(tile, "tile", ndim, allow_none=True, low=1)
    overlap = _float(overlap, "overlap", below=1)
    batch_size = as_int(batch_size, "batch_size", 1)
    if tile is None:
        tile = spatial
    tile = tuple(min(t, n) for t, n in zip(tile, spatial))
    ramps = [round(overlap * t) for t in tile]
    grids = [_starts(n, t, max(1, t - r)) for n, t, r in zip(spatial, tile, ramps)]
    corners = [tuple(c) for c in np.stack(np.meshgrid(*grids, indexing="ij"), -1).reshape(-1, ndim)]
    weight = _ramp(tile[0], ramps[0])
    for t, r in zip(tile[1:], ramps[1:]):
        weight = np.multiply.outer(weight, _ramp(t, r))
    if len(corners) == 1:
        weight = np.ones(tile)
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    source = torch.from_numpy(np.ascontiguousarray(image)).to(dtype)
    total = None
    norm = np.zeros(spatial)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for first in range(0, len(corners), batch_size):
                chunk = corners[first:first + batch_size]
                regions = [tuple(slice(c, c + t) for c, t in zip(corner, tile)) for corner in chunk]
                batch = torch.stack([source[(slice(None), *region)] for region in regions]).to(device)
                logits = model(batch).detach().to("cpu", torch.float64).numpy()
                if total is None:
                    total = np.zeros((logits.shape[1], *spatial))
                for region, values in zip(regions, logits):
                    total[(slice(None), *region)] += values * weight
                    norm[region] += weight
    finally:
        model.train(was_training)
    likelihood = torch.sigmoid(torch.from_numpy(total / norm)).numpy()
    return likelihood[0] if likelihood.shape[0] == 1 else likelihood


def evaluate(model, dataset, *, tile=None, overlap=0.25, batch_size=4, threshold=0.5, regions=None,
             patch_size=None, n_patches=100, seed=0):
    """Every metric of :func:`dmtloss.metrics.summarize` on a set's thresholded predictions.

    Parameters
    ----------
    model : torch.nn.Module
        As in :func:`predict`.
    dataset : SegmentationSet
        Images and targets to evaluate on.
    tile, overlap, batch_size : optional
        Sliding-window options of :func:`predict`.
    threshold : float, optional
        Pixels of likelihood above it are foreground.
    regions : {None, "background", "foreground"}, optional
        Regions of ARI and VOI; None: ``dataset.regions``.
    patch_size, n_patches, seed : optional
        Betti-error patches, as in :func:`dmtloss.metrics.summarize`.

    Returns
    -------
    summary : dict of str to (float, float)
        ``(mean, std)`` over images, as :func:`dmtloss.metrics.summarize` gives it.

    Raises
    ------
    TypeError, ValueError
        On a bad model, dataset or option.

    Examples
    --------
    >>> torch.manual_seed(0) is not None
    True
    >>> image = np.zeros((16, 16), np.float32); image[4:12, 4:12] = 1
    >>> data = SegmentationSet([image], [image > 0.5], ["a"], "foreground", "example")
    >>> summary = evaluate(UNet(width=2, depth=2), data, n_patches=4)
    >>> sorted(summary)[:4], len(summary["dice"])
    (['accuracy', 'are', 'ari', 'betti0'], 2)
    """
    if not isinstance(dataset, SegmentationSet):
        raise TypeError(f"`dataset` must be a SegmentationSet; got {type(dataset).__name__}")
    if len(dataset) == 0:
        raise ValueError("`dataset` must hold at least one image; got an empty set")
    threshold = _float(threshold, "threshold")
    regions = dataset.regions if regions is None else regions
    predictions = [predict(model, image, tile=tile, overlap=overlap, batch_size=batch_size) > threshold
                   for image in dataset.images]
    return summarize(predictions, list(dataset.targets), regions=regions, patch_size=patch_size,
                     n_patches=n_patches, seed=seed)


# ----------------------------------------------------------------------------------
# training
# ----------------------------------------------------------------------------------

@dataclasses.dataclass
class _Context:
    rank: int
    world: int
    device: torch.device
    owns_group: bool

    @property
    def distributed(self):
        return self.world > 1

    def barrier(self):
        if self.distributed:
            dist.barrier()


def _resolve_device(spec, local_rank, distributed):
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"`config.device` is {spec!r} but CUDA is not available")
        if spec == "cuda":
            return torch.device("cuda", local_rank if distributed else torch.cuda.current_device())
    return torch.device(spec)


def _context(config):
    if dist.is_available() and dist.is_initialized():
        rank, world = dist.get_rank(), dist.get_world_size()
        local = int(os.environ.get("LOCAL_RANK", rank))
        return _Context(rank, world, _resolve_device(config.device, local, world > 1), False)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return _Context(0, 1, _resolve_device(config.device, 0, False), False)
    if not dist.is_available():
        raise RuntimeError("WORLD_SIZE > 1 but torch.distributed is not available")
    local = int(os.environ.get("LOCAL_RANK", "0"))
    device = _resolve_device(config.device, local, True)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    # rank 0 validates while the others wait: allow long validations before a collective times out
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo", timeout=datetime.timedelta(hours=2))
    return _Context(dist.get_rank(), dist.get_world_size(), device, True)


def _check_set(dataset, name, ndim):
    if not isinstance(dataset, SegmentationSet):
        raise TypeError(f"`{name}` must be a SegmentationSet; got {type(dataset).__name__}")
    if len(dataset) == 0:
        raise ValueError(f"`{name}` must hold at least one image; got an empty set")
    if dataset.ndim != ndim:
        raise ValueError(f"`{name}` must hold {ndim}-D images (config.ndim); got {dataset.ndim}-D")


def _epoch_masks(model, dataset, config):
    """The DMT masks of the full training images, from the current model."""
    masks = [None] * len(dataset)
    groups = {}
    for i, target in enumerate(dataset.targets):
        groups.setdefault(target.shape, []).append(i)
    for indices in groups.values():
        likelihood = np.stack([predict(model, dataset.images[i], tile=config.val_tile,
                                       overlap=config.val_overlap, batch_size=config.val_batch_size)
                               for i in indices])
        mask = dmt_mask(torch.from_numpy(likelihood)[:, None], config.epsilon, config.structures,
                        from_logits=False, workers=config.workers, frame=config.frame,
                        rim=config.rim, classes=config.classes)
        for i, m in zip(indices, mask[:, 0].numpy()):
            masks[i] = m
    return masks


def _checkpoint(model, optimizer, config, step, epoch, history, best, world):
    return {"format": _FORMAT, "version": _VERSION, "model": model.state_dict(),
            "model_config": model.config(), "config": config.to_dict(), "optimizer": optimizer.state_dict(),
            "step": step, "epoch": epoch, "history": history, "best": best, "rng": _rng_state(),
            "world_size": world}


def _check_resumable(saved, config, path):
    saved = dict(saved)
    now = config.to_dict()
    saved_config = TrainConfig.from_dict(saved).to_dict()
    diffs = [k for k in now if k not in RESUMABLE and saved_config[k] != now[k]]
    if diffs:
        detail = ", ".join(f"{k}: {saved_config[k]!r} -> {now[k]!r}" for k in diffs)
        raise ValueError(f"`config` differs from that of the run in {path} ({detail}); "
                         f"only {RESUMABLE} may change on resume")


def train(config, train_set, val_set=None, *, out_dir, init=None, resume=False, overwrite=False, max_epochs=None,
          progress=True):
    """Train a U-Net on random patches of `train_set`; validate and checkpoint every epoch.

    See the module docstring for the schedule, the files written, reproducibility and
    multi-process (DDP) runs.

    Parameters
    ----------
    config : TrainConfig
        The run.
    train_set : SegmentationSet
        Training images, of ``config.ndim`` dimensions.
    val_set : SegmentationSet, optional
        Validation images: predicted whole (or tiled by ``config.val_tile``) after every
        epoch; the metrics go to the logs and choose ``best.pt``.
    out_dir : str or path-like
        Folder of ``last.pt``, ``best.pt``, ``log.csv`` and ``history.json``; created if
        missing.
    init : str or path-like, optional
        A checkpoint whose model weights start the run, with a fresh optimiser and
        schedule (fine-tuning a pretrained network). Its architecture must be the
        configuration's.
    resume : bool, optional
        Continue the run of ``out_dir/last.pt`` (model, optimiser, step, epoch, history,
        best metric, RNG states); `config` must equal the saved one except for
        ``device``, ``num_workers`` and ``workers``.
    overwrite : bool, optional
        Start a new run even if ``out_dir`` holds one (its files are replaced as the
        new run writes its own; a stale ``best.pt`` is removed first).
    max_epochs : int, optional
        Stop after this many epochs of this call, as if interrupted (``resume=True``
        continues); None: run to ``config.steps``.
    progress : bool, optional
        Show a tqdm progress bar (rank 0 only).

    Returns
    -------
    result : TrainResult
        The model after the last step, the history and the paths written.

    Raises
    ------
    TypeError, ValueError
        On bad arguments, a set of the wrong dimension, a checkpoint of another
        architecture, or a resumed run whose configuration changed.
    FileNotFoundError
        If `init` is missing, or `resume` is set and ``out_dir/last.pt`` is missing.
    FileExistsError
        If neither `resume` nor `overwrite` is set and ``out_dir/last.pt`` exists (a
        run is never overwritten by mistake).

    Examples
    --------
    >>> import tempfile
    >>> image = np.zeros((16, 16), np.float32); image[4:12, 4:12] = 1
    >>> data = SegmentationSet([image], [image > 0.5], ["a"], "foreground", "example")
    >>> config = TrainConfig(width=2, depth=2, patch_size=8, batch_size=2, steps=2,
    ...                      steps_per_epoch=1, metric_n_patches=4)
    >>> with tempfile.TemporaryDirectory() as out:
    ...     result = train(config, data, data, out_dir=out, progress=False)
    ...     files = sorted(p.name for p in Path(out).iterdir())
    >>> [row["epoch"] for row in result.history], files
    ([1, 2], ['best.pt', 'history.json', 'last.pt', 'log.csv'])
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"`config` must be a TrainConfig; got {type(config).__name__}")
    _check_set(train_set, "train_set", config.ndim)
    if val_set is not None:
        _check_set(val_set, "val_set", config.ndim)
        if val_set.channels != train_set.channels:
            raise ValueError(f"`val_set` must have the channels of `train_set` ({train_set.channels}); "
                             f"got {val_set.channels}")
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(f"`out_dir` must be a path; got {type(out_dir).__name__}")
    if init is not None and not isinstance(init, (str, os.PathLike)):
        raise TypeError(f"`init` must be None or a path; got {type(init).__name__}")
    resume = as_bool(resume, "resume")
    overwrite = as_bool(overwrite, "overwrite")
    progress = as_bool(progress, "progress")
    if max_epochs is not None:
        max_epochs = as_int(max_epochs, "max_epochs", 1)
    if init is not None and resume:
        raise ValueError("`init` and `resume` exclude each other: a resumed run has its own weights")
    out_dir = Path(out_dir)
    last = out_dir / "last.pt"
    if resume and not last.is_file():
        raise FileNotFoundError(f"`resume`: no checkpoint to resume at {last}")
    if resume and overwrite:
        raise ValueError("`resume` and `overwrite` exclude each other")
    if not resume and not overwrite and last.exists():
        raise FileExistsError(f"`out_dir` already holds a run ({last}); pass resume=True to continue it, "
                              "overwrite=True to replace it, or choose another out_dir")
    init_state = _read_checkpoint(init, "init") if init is not None else None
    resume_state = _read_checkpoint(last, "resume") if resume else None
    if resume_state is not None:
        _check_resumable(resume_state["config"], config, last)
    ctx = _context(config)
    try:
        return _train(ctx, config, train_set, val_set, out_dir, init_state, resume_state, max_epochs, progress)
    finally:
        if ctx.owns_group:
            dist.destroy_process_group()


def _train(ctx, config, train_set, val_set, out_dir, init_state, resume_state, max_epochs, progress):
    began = time.perf_counter()
    created = False
    if ctx.rank == 0:
        created = not out_dir.exists()
        out_dir.mkdir(parents=True, exist_ok=True)
        _remove_stale(out_dir)
        if resume_state is None:  # a new run: no best.pt of an older one may survive
            with contextlib.suppress(FileNotFoundError):
                (out_dir / "best.pt").unlink()
    try:
        return _run(ctx, config, train_set, val_set, out_dir, init_state, resume_state, max_epochs, progress,
                    began)
    except BaseException:
        if created:  # stopped before its first checkpoint: leave no empty run folder behind
            with contextlib.suppress(OSError):
                out_dir.rmdir()
        raise


def _run(ctx, config, train_set, val_set, out_dir, init_state, resume_state, max_epochs, progress, began):
    from tqdm.auto import tqdm

    paths = {"last": out_dir / "last.pt", "best": out_dir / "best.pt" if val_set is not None else None,
             "log_csv": out_dir / "log.csv", "history_json": out_dir / "history.json"}
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    random.seed(config.seed)
    model = _model(config, train_set.channels)
    for name, state in (("init", init_state), ("resume", resume_state)):
        if state is not None:
            if state["model_config"] != model.config():
                raise ValueError(f"`{name}`: the checkpoint's network {state['model_config']} is not the "
                                 f"configuration's {model.config()}")
            model.load_state_dict(state["model"])
    model.to(ctx.device)
    optimizer = _optimizer(config, model)
    step, epoch, history, best = 0, 0, [], None
    if resume_state is not None:
        optimizer.load_state_dict(resume_state["optimizer"])
        step, epoch = int(resume_state["step"]), int(resume_state["epoch"])
        history, best = list(resume_state["history"]), resume_state["best"]
        _set_rng_state(resume_state["rng"])
    net = model
    if ctx.distributed:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)
    loss_fn = LOSSES[config.loss](config)
    epoch_masks = config.structures_every == "epoch" and _takes_mask(loss_fn)
    per_step = config.batch_size * ctx.world
    patches = PatchDataset(train_set, config.patch_size, config.steps_per_epoch * per_step,
                           augment=config.augment, seed=config.seed)
    higher = _BEST[config.best_metric]
    bar = tqdm(total=config.steps, initial=step, desc="train", unit="step", dynamic_ncols=True,
               disable=not progress or ctx.rank != 0)
    epochs_run = 0
    try:
        while step < config.steps and (max_epochs is None or epochs_run < max_epochs):
            start = time.perf_counter()
            patches.set_epoch(epoch)
            n_steps = min(config.steps_per_epoch, config.steps - step)
            row = {"epoch": epoch + 1}
            masks = None
            if epoch_masks:
                t = time.perf_counter()
                masks = _epoch_masks(model, train_set, config)
                row["mask_fraction"] = float(sum(m.sum() for m in masks) / sum(m.size for m in masks))
                row["mask_seconds"] = time.perf_counter() - t
            batches = [list(range(s * per_step + ctx.rank * config.batch_size,
                                  s * per_step + (ctx.rank + 1) * config.batch_size)) for s in range(n_steps)]
            loader = torch.utils.data.DataLoader(patches, batch_sampler=batches, num_workers=config.num_workers)
            sums = {"loss": 0.0}
            net.train()
            for batch in loader:
                lr = _lr(config, step)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                image = batch["image"].to(ctx.device)
                target = batch["target"].to(ctx.device)
                logits = net(image)
                if masks is not None:
                    mask = torch.from_numpy(patches.crop_batch(masks, batch)).to(ctx.device)
                    loss = loss_fn(logits, target, mask=mask)
                else:
                    loss = loss_fn(logits, target)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if config.grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                optimizer.step()
                step += 1
                value = float(loss.detach())
                sums["loss"] += value
                counts = getattr(loss_fn, "last_counts", None) if masks is None else None
                if counts is not None:
                    pixels = logits[0, 0].numel()
                    sums["mask_fraction"] = sums.get("mask_fraction", 0.0) + float(counts["mask"].mean()) / pixels
                    for key, values in counts.items():
                        if key != "mask":
                            sums[f"mask_{key}"] = sums.get(f"mask_{key}", 0.0) + float(values.mean())
                bar.update(1)
                bar.set_postfix(epoch=epoch + 1, loss=f"{value:.4f}")
            epoch += 1
            epochs_run += 1
            if ctx.distributed:
                keys = sorted(sums)
                totals = torch.tensor([sums[k] for k in keys], dtype=torch.float64, device=ctx.device)
                dist.all_reduce(totals)
                sums = dict(zip(keys, (totals / ctx.world).tolist()))
                for buffer in model.buffers():  # batch-norm statistics: rank 0's
                    dist.broadcast(buffer, 0)
            row["step"] = step
            row["train_loss"] = sums.pop("loss") / n_steps
            row["lr"] = lr
            for key, value in sums.items():
                row[key] = value / n_steps
            row["train_seconds"] = time.perf_counter() - start
            improved = False
            if ctx.rank == 0:
                if val_set is not None:
                    t = time.perf_counter()
                    summary = evaluate(model, val_set, tile=config.val_tile, overlap=config.val_overlap,
                                       batch_size=config.val_batch_size, regions=config.regions,
                                       patch_size=config.metric_patch_size, n_patches=config.metric_n_patches,
                                       seed=config.seed)
                    for key, (mean, std) in summary.items():
                        row[f"val_{key}"] = float(mean)
                        row[f"val_{key}_std"] = float(std)
                    row["val_seconds"] = time.perf_counter() - t
                    value = row[f"val_{config.best_metric}"]
                    if best is None or (value > best["value"] if higher else value < best["value"]):
                        best = {"metric": config.best_metric, "value": value, "epoch": epoch}
                        improved = True
                row["seconds"] = time.perf_counter() - start
                history.append(row)
                state = _checkpoint(model, optimizer, config, step, epoch, history, best, ctx.world)
                _atomic_write(paths["last"], lambda f: torch.save(state, f))
                if improved:
                    _atomic_write(paths["best"], lambda f: torch.save(state, f))
                _write_text(paths["log_csv"], _csv_text(history))
                _write_text(paths["history_json"], json.dumps({"config": config.to_dict(), "history": history},
                                                              indent=1) + "\n")
                if progress:
                    bar.write(_summary_line(row, config.best_metric))
            if ctx.distributed:
                shared = [row, best]
                dist.broadcast_object_list(shared, src=0)
                if ctx.rank != 0:
                    row, best = shared
                    history.append(row)
    finally:
        bar.close()
    return TrainResult(model=model, history=history, paths=paths, config=config,
                       seconds=time.perf_counter() - began)


def _summary_line(row, metric):
    text = f"epoch {row['epoch']} step {row['step']}: loss {row['train_loss']:.4f}"
    if f"val_{metric}" in row:
        text += f", val {metric} {row[f'val_{metric}']:.4f}"
    return text + f" ({row['seconds']:.1f} s)"
