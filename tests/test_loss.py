"""DMTLoss and dmt_loss: hand computations, gradients, masks, engines, training, validation."""

import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import dmtloss
from dmtloss import fast, reference
from dmtloss.loss import DMTLoss, dmt_loss, dmt_mask

# --- tiny cases whose masks are checked by hand ------------------------------------

# 2-D: a 3 x 4 map; at epsilon 0.2 its ridges climb from the saddles to the two maxima
# (the pairs are 0.881-0.269 twice and 0.731-0.5, all above 0.2).
LOGITS_2D = [[2.0, -1, 3, 0], [1, -2, 2, -1], [0, 1, -3, 2]]
TARGET_2D = [[1, 0, 1, 0], [1, 0, 1, 1], [0, 1, 0, 1]]
MASK_2D = [[1, 1, 1, 0], [1, 0, 1, 1], [1, 1, 0, 1]]
# a constant map has a single essential class and an empty mask
CONSTANT_2D = [[0.5] * 4] * 3
TARGET_CONSTANT_2D = [[1, 1, 0, 0]] * 3

# 3-D: a closed shell (logit 3) around one voxel (logit -3) in a 5^3 box (logit -3):
# no ridge, and the basin boundaries are exactly the shell (docs/spec.md, section 6).
SHELL = np.full((5, 5, 5), -3.0)
SHELL[1:4, 1:4, 1:4] = 3.0
SHELL[2, 2, 2] = -3.0
SHELL_MASK = SHELL > 0
SHELL_TARGET = np.zeros((5, 5, 5))
SHELL_TARGET[1:4, 1:4, 1:4] = 1  # the target fills the void: the masked pixels all agree


def _bce(x, y):
    # log(1 + e^-x) for y = 1, log(1 + e^x) for y = 0
    return math.log1p(math.exp(-x)) if y == 1 else math.log1p(math.exp(x))


def _hand(images, targets, masks, beta, normalize):
    """Per-image losses written out with the math module, pixel by pixel."""
    losses = []
    for x, y, m in zip(images, targets, masks):
        x, y, m = (np.asarray(a, dtype=float).ravel().tolist() for a in (x, y, m))
        terms = [_bce(xi, yi) for xi, yi in zip(x, y)]
        masked = sum(t for t, mi in zip(terms, m) if mi)
        count = sum(1 for mi in m if mi)
        norm = len(terms) if normalize == "pixels" else count
        losses.append(sum(terms) / len(terms) + beta * (masked / norm if norm else 0.0))
    return losses


def _reduce(losses, reduction):
    if reduction == "mean":
        return sum(losses) / len(losses)
    if reduction == "sum":
        return sum(losses)
    return losses


