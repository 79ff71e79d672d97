"""The DMT-loss beside plain BCE, in a U-Net training step and beside topolosses, as one table.

Usage::

    python benchmarks/compare_loss.py       # about a minute
    pip install -c constraints/ci.txt topolosses   # optional: adds the topolosses rows

What is measured, in this one process (the inputs are those of the asv suites,
:mod:`benchmarks.loss`: seeded blurred-field logits in [-8, 8] and binary targets):

1. On 8 x 1 x 256^2: forward + backward of ``torch.nn.BCEWithLogitsLoss()`` and of
   ``DMTLoss(epsilon=0.2, beta=3.0)`` with 1 and 2 engine workers; then one training
   step (forward, backward, Adam) of the demo's U-Net (:func:`benchmarks.loss.make_step`) with
   BCE, and with the DMT-loss (whose first term is that BCE), and the share the
   DMT-loss adds to the step.
2. On one 1 x 1 x 128^2 prediction: BCE and ``DMTLoss`` forward + backward next to the
   losses of topolosses at their defaults (so with their Dice base loss added), given the
   same prediction as two classes, logits ``(0, x)`` with ``softmax=True`` (softmax of
   which is ``sigmoid(x)``; several of them need a background channel), and targets
   ``(1 - y, y)``; a loss that cannot be imported or fails is listed with the reason.

Each time is the median of up to ``--repeat`` calls (at least 3, stopping once a
measurement has taken ``--budget`` seconds) after one untimed call, with the garbage
collector off during a call (:func:`benchmarks.compare.median_time`); the fast engine's
kernels are compiled beforehand. ``torch.set_num_threads`` is left at its default.
All timings are wall-clock on whatever else the machine is doing: the header prints
the load average at the start and the end.
"""

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks.compare import markdown_table, median_time  # noqa: E402
from benchmarks.loss import make_batch, make_loss, make_step, warm_up  # noqa: E402

BIG, SMALL = "8x256x256", "1x128x128"
WORKERS = (1, 2)
INSTALL = "pip install -c constraints/ci.txt topolosses"
# topolosses 0.2.0: (module under topolosses.losses, class)
TOPOLOSSES = [("cldice.src.cldice_loss", "CLDiceLoss"), ("betti_matching.src.betti_matching_loss",
              "BettiMatchingLoss"), ("hutopo.src.hutopo_loss", "HutopoLoss"),
              ("topograph.src.topograph_loss", "TopographLoss"), ("warping.src.warping_loss", "WarpingLoss"),
              ("mosin.src.mosin_loss", "MosinLoss"), ("dice.src.dice_loss", "DiceLoss")]


def fwd_bwd(loss, batch, two_classes=False):
    """A callable running forward + backward of `loss` on fresh leaf tensors of `batch`.

    With `two_classes`, the logits ``x`` and target ``y`` become the two channels
    ``(0, x)`` and ``(1 - y, y)`` (softmax of the logits is then ``sigmoid(x)``).
    """
    logits, target = make_batch(batch)
    if two_classes:
        logits = torch.cat([torch.zeros_like(logits), logits], 1).detach().requires_grad_()
        target = torch.cat([1 - target, target], 1)

    def call():
        logits.grad = None
        loss(logits, target).backward()

    return call


