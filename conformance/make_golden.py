"""Regenerate the golden corpus (``golden/corpus.json``, ``golden/large.json``) from dmtloss.reference.

Usage::

    python -m dmtloss.conformance.make_golden            # rewrite both files in the package
    python -m dmtloss.conformance.make_golden --out DIR  # write them into DIR (the tests compare bytes)

Deterministic: the same reference gives the same bytes.
"""

import argparse
import sys
from pathlib import Path

from .golden import LARGE_EPSILONS, LARGE_PATH, PATH, cases, dumps, large_cases, record

__all__ = ["main"]


def main(argv=None):
    """Write the corpus files; returns 0.

    Examples
    --------
    >>> main(["--help"])  # doctest: +SKIP
    """
    parser = argparse.ArgumentParser(prog="python -m dmtloss.conformance.make_golden",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PATH.parent, help=f"output folder (default {PATH.parent})")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for path, items, epsilons in ((PATH, cases(), None), (LARGE_PATH, large_cases(), LARGE_EPSILONS)):
        kwargs = {} if epsilons is None else {"epsilons": epsilons}
        text = dumps([record(name, x, **kwargs) for name, x in items], **kwargs).encode("ascii")
        (args.out / path.name).write_bytes(text)
        print(f"wrote {args.out / path.name} ({len(text)} bytes, {len(items)} cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
