"""rsl_rl's CNN model with its image encoders in bfloat16 and channels-last memory layout on CUDA.

The camera policies' encoders are small convolutions (6 -> 8 -> 16 -> 16 channels on 96x96 images) over thousands
of images per minibatch. In float32 and NCHW layout cuDNN runs them on its generic kernels: on an H200 the
weight-gradient and forward convolutions took 56% of the GPU time of a PPO37 camera iteration
(``docs/results/throughput_camera_1024_torch_h200_profile_2.txt``). Channels-last bfloat16 convolutions run on
the tensor cores. Only the encoders change precision: the latent is cast back to float32 before the MLP head and
the action distribution, so log-probabilities, the value and the losses stay in float32. The weights stay float32
(autocast casts them per call), so the optimizer, checkpoints and the TorchScript/ONNX exports (rsl_rl's own
copies of the encoders) are float32 and unchanged.
"""

from __future__ import annotations

from typing import Literal

import torch
from isaaclab.utils import configclass
from isaaclab_rl.rsl_rl import RslRlCNNModelCfg
from rsl_rl.models import CNNModel, MLPModel
from tensordict import TensorDict

ENCODER_DTYPES = {"bfloat16": torch.bfloat16}
"""Encoder compute dtypes; float16 would need loss scaling, which PPO's update does not do."""


class MixedPrecisionCNNModel(CNNModel):
    """``CNNModel`` whose image encoders run under bfloat16 autocast with channels-last tensors on CUDA.

    On the CPU (and with ``encoder_dtype=None``) it computes exactly what ``CNNModel`` computes.
    """

    def __init__(self, *args, encoder_dtype: str | None = "bfloat16", channels_last: bool = True, **kwargs) -> None:
        """Build rsl_rl's CNN model.

        Args:
            *args: ``CNNModel``'s positional arguments (obs, obs_groups, obs_set, output_dim).
            encoder_dtype: Compute dtype of the image encoders on CUDA ("bfloat16"); None keeps float32.
            channels_last: Feed the encoders channels-last (NHWC) images and keep their weights in that layout.
            **kwargs: ``CNNModel``'s keyword arguments.
        """
        if encoder_dtype is not None and encoder_dtype not in ENCODER_DTYPES:
            raise ValueError(
                f"encoder_dtype must be one of {sorted(ENCODER_DTYPES)} or None, got {encoder_dtype!r}"
            )
        super().__init__(*args, **kwargs)
        self.encoder_dtype = ENCODER_DTYPES.get(encoder_dtype)
        self.channels_last = channels_last
        if channels_last:
            self.cnns.to(memory_format=torch.channels_last)

    def get_latent(
        self, obs: TensorDict, masks: torch.Tensor | None = None, hidden_state=None
    ) -> torch.Tensor:
        """The float32 latent: normalized flat groups, then the encoded image groups (as ``CNNModel``)."""
        images = [obs[group] for group in self.obs_groups_2d]
        on_cuda = images[0].is_cuda
        if self.channels_last:
            images = [image.contiguous(memory_format=torch.channels_last) for image in images]
        autocast = on_cuda and self.encoder_dtype is not None
        # no weight-cast cache: PPO37 captures this forward in CUDA graphs, which autocast's cache must stay out of
        with torch.autocast("cuda", dtype=self.encoder_dtype or torch.float32, enabled=autocast, cache_enabled=False):
            encoded = [self.cnns[group](image) for group, image in zip(self.obs_groups_2d, images)]
        latent_cnn = torch.cat(encoded, dim=-1).float()
        if not self.obs_groups:
            return latent_cnn
        return torch.cat([MLPModel.get_latent(self, obs), latent_cnn], dim=-1)


@configclass
class MixedPrecisionCNNModelCfg(RslRlCNNModelCfg):
    """Isaac Lab's CNN model config for :class:`MixedPrecisionCNNModel` (same architecture fields)."""

    class_name: str = "isaaclab_gr00t.models:MixedPrecisionCNNModel"
    """The model class, resolved by rsl_rl's ``resolve_callable``."""
    encoder_dtype: Literal["bfloat16"] | None = "bfloat16"
    """Compute dtype of the image encoders on CUDA (autocast); None keeps them in float32."""
    channels_last: bool = True
    """Run the image encoders on channels-last (NHWC) tensors, the layout cuDNN's tensor-core kernels use."""
