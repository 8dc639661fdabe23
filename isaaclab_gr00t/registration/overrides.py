"""Apply plain-data overrides (from YAML) onto Isaac Lab ``@configclass`` objects, with type checks.

Keys may be dotted (``scene.num_envs``) or nested mappings. A mapping value for a field that holds no
config yet needs a ``kind`` key naming one of the allow-listed config classes in :data:`CONFIG_KINDS`,
so a spec can build model and distribution configs without ever naming Python code. Command-line
``KEY=VALUE`` overrides (the benchmarks') are read by :func:`parse_key_value` and set on a config's
dict form by :func:`set_in_dict`.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from .errors import SpecError

CONFIG_KINDS: dict[str, str] = {
    # runner configs
    "stock_runner": "isaaclab_rl.rsl_rl:RslRlOnPolicyRunnerCfg",
    "ppo37_runner": "isaaclab_gr00t.runner:PPO37RunnerCfg",
    # algorithm configs
    "ppo": "isaaclab_rl.rsl_rl:RslRlPpoAlgorithmCfg",
    "ppo37": "isaaclab_gr00t.ppo:PPO37AlgorithmCfg",
    # model configs
    "mlp": "isaaclab_rl.rsl_rl:RslRlMLPModelCfg",
    "cnn": "isaaclab_rl.rsl_rl:RslRlCNNModelCfg",
    "rnn": "isaaclab_rl.rsl_rl:RslRlRNNModelCfg",
    "gr00t_actor": "isaaclab_gr00t.gr00t:GR00TActorCfg",
    "gr00t_critic": "isaaclab_gr00t.gr00t:GR00TCriticCfg",
    # model parts
    "cnn_encoder": "isaaclab_rl.rsl_rl:RslRlCNNModelCfg.CNNCfg",
    "gaussian": "isaaclab_rl.rsl_rl:RslRlMLPModelCfg.GaussianDistributionCfg",
    "heteroscedastic_gaussian": "isaaclab_rl.rsl_rl:RslRlMLPModelCfg.HeteroscedasticGaussianDistributionCfg",
    "categorical": "isaaclab_gr00t.models:CategoricalDistributionCfg",
    "multi_categorical": "isaaclab_gr00t.models:MultiCategoricalDistributionCfg",
}
"""``kind`` name -> ``module:Class`` of a config class a spec may instantiate."""


def config_class(kind: str, source: str, field: str) -> type:
    """Import the config class registered under ``kind``."""
    if kind not in CONFIG_KINDS:
        raise SpecError(source, field, f"unknown kind '{kind}'; known kinds: {', '.join(sorted(CONFIG_KINDS))}")
    module_name, qualname = CONFIG_KINDS[kind].split(":")
    obj: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def build_config(data: Mapping[str, Any], source: str, field: str) -> Any:
    """Instantiate the config class named by ``data['kind']`` and apply the remaining keys onto it."""
    if not isinstance(data, Mapping) or "kind" not in data:
        raise SpecError(source, field, "a new config needs a mapping with a 'kind' key")
    cfg = config_class(str(data["kind"]), source, f"{field}.kind")()
    apply_overrides(cfg, {k: v for k, v in data.items() if k != "kind"}, source, prefix=field)
    return cfg


def _is_config(value: Any) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def _is_missing(value: Any) -> bool:
    return value is dataclasses.MISSING or type(value).__name__ == "_MISSING_TYPE"


def _annotation(cfg: Any, name: str) -> str:
    field = getattr(type(cfg), "__dataclass_fields__", {}).get(name)
    return str(field.type) if field is not None else ""


def _check_type(current: Any, new: Any, source: str, field: str, annotation: str = "") -> Any:
    """Return ``new`` converted to the type of ``current``, or raise if the kinds differ.

    A value whose type the field's annotation names (``int | list[int]``) is accepted as it is; so is None where
    the annotation allows it (``tuple[float, float, float] | None``).
    """
    if new is None:
        if re.search(r"\bNone\b|Optional\[", annotation) or current is None:
            return None
        raise SpecError(source, field, f"cannot be None (type {annotation or type(current).__name__})")
    if re.search(rf"\b{type(new).__name__}\b", annotation) or isinstance(new, (list, tuple)) and "tuple" in annotation:
        return tuple(new) if isinstance(new, list) and "list" not in annotation else new
    if current is None or _is_missing(current) or callable(current) and not isinstance(current, type):
        return new
    if new is None and re.search(r"\bNone\b", annotation):  # an optional field switched off (e.g. a clip)
        return new
    if isinstance(current, bool) or isinstance(new, bool):
        if isinstance(current, bool) and isinstance(new, bool):
            return new
    elif isinstance(current, (int, float)) and isinstance(new, (int, float)):
        return float(new) if isinstance(current, float) else new
    elif isinstance(current, str) and isinstance(new, str):
        return new
    elif isinstance(current, (list, tuple)) and isinstance(new, (list, tuple)):
        return type(current)(new)
    elif isinstance(current, dict) and isinstance(new, Mapping):
        return dict(new)
    raise SpecError(source, field, f"expected {type(current).__name__}, got {type(new).__name__} ({new!r})")


def apply_overrides(
    cfg: Any,
    overrides: Mapping[str, Any],
    source: str,
    prefix: str = "",
    convert: Callable[[str, Any], Any] | None = None,
) -> None:
    """Set each (possibly dotted) key of ``overrides`` on ``cfg``.

    Args:
        cfg: The config object to change in place.
        overrides: Field paths and their new values.
        source: The file the overrides come from, for error messages.
        prefix: Field path of ``cfg`` inside the file, for error messages.
        convert: Optional hook ``(field_path, value) -> value`` applied to leaf values (e.g. asset paths).

    Raises:
        SpecError: naming the file and the field, for an unknown field or a value of the wrong type.
    """
    if not isinstance(overrides, Mapping):
        raise SpecError(source, prefix or None, f"expected a mapping, got {type(overrides).__name__}")
    for key, value in overrides.items():
        head, _, rest = str(key).partition(".")
        field = f"{prefix}.{head}" if prefix else head
        if not hasattr(cfg, head) or head.startswith("_"):
            raise SpecError(source, field, f"unknown field for {type(cfg).__name__}")
        current = getattr(cfg, head)
        if rest and isinstance(current, dict):
            set_in_dict(current, rest, value, source, field)
        elif rest:
            if not _is_config(current):
                raise SpecError(source, field, f"is not a config section, cannot set '{rest}' inside it")
            apply_overrides(current, {rest: value}, source, field, convert)
        elif isinstance(value, Mapping) and _is_config(current) and "kind" not in value:
            apply_overrides(current, value, source, field, convert)
        elif isinstance(value, Mapping) and "kind" in value:
            setattr(cfg, head, build_config(value, source, field))
        else:
            if convert is not None:
                value = convert(field, value)
            setattr(cfg, head, _check_type(current, value, source, field, _annotation(cfg, head)))


def set_in_dict(target: dict, path: str, value: Any, source: str, prefix: str = "") -> None:
    """Set an existing (dotted) key of a plain dict (an event term's ``params``, a config's ``to_dict``), keeping its
    value's type; a SpecError names ``source`` and the key otherwise."""
    head, _, rest = path.partition(".")
    field = f"{prefix}.{head}" if prefix else head
    if head not in target:
        raise SpecError(source, field, f"unknown key; known keys: {', '.join(map(str, target))}")
    if rest:
        if isinstance(target[head], dict):
            set_in_dict(target[head], rest, value, source, field)
        elif _is_config(target[head]):
            apply_overrides(target[head], {rest: value}, source, field)
        else:
            raise SpecError(source, field, f"is not a section, cannot set '{rest}' inside it")
    else:
        target[head] = _check_type(target[head], value, source, field)


