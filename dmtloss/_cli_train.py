"""The training commands of ``dmtloss``: ``demo``, ``train`` and ``evaluate``.

Kept apart from :mod:`dmtloss.cli` so that the commands that need no network (``explain``,
``structures``) do not import torch. The parser's option types and the one-line error
class come from :mod:`dmtloss.cli`.
"""

import argparse
import json
import math
import os
import pathlib
import re
import shlex
import time

from .cli import _bounded_int, _check_output, _count, _Failure, _nonnegative_float, _printer

# -- data specifications: KIND[:ARGUMENT[:SPLIT]] --------------------------------------------

_DATA_HELP = """\
DATA is KIND[:ARG[:SPLIT]], one of:
  synthetic-membranes[:COUNT]  synthetic-vessels[:COUNT]  (2-D, exact ground truth)
  synthetic-tubes[:COUNT]      synthetic-sheets[:COUNT]   (3-D, exact ground truth)
      COUNT from 1 to 1000 (default 8); validation sets (--val, and evaluate --checkpoint)
      are generated from the seed + 1,000,003, so they are never the training images
  retina                       (scikit-image's bundled retina, pseudo ground truth)
  em-vnc:DIR[:train|validation]   raw/NN.tif + membranes/NN.png (sections 00-09 / 10-13)
  isbi2012:DIR   isbi2013:DIR   cremi:FILE.hdf   cracktree:DIR
  drive:DIR[:training|test]   roads:DIR[:train|valid|test]   folder:IMAGES_DIR,MASKS_DIR
  topomortar:DIR[:train|val|test]  <split>/images/*.png (RGB: a 3-channel network) + labels/
"""

_SYNTHETIC = {"synthetic-membranes": "synthetic_membranes", "synthetic-vessels": "synthetic_vessels",
              "synthetic-tubes": "synthetic_tubes", "synthetic-sheets": "synthetic_sheets"}
#: The most images a synthetic DATA specification may ask for (``synthetic-membranes:COUNT``):
#: a thousand 256 x 256 images take about 330 MB.
MAX_SYNTHETIC_COUNT = 1000
_MAX_SEED = 2 ** 31 - 1  # numpy's seeds are below 2**32, validation data's (+ VAL_SEED_OFFSET) too
_MAX_STEPS = 10 ** 9
_MAX_EPOCH_STEPS = 10 ** 6
_MAX_DEMO_PIXELS = 2 ** 28  # all images of the demo, training and validation
_PATH_KINDS = ("em-vnc", "isbi2012", "isbi2013", "cremi", "cracktree", "drive", "roads", "topomortar", "folder")


def load_data(spec, option, *, seed=0, shape=None):
    """The SegmentationSet a DATA specification names (see ``_DATA_HELP``)."""
    from . import data

    kind, colon, rest = spec.partition(":")
    try:
        if kind in _SYNTHETIC:
            if (colon or rest) and not re.fullmatch(r"[0-9]{1,9}", rest):
                raise ValueError(f"{kind}:COUNT takes a whole number of images; got {rest[:40]!r}")
            count = int(rest) if rest else 8
            if not 1 <= count <= MAX_SYNTHETIC_COUNT:
                raise ValueError(f"COUNT must be from 1 to {MAX_SYNTHETIC_COUNT} "
                                 f"(MAX_SYNTHETIC_COUNT); got {count}")
            kwargs = {"seed": seed}
            if shape is not None:
                kwargs["shape"] = shape
            return getattr(data, _SYNTHETIC[kind])(count, **kwargs)
        if kind == "retina":
            if rest:
                raise ValueError("retina takes no argument")
            return data.retina()
        if kind not in _PATH_KINDS:
            raise ValueError(f"unknown kind {kind!r}; expected one of "
                             f"{', '.join([*_SYNTHETIC, 'retina', *_PATH_KINDS])}")
        if not rest:
            raise ValueError(f"{kind} needs a path: {kind}:PATH")
        if kind == "folder":
            images, comma, masks = rest.partition(",")
            if not comma:
                raise ValueError("folder needs two directories: folder:IMAGES_DIR,MASKS_DIR")
            return data.load_folder(images, masks)
        path, _, split = rest.partition(":")
        loader = {"em-vnc": data.load_em_vnc, "isbi2012": data.load_isbi2012,
                  "isbi2013": data.load_isbi2013, "cremi": data.load_cremi,
                  "cracktree": data.load_cracktree, "drive": data.load_drive,
                  "roads": data.load_roads, "topomortar": data.load_topomortar}[kind]
        if split:
            if kind not in ("em-vnc", "drive", "roads", "topomortar"):
                raise ValueError(f"{kind} takes no split")
            return loader(path, split=split)
        return loader(path)
    except (OSError, ValueError, TypeError) as err:
        raise _Failure(f"argument {option}: {err}") from None


