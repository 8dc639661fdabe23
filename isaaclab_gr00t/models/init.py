"""Orthogonal initialization of rsl_rl models (detail 2 and LSTM detail 32 of Huang et al., ICLR 2022 blog track).

Saxe et al., "Exact solutions to the nonlinear dynamics of learning in deep linear neural networks" (ICLR 2014)
introduced orthogonal init; PPO's reference code uses gain sqrt(2) for hidden layers, 0.01 for the policy head (so the
initial policy is near-uniform / near-zero-mean) and 1 for the value head, biases 0; LSTM weights gain 1, biases 0.
"""

from __future__ import annotations

import math

import torch.nn as nn


def orthogonal_init_(
    model: nn.Module,
    head_gain: float,
    hidden_gain: float = math.sqrt(2.0),
    rnn_gain: float = 1.0,
) -> None:
    """Re-initialize every Linear/Conv/LSTM/GRU of an rsl_rl model in place.

    The head is the last ``nn.Linear`` of ``model.mlp``. If the model has an output distribution, its own
    ``init_mlp_weights`` runs afterwards so distribution-specific head parts (e.g. a std head) keep their meaning.
    """
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            nn.init.orthogonal_(module.weight, gain=hidden_gain)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, (nn.LSTM, nn.GRU)):
            for name, param in module.named_parameters():
                if name.startswith("weight"):
                    nn.init.orthogonal_(param, gain=rnn_gain)
                else:
                    nn.init.zeros_(param)
    head = [m for m in model.mlp.modules() if isinstance(m, nn.Linear)][-1]
    nn.init.orthogonal_(head.weight, gain=head_gain)
    distribution = getattr(model, "distribution", None)
    if distribution is not None:
        distribution.init_mlp_weights(model.mlp)
