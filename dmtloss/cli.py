"""The ``dmtloss`` command line.

- ``dmtloss demo`` needs no data and no arguments: it pretrains a small U-Net with BCE on
  synthetic membranes with weak walls, fine-tunes it with BCE and with the DMT-loss from
  the same state, and prints the paper's table with a paired test of each difference
  (:mod:`dmtloss.study`), with a figure.
- ``dmtloss train`` / ``dmtloss evaluate``: a U-Net on the user's data (:mod:`dmtloss.train`,
  :mod:`dmtloss.data`), and the paper's metrics (:mod:`dmtloss.metrics`).
- ``dmtloss explain [IMAGE]``: computes the discrete Morse structures of a likelihood map
  (by default a synthetic one) and writes a figure that explains every step
  (:func:`dmtloss.plotting.explain_figure`).
- ``dmtloss structures IMAGE``: the loss mask of a map, as a file and an overlay.

Exit status: 0 on success, 2 on a usage error, a file that cannot be read or an output
that cannot be written (one line on stderr, no traceback), 130 when interrupted (Ctrl-C;
``train`` then names its last checkpoint and the command that resumes it), 1 without a
word when the reader of the output went away (``dmtloss ... | head``), as the Python
documentation recommends for a closed pipe.
"""

import argparse
import math
import os
import pathlib
import sys
import time

from . import __version__

__all__ = ["main"]

_PROG = "dmtloss"
_MAX_SIZE = 1024
_MAX_SIZE_REFERENCE = 256  # the reference engine is plain Python: about 25 s at 256 x 256


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr, without the usage block."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


class _Failure(Exception):
    """An error to report in one line, with exit status 2."""


# -- option types: each raises ArgumentTypeError, which argparse names the option in ----

