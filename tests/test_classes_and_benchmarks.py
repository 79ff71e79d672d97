"""The both-class DMT mask, 3-channel data sets, the TopoMortar loader, the CE + Dice
baseline and the TopoMortar metrics (whole-image Betti errors, HD95)."""

import re

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage

from dmtloss import fast, metrics, reference
from dmtloss.baselines import dice_ce_loss
from dmtloss.data import PatchDataset, SegmentationSet, load_topomortar
from dmtloss.loss import DMTLoss, dmt_loss, dmt_mask
from dmtloss.models import UNet
from dmtloss.train import TrainConfig, predict, train
from helpers import topomortar_folder


# -- classes="both" -----------------------------------------------------------------------

def _wall_with_a_dip(dip=0.3):
    """Two cells (0) either side of a thick wall (1) with a dip inside it: a spurious hole."""
    f = np.zeros((7, 9))
    f[:, 2:7] = 1.0
    f[3, 4] = dip
    return f


def test_a_dip_inside_a_wall_is_on_the_both_class_mask_only():
    f = _wall_with_a_dip()
    x = torch.tensor(f).reshape(1, 1, *f.shape)
    paper = dmt_mask(x, 0.1, from_logits=False)[0, 0].numpy()
    both = dmt_mask(x, 0.1, from_logits=False, classes="both")[0, 0].numpy()
    assert not paper[3, 4], "the dip is on no ridge of f: the paper's mask never pushes it up"
    assert paper[3, 3] and paper[3, 5], "the loop around the dip is on it (true wall already)"
    assert both[3, 4], "1 - f has a ridge through the dip, from the dip to a cell"
    # the union, exactly: f's structures or those of 1 - f
    background = fast.morse_structures(1.0 - f, 0.1).mask()
    assert np.array_equal(both, paper | background)
    # a dip shallower than epsilon is pruned on both maps
    shallow = torch.tensor(_wall_with_a_dip(0.95)).reshape(1, 1, 7, 9)
    assert not dmt_mask(shallow, 0.1, from_logits=False, classes="both")[0, 0, 3, 4]


@pytest.mark.parametrize("shape, structures", [((2, 2, 13, 11), None), ((1, 1, 6, 7, 5), None),
                                               ((2, 1, 9, 8), "ridges")])
def test_both_is_the_union_of_the_two_classes_on_both_engines(shape, structures):
    torch.manual_seed(3)
    logits = 3 * torch.randn(shape, dtype=torch.float64)
    target = torch.rand(shape) > 0.5
    fast_loss = DMTLoss(epsilon=0.1, structures=structures, classes="both")
    ref_loss = DMTLoss(epsilon=0.1, structures=structures, classes="both", engine="reference")
    a, b = fast_loss(logits, target), ref_loss(logits, target)
    assert torch.equal(fast_loss.last_mask, ref_loss.last_mask) and a.item() == b.item()
    f = torch.sigmoid(logits).numpy()
    for n in range(shape[0]):
        for c in range(shape[1]):
            fg, bg = fast_loss.last_structures[n][c]
            expected = (fast.morse_structures(f[n, c], 0.1).mask(structures)
                        | fast.morse_structures(1.0 - f[n, c], 0.1).mask(structures))
            assert np.array_equal(fast_loss.last_mask[n, c].numpy(), expected)
            assert np.array_equal(fg.mask(structures) | bg.mask(structures), expected)
            assert fast_loss.last_counts["mask"][n, c] == expected.sum()
    # the mask grows, the loss with it; the paper's default is unchanged
    paper = DMTLoss(epsilon=0.1, structures=structures)
    paper(logits, target)
    assert bool((paper.last_mask <= fast_loss.last_mask).all())
    assert paper.classes == "foreground" and "classes='both'" in repr(fast_loss)


def test_both_with_the_rim_keeps_the_frame_a_wall_of_f():
    f = _wall_with_a_dip()
    x = torch.tensor(f).reshape(1, 1, *f.shape)
    mask = dmt_mask(x, 0.1, from_logits=False, rim=True, classes="both")[0, 0].numpy()
    padded = np.pad(f, 1, constant_values=1.0)
    expected = (fast.morse_structures(padded, 0.1).mask() | fast.morse_structures(1 - padded, 0.1).mask())
    assert np.array_equal(mask, expected[1:-1, 1:-1])


def test_classes_option_is_checked_where_it_enters():
    with pytest.raises(ValueError, match=re.escape("`classes` must be one of ('foreground', 'both'); got 'all'")):
        DMTLoss(classes="all")
    with pytest.raises(TypeError, match="`classes` must be a string"):
        dmt_loss(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4), classes=2)
    with pytest.raises(ValueError, match="`classes`"):
        TrainConfig(classes="background")
    assert TrainConfig(classes="both").to_dict()["classes"] == "both"
    assert TrainConfig.from_dict({}).classes == "foreground"  # checkpoints from before the option


