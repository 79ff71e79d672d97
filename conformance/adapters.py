"""Adapters: other implementations seen through the conformance protocol (conformance/impl.py).

``DMTLOSS_IMPL=dmtloss.conformance.adapters.<name>``:

``reference``  pass-through to ``dmtloss.reference`` (all levels; must pass: proves the harness)
``fast``       pass-through to ``dmtloss.fast`` (all levels)
``gudhi``      GUDHI's ``CubicalComplex(vertices=-x)``, negated back (diagram level)
``cripser``    CubicalRipser's ``computePH(-x)`` (V-construction), negated back (diagram level)

An adapter is any object with ``LEVELS`` and the functions its levels need; these are
small classes so that the example in docs/conformance.md can copy one.
"""

import numpy as np

__all__ = ["Adapter", "reference", "fast", "gudhi", "cripser"]


class Adapter:
    """Base of the adapters here: a name, a version and the levels it declares."""

    NAME = "adapter"
    VERSION = "unknown"
    LEVELS = ()

    def __repr__(self):
        return f"<{self.NAME} {self.VERSION} levels={self.LEVELS}>"


class PassThrough(Adapter):
    """Every level, straight from a module with dmtloss's API."""

    LEVELS = ("diagram", "cells", "masks")

    def __init__(self, module_name):
        import importlib

        import dmtloss

        self.module = importlib.import_module(module_name)
        self.NAME = module_name
        self.VERSION = dmtloss.__version__

    def persistence_diagram(self, x):
        return self.module.persistence_diagram(x)

    def persistence_pairs(self, x):
        return self.module.persistence_pairs(x)

    def morse_structures(self, x, epsilon, frame=False):
        return self.module.morse_structures(x, epsilon, frame=frame)


def _superlevel(sublevel_rows, infinity=np.inf):
    """Rows (dim, b', d') of the sublevel diagram of -x, as the superlevel diagram of x."""
    rows = np.asarray(sublevel_rows, dtype=np.float64).reshape(-1, 3)
    death = np.where(rows[:, 2] >= infinity, np.inf, rows[:, 2])
    out = np.column_stack([rows[:, 0], -rows[:, 1], -death])
    out = out[out[:, 1] != out[:, 2]]  # zero persistence is omitted by the contract
    return out[np.lexsort((-out[:, 1], out[:, 0]))]  # by dimension, then birth descending


class Gudhi(Adapter):
    """GUDHI: pixels as vertices (``vertices=``), sublevel of -x, Z/2."""

    NAME = "gudhi"
    LEVELS = ("diagram",)

    def __init__(self):
        import gudhi as _gudhi

        self._gudhi = _gudhi
        self.VERSION = _gudhi.__version__

    def persistence_diagram(self, x):
        x = np.asarray(x, dtype=np.float64)
        cc = self._gudhi.CubicalComplex(vertices=-x)
        pairs = cc.persistence(homology_coeff_field=2, min_persistence=0)
        return _superlevel([(d, b, e) for d, (b, e) in pairs])


class Cripser(Adapter):
    """CubicalRipser: ``computePH`` is the V-construction (pixels as vertices), sublevel of -x."""

    NAME = "cripser"
    LEVELS = ("diagram",)

    def __init__(self):
        import cripser as _cripser
        from importlib.metadata import version

        self._cripser = _cripser
        self.VERSION = version("cripser")

    def persistence_diagram(self, x):
        x = np.ascontiguousarray(x, dtype=np.float64)
        pairs = self._cripser.computePH(-x, maxdim=x.ndim - 1)
        return _superlevel(pairs[:, :3], infinity=np.finfo(np.float64).max)


class _Lazy:
    """Build an adapter on first use, so importing this module imports no engine."""

    def __init__(self, factory):
        self._factory, self._obj = factory, None

    def __getattr__(self, name):
        if self.__dict__["_obj"] is None:
            self.__dict__["_obj"] = self.__dict__["_factory"]()
        return getattr(self.__dict__["_obj"], name)


reference = _Lazy(lambda: PassThrough("dmtloss.reference"))
fast = _Lazy(lambda: PassThrough("dmtloss.fast"))
gudhi = _Lazy(Gudhi)
cripser = _Lazy(Cripser)
