"""The 2-D and 3-D U-Net the paper's experiments train (Ronneberger et al., 2015).

:class:`UNet` is the encoder-decoder of the U-Net paper, scaled down by two knobs:
``width`` (channels of the first level; they double at every level down) and
``depth`` (the number of resolution levels, so ``depth - 1`` poolings). Each level
is a block of two ``Conv(3) - Norm - ReLU`` layers; the encoder goes down by 2 x 2
(x 2) max-pooling, the decoder comes up by a stride-2 transposed convolution (or
nearest-neighbour upsampling followed by a 1 x 1 convolution) that halves the
channels, concatenates the encoder's features of that level (the skip connection)
and applies a block. A final 1 x 1 convolution gives the logits.

Inputs of any size are accepted: the sides are padded up to a multiple of
``2 ** (depth - 1)`` by repeating the border values ("replicate" padding, which works
for any side, even 1) and the logits are cropped back, so the output always has the
input's spatial shape. The network returns logits: take their sigmoid for a
likelihood, or give them to :class:`dmtloss.DMTLoss` / ``BCEWithLogitsLoss`` as they
are.

Normalisation defaults to batch normalisation: in evaluation mode it is a fixed
per-channel affine map, so sliding-window prediction (:func:`dmtloss.train.predict`)
computes one translation-equivariant function on every tile. Group and instance
normalisation normalise each tile by its own statistics (seams between tiles) but do
not depend on the batch, which helps with batches of one or two 3-D patches.

Complexity: O(width**2 * n) per image of n pixels (each level halves or eighths the
pixels and doubles the channels, so the levels cost about the same in 2-D and less
and less in 3-D).

References
----------
O. Ronneberger, P. Fischer, T. Brox, "U-Net: Convolutional Networks for Biomedical
Image Segmentation", MICCAI 2015. Ö. Çiçek et al., "3D U-Net: Learning Dense
Volumetric Segmentation from Sparse Annotation", MICCAI 2016.
"""

import numbers

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .reference._validation import as_choice, as_int

__all__ = ["UNet"]

_NORMS = ("batch", "instance", "group", "none")
_UPS = ("transpose", "upsample")


def _norm(kind, ndim, channels):
    if kind == "batch":
        return (nn.BatchNorm2d, nn.BatchNorm3d)[ndim - 2](channels)
    if kind == "instance":
        return (nn.InstanceNorm2d, nn.InstanceNorm3d)[ndim - 2](channels, affine=True)
    if kind == "group":
        groups = next(g for g in (8, 4, 2, 1) if channels % g == 0)
        return nn.GroupNorm(groups, channels)
    return nn.Identity()


def _block(ndim, cin, cout, norm):
    conv = (nn.Conv2d, nn.Conv3d)[ndim - 2]
    layers = []
    for c in (cin, cout):
        layers += [conv(c, cout, 3, padding=1, bias=norm == "none"), _norm(norm, ndim, cout),
                   nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class _Up(nn.Module):
    """Double the resolution and halve the channels."""

    def __init__(self, ndim, cin, cout, up):
        super().__init__()
        if up == "transpose":
            self.up = (nn.ConvTranspose2d, nn.ConvTranspose3d)[ndim - 2](cin, cout, 2, stride=2)
        else:
            self.up = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                    (nn.Conv2d, nn.Conv3d)[ndim - 2](cin, cout, 1))

    def forward(self, x):
        return self.up(x)


