"""Categorical / multi-discrete distributions against torch.distributions, and inside rsl_rl's MLPModel."""

from __future__ import annotations

import pytest
import torch
from rsl_rl.models import MLPModel
from tensordict import TensorDict
from torch.distributions import Categorical

from isaaclab_gr00t.models import CategoricalDistribution, MultiCategoricalDistribution


def _reference(logits: torch.Tensor, nvec: list[int]) -> list[Categorical]:
    return [Categorical(logits=chunk) for chunk in logits.split(nvec, dim=-1)]


@pytest.mark.parametrize("nvec", [[5], [3, 2, 4]])
def test_log_prob_entropy_kl_match_torch(nvec):
    torch.manual_seed(0)
    dist = MultiCategoricalDistribution(len(nvec), nvec)
    logits = torch.randn(64, sum(nvec)) * 2
    dist.update(logits)
    actions = dist.sample()
    assert actions.shape == (64, len(nvec)) and actions.dtype == torch.float32
    reference = _reference(logits, nvec)
    expected_log_prob = sum(ref.log_prob(actions[:, i].long()) for i, ref in enumerate(reference))
    torch.testing.assert_close(dist.log_prob(actions), expected_log_prob)
    torch.testing.assert_close(dist.entropy, sum(ref.entropy() for ref in reference))

    new_logits = torch.randn(64, sum(nvec))
    new_reference = _reference(new_logits, nvec)
    dist_new = MultiCategoricalDistribution(len(nvec), nvec)
    dist_new.update(new_logits)
    expected_kl = sum(torch.distributions.kl_divergence(o, n) for o, n in zip(reference, new_reference))
    torch.testing.assert_close(dist.kl_divergence(dist.params, dist_new.params), expected_kl)


def test_samples_follow_the_probabilities():
    torch.manual_seed(0)
    dist = MultiCategoricalDistribution(2, [3, 2])
    logits = torch.tensor([[0.0, 1.0, 2.0, -1.0, 1.0]]).expand(20000, -1)
    dist.update(logits)
    samples = dist.sample().long()
    for head, chunk in enumerate(logits[0].split([3, 2])):
        freq = torch.bincount(samples[:, head], minlength=chunk.numel()).float() / samples.shape[0]
        torch.testing.assert_close(freq, torch.softmax(chunk, 0), atol=0.015, rtol=0)
    assert samples[:, 1].max() <= 1  # padding classes of the smaller head are never drawn


def test_categorical_in_mlp_model_and_export():
    obs = TensorDict({"policy": torch.randn(6, 4)}, batch_size=[6])
    model = MLPModel(obs, {"actor": ["policy"]}, "actor", 1, hidden_dims=[8], activation="tanh",
                     distribution_cfg={"class_name": "isaaclab_gr00t.models:CategoricalDistribution", "num_classes": 3})
    actions = model(obs, stochastic_output=True)
    assert actions.shape == (6, 1) and set(actions.unique().tolist()) <= {0.0, 1.0, 2.0}
    assert model.get_output_log_prob(actions).shape == (6,)
    deterministic = model(obs)
    logits = model.mlp(obs["policy"])
    torch.testing.assert_close(deterministic.squeeze(-1), logits.argmax(-1).float())
    scripted = torch.jit.script(model.as_jit())
    torch.testing.assert_close(scripted(obs["policy"]), deterministic)
    assert model.output_std.shape == (6, 1)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="nvec"):
        MultiCategoricalDistribution(2, [3])
    with pytest.raises(ValueError, match="1-dimensional"):
        CategoricalDistribution(2, 3)