def test_both_classes_in_training_and_per_epoch_masks(tmp_path):
    from dmtloss.train import LOSSES, _epoch_masks

    image = np.zeros((24, 24), np.float32)
    image[::6] = 1
    data = SegmentationSet([image, image.T.copy()], [image > 0.5, image.T > 0.5], ["a", "b"], "background", "t")
    config = TrainConfig(width=2, depth=2, patch_size=16, batch_size=2, steps=2, steps_per_epoch=1,
                         loss="dmt", classes="both", structures_every="epoch", epsilon=0.0, device="cpu")
    assert LOSSES["dmt"](config).classes == "both"
    result = train(config, data, out_dir=tmp_path, progress=False)
    assert [row["epoch"] for row in result.history] == [1, 2]
    # the epoch masks are the both-class masks of the whole images' likelihoods
    masks = _epoch_masks(result.model, data, config)
    for k, im in enumerate(data.images):
        likelihood = torch.from_numpy(predict(result.model, im))[None, None]
        expected = dmt_mask(likelihood, 0.0, from_logits=False, classes="both")[0, 0].numpy()
        assert np.array_equal(masks[k], expected)


# -- CE + Dice ----------------------------------------------------------------------------

def test_dice_ce_is_bce_plus_one_minus_the_soft_dice():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 5, 6, dtype=torch.float64)
    target = (torch.rand(2, 3, 5, 6) > 0.5).double()
    p = torch.sigmoid(logits)
    dice = [(2 * (p[n, c] * target[n, c]).sum() + 1e-5) / (p[n, c].sum() + target[n, c].sum() + 1e-5)
            for n in range(2) for c in range(3)]
    expected = torch.nn.functional.binary_cross_entropy(p, target) + 2.0 * (1 - torch.stack(dice)).mean()
    assert torch.allclose(dice_ce_loss(logits, target, beta=2.0), expected, rtol=1e-12, atol=0)
    logits.requires_grad_(True)
    dice_ce_loss(logits, target).backward()
    assert torch.isfinite(logits.grad).all()
    with pytest.raises(ValueError, match="`smooth` must be a positive number"):
        dice_ce_loss(logits, target, smooth=0)
    with pytest.raises(ValueError, match="`target` must hold only 0 and 1"):
        dice_ce_loss(logits, target * 2)


# -- 3-channel sets -----------------------------------------------------------------------

def _rgb_set(n=2, shape=(12, 10), seed=0):
    rng = np.random.default_rng(seed)
    images = [rng.random((3, *shape), dtype=np.float32) for _ in range(n)]
    targets = [im[0] > 0.5 for im in images]
    return SegmentationSet(images, targets, [str(i) for i in range(n)], "background", "rgb", channels=3)


def test_a_colour_set_keeps_its_channels_first():
    data = _rgb_set()
    assert data.channels == 3 and data.ndim == 2 and data.spatial_shape(1) == (12, 10)
    assert data.subset([1]).channels == 3
    with pytest.raises(ValueError, match=r"must have shape \(3, \*spatial\)"):
        SegmentationSet([np.zeros((2, 4, 4), np.float32)], [np.zeros((4, 4), bool)], ["a"], "background", "x",
                        channels=3)
    with pytest.raises(ValueError, match="spatial shape"):
        SegmentationSet([np.zeros((3, 4, 4), np.float32)], [np.zeros((4, 5), bool)], ["a"], "background", "x",
                        channels=3)
    with pytest.raises(TypeError, match="`channels` must be an int"):
        SegmentationSet([], [], [], "background", "x", channels=True)
    with pytest.raises(ValueError, match=r"`channels` must be in \[1, 64\]"):
        SegmentationSet([], [], [], "background", "x", channels=0)


def test_colour_patches_are_cut_and_turned_as_their_targets():
    data = _rgb_set(shape=(6, 5))  # smaller than the patches: reflect-padded
    patches = PatchDataset(data, 8, length=12, seed=2)
    for item in range(12):
        got = patches[item]
        assert got["image"].shape == (3, 8, 8) and got["target"].shape == (1, 8, 8)
        where = patches.location(item)
        for k in range(3):  # each colour plane is the patch of that plane, cut the same way
            plane = SegmentationSet([data.images[where.index][k]], [data.targets[where.index]], ["p"],
                                    "background", "plane")
            one = PatchDataset(plane, 8, length=12, seed=2)
            assert np.array_equal(one.crop(plane.images[0], (0, where.corner, where.op)), got["image"][k].numpy())
        assert np.array_equal(patches.crop(data.targets[where.index], where), got["target"][0].numpy() > 0.5)


