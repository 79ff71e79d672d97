"""Training: config validation, losses, logs and atomic checkpoints, exact resume, init,
epoch masks, prediction and evaluation, and a two-process DDP run."""

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import dmtloss.train as train_module
from dmtloss.data._types import SegmentationSet
from dmtloss.data.patches import PatchDataset
from dmtloss.loss import DMTLoss, dmt_mask
from dmtloss.models import UNet
from dmtloss.synthetic import membrane_likelihood, membrane_walls
from dmtloss.train import LOSSES, TrainConfig, TrainResult, evaluate, load_checkpoint, predict, train

ROOT = Path(__file__).resolve().parents[1]
TIMES = ("seconds", "train_seconds", "val_seconds", "mask_seconds")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny networks gain nothing from intra-op threads, and lose much on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def membranes():
    """Two 40 x 40 membrane images with their exact walls."""
    images = [membrane_likelihood((40, 40), cells=6, seed=s).astype(np.float32) for s in range(2)]
    targets = [membrane_walls((40, 40), cells=6, seed=s) for s in range(2)]
    return SegmentationSet(images, targets, ["a", "b"], "background", "test membranes")


@pytest.fixture(scope="module")
def squares():
    """A trivially learnable set: the target is the image (random bright rectangles)."""
    rng = np.random.default_rng(0)
    images = []
    for _ in range(2):
        image = np.zeros((48, 48), np.float32)
        for _ in range(6):
            r, c = rng.integers(0, 40, 2)
            image[r:r + rng.integers(3, 9), c:c + rng.integers(3, 9)] = 1
        images.append(image)
    return SegmentationSet(images, [image > 0.5 for image in images], ["a", "b"], "foreground", "test squares")


def tiny(**kwargs):
    options = dict(width=4, depth=2, patch_size=32, batch_size=2, steps=4, steps_per_epoch=2, lr=1e-2,
                   metric_n_patches=4, device="cpu")
    options.update(kwargs)
    return TrainConfig(**options)


def _without_times(history):
    return [{k: v for k, v in row.items() if k not in TIMES} for row in history]


def _assert_same_state(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), f"{key} differs"


# ----------------------------------------------------------------------------------
# configuration
# ----------------------------------------------------------------------------------

