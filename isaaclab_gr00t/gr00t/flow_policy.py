"""How PPO gets a stochastic policy with log-probabilities out of GR00T's flow-matching action head.

The head integrates a velocity field with ``N`` Euler steps (N1.5: 4, t = k / N) from x_0 to the action chunk x_N.
Two ways to make that a policy PPO can score, chosen by the actor cfg's ``policy``:

- :class:`GaussianAroundFlow` (``"gaussian"``): integrate deterministically from x_0 ~ N(0, I) (the published
  model's start, always) and put a Gaussian with a learned, state-independent std around the executed actions.
  Log-probability, entropy and KL are closed-form; the rollout stores x_0 and the update integrates from it again,
  so the ratio is exactly 1 at the first epoch (this needs an algorithm that stores ``rollout_extras``, as PPO37).
- :class:`FlowSDE` (``"flow_sde"``, RLinf's recipe for GR00T): start from x_0 ~ N(0, I) and make one Euler step,
  drawn at random once per rollout call, a Gaussian (the SDE form of the flow's ODE); the others stay
  deterministic. The rollout stores the chain x_0..x_N and the step; the update re-scores that step's Gaussian
  at the stored x_k. This needs an algorithm that stores the model's ``rollout_extras`` (PPO37 does).

Both score only the executed chunk entries (first ``execute_steps`` actions, the env's action dimensions).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn as nn
from rsl_rl.modules.distribution import Distribution, GaussianDistribution
from rsl_rl.utils import resolve_class
from tensordict import TensorDict

from .n15.action_head import euler_integrate


@dataclass
class Denoiser:
    """One observation batch's flow: the head's velocity field and how a chunk becomes an env action."""

    velocity: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    """``velocity(x, k)``: the head's velocity at chunk ``x`` (B, H, D) and Euler step indices ``k`` (B,) long."""
    num_steps: int
    """Euler steps from t = 0 to 1 (N1.5: 4)."""
    chunk_like: torch.Tensor
    """A tensor of the chunk's shape, dtype and device (new chains are made like it)."""
    executed: Callable[[torch.Tensor], torch.Tensor]
    """Chunk (B, H, D) -> its executed entries (B, k * A), still in the model's normalized space."""
    to_env: Callable[[torch.Tensor], torch.Tensor]
    """Executed entries in the model's space -> the env action (un-normalized with the embodiment's statistics)."""

    def step_indices(self, k: int) -> torch.Tensor:
        """Step ``k`` for every sample, ``(B,)`` long."""
        return torch.full((self.chunk_like.shape[0],), k, dtype=torch.long, device=self.chunk_like.device)

    def integrate(self, x: torch.Tensor) -> torch.Tensor:
        """Deterministic Euler integration from t = 0 to 1."""
        return euler_integrate(lambda chunk, k: self.velocity(chunk, self.step_indices(k)), x, self.num_steps)

    def start_noise(self) -> torch.Tensor:
        """A fresh x_0 ~ N(0, I) of the chunk's shape (the published model's start of every integration)."""
        return torch.randn_like(self.chunk_like)

    def action_from(self, noise: torch.Tensor) -> torch.Tensor:
        """The env action of the flow's ODE from ``noise`` (x_0)."""
        return self.to_env(self.executed(self.integrate(noise)))


class GaussianAroundFlow(nn.Module):
    """Option (a): a Gaussian around the deterministic flow output (rsl_rl's ``GaussianDistribution``)."""

    def __init__(self, output_dim: int, distribution_cfg: dict) -> None:
        """Build the Gaussian over the ``output_dim`` executed action numbers."""
        super().__init__()
        dist_class, dist_cfg = resolve_class(dict(distribution_cfg))
        self.distribution = dist_class(output_dim, **dist_cfg)
        if not isinstance(self.distribution, GaussianDistribution) or self.distribution.input_dim != output_dim:
            raise ValueError(
                "GR00T policy 'gaussian' needs a Gaussian parameterized by its mean only (rsl_rl's"
                f" GaussianDistribution), got distribution_cfg.class_name={distribution_cfg.get('class_name')!r}."
            )
        self.rollout_extras: TensorDict | None = None
        """The start noise x_0 (B, H, D) of the last forward, for the algorithm to store."""
        self._replay: TensorDict | None = None

    def replay(self, extras: TensorDict) -> None:
        """Make the next forward integrate from the stored start noise ``extras["noise"]`` (the update)."""
        self._replay = extras

    def act(self, denoiser: Denoiser, stochastic: bool) -> torch.Tensor:
        """Return the sampled (``stochastic``) or the mean env action, from fresh or replayed start noise."""
        extras, self._replay = self._replay, None
        noise = denoiser.start_noise() if extras is None else extras["noise"]
        self.rollout_extras = TensorDict({"noise": noise}, batch_size=[noise.shape[0]])
        mean = denoiser.action_from(noise)
        if stochastic:
            self.distribution.update(mean)
            return self.distribution.sample()
        return self.distribution.deterministic_output(mean)


