"""GR00T N1.5 (NVIDIA, "GR00T N1: An Open Foundation Model for Generalist Humanoid Robots", arXiv:2503.14734):
the Eagle 2.5 backbone and the flow-matching action head, with the published checkpoint's key layout."""

from __future__ import annotations

import torch.nn as nn

from .action_head import FlowMatchingActionHead
from .backbone import EagleBackbone
from .config import N15Config


class GR00TN15(nn.Module):
    """``backbone`` (:class:`EagleBackbone`) and ``action_head`` (:class:`FlowMatchingActionHead`).

    ``state_dict()`` keys are those of the published checkpoint: ``backbone.eagle_model.*`` and ``action_head.*``.
    Build it under ``torch.device("meta")`` to get the layout without memory; :func:`load_checkpoint` does that.
    """

    def __init__(self, config: N15Config):
        """Build the model with the sizes of ``config`` (random weights unless built on the meta device).

        Raises:
            ConfigError: If the sizes do not fit together (:meth:`N15Config.validate`).
        """
        super().__init__()
        config.validate()
        self.config = config
        self.backbone = EagleBackbone(config)
        self.action_head = FlowMatchingActionHead(config.action_head)