def test_config_defaults_and_round_trip():
    config = TrainConfig()
    assert (config.ndim, config.width, config.depth, config.patch_size) == (2, 16, 3, (64, 64))
    assert (config.batch_size, config.steps, config.steps_per_epoch, config.lr) == (8, 1000, 100, 1e-3)
    assert (config.loss, config.structures_every, config.lr_schedule) == ("bce", "step", "constant")
    assert (config.device, config.num_workers, config.norm) == ("auto", 0, "batch")
    config = TrainConfig(ndim=3, patch_size=(8, 16, 16), structures="boundaries", val_tile=32, loss="dmt")
    assert config.structures == ("boundaries",) and config.val_tile == (32, 32, 32)
    plain = config.to_dict()
    assert TrainConfig.from_dict(json.loads(json.dumps(plain))) == config


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(ndim=1), ValueError, "`ndim` must be 2 or 3; got 1"),
    (dict(width=0), ValueError, "`width` must be >= 1; got 0"),
    (dict(batch_size=2.0), TypeError, "`batch_size` must be an int; got float"),
    (dict(steps=0), ValueError, "`steps` must be >= 1; got 0"),
    (dict(patch_size=(32, 32, 32)), ValueError, "`patch_size` must have one side per axis (2)"),
    (dict(patch_size=1), ValueError, "`patch_size` sides must be >= 2"),
    (dict(lr=0), ValueError, "`lr` must be a finite number > 0; got 0.0"),
    (dict(lr=float("nan")), ValueError, "`lr` must be a finite number > 0; got nan"),
    (dict(lr_schedule="step"), ValueError, "`lr_schedule` must be one of ('constant', 'linear', 'cosine')"),
    (dict(loss="bogus"), ValueError,
     "`loss` must be one of ('bce', 'dmt', 'weighted-bce', 'cldice', 'ce-dice') (keys of dmtloss.train.LOSSES)"),
    (dict(loss=None), TypeError, "`loss` must be a string"),
    (dict(loss_options={"f": object()}), TypeError, "`loss_options` must hold plain values"),
    (dict(epsilon=-0.1), ValueError, "`epsilon` must be a finite number >= 0; got -0.1"),
    (dict(beta="3"), TypeError, "`beta` must be a real number; got str"),
    (dict(structures="sheets"), ValueError, "'sheets' exist only for 3-D images"),
    (dict(normalize="all"), ValueError, "`normalize` must be one of ('pixels', 'mask'); got 'all'"),
    (dict(frame=1), TypeError, "`frame` must be a bool; got int"),
    (dict(structures_every="batch"), ValueError, "`structures_every` must be one of ('step', 'epoch')"),
    (dict(device="gpu"), ValueError, "`device` must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got 'gpu'"),
    (dict(num_workers=-1), ValueError, "`num_workers` must be >= 0; got -1"),
    (dict(val_overlap=1.0), ValueError, "`val_overlap` must be a finite number >= 0 and < 1; got 1.0"),
    (dict(regions="cells"), ValueError, "`regions` must be one of ('background', 'foreground')"),
    (dict(best_metric="loss"), ValueError, "`best_metric` must be one of ('accuracy', 'dice'"),
    (dict(best_metric="betti2"), ValueError, "'betti2' exists only in 3-D"),
    (dict(grad_clip=0), ValueError, "`grad_clip` must be a finite number > 0"),
    (dict(optimizer="lbfgs"), ValueError, "`optimizer` must be one of ('adam', 'adamw', 'sgd')"),
])
def test_bad_config_values(kwargs, error, message):
    with pytest.raises(error) as info:
        TrainConfig(**kwargs)
    assert message in str(info.value)


def test_from_dict_refuses_unknown_fields():
    with pytest.raises(ValueError, match=r"unknown TrainConfig fields: \['epochs'\]"):
        TrainConfig.from_dict({"epochs": 3})


def test_loss_registry():
    assert set(LOSSES) >= {"bce", "dmt"}
    loss = LOSSES["dmt"](TrainConfig(loss="dmt", epsilon=0.1, beta=2.0, normalize="mask", frame=True, workers=1))
    assert isinstance(loss, DMTLoss)
    assert (loss.epsilon, loss.beta, loss.normalize, loss.frame, loss.workers) == (0.1, 2.0, "mask", True, 1)
    logits, target = torch.zeros(1, 1, 4, 4), torch.ones(1, 1, 4, 4)
    expected = F.binary_cross_entropy_with_logits(logits, target)
    assert torch.isclose(LOSSES["bce"](TrainConfig())(logits, target), expected)
    from dmtloss.baselines import cldice_loss, weighted_bce
    target = torch.zeros(1, 1, 4, 4)
    target[0, 0, 1] = 1
    logits = torch.randn(1, 1, 4, 4)
    config = TrainConfig(loss="cldice", beta=2.0, loss_options={"iterations": 2})
    assert torch.equal(LOSSES["cldice"](config)(logits, target), cldice_loss(logits, target, beta=2.0, iterations=2))
    config = TrainConfig(loss="weighted-bce", beta=2.0)
    assert torch.equal(LOSSES["weighted-bce"](config)(logits, target), weighted_bce(logits, target, beta=2.0))


# ----------------------------------------------------------------------------------
# training runs
# ----------------------------------------------------------------------------------