class FlowStepGaussian(Distribution):
    """The Gaussian of one noisy Euler step, over the executed chunk entries (option (b)).

    ``log_prob`` scores the step's stored next chain state whatever action it is given: the env action is a
    deterministic function of the chain, so the chain step is what the policy's probability is about.
    """

    def __init__(self, output_dim: int) -> None:
        super().__init__(output_dim)
        self._mean = self._std = self._target = None

    def set(self, mean: torch.Tensor, std: torch.Tensor, target: torch.Tensor) -> None:
        """The step's mean and std and the chain state they score, each ``(B, output_dim)``."""
        self._mean, self._std, self._target = mean, std, target

    @property
    def input_dim(self) -> int:
        return self.output_dim

    @property
    def mean(self) -> torch.Tensor:
        return self._mean

    @property
    def std(self) -> torch.Tensor:
        return self._std

    @property
    def entropy(self) -> torch.Tensor:
        return (0.5 * math.log(2 * math.pi * math.e) + self._std.log()).sum(dim=-1)

    @property
    def params(self) -> tuple[torch.Tensor, ...]:
        return self._mean, self._std

    def log_prob(self, outputs: torch.Tensor) -> torch.Tensor:
        z = (self._target - self._mean) / self._std
        return (-0.5 * z.square() - self._std.log() - 0.5 * math.log(2 * math.pi)).sum(dim=-1)

    def kl_divergence(self, old_params: tuple[torch.Tensor, ...], new_params: tuple[torch.Tensor, ...]) -> torch.Tensor:
        old = torch.distributions.Normal(*old_params)
        new = torch.distributions.Normal(*new_params)
        return torch.distributions.kl_divergence(old, new).sum(dim=-1)

    def deterministic_output(self, mlp_output: torch.Tensor) -> torch.Tensor:
        return mlp_output


class FlowSDE(nn.Module):
    """Option (b): RLinf's flow-SDE; one random Euler step is Gaussian, the chain is stored with the rollout.

    With noise level ``a``, at time t and step dt: sigma_t = a * sqrt((1 - t) / t) (t = 0 uses dt in the
    denominator), std = sqrt(dt) * sigma_t, mean = x_t + v dt - sigma_t^2 dt / (2 (1 - t)) * (x_t - t v).
    """

    def __init__(self, output_dim: int, noise_level: float) -> None:
        """Build the step distribution over the ``output_dim`` executed chunk entries."""
        super().__init__()
        self.distribution = FlowStepGaussian(output_dim)
        self.noise_level = noise_level
        self.rollout_extras: TensorDict | None = None
        """The chain (B, N + 1, H, D) and noisy step (B,) of the last sampling forward, for the algorithm to store."""
        self._replay: TensorDict | None = None

    def replay(self, extras: TensorDict) -> None:
        """Make the next forward re-score the stored chains ``extras`` instead of sampling (the update)."""
        self._replay = extras

    def act(self, denoiser: Denoiser, stochastic: bool) -> torch.Tensor:
        """Sample a chain, or re-score a stored one after :meth:`replay`; return the env action."""
        if self._replay is not None:
            extras, self._replay = self._replay, None
            return self._rescore(denoiser, extras["chain"], extras["step"])
        if not stochastic:
            return denoiser.action_from(denoiser.start_noise())
        noisy_step = int(torch.randint(denoiser.num_steps, ()))  # one step for the whole batch, as RLinf draws it
        x = torch.randn_like(denoiser.chunk_like)
        chain = [x]
        for k in range(denoiser.num_steps):
            if k == noisy_step:
                mean, std = self._step_gaussian(denoiser, x, denoiser.step_indices(k))
                x = mean + std * torch.randn_like(mean)
                self.distribution.set(denoiser.executed(mean), denoiser.executed(std), denoiser.executed(x))
            else:
                x = x + denoiser.velocity(x, denoiser.step_indices(k)) / denoiser.num_steps
            chain.append(x)
        step = denoiser.step_indices(noisy_step)
        self.rollout_extras = TensorDict({"chain": torch.stack(chain, dim=1), "step": step}, batch_size=[x.shape[0]])
        return denoiser.to_env(denoiser.executed(x))

    def _rescore(self, denoiser: Denoiser, chain: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
        """Set each sample's stored noisy-step distribution; return the stored chain's env action."""
        rows = torch.arange(chain.shape[0], device=chain.device)
        mean, std = self._step_gaussian(denoiser, chain[rows, step], step)
        self.distribution.set(denoiser.executed(mean), denoiser.executed(std), denoiser.executed(chain[rows, step + 1]))
        return denoiser.to_env(denoiser.executed(chain[:, -1]))

    def _step_gaussian(self, denoiser: Denoiser, x: torch.Tensor, step: torch.Tensor):
        """Mean and std of the noisy Euler step ``step`` (B,) from ``x`` (B, H, D)."""
        dt = 1.0 / denoiser.num_steps
        t = (step.to(x.dtype) * dt).view(-1, 1, 1)
        sigma = self.noise_level * torch.sqrt((1.0 - t) / torch.where(t > 0, t, torch.full_like(t, dt)))
        v = denoiser.velocity(x, step)
        mean = x + v * dt - sigma.square() * dt / (2.0 * (1.0 - t)) * (x - t * v)
        return mean, (math.sqrt(dt) * sigma).expand_as(mean)
