"""Configuration of the conformance suite: the implementation under test, levels, profiles.

Run it from any directory where dmtloss is installed (``pip install dmtloss[conformance]``)::

    DMTLOSS_IMPL=dmtloss.fast python -m pytest --pyargs dmtloss.conformance

``DMTLOSS_IMPL`` (required; or ``DMTLOSS_COMMAND`` for a subprocess engine) names the
implementation; ``HYPOTHESIS_PROFILE`` picks
``dev`` (default: random, 20 examples) or ``ci`` (derandomised, no deadline,
``DMTLOSS_CONFORMANCE_MAX_EXAMPLES`` examples, default 60); ``DMTLOSS_CONFORMANCE_MAX_SIDE``
caps the image sides (default 6); ``DMTLOSS_CONFORMANCE_SHRINK=0`` turns shrinking off.
"""

import os

import pytest
from hypothesis import HealthCheck, Phase, settings

from dmtloss.conformance import impl as _impl
from dmtloss.conformance.strategies import EPSILONS, MAX_SIDE

MAX_EXAMPLES = int(os.environ.get("DMTLOSS_CONFORMANCE_MAX_EXAMPLES", "60"))
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "dev")

#: DMTLOSS_CONFORMANCE_SHRINK=0 reports the first counterexample found as it is: bounded
#: work (shrinking re-runs the test up to hundreds of times, minutes on float images)
PHASES = tuple(phase for phase in Phase if phase is not Phase.shrink
               or os.environ.get("DMTLOSS_CONFORMANCE_SHRINK", "1") != "0")
settings.register_profile(
    "ci", max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, print_blob=True, phases=PHASES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile(
    "dev", max_examples=min(20, MAX_EXAMPLES), deadline=None, print_blob=True, phases=PHASES,
    suppress_health_check=[HealthCheck.too_slow])

_STATE = {}


def pytest_configure(config):
    config.addinivalue_line("markers", "level(name): the conformance level the test belongs to "
                                       "(diagram, cells or masks)")
    config.addinivalue_line("markers", "ndim(d): the test draws only d-dimensional images")
    settings.load_profile(PROFILE)
    # hypothesis' report hook touches a deprecated mypy_extensions name when a test fails;
    # the project's filterwarnings=error would turn that into an INTERNALERROR
    config.addinivalue_line("filterwarnings", "ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning")
    try:
        _STATE["impl"] = _impl.load()
    except LookupError as error:
        raise pytest.UsageError(str(error)) from None
    except (ImportError, AttributeError, ValueError, RuntimeError) as error:
        named = os.environ.get(_impl.ENV) or f"{_impl.COMMAND_PREFIX}{os.environ.get(_impl.COMMAND_ENV)}"
        raise pytest.UsageError(f"{_impl.ENV}={named!r} could not be loaded: "
                                f"{type(error).__name__}: {error}\n{_impl.USAGE}") from None
    _impl._CURRENT.append(_STATE["impl"])


def pytest_unconfigure(config):
    impl = _STATE.pop("impl", None)
    if impl is not None:
        _impl._CURRENT.remove(impl)
        if callable(getattr(impl.obj, "close", None)):
            impl.obj.close()


def pytest_report_header(config):
    impl = _STATE.get("impl")
    if impl is None:
        return []
    from dmtloss import __version__ as reference_version
    current = settings.get_profile(PROFILE)
    return [
        f"dmtloss conformance: {_impl.ENV}={impl.path} (name {impl.name}, version {impl.version})",
        f"  levels tested: {', '.join(impl.levels)}; not applicable (skipped): "
        f"{', '.join(level for level in _impl.LEVELS if level not in impl.levels) or 'none'}; "
        f"dimensions: {', '.join(f'{d}-D' for d in impl.dims)}",
        f"  settings: max side {MAX_SIDE}, epsilons {list(EPSILONS)}, hypothesis profile {PROFILE} "
        f"(max_examples={current.max_examples}, derandomize={current.derandomize}); "
        f"expected answers: dmtloss.reference {reference_version}",
    ]


def pytest_runtest_setup(item):
    impl = _STATE.get("impl")
    for marker in item.iter_markers("level"):
        level = marker.args[0]
        if impl is not None and level not in impl.levels:
            pytest.skip(f"not applicable: {impl.name} does not declare level {level!r} "
                        f"(LEVELS={impl.levels})")
    for marker in item.iter_markers("ndim"):
        if impl is not None and marker.args[0] not in impl.dims:
            pytest.skip(f"not applicable: {impl.name} handles {impl.dims}-dimensional images only "
                        f"(DIMS={impl.dims})")


@pytest.fixture(scope="session")
def impl():
    """The implementation under test (see conformance/impl.py)."""
    return _STATE["impl"]