def test_bce_run_writes_logs_and_checkpoints(membranes, tmp_path):
    config = tiny(lr_schedule="linear", steps=6, steps_per_epoch=2)
    result = train(config, membranes, membranes, out_dir=tmp_path / "run", progress=False)
    assert isinstance(result, TrainResult) and result.config == config and result.seconds > 0
    out = tmp_path / "run"
    assert sorted(p.name for p in out.iterdir()) == ["best.pt", "history.json", "last.pt", "log.csv"]
    assert result.paths == {"last": out / "last.pt", "best": out / "best.pt", "log_csv": out / "log.csv",
                            "history_json": out / "history.json"}
    assert result.checkpoint == out / "last.pt"
    history = result.history
    assert [row["epoch"] for row in history] == [1, 2, 3] and [row["step"] for row in history] == [2, 4, 6]
    # lr of the last step of each epoch: linear decay to 0 over the 6 steps
    assert [row["lr"] for row in history] == pytest.approx([1e-2 * (1 - s / 6) for s in (1, 3, 5)])
    for row in history:
        assert np.isfinite(row["train_loss"]) and 0 <= row["val_dice"] <= 1
        assert {"val_are", "val_voi", "val_betti0", "val_betti1", "val_dice_std", "seconds"} <= set(row)
    # logs parse and agree with the history
    rows = list(csv.DictReader((out / "log.csv").read_text().splitlines()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert [float(r["train_loss"]) for r in rows] == pytest.approx([row["train_loss"] for row in history])
    saved = json.loads((out / "history.json").read_text())
    assert saved["history"] == json.loads(json.dumps(history)) and saved["config"]["lr_schedule"] == "linear"
    # the last checkpoint is the returned model; the best one is the best epoch's
    model, loaded, state = load_checkpoint(out / "last.pt")
    assert loaded == config and state["step"] == 6 and state["epoch"] == 3 and not model.training
    _assert_same_state(model.state_dict(), result.model.state_dict())
    dice = [row["val_dice"] for row in history]
    _, _, best = load_checkpoint(out / "best.pt")
    assert state["best"] == {"metric": "dice", "value": max(dice), "epoch": 1 + int(np.argmax(dice))}
    assert best["epoch"] == state["best"]["epoch"]


def test_loss_decreases_on_a_learnable_task(squares, tmp_path):
    config = tiny(steps=30, steps_per_epoch=10, seed=0)
    history = train(config, squares, out_dir=tmp_path, progress=False).history
    losses = [row["train_loss"] for row in history]
    assert losses[-1] < 0.75 * losses[0], losses
    assert "val_dice" not in history[0] and not (tmp_path / "best.pt").exists()


def test_dmt_run_logs_the_structures(membranes, tmp_path):
    config = tiny(loss="dmt", epsilon=0.0, steps=2, steps_per_epoch=1)
    history = train(config, membranes, membranes, out_dir=tmp_path, progress=False).history
    row = history[0]
    assert 0 < row["mask_fraction"] <= 1 and row["mask_ridges"] > 0 and row["mask_pairs"] >= 0
    assert row["mask_fraction"] == pytest.approx(row["mask_ridges"] / 32**2)


def test_3d_dmt_run(tmp_path):
    rng = np.random.default_rng(0)
    images = [rng.random((10, 12, 12)).astype(np.float32)]
    data = SegmentationSet(images, [images[0] > 0.5], ["v"], "foreground", "test volume")
    config = tiny(ndim=3, patch_size=8, width=2, loss="dmt", steps=2, steps_per_epoch=2, val_tile=8)
    row = train(config, data, data, out_dir=tmp_path, progress=False).history[0]
    assert {"mask_ridges", "mask_boundaries", "val_betti2"} <= set(row)


def test_epoch_masks_are_crops_of_the_full_image_masks(membranes, tmp_path, monkeypatch):
    seen = []

    class Spy(DMTLoss):
        def forward(self, input, target, mask=None):
            seen.append(mask.clone())
            return super().forward(input, target, mask=mask)

    monkeypatch.setitem(LOSSES, "spy", lambda config: Spy(epsilon=config.epsilon, beta=config.beta))
    config = tiny(loss="spy", epsilon=0.0, structures_every="epoch", steps=2, steps_per_epoch=2)
    result = train(config, membranes, out_dir=tmp_path, progress=False)
    # the expected first mask: the initial network's likelihood on the full images, its
    # structures, and the same patches as the first step's
    torch.manual_seed(config.seed)
    model = UNet(2, 1, 1, config.width, config.depth)
    likelihood = np.stack([predict(model, image) for image in membranes.images])
    masks = dmt_mask(torch.from_numpy(likelihood)[:, None], 0.0, from_logits=False)[:, 0].numpy()
    patches = PatchDataset(membranes, 32, length=4, seed=config.seed)
    batch = torch.utils.data.default_collate([patches[0], patches[1]])
    expected = torch.from_numpy(patches.crop_batch(masks, batch))
    assert len(seen) == 2 and seen[0].dtype == torch.bool and torch.equal(seen[0], expected)
    assert expected.any()
    row = result.history[0]
    assert row["mask_fraction"] == pytest.approx(masks.mean()) and "mask_seconds" in row


def test_dmt_epoch_mode_trains(membranes, tmp_path):
    config = tiny(loss="dmt", structures_every="epoch", epsilon=0.0, steps=2, steps_per_epoch=1)
    history = train(config, membranes, out_dir=tmp_path, progress=False).history
    assert len(history) == 2 and all(0 < row["mask_fraction"] < 1 for row in history)


@pytest.mark.parametrize("loss, every", [("bce", "step"), ("dmt", "epoch")])
def test_resume_is_bit_identical(membranes, tmp_path, loss, every):
    config = tiny(loss=loss, structures_every=every, epsilon=0.0, lr_schedule="cosine", steps=4, steps_per_epoch=2)
    whole = train(config, membranes, membranes, out_dir=tmp_path / "whole", progress=False)
    first = train(config, membranes, membranes, out_dir=tmp_path / "cut", max_epochs=1, progress=False)
    assert len(first.history) == 1 and load_checkpoint(tmp_path / "cut" / "last.pt")[2]["step"] == 2
    # scramble the global RNGs, as a fresh process would have them
    torch.manual_seed(123), np.random.seed(123)
    resumed = train(config, membranes, membranes, out_dir=tmp_path / "cut", resume=True, progress=False)
    _assert_same_state(whole.model.state_dict(), resumed.model.state_dict())
    assert _without_times(whole.history) == _without_times(resumed.history)
    a, b = (load_checkpoint(tmp_path / name / "last.pt")[2] for name in ("whole", "cut"))
    for key in ("exp_avg", "exp_avg_sq"):
        for i in a["optimizer"]["state"]:
            assert torch.equal(a["optimizer"]["state"][i][key], b["optimizer"]["state"][i][key])
    assert torch.equal(a["rng"]["torch"], b["rng"]["torch"])
    assert a["best"] == b["best"]


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_dataloader_workers_do_not_change_the_run(membranes, tmp_path):
    runs = [train(tiny(num_workers=n), membranes, out_dir=tmp_path / str(n), progress=False) for n in (0, 2)]
    _assert_same_state(runs[0].model.state_dict(), runs[1].model.state_dict())


def test_resume_and_overwrite_guards(membranes, tmp_path):
    config = tiny(steps=2, steps_per_epoch=2)
    with pytest.raises(FileNotFoundError, match="no checkpoint to resume"):
        train(config, membranes, out_dir=tmp_path, resume=True, progress=False)
    train(config, membranes, out_dir=tmp_path, progress=False)
    with pytest.raises(FileExistsError, match="pass resume=True to continue it, overwrite=True to replace it"):
        train(config, membranes, out_dir=tmp_path, progress=False)
    (tmp_path / "best.pt").write_bytes(b"stale")
    replaced = train(tiny(steps=2, steps_per_epoch=2, seed=1), membranes, out_dir=tmp_path, overwrite=True,
                     progress=False)
    assert load_checkpoint(tmp_path / "last.pt")[1].seed == 1 and not (tmp_path / "best.pt").exists()
    assert len(replaced.history) == 1
    with pytest.raises(ValueError, match="`resume` and `overwrite` exclude each other"):
        train(config, membranes, out_dir=tmp_path, resume=True, overwrite=True, progress=False)
    with pytest.raises(ValueError, match=r"differs from that of the run .*lr: 0.01 -> 0.02"):
        train(tiny(steps=2, steps_per_epoch=2, lr=2e-2, seed=1), membranes, out_dir=tmp_path, resume=True,
              progress=False)
    # a finished run resumes to itself; device / num_workers / workers may change
    again = train(tiny(steps=2, steps_per_epoch=2, num_workers=0, workers=1, seed=1), membranes, out_dir=tmp_path,
                  resume=True, progress=False)
    assert len(again.history) == 1
    with pytest.raises(ValueError, match="`init` and `resume` exclude each other"):
        train(config, membranes, out_dir=tmp_path, resume=True, init=tmp_path / "last.pt", progress=False)


def test_init_starts_from_the_given_weights(membranes, tmp_path):
    pretrained = train(tiny(steps=2, steps_per_epoch=2), membranes, out_dir=tmp_path / "pre", progress=False)
    # SGD with a vanishing learning rate leaves the parameters exactly where they start
    config = tiny(steps=2, steps_per_epoch=1, optimizer="sgd", lr=1e-30, seed=9, loss="dmt")
    tuned = train(config, membranes, out_dir=tmp_path / "fine", init=tmp_path / "pre" / "last.pt", progress=False)
    for (name, a), b in zip(pretrained.model.named_parameters(), tuned.model.parameters()):
        assert torch.equal(a, b), name
    state = load_checkpoint(tmp_path / "fine" / "last.pt")[2]
    assert state["step"] == 2 and [row["epoch"] for row in state["history"]] == [1, 2]  # a fresh run
    with pytest.raises(ValueError, match="`init`: the checkpoint's network"):
        train(tiny(width=2), membranes, out_dir=tmp_path / "other", init=tmp_path / "pre" / "last.pt",
              progress=False)
    with pytest.raises(FileNotFoundError, match="`init`: no checkpoint at"):
        train(config, membranes, out_dir=tmp_path / "other", init=tmp_path / "missing.pt", progress=False)


def test_bad_train_arguments(membranes, tmp_path):
    with pytest.raises(TypeError, match="`config` must be a TrainConfig; got dict"):
        train({}, membranes, out_dir=tmp_path)
    with pytest.raises(TypeError, match="`train_set` must be a SegmentationSet; got list"):
        train(tiny(), [membranes.images], out_dir=tmp_path)
    with pytest.raises(ValueError, match="`train_set` must hold 3-D images"):
        train(tiny(ndim=3), membranes, out_dir=tmp_path)
    with pytest.raises(ValueError, match="`max_epochs` must be >= 1; got 0"):
        train(tiny(), membranes, out_dir=tmp_path, max_epochs=0)
    assert not any(tmp_path.iterdir())


def test_corrupt_checkpoints_are_clear_errors(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="cannot read checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="is not a dmtloss checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "none.pt")


def test_atomic_write_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "last.pt"
    train_module._atomic_write(target, lambda f: f.write(b"old"))

    def fail(f):
        f.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        train_module._atomic_write(target, fail)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


# ----------------------------------------------------------------------------------
# prediction and evaluation
# ----------------------------------------------------------------------------------

def _pointwise(ndim, weight=1.0, bias=0.0):
    conv = (torch.nn.Conv2d, torch.nn.Conv3d)[ndim - 2](1, 1, 1)
    with torch.no_grad():
        conv.weight.fill_(weight)
        conv.bias.fill_(bias)
    return conv


@pytest.mark.parametrize("shape, tile, overlap", [((23, 37), 8, 0.0), ((23, 37), (10, 16), 0.5),
                                                   ((9, 11, 13), 4, 0.25), ((9, 11, 13), 20, 0.25)])
def test_tiled_prediction_blends_exactly(shape, tile, overlap):
    # a pointwise network gives the same likelihood whatever the tiling
    image = np.random.default_rng(0).random(shape)
    model = _pointwise(len(shape), weight=3.0, bias=-1.0)
    got = predict(model, image, tile=tile, overlap=overlap, batch_size=3)
    expected = 1 / (1 + np.exp(-(3.0 * image.astype(np.float32).astype(np.float64) - 1.0)))
    assert got.shape == shape and got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


def test_prediction_takes_the_sigmoid_in_float64():
    model = _pointwise(2, weight=0.0, bias=20.0)  # float32 sigmoid(20) is exactly 1.0
    got = predict(model, np.zeros((4, 4)))
    assert torch.sigmoid(torch.tensor(20.0)).item() == 1.0
    assert np.all(got < 1) and got[0, 0] == pytest.approx(1 / (1 + np.exp(-20.0)), rel=1e-12)


def test_prediction_keeps_the_model_mode_and_needs_no_grad():
    torch.manual_seed(0)
    net = UNet(width=2, depth=2)
    image = np.random.default_rng(1).random((12, 17)).astype(np.float32)
    before = [p.clone() for p in net.parameters()]
    stats = net.down[0][1].running_mean.clone()
    got = predict(net, image, tile=8)
    assert net.training and torch.equal(stats, net.down[0][1].running_mean)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))
    net.eval()
    np.testing.assert_array_equal(predict(net, torch.from_numpy(image), tile=8), got)
    assert not net.training


