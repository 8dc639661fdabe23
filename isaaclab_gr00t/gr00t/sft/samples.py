"""Training samples of GR00T N1.5's post-training, through the same input code the actor uses.

One sample is a frame t of an episode: its camera views (:func:`~isaaclab_gr00t.gr00t.images.camera_views`, the
actor's crop, resize and normalization), the episode's instruction through the chat template
(:func:`~isaaclab_gr00t.gr00t.prompt.prompt_tokens`), the state normalized with the embodiment's statistics and
zero-padded to ``max_state_dim``, and the action chunk of frames t .. t + horizon - 1 (frames past the episode's
end repeat its last action), normalized and zero-padded to ``action_dim`` with a mask of the real dimensions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..dataset.layout import DatasetError
from ..dataset.reader import GR00TDataset
from ..images import camera_views
from ..n15.config import N15Config
from ..n15.embodiments import EmbodimentStatistics, KeyStatistics
from ..normalization import StatisticsMap, pad_to, statistics_map
from ..prompt import prompt_tokens


@dataclass
class Batch:
    """One training batch on the model's device."""

    pixels: torch.Tensor
    """``(B, V, 3, S, S)`` views in [-1, 1] (V = 0 without cameras)."""
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    state: torch.Tensor
    """``(B, max_state_dim)`` normalized, zero-padded."""
    actions: torch.Tensor
    """``(B, horizon, action_dim)`` normalized, zero-padded."""
    action_mask: torch.Tensor
    """``(B, horizon, action_dim)``: 1 on the real action dimensions."""


def check_same_keys(datasets: list[GR00TDataset]) -> None:
    """Raise :class:`DatasetError` unless every dataset has the first one's state, action and video keys."""
    first = datasets[0]
    for other in datasets[1:]:
        for field in ("state_keys", "action_keys", "video_keys"):
            if getattr(other, field) != getattr(first, field):
                raise DatasetError(other.root, f"meta/modality.json {field.split('_')[0]}",
                                   f"{getattr(other, field)} differs from {first.root}'s {getattr(first, field)}; "
                                   "every dataset of one fine-tune needs the same keys")


def merged_statistics(datasets: list[GR00TDataset]) -> dict[str, dict[str, KeyStatistics]]:
    """Statistics over all datasets: exact min and max, frame-weighted mean and pooled std, frame-weighted q01/q99
    (an approximation of the quantiles of the union when there are several datasets)."""
    per_dataset = [dataset.statistics() for dataset in datasets]
    weights = np.array([sum(dataset.episode_lengths) for dataset in datasets], dtype=np.float64)
    weights /= weights.sum()
    merged: dict[str, dict[str, KeyStatistics]] = {}
    for modality, keys in per_dataset[0].items():
        merged[modality] = {}
        for key in keys:
            parts = [stats[modality][key] for stats in per_dataset]
            mean = sum(w * p.mean for w, p in zip(weights, parts))
            second = sum(w * (p.std**2 + p.mean**2) for w, p in zip(weights, parts))
            merged[modality][key] = KeyStatistics(
                max=np.max([p.max for p in parts], axis=0), min=np.min([p.min for p in parts], axis=0), mean=mean,
                std=np.sqrt(np.maximum(second - mean**2, 0.0)), q01=sum(w * p.q01 for w, p in zip(weights, parts)),
                q99=sum(w * p.q99 for w, p in zip(weights, parts)))
    return merged


class SampleSource:
    """Every frame of the datasets, in memory, turned into :class:`Batch` es."""

    def __init__(self, datasets: list[GR00TDataset], config: N15Config, tokenizer,
                 statistics: EmbodimentStatistics, modes: dict[str, str]) -> None:
        """``datasets`` must share their keys (:func:`check_same_keys`, which the command runs before any work)."""
        self.config = config
        head = config.action_head
        self.episodes = [dataset.episode(i) for dataset in datasets for i in range(dataset.num_episodes)]
        self.frames = [(e, t) for e, episode in enumerate(self.episodes) for t in range(len(episode))]
        self.video_keys = list(datasets[0].video_keys)
        state_dim, action_dim = self.episodes[0].states.shape[1], self.episodes[0].actions.shape[1]
        source = "the datasets' statistics"
        self.state_map: StatisticsMap = statistics_map(statistics, "state", state_dim, source, modes)
        self.action_map: StatisticsMap = statistics_map(statistics, "action", action_dim, source, modes)
        if (self.state_map.normalized_dim or 0) > head.max_state_dim:  # None: no state keys (a camera-only robot)
            raise DatasetError(datasets[0].root, "state", f"{self.state_map.normalized_dim} normalized dimensions, "
                               f"more than the model's max_state_dim {head.max_state_dim}")
        if self.action_map.normalized_dim > head.action_dim:
            raise DatasetError(datasets[0].root, "action", f"{action_dim} dimensions, more than the model's "
                               f"action_dim {head.action_dim}")
        prompts = sorted({episode.instruction for episode in self.episodes})
        ids, mask = prompt_tokens(tokenizer, prompts, len(self.video_keys), config.tokens_per_view)
        self.prompts = {prompt: (ids[i], mask[i]) for i, prompt in enumerate(prompts)}

    def __len__(self) -> int:
        return len(self.frames)

    def batch(self, indices: list[int], device: torch.device | str) -> Batch:
        """The samples of frames ``indices`` (positions in :attr:`frames`)."""
        head = self.config.action_head
        chosen = [self.frames[i] for i in indices]
        states = torch.as_tensor(np.stack([self.episodes[e].states[t] for e, t in chosen]))
        chunks = torch.as_tensor(np.stack([self._chunk(self.episodes[e].actions, t) for e, t in chosen]))
        actions = self.action_map.normalize(chunks)
        mask = torch.zeros(len(chosen), head.action_horizon, head.action_dim)
        mask[..., : actions.shape[-1]] = 1.0
        views = [torch.as_tensor(np.stack([self.episodes[e].images[key][t] for e, t in chosen]))
                 for key in self.video_keys]
        size = self.config.vision.image_size
        pixels = (camera_views(views, size, pixel_scale=1 / 255, pixel_offset=0.0) if views
                  else torch.zeros(len(chosen), 0, 3, size, size))
        ids, attention = self._prompts([self.episodes[e].instruction for e, _ in chosen])
        return Batch(
            pixels=pixels.to(device), input_ids=ids.to(device), attention_mask=attention.to(device),
            state=pad_to(self.state_map.normalize(states), head.max_state_dim, "state").to(device),
            actions=pad_to(actions, head.action_dim, "action").to(device), action_mask=mask.to(device),
        )

    def _chunk(self, actions: np.ndarray, t: int) -> np.ndarray:
        """Actions of frames t .. t + horizon - 1; past the end, the last action repeats."""
        rows = np.minimum(np.arange(t, t + self.config.action_head.action_horizon), len(actions) - 1)
        return actions[rows]

    def _prompts(self, instructions: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids and masks of ``instructions``, left-padded to the longest of them."""
        rows = [self.prompts[text] for text in instructions]
        length = max(int(mask.sum()) for _, mask in rows)
        ids = torch.stack([row[-length:] for row, _ in rows])
        mask = torch.stack([row[-length:] for _, row in rows])
        return ids, mask