def missing_fields(cfg: Any, prefix: str = "") -> list[str]:
    """Dotted names of the fields of ``cfg`` (recursively) still set to ``MISSING``."""
    names = []
    for field in dataclasses.fields(cfg):
        value = getattr(cfg, field.name, None)
        path = f"{prefix}.{field.name}" if prefix else field.name
        if _is_missing(value):
            names.append(path)
        elif _is_config(value):
            names.extend(missing_fields(value, path))
    return names


EXPONENT_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")
"""A number in exponent form without a dot in the mantissa (``1e-3``), which YAML 1.1 reads as a string."""


def parse_key_value(text: str, source: str) -> tuple[str, Any]:
    """``"a.b=1e-3"`` -> ``("a.b", 0.001)``: a dotted key and its value read as YAML (exponent numbers as floats).

    Raises:
        SpecError: naming ``source`` if ``text`` is not ``KEY=VALUE`` with a non-empty dotted key.
    """
    key, separator, value_text = text.partition("=")
    if not separator or not all(part.strip() for part in key.split(".")):
        raise SpecError(source, None, "expected KEY=VALUE, e.g. torch_compile_mode=default")
    value = yaml.safe_load(value_text)
    if isinstance(value, str) and EXPONENT_NUMBER.fullmatch(value):
        value = float(value)
    return key, value
