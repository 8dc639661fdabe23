"""GR00T N1.5's post-training objective (``FlowmatchingActionHead.forward`` of NVIDIA's release; flow matching of
Lipman et al., "Flow Matching for Generative Modeling", ICLR 2023, with the linear path of Liu et al.,
"Flow Straight and Fast", ICLR 2023).

For a normalized, zero-padded action chunk a ``(B, H, D)``: draw s ~ Beta(1.5, 1) and t = (0.999 - s) / 0.999 per
sample (more weight on small t, i.e. near the noise), noise e ~ N(0, I) shaped like a; the head sees
x_t = (1 - t) e + t a at time bucket int(1000 t) and predicts the velocity, whose target is a - e. The loss is the
squared error times the action mask (1 on the embodiment's real action dimensions, 0 on the padding), summed and
divided by the mask's sum.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .config import ActionHeadConfig


def flow_time(s: torch.Tensor, noise_s: float) -> torch.Tensor:
    """t = (noise_s - s) / noise_s of the Beta draws ``s`` ``(B,)``."""
    return (noise_s - s) / noise_s


def sample_flow_time(batch: int, cfg: ActionHeadConfig, device: torch.device | str) -> torch.Tensor:
    """``(B,)`` training times t of the published schedule (s ~ Beta(noise_beta_alpha, noise_beta_beta))."""
    beta = torch.distributions.Beta(torch.tensor(cfg.noise_beta_alpha), torch.tensor(cfg.noise_beta_beta))
    return flow_time(beta.sample((batch,)), cfg.noise_s).to(device)


def noisy_chunk(actions: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """x_t = (1 - t) e + t a, with ``t`` ``(B,)`` broadcast over the chunk."""
    t = t.to(actions.dtype).view(-1, *([1] * (actions.dim() - 1)))
    return (1.0 - t) * noise + t * actions


def time_bucket(t: torch.Tensor, num_buckets: int) -> torch.Tensor:
    """``int(t * num_buckets)`` as a long tensor (truncation toward zero, as ``.long()`` of a positive float)."""
    return (t * num_buckets).long()


def masked_mse(predicted: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Sum of the squared errors on the mask's entries divided by the mask's sum."""
    mask = mask.to(predicted.dtype).expand_as(predicted)
    return ((predicted - target).square() * mask).sum() / mask.sum()


def flow_matching_loss(
    velocity: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    actions: torch.Tensor,
    action_mask: torch.Tensor,
    cfg: ActionHeadConfig,
) -> torch.Tensor:
    """The published objective on one batch.

    Args:
        velocity: ``velocity(x_t, bucket)``: the head's predicted velocity ``(B, H, D)`` at chunk ``x_t`` and time
            buckets ``(B,)``.
        actions: Normalized, zero-padded action chunks ``(B, H, D)``.
        action_mask: 1 where ``actions`` holds a real action dimension, ``(B, H, D)`` or broadcastable to it.
        cfg: The head's sizes and schedule (``noise_beta_*``, ``noise_s``, ``num_timestep_buckets``).
    """
    t = sample_flow_time(actions.shape[0], cfg, actions.device)
    noise = torch.randn_like(actions)
    predicted = velocity(noisy_chunk(actions, noise, t), time_bucket(t, cfg.num_timestep_buckets))
    return masked_mse(predicted.float(), (actions - noise).float(), action_mask)
