"""Progressive unfreezing: parameter groups of the N1.5 model that join training at given learning iterations.

Gradual unfreezing (Howard & Ruder, "Universal Language Model Fine-tuning", ACL 2018) trains the parts nearest the
output first and brings deeper ones in later. Here each stage of the actor cfg's ``unfreeze`` names one group
(:data:`GROUPS`, each resolved by one function) and the iteration from which it trains. Every stage's parameters exist
from construction (LoRA adapters zero-initialized, as peft does, so they change nothing until trained) and sit in
their own optimizer parameter group from construction, so the optimizer state and the checkpoints keep one layout
for the whole run; they are frozen (``requires_grad=False``: no gradient, so Adam skips them) until
:meth:`UnfreezeSchedule.apply` reaches their iteration. ``GR00TRunner`` applies the due stages at the start of each
learning iteration from the iteration number, which checkpoints keep, so a resumed run continues the schedule.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch.nn as nn

from .config import UnfreezeStageCfg

if TYPE_CHECKING:
    from .config import GR00TActorCfg
    from .n15.model import GR00TN15

BACKBONE_GROUPS = frozenset({"vision_projector", "llm_lora_top", "vision_lora"})
"""Groups inside the Eagle backbone: once one trains, the backbone's features change with every update."""


def parse_stages(cfg: GR00TActorCfg) -> list[UnfreezeStageCfg]:
    """The ``unfreeze`` stages of ``cfg`` (configclasses or the mappings rsl_rl's ``to_dict`` gives), checked
    against the rest of ``cfg`` before any model is built.

    Raises:
        ValueError: For a value that is no list, or naming the stage (``unfreeze[i]``) and its field: an unknown
            field or group, a missing ``iteration`` or ``group``, iterations out of order, a ``layers`` that does
            not fit the group, a non-positive ``lr_scale``, a LoRA group without ``lora_rank > 0`` and targets, or
            an action head that already trains from the start.
    """
    if not isinstance(cfg.unfreeze, (list, tuple)):
        raise ValueError(
            f"GR00T actor cfg field 'unfreeze' must be a list of stages, got {cfg.unfreeze!r}: write it in YAML (an"
            " agent preset, or a task spec's agent overrides); Isaac Lab's command line cannot fill a list of"
            " mappings."
        )
    stages = [_stage_cfg(entry, index) for index, entry in enumerate(cfg.unfreeze)]
    for index, stage in enumerate(stages):
        where = f"GR00T actor cfg field 'unfreeze[{index}]'"
        if stage.group not in GROUPS:
            raise ValueError(f"{where}: unknown group {stage.group!r}; known groups: {sorted(GROUPS)}.")
        if not isinstance(stage.iteration, int) or stage.iteration < 0:
            raise ValueError(f"{where}: 'iteration' must be a non-negative integer, got {stage.iteration!r}.")
        if index and stage.iteration < stages[index - 1].iteration:
            raise ValueError(f"{where}: stages must come in order of iteration, but iteration {stage.iteration}"
                             f" follows {stages[index - 1].iteration} of 'unfreeze[{index - 1}]'.")
        if not stage.lr_scale > 0:
            raise ValueError(f"{where}: 'lr_scale' must be positive, got {stage.lr_scale!r}.")
        if (stage.group == "llm_lora_top") != (stage.layers != 0) or stage.layers < 0:
            raise ValueError(f"{where}: 'layers' must be at least 1 for group 'llm_lora_top' and 0 for the other"
                             f" groups, got {stage.layers!r} for {stage.group!r}.")
        _check_group_settings(cfg, stage.group, where)
    return stages


def _stage_cfg(entry: Any, index: int) -> UnfreezeStageCfg:
    """One stage as a configclass, from a configclass or a mapping of its fields."""
    where = f"GR00T actor cfg field 'unfreeze[{index}]'"
    if isinstance(entry, Mapping):
        accepted = {field.name for field in dataclasses.fields(UnfreezeStageCfg)}
        unknown = sorted(set(entry) - accepted)
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {unknown}; accepted fields: {sorted(accepted)}.")
        entry = UnfreezeStageCfg(**entry)
    if not isinstance(entry, UnfreezeStageCfg):
        raise ValueError(f"{where}: expected a mapping of {UnfreezeStageCfg.__name__} fields, got {entry!r}.")
    # configclass copies its defaults: MISSING arrives as another instance of its type
    missing = [name for name in ("iteration", "group")
               if isinstance(getattr(entry, name), type(dataclasses.MISSING))]
    if missing:
        raise ValueError(f"{where}: {', '.join(repr(name) for name in missing)} required but not set.")
    return entry


def _check_group_settings(cfg: GR00TActorCfg, group: str, where: str) -> None:
    """The actor settings a group needs: LoRA adapters to train, or an action head frozen at the start."""
    targets = {"llm_lora_top": "lora_llm_targets", "vision_lora": "lora_vision_targets"}
    if group in targets and (cfg.lora_rank <= 0 or not getattr(cfg, targets[group])):
        raise ValueError(f"{where}: group {group!r} trains LoRA adapters: it needs 'lora_rank' > 0 (got"
                         f" {cfg.lora_rank}) and a non-empty '{targets[group]}'.")
    if group == "action_head" and cfg.train_action_head:
        raise ValueError(f"{where}: the action head already trains from the start ('train_action_head' is true);"
                         " set train_action_head=false to unfreeze it at this stage.")