# -- shared options --------------------------------------------------------------------------

def _positive_float(text):
    value = _nonnegative_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0; got {text}")
    return value


def _add_training_options(parser, defaults):
    group = parser.add_argument_group("network and schedule")
    group.add_argument("--width", type=_bounded_int(1, 512), default=defaults["width"], metavar="W",
                       help="channels of the U-Net's first level, doubled per level (default: %(default)s)")
    group.add_argument("--depth", type=_bounded_int(1, 8), default=defaults["depth"], metavar="D",
                       help="levels of the U-Net (default: %(default)s)")
    group.add_argument("--patch-size", type=_bounded_int(8, 4096), default=defaults["patch_size"],
                       metavar="P", help="side of the training patches (default: %(default)s)")
    group.add_argument("--batch-size", type=_bounded_int(1, 4096), default=defaults["batch_size"],
                       metavar="B", help="patches per step (default: %(default)s)")
    group.add_argument("--lr", type=_positive_float, default=defaults["lr"],
                       help="learning rate of Adam (default: %(default)s)")
    group.add_argument("--seed", type=_bounded_int(0, _MAX_SEED), default=0, metavar="S",
                       help=f"seed of the data, the weights and the patches, 0 to {_MAX_SEED} "
                            "(default: %(default)s)")
    group.add_argument("--device", default="auto", metavar="DEV",
                       help="cpu, cuda, cuda:N or auto (default: %(default)s)")
    group.add_argument("--workers", type=_bounded_int(1, 1024), default=None, metavar="N",
                       help="threads of the Morse-structure engine (default: one per CPU)")
    group.add_argument("--no-progress", dest="progress", action="store_false",
                       help="no progress bars")
    dmt = parser.add_argument_group("DMT-loss")
    dmt.add_argument("--epsilon", type=_nonnegative_float, default=0.2, metavar="E",
                     help="persistence threshold of the structures (default: %(default)s)")
    dmt.add_argument("--beta", type=_nonnegative_float, default=3.0,
                     help="weight of the structure term (default: %(default)s)")
    dmt.add_argument("--normalize", choices=("pixels", "mask"), default="pixels",
                     help="denominator of the structure term (default: %(default)s)")
    dmt.add_argument("--frame", action="store_true",
                     help="count the patch frame as a basin boundary (boundaries only: no effect on "
                          "the default 2-D mask of ridges)")
    dmt.add_argument("--rim", action="store_true",
                     help="pad each likelihood with a rim of 1 before computing the structures, so the "
                          "patch frame closes the walls that meet it")
    dmt.add_argument("--classes", choices=("foreground", "both"), default="foreground",
                     help="structures of the foreground likelihood f only (the paper's), or joined with "
                          "those of the background 1 - f, whose ridges cross dips inside walls "
                          "(default: %(default)s)")
    dmt.add_argument("--structures-every", choices=("step", "epoch"), default="step",
                     help="recompute the structures every step, or once per epoch on whole "
                          "training images as the paper did (default: %(default)s)")


def _config(args, **fields):
    from .train import TrainConfig

    options = dict(width=args.width, depth=args.depth, patch_size=args.patch_size,
                   batch_size=args.batch_size, lr=args.lr, seed=args.seed, device=args.device,
                   workers=args.workers, epsilon=args.epsilon, beta=args.beta,
                   normalize=args.normalize, frame=args.frame, rim=args.rim, classes=args.classes,
                   structures_every=args.structures_every)
    options.update(fields)
    try:
        config = TrainConfig(**options)
    except (TypeError, ValueError) as err:
        raise _Failure(str(err)) from None
    if config.device.startswith("cuda"):
        import torch

        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = int(config.device.partition(":")[2] or 0)
        if index >= count:
            raise _Failure(f"argument --device: {config.device} is not available; this machine has "
                           f"{_count(count, 'CUDA device', 'CUDA devices')}")
    return config


# -- demo --------------------------------------------------------------------------------------