@pytest.mark.parametrize("normalize", ["pixels", "mask"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_2d_equals_hand_computation(normalize, reduction):
    logits = torch.tensor([LOGITS_2D, CONSTANT_2D], dtype=torch.float64).unsqueeze(1)
    target = torch.tensor([TARGET_2D, TARGET_CONSTANT_2D]).unsqueeze(1)
    loss = DMTLoss(epsilon=0.2, beta=3.0, normalize=normalize, reduction=reduction)
    got = loss(logits, target)
    masks = [MASK_2D, np.zeros((3, 4))]
    expected = _reduce(_hand([LOGITS_2D, CONSTANT_2D], [TARGET_2D, TARGET_CONSTANT_2D], masks, 3.0, normalize),
                       reduction)
    if reduction == "none":
        assert got.shape == (2, 1)
        assert got[:, 0].tolist() == pytest.approx(expected, rel=1e-12)
    else:
        assert got.shape == ()
        assert got.item() == pytest.approx(expected, rel=1e-12)
    assert loss.last_mask.dtype == torch.bool
    assert loss.last_mask[:, 0].int().tolist() == [MASK_2D, np.zeros((3, 4), int).tolist()]
    assert loss.last_counts["mask"].tolist() == [[9], [0]]
    assert loss.last_counts["ridges"].tolist() == [[9], [0]]
    assert loss.last_counts["pairs"].tolist() == [[3], [0]]


@pytest.mark.parametrize("normalize", ["pixels", "mask"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_3d_equals_hand_computation(normalize, reduction):
    # two volumes: the shell, and the shell with its target flipped (every pixel wrong)
    images = [SHELL, SHELL]
    targets = [SHELL_TARGET, 1 - SHELL_TARGET]
    logits = torch.tensor(np.stack(images)[:, None], dtype=torch.float32)
    target = torch.tensor(np.stack(targets)[:, None], dtype=torch.bool)
    got = dmt_loss(logits, target, epsilon=0.5, beta=2.0, normalize=normalize, reduction=reduction)
    expected = _reduce(_hand(images, targets, [SHELL_MASK, SHELL_MASK], 2.0, normalize), reduction)
    assert got.dtype == torch.float32
    if reduction == "none":
        assert got.shape == (2, 1)
        assert got[:, 0].tolist() == pytest.approx(expected, rel=1e-6)
    else:
        assert got.item() == pytest.approx(expected, rel=1e-6)
    loss = DMTLoss(epsilon=0.5)
    loss(logits, target)
    assert torch.equal(loss.last_mask[:, 0], torch.tensor(np.stack([SHELL_MASK] * 2)))
    assert loss.last_counts["ridges"].tolist() == [[0], [0]]
    assert loss.last_counts["boundaries"].tolist() == [[26], [26]]


def test_normalisations_differ_by_the_mask_fraction():
    torch.manual_seed(0)
    logits = torch.randn(3, 1, 9, 7, dtype=torch.float64)
    target = torch.rand(3, 1, 9, 7) > 0.5
    per_pixel = dmt_loss(logits, target, beta=1.0, reduction="none")
    per_mask = dmt_loss(logits, target, beta=1.0, reduction="none", normalize="mask")
    plain = dmt_loss(logits, target, beta=0.0, reduction="none")
    fraction = dmt_mask(logits).flatten(2).double().mean(dim=2)
    assert torch.all(fraction > 0)
    torch.testing.assert_close(per_pixel - plain, (per_mask - plain) * fraction, rtol=1e-12, atol=1e-14)


# --- plain BCE ----------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(2, 1, 6, 9), (2, 3, 5, 4), (1, 1, 3, 4, 5)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_beta_zero_is_torch_bce(shape, dtype):
    torch.manual_seed(1)
    logits = 3 * torch.randn(shape, dtype=dtype)
    target = (torch.rand(shape) > 0.4).to(dtype)
    got = dmt_loss(logits, target, beta=0)
    torch.testing.assert_close(got, torch.nn.BCEWithLogitsLoss()(logits, target))
    probs = torch.sigmoid(logits)
    got = dmt_loss(probs, target, beta=0, from_logits=False)
    torch.testing.assert_close(got, F.binary_cross_entropy(probs, target))
    none = dmt_loss(logits, target, beta=0, reduction="none")
    expected = F.binary_cross_entropy_with_logits(logits, target, reduction="none").flatten(2).mean(2)
    assert none.shape == shape[:2]
    torch.testing.assert_close(none, expected)
    torch.testing.assert_close(dmt_loss(logits, target, beta=0, reduction="sum"), expected.sum())


def test_empty_mask_and_constant_predictions_give_plain_bce():
    for fill in (-50.0, 0.0, 50.0):  # saturated both ways and undecided
        logits = torch.full((2, 1, 6, 5), fill, requires_grad=True)
        target = torch.zeros(2, 1, 6, 5)
        target[0, 0, 2:4] = 1
        for normalize in ("pixels", "mask"):
            loss = DMTLoss(normalize=normalize)
            value = loss(logits, target)
            assert loss.last_counts["mask"].tolist() == [[0], [0]]
            torch.testing.assert_close(value, F.binary_cross_entropy_with_logits(logits, target))
            (grad,) = torch.autograd.grad(value, logits)
            assert torch.isfinite(value) and torch.isfinite(grad).all()
    probs = torch.tensor([[[[0.0, 1.0], [1.0, 0.0]]]], requires_grad=True)  # clamped logs: finite
    value = dmt_loss(probs, torch.tensor([[[[1.0, 0.0], [1.0, 0.0]]]]), from_logits=False, normalize="mask")
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(probs.grad).all()


# --- gradients ---------------------------------------------------------------------

def test_dmt_term_gradient_is_zero_off_the_mask():
    torch.manual_seed(2)
    logits = torch.randn(2, 2, 12, 10, dtype=torch.float64, requires_grad=True)
    target = torch.rand(2, 2, 12, 10) > 0.5
    loss = DMTLoss(beta=3.0)
    (with_dmt,) = torch.autograd.grad(loss(logits, target), logits)
    mask = loss.last_mask
    (plain,) = torch.autograd.grad(dmt_loss(logits, target, beta=0), logits)
    dmt = with_dmt - plain
    assert 0 < mask.sum() < mask.numel()
    assert torch.all(dmt[~mask] == 0)
    # on the mask: beta times the BCE gradient (sigmoid(x) - y) / (N C P)
    expected = 3.0 * (torch.sigmoid(logits.detach()) - target.double()) / logits[0, 0].numel() / 4
    torch.testing.assert_close(dmt[mask], expected[mask], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("normalize", ["pixels", "mask"])
@pytest.mark.parametrize("from_logits", [True, False])
def test_gradcheck(normalize, from_logits):
    torch.manual_seed(3)
    logits = torch.randn(2, 1, 5, 6, dtype=torch.float64)
    x = logits if from_logits else torch.sigmoid(logits)
    x.requires_grad_(True)
    target = torch.rand(2, 1, 5, 6) > 0.5
    mask = dmt_mask(x.detach(), from_logits=from_logits)
    assert mask.any()

    def fixed(x):
        return dmt_loss(x, target, from_logits=from_logits, normalize=normalize, mask=mask)

    assert torch.autograd.gradcheck(fixed, (x,))

    def recomputed(x):  # the mask is piecewise constant: the same away from ties
        return dmt_loss(x, target, from_logits=from_logits, normalize=normalize, reduction="none")

    assert torch.autograd.gradcheck(recomputed, (x,))


# --- masks ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape, structures", [
    ((3, 2, 17, 11), None),
    ((2, 1, 6, 7, 5), None),
    ((2, 1, 6, 7, 5), "ridges"),
    ((2, 1, 13, 9), ("ridges", "boundaries")),
])
def test_mask_is_the_engine_mask_of_the_float64_sigmoid(shape, structures):
    torch.manual_seed(4)
    logits = 4 * torch.randn(shape)  # float32 logits
    loss = DMTLoss(epsilon=0.15, structures=structures, workers=2)
    loss(logits, torch.zeros(shape))
    likelihood = 1 / (1 + np.exp(-logits.double().numpy()))
    for n in range(shape[0]):
        for c in range(shape[1]):
            expected = fast.morse_structures(likelihood[n, c], 0.15).mask(structures)
            assert np.array_equal(loss.last_mask[n, c].numpy(), expected)
            assert loss.last_structures[n][c].epsilon == 0.15


def test_saturated_logits_are_not_ties():
    # float32's sigmoid rounds every logit above ~17 to exactly 1.0; float64 keeps them apart
    logits = torch.tensor([[20.0, 30.0, 20.0], [30.0, 21.0, 25.0], [22.0, 30.0, 23.0]]).reshape(1, 1, 3, 3)
    assert torch.sigmoid(logits).unique().tolist() == [1.0]
    mask = dmt_mask(logits, epsilon=0.0)[0, 0].numpy()
    expected = fast.morse_structures(1 / (1 + np.exp(-logits[0, 0].double().numpy())), 0.0).mask()
    tied = fast.morse_structures(torch.sigmoid(logits[0, 0]).double().numpy(), 0.0).mask()
    assert np.array_equal(mask, expected)
    assert not np.array_equal(expected, tied)


def test_reference_engine_gives_the_same_loss():
    torch.manual_seed(5)
    for shape in [(2, 1, 7, 9), (1, 1, 4, 5, 4)]:
        logits = 3 * torch.randn(shape, dtype=torch.float64)
        target = torch.rand(shape) > 0.5
        fast_loss, ref_loss = DMTLoss(engine="fast"), DMTLoss(engine="reference")
        a, b = fast_loss(logits, target), ref_loss(logits, target)
        assert torch.equal(fast_loss.last_mask, ref_loss.last_mask)
        assert a.item() == b.item()


def test_sheets_with_the_reference_engine():
    logits = torch.tensor(SHELL[None, None])
    mask = dmt_mask(logits, epsilon=0.5, structures="sheets", engine="reference")
    assert torch.equal(mask[0, 0], torch.tensor(SHELL_MASK))


def test_rim_closes_the_walls_that_meet_the_frame():
    # a wall across the map: a weak stub (0.6) at the left border, a gap (0.5), strong wall (0.9)
    f = np.zeros((7, 9))
    f[3, :] = 0.9
    f[3, 0:2] = 0.6
    f[3, 2] = 0.5
    x = torch.tensor(f).reshape(1, 1, 7, 9)
    # without the rim the stub dies at the gap with persistence 0.1 <= epsilon: no ridge
    assert not dmt_mask(x, 0.2, from_logits=False).any()
    assert not dmt_mask(x, 0.2, from_logits=False, frame=True).any(), "frame: boundaries only"
    # with it, the gap closes a loop with the rim (persistence 0.5): the whole wall is a ridge
    mask = dmt_mask(x, 0.2, from_logits=False, rim=True)[0, 0].numpy()
    assert mask[3].all() and mask.sum() == 9
    # the mask is the padded map's, cropped; the structures are the padded map's
    padded = fast.morse_structures(np.pad(f, 1, constant_values=1.0), 0.2)
    assert np.array_equal(mask, padded.mask()[1:-1, 1:-1])
    loss = DMTLoss(epsilon=0.2, from_logits=False, rim=True)
    loss(x, (x > 0.4).double())
    assert loss.last_structures[0][0].ridges.shape == (9, 11)
    assert loss.last_counts["ridges"].tolist() == [[9]] and loss.last_counts["mask"].tolist() == [[9]]
    assert "rim=True" in repr(loss)
    # in 3-D too
    volume = torch.tensor(np.stack([f] * 3)).reshape(1, 1, 3, 7, 9)
    assert dmt_mask(volume, 0.2, from_logits=False, rim=True).shape == volume.shape


def test_precomputed_mask_skips_the_engine():
    torch.manual_seed(6)
    logits = torch.randn(2, 1, 8, 8)
    target = torch.rand(2, 1, 8, 8) > 0.5
    mask = dmt_mask(logits)
    loss = DMTLoss()
    a = loss(logits, target)
    b = loss(logits, target, mask=mask)
    assert a.item() == b.item() and loss.last_counts is None and torch.equal(loss.last_mask, mask)
    other = dmt_loss(logits, target, mask=torch.ones_like(mask))
    assert other.item() != a.item()


def test_input_is_not_modified_and_mask_is_detached():
    logits = torch.randn(1, 1, 6, 6, requires_grad=True)
    before = logits.detach().clone()
    loss = DMTLoss()
    loss(logits, torch.ones(1, 1, 6, 6)).backward()
    assert torch.equal(logits.detach(), before)
    assert not loss.last_mask.requires_grad and loss.last_mask.device == logits.device


# --- in training ---------------------------------------------------------------------

@pytest.mark.parametrize("spatial", [(16, 12), (6, 8, 7)])
def test_two_steps_of_a_toy_network(spatial):
    torch.manual_seed(7)
    conv = torch.nn.Conv2d if len(spatial) == 2 else torch.nn.Conv3d
    net = torch.nn.Sequential(conv(1, 4, 3, padding=1), torch.nn.ReLU(), conv(4, 1, 3, padding=1))
    image = torch.rand(4, 1, *spatial)
    target = image > 0.5
    loss_fn = DMTLoss(epsilon=0.001, beta=3.0)  # an untrained net is flat
    optimiser = torch.optim.SGD(net.parameters(), lr=0.5)
    before = [p.detach().clone() for p in net.parameters()]
    values = []
    for _ in range(3):
        optimiser.zero_grad()
        loss = loss_fn(net(image), target)
        loss.backward()
        assert all(torch.isfinite(p.grad).all() for p in net.parameters())
        optimiser.step()
        values.append(loss.item())
    assert all(math.isfinite(v) for v in values)
    assert values[-1] < values[0]
    assert loss_fn.last_counts["mask"].sum() > 0
    assert all(not torch.equal(a, b) for a, b in zip(before, net.parameters()))


# --- API and validation ---------------------------------------------------------------

def test_public_api():
    assert dmtloss.DMTLoss is DMTLoss and dmtloss.dmt_loss is dmt_loss
    assert isinstance(DMTLoss(), torch.nn.Module)
    assert "normalize='pixels'" in repr(DMTLoss())


GOOD = dict(input=torch.zeros(2, 1, 4, 4), target=torch.zeros(2, 1, 4, 4))


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(epsilon=-0.1), ValueError, "`epsilon` must be a finite number >= 0; got -0.1"),
    (dict(epsilon="0.2"), TypeError, "`epsilon` must be a real number; got str"),
    (dict(beta=float("nan")), ValueError, "`beta` must be a finite number >= 0; got nan"),
    (dict(beta=-1), ValueError, "`beta` must be a finite number >= 0; got -1"),
    (dict(structures="ridge"), ValueError, "`structures` must be among"),
    (dict(structures=[1]), TypeError, "`structures` must hold strings; got 1"),
    (dict(structures=()), ValueError, "`structures` must name at least one structure"),
    (dict(structures="sheets"), ValueError, "the fast engine does not compute 'sheets'"),
    (dict(from_logits=1), TypeError, "`from_logits` must be a bool; got int"),
    (dict(normalize="pixel"), ValueError, "`normalize` must be one of ('pixels', 'mask'); got 'pixel'"),
    (dict(normalize=True), TypeError, "`normalize` must be a string among ('pixels', 'mask'); got bool"),
    (dict(reduction="avg"), ValueError, "`reduction` must be one of ('mean', 'sum', 'none'); got 'avg'"),
    (dict(engine="gpu"), ValueError, "`engine` must be one of ('fast', 'reference'); got 'gpu'"),
    (dict(engine=None), TypeError, "`engine` must be a string among ('fast', 'reference'); got NoneType"),
    (dict(workers=0), ValueError, "`workers` must be >= 1; got 0"),
    (dict(workers=1.5), TypeError, "`workers` must be None or an int; got float"),
    (dict(frame="yes"), TypeError, "`frame` must be a bool; got str"),
    (dict(rim=1), TypeError, "`rim` must be a bool; got int"),
])
def test_bad_options(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        DMTLoss(**kwargs)
    with pytest.raises(error, match=re.escape(message)):
        dmt_loss(GOOD["input"], GOOD["target"], **kwargs)


def _t(*shape, **kw):
    return torch.zeros(*shape, **kw)


@pytest.mark.parametrize("input, target, kwargs, error, message", [
    (np.zeros((1, 1, 4, 4)), _t(1, 1, 4, 4), {}, TypeError, "`input` must be a torch.Tensor; got ndarray"),
    (_t(1, 1, 4, 4, dtype=torch.int64), _t(1, 1, 4, 4), {}, TypeError,
     "`input` must be a floating-point tensor; got dtype torch.int64"),
    (_t(4, 4), _t(4, 4), {}, ValueError, "`input` must have shape (N, C, H, W) or (N, C, D, H, W); got shape (4, 4)"),
    (_t(1, 1, 1, 2, 2, 2), _t(1, 1, 1, 2, 2, 2), {}, ValueError, "got shape (1, 1, 1, 2, 2, 2)"),
    (_t(0, 1, 4, 4), _t(0, 1, 4, 4), {}, ValueError, "`input` must hold at least one image and one channel"),
    (_t(1, 1, 1, 4), _t(1, 1, 1, 4), {}, ValueError,
     "every spatial axis of `input` must have length >= 2; got shape (1, 1, 1, 4)"),
    (torch.tensor([[[[0.0, float("nan")], [float("inf"), 1]]]]), _t(1, 1, 2, 2), {}, ValueError,
     "`input` must be finite; got 1 NaN and 1 infinite values"),
    (torch.tensor([[[[0.0, 1.5], [0.5, 1]]]]), _t(1, 1, 2, 2), dict(from_logits=False), ValueError,
     "`input` must hold probabilities in [0, 1] when from_logits=False; got values in [0.0, 1.5]"),
    (_t(1, 1, 4, 4), np.zeros((1, 1, 4, 4)), {}, TypeError, "`target` must be a torch.Tensor; got ndarray"),
    (_t(1, 1, 4, 4), _t(1, 1, 4, 4, dtype=torch.complex64), {}, TypeError,
     "`target` must be a bool, integer or floating-point tensor; got dtype torch.complex64"),
    (_t(1, 1, 4, 4), _t(1, 1, 4, 5), {}, ValueError, "`target` must have the shape of `input` (1, 1, 4, 4); got (1, 1, 4, 5)"),
    (_t(1, 1, 2, 2), torch.tensor([[[[0, 1], [2, 1]]]]), {}, ValueError, "`target` must hold only 0 and 1; got 1 other values, e.g. [2]"),
    (_t(1, 1, 2, 2), torch.tensor([[[[0, 0.5], [0, 1]]]]), {}, ValueError, "`target` must hold only 0 and 1"),
    (_t(1, 1, 2, 2), _t(1, 1, 2, 2), dict(mask=np.ones((1, 1, 2, 2))), TypeError,
     "`mask` must be a torch.Tensor or None; got ndarray"),
    (_t(1, 1, 2, 2), _t(1, 1, 2, 2), dict(mask=_t(1, 1, 2, 3)), ValueError,
     "`mask` must have the shape of `input` (1, 1, 2, 2); got (1, 1, 2, 3)"),
    (_t(1, 1, 4, 4), _t(1, 1, 4, 4), dict(structures="sheets", engine="reference"), ValueError,
     "'sheets' exist only for 3-D images"),
])
def test_bad_input(input, target, kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        dmt_loss(input, target, **kwargs)
    mask = kwargs.pop("mask", None)
    with pytest.raises(error, match=re.escape(message)):
        DMTLoss(**kwargs)(input, target, mask=mask)
