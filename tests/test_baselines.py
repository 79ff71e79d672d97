"""Baseline losses: reweighted BCE and clDice, by hand, gradients and validation."""

import math

import pytest
import torch
import torch.nn.functional as F

from dmtloss.baselines import cldice_loss, soft_skeleton, weighted_bce


def test_weighted_bce_by_hand():
    logits = torch.tensor([[[[0.5, -1.0], [2.0, 0.0]]]], dtype=torch.float64)
    target = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]], dtype=torch.float64)
    x, y = logits.flatten().tolist(), target.flatten().tolist()
    terms = [math.log1p(math.exp(-a)) if b else math.log1p(math.exp(a)) for a, b in zip(x, y)]
    weights = [4 / 2 if b else 4 / 6 for b in y]  # P / (2 F), P / (2 (P - F))
    want = sum(terms) / 4 + 3.0 * sum(t * w for t, w in zip(terms, weights)) / 4
    assert weighted_bce(logits, target, beta=3.0).item() == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("fill", [0.0, 1.0])
def test_weighted_bce_single_class_target_is_twice_bce_at_beta_one(fill):
    logits = torch.randn(2, 1, 4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    target = torch.full_like(logits, fill)
    bce = F.binary_cross_entropy_with_logits(logits, target)
    assert weighted_bce(logits, target, beta=1.0).item() == pytest.approx(2 * bce.item(), rel=1e-12)
    assert weighted_bce(logits, target, beta=0.0).item() == pytest.approx(bce.item(), rel=1e-12)


def test_soft_skeleton_of_a_binary_cross_is_its_centre_lines():
    cross = torch.zeros(1, 1, 9, 9)
    cross[0, 0, 3:6, :] = 1
    cross[0, 0, :, 3:6] = 1
    skeleton = soft_skeleton(cross, iterations=3)[0, 0]
    assert set(skeleton.unique().tolist()) <= {0.0, 1.0}
    assert bool((skeleton <= cross[0, 0]).all())          # inside the shape
    assert skeleton[4, 1:8].sum() >= 5 and skeleton[1:8, 4].sum() >= 5  # along both bars
    assert skeleton[3].sum() + skeleton[5].sum() <= 2     # thin


def test_cldice_penalises_a_broken_line_more_than_a_thick_one():
    target = torch.zeros(1, 1, 9, 15)
    target[0, 0, 3:6, 1:14] = 1
    broken = target.clone()
    broken[0, 0, :, 7] = 0
    thick = target.clone()
    thick[0, 0, 2:7, 1:14] = 1
    loss = {name: cldice_loss(20 * (2 * m - 1), target, beta=1.0, iterations=3).item()
            - F.binary_cross_entropy_with_logits(20 * (2 * m - 1), target).item()
            for name, m in [("broken", broken), ("thick", thick), ("same", target)]}
    assert loss["same"] == pytest.approx(0.0, abs=1e-6)
    assert loss["broken"] > loss["thick"] >= 0


@pytest.mark.parametrize("loss", [weighted_bce, cldice_loss])
def test_gradients_flow_in_2d_and_3d(loss):
    for shape in [(2, 1, 6, 7), (1, 1, 4, 5, 6)]:
        logits = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
        target = (torch.rand(*shape) > 0.5).double()
        value = loss(logits, target)
        value.backward()
        assert torch.isfinite(value) and torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0


def test_weighted_bce_gradcheck():
    logits = torch.randn(1, 1, 3, 4, dtype=torch.float64, requires_grad=True)
    target = (torch.rand(1, 1, 3, 4) > 0.5).double()
    assert torch.autograd.gradcheck(lambda x: weighted_bce(x, target), (logits,))


@pytest.mark.parametrize("loss", [weighted_bce, cldice_loss])
@pytest.mark.parametrize("input, target, error, message", [
    (torch.zeros(3, 3), torch.zeros(3, 3), ValueError, r"`input` must have shape \(N, C, H, W\)"),
    (torch.zeros(1, 1, 3, 3, dtype=torch.int64), torch.zeros(1, 1, 3, 3), TypeError, "`input` must be a floating"),
    (torch.zeros(1, 1, 3, 3), torch.zeros(1, 1, 3, 4), ValueError, "`target` must have the shape"),
    (torch.zeros(1, 1, 3, 3), torch.full((1, 1, 3, 3), 0.5), ValueError, r"`target` must hold only 0 and 1"),
    (torch.zeros(1, 1, 3, 3), [[0]], TypeError, "`target` must be a torch.Tensor"),
])
def test_bad_input(loss, input, target, error, message):
    with pytest.raises(error, match=message):
        loss(input, target)


@pytest.mark.parametrize("loss", [weighted_bce, cldice_loss])
def test_bad_beta(loss):
    with pytest.raises(ValueError, match="`beta` must be a finite number >= 0; got -1"):
        loss(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2), beta=-1)