def _demo(args, out):
    start = time.perf_counter()
    import numpy as np

    from . import fast, plotting
    from .data import synthetic_membranes
    from .study import compare_losses, format_table, paired_test
    from .data import VAL_SEED_OFFSET

    figure = _check_output(args.output)
    runs = pathlib.Path(args.out_dir)
    if runs.exists() and not runs.is_dir():
        raise _Failure(f"argument --out-dir: {args.out_dir!r} is not a directory")
    shape = (args.size, args.size)
    if args.patch_size > args.size:
        raise _Failure(f"argument --patch-size: at most --size ({args.size}); got {args.patch_size}")
    if (args.train_images + args.val_images) * args.size ** 2 > _MAX_DEMO_PIXELS:
        raise _Failure(f"arguments --train-images, --val-images, --size: {args.train_images} + "
                       f"{args.val_images} images of {args.size} x {args.size} exceed {_MAX_DEMO_PIXELS:,} "
                       "pixels in all")
    show = _printer(out, [("validation", ""), ("Betti error b1", "")])
    show("task", f"synthetic membranes, {args.size} x {args.size}: {args.train_images} training and "
                 f"{args.val_images} validation images (noise {args.noise:g}, up to {args.gaps} "
                 "weakened walls per image)")
    data = dict(gap_count=args.gaps, noise=args.noise)
    train_set = synthetic_membranes(args.train_images, shape, seed=args.seed, **data)
    val_set = synthetic_membranes(args.val_images, shape, seed=args.seed + VAL_SEED_OFFSET, **data)
    epoch = max(1, min(args.pretrain_steps, 500))
    pretrain = _config(args, loss="bce", steps=args.pretrain_steps, steps_per_epoch=epoch,
                       lr_schedule="constant")
    tune = max(1, min(args.steps, 500))
    arms = {"BCE": _config(args, loss="bce", steps=args.steps, steps_per_epoch=tune, lr_schedule="linear"),
            "DMT": _config(args, loss="dmt", steps=args.steps, steps_per_epoch=tune, lr_schedule="linear")}
    show("schedule", f"U-Net {'-'.join(str(args.width * 2 ** k) for k in range(args.depth))}, "
                     f"batches of {args.batch_size} x {args.patch_size}^2: {args.pretrain_steps} BCE steps, "
                     f"then {args.steps} steps each of BCE and of BCE + {args.beta:g} x DMT "
                     f"(epsilon {args.epsilon:g}) from the same state, learning rate decaying to 0")
    comparison = compare_losses(train_set, val_set, pretrain, arms, out_dir=runs,
                                progress=args.progress, log=lambda text: show("stage", text))
    table = format_table(comparison)
    print("", file=out)
    print(table, file=out, flush=True)
    print("", file=out)
    b1 = {arm: [row["betti1"] for row in comparison.rows[arm]] for arm in comparison.arms}
    diff, better, worse, p = paired_test(b1["BCE"], b1["DMT"])
    ratio = np.mean(b1["DMT"]) / np.mean(b1["BCE"]) if np.mean(b1["BCE"]) else math.nan
    if not math.isnan(p) and p < 0.05 and diff < 0:
        verdict = (f"DMT's Betti error is {ratio:.2f} x BCE's: lower on {better} of {len(b1['BCE'])} "
                   f"images (Wilcoxon p = {p:.2g})")
    elif not math.isnan(p) and p < 0.05:
        verdict = (f"DMT's Betti error is HIGHER than BCE's ({ratio:.2f} x; p = {p:.2g}): at this "
                   "scale the DMT-loss did not help")
    else:
        verdict = (f"no clear difference at this scale: DMT/BCE Betti error {ratio:.2f}, lower on "
                   f"{better} and higher on {worse} of {len(b1['BCE'])} images (p = {p:.2g}); "
                   "train longer or on more images to tell")
    show("verdict", verdict)

    # the figure: the validation image where DMT gained most in Betti error
    gains = np.array(b1["BCE"]) - np.array(b1["DMT"])
    k = int(np.argmax(gains))
    likelihoods = {arm: comparison.likelihoods[arm][k] for arm in comparison.arms}
    structures = fast.morse_structures(likelihoods["BCE"], epsilon=args.epsilon)
    image, target = val_set[k]
    try:
        plotting.comparison_figure(image, target, likelihoods, figure, structures=structures,
                                   title=f"validation image {val_set.names[k]}: Betti error b1 "
                                         f"{b1['BCE'][k]:.2f} (BCE) vs {b1['DMT'][k]:.2f} (DMT)")
    except OSError as err:
        raise _Failure(f"cannot write {str(figure)!r}: {err.strerror or err}") from None
    (runs / "table.txt").write_text(table + "\n\n" + verdict + "\n")
    seconds = comparison.seconds
    show("time", f"{time.perf_counter() - start:.0f} s in all: pretraining {seconds.get('pretrain', 0):.0f} s, "
                 f"BCE {seconds['BCE']:.0f} s, DMT {seconds['DMT']:.0f} s")
    show("figure", str(figure))
    show("runs", f"{runs} (checkpoints, logs, table.txt, metrics.json)")
    return 0


