"""Smoke test of the asv suites in ``benchmarks/`` (CI runs it; asv itself does not).

Each suite's ``setup`` and its ``time_`` / ``track_`` methods are called directly, as
asv would call them, at the smallest point of its grid (every image kind and engine,
the smallest sizes); the fast engine's exactness tracker must report 0 disagreeing
cells, and the JIT warm-up in ``setup`` must leave nothing to compile in the timed
call. When asv is installed, ``asv check --python=same`` must find no problems.

``benchmarks.loss`` (the DMT-loss suites) is run the same way at its smallest batch,
1 x 1 x 128^2; topolosses, which ``benchmarks/compare_loss.py`` times when it is
installed, is not needed.

``benchmarks.training`` (the Betti error of a short BCE and DMT training) runs its
``setup_cache`` at the tiny scale, as asv would without ``DMTLOSS_BENCH_FULL=1``, and
every ``track_`` method on its result.
"""

import importlib
import importlib.util
import inspect
import itertools
import math
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
# Axes whose every value is exercised; on the others (sizes, epsilon, workers) only the
# first (smallest) value is.
ALL_VALUES = {"image", "engine", "shape", "loss"}
METHOD_PREFIXES = ("time_", "track_")


@pytest.fixture(scope="module")
def engines():
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(ROOT))
        yield importlib.import_module("benchmarks.engines")


@pytest.fixture(scope="module")
def loss_benchmarks():
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(ROOT))
        yield importlib.import_module("benchmarks.loss")


@pytest.fixture(scope="module")
def training_benchmarks():
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(ROOT))
        yield importlib.import_module("benchmarks.training")


def suites(module):
    return [cls for _, cls in inspect.getmembers(module, inspect.isclass)
            if cls.__module__ == module.__name__ and hasattr(cls, "params")
            and any(name.startswith(METHOD_PREFIXES) for name in vars(cls))]


def smallest_grid(cls):
    axes = [values if name in ALL_VALUES else values[:1]
            for name, values in zip(cls.param_names, cls.params)]
    return list(itertools.product(*axes))


def compiled_signatures():
    """Numba specialisations compiled so far in the fast engine's modules."""
    from numba.core.registry import CPUDispatcher

    return {f"{module_name}.{name}": len(obj.signatures)
            for module_name, module in list(sys.modules.items()) if module_name.startswith("dmtloss.fast")
            for name, obj in vars(module).items() if isinstance(obj, CPUDispatcher)}


def test_every_suite_is_found(engines):
    names = {cls.__name__ for cls in suites(engines)}
    assert {"MorseStructures2D", "Ties2D", "MorseStructures3D", "Batch", "Diagrams2D", "Diagrams3D",
            "Reference", "Exactness"} <= names, names


def test_suites_run_at_their_smallest_grid_point(engines, monkeypatch):
    monkeypatch.delenv(engines.FULL_ENV, raising=False)
    for cls in suites(engines):
        methods = sorted(name for name in vars(cls) if name.startswith(METHOD_PREFIXES))
        for params in smallest_grid(cls):
            suite = cls()
            suite.setup(*params)
            before = compiled_signatures()
            for name in methods:
                result = getattr(suite, name)(*params)
                if name.startswith("track_"):
                    assert result == 0, f"{cls.__name__}.{name}{params}={result}, but should be 0"
            assert compiled_signatures() == before, f"{cls.__name__}{params}: JIT compiled in a timed call"


def test_slow_grid_points_need_the_environment_variable(engines, monkeypatch):
    monkeypatch.delenv(engines.FULL_ENV, raising=False)
    for cls, params in [(engines.MorseStructures2D, ("smooth", 2048, 0.0)),
                        (engines.MorseStructures3D, ("membrane", 128, 0.2)),
                        (engines.Diagrams2D, ("gudhi", "smooth", 1024)),
                        (engines.Diagrams3D, ("cripser", "smooth", 128))]:
        with pytest.raises(NotImplementedError, match=engines.FULL_ENV):
            cls().setup(*params)
    monkeypatch.setenv(engines.FULL_ENV, "1")
    assert engines.full_grid()


