"""Loading the implementation under test and the adapter protocol.

``DMTLOSS_IMPL`` is a dotted path to a module or to an object inside a module
(``dmtloss.fast``, ``dmtloss.conformance.adapters.gudhi``), or ``command:CMD`` for an
engine in any language run as one long-lived subprocess (``DMTLOSS_COMMAND=CMD`` says
the same; the JSON-lines protocol is in :mod:`dmtloss.conformance.protocol`). The object
found there is the *adapter*. It provides, for each level it declares, these callables (the names and
signatures of ``dmtloss``'s own API, so ``dmtloss.reference`` and ``dmtloss.fast`` are
adapters as they are):

=========  ==========================================================================
level      what the suite calls
=========  ==========================================================================
diagram    ``persistence_diagram(x)`` -> (n, 3) array of rows (dim, birth, death)
cells      ``persistence_pairs(x)`` -> object with arrays ``dim`` (n,), ``birth`` and
           ``death`` (n, d) doubled coordinates (essential death row all -1),
           ``birth_value``, ``death_value`` (n,); and
           ``morse_structures(x, epsilon, frame=False).critical`` -> (m, d) cells
masks      ``morse_structures(x, epsilon, frame=...)`` with ``.ridges`` and
           ``.boundaries`` (bool arrays shaped like ``x``) and optionally ``.mask()``
           (the default loss mask; if absent, the suite uses ridges in 2-D and
           ridges | boundaries in 3-D)
=========  ==========================================================================

Optional attributes: ``LEVELS`` (a tuple of level names; without it the levels are
inferred: ``persistence_diagram`` gives diagram, ``persistence_pairs`` and
``morse_structures`` give cells, ``morse_structures`` gives masks), ``NAME`` and
``VERSION`` (else ``__version__``, else the version of the top-level package), ``DIMS``
(the image dimensions it handles, a subset of ``(2, 3)``; default both: the tests and
golden cases of the others are skipped as not applicable).
"""

import importlib
import os
import shlex
import sys

import numpy as np

__all__ = ["ENV", "COMMAND_ENV", "LEVELS", "Implementation", "load", "resolve", "current"]

ENV = "DMTLOSS_IMPL"
COMMAND_ENV = "DMTLOSS_COMMAND"
COMMAND_PREFIX = "command:"
LEVELS = ("diagram", "cells", "masks")
DIMS = (2, 3)

USAGE = (f"the conformance suite needs the implementation under test: set {ENV} to a dotted "
         f"path or to {COMMAND_PREFIX}CMD (or {COMMAND_ENV} to CMD), e.g.\n"
         f"    {ENV}=dmtloss.fast python -m pytest --pyargs dmtloss.conformance\n"
         f"    {ENV}=dmtloss.conformance.adapters.gudhi python -m pytest --pyargs dmtloss.conformance\n"
         f"    {ENV}='{COMMAND_PREFIX}./my-engine --flag' python -m pytest --pyargs dmtloss.conformance\n"
         "(see docs/conformance.md for the adapter protocol and the subprocess protocol)")

#: the implementation the running suite tests (set by its conftest; read by the strategies)
_CURRENT = []


def current():
    """The implementation under test of the running suite, or None outside one."""
    return _CURRENT[-1] if _CURRENT else None


def resolve(path):
    """Import ``path``: a module, or ``module.attribute`` (nested attributes allowed)."""
    try:
        return importlib.import_module(path)
    except ModuleNotFoundError as error:
        if error.name is None or not path.startswith(error.name):
            raise  # a dependency of the module itself is missing: report it as it is
    module, _, attribute = path.rpartition(".")
    if not module:
        raise ModuleNotFoundError(f"no module named {path!r}")
    try:
        return getattr(resolve(module), attribute)
    except (ModuleNotFoundError, AttributeError):
        raise ModuleNotFoundError(f"no module or attribute named {path!r}") from None


def _version(obj):
    for attribute in ("VERSION", "__version__"):
        if isinstance(getattr(obj, attribute, None), str):
            return getattr(obj, attribute)
    package = getattr(obj, "__module__", None) or getattr(obj, "__name__", "")
    if not isinstance(package, str) or not package:
        package = type(obj).__module__
    top = sys.modules.get(package.split(".")[0])
    return getattr(top, "__version__", "unknown")


class Implementation:
    """The adapter found at a dotted path, with its name, version and levels."""

    def __init__(self, obj, path):
        self.obj = obj
        self.path = path
        self.name = getattr(obj, "NAME", path) if isinstance(getattr(obj, "NAME", None), str) else path
        self.version = _version(obj)
        levels = getattr(obj, "LEVELS", None)
        if levels is None:
            levels = tuple(level for level, needs in [
                ("diagram", ("persistence_diagram",)),
                ("cells", ("persistence_pairs", "morse_structures")),
                ("masks", ("morse_structures",))] if all(callable(getattr(obj, n, None)) for n in needs))
        levels = tuple(levels)
        unknown = [level for level in levels if level not in LEVELS]
        if unknown or not levels:
            raise ValueError(f"{path}: LEVELS must be a non-empty subset of {LEVELS}, got {levels!r}")
        self.levels = levels
        dims = tuple(getattr(obj, "DIMS", None) or DIMS)
        if not dims or any(d not in DIMS for d in dims):
            raise ValueError(f"{path}: DIMS must be a non-empty subset of {DIMS}, got {dims!r}")
        self.dims = dims

    def __repr__(self):
        return f"<implementation {self.name} {self.version} levels={','.join(self.levels)}>"

    def __getattr__(self, name):
        return getattr(self.obj, name)


def load(path=None):
    """The implementation named by ``path`` (default: the ``DMTLOSS_IMPL`` variable).

    ``path`` is a dotted path, or ``"command:CMD"``: the engine started as ``CMD`` (split
    as a shell would, run without one) and spoken to through
    :class:`dmtloss.conformance.protocol.CommandEngine`. Without ``path`` and without
    ``DMTLOSS_IMPL``, ``DMTLOSS_COMMAND=CMD`` means ``command:CMD``.

    Examples
    --------
    >>> load("dmtloss.reference").levels
    ('diagram', 'cells', 'masks')
    >>> load("dmtloss.reference").dims
    (2, 3)
    """
    if path is None:
        path = os.environ.get(ENV, "").strip()
        if not path and os.environ.get(COMMAND_ENV, "").strip():
            path = COMMAND_PREFIX + os.environ[COMMAND_ENV].strip()
    if not path:
        raise LookupError(USAGE)
    if path.startswith(COMMAND_PREFIX):
        from .protocol import CommandEngine

        argv = shlex.split(path[len(COMMAND_PREFIX):])
        if not argv:
            raise ValueError(f"{path!r}: no command after {COMMAND_PREFIX!r}")
        return Implementation(CommandEngine(argv), path)
    return Implementation(resolve(path), path)


def default_mask(structures, ndim):
    """The default loss mask of a structures object: its ``mask()``, else ridges (| boundaries in 3-D)."""
    if callable(getattr(structures, "mask", None)):
        return structures.mask()
    mask = np.asarray(structures.ridges, dtype=bool)
    return mask | np.asarray(structures.boundaries, dtype=bool) if ndim == 3 else mask