class UNet(nn.Module):
    """A 2-D or 3-D U-Net returning logits of its input's spatial shape.

    Parameters
    ----------
    ndim : {2, 3}, optional
        Spatial dimension: inputs are (N, C, H, W) or (N, C, D, H, W).
    in_channels : int, optional
        Channels of the input (1 for greyscale).
    out_channels : int, optional
        Channels of the logits (1 for a binary segmentation).
    width : int, optional
        Channels of the first level; level ``l`` has ``width * 2**l``.
    depth : int, optional
        Number of resolution levels (>= 1), hence ``depth - 1`` poolings; sides are
        padded internally to a multiple of ``2 ** (depth - 1)``.
    norm : {"batch", "instance", "group", "none"}, optional
        Normalisation after each convolution (see the module docstring). ``"group"``
        uses 8 groups, or fewer when the channels are not a multiple of 8. Convolutions
        followed by a normalisation have no bias.
    up : {"transpose", "upsample"}, optional
        Stride-2 transposed convolution, or nearest-neighbour upsampling and a 1 x 1
        convolution.

    Attributes
    ----------
    multiple : int
        ``2 ** (depth - 1)``: input sides are padded up to a multiple of it.

    Raises
    ------
    TypeError
        If an argument is of the wrong kind.
    ValueError
        If an argument is out of range.

    Notes
    -----
    Parameters of the defaults (2-D, width 16, depth 3, batch norm, transposed
    convolutions): 117,073 (a 3-D one: 339,569). The count grows as ``width**2`` and
    about fourfold per extra level.

    Examples
    --------
    >>> net = UNet()
    >>> sum(p.numel() for p in net.parameters())
    117073
    >>> net(torch.zeros(2, 1, 13, 20)).shape
    torch.Size([2, 1, 13, 20])
    >>> UNet(ndim=3, width=4, depth=2)(torch.zeros(1, 1, 5, 6, 7)).shape
    torch.Size([1, 1, 5, 6, 7])
    """

    def __init__(self, ndim=2, in_channels=1, out_channels=1, width=16, depth=3, *, norm="batch",
                 up="transpose"):
        super().__init__()
        if isinstance(ndim, (bool, np.bool_)) or not isinstance(ndim, numbers.Integral):
            raise TypeError(f"`ndim` must be an int; got {type(ndim).__name__}")
        if ndim not in (2, 3):
            raise ValueError(f"`ndim` must be 2 or 3; got {ndim}")
        self.ndim = int(ndim)
        self.in_channels = as_int(in_channels, "in_channels", 1)
        self.out_channels = as_int(out_channels, "out_channels", 1)
        self.width = as_int(width, "width", 1)
        self.depth = as_int(depth, "depth", 1)
        self.norm = as_choice(norm, _NORMS, "norm")
        self.up = as_choice(up, _UPS, "up")
        self.multiple = 2 ** (self.depth - 1)
        channels = [self.width * 2 ** level for level in range(self.depth)]
        self.down = nn.ModuleList()
        cin = self.in_channels
        for c in channels:
            self.down.append(_block(self.ndim, cin, c, self.norm))
            cin = c
        self.pool = (nn.MaxPool2d, nn.MaxPool3d)[self.ndim - 2](2)
        self.ups = nn.ModuleList()
        self.blocks = nn.ModuleList()
        for c in reversed(channels[:-1]):
            self.ups.append(_Up(self.ndim, 2 * c, c, self.up))
            self.blocks.append(_block(self.ndim, 2 * c, c, self.norm))
        self.head = (nn.Conv2d, nn.Conv3d)[self.ndim - 2](channels[0], self.out_channels, 1)

    def extra_repr(self):
        return (f"ndim={self.ndim}, in_channels={self.in_channels}, out_channels={self.out_channels}, "
                f"width={self.width}, depth={self.depth}, norm={self.norm!r}, up={self.up!r}")

    def config(self):
        """The constructor's arguments, as a dict of plain values.

        ``UNet(**net.config())`` builds the same architecture (checkpoints store it).

        Returns
        -------
        config : dict

        Examples
        --------
        >>> UNet(width=4, depth=2).config()["width"]
        4
        """
        return dict(ndim=self.ndim, in_channels=self.in_channels, out_channels=self.out_channels,
                    width=self.width, depth=self.depth, norm=self.norm, up=self.up)

    def forward(self, x):
        """Logits of `x`, of its spatial shape.

        Parameters
        ----------
        x : (N, in_channels, *spatial) torch.Tensor
            Floating point, ``ndim`` spatial axes of any length >= 1.

        Returns
        -------
        logits : (N, out_channels, *spatial) torch.Tensor
        """
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"`x` must be a torch.Tensor; got {type(x).__name__}")
        if x.dim() != self.ndim + 2 or x.shape[1] != self.in_channels:
            axes = "H, W" if self.ndim == 2 else "D, H, W"
            raise ValueError(f"`x` must have shape (N, {self.in_channels}, {axes}); got {tuple(x.shape)}")
        spatial = x.shape[2:]
        pad = [(-n) % self.multiple for n in spatial]
        if any(pad):
            # F.pad takes (last axis low, high, second-to-last low, high, ...)
            x = F.pad(x, [v for p in reversed(pad) for v in (0, p)], mode="replicate")
        skips = []
        for level, block in enumerate(self.down):
            if level:
                x = self.pool(x)
            x = block(x)
            skips.append(x)
        skips.pop()
        for up, block in zip(self.ups, self.blocks):
            x = block(torch.cat([skips.pop(), up(x)], dim=1))
        x = self.head(x)
        if any(pad):
            x = x[(Ellipsis, *(slice(0, n) for n in spatial))]
        return x