def _import_topolosses(log):
    """``(version, {name: class or error text})``, or None when topolosses is not installed.

    ``topolosses.losses`` imports every loss, MosinLoss with it, which imports
    torchvision; where torchvision cannot load (a CUDA build beside a CPU torch) the
    modules are imported one by one under a bare ``topolosses.losses`` package.
    """
    import importlib
    import importlib.metadata
    import types

    try:
        import topolosses
    except ImportError:
        return None
    version = importlib.metadata.version("topolosses")
    classes = {}
    try:
        importlib.import_module("topolosses.losses")
    except Exception as err:  # noqa: BLE001 -- any import failure: fall back, say why
        log(f"import topolosses.losses failed ({type(err).__name__}: {err}); importing each loss alone")
        for name in [n for n in sys.modules if n.startswith("topolosses.losses")]:
            del sys.modules[name]
        package = types.ModuleType("topolosses.losses")
        package.__path__ = [str(Path(topolosses.__file__).parent / "losses")]
        sys.modules["topolosses.losses"] = package
    for module, name in TOPOLOSSES:
        try:
            classes[name] = getattr(importlib.import_module(f"topolosses.losses.{module}"), name)
        except Exception as err:  # noqa: BLE001
            classes[name] = f"import failed: {type(err).__name__}: {str(err).splitlines()[0][:80]}"
    return version, classes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed calls per measurement (default 7)")
    parser.add_argument("--budget", type=float, default=5.0,
                        help="stop a measurement after this many seconds, past 3 calls (default 5)")
    args = parser.parse_args(argv)

    def log(message):
        print(message, file=sys.stderr, flush=True)

    def measure(label, function):
        seconds = median_time(function, repeat=args.repeat, budget=args.budget).seconds
        log(f"{label}: {seconds:.4f} s")
        return seconds

    start, load_start = time.perf_counter(), os.getloadavg()[0]
    log("compiling the fast engine (not timed) ...")
    warm_up()
    rows, notes = [], []

    def row(what, batch, workers, seconds, reference):
        rows.append([what, batch, workers, f"{seconds:.4f}", f"{seconds / reference:.1f}"])

    # 1. 8 x 1 x 256^2
    bce = measure("BCE", fwd_bwd(make_loss("bce"), BIG))
    row("BCEWithLogitsLoss fwd+bwd", BIG, "-", bce, bce)
    for workers in WORKERS:
        dmt = measure(f"DMT {workers}", fwd_bwd(make_loss("dmt", workers), BIG))
        row("DMTLoss fwd+bwd", BIG, str(workers), dmt, bce)
    step = {loss: measure(f"U-Net step {loss}", make_step(loss, BIG)) for loss in ("bce", "dmt")}
    row("U-Net step, BCE", BIG, "-", step["bce"], bce)
    row("U-Net step, BCE + DMT (DMTLoss)", BIG, f"default ({os.cpu_count()})", step["dmt"], bce)
    added = 100 * (step["dmt"] / step["bce"] - 1)

    # 2. one 1 x 1 x 128^2 prediction, beside topolosses
    small_bce = measure("BCE small", fwd_bwd(make_loss("bce"), SMALL))
    row("BCEWithLogitsLoss fwd+bwd", SMALL, "-", small_bce, small_bce)
    row("DMTLoss fwd+bwd", SMALL, "1", measure("DMT small", fwd_bwd(make_loss("dmt", 1), SMALL)), small_bce)
    found = _import_topolosses(log)
    if found is None:
        notes.append(f"topolosses is not installed: `{INSTALL}` adds its losses to the 128^2 rows.")
        topolosses_version = "not installed"
    else:
        topolosses_version, classes = found
        for name, cls in classes.items():
            if isinstance(cls, str):
                notes.append(f"topolosses {name} skipped: {cls}")
                continue
            try:
                seconds = measure(name, fwd_bwd(cls(softmax=True), SMALL, two_classes=True))
            except Exception as err:  # noqa: BLE001
                notes.append(f"topolosses {name} skipped: {type(err).__name__}: {str(err).splitlines()[0][:80]}")
                continue
            row(f"topolosses {name} fwd+bwd (2 classes)", SMALL, "-", seconds, small_bce)

    load_end = os.getloadavg()[0]
    try:
        commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT,
                                capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    import numba
    import scipy

    print(f"dmtloss {commit}, Python {platform.python_version()}, torch {torch.__version__} "
          f"({torch.get_num_threads()} intra-op threads, the default), numpy {np.__version__}, "
          f"scipy {scipy.__version__}, numba {numba.__version__}, topolosses {topolosses_version}, "
          f"{platform.machine()} with {os.cpu_count()} CPUs; median of up to {args.repeat} calls after "
          f"one warm-up call; {time.perf_counter() - start:.0f} s in all; load average {load_start:.2f} "
          f"at the start, {load_end:.2f} at the end.\n")
    header = ["measurement", "batch (N x H x W, 1 channel)", "engine workers", "median (s)",
              "x BCE of the batch"]
    print(markdown_table(header, rows) + "\n")
    print(f"DMT adds {added:.0f} % to the training step ({step['bce']:.3f} s -> {step['dmt']:.3f} s, "
          f"8 x 1 x 256^2, U-Net 8-16-32, Adam).")
    if notes:
        print("\n" + "\n".join(f"- {note}" for note in notes))


if __name__ == "__main__":
    main()
