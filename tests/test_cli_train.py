"""`dmtloss demo`, `dmtloss train` and `dmtloss evaluate` on tiny inputs."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from dmtloss import metrics
from dmtloss.cli import main
from dmtloss.data import VAL_SEED_OFFSET, synthetic_membranes
from dmtloss.train import load_checkpoint, predict

from helpers import TINY
from helpers import one_line_error as _error
from helpers import table_rows as _rows


def test_demo_trains_both_arms_and_reports_what_it_measured(tmp_path, capsys):
    figure, runs = tmp_path / "demo.png", tmp_path / "runs"
    argv = ["demo", "--pretrain-steps", "3", "--steps", "2", "--size", "32", "--train-images", "2",
            "--val-images", "3", "-o", str(figure), "--out-dir", str(runs), *TINY]
    assert main(argv) == 0
    out = capsys.readouterr().out
    rows = _rows(out)
    assert figure.read_bytes()[:4] == b"\x89PNG"
    assert rows["figure"] == str(figure)
    for arm in ("pretrain", "BCE", "DMT"):
        assert (runs / arm / "last.pt").is_file()
    saved = json.loads((runs / "metrics.json").read_text())
    assert len(saved["images"]) == 3 and set(saved["rows"]) == {"BCE", "DMT"}
    # the table's numbers are the saved per-image rows' means
    line = next(line for line in out.splitlines() if line.startswith("DICE"))
    for arm in ("BCE", "DMT"):
        values = [row["dice"] for row in saved["rows"][arm]]
        assert f"{np.mean(values):.3f} +- {np.std(values):.3f}" in line
    assert rows["verdict"]
    assert (runs / "table.txt").read_text().startswith("metric")
    # the DMT arm started from the pretrained weights, not from scratch
    pre = torch.load(runs / "pretrain" / "last.pt", weights_only=True)
    assert pre["step"] == 3


def test_train_then_evaluate_a_checkpoint(tmp_path, capsys):
    out_dir = tmp_path / "run"
    assert main(["train", "--data", "synthetic-membranes:2", "--val", "synthetic-membranes:1",
                 "--out-dir", str(out_dir), "--loss", "dmt", "--steps", "2", "--steps-per-epoch", "1",
                 *TINY]) == 0
    rows = _rows(capsys.readouterr().out)
    assert rows["checkpoint"] == str(out_dir / "last.pt")
    assert (out_dir / "log.csv").is_file() and (out_dir / "best.pt").is_file()
    assert rows["curves"] == str(out_dir / "training.png")  # loss, validation metrics, mask share
    assert (out_dir / "training.png").read_bytes()[:4] == b"\x89PNG"
    report = tmp_path / "eval.json"
    assert main(["evaluate", "--checkpoint", str(out_dir / "last.pt"), "--data", "synthetic-membranes:2",
                 "--json", str(report), "--patches", "5", "--save-predictions", str(tmp_path / "pred")]) == 0
    printed = _rows(capsys.readouterr().out)
    saved = json.loads(report.read_text())
    # the numbers are those of the checkpoint's own predictions
    model, _, _ = load_checkpoint(out_dir / "last.pt")
    data = synthetic_membranes(2, seed=VAL_SEED_OFFSET)  # the validation images, not the training ones
    want = metrics.summarize([predict(model, image) >= 0.5 for image in data.images], list(data.targets),
                             n_patches=5)
    assert saved["summary"]["dice"] == pytest.approx(list(want["dice"]), abs=1e-12)
    assert printed["dice"] == f"{want['dice'][0]:.4f} +- {want['dice'][1]:.4f}"
    assert sorted(p.name for p in (tmp_path / "pred").iterdir()) == ["membranes_00.npy", "membranes_01.npy"]
    # a 2-D network on 3-D data is a one-line error
    assert main(["evaluate", "--checkpoint", str(out_dir / "last.pt"), "--data", "synthetic-tubes:1"]) == 2
    _error(capsys, "--data", "3-D images", "2-D network")


def test_train_resume_continues_to_the_uninterrupted_weights(tmp_path, capsys):
    from dmtloss import train as training
    from dmtloss.cli import main as run

    args = ["--data", "synthetic-membranes:2", "--steps", "4", "--steps-per-epoch", "2", "--loss", "bce", *TINY]
    assert run(["train", "--out-dir", str(tmp_path / "whole"), *args]) == 0
    # interrupt a second run after its first epoch, as a killed process would leave it
    config = training.load_checkpoint(tmp_path / "whole" / "last.pt")[1]
    training.train(config, synthetic_membranes(2, seed=0), out_dir=tmp_path / "cut", max_epochs=1, progress=False)
    assert run(["train", "--out-dir", str(tmp_path / "cut"), "--resume", *args]) == 0
    capsys.readouterr()
    whole = torch.load(tmp_path / "whole" / "last.pt", weights_only=True)["model"]
    cut = torch.load(tmp_path / "cut" / "last.pt", weights_only=True)["model"]
    assert whole.keys() == cut.keys()
    for key in whole:
        assert torch.equal(whole[key], cut[key]), key


def test_train_refuses_to_overwrite_a_run_unless_asked(tmp_path, capsys):
    args = ["train", "--data", "synthetic-membranes:1", "--out-dir", str(tmp_path / "run"), "--loss", "bce",
            "--steps", "1", "--steps-per-epoch", "1", *TINY]
    assert main(args) == 0
    before = (tmp_path / "run" / "last.pt").read_bytes()
    capsys.readouterr()
    assert main(args) == 2
    _error(capsys, "--out-dir", "already holds a run", "--resume", "--overwrite")
    assert (tmp_path / "run" / "last.pt").read_bytes() == before
    assert main([*args, "--overwrite"]) == 0


def test_evaluate_prediction_files(tmp_path, capsys):
    (tmp_path / "p").mkdir()
    (tmp_path / "t").mkdir()
    truth = np.zeros((12, 12), bool)
    truth[6] = True
    broken = truth.copy()
    broken[6, 6] = False
    np.save(tmp_path / "p" / "a.npy", broken * 0.9)
    Image.fromarray(truth.astype(np.uint8) * 255).save(tmp_path / "t" / "a.png")
    assert main(["evaluate", "--predictions", str(tmp_path / "p"), "--targets", str(tmp_path / "t"),
                 "--patches", "3", "--patch-size", "12"]) == 0
    rows = _rows(capsys.readouterr().out)
    assert rows["images"] == "1 (background regions)"
    assert rows["cell_count_error"] == "-1.0000 +- 0.0000"


def test_train_with_the_baseline_losses(tmp_path, capsys):
    for loss in ("weighted-bce", "cldice"):
        assert main(["train", "--data", "synthetic-membranes:1", "--out-dir", str(tmp_path / loss),
                     "--loss", loss, "--steps", "1", "--steps-per-epoch", "1", *TINY]) == 0
        assert (tmp_path / loss / "last.pt").is_file()


@pytest.mark.parametrize("argv, words", [
    (["train", "--data", "bogus", "--out-dir", "x"], ["--data", "unknown kind 'bogus'"]),
    (["train", "--data", "em-vnc", "--out-dir", "x"], ["--data", "needs a path"]),
    (["train", "--data", "em-vnc:nowhere", "--out-dir", "x"], ["--data", "nowhere"]),
    (["train", "--data", "synthetic-membranes:0", "--out-dir", "x"], ["--data", "COUNT"]),
    (["train", "--data", "folder:only", "--out-dir", "x"], ["--data", "two directories"]),
    (["train", "--data", "synthetic-membranes:1", "--out-dir", "x", "--resume", "--init", "c.pt"],
     ["--resume", "--init"]),
    (["train", "--data", "synthetic-membranes:1", "--out-dir", "x", "--resume"], ["resume", "last.pt"]),
    (["train", "--data", "synthetic-membranes:1", "--out-dir", "x", "--init", "none.pt"], ["--init", "none.pt"]),
    (["train", "--data", "synthetic-membranes:1", "--out-dir", "x", "--lr", "0"], ["--lr", "> 0"]),
    (["train", "--out-dir", "x"], ["--data"]),
    (["evaluate"], ["--checkpoint", "--predictions"]),
    (["evaluate", "--checkpoint", "c.pt"], ["--data", "required"]),
    (["evaluate", "--predictions", "p"], ["--targets", "required"]),
    (["evaluate", "--predictions", "p", "--targets", "t"], ["--predictions", "not a directory"]),
    (["demo", "--size", "32", "--patch-size", "64"], ["--patch-size", "at most --size"]),
])
def test_bad_arguments_give_one_line_and_status_2(argv, words, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    _error(capsys, *words)
    assert not (tmp_path / "x").exists()


def test_train_on_two_processes_under_torchrun(tmp_path):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "dmtloss", "train", "--data", "synthetic-membranes:2", "--out-dir", str(tmp_path / "run"),
               "--loss", "dmt", "--steps", "2", "--steps-per-epoch", "1", *TINY]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("checkpoint")]
    assert lines == [f"checkpoint  {tmp_path / 'run' / 'last.pt'}"]  # rank 0 alone reports
    saved = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert saved["step"] == 2
