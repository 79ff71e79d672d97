"""The command line's promises (issue 18): bounded inputs, one rule for reading predictions
and targets, no silent drops, the validation images scored, one line and status 2 for every
refusal, outputs that never overwrite each other, and interruptions that say how to go on."""

import os
import shlex
import subprocess
import sys

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image

import dmtloss.train as train_module
from dmtloss.cli import main
from dmtloss.data import VAL_SEED_OFFSET, synthetic_membranes
from dmtloss.train import TrainConfig, load_checkpoint, predict, train

from helpers import TINY
from helpers import one_line_error as _error
from helpers import table_rows as _rows


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A finished tiny run on two synthetic membranes (seed 0), as `dmtloss train` writes it."""
    out = tmp_path_factory.mktemp("run")
    config = TrainConfig(width=2, depth=2, patch_size=32, batch_size=2, steps=2, steps_per_epoch=1, device="cpu",
                         loss="bce")
    train(config, synthetic_membranes(2, seed=0), out_dir=out, progress=False)
    return out


# -- 5: bounded at parse time ------------------------------------------------------------------

@pytest.mark.parametrize("argv, words", [
    (["--data", "synthetic-membranes:100000000"], ["--data", "COUNT must be from 1 to 1000", "100000000"]),
    (["--data", "synthetic-tubes:1e9"], ["--data", "whole number", "'1e9'"]),
    (["--data", "synthetic-membranes:" + "9" * 5000], ["--data", "whole number"]),
    (["--data", "synthetic-membranes:1", "--width", "512", "--depth", "8"],
     ["width` 512 and `depth` 8", "MAX_PARAMETERS = 100,000,000"]),
    (["--data", "synthetic-membranes:1", "--steps-per-epoch", "10000000"], ["--steps-per-epoch", "from 1 to"]),
    (["--data", "synthetic-membranes:1", "--seed", str(2 ** 40)], ["--seed", "from 0 to"]),
])
def test_sizes_and_counts_are_bounded_before_anything_is_built(argv, words, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    built = []
    monkeypatch.setattr(train_module, "_model", lambda config: built.append(config))
    assert main(["train", "--out-dir", "x", *argv]) == 2
    _error(capsys, *words)
    assert built == [] and not (tmp_path / "x").exists()


# -- 6: one rule for predictions and targets ---------------------------------------------------

@pytest.fixture
def mask():
    truth = np.zeros((24, 32), bool)
    truth[5:19, 4:12] = True
    truth[8, :] = True
    return truth


def _evaluate(tmp_path, capsys, *extra):
    status = main(["evaluate", "--predictions", str(tmp_path / "p"), "--targets", str(tmp_path / "t"),
                   "--patches", "3", "--patch-size", "8", *extra])
    return status, capsys.readouterr()


def _save(path, array):
    path.parent.mkdir(exist_ok=True)
    if path.suffix == ".npy":
        np.save(path, array)
    elif path.suffix == ".tif":
        tifffile.imwrite(path, array)
    else:
        Image.fromarray(array).save(path)


@pytest.mark.parametrize("prediction, target", [
    ("01", "0255"), ("0255", "01"), ("01", "01"), ("float", "0255"), ("0255", "float"),
    ("bool", "uint16-max"), ("likelihood", "01"),
])
def test_label_images_are_read_as_labels_both_ways(prediction, target, mask, tmp_path, capsys):
    def encode(kind, name):
        if kind == "01":
            _save(tmp_path / name / "a.png", mask.astype(np.uint8))
        elif kind == "0255":
            _save(tmp_path / name / "a.png", mask.astype(np.uint8) * 255)
        elif kind == "float":
            _save(tmp_path / name / "a.npy", mask.astype(np.float32))
        elif kind == "bool":
            _save(tmp_path / name / "a.npy", mask)
        elif kind == "uint16-max":
            _save(tmp_path / name / "a.tif", mask.astype(np.uint16) * 65535)
        else:  # likelihoods either side of 0.5, 0.5 itself foreground
            _save(tmp_path / name / "a.npy", np.where(mask, np.linspace(0.5, 1, mask.size).reshape(mask.shape),
                                                      0.49))

    encode(prediction, "p")
    encode(target, "t")
    status, captured = _evaluate(tmp_path, capsys)
    assert status == 0, captured.err
    rows = _rows(captured.out)
    assert rows["accuracy"] == "1.0000 +- 0.0000" and rows["dice"] == "1.0000 +- 0.0000"


def test_float_targets_are_thresholded_at_one_half_like_predictions(mask, tmp_path, capsys):
    soft = np.where(mask, 0.9, 0.3)  # a soft target: 0.3 is background, not "non-zero"
    _save(tmp_path / "p" / "a.npy", mask.astype(np.float64))
    _save(tmp_path / "t" / "a.npy", soft)
    status, captured = _evaluate(tmp_path, capsys)
    assert status == 0 and _rows(captured.out)["accuracy"] == "1.0000 +- 0.0000"


def test_jpeg_targets_are_thresholded_at_128(tmp_path, capsys):
    from dmtloss._cli_train import _read_binary

    truth = np.zeros((64, 64), bool)
    truth[:, :32] = True  # half the image
    truth[::8, 32:] = True
    (tmp_path / "t").mkdir()
    Image.fromarray(truth.astype(np.uint8) * 255).save(tmp_path / "t" / "a.jpg", quality=60)
    raw = np.array(Image.open(tmp_path / "t" / "a.jpg"))
    assert (raw[~truth] > 0).mean() > 0.3  # "> 0" would make a third of the background foreground
    read = _read_binary(tmp_path / "t" / "a.jpg", "--targets")
    np.testing.assert_array_equal(read, raw >= 128)
    assert (read != truth).mean() < 0.01


@pytest.mark.parametrize("name, array, words", [
    ("a.npy", np.linspace(-3, 3, 24 * 32).reshape(24, 32), ["--predictions", "a.npy", "outside [0, 1]", "logits"]),
    ("a.npy", np.full((24, 32), np.nan), ["--predictions", "NaN"]),
    ("a.tif", np.arange(24 * 32, dtype=np.uint16).reshape(24, 32), ["--predictions", "uint16", "label ids"]),
    ("a.npy", np.arange(24 * 32, dtype=np.int64).reshape(24, 32) % 3, ["--predictions", "int64", "0/1 nor 0/255"]),
    ("a.png", np.dstack([np.zeros((24, 32), np.uint8), np.full((24, 32), 255, np.uint8),
                         np.zeros((24, 32), np.uint8)]), ["--predictions", "colour"]),
    ("a.npy", np.array(["x"] * 4).reshape(2, 2), ["--predictions", "expected numbers"]),
])
def test_values_that_are_no_labels_nor_likelihoods_are_refused(name, array, words, mask, tmp_path, capsys):
    _save(tmp_path / "p" / name, array)
    _save(tmp_path / "t" / "a.png", mask.astype(np.uint8))
    status, captured = _evaluate(tmp_path, capsys)
    assert status == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    for word in words:
        assert word in lines[0], lines[0]


def test_the_reading_rule_is_in_the_help(capsys):
    assert main(["evaluate", "--help"]) == 0
    text = capsys.readouterr().out
    for words in ("integers all 0 and 1", "all 0 and 255", "8-bit images (JPEG too)", "floats in [0, 1]",
                  "logits?", "validation images"):
        assert words in " ".join(text.split()), words


# -- 7: nothing dropped silently -----------------------------------------------------------------

def test_unmatched_files_are_an_error_listing_them(mask, tmp_path, capsys):
    for name in "abc":
        _save(tmp_path / "p" / f"{name}.png", mask.astype(np.uint8))
    for name in "abcd":
        _save(tmp_path / "t" / f"{name}.png", mask.astype(np.uint8))
    status, captured = _evaluate(tmp_path, capsys)
    assert status == 2 and "no prediction for target(s) d;" in captured.err
    assert len(captured.err.strip().splitlines()) == 1
    (tmp_path / "t" / "d.png").unlink()
    (tmp_path / "t" / "b.png").unlink()
    status, captured = _evaluate(tmp_path, capsys)
    assert status == 2 and "no target for prediction(s) b;" in captured.err
    _save(tmp_path / "t" / "b.png", mask.astype(np.uint8))
    _save(tmp_path / "t" / "b.npy", mask)
    status, captured = _evaluate(tmp_path, capsys)
    assert status == 2 and "--targets: b.npy and b.png have the same name" in captured.err
    (tmp_path / "t" / "b.npy").unlink()
    status, captured = _evaluate(tmp_path, capsys)
    assert status == 0 and _rows(captured.out)["images"] == "3 (background regions)"


# -- 8: the validation images are scored, never the training ones -----------------------------

def test_evaluate_a_checkpoint_on_synthetic_data_scores_the_validation_images(run, tmp_path, capsys):
    assert main(["evaluate", "--checkpoint", str(run / "last.pt"), "--data", "synthetic-membranes:2",
                 "--patches", "3", "--save-predictions", str(tmp_path / "pred")]) == 0
    rows = _rows(capsys.readouterr().out)
    assert rows["scored"] == (f"2 validation images of synthetic-membranes:2 (seed 0 + {VAL_SEED_OFFSET:,}, "
                              "as 'train --val'; not the training images)")
    model = load_checkpoint(run / "last.pt")[0]
    want = synthetic_membranes(2, seed=VAL_SEED_OFFSET)  # what `train --val synthetic-membranes:2` validates on
    trained_on = synthetic_membranes(2, seed=0)
    for name, image, seen in zip(want.names, want.images, trained_on.images):
        saved = np.load(tmp_path / "pred" / (name.replace("/", "_") + ".npy"))
        np.testing.assert_array_equal(saved, predict(model, image).astype(np.float32))
        assert not np.array_equal(image, seen)


# -- 12: one line and status 2, never a traceback -------------------------------------------------

def test_structures_on_an_image_too_large_for_the_engine(tmp_path, monkeypatch, capsys):
    from dmtloss.fast import _kernels

    np.save(tmp_path / "big.npy", np.random.default_rng(0).random((30, 30)))
    monkeypatch.setattr(_kernels, "MAX_POSITION", 27 * 800)  # as if 900 pixels were 80 million
    assert main(["structures", str(tmp_path / "big.npy"), "-o", str(tmp_path)]) == 2
    _error(capsys, "IMAGE", "too large for the fast engine", "900 pixels")


@pytest.mark.parametrize("where, words", [
    ("missing/report.json", ["--json", "'missing' is not a directory"]),
    ("folder", ["--json", "is a directory"]),
])
def test_evaluate_json_to_a_path_it_cannot_write(where, words, mask, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    _save(tmp_path / "p" / "a.png", mask.astype(np.uint8))
    _save(tmp_path / "t" / "a.png", mask.astype(np.uint8))
    status, captured = _evaluate(tmp_path, capsys, "--json", where)
    assert status == 2 and captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and all(w in lines[0] for w in words), captured.err


def test_evaluate_save_predictions_onto_a_file(run, tmp_path, capsys):
    (tmp_path / "taken").write_text("")
    assert main(["evaluate", "--checkpoint", str(run / "last.pt"), "--data", "synthetic-membranes:1",
                 "--save-predictions", str(tmp_path / "taken")]) == 2
    _error(capsys, "--save-predictions", "is a file")


@pytest.mark.parametrize("content", [b"", b"garbage", b"PK\x03\x04garbage"])
def test_evaluate_a_corrupt_checkpoint(content, tmp_path, capsys):
    (tmp_path / "bad.pt").write_bytes(content)
    assert main(["evaluate", "--checkpoint", str(tmp_path / "bad.pt"), "--data", "synthetic-membranes:1"]) == 2
    line = _error(capsys, "--checkpoint", "cannot read checkpoint")
    assert "weights_only" not in line


def test_a_closed_pipe_ends_the_command_quietly(tmp_path):
    # the reader is gone before the first line: every write fails with EPIPE (`dmtloss ... | head`)
    child = subprocess.Popen([sys.executable, "-m", "dmtloss", "explain", "--size", "16", "-o",
                              str(tmp_path / "fig.png")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             cwd=tmp_path)
    child.stdout.close()
    with child.stderr:
        err = child.stderr.read().decode()
    assert child.wait() == 1
    assert err == ""


# -- 13: outputs ---------------------------------------------------------------------------------

def test_structures_creates_its_output_folder_and_names_masks_by_file_name(tmp_path, capsys):
    from dmtloss.synthetic import membrane_likelihood

    likelihood = membrane_likelihood((20, 24), cells=4, seed=1)
    np.save(tmp_path / "x.npy", likelihood)
    Image.fromarray(np.round((1 - likelihood) * 255).astype(np.uint8)).save(tmp_path / "x.png")
    out = tmp_path / "new" / "masks"
    for name in ("x.npy", "x.png"):
        assert main(["structures", str(tmp_path / name), "-o", str(out)]) == 0
    capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == ["x.npy-mask.png", "x.npy-overlay.png", "x.png-mask.png",
                                                     "x.png-overlay.png"]
    assert not np.array_equal(np.array(Image.open(out / "x.npy-mask.png")), np.array(Image.open(out / "x.png-mask.png")))


def _interrupt_at_step(monkeypatch, step):
    real = train_module.__dict__["_lr"]

    def lr(config, s):
        if s == step:
            raise KeyboardInterrupt
        return real(config, s)

    monkeypatch.setattr(train_module, "_lr", lr)


def test_ctrl_c_names_the_last_checkpoint_and_the_resume_command(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = ["train", "--data", "synthetic-membranes:1", "--out-dir", "my run", "--loss", "bce", "--steps", "4",
            "--steps-per-epoch", "2", "--overwrite", *TINY]
    _interrupt_at_step(monkeypatch, 3)
    assert main(argv) == 130
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    command = lines[0].partition("continue with: ")[2]
    assert lines[0].startswith(f"dmtloss train: interrupted; the last checkpoint, {os.path.join('my run', 'last.pt')}, "
                               "is at step 2 of 4;")
    assert command == "dmtloss train --data synthetic-membranes:1 --out-dir 'my run' --loss bce --steps 4 " \
                      "--steps-per-epoch 2 " + " ".join(TINY) + " --resume"
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    assert main(shlex.split(command)[1:]) == 0
    assert "(resumed)" in capsys.readouterr().out
    assert torch.load(tmp_path / "my run" / "last.pt", weights_only=True)["step"] == 4


def test_ctrl_c_before_the_first_checkpoint(tmp_path, monkeypatch, capsys):
    _interrupt_at_step(monkeypatch, 1)
    assert main(["train", "--data", "synthetic-membranes:1", "--out-dir", str(tmp_path / "run"), "--loss", "bce",
                 "--steps", "4", "--steps-per-epoch", "2", *TINY]) == 130
    line = _error(capsys, "interrupted before the first checkpoint", "epoch of 2 steps", "nothing to resume",
                  "was removed")
    assert str(tmp_path / "run") in line
    assert not (tmp_path / "run").exists()


def test_resume_a_finished_run_says_so(run, capsys):
    before = (run / "last.pt").read_bytes()
    assert main(["train", "--data", "synthetic-membranes:2", "--out-dir", str(run), "--loss", "bce", "--steps",
                 "2", "--steps-per-epoch", "1", "--resume", *TINY]) == 0
    out = capsys.readouterr().out
    assert "(resumed)" not in out
    assert _rows(out)["run"] == f"already finished: {run / 'last.pt'} is at step 2 of 2; nothing to do " \
                                "(train longer in a new run with --init)"
    assert (run / "last.pt").read_bytes() == before


def test_resume_a_corrupt_checkpoint(tmp_path, capsys):
    (tmp_path / "last.pt").write_bytes(b"PK\x03\x04 half a file")
    assert main(["train", "--data", "synthetic-membranes:1", "--out-dir", str(tmp_path), "--resume", *TINY]) == 2
    assert "weights_only" not in _error(capsys, "--resume", "cannot read checkpoint")
