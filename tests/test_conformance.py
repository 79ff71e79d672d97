"""The conformance suite (conformance/, installed as dmtloss.conformance) itself: good
implementations pass, broken ones fail, engines in other languages get in.

Each implementation runs ``python -m pytest conformance`` in a subprocess with
``DMTLOSS_IMPL`` set and ``HYPOTHESIS_PROFILE=ci``; the runs go in parallel, all started
by the first test that needs one. Broken implementations run with ``-x``, a smaller
side and fewer examples: one failure suffices, and it must print a reproducer. The
loopback engine (the reference behind the JSON-lines protocol) must pass everything; a
C engine compiled here must pass the diagram level of 2-D images, and its broken twin
must be caught.
"""

import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = f"command:{sys.executable} -m dmtloss.conformance.loopback --arrays npy"
GOOD = {  # implementation -> levels it is tested at
    "dmtloss.reference": "diagram, cells, masks",
    "dmtloss.fast": "diagram, cells, masks",
    "dmtloss.conformance.adapters.gudhi": "diagram",
    "dmtloss.conformance.adapters.cripser": "diagram",
    LOOPBACK: "diagram, cells, masks",
}
BROKEN = ["ties_index_descending", "no_outside", "sublevel", "t_construction", "eight_connectivity",
          "quantised_256", "younger_elder_swapped", "zero_persistence_kept", "epsilon_strict",
          "frame_in_boundaries", "ridge_drop_last", "ridges_dilated", "cells_fortran_order",
          "mutates_input", "freezes_input", "memory_order", "narrow_integer_cast", "masks_uint8", "cells_int32",
          "diagram_rows_by_dim_desc", "pairs_by_dimension", "critical_sorted", "uncancelled_dropped",
          "basin_labels_uint8", "positive_ties_reversed"]
C_ENGINE = ROOT / "conformance" / "examples" / "union_find_2d.c"
COMMAND = [sys.executable, "-m", "pytest", "conformance", "-q", "-p", "no:cacheprovider"]
_runs = {}


def _env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DMTLOSS_IMPL", "DMTLOSS_COMMAND", "DMTLOSS_CONFORMANCE_", "PYTEST_"))}
    env.update(HYPOTHESIS_PROFILE="ci", **extra)
    return env


def _run(args, env, command=COMMAND, cwd=ROOT):
    start = time.perf_counter()
    done = subprocess.run(command + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    return done.returncode, done.stdout + done.stderr + f"\n[{time.perf_counter() - start:.1f} s]"


def _jobs():
    jobs = {name: ([], _env(DMTLOSS_IMPL=name)) for name in GOOD}
    # the loopback proves the protocol loses nothing; fewer examples suffice (every call is a round trip)
    jobs[LOOPBACK] = ([], _env(DMTLOSS_IMPL=LOOPBACK, DMTLOSS_CONFORMANCE_MAX_EXAMPLES="20"))
    for name in BROKEN:
        jobs[name] = (["-x"], _env(DMTLOSS_IMPL=f"dmtloss.conformance.broken.{name}", DMTLOSS_CONFORMANCE_MAX_SIDE="4",
                                   DMTLOSS_CONFORMANCE_MAX_EXAMPLES="25", DMTLOSS_CONFORMANCE_SHRINK="0"))
    return jobs


def result(name):
    """(rc, output) of the conformance run of `name`; every run is started on first use."""
    if not _runs:
        pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2)
        _runs.update({name: pool.submit(_run, *job) for name, job in _jobs().items()})
        pool.shutdown(wait=False)
    return _runs[name].result()


def test_broken_list_is_complete():
    from dmtloss.conformance import broken

    assert sorted(broken.__all__) == sorted(BROKEN)
    assert len(BROKEN) >= 25


@pytest.mark.parametrize("name", list(GOOD))
def test_good_implementation_passes(name):
    rc, out = result(name)
    assert rc == 0, out[-4000:]


@pytest.mark.parametrize("name", ["dmtloss.fast", "dmtloss.conformance.adapters.cripser"])
def test_report_header_echoes_what_is_tested(name):
    rc, out = _run(["--collect-only", "-v"], _env(DMTLOSS_IMPL=name))
    assert rc == 0, out
    assert f"DMTLOSS_IMPL={name}" in out and "version " in out
    assert f"levels tested: {GOOD[name]};" in out and "hypothesis profile ci" in out and "max side 6" in out


@pytest.mark.parametrize("name", BROKEN)
def test_broken_implementation_is_caught(name):
    rc, out = result(name)
    assert rc == 1, out[-4000:]  # 1: tests failed (not a usage or internal error)
    assert "but should be" in out and f"reproduce: import numpy as np; from dmtloss.conformance.impl import load; " \
        f"impl = load('dmtloss.conformance.broken.{name}')" in out, out[-4000:]