# -- train -------------------------------------------------------------------------------------

def _train(args, out):
    from . import train as training
    from .data import VAL_SEED_OFFSET

    if args.resume and args.overwrite:
        raise _Failure("arguments --resume and --overwrite: give one")
    if args.resume and args.init:
        raise _Failure("arguments --resume and --init: give one (--resume continues a run in "
                       "--out-dir, --init starts a new one from a checkpoint's weights)")
    if args.init and not pathlib.Path(args.init).is_file():
        raise _Failure(f"argument --init: no such file: {args.init!r}")
    _check_out_dir(args.out_dir)
    options = dict(loss=args.loss, steps=args.steps, steps_per_epoch=args.steps_per_epoch,
                   lr_schedule=args.schedule)
    _config(args, ndim=2, **options)  # every option (the network's size too) before any data is read
    train_set = load_data(args.data, "--data", seed=args.seed)
    val_set = load_data(args.val, "--val", seed=args.seed + VAL_SEED_OFFSET) if args.val else None
    if val_set is not None and val_set.ndim != train_set.ndim:
        raise _Failure(f"argument --val: {val_set.ndim}-D images, but --data has {train_set.ndim}-D")
    config = _config(args, ndim=train_set.ndim, **options)
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun, rank 0 alone reports
        out = open(os.devnull, "w")
    show = _printer(out, [("checkpoint", "")])
    last = pathlib.Path(args.out_dir) / "last.pt"
    if args.resume and last.is_file():
        try:
            state = training._read_checkpoint(last, "resume")
            training._check_resumable(state["config"], config, last)
        except ValueError as err:
            raise _Failure(f"argument --resume: {err}") from None
        if state["step"] >= config.steps:
            show("run", f"already finished: {last} is at step {state['step']} of {config.steps}; "
                        "nothing to do (train longer in a new run with --init)")
            return 0
    show("data", f"{len(train_set)} training images ({train_set.source})"
                 + (f", {len(val_set)} validation images" if val_set is not None else ""))
    show("run", f"{config.steps} steps of {config.loss} in epochs of {config.steps_per_epoch}, "
                f"into {args.out_dir}" + (" (resumed)" if args.resume else ""))
    started = time.time()
    try:
        result = training.train(config, train_set, val_set, out_dir=args.out_dir, init=args.init,
                                resume=args.resume, overwrite=args.overwrite, progress=args.progress)
    except FileExistsError:
        raise _Failure(f"argument --out-dir: {args.out_dir!r} already holds a run; add --resume to "
                       "continue it or --overwrite to replace it") from None
    except (FileNotFoundError, ValueError, TypeError) as err:
        raise _Failure(str(err)) from None
    except OSError as err:
        raise _Failure(f"argument --out-dir: cannot write to {args.out_dir!r}: "
                       f"{err.strerror or err}") from None
    except KeyboardInterrupt:
        raise KeyboardInterrupt(_interrupted(args, config, last, started)) from None
    if result.history:
        last_row = result.history[-1]
        shown = {k: v for k, v in last_row.items() if isinstance(v, (int, float))}
        show("last epoch", ", ".join(f"{k} {v:.4g}" for k, v in shown.items()))
    show("checkpoint", str(result.checkpoint))
    if result.history and int(os.environ.get("RANK", "0")) == 0:
        from . import plotting

        curves = plotting.training_curves({config.loss: result.history}, pathlib.Path(args.out_dir) / "training.png",
                                          title=f"{config.loss}, {config.steps} steps")
        show("curves", str(curves))
    return 0


