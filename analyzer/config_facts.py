"""Facts from YAML and JSON configs: sweeps, Lightning, Hugging Face, DeepSpeed, Hydra, Ray Tune.

Configs are flattened to dotted key paths with the line each value sits on, so a rule can
ask for ``method`` or ``fp16.enabled`` and point its finding at the config's own line.
Loading is always safe (no Python tags), and a bounded number of entries is kept so an
alias bomb cannot exhaust memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import yaml

from greenlint.analyzer.facts import ConfigEntry, FileFacts

_MAX_ENTRIES = 20_000
_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ConfigError(ValueError):
    """The file is not valid YAML/JSON; the message says where."""


def _scalar(loader: Any, node: yaml.Node) -> Any:
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError:
        return node.value


def _flatten(loader: Any, node: yaml.Node, prefix: str, out: list[ConfigEntry]) -> None:
    if len(out) >= _MAX_ENTRIES:
        return
    line, column = node.start_mark.line + 1, node.start_mark.column + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(_scalar(loader, key_node)) if isinstance(key_node, yaml.ScalarNode) else "?"
            path = f"{prefix}.{key}" if prefix else key
            if isinstance(value_node, yaml.ScalarNode):
                out.append(
                    ConfigEntry(path, _scalar(loader, value_node), key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                )
            elif _scalar_sequence(value_node):  # a list of values sits on its key's line, like a scalar
                values = [_scalar(loader, item) for item in value_node.value]
                out.append(ConfigEntry(path, values, key_node.start_mark.line + 1, key_node.start_mark.column + 1))
            else:
                _flatten(loader, value_node, path, out)
    elif isinstance(node, yaml.SequenceNode):
        if _scalar_sequence(node):
            out.append(ConfigEntry(prefix, [_scalar(loader, item) for item in node.value], line, column))
        else:
            for index, item in enumerate(node.value):
                _flatten(loader, item, f"{prefix}.{index}" if prefix else str(index), out)
    elif isinstance(node, yaml.ScalarNode):
        out.append(ConfigEntry(prefix, _scalar(loader, node), line, column))


def _scalar_sequence(node: yaml.Node) -> bool:
    return isinstance(node, yaml.SequenceNode) and all(isinstance(item, yaml.ScalarNode) for item in node.value)


def _yaml_entries(text: str) -> list[ConfigEntry]:
    loader = _Loader(text)
    entries: list[ConfigEntry] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                _flatten(loader, node, "", entries)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigError(f"invalid YAML{where}: {problem}") from None
    finally:
        loader.dispose()
    return entries


def grid_search_axes(keys: Iterable[str]) -> list[str]:
    """Ray Tune grid axes: the paths whose mapping holds nothing but ``grid_search``.

    ``lr: {grid_search: [0.1, 0.01]}`` is Ray Tune's own spelling of a grid axis (in a
    search-space file or an RLlib experiment file); a project's ``search: {grid_search:
    [...], random_state: 0}`` is some other tool's setting and is not an axis.
    """
    keys = list(keys)
    axes: list[str] = []
    for key in keys:
        head, marker, _ = key.partition(".grid_search")
        if not marker or not head or head in axes or key[len(head) + len(marker):][:1] not in ("", "."):
            continue
        inside = [k for k in keys if k.startswith(head + ".")]
        if all(k == head + marker or k.startswith(head + marker + ".") for k in inside):
            axes.append(head)
    return axes


def _classify(keys: set[str], trainer_target: Any = None) -> str:
    """Guess which tool a config belongs to from its keys.

    Ray Tune's ``grid_search`` axes are checked first: the spelling is Ray's alone, and a
    search space may well also hold a trainer's or an optimizer's settings. A ``trainer``
    section is Lightning's unless its Hydra ``_target_`` names another class: SAM 2's
    ``training.trainer.Trainer`` takes ``max_epochs`` and ``accelerator`` too, and its
    precision under ``optim.amp``.
    """
    top = {k.split(".")[0] for k in keys}
    if grid_search_axes(keys):
        return "ray-tune"
    if "method" in top and "parameters" in top:
        return "wandb-sweep"
    if top & {"zero_optimization", "train_micro_batch_size_per_gpu"} or (
        "train_batch_size" in top and top & {"fp16", "bf16", "optimizer", "gradient_accumulation_steps"}
    ):
        return "deepspeed"
    if "trainer" in top and (trainer_target is None or _names_lightning(trainer_target)):
        return "lightning"
    if "output_dir" in top and top & {"num_train_epochs", "per_device_train_batch_size", "learning_rate"}:
        return "hf-training-args"
    if "defaults" in top or "hydra" in top:
        return "hydra"
    return ""


def _names_lightning(target: Any) -> bool:
    return isinstance(target, str) and target.split(".")[0] in ("lightning", "pytorch_lightning")


def extract_config(text: str, path: str, module_name: str) -> FileFacts:
    """Facts of a YAML or JSON config file; raises ConfigError when it does not parse."""
    if path.endswith(".json"):
        try:
            json.loads(text)
        except json.JSONDecodeError as error:
            if error.msg == "Extra data" and _json_lines(text):
                return FileFacts(path=path, module=module_name, kind="skipped")  # records of a data set
            raise ConfigError(f"invalid JSON (line {error.lineno}, column {error.colno}): {error.msg}") from None
    try:
        entries = _yaml_entries(text)
    except ConfigError:
        if not path.endswith(".json"):
            raise
        entries = []  # valid JSON that PyYAML cannot read (e.g. tabs): keep it, without lines
        _flatten_json(json.loads(text), "", entries)
    facts = FileFacts(path=path, module=module_name, kind="config")
    facts.config = entries
    target = next((e.value for e in entries if e.key == "trainer._target_"), None)
    facts.config_kind = _classify({e.key for e in entries}, target)
    return facts


def _json_lines(text: str) -> bool:
    """Is the text JSON Lines (one JSON value per line), as data sets saved under a
    ``.json`` name are? It is data, not a config, and not a broken file."""
    lines = [line for line in text.splitlines() if line.strip()]
    try:
        return len(lines) > 1 and all(json.loads(line) is not None for line in lines[:100])
    except json.JSONDecodeError:
        return False


def _flatten_json(value: Any, prefix: str, out: list[ConfigEntry]) -> None:
    if len(out) >= _MAX_ENTRIES:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten_json(item, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list) and not all(isinstance(v, (dict, list)) for v in value):
        out.append(ConfigEntry(prefix, value, 1, 1))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _flatten_json(item, f"{prefix}.{index}", out)
    else:
        out.append(ConfigEntry(prefix, value, 1, 1))