@pytest.mark.parametrize("name", ["dmtloss.conformance.adapters.gudhi", "dmtloss.conformance.adapters.cripser"])
def test_missing_levels_are_skipped_not_passed(name):
    rc, out = result(name)
    assert rc == 0
    skipped = int(re.search(r"(\d+) skipped", out).group(1))
    passed = int(re.search(r"(\d+) passed", out).group(1))
    assert skipped > passed > 40 and "not applicable" in out and "does not declare level 'masks'" in out
    assert "level 'cells'" in out


def test_unset_implementation_is_a_usage_error():
    rc, out = _run([], _env())
    assert rc == 4, out  # pytest's usage error
    assert "set DMTLOSS_IMPL to a dotted path" in out and "DMTLOSS_IMPL=dmtloss.fast" in out
    rc, out = _run([], _env(DMTLOSS_IMPL="dmtloss.conformance.adapters.no_such_adapter"))
    assert rc == 4 and "could not be loaded" in out, out
    rc, out = _run([], _env(DMTLOSS_COMMAND=f"{sys.executable} -c pass"))
    assert rc == 4 and "could not be loaded" in out and "exited (status 0) instead of answering hello" in out, out


def test_golden_corpus_regenerates_byte_for_byte(tmp_path):
    subprocess.run([sys.executable, "-m", "dmtloss.conformance.make_golden", "--out", str(tmp_path)],
                   cwd=tmp_path, check=True, capture_output=True)
    for name, limit in (("corpus.json", 150_000), ("large.json", 250_000)):
        stored = ROOT / "conformance" / "golden" / name
        assert (tmp_path / name).read_bytes() == stored.read_bytes(), f"the reference no longer reproduces {name}"
        assert stored.stat().st_size < limit


def test_golden_corpus_is_what_the_docs_say():
    import json

    from dmtloss import reference

    corpus = json.loads((ROOT / "conformance" / "golden" / "corpus.json").read_text())
    large = json.loads((ROOT / "conformance" / "golden" / "large.json").read_text())
    assert corpus["format"] == large["format"] == "dmtloss-conformance-golden"
    assert corpus["version"] == large["version"] == 2
    cases = corpus["cases"] + large["cases"]
    assert len(cases) >= 38 and len({c["name"] for c in cases}) == len(cases)
    assert {len(c["shape"]) for c in cases} == {2, 3}
    for c in cases:
        n = int(np.prod(c["shape"]))
        assert len(c["values"]) == n and len(c["structures"]) == 2 * len(c["epsilons"])
        assert all(len(s[k]) == n for s in c["structures"] for k in ("ridges", "boundaries", "mask"))
        assert all(("critical" in s) == (not s["frame"]) for s in c["structures"])
        assert c["pairs"][0]["death"] is None or any(p["death"] is None for p in c["pairs"])
    values = {c["name"]: np.array(c["values"]) for c in cases}
    assert values["wide_floats_6x5"].min() < -1 and values["wide_floats_6x5"].max() > 1
    assert any(s["uncancelled"] for c in cases if c["name"] == "uncancelled_3x4x4" for s in c["structures"]
               if not s["frame"])
    pits = next(c for c in cases if c["name"] == "pits_52x52")
    basins = reference.morse_structures(np.reshape(pits["values"], pits["shape"]), 0.25).basins
    assert basins.max() > 255  # labels that do not fit in a byte


def test_the_suite_runs_from_an_installed_package(tmp_path):
    """No checkout on sys.path: `--pyargs dmtloss.conformance` from an empty folder."""
    env = _env(DMTLOSS_IMPL="dmtloss.conformance.adapters.cripser", DMTLOSS_CONFORMANCE_MAX_EXAMPLES="5")
    command = [sys.executable, "-m", "pytest", "--pyargs", "dmtloss.conformance", "-q", "-p", "no:cacheprovider"]
    rc, out = _run(["-k", "golden_diagram or peer"], env, command=command, cwd=tmp_path)
    assert rc == 0 and " passed" in out, out


def test_wheel_ships_the_suite(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True)
    (wheel,) = tmp_path.glob("dmtloss-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for name in ("conftest.py", "test_golden.py", "golden/corpus.json", "golden/large.json", "golden/peers.json",
                 "examples/union_find_2d.c", "protocol.py", "__main__.py"):
        assert f"dmtloss/conformance/{name}" in names, name
    assert not [n for n in names if n.startswith("conformance/")]


# -- engines in other languages: the subprocess protocol --------------------------------

