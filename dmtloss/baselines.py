"""Baseline losses the DMT-loss is compared with: reweighted cross-entropy, clDice, CE + Dice.

Both follow the DMT-loss's form, ``BCE + beta * extra term``, so that an experiment
changes one thing at a time: which pixels get the extra weight.

- :func:`weighted_bce` (the reweighted cross-entropy of the paper's ablation): the extra
  term is a cross-entropy that weights each class by the inverse of its frequency in the
  target, so the thin, rare structure (membranes, vessels) counts as much as the
  background. Unlike the DMT mask, the weights ignore the prediction: every structure
  pixel is weighted up, not only those on the likelihood's Morse structures.
- :func:`cldice_loss`: the soft clDice of Shit et al. (CVPR 2021). The soft skeleton of
  a likelihood map is made by iterated min- and max-pooling (a differentiable
  morphological thinning); topology precision is the fraction of the predicted skeleton
  inside the target, topology sensitivity the fraction of the target's skeleton inside
  the prediction, and ``clDice`` their harmonic mean. The extra term is ``1 - clDice``.
- :func:`dice_ce_loss`: cross-entropy plus soft Dice, the default loss of nnU-Net and
  the baseline of the TopoMortar benchmark (Valverde et al., BMVC 2025); its extra term
  is ``1 - soft Dice``, weighted by ``beta`` (1 for the plain CE + Dice).

Complexity: O(n) per map for the reweighted BCE, O(k n) for clDice with k skeleton
iterations (each a 3 x 3 or 3 x 3 x 3 pooling).

References
----------
S. Shit, J. C. Paetzold, A. Sekuboyina, I. Ezhov, A. Unger, A. Zhylka, J. P. W. Pluim,
U. Bauer, B. H. Menze, "clDice - a Novel Topology-Preserving Loss Function for Tubular
Structure Segmentation", CVPR 2021.

X. Hu, Y. Wang, L. Fuxin, D. Samaras, C. Chen, "Topology-Aware Segmentation Using
Discrete Morse Theory", ICLR 2021 (ablation: reweighted cross-entropy).
"""

import numbers

import torch
import torch.nn.functional as F

from .loss import _check_input, _check_target
from .reference._validation import as_epsilon

__all__ = ["weighted_bce", "soft_skeleton", "cldice_loss", "dice_ce_loss"]


def _check(input, target, beta):
    """The DMT-loss's own validation of logits, target and weight (:mod:`dmtloss.loss`)."""
    _check_input(input, from_logits=True)
    return _check_target(target, input), as_epsilon(beta, name="beta")


def weighted_bce(input, target, beta=3.0):
    """BCE plus a class-balanced BCE: the reweighted cross-entropy baseline.

    Per map of ``P`` pixels with ``F`` foreground pixels in the target, the extra term
    weights foreground pixels by ``P / (2 F)`` and background pixels by
    ``P / (2 (P - F))`` (each class then carries half the weight); a class absent from
    the target gets weight 0 and the other weight 1.

    Parameters
    ----------
    input : (N, C, H, W) or (N, C, D, H, W) torch.Tensor
        Logits.
    target : torch.Tensor
        Same shape, values in {0, 1}.
    beta : float, optional
        Weight of the reweighted term, >= 0; 0 gives the plain BCE.

    Returns
    -------
    loss : torch.Tensor
        A scalar, the mean over maps of ``BCE + beta * weighted BCE``.

    Raises
    ------
    TypeError, ValueError
        On a non-tensor or mis-shaped input or target, a target outside {0, 1}, or a
        negative `beta`.

    Examples
    --------
    >>> logits = torch.zeros(1, 1, 2, 2)
    >>> target = torch.tensor([[[[1., 0], [0, 0]]]])
    >>> round(weighted_bce(logits, target, beta=1.0).item(), 4)  # ln 2 * (1 + 1)
    1.3863
    """
    target, beta = _check(input, target, beta)
    bce = F.binary_cross_entropy_with_logits(input, target, reduction="none")
    n, c = input.shape[:2]
    bce, flat = bce.reshape(n, c, -1), target.reshape(n, c, -1)
    pixels = flat.shape[2]
    fg = flat.sum(dim=2, keepdim=True)
    bg = pixels - fg
    both = (fg > 0) & (bg > 0)
    w_fg = torch.where(both, pixels / (2 * fg.clamp(min=1)), (fg > 0).to(bce.dtype))
    w_bg = torch.where(both, pixels / (2 * bg.clamp(min=1)), (bg > 0).to(bce.dtype))
    weight = flat * w_fg + (1 - flat) * w_bg
    return (bce.mean(dim=2) + beta * (bce * weight).mean(dim=2)).mean()


def _pool(x, kind):
    pool = F.max_pool2d if x.ndim == 4 else F.max_pool3d
    if kind == "max":
        return pool(x, 3, stride=1, padding=1)
    return -pool(-x, 3, stride=1, padding=1)