def llm_lora_layers(stages: Sequence[UnfreezeStageCfg], num_layers: int) -> list[int] | None:
    """The language-model layers that get LoRA adapters: the top ones the ``llm_lora_top`` stages name, or None (every
    layer, trained from the start) without such a stage.

    Raises:
        ValueError: If a stage names more layers than the language model has.
    """
    counts = [(index, stage.layers) for index, stage in enumerate(stages) if stage.group == "llm_lora_top"]
    if not counts:
        return None
    for index, layers in counts:
        if layers > num_layers:
            raise ValueError(f"GR00T actor cfg field 'unfreeze[{index}]': 'layers' = {layers} exceeds the language"
                             f" model's {num_layers} layers.")
    return list(range(num_layers - max(layers for _, layers in counts), num_layers))


def float32_trainable(module: nn.Module) -> list[nn.Parameter]:
    """Make ``module`` trainable with float32 master weights (frozen weights may be bfloat16); its parameters."""
    module.float().requires_grad_(True)
    return list(module.parameters())


def _lora_parameters(module: nn.Module) -> list[nn.Parameter]:
    return [p for name, p in module.named_parameters() if "lora_" in name]


def train_action_head_slot(model: GR00TN15, slot: int) -> list[nn.Parameter]:
    """Make the action head trainable as ``train_action_head`` and post-training train it: float32 master weights,
    and of the per-embodiment layers only the embodiment's ``slot``; its trained parameters."""
    float32_trainable(model.action_head)
    model.action_head.train_only_slot(slot)
    return [p for p in model.action_head.parameters() if p.requires_grad]


def _action_head(model: GR00TN15, stage: UnfreezeStageCfg, slot: int) -> list[nn.Parameter]:
    """The action head as ``train_action_head`` trains it."""
    return train_action_head_slot(model, slot)


def _vision_projector(model: GR00TN15, stage: UnfreezeStageCfg, slot: int) -> list[nn.Parameter]:
    """Eagle's ``mlp1``, in float32."""
    return float32_trainable(model.backbone.eagle_model.mlp1)


def _llm_lora_top(model: GR00TN15, stage: UnfreezeStageCfg, slot: int) -> list[nn.Parameter]:
    """The LoRA adapters of the language model's top ``stage.layers`` layers."""
    layers = model.backbone.eagle_model.language_model.model.layers
    return [p for layer in layers[len(layers) - stage.layers:] for p in _lora_parameters(layer)]


def _vision_lora(model: GR00TN15, stage: UnfreezeStageCfg, slot: int) -> list[nn.Parameter]:
    """The vision tower's LoRA adapters."""
    return _lora_parameters(model.backbone.eagle_model.vision_model)


GROUPS: dict[str, Callable[[GR00TN15, UnfreezeStageCfg, int], list[nn.Parameter]]] = {
    "action_head": _action_head,
    "vision_projector": _vision_projector,
    "llm_lora_top": _llm_lora_top,
    "vision_lora": _vision_lora,
}
"""Group name (the values of :data:`~.config.UnfreezeGroup`) -> the function that readies its parameters for training
(float32) and returns them, given the model (LoRA adapters already injected), the stage and the embodiment's
action-head slot."""


@dataclass
class Stage:
    """A stage of the schedule with its parameters."""

    index: int
    cfg: UnfreezeStageCfg
    parameters: list[nn.Parameter]
    trains: bool = False
    """Whether :meth:`UnfreezeSchedule.apply` has brought the stage into training."""

    @property
    def name(self) -> str:
        """Its optimizer group's name, e.g. ``unfreeze.0.vision_projector``."""
        return f"unfreeze.{self.index}.{self.cfg.group}"


def resolve_stages(model: GR00TN15, stages: Sequence[UnfreezeStageCfg], slot: int) -> list[Stage]:
    """Each stage's parameters, readied for training, without those of earlier stages.

    Raises:
        ValueError: If a stage adds no parameter (earlier stages of the same group hold all of them).
    """
    claimed: set[int] = set()
    resolved = []
    for index, cfg in enumerate(stages):
        parameters = [p for p in GROUPS[cfg.group](model, cfg, slot) if id(p) not in claimed]
        if not parameters:
            raise ValueError(f"GR00T actor cfg field 'unfreeze[{index}]': group {cfg.group!r} adds no parameters:"
                             " earlier stages already bring all of them into training.")
        claimed.update(id(p) for p in parameters)
        resolved.append(Stage(index, cfg, parameters))
    return resolved


class UnfreezeSchedule:
    """The stages of a model, frozen from construction until :meth:`apply` reaches their iteration."""

    def __init__(self, stages: list[Stage]) -> None:
        self.stages = stages
        for stage in stages:
            for parameter in stage.parameters:
                parameter.requires_grad_(False)

    @property
    def touches_backbone(self) -> bool:
        """Whether a stage trains part of the Eagle backbone."""
        return any(stage.cfg.group in BACKBONE_GROUPS for stage in self.stages)

    def parameters(self) -> list[nn.Parameter]:
        """Every stage's parameters, frozen or not."""
        return [p for stage in self.stages for p in stage.parameters]

    def param_groups(self, base_lr: float) -> list[dict]:
        """One optimizer group per stage at its ``lr_scale``, frozen parameters included (a fixed layout)."""
        return [{"name": stage.name, "params": stage.parameters, "lr": base_lr * stage.cfg.lr_scale}
                for stage in self.stages]

    def apply(self, iteration: int) -> list[Stage]:
        """Bring every stage due by learning iteration ``iteration`` into training; the stages it started."""
        started = [stage for stage in self.stages if not stage.trains and stage.cfg.iteration <= iteration]
        for stage in started:
            for parameter in stage.parameters:
                parameter.requires_grad_(True)
            stage.trains = True
        return started