@pytest.fixture(scope="module")
def c_engines(tmp_path_factory):
    """The example C engine and its broken twin (no OUTSIDE node), compiled with the system cc."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler (cc, gcc or clang) on PATH: the C engine cannot be built")
    folder = tmp_path_factory.mktemp("c_engine")
    built = {}
    for name, flags in (("good", []), ("broken", ["-DNO_OUTSIDE"])):
        built[name] = folder / f"union_find_2d_{name}"
        subprocess.run([cc, "-O2", "-std=c99", *flags, "-o", str(built[name]), str(C_ENGINE)], check=True,
                       capture_output=True)
    return built


RUNNER = [sys.executable, "-m", "dmtloss.conformance"]


def test_c_engine_passes_the_golden_runner(c_engines, tmp_path):
    rc, out = _run(["--command", str(c_engines["good"]), "-v"], _env(), command=RUNNER, cwd=tmp_path)
    assert rc == 0, out
    assert "levels diagram; dimensions 2-D" in out and "PASSED" in out
    assert "ok   diagram golden:pits_52x52" in out and "ok   diagram peers:gudhi_generators_from_vertices_3x4" in out
    assert re.search(r"diagram  ok (\d+), FAIL 0, not applicable (\d+)", out)


def test_c_engine_passes_the_suite(c_engines):
    rc, out = _run([], _env(DMTLOSS_IMPL=f"command:{c_engines['good']}"))
    assert rc == 0, out[-4000:]
    assert re.search(r"[1-9]\d* passed", out) and "does not declare level 'cells'" in out and "handles (2,)-dimensional images only" in out


def test_broken_c_engine_is_caught(c_engines, tmp_path):
    rc, out = _run(["--command", str(c_engines["broken"])], _env(), command=RUNNER, cwd=tmp_path)
    assert rc == 1, out
    assert "FAIL diagram golden:ring_3x3: diagram=[[0.0, 1.0, -inf]], but should be" in out
    assert f"reproduce: import numpy as np; from dmtloss.conformance.impl import load; " \
        f"impl = load('command:{c_engines['broken']}')" in out


def test_runner_on_a_python_adapter_and_usage_errors(tmp_path):
    rc, out = _run(["--impl", "dmtloss.conformance.broken.masks_uint8", "--max-failures", "1"], _env(),
                   command=RUNNER, cwd=tmp_path)
    assert rc == 1 and "FAIL masks golden:" in out and "dtype=uint8, but should be bool" in out, out
    rc, out = _run([], _env(), command=RUNNER, cwd=tmp_path)
    assert rc == 2 and "give --command CMD or --impl PATH" in out
    rc, out = _run(["--command", str(tmp_path / "no-such-engine")], _env(), command=RUNNER, cwd=tmp_path)
    assert rc == 2 and "could not be started" in out


def test_dmtloss_conformance_subcommand(capsys):
    from dmtloss.cli import main

    assert main(["conformance", "--impl", "dmtloss.conformance.adapters.cripser", "--no-peers"]) == 0
    assert "PASSED" in capsys.readouterr().out


ENGINE_SCRIPT = """
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    if r["op"] == "hello":
        print(json.dumps({"id": r["id"], "levels": ["diagram"], "dims": [2]}), flush=True)
    elif r["x"]["shape"] == [2, 2]:
        print(json.dumps({"id": r["id"], "error": "ValueError: too small"}), flush=True)
    elif r["x"]["shape"] == [2, 3]:
        print("not json", flush=True)
    elif r["x"]["shape"] == [3, 2]:
        sys.exit(3)
    else:
        print(json.dumps({"id": r["id"], "diagram": {"dtype": "float64", "shape": [1, 3],
                                                     "data": [0, 1, "-inf"]}}), flush=True)
"""


def test_protocol_errors_are_answers_and_the_engine_restarts(tmp_path):
    from dmtloss.conformance.impl import load
    from dmtloss.conformance.protocol import EngineError

    script = tmp_path / "engine.py"
    script.write_text(ENGINE_SCRIPT)
    impl = load(f"command:{sys.executable} {script}")
    assert impl.levels == ("diagram",) and impl.dims == (2,)
    with pytest.raises(EngineError, match="ValueError: too small"):
        impl.persistence_diagram(np.zeros((2, 2)))
    with pytest.raises(EngineError, match="a line that is not JSON: 'not json"):
        impl.persistence_diagram(np.zeros((2, 3)))
    with pytest.raises(EngineError, match=r"exited \(status 3\) instead of answering persistence_diagram"):
        impl.persistence_diagram(np.zeros((3, 2)))
    assert impl.persistence_diagram(np.zeros((3, 3))).tolist() == [[0.0, 1.0, -np.inf]]  # a fresh process
    impl.obj.close()


def test_print_timings():
    """Not a check: the wall time of every run, shown with -s."""
    for name in list(GOOD) + BROKEN:
        print(name, result(name)[1].rsplit("[", 1)[-1])


@pytest.mark.parametrize("name", ["impl", "protocol", "loopback", "assertions", "golden", "peers", "runner"])
def test_conformance_doctests(name):
    import doctest
    import importlib

    module = importlib.import_module(f"dmtloss.conformance.{name}")
    result = doctest.testmod(module, extraglobs={"np": np}, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