def _check_out_dir(text):
    """Fail before any work on a run folder that cannot be made or written."""
    path = pathlib.Path(text)
    if path.exists() and not path.is_dir():
        raise _Failure(f"argument --out-dir: {text!r} is a file; give a directory")
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise _Failure(f"argument --out-dir: cannot create {text!r}: {str(existing)!r} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise _Failure(f"argument --out-dir: cannot write to {str(existing)!r}: permission denied")


def _interrupted(args, config, last, started):
    """What an interrupted ``train`` says: the last checkpoint's step and how to continue."""
    import torch

    step = None
    try:
        if last.stat().st_mtime >= started or args.resume:  # this run's, not an overwritten one's
            step = torch.load(last, map_location="cpu", weights_only=True)["step"]
    except Exception:  # no checkpoint yet, or none that can be read: nothing to resume
        step = None
    if step is None:
        gone = "" if last.parent.exists() else f"; the empty folder {str(last.parent)!r} was removed"
        return (f"interrupted before the first checkpoint of this run (written after each epoch of "
                f"{config.steps_per_epoch} steps): nothing to resume{gone}")
    return (f"interrupted; the last checkpoint, {last}, is at step {step} of {config.steps}; continue with: "
            f"{_resume_command(getattr(args, 'argv', None))}")


def _resume_command(argv):
    """The command line that continues this run: the same arguments, --resume for --overwrite/--init."""
    if argv is None:
        return "the same command with --resume (and without --overwrite or --init)"
    words, skip = ["dmtloss"], False
    for word in argv:
        if skip:
            skip = False
            continue
        name, equals, _ = word.partition("=")
        if len(name) >= 4 and "--overwrite".startswith(name) and not equals:
            continue
        if len(name) >= 3 and "--init".startswith(name):
            skip = not equals
            continue
        words.append(word)
    if not any(len(w) >= 4 and "--resume".startswith(w) for w in words):
        words.append("--resume")
    return shlex.join(words)


# -- evaluate ----------------------------------------------------------------------------------

#: How ``evaluate --predictions --targets`` reads a file, predictions and targets alike.
_READING_RULE = """\
Prediction and target files are read by one rule (.npy, .png, .tif, .gif, .bmp, .jpg):
  bool, or integers all 0 and 1        labels: 1 is foreground
  values all 0 and 255 (integers: or   labels: 255 (the maximum) is foreground
    0 and their type's maximum)
  other 8-bit images (JPEG too)        likelihoods value / 255: foreground from 0.5 (>= 128)
  floats in [0, 1]                     likelihoods: foreground from 0.5
Anything else is refused: floats outside [0, 1] (logits? apply a sigmoid), NaN, wider
integers that are not such labels (label ids, 16-bit images), colour images. Files are
matched by name without suffix; a file without its partner is an error.
"""
_SUFFIXES = (".npy", ".png", ".tif", ".tiff", ".gif", ".bmp", ".jpg", ".jpeg")


def _evaluate(args, out):
    import numpy as np

    from . import metrics

    if bool(args.checkpoint) == bool(args.predictions):
        raise _Failure("give either --checkpoint CKPT --data DATA, or --predictions DIR --targets DIR")
    options = dict(n_patches=args.patches, seed=args.seed)
    if args.patch_size:
        options["patch_size"] = args.patch_size
    json_path = _check_json(args.json) if args.json else None
    save = pathlib.Path(args.save_predictions) if args.save_predictions else None
    if save is not None:
        if args.predictions:
            raise _Failure("argument --save-predictions: only with --checkpoint")
        if save.exists() and not save.is_dir():
            raise _Failure(f"argument --save-predictions: {args.save_predictions!r} is a file; give a directory")
    show = None
    if args.checkpoint:
        from . import train as training
        from .data import VAL_SEED_OFFSET

        if not args.data:
            raise _Failure("argument --data: required with --checkpoint")
        if not pathlib.Path(args.checkpoint).is_file():
            raise _Failure(f"argument --checkpoint: no such file: {args.checkpoint!r}")
        try:
            model, config, _ = training.load_checkpoint(args.checkpoint)
        except (ValueError, TypeError, RuntimeError, OSError) as err:
            raise _Failure(f"argument --checkpoint: {err}") from None
        synthetic = args.data.partition(":")[0] in _SYNTHETIC
        # synthetic data: the validation images of the run (`train --val`), never its training images
        data_seed = config.seed + VAL_SEED_OFFSET if synthetic else config.seed
        dataset = load_data(args.data, "--data", seed=data_seed)
        if dataset.ndim != config.ndim:
            raise _Failure(f"argument --data: {dataset.ndim}-D images, but the checkpoint is a "
                           f"{config.ndim}-D network")
        if save is not None:
            try:
                save.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise _Failure(f"argument --save-predictions: cannot create {args.save_predictions!r}: "
                               f"{err.strerror or err}") from None
        likelihoods = [training.predict(model, image) for image in dataset.images]
        predictions = [lik >= 0.5 for lik in likelihoods]
        targets, names, regions = list(dataset.targets), list(dataset.names), dataset.regions
        if save is not None:
            try:
                for name, lik in zip(names, likelihoods):
                    np.save(save / (name.replace("/", "_") + ".npy"), lik.astype(np.float32))
            except OSError as err:
                raise _Failure(f"argument --save-predictions: cannot write to {args.save_predictions!r}: "
                               f"{err.strerror or err}") from None
        scored = (f"{len(dataset)} validation images of {args.data} (seed {config.seed} + "
                  f"{VAL_SEED_OFFSET:,}, as 'train --val'; not the training images)" if synthetic
                  else f"{len(dataset)} images of {args.data}")
    else:
        if not args.targets:
            raise _Failure("argument --targets: required with --predictions")
        predictions, targets, names = _read_pairs(args.predictions, args.targets)
        regions = args.regions
        scored = f"{len(names)} prediction files of {args.predictions} against {args.targets}"
    try:
        rows = metrics.image_metrics(predictions, targets, regions=regions, **options)
    except (TypeError, ValueError) as err:
        raise _Failure(str(err)) from None
    summary = metrics._summary(rows)
    show = _printer(out, [("scored", "")] + [(key, "") for key in summary])
    show("scored", scored)
    show("images", f"{len(rows)} ({regions} regions)")
    for key, (mean, std) in summary.items():
        show(key, f"{mean:.4f} +- {std:.4f}")
    if json_path is not None:
        text = json.dumps({"summary": summary, "images": names, "rows": rows}, indent=1)
        try:
            json_path.write_text(text)
        except OSError as err:
            raise _Failure(f"argument --json: cannot write {args.json!r}: {err.strerror or err}") from None
        show("json", args.json)
    return 0


def _check_json(text):
    path = pathlib.Path(text)
    if path.is_dir():
        raise _Failure(f"argument --json: {text!r} is a directory; give a file name")
    if not path.parent.is_dir():
        raise _Failure(f"argument --json: {str(path.parent)!r} is not a directory")
    if not os.access(path.parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise _Failure(f"argument --json: cannot write to {text!r}: permission denied")
    return path


def _files(directory, option):
    """Files of a folder by name without suffix; two files of one name are refused."""
    found = {}
    for path in sorted(directory.iterdir()):
        if path.suffix.lower() in _SUFFIXES and path.is_file():
            if path.stem in found:
                raise _Failure(f"argument {option}: {found[path.stem].name} and {path.name} have the same "
                               "name; keep one file per name")
            found[path.stem] = path
    return found


def _names(names):
    names = sorted(names)
    return ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")


def _read_pairs(predictions, targets):
    pdir, tdir = pathlib.Path(predictions), pathlib.Path(targets)
    for option, directory in (("--predictions", pdir), ("--targets", tdir)):
        if not directory.is_dir():
            raise _Failure(f"argument {option}: {str(directory)!r} is not a directory")
    found, truth = _files(pdir, "--predictions"), _files(tdir, "--targets")
    if not found:
        raise _Failure(f"argument --predictions: no images in {predictions!r}")
    no_target, no_prediction = set(found) - set(truth), set(truth) - set(found)
    if no_target or no_prediction:
        parts = ([f"no target for prediction(s) {_names(no_target)}"] if no_target else []) + (
            [f"no prediction for target(s) {_names(no_prediction)}"] if no_prediction else [])
        raise _Failure(f"arguments --predictions, --targets: {'; '.join(parts)}; every file needs its "
                       "partner of the same name")
    preds, trues = [], []
    for stem, path in found.items():
        p = _read_binary(path, "--predictions")
        t = _read_binary(truth[stem], "--targets")
        if p.shape != t.shape:
            raise _Failure(f"argument --targets: {truth[stem].name} has shape {t.shape}, its "
                           f"prediction {p.shape}")
        preds.append(p)
        trues.append(t)
    return preds, trues, list(found)


def _read_binary(path, option):
    """The foreground of a prediction or target file, by :data:`_READING_RULE`."""
    import numpy as np

    from .data import loaders

    try:
        if path.suffix.lower() == ".npy":
            array = np.load(path, mmap_mode="r", allow_pickle=False)
            if array.size > loaders.MAX_VOXELS:
                raise ValueError(f"it has {array.size} values; at most MAX_VOXELS = {loaders.MAX_VOXELS}")
            array, colour = np.squeeze(np.array(array)), False
        else:
            with loaders._ImageFile(path, "file") as image:
                image.check((2, 3), "mask")
                array, colour = image.read(), image.colour
    except MemoryError:
        raise _Failure(f"argument {option}: not enough memory to read {path}") from None
    except (OSError, ValueError, TypeError, EOFError) as err:
        text = str(err) if str(err).startswith(("file ", "cannot read")) else f"cannot read {path}: {err}"
        raise _Failure(f"argument {option}: {text}") from None
    if colour:
        if not (array[..., 1:] == array[..., :1]).all():
            raise _Failure(f"argument {option}: {path.name} is a colour image; expected one channel")
        array = array[..., 0]
    if array.ndim not in (2, 3) or min(array.shape) < 1:
        raise _Failure(f"argument {option}: {path.name} must be a 2-D image or a 3-D stack; "
                       f"got shape {array.shape}")
    kind = array.dtype.kind
    if kind == "b":
        return array
    if kind not in "iuf":
        raise _Failure(f"argument {option}: {path.name} holds {array.dtype} values; expected numbers")
    if kind == "f" and not np.isfinite(array).all():
        raise _Failure(f"argument {option}: {path.name} holds NaN or infinite values")
    low, high = array.min(), array.max()
    if kind in "iu" and low >= 0 and high <= 1:
        return array == 1
    top = np.iinfo(array.dtype).max if kind in "iu" else 255
    for label in {255, top}:
        if high == label and ((array == 0) | (array == label)).all():
            return array == label
    if array.dtype == np.uint8:
        return array >= 128
    if kind == "f" and low >= 0 and high <= 1:
        return array >= 0.5
    if kind == "f":
        raise _Failure(f"argument {option}: {path.name} holds floats from {low:.4g} to {high:.4g}, outside "
                       "[0, 1]: logits? save likelihoods (a sigmoid of them) or 0/1 labels")
    raise _Failure(f"argument {option}: {path.name} holds {array.dtype} values from {low} to {high}: neither "
                   "0/1 nor 0/255 labels (label ids or a 16-bit image?); save 0/1 labels, 8-bit images "
                   "or floats in [0, 1]")


# -- parsers -------------------------------------------------------------------------------------

def add_commands(commands):
    """Add ``demo``, ``train`` and ``evaluate`` to the ``dmtloss`` sub-command parsers."""
    demo = commands.add_parser(
        "demo",
        help="train a U-Net with BCE and with the DMT-loss on synthetic membranes and compare",
        description="The DMT-loss at work, on data with an exact ground truth and no download: "
                    "pretrain a small U-Net with BCE on synthetic membranes whose walls are "
                    "noisy and weakened in places, fine-tune that same state once with BCE and "
                    "once with BCE + beta x DMT, and print the paper's table (accuracy, DICE, "
                    "ARE, VOI, Betti error, missing and extra holes, cell counts) over the "
                    "validation images, with a paired test of each difference. Writes a figure "
                    "of one validation image. About five minutes on two CPU cores.",
    )
    demo.add_argument("--pretrain-steps", type=_bounded_int(1, _MAX_STEPS), default=1500, metavar="N",
                      help="BCE steps before the comparison (default: %(default)s)")
    demo.add_argument("--steps", type=_bounded_int(1, _MAX_STEPS), default=500, metavar="N",
                      help="fine-tuning steps of each arm (default: %(default)s)")
    demo.add_argument("--size", type=_bounded_int(16, 2048), default=256, metavar="N",
                      help="side of the synthetic images (default: %(default)s)")
    demo.add_argument("--train-images", type=_bounded_int(1, MAX_SYNTHETIC_COUNT), default=16, metavar="N",
                      help="training images (default: %(default)s)")
    demo.add_argument("--val-images", type=_bounded_int(2, MAX_SYNTHETIC_COUNT), default=24, metavar="N",
                      help="validation images (default: %(default)s)")
    demo.add_argument("--gaps", type=_bounded_int(0, 10_000), default=60, metavar="G",
                      help="weakened wall segments per image (default: %(default)s)")
    demo.add_argument("--noise", type=_nonnegative_float, default=0.4, metavar="SIGMA",
                      help="noise of the images, in units of the wall contrast (default: %(default)s)")
    demo.add_argument("--output", "-o", default="dmtloss-demo.png", metavar="PATH",
                      help="the figure (default: %(default)s)")
    demo.add_argument("--out-dir", default="dmtloss-demo", metavar="DIR",
                      help="checkpoints, logs and the table (default: %(default)s)")
    _add_training_options(demo, dict(width=8, depth=3, patch_size=96, batch_size=8, lr=1e-3))
    demo.set_defaults(run=_demo)

    train = commands.add_parser(
        "train", help="train a U-Net on your data, with BCE, the DMT-loss or a baseline",
        description="Train a 2-D or 3-D U-Net. Checkpoints are written atomically each epoch "
                    "(OUT_DIR/last.pt, best.pt with validation data), with a CSV and a JSON "
                    "log; --resume continues an interrupted run exactly. Runs on several "
                    "processes under torchrun (DDP: gloo on CPU, nccl on GPU).",
        epilog=_DATA_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    train.add_argument("--data", required=True, metavar="DATA", help="training data (see below)")
    train.add_argument("--val", default=None, metavar="DATA", help="validation data (see below)")
    train.add_argument("--out-dir", required=True, metavar="DIR", help="where the run is written")
    train.add_argument("--loss", choices=("bce", "dmt", "weighted-bce", "cldice", "ce-dice"), default="dmt",
                       help="the loss (default: %(default)s)")
    train.add_argument("--steps", type=_bounded_int(1, _MAX_STEPS), default=2000, metavar="N",
                       help="optimiser steps of this run (default: %(default)s)")
    train.add_argument("--steps-per-epoch", type=_bounded_int(1, _MAX_EPOCH_STEPS), default=200, metavar="N",
                       help="steps between validations and checkpoints (default: %(default)s)")
    train.add_argument("--schedule", choices=("constant", "linear", "cosine"), default="constant",
                       help="learning-rate schedule over the run (default: %(default)s)")
    train.add_argument("--init", default=None, metavar="CKPT",
                       help="start from this checkpoint's weights (e.g. a BCE-pretrained network)")
    train.add_argument("--resume", action="store_true", help="continue the run in --out-dir")
    train.add_argument("--overwrite", action="store_true",
                       help="replace the run in --out-dir (refused otherwise)")
    _add_training_options(train, dict(width=16, depth=4, patch_size=128, batch_size=8, lr=1e-3))
    train.set_defaults(run=_train)

    evaluate = commands.add_parser(
        "evaluate", help="the paper's metrics of a checkpoint on data, or of saved predictions",
        description="Measure accuracy, DICE, ARI/ARE, VOI, Betti errors, missing and extra "
                    "holes and cell-count errors, mean +- std over images: either a "
                    "checkpoint's predictions on DATA (likelihoods thresholded at 0.5; on "
                    "synthetic DATA, the run's validation images, generated from its seed + "
                    "1,000,003 as 'train --val' does), or prediction files against target "
                    "files matched by name.",
        epilog=_READING_RULE + "\n" + _DATA_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    evaluate.add_argument("--checkpoint", default=None, metavar="CKPT", help="a checkpoint of 'dmtloss train'")
    evaluate.add_argument("--data", default=None, metavar="DATA", help="the images to predict (see below)")
    evaluate.add_argument("--predictions", default=None, metavar="DIR", help="prediction files")
    evaluate.add_argument("--targets", default=None, metavar="DIR", help="target files of the same names")
    evaluate.add_argument("--regions", choices=("background", "foreground"), default="background",
                          help="with --predictions: regions for ARI/VOI are the components of the "
                               "background (membranes) or of the foreground (vessels) "
                               "(default: %(default)s)")
    evaluate.add_argument("--patch-size", type=_bounded_int(2, 4096), default=None, metavar="P",
                          help="side of the Betti error's patches (default: 64 in 2-D, 32 in 3-D)")
    evaluate.add_argument("--patches", type=_bounded_int(1, 100_000), default=100, metavar="N",
                          help="patches per image for the Betti error (default: %(default)s)")
    evaluate.add_argument("--seed", type=_bounded_int(0, _MAX_SEED), default=0, metavar="S",
                          help="seed of the patches (default: %(default)s)")
    evaluate.add_argument("--save-predictions", default=None, metavar="DIR",
                          help="with --checkpoint: also save each likelihood as DIR/NAME.npy")
    evaluate.add_argument("--json", default=None, metavar="PATH", help="also write every number to PATH")
    evaluate.set_defaults(run=_evaluate)
