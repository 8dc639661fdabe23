"""The mixed-precision CNN model: rsl_rl's CNNModel exactly on the CPU, channels-last weights, float32 exports."""

from __future__ import annotations

import pytest
import torch
from isaaclab.utils import to_dict
from rsl_rl.models import CNNModel
from rsl_rl.utils import resolve_callable
from tensordict import TensorDict

from isaaclab_gr00t.bench.throughput import stock_model
from isaaclab_gr00t.models import MixedPrecisionCNNModel, MixedPrecisionCNNModelCfg

CNN_CFG = {"output_channels": [8, 16], "kernel_size": [5, 3], "stride": [2, 2], "activation": "relu"}
DISTRIBUTION = {"class_name": "GaussianDistribution", "init_std": 1.0}


def observations(batch: int = 5) -> TensorDict:
    return TensorDict(
        {"image": torch.rand(batch, 6, 32, 32), "state": torch.randn(batch, 4)}, batch_size=[batch]
    )


def build(model_class: type, **kwargs) -> CNNModel:
    torch.manual_seed(0)
    return model_class(observations(), {"actor": ["image", "state"]}, "actor", 2, hidden_dims=[16],
                       activation="elu", cnn_cfg=CNN_CFG, distribution_cfg=DISTRIBUTION, **kwargs)


def test_on_the_cpu_it_computes_what_cnn_model_computes_with_channels_last_weights():
    stock, mixed = build(CNNModel), build(MixedPrecisionCNNModel)
    for conv in (m for m in mixed.cnns.modules() if isinstance(m, torch.nn.Conv2d)):
        assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    obs = observations(7)
    mean_stock, mean_mixed = stock(obs), mixed(obs)
    assert mean_mixed.dtype == torch.float32
    torch.testing.assert_close(mean_mixed, mean_stock)
    mean_stock.square().sum().backward()
    mean_mixed.square().sum().backward()
    for (name, p_stock), p_mixed in zip(stock.named_parameters(), mixed.parameters()):
        torch.testing.assert_close(p_mixed.grad, p_stock.grad, msg=name)


def test_exports_are_float32_models_of_the_same_function():
    mixed = build(MixedPrecisionCNNModel)
    obs = observations(2)
    exported = torch.jit.script(mixed.as_jit())
    actions = exported(obs["state"], [obs["image"]])
    torch.testing.assert_close(actions, mixed(obs))
    assert actions.dtype == torch.float32


def test_an_unsupported_encoder_dtype_is_refused_by_name():
    with pytest.raises(ValueError, match="encoder_dtype.*float16"):
        build(MixedPrecisionCNNModel, encoder_dtype="float16")


def test_the_camera_agent_builds_it_the_way_isaac_lab_and_rsl_rl_do():
    import importlib.metadata

    from isaaclab_rl.rsl_rl import handle_deprecated_rsl_rl_cfg
    from isaaclab_tasks.utils.parse_cfg import load_cfg_from_registry

    import isaaclab_gr00t.registration  # noqa: F401  (registers the project's tasks, as the CLI's entry point does)

    task = "GR00T-Cartpole-Camera-Direct"
    agent = load_cfg_from_registry(task, "rsl_rl_cfg_entry_point")
    stock = load_cfg_from_registry(task, "rsl_rl_stock_cfg_entry_point")
    assert isinstance(agent.actor, MixedPrecisionCNNModelCfg) and type(stock.actor).__name__ == "RslRlCNNModelCfg"
    assert (agent.actor.cnn_cfg, agent.actor.hidden_dims) == (stock.actor.cnn_cfg, stock.actor.hidden_dims)
    actor_cfg = to_dict(handle_deprecated_rsl_rl_cfg(agent, importlib.metadata.version("rsl-rl-lib")))["actor"]
    model_class = resolve_callable(actor_cfg.pop("class_name"))
    obs = TensorDict({"policy": torch.rand(3, 6, 96, 96)}, batch_size=[3])
    model = model_class(obs, {"actor": ["policy"]}, "actor", 1, **actor_cfg)
    assert type(model) is MixedPrecisionCNNModel and model.encoder_dtype is torch.bfloat16 and model.channels_last
    assert model(obs).shape == (3, 1)


def test_the_benchmark_s_stock_learner_gets_rsl_rl_s_cnn_model():
    mixed = {"class_name": "isaaclab_gr00t.models:MixedPrecisionCNNModel", "hidden_dims": [64],
             "cnn_cfg": CNN_CFG, "encoder_dtype": "bfloat16", "channels_last": True}
    assert stock_model(mixed) == {"class_name": "CNNModel", "hidden_dims": [64], "cnn_cfg": CNN_CFG}
    plain = {"class_name": "MLPModel", "hidden_dims": [32]}
    assert stock_model(plain) == plain


def test_ppo37_s_orthogonal_init_reaches_channels_last_convolutions():
    from isaaclab_gr00t.models import orthogonal_init_

    model = build(MixedPrecisionCNNModel)
    orthogonal_init_(model, head_gain=0.01)
    for conv in (m for m in model.cnns.modules() if isinstance(m, torch.nn.Conv2d)):
        assert conv.weight.is_contiguous(memory_format=torch.channels_last)
        rows = conv.weight.flatten(1)  # (out, in*k*k): orthogonal rows scaled by sqrt(2)
        torch.testing.assert_close(rows @ rows.T, 2.0 * torch.eye(rows.shape[0]), atol=1e-5, rtol=1e-5)