def test_images_are_seeded_and_read_only(engines):
    for kind in engines.KINDS + ("membrane-8bit",):
        for shape in [(20, 30), (6, 7, 8)]:
            image = engines.make_image(kind, shape)
            again = engines.make_image.__wrapped__(kind, shape)
            assert image.shape == shape and image.dtype == np.float64
            assert np.array_equal(image, again), "same seed, same image"
            assert not image.flags.writeable
            assert 0 <= image.min() and image.max() <= 1
            if kind == "membrane-8bit":
                assert len(np.unique(image)) <= 256, "8-bit levels"


def test_loss_suites_run_at_their_smallest_batch(loss_benchmarks):
    assert {cls.__name__ for cls in suites(loss_benchmarks)} == {"Loss", "UNetStep"}
    assert all(cls.params[cls.param_names.index("batch")][0] == "1x128x128"
               for cls in suites(loss_benchmarks)), "the smallest batch comes first"
    for cls in suites(loss_benchmarks):
        methods = sorted(name for name in vars(cls) if name.startswith(METHOD_PREFIXES + ("peakmem_",)))
        for params in smallest_grid(cls):
            suite = cls()
            suite.setup(*params)
            before = compiled_signatures()
            for name in methods:
                getattr(suite, name)(*params)
            assert compiled_signatures() == before, f"{cls.__name__}{params}: JIT compiled in a timed call"
    with pytest.raises(NotImplementedError):
        loss_benchmarks.Loss().setup("bce", "8x256x256", 2)  # workers only matter to DMTLoss


def test_loss_inputs_are_seeded_and_realistic(loss_benchmarks):
    logits = loss_benchmarks.make_logits(2, 64)
    targets = loss_benchmarks.make_targets(2, 64)
    assert logits.shape == targets.shape == (2, 1, 64, 64) and logits.dtype == np.float32
    assert np.array_equal(logits, loss_benchmarks.make_logits.__wrapped__(2, 64))
    assert not logits.flags.writeable and not targets.flags.writeable
    assert np.allclose(np.abs(logits).max(axis=(1, 2, 3)), loss_benchmarks.LOGIT_RANGE)
    assert set(np.unique(targets)) == {0.0, 1.0}
    assert 0.7 < np.mean((logits > 0) == (targets > 0)) < 0.99, "targets follow the logits, not exactly"
    # a blurred field, not white noise: neighbours are strongly correlated
    assert np.corrcoef(logits[0, 0, :, :-1].ravel(), logits[0, 0, :, 1:].ravel())[0, 1] > 0.9


def test_training_suite_tracks_a_seeded_tiny_training(training_benchmarks, engines, monkeypatch):
    monkeypatch.delenv(engines.FULL_ENV, raising=False)
    assert training_benchmarks.scale() == "tiny"
    cls = training_benchmarks.ShortTraining
    tracks = sorted(name for name in vars(cls) if name.startswith("track_"))
    assert {"track_betti_error_bce", "track_betti_error_dmt", "track_betti_error_ratio"} <= set(tracks)
    suite = cls()
    results = suite.setup_cache()
    assert results["scale"] == "tiny" and set(results["seconds"]) == {"pretrain", "bce", "dmt"}
    # asv pickles what setup_cache returns, and the tiny scale is cheap enough for CI
    assert pickle.loads(pickle.dumps(results)) == results
    assert sum(results["seconds"].values()) < 30, results["seconds"]
    for name in tracks:
        value = getattr(suite, name)(results)
        assert isinstance(value, float) and getattr(cls, name).unit, name
        assert math.isnan(value) if name.endswith("ratio") and not results["bce"]["betti1"] else value >= 0
    assert suite.track_betti_error_dmt(results) == results["dmt"]["betti1"]
    if results["bce"]["betti1"]:
        assert suite.track_betti_error_ratio(results) == results["dmt"]["betti1"] / results["bce"]["betti1"]
    # seeded: the same commit tracks the same numbers
    again = training_benchmarks.short_training("tiny")
    assert {arm: again[arm] for arm in ("bce", "dmt")} == {arm: results[arm] for arm in ("bce", "dmt")}