def test_training_on_colour_builds_a_three_channel_network(tmp_path):
    data = _rgb_set(n=2, shape=(16, 16))
    config = TrainConfig(width=2, depth=2, patch_size=8, batch_size=2, steps=2, steps_per_epoch=1, device="cpu")
    result = train(config, data, data, out_dir=tmp_path, progress=False)
    assert result.model.in_channels == 3
    assert predict(result.model, data.images[0]).shape == (16, 16)
    from dmtloss.train import load_checkpoint

    loaded = load_checkpoint(result.checkpoint)[0]  # the checkpoint's checks take its channels
    assert loaded.in_channels == 3
    assert np.array_equal(predict(loaded, data.images[1]), predict(result.model, data.images[1]))
    grey = SegmentationSet([im[0] for im in data.images], list(data.targets), data.names, "background", "g")
    with pytest.raises(ValueError, match="`val_set` must have the channels of `train_set`"):
        train(config, data, grey, out_dir=tmp_path / "b", progress=False)


# -- the TopoMortar loader ----------------------------------------------------------------

def test_topomortar_layout_is_read_as_rgb_or_luma(tmp_path):
    root = topomortar_folder(tmp_path)
    data = load_topomortar(root, "val")
    assert data.names == ("val00", "val01") and data.channels == 3 and data.regions == "background"
    image, mortar = data[0]
    assert image.shape == (3, 20, 20) and image.dtype == np.float32
    assert np.array_equal(image[:, 0, 0], np.float32([128, 128, 128]) / np.float32(255))
    assert np.array_equal(mortar, np.asarray(Image.open(root / "val/labels/val00.png")) == 255)
    assert metrics.betti_numbers(mortar)[0] == 1
    # a split's own folder (a held-out test folder) by path
    assert load_topomortar(root / "val").names == data.names
    grey = load_topomortar(root, "val", colour="luma")
    assert grey.channels == 1 and grey[0][0].shape == (20, 20)
    assert np.isclose(grey[0][0][1, 1], (0.299 * 180 + 0.587 * 40 + 0.114 * 30) / 255, atol=1e-6)


def test_topomortar_errors_name_what_is_wrong(tmp_path):
    root = topomortar_folder(tmp_path)
    with pytest.raises(ValueError, match="`split` must be one of"):
        load_topomortar(root, "validation")
    with pytest.raises(FileNotFoundError, match="TopoMortar split folder"):
        load_topomortar(root, "train")
    (root / "val" / "labels" / "val01.png").unlink()
    with pytest.raises(ValueError, match=r"images without a mask: \['val01'\]"):
        load_topomortar(root, "val")
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(root / "val" / "labels" / "val01.png")
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(root / "val" / "images" / "val01.png")
    with pytest.raises(ValueError, match="is not a colour image; expected RGB"):
        load_topomortar(root, "val")


# -- whole-image Betti errors and HD95 ----------------------------------------------------

def test_image_betti_error_counts_every_component_and_hole_once():
    truth = np.zeros((30, 30), bool)
    truth[::6] = truth[:, ::6] = True  # a grid of mortar: one component, 16 whole bricks
    assert metrics.betti_numbers(truth).tolist() == [1, 16]
    broken = truth.copy()
    broken[6, 1:6] = False  # two bricks merged: one hole fewer
    speck = truth.copy()
    speck[9, 9] = True  # mortar inside a brick: one component more
    assert metrics.image_betti_error(truth, truth).tolist() == [0, 0]
    assert metrics.image_betti_error(broken, truth).tolist() == [0, 1]
    assert metrics.image_betti_error(speck, truth).tolist() == [1, 0]
    rows = metrics.image_metrics([broken, speck], [truth, truth], n_patches=4)
    assert [(r["image_betti0"], r["image_betti1"]) for r in rows] == [(0.0, 1.0), (1.0, 0.0)]
    volume = np.zeros((5, 5, 5), bool)
    volume[1:4, 1:4, 1:4] = True
    hollow = volume.copy()
    hollow[2, 2, 2] = False
    assert metrics.image_betti_error(hollow, volume).tolist() == [0, 0, 1]


def _hd_brute(a, b, q):
    def surface(m):
        inner = ndimage.binary_erosion(m, ndimage.generate_binary_structure(m.ndim, 1), border_value=0)
        return np.argwhere(m & ~inner)
    sa, sb = surface(a), surface(b)
    d = np.sqrt(((sa[:, None, :] - sb[None, :, :]) ** 2).sum(-1))
    return max(np.percentile(d.min(axis=1), q), np.percentile(d.min(axis=0), q))


