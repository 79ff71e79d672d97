"""Regenerate the golden corpus ``conformance/golden/corpus.json`` from dmtloss.reference.

Usage (from the repository root)::

    python conformance/make_golden.py            # rewrite conformance/golden/corpus.json
    python conformance/make_golden.py --out F    # write elsewhere (the tests compare bytes)

Deterministic: the same reference gives the same bytes.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conformance.golden import PATH, cases, dumps, record  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PATH, help=f"output file (default {PATH})")
    args = parser.parse_args(argv)
    text = dumps([record(name, x) for name, x in cases()])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(text.encode("ascii"))
    print(f"wrote {args.out} ({len(text.encode('ascii'))} bytes, {len(cases())} cases)")


if __name__ == "__main__":
    main()