def test_training_suite_full_scale_needs_the_environment_variable(training_benchmarks, engines, monkeypatch):
    monkeypatch.setenv(engines.FULL_ENV, "1")
    assert training_benchmarks.scale() == "full"
    full, tiny = training_benchmarks.SCALES["full"], training_benchmarks.SCALES["tiny"]
    assert full["pretrain_steps"] >= 100 * tiny["pretrain_steps"] and full["side"] > tiny["side"]
    assert training_benchmarks.ShortTraining.timeout >= 600


def test_compare_helpers(engines):
    compare = importlib.import_module("benchmarks.compare")
    measured = compare.median_time(sum, [1, 2], repeat=3, budget=0.0)
    assert measured.calls == 3 and measured.result == 3 and measured.seconds >= 0
    table = compare.markdown_table(["name", "seconds"], [["a", "0.5"], ["b", "-1.25"]])
    assert table.splitlines() == ["| name | seconds |", "|---|---:|", "| a | 0.5 |", "| b | -1.25 |"]


def test_compare_times_each_shape_in_a_child_process(engines):
    """The single-image rows come from a fresh process per shape, diagrams checked there."""
    compare = importlib.import_module("benchmarks.compare")
    rows = compare.isolated_rows([(9, 11)], repeat=3, budget=0.0)
    assert [(row["image"], row["kind"]) for row in rows] == [("9x11", kind) for kind in engines.KINDS]
    for row in rows:
        assert row["same"] is True and row["pairs"] >= 1
        assert all(row[key] > 0 for key in ("structures", "fast", "cripser", "gudhi", "sort", "union_find"))
        assert row["ndim"] == 2 and row["pixels"] == 99


@pytest.mark.parametrize("shape", [(9, 11), (4, 5, 6)])
def test_compare_plain_union_find_joins_the_whole_grid(engines, shape):
    """The reference loop does the work it claims: n - 1 merges join a grid's n pixels."""
    compare = importlib.import_module("benchmarks.compare")
    x = np.random.default_rng(1).random(shape)
    order = np.argsort(-x.ravel(), kind="stable")
    rank = np.empty(x.size, dtype=np.int64)
    rank[order] = np.arange(x.size)
    parent = np.empty(x.size, dtype=np.int64)
    shape3 = (1,) * (3 - x.ndim) + shape
    assert compare._plain_union_find(order, rank, shape3, parent) == x.size - 1
    roots = {int(v) for v in range(x.size) if parent[v] == v}
    assert roots == {int(order[0])}  # the oldest pixel, the maximum, represents the grid
    assert set(compare.machine_references(x, repeat=3, budget=0.0)) == {"sort", "union_find"}


def test_compare_scaling_table_gives_each_growth_beside_n_log_n(engines):
    compare = importlib.import_module("benchmarks.compare")
    times = {"structures": 1.0, "fast": 0.5, "cripser": 2.0, "gudhi": 8.0, "sort": 0.1, "union_find": 0.4}

    def row(side, kind, ndim, scale):
        return {"image": f"{side}^{ndim}", "kind": kind, "ndim": ndim, "pixels": side ** ndim,
                **{key: value * scale for key, value in times.items()}}

    rows = [row(2048, "smooth", 2, 5.0), row(1024, "smooth", 2, 1.0), row(64, "smooth", 3, 1.0),
            row(1024, "membrane", 2, 1.0)]
    lines = compare.scaling_table(rows).splitlines()
    assert len(lines) == 3  # header, alignment, and 1024^2 -> 2048^2 alone has two sizes
    cells = [cell.strip() for cell in lines[2].strip("|").split("|")]
    assert cells[:3] == ["1024^2 -> 2048^2", "smooth", "4.40"]  # 4 * 22 / 20
    assert cells[3:9] == ["5.00"] * 6 and cells[9] == "2.50 -> 2.50"


@pytest.mark.skipif(importlib.util.find_spec("asv") is None,
                    reason="asv is not installed; `pip install -e .[test]` installs it")
def test_asv_check():
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    completed = subprocess.run([sys.executable, "-m", "asv", "check", "--python=same"], cwd=ROOT,
                               env=env, capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
