"""The ``dmtloss`` command line.

``dmtloss demo`` needs no data and no arguments: it draws a synthetic likelihood map of
cell membranes with weak spots (:mod:`dmtloss.synthetic`), computes its discrete Morse
structures with the fast engine (or the reference, ``--engine reference``), prints what it found and writes a figure that
explains every step (:func:`dmtloss.plotting.explain_figure`).

Exit status: 0 on success, 2 on a usage error or an output that cannot be written (one
line on stderr, no traceback), 130 when interrupted.
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
    demo = commands.add_parser(
        "demo",
        help="compute the structures of a synthetic membrane map and draw them",
        description="Draw a synthetic likelihood map of cell membranes with weak spots, "
                    "compute its discrete Morse structures, print "
                    "a summary and write a figure of every step. Needs no data.",
    )
    demo.add_argument("--epsilon", type=_nonnegative_float, default=0.2, metavar="E",
                      help="persistence threshold >= 0: pairs at or below it are cancelled "
                           "(default: %(default)s)")
    demo.add_argument("--size", type=_bounded_int(8, _MAX_SIZE), default=48, metavar="N",
                      help=f"side of the square image in pixels, 8 to {_MAX_SIZE} "
                           "(default: %(default)s)")
    demo.add_argument("--seed", type=_bounded_int(0), default=0, metavar="S",
                      help="seed of the synthetic map, >= 0 (default: %(default)s)")
    demo.add_argument("--cells", type=_bounded_int(2), default=None, metavar="C",
                      help="number of cells (default: one per 16 x 16 pixels, 9 at size 48)")
    demo.add_argument("--gaps", type=_bounded_int(0), default=3, metavar="G",
                      help="number of weakened walls (default: %(default)s)")
    demo.add_argument("--noise", type=_nonnegative_float, default=0.15, metavar="SIGMA",
                      help="noise level of the map, >= 0 (default: %(default)s)")
    demo.add_argument("--engine", choices=("fast", "reference"), default="fast",
                      help="which engine computes the structures; both give the same answer "
                           "(default: %(default)s)")
    demo.add_argument("--output", "-o", default="dmtloss-demo.png", metavar="PATH",
                      help="where to write the figure; .png, .pdf or .svg "
                           "(default: %(default)s)")
    demo.set_defaults(run=_demo)
    return parser


# -- demo --------------------------------------------------------------------------------

def _check_output(text):
    """Fail early, before any computation, on a path the figure cannot be written to."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = pathlib.Path(text)
    if path.is_dir():
        raise _Failure(f"argument --output: {text!r} is a directory; give a file name")
    formats = FigureCanvasAgg(Figure()).get_supported_filetypes()
    if path.suffix.lower().lstrip(".") not in formats:
        raise _Failure(f"argument --output: cannot write a {path.suffix or 'suffix-less'} "
                       f"file; use .png, .pdf or .svg; got {text!r}")
    parent = path.parent
    if not parent.is_dir():
        raise _Failure(f"argument --output: {str(parent)!r} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise _Failure(f"argument --output: cannot write to {text!r}: permission denied")
    return path


def _count(n, one, many):
    return f"{n} {one if n == 1 else many}"


def _percent(part, whole):
    return f"{100.0 * part / whole:.0f}%" if whole else "n/a"


def _demo(args, out):
    start = time.perf_counter()
    import numpy as np
    from scipy import ndimage

    from . import plotting, synthetic

    if args.engine == "reference":
        from . import reference as engine
        if args.size > _MAX_SIZE_REFERENCE:
            raise _Failure(f"argument --size: at most {_MAX_SIZE_REFERENCE} with --engine reference "
                           f"(plain Python); got {args.size}")
    else:
        from . import fast as engine
    path = _check_output(args.output)
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

    # the fast engine's kernels compile on the first call on a machine (then load from
    # numba's cache): do it on a tiny image, so the time below is the engine's own
    engine.morse_structures(np.zeros((2, 2)))
    tick = time.perf_counter()
    structures = engine.morse_structures(likelihood, epsilon=args.epsilon)
    engine_time = time.perf_counter() - tick

    pairs = structures.pairs
    finite = np.isfinite(pairs.death_value)
    kept = finite & (pairs.persistence > args.epsilon)
    cell_dims = np.bincount((structures.critical % 2).sum(axis=1), minlength=3)
    mask = structures.mask()
    n_pixels = likelihood.size
    gap_labels, n_gaps = ndimage.label(gaps)
    gaps_reached = len(np.unique(gap_labels[mask & gaps]))

    def px(array, note=""):
        return f"{int(array.sum())} px ({_percent(array.sum(), n_pixels)} of the image{note})"

    on_walls = int((mask & walls).sum())
    near_mask = walls & ndimage.binary_dilation(mask)  # 4-neighbours of the mask, and itself
    rows = [
        ("image", f"{args.size} x {args.size} synthetic membranes ({cells} cells, {n_gaps} weak "
                  f"walls, noise {args.noise:g}, seed {args.seed})"),
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
        ("true walls", f"{int(walls.sum())} px, 2-3 px thick: {_percent(on_walls, walls.sum())} under "
                       f"the mask, {_percent(near_mask.sum(), walls.sum())} within 1 px of it"),
        ("on the walls", f"{_percent(on_walls, mask.sum())} of the mask"),
        ("weak walls", f"{gaps_reached} of {n_gaps} touched by the mask "
                       f"({_percent((mask & gaps).sum(), gaps.sum())} of their {int(gaps.sum())} px)"),
    ]

    width = max(len(name) for name, _ in rows)

    def show(name, text):
        print(f"{name:<{width}}  {text}", file=out, flush=True)

    for name, text in rows:
        show(name, text)
    tick = time.perf_counter()
    try:
        plotting.explain_figure(likelihood, structures, path, target=walls, highlight=gaps,
                                highlight_label="weak walls",
                                title=f"dmtloss demo: synthetic membranes, seed {args.seed}, "
                                      f"$\\varepsilon$ = {args.epsilon:g}")
    except OSError as err:
        raise _Failure(f"cannot write {str(path)!r}: {err.strerror or err}") from None
    end = time.perf_counter()
    figure_time, total = end - tick, end - start
    show("time", f"{total:.2f} s: {engine_time:.2f} s structures ({args.engine} engine), "
                 f"{figure_time:.2f} s figure, {total - engine_time - figure_time:.2f} s data, imports "
                 "and numba kernels (compiled on a machine's first run, then cached)")
    show("figure", str(path))
    return 0


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
        0 on success; 2 on a usage error or an output that cannot be written, after one
        line on stderr; 130 when interrupted.

    Examples
    --------
    >>> main(["--version"])
    dmtloss 0.1.0.dev0
    0
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:  # --help, --version and usage errors
        return exit.code if isinstance(exit.code, int) else 2
    if args.command is None:
        print(f"{_PROG}: error: choose a command (demo); see '{_PROG} --help'", file=sys.stderr)
        return 2
    try:
        return args.run(args, sys.stdout)
    except _Failure as err:
        print(f"{_PROG} {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{_PROG}: interrupted", file=sys.stderr)
        return 130
