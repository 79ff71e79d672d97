"""Fuzzing the checkpoint reader and the command line (issue 18).

- Hostile checkpoints: hypothesis draws dicts of keys, kinds and tensor shapes (and single
  entries of a real checkpoint replaced by such values or deleted), saves them with
  ``torch.save`` and loads them: every one is either a valid checkpoint or refused with one
  ValueError line (never torch's ``weights_only=False`` advice, never another exception), and
  through ``dmtloss evaluate --checkpoint`` status 2 with one line on stderr.
- Odd arguments: a fixed list of arguments each command must refuse with status 2 and one
  line on stderr, then hypothesis combinations of odd tokens that must end in 0 or in 2 with
  one line, never a traceback.

The budget is small for CI: ``FUZZ_EXAMPLES`` (default 40) examples per property; set it
higher for a longer run (see the README's development section).
"""

import contextlib
import copy
import io
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from dmtloss.cli import main
from dmtloss.data._types import SegmentationSet
from dmtloss.train import TrainConfig, load_checkpoint, train

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
KEYS = ("format", "version", "model", "model_config", "config", "optimizer", "step", "epoch", "history", "best",
        "rng", "world_size")


def _run(argv):
    """`dmtloss ARGV` in this process: (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, out.getvalue(), err.getvalue()


def _assert_one_line_refusal(status, err):
    lines = err.strip().splitlines()
    assert status == 2, (status, err)
    assert len(lines) == 1 and "Traceback" not in err and "weights_only" not in err, err


# -- values a checkpoint may hold under weights_only ------------------------------------------

_DTYPES = [torch.float32, torch.float64, torch.int64, torch.uint8, torch.bool, torch.float16]
tensors = st.builds(
    lambda shape, dtype: torch.zeros(shape, dtype=dtype),
    st.lists(st.integers(0, 5), min_size=0, max_size=4).map(tuple), st.sampled_from(_DTYPES))
leaves = st.one_of(
    st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70), st.sampled_from([0, 1, 2, 3, 624, 4096, 10 ** 12]),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(["dmtloss-checkpoint", "batch", "transpose", "adam", "dice", "bce", "cpu"]), tensors)
values = st.recursive(
    leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.tuples(inner, inner),
                            st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8),
                                                      st.integers(-2, 30)), inner, max_size=5)),
    max_leaves=12)


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    image = np.zeros((8, 8), np.float32)
    image[2:6, 2:6] = 1
    data = SegmentationSet([image], [image > 0.5], ["a"], "foreground", "example")
    out = tmp_path_factory.mktemp("real")
    train(TrainConfig(width=2, depth=1, patch_size=4, batch_size=1, steps=1, steps_per_epoch=1, device="cpu",
                      metric_n_patches=2), data, data, out_dir=out, progress=False)
    return torch.load(out / "last.pt", weights_only=True)


def _paths(state, prefix=(), depth=3):
    """Every key path of nested dicts and lists, to depth 3."""
    found = []
    items = state.items() if isinstance(state, dict) else enumerate(state) if isinstance(state, list) else ()
    for key, value in items:
        found.append(prefix + (key,))
        if depth > 1 and isinstance(value, (dict, list)):
            found += _paths(value, prefix + (key,), depth - 1)
    return found


def _check_loads_or_refuses(state):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.pt"
        torch.save(state, path)
        try:
            load_checkpoint(path)
        except ValueError as err:
            message = str(err)
            assert "\n" not in message and "weights_only" not in message, message
            assert message.startswith("`path`: "), message
            event("refused in one line")
            return False
    event("loaded: a valid checkpoint")
    return True


@FUZZ
@given(st.dictionaries(st.sampled_from(KEYS), values, max_size=len(KEYS)), st.booleans())
def test_random_checkpoints_are_refused_in_one_line(state, stamped):
    if stamped:  # past the format and version checks, so that the entries themselves are tried
        state.update(format="dmtloss-checkpoint", version=1)
    assert not _check_loads_or_refuses(state)


@FUZZ
@given(st.data())
def test_real_checkpoints_with_one_entry_replaced_or_deleted(real, data):
    paths = _paths(real)
    path = data.draw(st.sampled_from(paths), label="path")
    state = copy.deepcopy(real)
    parent = state
    for key in path[:-1]:
        parent = parent[key]
    if data.draw(st.booleans(), label="delete"):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(values, label="value")
    _check_loads_or_refuses(state)  # either outcome, but only these two


@settings(FUZZ, max_examples=max(5, EXAMPLES // 4))
@given(st.data())
def test_hostile_checkpoints_through_evaluate(real, data):
    state = copy.deepcopy(real)
    key = data.draw(st.sampled_from(KEYS[2:]), label="key")
    state[key] = data.draw(values, label="value")
    with tempfile.TemporaryDirectory() as folder:
        torch.save(state, Path(folder) / "bad.pt")
        status, _, err = _run(["evaluate", "--checkpoint", str(Path(folder) / "bad.pt"), "--data",
                               "synthetic-membranes:1", "--patches", "2"])
    event(f"status {status}")
    if status != 0:
        _assert_one_line_refusal(status, err)


# -- odd arguments ------------------------------------------------------------------------------

ODD = ["", " ", "-", "--", ":", "\x7f", "é", "x" * 5000, "-1", "0", "1e9", "nan", "inf", "-0", "2" * 40,
       "/", "/dev/null", "/nonexistent/x", ".", "..", "synthetic-membranes:", "synthetic-membranes:-1",
       "synthetic-membranes: 1", "synthetic-membranes:1:2", "folder:,", "retina:x", "cremi:/dev/null",
       "--width=0", "--depth=99", "--lr=nan", "--epsilon=-1", "--device=tpu", "--device=cuda:99", "--workers=0",
       "--steps=0", "--batch-size=0", "--patch-size=1", "--seed=-1", "--resume", "--overwrite", "--init=/"]

REFUSED = [
    ["train"], ["train", "--data"], ["train", "--data", "", "--out-dir", "x"],
    ["train", "--data", ":", "--out-dir", "x"], ["train", "--data", "synthetic-membranes:", "--out-dir", "x"],
    ["train", "--data", "synthetic-membranes:-1", "--out-dir", "x"],
    ["train", "--data", "synthetic-membranes:1:2", "--out-dir", "x"],
    ["train", "--data", "synthetic-membranes:1", "--out-dir", "x", "--width", "0"],
    ["train", "--data", "synthetic-membranes:1", "--out-dir", "x", "--width", "4096"],
    ["train", "--data", "synthetic-membranes:1", "--out-dir", "x", "--width", "300", "--depth", "7"],
    ["train", "--data", "synthetic-membranes:1", "--out-dir", "x", "--lr", "nan"],
    ["train", "--data", "synthetic-membranes:1", "--out-dir", "x", "--device", "tpu"],
    ["train", "--data", "synthetic-membranes:1", "--out-dir", "x", "--device", "cuda:99"],
    ["train", "--data", "synthetic-membranes:1", "--out-dir", "x", "--seed", "2" * 40],
    ["train", "--data", "synthetic-membranes:1", "--out-dir", "x", "--steps", "1e9"],
    ["train", "--data", "synthetic-membranes:1", "--out-dir", "/dev/null/x", "--steps", "1"],
    ["train", "--data", "synthetic-membranes:1", "--out-dir", "/dev/null", "--steps", "1"],
    ["train", "--data", "synthetic-membranes:1", "--out-dir", "x", "--init", "/"],
    ["train", "--data", "synthetic-membranes:1", "--out-dir", "x", "--init", "/dev/null"],
    ["train", "--data", "folder:,", "--out-dir", "x"], ["train", "--data", "retina:x", "--out-dir", "x"],
    ["train", "--data", "cremi:/dev/null", "--out-dir", "x"], ["train", "--data", "x" * 5000, "--out-dir", "x"],
    ["train", "--data", "synthetic-membranes:1", "--val", "synthetic-tubes:1", "--out-dir", "x"],
    ["evaluate"], ["evaluate", "--checkpoint", "/"], ["evaluate", "--checkpoint", "/dev/null", "--data", "retina"],
    ["evaluate", "--checkpoint", "/nonexistent/x", "--data", "retina"],
    ["evaluate", "--predictions", "/dev/null", "--targets", "/dev/null"],
    ["evaluate", "--predictions", ".", "--targets", "/nonexistent/x"],
    ["evaluate", "--predictions", "empty", "--targets", "empty"],
    ["evaluate", "--predictions", "empty", "--targets", "empty", "--json", "/"],
    ["evaluate", "--predictions", "empty", "--targets", "empty", "--save-predictions", "p"],
    ["evaluate", "--predictions", "empty", "--targets", "empty", "--patches", "0"],
    ["evaluate", "--predictions", "empty", "--targets", "empty", "--patches", "1e9"],
    ["structures"], ["structures", "/"], ["structures", "/dev/null"], ["structures", ""], ["structures", "é"],
    ["structures", "/nonexistent/x.png"], ["demo", "--size", "0"], ["demo", "--train-images", "100000"],
    ["demo", "--size", "2048", "--train-images", "1000"], ["demo", "-o", "/"], ["demo", "--gaps", "1e9"],
    ["bogus"], ["--bogus"], [""],
]


@pytest.mark.parametrize("argv", REFUSED, ids=lambda argv: " ".join(a[:20] for a in argv) or "nothing")
def test_odd_arguments_are_refused_in_one_line(argv, tmp_path, monkeypatch):
    import dmtloss.study
    import dmtloss.train

    def started(*args, **kwargs):
        raise AssertionError(f"{argv} started to train")

    monkeypatch.setattr(dmtloss.train, "train", started)
    monkeypatch.setattr(dmtloss.study, "compare_losses", started)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    status, out, err = _run(argv)
    _assert_one_line_refusal(status, err)
    assert not (tmp_path / "x").exists()


@settings(FUZZ, max_examples=max(10, EXAMPLES // 2))
@given(st.sampled_from(["train", "evaluate", "structures", "demo"]),
       st.lists(st.sampled_from(ODD), min_size=1, max_size=4))
def test_odd_tokens_end_in_success_or_one_line(command, tokens):
    base = {"train": ["--data", "synthetic-membranes:1", "--out-dir", "x", "--steps", "1", "--width", "2",
                      "--depth", "1", "--patch-size", "16", "--batch-size", "1", "--no-progress", "--device", "cpu"],
            "evaluate": ["--predictions", "empty", "--targets", "empty"],
            "structures": [],
            "demo": ["--size", "0"]}[command]
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        try:
            Path("empty").mkdir()
            status, _, err = _run([command, *tokens, *base])
        finally:
            os.chdir(here)
    event(f"status {status}")
    if status != 0:
        _assert_one_line_refusal(status, err)
