"""The U-Net: shapes in 2-D and 3-D (odd and non-square sizes), gradients, padding, validation."""

import pytest
import torch
import torch.nn.functional as F

from dmtloss.models import UNet


@pytest.mark.parametrize("shape", [(1, 1, 13, 20), (2, 1, 16, 16), (1, 1, 1, 7), (3, 1, 31, 5)])
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_2d_output_has_the_input_shape(shape, depth):
    net = UNet(width=2, depth=depth).eval()
    out = net(torch.rand(shape))
    assert out.shape == shape, f"shape={tuple(out.shape)}, but should be {shape} [UNet(depth={depth})]"
    assert out.dtype == torch.float32


@pytest.mark.parametrize("shape", [(1, 1, 5, 6, 7), (2, 1, 8, 8, 8), (1, 1, 3, 9, 4)])
def test_3d_output_has_the_input_shape(shape):
    out = UNet(ndim=3, width=2, depth=3).eval()(torch.rand(shape))
    assert out.shape == shape


def test_channels():
    net = UNet(in_channels=2, out_channels=3, width=2, depth=2)
    assert net(torch.rand(2, 2, 9, 10)).shape == (2, 3, 9, 10)


@pytest.mark.parametrize("ndim", [2, 3])
def test_every_parameter_gets_a_gradient(ndim):
    torch.manual_seed(0)
    net = UNet(ndim=ndim, width=4, depth=3)
    x = torch.rand((2, 1) + (11,) * ndim, requires_grad=True)
    target = (torch.rand_like(x) > 0.5).float()
    F.binary_cross_entropy_with_logits(net(x), target).backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, f"{name} got a zero gradient"
    assert x.grad.abs().sum() > 0


@pytest.mark.parametrize("norm", ["batch", "instance", "group", "none"])
@pytest.mark.parametrize("up", ["transpose", "upsample"])
def test_norms_and_upsampling(norm, up):
    net = UNet(width=4, depth=2, norm=norm, up=up).eval()
    assert net(torch.rand(2, 1, 7, 10)).shape == (2, 1, 7, 10)
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3)]
    assert all((m.bias is None) == (norm != "none") for m in convs)


def test_padding_is_replicate_and_cropped_back():
    torch.manual_seed(1)
    net = UNet(width=2, depth=3).eval()
    x = torch.rand(1, 1, 13, 18)
    padded = F.pad(x, (0, 2, 0, 3), mode="replicate")  # to multiples of 4
    assert torch.equal(net(x), net(padded)[..., :13, :18])


def test_parameter_counts_of_the_defaults():
    # documented in UNet's Notes
    assert sum(p.numel() for p in UNet().parameters()) == 117073
    assert sum(p.numel() for p in UNet(ndim=3).parameters()) == 339569


def test_returns_logits():
    net = UNet(width=2, depth=1, norm="none")
    with torch.no_grad():
        net.head.bias.fill_(30.0)
    assert net(torch.zeros(1, 1, 4, 4)).min() >= 29  # no sigmoid inside


def test_config_rebuilds_the_architecture():
    net = UNet(ndim=3, in_channels=2, width=3, depth=2, norm="group", up="upsample")
    again = UNet(**net.config())
    assert [p.shape for p in again.parameters()] == [p.shape for p in net.parameters()]
    assert "norm='group'" in repr(net)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(ndim=4), ValueError, "`ndim` must be 2 or 3; got 4"),
    (dict(ndim=2.0), TypeError, "`ndim` must be an int; got float"),
    (dict(width=0), ValueError, "`width` must be >= 1; got 0"),
    (dict(depth=True), TypeError, "`depth` must be an int; got bool"),
    (dict(in_channels=0), ValueError, "`in_channels` must be >= 1"),
    (dict(norm="layer"), ValueError, "`norm` must be one of ('batch', 'instance', 'group', 'none'); got 'layer'"),
    (dict(up=None), TypeError, "`up` must be a string"),
])
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error) as info:
        UNet(**kwargs)
    assert message in str(info.value)


def test_bad_input():
    net = UNet(width=2, depth=2)
    with pytest.raises(ValueError, match=r"`x` must have shape \(N, 1, H, W\); got \(1, 2, 8, 8\)"):
        net(torch.zeros(1, 2, 8, 8))
    with pytest.raises(ValueError, match="got \\(8, 8\\)"):
        net(torch.zeros(8, 8))
    with pytest.raises(TypeError, match="`x` must be a torch.Tensor; got list"):
        net([[0.0]])