def test_predict_errors():
    net = UNet(width=2, depth=2)
    with pytest.raises(ValueError, match=r"`image` must have shape \(M, N\) for this model; got shape \(2, 3, 4"):
        predict(net, np.zeros((2, 3, 4, 5)))
    with pytest.raises(TypeError, match="`image` must be an ndarray or a torch.Tensor; got list"):
        predict(net, [[0.0]])
    with pytest.raises(ValueError, match="`image` must be finite"):
        predict(net, np.full((4, 4), np.nan))
    with pytest.raises(ValueError, match="`overlap` must be a finite number >= 0 and < 1"):
        predict(net, np.zeros((4, 4)), tile=2, overlap=1)
    with pytest.raises(TypeError, match="`model` must be a torch.nn.Module"):
        predict(None, np.zeros((4, 4)))


def test_evaluate_a_perfect_model(squares):
    summary = evaluate(_pointwise(2, weight=100.0, bias=-50.0), squares, tile=16, n_patches=5)
    assert summary["dice"] == (1.0, 0.0) and summary["betti0"] == (0.0, 0.0) and summary["are"][0] == 0.0
    with pytest.raises(TypeError, match="`dataset` must be a SegmentationSet"):
        evaluate(_pointwise(2), squares.images)


# ----------------------------------------------------------------------------------
# two processes
# ----------------------------------------------------------------------------------

def test_two_process_ddp_run(tmp_path):
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        import ddp_worker
    finally:
        sys.path.remove(str(ROOT / "tests"))
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, PYTHONPATH=path)
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               str(ROOT / "tests" / "ddp_worker.py"), str(tmp_path)]
    # a session of its own, so that a hung run is ended with its worker processes
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    assert process.returncode == 0, stdout[-3000:] + stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    assert ranks[0]["world_size"] == 2
    _assert_same_state(ranks[0]["model"], ranks[1]["model"])  # parameters and batch-norm buffers alike
    assert _without_times(ranks[0]["history"]) == _without_times(ranks[1]["history"])
    model, config, state = load_checkpoint(tmp_path / "run" / "last.pt")
    _assert_same_state(model.state_dict(), ranks[0]["model"])
    assert state["world_size"] == 2 and state["step"] == config.steps and "val_dice" in state["history"][-1]
    # two processes of batch 1 see the patches of one process of batch 2: same run up to rounding
    single = train(ddp_worker.config(batch_size=2), ddp_worker.dataset(), out_dir=tmp_path / "single",
                   progress=False)
    for key, value in single.model.state_dict().items():
        torch.testing.assert_close(ranks[0]["model"][key], value, rtol=0, atol=1e-4)
