"""A Python engine behind the subprocess protocol: the loopback proof of the protocol.

``python -m dmtloss.conformance.loopback [--impl DOTTED] [--arrays json|npy]`` serves
the adapter at ``DOTTED`` (default ``dmtloss.reference``) over the JSON-lines protocol
of :mod:`dmtloss.conformance.protocol`: one request per line on stdin, one answer per
line on stdout, errors as answers. ``DMTLOSS_IMPL="command:python -m
dmtloss.conformance.loopback"`` must pass the whole suite, which proves the protocol
and its adapter lose nothing; it is also a template for an engine in another language.
"""

import argparse
import json
import sys

import numpy as np

from .impl import load
from .protocol import PAIR_FIELDS, PROTOCOL, encode_array

__all__ = ["serve", "main"]


def _pairs(pairs, arrays):
    return {name: encode_array(getattr(pairs, name), arrays) for name in PAIR_FIELDS}


def answer(impl, request, arrays="json"):
    """The answer (a dict, without ``id``) of ``impl`` to one protocol request.

    Examples
    --------
    >>> impl = load("dmtloss.reference")
    >>> answer(impl, {"op": "persistence_diagram", "x": {"dtype": "float64", "shape": [2, 2],
    ...                                                 "data": [1, 0, 0, 1]}})["diagram"]["data"]
    [0.0, 1.0, '-inf', 0.0, 1.0, 0.0]
    """
    from .protocol import decode_array

    op = request.get("op")
    if op == "hello":
        return dict(name=f"loopback of {impl.name}", version=impl.version, levels=list(impl.levels),
                    dims=list(impl.dims), arrays=arrays, protocol=PROTOCOL)
    if op not in ("persistence_diagram", "persistence_pairs", "morse_structures"):
        raise ValueError(f"unknown op {op!r}")
    x = decode_array(request["x"], "x")
    if op == "persistence_diagram":
        return dict(diagram=encode_array(impl.persistence_diagram(x), arrays))
    if op == "persistence_pairs":
        return _pairs(impl.persistence_pairs(x), arrays)
    s = impl.morse_structures(x, request["epsilon"], frame=request["frame"])
    out = {}
    if "cells" in impl.levels:
        out.update(critical=encode_array(s.critical, arrays), uncancelled=_pairs(s.uncancelled, arrays))
    if "masks" in impl.levels:
        out.update(ridges=encode_array(s.ridges, arrays), boundaries=encode_array(s.boundaries, arrays))
        if callable(getattr(s, "mask", None)):
            out.update(mask=encode_array(s.mask(), arrays))
    return out


def serve(impl, stdin, stdout, arrays="json"):
    """Answer requests from ``stdin`` until it closes; every error becomes an answer.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> serve(load("dmtloss.reference"), io.StringIO('{"id": 1, "op": "nope"}\\n'), out)
    >>> out.getvalue()
    '{"id": 1, "error": "ValueError: unknown op \\'nope\\'"}\\n'
    """
    for line in stdin:
        if not line.strip():
            continue
        request_id = None
        try:
            request = json.loads(line)
            request_id = request.get("id")
            reply = dict(id=request_id, **answer(impl, request, arrays))
        except Exception as error:  # noqa: BLE001 -- errors are answers in this protocol
            reply = dict(id=request_id, error=f"{type(error).__name__}: {error}")
        stdout.write(json.dumps(reply) + "\n")
        stdout.flush()


def main(argv=None):
    """Serve ``--impl`` (default ``dmtloss.reference``) on stdin/stdout.

    Examples
    --------
    >>> main(["--help"])  # doctest: +SKIP
    """
    parser = argparse.ArgumentParser(prog="python -m dmtloss.conformance.loopback",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--impl", default="dmtloss.reference", help="dotted path of the adapter to serve")
    parser.add_argument("--arrays", choices=("json", "npy"), default="json", help="how x is to be sent")
    args = parser.parse_args(argv)
    np.seterr(all="ignore")
    serve(load(args.impl), sys.stdin, sys.stdout, args.arrays)
    return 0


if __name__ == "__main__":
    sys.exit(main())