def soft_skeleton(probability, iterations=10):
    """The soft skeleton of a probability map (Shit et al., CVPR 2021), differentiable.

    ``skel = relu(x - open(x))``, then for each iteration ``x = erode(x)`` and the
    skeleton gains ``relu(delta - skel * delta)`` with ``delta = relu(x - open(x))``;
    erosion and dilation are 3 x 3 (x 3) min- and max-pooling.

    Parameters
    ----------
    probability : (N, C, H, W) or (N, C, D, H, W) torch.Tensor
        Values in [0, 1].
    iterations : int, optional
        Erosions, >= 0: about the largest structure radius in pixels.

    Returns
    -------
    skeleton : torch.Tensor
        Same shape, values in [0, 1].

    Examples
    --------
    >>> bar = torch.zeros(1, 1, 5, 7); bar[0, 0, 1:4, 1:6] = 1
    >>> soft_skeleton(bar, iterations=2)[0, 0].int()  # a 3 x 5 bar: its middle line
    tensor([[0, 0, 0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0, 0, 0],
            [0, 0, 1, 1, 1, 0, 0],
            [0, 0, 0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0, 0, 0]], dtype=torch.int32)
    """
    if not isinstance(probability, torch.Tensor) or probability.ndim not in (4, 5):
        raise ValueError("`probability` must be an (N, C, H, W) or (N, C, D, H, W) tensor; got "
                         f"{tuple(getattr(probability, 'shape', ())) or type(probability).__name__}")
    if not isinstance(iterations, numbers.Integral) or isinstance(iterations, bool) or iterations < 0:
        raise ValueError(f"`iterations` must be an integer >= 0; got {iterations!r}")
    x = probability

    def opened(v):
        return _pool(_pool(v, "min"), "max")

    skeleton = F.relu(x - opened(x))
    for _ in range(int(iterations)):
        x = _pool(x, "min")
        delta = F.relu(x - opened(x))
        skeleton = skeleton + F.relu(delta - skeleton * delta)
    return skeleton


def cldice_loss(input, target, beta=3.0, iterations=10, smooth=1.0):
    """BCE plus ``beta * (1 - soft clDice)`` (Shit et al., CVPR 2021).

    Parameters
    ----------
    input : (N, C, H, W) or (N, C, D, H, W) torch.Tensor
        Logits.
    target : torch.Tensor
        Same shape, values in {0, 1}.
    beta : float, optional
        Weight of the clDice term, >= 0; 0 gives the plain BCE.
    iterations : int, optional
        Iterations of :func:`soft_skeleton`.
    smooth : float, optional
        Added to the numerators and denominators of the topology precision and
        sensitivity, as the authors do, so empty maps give finite values.

    Returns
    -------
    loss : torch.Tensor
        A scalar: mean BCE plus ``beta`` times the mean over maps of ``1 - clDice``.

    Raises
    ------
    TypeError, ValueError
        As :func:`weighted_bce`.

    Examples
    --------
    >>> target = torch.zeros(1, 1, 5, 7); target[0, 0, 1:4, 1:6] = 1
    >>> logits = 20 * (2 * target - 1)            # a confident, correct prediction
    >>> round(cldice_loss(logits, target, beta=1.0, iterations=2).item(), 4)
    0.0
    """
    target, beta = _check(input, target, beta)
    probability = torch.sigmoid(input)
    bce = F.binary_cross_entropy_with_logits(input, target)
    n, c = input.shape[:2]
    skel_p = soft_skeleton(probability, iterations).reshape(n, c, -1)
    skel_t = soft_skeleton(target, iterations).reshape(n, c, -1)
    p, t = probability.reshape(n, c, -1), target.reshape(n, c, -1)
    precision = ((skel_p * t).sum(2) + smooth) / (skel_p.sum(2) + smooth)
    sensitivity = ((skel_t * p).sum(2) + smooth) / (skel_t.sum(2) + smooth)
    cldice = 2 * precision * sensitivity / (precision + sensitivity)
    return bce + beta * (1 - cldice).mean()


def dice_ce_loss(input, target, beta=1.0, smooth=1e-5):
    """BCE plus ``beta * (1 - soft Dice)``: the CE + Dice baseline of nnU-Net and TopoMortar.

    The soft Dice of a map is ``(2 sum(p g) + smooth) / (sum(p) + sum(g) + smooth)``
    with ``p`` the sigmoid of the logits; it is taken per map (image and channel) and
    averaged. With ``beta=1`` this is the binary form of the CE + Dice loss that
    nnU-Net trains with and that the TopoMortar benchmark uses as its baseline.

    Parameters
    ----------
    input : (N, C, H, W) or (N, C, D, H, W) torch.Tensor
        Logits.
    target : torch.Tensor
        Same shape, values in {0, 1}.
    beta : float, optional
        Weight of the Dice term, >= 0; 0 gives the plain BCE.
    smooth : float, optional
        Added to the numerator and the denominator (> 0), so an empty prediction of an
        empty target scores a Dice of 1.

    Returns
    -------
    loss : torch.Tensor
        A scalar: mean BCE plus ``beta`` times the mean over maps of ``1 - Dice``.

    Raises
    ------
    TypeError, ValueError
        As :func:`weighted_bce`, or on a `smooth` that is not a positive number.

    Examples
    --------
    >>> target = torch.zeros(1, 1, 4, 4); target[0, 0, 1:3, 1:3] = 1
    >>> round(dice_ce_loss(40 * (2 * target - 1), target).item(), 4)  # confident and right
    0.0
    >>> round(dice_ce_loss(torch.zeros(1, 1, 4, 4), target, beta=0.0).item(), 4)  # ln 2
    0.6931
    """
    target, beta = _check(input, target, beta)
    if isinstance(smooth, bool) or not isinstance(smooth, numbers.Real) or not smooth > 0:
        raise ValueError(f"`smooth` must be a positive number; got {smooth!r}")
    probability = torch.sigmoid(input)
    bce = F.binary_cross_entropy_with_logits(input, target)
    n, c = input.shape[:2]
    p, t = probability.reshape(n, c, -1), target.reshape(n, c, -1)
    dice = (2 * (p * t).sum(2) + smooth) / (p.sum(2) + t.sum(2) + smooth)
    return bce + beta * (1 - dice).mean()