def _nonnegative_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number; got {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0; got {text}")
    return value


def _bounded_int(low, high=None):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer; got {text!r}") from None
        if value < low or (high is not None and value > high):
            bounds = f">= {low}" if high is None else f"from {low} to {high}"
            raise argparse.ArgumentTypeError(f"must be {bounds}; got {value}")
        return value

    return parse


def _parser():
    parser = _Parser(
        prog=_PROG,
        description="The DMT-loss of Hu et al. (ICLR 2021): discrete Morse structures of "
                    "likelihood maps, and the loss mask made of them.",
        epilog=f"Run '{_PROG} demo' for a tour on synthetic data.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND",
                                     parser_class=_Parser)
    from ._cli_train import add_commands
    from .conformance.runner import add_command as add_conformance

    add_commands(commands)
    add_conformance(commands)
    explain = commands.add_parser(
        "explain",
        help="a teaching figure: from a likelihood map to its loss mask, step by step",
        description="Compute the discrete Morse structures of a likelihood map, print a "
                    "summary and write a figure of every step: the likelihood, the critical "
                    "cells, the persistence diagram with the epsilon line, the ridges and "
                    "boundaries, the loss mask and the basins. Without IMAGE, a synthetic "
                    "map of cell membranes with weak walls, whose ground truth is known.",
    )
    explain.add_argument("image", nargs="?", default=None, metavar="IMAGE",
                         help="a 2-D likelihood map (.npy, .tif, .png, ...; high on the "
                              "structures; 8/16-bit images are scaled to [0, 1], floats must be in "
                              "[0, 1], colour is refused); default: the synthetic map below")
    explain.add_argument("--target", default=None, metavar="PATH",
                         help="ground truth of IMAGE (non-zero = structure) to compare the mask with")
    explain.add_argument("--invert", action="store_true",
                         help="use 1 - IMAGE (for images whose structures are dark, like raw EM)")
    explain.add_argument("--epsilon", type=_nonnegative_float, default=0.2, metavar="E",
                      help="persistence threshold >= 0: pairs at or below it are cancelled "
                           "(default: %(default)s)")
    explain.add_argument("--size", type=_bounded_int(8, _MAX_SIZE), default=48, metavar="N",
                      help=f"side of the square image in pixels, 8 to {_MAX_SIZE} "
                           "(default: %(default)s)")
    explain.add_argument("--seed", type=_bounded_int(0), default=0, metavar="S",
                      help="synthetic map: seed, >= 0 (default: %(default)s)")
    explain.add_argument("--cells", type=_bounded_int(2), default=None, metavar="C",
                      help="synthetic map: number of cells (default: one per 16 x 16 pixels, 9 at size 48)")
    explain.add_argument("--gaps", type=_bounded_int(0), default=3, metavar="G",
                      help="synthetic map: number of weakened walls (default: %(default)s)")
    explain.add_argument("--noise", type=_nonnegative_float, default=0.15, metavar="SIGMA",
                      help="synthetic map: noise level, >= 0 (default: %(default)s)")
    explain.add_argument("--engine", choices=("fast", "reference"), default="fast",
                      help="which engine computes the structures; both give the same answer "
                           "(default: %(default)s)")
    explain.add_argument("--output", "-o", default="dmtloss-explain.png", metavar="PATH",
                      help="where to write the figure; .png, .pdf or .svg "
                           "(default: %(default)s)")
    explain.set_defaults(run=_explain)

    structures = commands.add_parser(
        "structures",
        help="the loss mask of a likelihood map, as a mask file and an overlay figure",
        description="Compute the discrete Morse structures of a 2-D or 3-D likelihood map "
                    "and write the mask (PNG in 2-D, TIFF stack in 3-D) and, in 2-D, an "
                    "overlay of the ridges and boundaries on the map.",
    )
    structures.add_argument("image", metavar="IMAGE",
                            help="a likelihood map (.npy, .tif stack, .png, ...; high on the "
                                 "structures; 8/16-bit images are scaled to [0, 1], floats must be "
                                 "in [0, 1], colour is refused)")
    structures.add_argument("--epsilon", type=_nonnegative_float, default=0.2, metavar="E",
                            help="persistence threshold >= 0 (default: %(default)s)")
    structures.add_argument("--structures", default=None, metavar="NAMES",
                            help="comma-separated: ridges, boundaries (and sheets with the "
                                 "reference engine); default: ridges in 2-D, ridges and "
                                 "boundaries in 3-D")
    structures.add_argument("--frame", action="store_true",
                            help="count the image frame as a boundary where it closes a basin")
    structures.add_argument("--invert", action="store_true",
                            help="use 1 - IMAGE (for images whose structures are dark)")
    structures.add_argument("--engine", choices=("fast", "reference"), default="fast",
                            help="which engine computes the structures (default: %(default)s)")
    structures.add_argument("--output-dir", "-o", default=".", metavar="DIR",
                            help="where to write IMAGE-mask.png (.tif in 3-D) and "
                                 "IMAGE-overlay.png, named by IMAGE's whole file name "
                                 "(x.png-mask.png); created if missing (default: the "
                                 "current directory)")
    structures.set_defaults(run=_structures)
    return parser


# -- reading and writing --------------------------------------------------------------------

def _check_output(text, option="--output"):
    """Fail early, before any computation, on a path a figure cannot be written to."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = pathlib.Path(text)
    if path.is_dir():
        raise _Failure(f"argument {option}: {text!r} is a directory; give a file name")
    formats = FigureCanvasAgg(Figure()).get_supported_filetypes()
    if path.suffix.lower().lstrip(".") not in formats:
        raise _Failure(f"argument {option}: cannot write a {path.suffix or 'suffix-less'} "
                       f"file; use .png, .pdf or .svg; got {text!r}")
    _check_writable(path, option)
    return path


def _check_writable(path, option):
    parent = path.parent
    if not parent.is_dir():
        raise _Failure(f"argument {option}: {str(parent)!r} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise _Failure(f"argument {option}: cannot write to {str(path)!r}: permission denied")


def _read_map(text, option, *, invert=False, ndim=(2, 3), max_side=None, what=None):
    """A likelihood map from a file, read strictly through :class:`dmtloss.data.loaders.ImageFile`.

    .npy, .tif/.tiff (2-D or a 3-D stack) or any single-frame image Pillow reads. bool
    gives {0, 1}; unsigned integers are scaled to [0, 1] by their type's maximum; floats
    must already be finite and in [0, 1]. Colour files are taken only when every
    channel is equal (grey saved as colour). The header is checked first: the dimension
    (`ndim`, with `what` to say why), the side (`max_side`: the limit and why), the
    engines' MAX_PIXELS and the loaders' byte budgets; then truncated, multi-frame and
    sparse files are refused.
    """
    import numpy as np

    from .data.loaders import ImageFile
    from .reference._validation import MAX_PIXELS

    path = pathlib.Path(text)
    if not path.is_file():
        raise _Failure(f"argument {option}: no such file: {text!r}")
    try:
        with ImageFile(path, "map") as image:
            shape = image.shape
            if len(shape) not in ndim and what:
                raise _Failure(f"argument {option}: {what}; got shape {shape}")
            if len(shape) == 3 and shape[-1] in (3, 4) and path.suffix.lower() == ".npy":
                raise _Failure(f"argument {option}: {text!r} looks like a colour image {shape}; "
                               "give one channel")
            if len(shape) in ndim and min(shape) < 2:
                raise _Failure(f"argument {option}: {text!r} must be a 2-D image or a 3-D stack with "
                               f"sides >= 2; got shape {shape}")
            if max_side is not None and len(shape) in ndim and max(shape) > max_side[0]:
                raise _Failure(f"argument {option}: sides of at most {max_side[0]} px {max_side[1]} (a figure "
                               f"shows nothing finer); got shape {shape}")
            if image.dtype.kind == "f" and image.dtype.itemsize > 8:
                raise _Failure(f"argument {option}: {text!r} holds {image.dtype} values; save them as float64")
            image.check(ndim, "map", max_values=MAX_PIXELS * image.channels, limit_name="the engines' MAX_PIXELS")
            array = image.read_grey()
    except FileNotFoundError:
        raise _Failure(f"argument {option}: no such file: {text!r}") from None
    except ValueError as err:  # our refusals, and any decoder's failure (named so by the reader)
        raise _Failure(f"argument {option}: {err}") from None
    if array.dtype == np.bool_:
        values = array.astype(np.float64)
    elif array.dtype.kind == "u":
        values = array.astype(np.float64) / np.iinfo(array.dtype).max
    else:
        values = np.asarray(array, dtype=np.float64)
        if array.size and not np.isfinite([values.min(), values.max()]).all():
            raise _Failure(f"argument {option}: {text!r} holds NaN or infinite values")
        if array.size and not (values.min() >= 0 and values.max() <= 1):
            raise _Failure(f"argument {option}: {text!r} holds floats from {values.min():g} to {values.max():g}; "
                           "expected likelihoods in [0, 1] (divide 0-255 values by 255; take the sigmoid "
                           "of logits)")
    return 1.0 - values if invert else values


def _count(n, one, many):
    return f"{n} {one if n == 1 else many}"


def _percent(part, whole):
    return f"{100.0 * part / whole:.0f}%" if whole else "n/a"


def _engine_module(name):
    if name == "reference":
        from . import reference as engine
    else:
        from . import fast as engine
    # the fast engine's kernels compile on the first call on a machine (then load from
    # numba's cache): do it on a tiny image, so the time measured after is the engine's own
    engine.morse_structures([[0.0, 0.0], [0.0, 0.0]])
    return engine


def _printer(out, rows):
    width = max(len(name) for name, _ in rows) if rows else 10

    def show(name, text):
        print(f"{name:<{width}}  {text}", file=out, flush=True)

    return show


# -- explain ---------------------------------------------------------------------------------

def _synthetic_map(args):
    from . import synthetic

    if args.engine == "reference" and args.size > _MAX_SIZE_REFERENCE:
        raise _Failure(f"argument --size: at most {_MAX_SIZE_REFERENCE} with --engine reference "
                       f"(plain Python); got {args.size}")
    shape = (args.size, args.size)
    most = args.size ** 2 // 16  # the limit of synthetic.membrane_likelihood
    cells = args.cells if args.cells is not None else min(most, max(2, round(args.size ** 2 / 256)))
    if cells > most:
        raise _Failure(f"argument --cells: must be from 2 to {most} for a {args.size} x {args.size} "
                       f"image; got {cells}")
    likelihood = synthetic.membrane_likelihood(shape, cells=cells, gap_count=args.gaps,
                                               noise=args.noise, seed=args.seed)
    walls = synthetic.membrane_walls(shape, cells=cells, seed=args.seed)
    gaps = synthetic.membrane_gaps(shape, cells=cells, gap_count=args.gaps, seed=args.seed)
    description = (f"{args.size} x {args.size} synthetic membranes ({cells} cells, "
                   f"{{gaps}} weak walls, noise {args.noise:g}, seed {args.seed})")
    return likelihood, walls, gaps, description


def _explain(args, out):
    start = time.perf_counter()
    import numpy as np
    from scipy import ndimage

    from . import plotting

    path = _check_output(args.output)
    if args.image is None:
        if args.target is not None or args.invert:
            raise _Failure("arguments --target and --invert need an IMAGE")
        likelihood, walls, gaps, description = _synthetic_map(args)
    else:
        limit = _MAX_SIZE_REFERENCE if args.engine == "reference" else _MAX_SIZE
        likelihood = _read_map(args.image, "IMAGE", invert=args.invert, ndim=(2,),
                               max_side=(limit, f"with --engine {args.engine}"),
                               what="the figure needs a 2-D map (use 'dmtloss structures' for 3-D stacks)")
        walls = None
        if args.target is not None:
            walls = _read_map(args.target, "--target") != 0
            if walls.shape != likelihood.shape:
                raise _Failure(f"argument --target: must have IMAGE's shape {likelihood.shape}; "
                               f"got {walls.shape}")
        gaps, description = None, f"{args.image} ({likelihood.shape[0]} x {likelihood.shape[1]})"

    engine = _engine_module(args.engine)
    tick = time.perf_counter()
    structures = engine.morse_structures(likelihood, epsilon=args.epsilon)
    engine_time = time.perf_counter() - tick

    pairs = structures.pairs
    finite = np.isfinite(pairs.death_value)
    kept = finite & (pairs.persistence > args.epsilon)
    cell_dims = np.bincount((structures.critical % 2).sum(axis=1), minlength=3)
    mask = structures.mask()
    n_pixels = likelihood.size

    def px(array, note=""):
        return f"{int(array.sum())} px ({_percent(array.sum(), n_pixels)} of the image{note})"

    rows = []
    if gaps is not None:
        gap_labels, n_gaps = ndimage.label(gaps)
        description = description.format(gaps=n_gaps)
    rows += [
        ("image", description),
        ("epsilon", f"{args.epsilon:g}"),
        ("pairs > epsilon", f"H0: {int((kept & (pairs.dim == 0)).sum())} (components), "
                            f"H1: {int((kept & (pairs.dim == 1)).sum())} (loops), "
                            f"+ {int((~finite).sum())} essential; "
                            f"{int(finite.sum())} pairs in all"),
        ("critical cells", ", ".join(_count(int(n), one, many) for n, (one, many) in
                                     zip(cell_dims, [("maximum", "maxima"), ("saddle", "saddles"),
                                                     ("minimum", "minima")]))),
        ("ridges", px(structures.ridges)),
        ("boundaries", px(structures.boundaries)),
        ("loss mask", px(mask, ": the ridges")),
    ]
    if walls is not None:
        on_walls = int((mask & walls).sum())
        near_mask = walls & ndimage.binary_dilation(mask)  # 4-neighbours of the mask, and itself
        what = "true walls" if gaps is not None else "target"
        rows += [(what, f"{int(walls.sum())} px: {_percent(on_walls, walls.sum())} under the mask, "
                        f"{_percent(near_mask.sum(), walls.sum())} within 1 px of it"),
                 ("on the target" if gaps is None else "on the walls",
                  f"{_percent(on_walls, mask.sum())} of the mask")]
    if gaps is not None:
        gaps_reached = len(np.unique(gap_labels[mask & gaps]))
        rows.append(("weak walls", f"{gaps_reached} of {n_gaps} touched by the mask "
                                   f"({_percent((mask & gaps).sum(), gaps.sum())} of their "
                                   f"{int(gaps.sum())} px)"))
    show = _printer(out, rows + [("time", "")])
    for name, text in rows:
        show(name, text)
    tick = time.perf_counter()
    title = (f"synthetic membranes, seed {args.seed}" if args.image is None
             else pathlib.Path(args.image).name)
    try:
        plotting.explain_figure(likelihood, structures, path, target=walls, highlight=gaps,
                                highlight_label="weak walls",
                                title=f"{title}, $\\varepsilon$ = {args.epsilon:g}")
    except OSError as err:
        raise _Failure(f"cannot write {str(path)!r}: {err.strerror or err}") from None
    end = time.perf_counter()
    figure_time, total = end - tick, end - start
    show("time", f"{total:.2f} s: {engine_time:.2f} s structures ({args.engine} engine), "
                 f"{figure_time:.2f} s figure, {total - engine_time - figure_time:.2f} s data, imports "
                 "and numba kernels (compiled on a machine's first run, then cached)")
    show("figure", str(path))
    return 0


# -- structures ------------------------------------------------------------------------------

def _structures(args, out):
    from .reference._validation import as_structures

    directory = pathlib.Path(args.output_dir)
    if directory.exists() and not directory.is_dir():
        raise _Failure(f"argument --output-dir: {args.output_dir!r} is a file; give a directory")
    likelihood = _read_map(args.image, "IMAGE", invert=args.invert)
    try:
        names = as_structures(args.structures.split(",") if args.structures else None, likelihood.ndim)
    except (TypeError, ValueError) as err:
        raise _Failure(f"argument --structures: {err}") from None
    if args.engine == "reference" and likelihood.size > _MAX_SIZE_REFERENCE ** 2:
        raise _Failure(f"argument IMAGE: at most {_MAX_SIZE_REFERENCE ** 2} pixels with --engine "
                       f"reference (plain Python); got shape {likelihood.shape}")
    if args.engine == "fast" and "sheets" in names:
        raise _Failure("argument --structures: sheets are computed by --engine reference only")
    # named by the whole file name: x.png and x.npy never overwrite each other's mask
    name = pathlib.Path(args.image).name
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _Failure(f"argument --output-dir: cannot create {args.output_dir!r}: {err.strerror or err}") from None
    three_d = likelihood.ndim == 3
    mask_path = directory / f"{name}-mask.{'tif' if three_d else 'png'}"
    _check_writable(mask_path, "--output-dir")
    overlay_path = None
    if not three_d:
        overlay_path = _check_output(str(directory / f"{name}-overlay.png"), "--output-dir")

    engine = _engine_module(args.engine)
    tick = time.perf_counter()
    try:
        structures = engine.morse_structures(likelihood, epsilon=args.epsilon, frame=args.frame)
    except (TypeError, ValueError) as err:  # an image the engine refuses, too large for it above all
        raise _Failure(f"argument IMAGE: {err}") from None
    seconds = time.perf_counter() - tick
    mask = structures.mask(names)
    rows = [("image", f"{args.image}, shape {' x '.join(map(str, likelihood.shape))}"
                      + (", inverted" if args.invert else "")),
            ("epsilon", f"{args.epsilon:g}" + (", frame closed" if args.frame else "")),
            *((name, f"{int(getattr(structures, name).sum())} px") for name in names),
            ("mask", f"{int(mask.sum())} px ({_percent(mask.sum(), mask.size)} of the image)"),
            ("time", f"{seconds:.2f} s ({args.engine} engine)")]
    show = _printer(out, rows + [("overlay", "")])
    for name, text in rows:
        show(name, text)
    try:
        _write_mask(mask_path, mask)
        if overlay_path is not None:
            _write_overlay(overlay_path, likelihood, structures, names)
    except OSError as err:
        raise _Failure(f"cannot write to {str(directory)!r}: {err.strerror or err}") from None
    show("mask", str(mask_path))
    if overlay_path is not None:
        show("overlay", str(overlay_path))
    return 0


def _atomic(path, write):
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_mask(path, mask):
    import numpy as np

    if mask.ndim == 3:
        import tifffile
        _atomic(path, lambda tmp: tifffile.imwrite(tmp, mask.astype(np.uint8) * 255))
    else:
        from PIL import Image
        _atomic(path, lambda tmp: Image.fromarray(mask.astype(np.uint8) * 255).save(tmp, format="PNG"))


def _write_overlay(path, likelihood, structures, names):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from . import plotting

    height, width = likelihood.shape
    scale = 6.0 / max(height, width)
    fig = Figure(figsize=(max(2.0, width * scale), max(2.0, height * scale) + 0.4), layout="constrained")
    FigureCanvasAgg(fig)
    with plotting._rc_context():
        ax = fig.subplots()
        plotting.plot_structures(likelihood, structures, ax=ax,
                                 title=f"loss mask: {' + '.join(names)}, $\\varepsilon$ = {structures.epsilon:g}")
        _atomic(path, lambda tmp: fig.savefig(tmp, dpi=200, format="png", facecolor="white"))


# -- entry point ---------------------------------------------------------------------------

def main(argv=None):
    """Run the ``dmtloss`` command line.

    Parameters
    ----------
    argv : list of str, optional
        The arguments, without the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    status : int
        0 on success; 2 on a usage error, an unreadable input or an output that cannot
        be written, after one line on stderr; 130 when interrupted; 1, silently, when
        stdout is a pipe its reader closed.

    Examples
    --------
    >>> main(["--version"])
    dmtloss 0.1.0.dev0
    0
    """
    try:
        return _main(argv)
    except BrokenPipeError:
        # the reader of stdout went away (``dmtloss ... | head``): stop without a word, and point
        # stdout at devnull so that the interpreter's last flush cannot fail again (Python
        # documentation, "Note on SIGPIPE")
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):  # stdout is no file (captured, closed)
            pass
        return 1


def _one_line(text):
    return " ".join(str(text).split("\n"))


def _main(argv):
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:  # --help, --version and usage errors
        return exit.code if isinstance(exit.code, int) else 2
    if args.command is None:
        print(f"{_PROG}: error: choose a command (demo, train, evaluate, explain, structures); see '{_PROG} --help'", file=sys.stderr)
        return 2
    args.argv = argv  # for the command that resumes an interrupted run
    try:
        return args.run(args, sys.stdout)
    except _Failure as err:
        print(f"{_PROG} {args.command}: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"{_PROG} {args.command}: error: not enough memory for this input", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        print(f"{_PROG} {args.command}: {_one_line(err) or 'interrupted'}", file=sys.stderr)
        return 130
