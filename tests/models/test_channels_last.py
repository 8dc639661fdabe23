"""``use_channels_last``: an rsl_rl CNN in the channels-last memory format computes the same, and saves the same."""

from __future__ import annotations

import copy

import torch
from rsl_rl.modules import CNN

from isaaclab_gr00t.models import use_channels_last


def camera_cnn() -> CNN:
    """The camera task's actor encoder, on 6 x 24 x 24 images."""
    torch.manual_seed(0)
    return CNN(input_dim=(24, 24), input_channels=6, output_channels=[8, 16, 16], kernel_size=[5, 3, 3],
               stride=[2, 2, 2], activation="relu")


def test_channels_last_cnn_matches_the_plain_one_in_values_gradients_and_state_dict():
    plain = camera_cnn()
    channels_last = copy.deepcopy(plain)
    use_channels_last(channels_last)
    use_channels_last(channels_last)  # a second call changes nothing
    assert list(channels_last._modules).count("to_channels_last") == 1
    conv = next(m for m in channels_last.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert not conv.weight.is_contiguous()

    images = torch.rand(5, 6, 24, 24)
    outputs = {}
    for name, cnn in (("plain", plain), ("channels_last", channels_last)):
        x = images.clone().requires_grad_(True)
        y = cnn(x)
        y.square().sum().backward()
        outputs[name] = (y.detach(), x.grad)
    torch.testing.assert_close(outputs["channels_last"][0], outputs["plain"][0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(outputs["channels_last"][1], outputs["plain"][1], rtol=1e-5, atol=1e-6)

    # checkpoints keep their keys: a plain CNN loads the channels-last one's state dict and computes the same
    assert list(channels_last.state_dict()) == list(plain.state_dict())
    reloaded = camera_cnn()
    for parameter in reloaded.parameters():
        parameter.data.zero_()
    reloaded.load_state_dict(channels_last.state_dict())
    torch.testing.assert_close(reloaded(images), channels_last(images), rtol=1e-5, atol=1e-6)


def test_channels_last_cnn_exports_to_torchscript():
    cnn = camera_cnn()
    use_channels_last(cnn)
    scripted = torch.jit.script(cnn)
    images = torch.rand(2, 6, 24, 24)
    torch.testing.assert_close(scripted(images), cnn(images))
