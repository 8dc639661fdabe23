"""The mixed-precision CNN on CUDA: bfloat16 convolutions, float32 latent and outputs close to rsl_rl's CNNModel."""

from __future__ import annotations

import torch
from rsl_rl.models import CNNModel
from tensordict import TensorDict

from isaaclab_gr00t.models import MixedPrecisionCNNModel

CNN_CFG = {"output_channels": [8, 16, 16], "kernel_size": [5, 3, 3], "stride": [2, 2, 2], "activation": "relu"}


def build(model_class: type, obs: TensorDict) -> CNNModel:
    torch.manual_seed(0)
    return model_class(obs, {"actor": ["policy"]}, "actor", 1, hidden_dims=[64], activation="elu", cnn_cfg=CNN_CFG,
                       distribution_cfg={"class_name": "GaussianDistribution", "init_std": 1.0}).cuda()


def test_encoders_compute_in_bfloat16_and_match_float32_to_bf16_precision():
    obs = TensorDict({"policy": torch.rand(256, 6, 96, 96, device="cuda")}, batch_size=[256])
    stock, mixed = build(CNNModel, obs), build(MixedPrecisionCNNModel, obs)
    conv_dtypes = []
    for conv in (m for m in mixed.cnns.modules() if isinstance(m, torch.nn.Conv2d)):
        conv.register_forward_hook(lambda module, inputs, output: conv_dtypes.append(output.dtype))
    latent_stock, latent_mixed = stock.get_latent(obs), mixed.get_latent(obs)
    assert conv_dtypes == [torch.bfloat16] * 3 and latent_mixed.dtype == torch.float32
    error = (latent_mixed - latent_stock).norm() / latent_stock.norm()
    assert error < 2e-2, f"relative latent error {error:.2e}"
    mixed(obs).square().mean().backward()
    assert all(p.grad is not None and p.grad.dtype == torch.float32 and torch.isfinite(p.grad).all()
               for p in mixed.parameters() if p.requires_grad)


def test_the_forward_replays_from_a_cuda_graph():
    obs = TensorDict({"policy": torch.rand(64, 6, 96, 96, device="cuda")}, batch_size=[64])
    mixed = build(MixedPrecisionCNNModel, obs)
    with torch.inference_mode():
        expected = mixed.get_latent(obs)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            captured = mixed.get_latent(obs)
        obs["policy"].copy_(torch.rand_like(obs["policy"]))
        graph.replay()
        torch.testing.assert_close(captured, mixed.get_latent(obs))
        assert not torch.equal(captured, expected)
