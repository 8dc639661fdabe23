"""An out-of-memory error in PPO37's rollout or update names the batch that did not fit and what to change."""

from __future__ import annotations

import pytest
import torch


def _run_out_of_memory(*args, **kwargs):
    raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


@pytest.mark.parametrize("update_mode", ["eager", "device"])
def test_update_out_of_memory_names_the_micro_batch_and_what_to_change(kit, monkeypatch, update_mode):
    # 4 envs x 8 steps in 4 minibatches of 8 samples, 4 of them a backward pass
    alg, env = kit.build(num_mini_batches=4, micro_batch_size=4, update_mode=update_mode)
    kit.rollout(alg, env)
    monkeypatch.setattr(alg.actor, "forward", _run_out_of_memory)
    with pytest.raises(torch.OutOfMemoryError) as raised:
        alg.update()
    message = str(raised.value)
    assert "update ran out of GPU memory at 4 samples per backward pass (minibatch 8)" in message
    assert "agent.algorithm.micro_batch_size=2" in message and "fewer env.scene.num_envs (now 4)" in message
    assert "gradient_checkpointing" not in message  # rsl_rl's MLP has no such switch
    assert isinstance(raised.value.__cause__, torch.OutOfMemoryError)
    assert "Tried to allocate" in str(raised.value.__cause__)


def test_update_out_of_memory_suggests_only_what_applies(kit, monkeypatch):
    # one sample a backward pass cannot be split further; an actor that can checkpoint (as GR00T's) is told to
    alg, env = kit.build(num_mini_batches=4, micro_batch_size=1)
    alg.actor.gradient_checkpointing = False
    kit.rollout(alg, env)
    monkeypatch.setattr(alg.actor, "forward", _run_out_of_memory)
    with pytest.raises(torch.OutOfMemoryError, match=r"at 1 samples per backward pass \(minibatch 8\)\. To fit, set"
                                                     r" agent\.actor\.gradient_checkpointing=true, or fewer") as raised:
        alg.update()
    assert "micro_batch_size" not in str(raised.value)

    # half of 9 samples a pass: at most 4, which micro_batch_size splits into equal chunks (3 of 3)
    alg, env = kit.build(env=kit.ToyVecEnv(num_envs=3), num_steps=3, num_mini_batches=1, micro_batch_size=9)
    kit.rollout(alg, env)
    monkeypatch.setattr(alg.actor, "forward", _run_out_of_memory)
    with pytest.raises(torch.OutOfMemoryError,
                       match=r"at 9 samples .* \(minibatch 9\)\. To fit, set agent\.algorithm\.micro_batch_size=4,"):
        alg.update()


def test_rollout_out_of_memory_names_the_env_batch(kit, monkeypatch):
    alg, env = kit.build()
    monkeypatch.setattr(alg.critic, "forward", _run_out_of_memory)
    expected = r"rollout ran out of GPU memory at a batch of 4 envs \(env\.scene\.num_envs\)\. To fit, set fewer"
    with pytest.raises(torch.OutOfMemoryError, match=expected + r" env\.scene\.num_envs \(now 4\)\.") as raised, \
            torch.inference_mode():
        alg.act(env.get_observations())
    assert isinstance(raised.value.__cause__, torch.OutOfMemoryError)
