"""The conformance suite (conformance/) itself: good implementations pass, broken ones fail.

Each implementation runs ``python -m pytest conformance`` in a subprocess with
``DMTLOSS_IMPL`` set and ``HYPOTHESIS_PROFILE=ci``; the runs go in parallel, all started
by the first test that needs one. Broken implementations run with ``-x``, a smaller
side and fewer examples: one failure suffices, and it must print a reproducer.
"""

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOOD = {  # implementation -> levels it is tested at
    "dmtloss.reference": "diagram, cells, masks",
    "dmtloss.fast": "diagram, cells, masks",
    "conformance.adapters.gudhi": "diagram",
    "conformance.adapters.cripser": "diagram",
}
BROKEN = ["ties_index_descending", "no_outside", "sublevel", "t_construction", "eight_connectivity",
          "quantised_256", "younger_elder_swapped", "zero_persistence_kept", "epsilon_strict",
          "frame_in_boundaries", "ridge_drop_last", "ridges_dilated", "cells_fortran_order"]
COMMAND = [sys.executable, "-m", "pytest", "conformance", "-q", "-p", "no:cacheprovider"]
_runs = {}


def _env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DMTLOSS_IMPL", "DMTLOSS_CONFORMANCE_", "PYTEST_"))}
    env.update(HYPOTHESIS_PROFILE="ci", **extra)
    return env


def _run(args, env):
    start = time.perf_counter()
    done = subprocess.run(COMMAND + args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    return done.returncode, done.stdout + done.stderr + f"\n[{time.perf_counter() - start:.1f} s]"


def _jobs():
    jobs = {name: ([], _env(DMTLOSS_IMPL=name)) for name in GOOD}
    for name in BROKEN:
        jobs[name] = (["-x"], _env(DMTLOSS_IMPL=f"conformance.broken.{name}", DMTLOSS_CONFORMANCE_MAX_SIDE="4",
                                   DMTLOSS_CONFORMANCE_MAX_EXAMPLES="25"))
    return jobs


def result(name):
    """(rc, output) of the conformance run of `name`; every run is started on first use."""
    if not _runs:
        pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2)
        _runs.update({name: pool.submit(_run, *job) for name, job in _jobs().items()})
        pool.shutdown(wait=False)
    return _runs[name].result()


def test_broken_list_is_complete():
    sys.path.insert(0, str(ROOT))
    try:
        from conformance import broken
    finally:
        sys.path.remove(str(ROOT))
    assert sorted(broken.__all__) == sorted(BROKEN)
    assert len(BROKEN) >= 10


@pytest.mark.parametrize("name", list(GOOD))
def test_good_implementation_passes(name):
    rc, out = result(name)
    assert rc == 0, out[-4000:]


@pytest.mark.parametrize("name", ["dmtloss.fast", "conformance.adapters.cripser"])
def test_report_header_echoes_what_is_tested(name):
    rc, out = _run(["--collect-only", "-v"], _env(DMTLOSS_IMPL=name))
    assert rc == 0, out
    assert f"DMTLOSS_IMPL={name}" in out and "version " in out
    assert f"levels tested: {GOOD[name]};" in out and "hypothesis profile ci" in out and "max side 6" in out


@pytest.mark.parametrize("name", BROKEN)
def test_broken_implementation_is_caught(name):
    rc, out = result(name)
    assert rc == 1, out[-4000:]  # 1: tests failed (not a usage or internal error)
    assert "but should be" in out and f"reproduce: import numpy as np; from conformance.impl import load; " \
        f"impl = load('conformance.broken.{name}')" in out, out[-4000:]


@pytest.mark.parametrize("name", ["conformance.adapters.gudhi", "conformance.adapters.cripser"])
def test_missing_levels_are_skipped_not_passed(name):
    rc, out = result(name)
    assert rc == 0
    assert "64 skipped" in out and "not applicable" in out and "does not declare level 'masks'" in out
    assert "level 'cells'" in out


def test_unset_implementation_is_a_usage_error():
    rc, out = _run([], _env())
    assert rc == 4, out  # pytest's usage error
    assert "set DMTLOSS_IMPL to a dotted path" in out and "DMTLOSS_IMPL=dmtloss.fast" in out
    rc, out = _run([], _env(DMTLOSS_IMPL="conformance.adapters.no_such_adapter"))
    assert rc == 4 and "could not be loaded" in out, out


def test_golden_corpus_regenerates_byte_for_byte(tmp_path):
    out = tmp_path / "corpus.json"
    subprocess.run([sys.executable, str(ROOT / "conformance" / "make_golden.py"), "--out", str(out)],
                   cwd=ROOT, check=True, capture_output=True)
    stored = ROOT / "conformance" / "golden" / "corpus.json"
    assert out.read_bytes() == stored.read_bytes(), "the reference no longer reproduces the golden corpus"
    assert stored.stat().st_size < 300_000


def test_golden_corpus_is_what_the_docs_say():
    import json

    corpus = json.loads((ROOT / "conformance" / "golden" / "corpus.json").read_text())
    assert corpus["format"] == "dmtloss-conformance-golden" and corpus["version"] == 1
    cases = corpus["cases"]
    assert len(cases) >= 30 and len({c["name"] for c in cases}) == len(cases)
    assert {len(c["shape"]) for c in cases} == {2, 3}
    for c in cases:
        n = 1
        for side in c["shape"]:
            n *= side
        assert len(c["values"]) == n and len(c["structures"]) == 6
        assert all(len(s[k]) == n for s in c["structures"] for k in ("ridges", "boundaries", "mask"))
        assert c["pairs"][0]["death"] is None or any(p["death"] is None for p in c["pairs"])


def test_print_timings():
    """Not a check: the wall time of every run, shown with -s."""
    for name in list(GOOD) + BROKEN:
        print(name, result(name)[1].rsplit("[", 1)[-1])
