"""The golden runner: check an implementation on the golden corpus and the peers' cases alone.

``python -m dmtloss.conformance --command "./my-engine"`` (or ``--impl dotted.path``, or
``dmtloss conformance ...``) needs neither pytest nor hypothesis: it loads the corpus
shipped in the package, calls the implementation on every case at every level it
declares, and prints one line per level and the first failures, each with the message
and reproducer of the suite. ``--suite`` runs the whole pytest suite instead (property
tests too; needs ``pip install dmtloss[conformance]``).

Exit status: 0 when everything applicable passed, 1 when something failed, 2 when the
implementation could not be loaded or the arguments are wrong.
"""

import argparse
import os
import sys
import time

__all__ = ["main", "add_command", "run_golden"]


def _load(args):
    from . import impl as _impl

    path = args.impl or (f"{_impl.COMMAND_PREFIX}{args.engine_command}" if args.engine_command else None)
    return _impl.load(path)


def run_golden(impl, out=sys.stdout, verbose=False, max_failures=5, peers=True):
    """Check ``impl`` on every golden case (and the peers' cases); returns the number of failures.

    Examples
    --------
    >>> import io
    >>> from dmtloss.conformance.impl import load
    >>> run_golden(load("dmtloss.conformance.adapters.cripser"), io.StringIO())
    0
    """
    from . import golden
    from . import peers as _peers

    cases = [("golden", case) for case in golden.load()]
    if peers:
        cases += [("peers", case) for case in _peers.load()]
    failures, shown = 0, 0
    print(f"dmtloss conformance, golden corpus: {impl.path} (name {impl.name}, version {impl.version}); "
          f"levels {', '.join(impl.levels)}; dimensions {', '.join(f'{d}-D' for d in impl.dims)}", file=out)
    for level in ("diagram", "cells", "masks"):
        if level not in impl.levels:
            print(f"{level:8s} not declared: not applicable", file=out)
            continue
        counts = {"ok": 0, "FAIL": 0, "not applicable": 0}
        start = time.perf_counter()
        for source, case in cases:
            if len(case["shape"]) not in impl.dims or (source == "peers" and level != "diagram"):
                counts["not applicable"] += 1
                continue
            try:
                if source == "peers":
                    _peers.check_case(impl, case)
                else:
                    golden.check_case(impl, case, level)
            except AssertionError as error:
                counts["FAIL"] += 1
                failures += 1
                if shown < max_failures:
                    shown += 1
                    print(f"FAIL {level} {source}:{case['name']}: {error}", file=out)
                continue
            counts["ok"] += 1
            if verbose:
                print(f"ok   {level} {source}:{case['name']}", file=out)
        print(f"{level:8s} " + ", ".join(f"{k} {v}" for k, v in counts.items())
              + f" ({time.perf_counter() - start:.1f} s)", file=out)
    print("PASSED" if not failures else f"FAILED: {failures} case(s)" +
          (f", first {shown} shown" if shown < failures else ""), file=out)
    return failures


def _run_suite(args, extra):
    import subprocess

    from . import impl as _impl

    env = dict(os.environ)
    if args.impl or args.engine_command:
        env.pop(_impl.COMMAND_ENV, None)
        env[_impl.ENV] = args.impl or f"{_impl.COMMAND_PREFIX}{args.engine_command}"
    command = [sys.executable, "-m", "pytest", "--pyargs", "dmtloss.conformance", "-p", "no:cacheprovider"] + extra
    return subprocess.call(command, env=env)


def _configure(parser):
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--command", dest="engine_command", metavar="CMD", help="the engine to start (split as a shell would; "
                       "no shell): it speaks the JSON-lines protocol on stdin/stdout")
    which.add_argument("--impl", metavar="PATH", help="a dotted path of a Python adapter, or command:CMD")
    parser.add_argument("--suite", action="store_true", help="run the whole pytest suite (property tests too) "
                        "instead of the golden corpus alone; arguments after -- go to pytest")
    parser.add_argument("--no-peers", action="store_true", help="leave out GUDHI's and CubicalRipser's cases")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per case")
    parser.add_argument("--max-failures", type=int, default=5, metavar="N", help="failures to print (default 5)")
    parser.set_defaults(run=_run)


def _run(args, out=sys.stdout, extra=()):
    from . import impl as _impl

    if not (args.engine_command or args.impl or os.environ.get(_impl.ENV) or os.environ.get(_impl.COMMAND_ENV)):
        print("dmtloss conformance: error: give --command CMD or --impl PATH "
              f"(or set {_impl.ENV} / {_impl.COMMAND_ENV})", file=sys.stderr)
        return 2
    if args.suite:
        return _run_suite(args, list(extra))
    try:
        impl = _load(args)
    except Exception as error:  # noqa: BLE001 -- report any failure to start, in one line
        print(f"dmtloss conformance: error: the implementation could not be loaded: "
              f"{type(error).__name__}: {error}", file=sys.stderr)
        return 2
    try:
        failures = run_golden(impl, out, verbose=args.verbose, max_failures=args.max_failures,
                              peers=not args.no_peers)
    finally:
        if callable(getattr(impl.obj, "close", None)):
            impl.obj.close()
    return 1 if failures else 0


def add_command(commands):
    """Register ``conformance`` on the ``dmtloss`` command line's subparsers.

    Examples
    --------
    >>> import argparse
    >>> commands = argparse.ArgumentParser().add_subparsers()
    >>> add_command(commands).prog.endswith("conformance")
    True
    """
    parser = commands.add_parser("conformance", help="check an implementation on the golden corpus",
                                 description=__doc__.splitlines()[0])
    _configure(parser)
    return parser


def main(argv=None):
    """``python -m dmtloss.conformance``; returns the exit status.

    Examples
    --------
    >>> main(["--impl", "dmtloss.reference", "--no-peers"])  # doctest: +ELLIPSIS
    dmtloss conformance, golden corpus: dmtloss.reference ...
    diagram  ok 38, FAIL 0, not applicable 0 (...)
    cells    ok 38, FAIL 0, not applicable 0 (...)
    masks    ok 38, FAIL 0, not applicable 0 (...)
    PASSED
    0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(prog="python -m dmtloss.conformance", description=__doc__.splitlines()[0])
    _configure(parser)
    args = parser.parse_args(argv)
    return _run(args, sys.stdout, extra)
