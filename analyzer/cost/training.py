"""How much training the code asks for: samples per epoch and epochs, or steps.

Read from literal settings only: an ``--epochs`` option's default, an ``EPOCHS = 90``
constant, ``for epoch in range(90)``, ``Trainer(max_epochs=...)``,
``TrainingArguments(num_train_epochs=...)``, or a step budget (``max_iters`` x
``batch_size`` x ``gradient_accumulation_steps``); the dataset's size from the table of
known datasets. What is not literal stays unknown, and the estimate then shows per-sample
and per-epoch figures instead of a total.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from greenlint.analyzer.cost.inputs import DatasetUse
from greenlint.analyzer.cost.interpreter import Interpreter, Scope
from greenlint.analyzer.cost.scopes import value_to_node
from greenlint.analyzer.facts import FileFacts

EPOCH_NAMES = ("epochs", "num_epochs", "n_epochs", "max_epochs", "nepochs", "nepoch", "train_epochs", "num_train_epochs",
               "niter", "n_epoch", "epoch_num", "total_epochs")
STEP_NAMES = ("max_iters", "max_steps", "num_steps", "total_steps", "train_steps", "num_iterations", "n_iters",
              "max_iter", "num_train_steps", "iterations", "total_iters")
BATCH_NAMES = ("batch_size", "train_batch_size", "per_device_train_batch_size", "batchSize", "bs")
ACCUMULATION_NAMES = ("gradient_accumulation_steps", "grad_accum_steps", "accumulation_steps", "accum_steps")
#: Keyword arguments of trainer objects that set the epochs.
EPOCH_KEYWORDS = {"max_epochs": ("Trainer",), "num_train_epochs": ("TrainingArguments", "Seq2SeqTrainingArguments"), "epochs": ("fit",)}


@dataclass(frozen=True, slots=True)
class TrainingPlan:
    """The training the code configures; any part may be unknown (None)."""

    samples_per_epoch: int | None
    epochs: float | None
    total_samples: int | None
    sources: tuple[str, ...]
    #: Why the total is unknown, when it is: what the code leaves open.
    unknown: tuple[str, ...] = ()


def plan(interp: Interpreter, files: list[FileFacts], data: list[DatasetUse], overrides: dict[str, Any]) -> TrainingPlan:
    """Combine configuration overrides, the scripts' settings and the dataset table."""
    sources: list[str] = []
    samples = overrides.get("dataset-size")
    if samples is not None:
        sources.append(f"dataset-size {samples} (configuration)")
    else:
        real = [d for d in data if d.name != "FakeData"] or data  # synthetic data stands in for a real set
        sized = next((d for d in real if d.train_size), None)
        if sized is not None:
            samples = sized.train_size
            sources.append(f"{sized.name} training split: {samples:,} samples")
    epochs = overrides.get("epochs")
    if epochs is not None:
        sources.append(f"epochs {epochs} (configuration)")
    else:
        found = _epochs(interp, files)
        if found is not None:
            epochs, where = found
            sources.append(f"{epochs:g} epochs ({where})")
    total = None
    unknown: list[str] = []
    if samples is not None and epochs is not None:
        total = int(samples * epochs)
    elif "dataset-size" not in overrides and "epochs" not in overrides:
        steps = _steps(interp, files, unknown)
        if steps is not None:
            total, where = steps
            sources.append(where)
    if total is None and not unknown:
        unknown.extend(_why_unknown(samples, epochs, data))
    return TrainingPlan(samples, epochs, total, tuple(sources), tuple(unknown))


def _why_unknown(samples: int | None, epochs: float | None, data: list[DatasetUse]) -> list[str]:
    """What keeps the amount of training open, in the words a user can act on."""
    out = []
    if samples is None:
        unsized = next((d for d in data if d.name != "FakeData" and not d.train_size), None)
        if unsized is not None:
            out.append(f"samples per epoch: {unsized.name} at {unsized.path}:{unsized.line} holds what is on disk "
                       "(set dataset-size in [tool.greenlint.models.<name>] or --dataset-size)")
        else:
            out.append("samples per epoch: no dataset of known size is loaded (set dataset-size or --dataset-size)")
    if epochs is None:
        out.append("epochs: no literal epoch count or step budget (set epochs or --epochs)")
    return out


def _literal_setting(interp: Interpreter, facts: FileFacts, names: tuple[str, ...]) -> tuple[Any, str] | None:
    namespace = interp.index.namespace(facts)
    for name in names:
        value = namespace.values.get(name)
        if _positive(value):
            return value, f"--{name} default, {namespace.sources[name]}"
    assigned = {a.target.lower(): a for a in facts.assignments if a.scope == "" and a.value.kind == "literal"}
    for name in names:
        assignment = assigned.get(name.lower())
        if assignment is not None and _positive(assignment.value.literal):
            return assignment.value.literal, f"{assignment.target} = {assignment.value.literal} at {facts.path}:{assignment.line}"
    for name in names:
        value = interp.lookup(name, Scope(facts, site=("", 10**9)))
        if _positive(value):
            return value, f"{name} = {value} in {facts.path}"
    return None


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _epochs(interp: Interpreter, files: list[FileFacts]) -> tuple[float, str] | None:
    for facts in files:
        for loop in facts.loops:
            if loop.kind != "for" or not loop.targets or loop.targets[0].lower() not in ("epoch", "ep", "e", "epoch_idx", "i_epoch"):
                continue
            if loop.iter is None or loop.iter.kind != "call" or loop.iter.text != "range":
                continue
            args = [value_to_node(a.value, interp.index.import_roots(facts)) for a in loop.iter.args]
            values = [interp.eval(node, Scope(facts, site=(loop.scope, loop.line))) for node in args]
            if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
                count = len(range(*values))
                if count > 0:
                    return float(count), f"for {loop.targets[0]} in range(...) at {facts.path}:{loop.line}"
        for call in facts.calls:
            for keyword, owners in EPOCH_KEYWORDS.items():
                if call.method in owners or call.name.endswith(owners):
                    value = call.keyword(keyword)
                    if value is not None and value.kind == "literal" and _positive(value.literal):
                        return float(value.literal), f"{call.method}({keyword}={value.literal}) at {facts.path}:{call.line}"
        found = _literal_setting(interp, facts, EPOCH_NAMES)
        if found is not None:
            return float(found[0]), found[1]
    return None


def _steps(interp: Interpreter, files: list[FileFacts], unknown: list[str]) -> tuple[int, str] | None:
    for facts in files:
        steps = _literal_setting(interp, facts, STEP_NAMES)
        batch = _literal_setting(interp, facts, BATCH_NAMES)
        if steps is None or batch is None:
            continue
        accumulation = _literal_setting(interp, facts, ACCUMULATION_NAMES)
        set_at = next((a for a in facts.assignments if a.target in ACCUMULATION_NAMES), None)
        if accumulation is None and set_at is not None:
            unknown.append(f"steps: {steps[0]:,} steps of batch {batch[0]}, but {set_at.target} at {facts.path}:{set_at.line} "
                           "is not a literal, so the samples per step are unknown")
            continue
        factor = int(accumulation[0]) if accumulation is not None else 1
        total = int(steps[0]) * int(batch[0]) * factor
        parts = [f"{steps[0]:,} steps ({steps[1]})", f"batch {batch[0]}"]
        if accumulation is not None:
            parts.append(f"x {factor} accumulation steps")
        return total, " x ".join(parts[:2]) + (f" {parts[2]}" if len(parts) > 2 else "") + f" = {total:,} samples"
    return None