@pytest.mark.parametrize("seed", range(6))
def test_hausdorff_distance_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    shape = (9, 11) if seed % 2 else (5, 6, 4)
    a, b = rng.random(shape) > 0.6, rng.random(shape) > 0.5
    for q in (95, 100, 50):
        assert metrics.hausdorff_distance(a, b, percentile=q) == pytest.approx(_hd_brute(a, b, q), abs=1e-12)


def test_hausdorff_distance_of_empty_masks_and_bad_percentiles():
    empty, full = np.zeros((4, 5), bool), np.ones((4, 5), bool)
    assert metrics.hausdorff_distance(empty, empty) == 0.0
    assert metrics.hausdorff_distance(empty, full) == metrics.hausdorff_distance(full, empty) == 5.0
    with pytest.raises(ValueError, match=r"`percentile` must be in \(0, 100\]"):
        metrics.hausdorff_distance(full, full, percentile=0)
    with pytest.raises(TypeError, match="`percentile` must be a number"):
        metrics.hausdorff_distance(full, full, percentile="95")


# -- the other connectivity, against GUDHI's top-dimensional cells ------------------------

def _gudhi_betti(image):
    import gudhi

    cc = gudhi.CubicalComplex(top_dimensional_cells=1.0 - image.astype(float))
    cc.compute_persistence()
    return cc.persistent_betti_numbers(np.inf, -np.inf)[:image.ndim]


@pytest.mark.parametrize("seed", range(12))
def test_full_connectivity_betti_numbers_are_gudhis_top_cells(seed):
    rng = np.random.default_rng(seed)
    shape = [(7, 9), (12, 5), (4, 5, 6), (6, 6, 3)][seed % 4]
    image = rng.random(shape) < [0.3, 0.5, 0.7][seed % 3]
    assert metrics.betti_numbers(image, connectivity=image.ndim).tolist() == list(_gudhi_betti(image))


def test_connectivity_is_checked_and_a_diagonal_line_is_one_component():
    line = np.eye(6, dtype=bool)
    assert metrics.betti_numbers(line).tolist() == [6, 0]
    assert metrics.betti_numbers(line, connectivity=2).tolist() == [1, 0]
    assert metrics.image_betti_error(line, np.zeros((6, 6), bool), connectivity=2).tolist() == [1, 0]
    with pytest.raises(ValueError, match="`connectivity` must be 1"):
        metrics.betti_numbers(line, connectivity=3)
    with pytest.raises(TypeError, match="`connectivity` must be an int"):
        metrics.betti_numbers(line, connectivity=True)


# -- an interrupted comparison is taken up from its checkpoints ----------------------------

def test_compare_losses_resumes_an_interrupted_seed_exactly(tmp_path):
    from dmtloss.data import synthetic_membranes
    from dmtloss.study import compare_losses

    data = synthetic_membranes(2, (24, 24), seed=1)
    base = dict(width=2, depth=2, patch_size=16, batch_size=2, device="cpu")
    pretrain = TrainConfig(**base, steps=4, steps_per_epoch=2)
    arms = {"bce": TrainConfig(**base, steps=4, steps_per_epoch=2, lr_schedule="linear"),
            "dmt": TrainConfig(**base, steps=4, steps_per_epoch=2, loss="dmt", lr_schedule="linear")}
    whole = compare_losses(data, data, pretrain, arms, out_dir=tmp_path / "whole", progress=False)
    # an interruption: the pretraining finished, "bce" after its first epoch, "dmt" not started
    cut = tmp_path / "cut"
    compare_losses(data, data, pretrain, {"bce": arms["bce"]}, out_dir=cut, progress=False)
    train(arms["bce"], data, out_dir=cut / "bce", init=cut / "pretrain" / "last.pt", overwrite=True,
          max_epochs=1, progress=False)
    before = (cut / "pretrain" / "last.pt").stat().st_mtime_ns
    lines = []
    again = compare_losses(data, data, pretrain, arms, out_dir=cut, progress=False, resume=True, log=lines.append)
    assert (cut / "pretrain" / "last.pt").stat().st_mtime_ns == before, "the pretraining is not trained again"
    assert any("'bce': resuming at step 2 of 4" in line for line in lines)
    assert again.rows == whole.rows
    for arm in arms:
        a = torch.load(whole.checkpoints[arm], weights_only=True)["model"]
        b = torch.load(again.checkpoints[arm], weights_only=True)["model"]
        assert all(torch.equal(a[k], b[k]) for k in a)
    # without resume (the default) every run is trained again from scratch
    lines.clear()
    compare_losses(data, data, pretrain, {"bce": arms["bce"]}, out_dir=cut, progress=False, log=lines.append)
    assert (cut / "pretrain" / "last.pt").stat().st_mtime_ns != before and not any("resum" in x for x in lines)
