"""What one sample looks like to a model, found without running anything.

In order: the user's configuration or ``--input-shape``; an example tensor the code
passes to the model (``model(torch.randn(1, 3, 224, 224))``, ``summary(model, (1, 28,
28))``, ``torch.onnx.export(model, dummy, ...)``); the dataset the code loads (MNIST is
1x28x28, CIFAR 3x32x32, an ImageNet-style pipeline crops to its CenterCrop or
RandomResizedCrop size); for token models, the context length in the model's config or
the script's settings. Every candidate says where it came from, and only one that the
model's forward accepts is kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from greenlint.analyzer.cost.interpreter import Interpreter, Scope
from greenlint.analyzer.cost.scopes import ProjectIndex, call_node, value_to_node
from greenlint.analyzer.cost.tables import table
from greenlint.analyzer.cost.values import ConfigObject, EvalError, Instance, Layer, Tensor, Unknown
from greenlint.analyzer.facts import Call, FileFacts

#: Config attributes and script settings that hold a context length.
SEQUENCE_NAMES = (
    "block_size", "max_seq_len", "max_seq_length", "seq_len", "seq_length", "sequence_length", "context_length",
    "n_ctx", "n_positions", "max_position_embeddings", "max_len", "max_length", "bptt", "ctx_len", "context_size",
)
#: Transforms whose size argument decides the image resolution, strongest last.
RESIZE = ("Resize", "RandomResizedCrop", "CenterCrop", "RandomCrop")
#: Calls that take a model and an example input: (callee suffix, argument index, batch included).
EXAMPLE_CALLS = (
    ("torchsummary.summary", 1, False), ("torchinfo.summary", 1, True), ("torch.onnx.export", 1, True),
    ("torch.jit.trace", 1, True), ("fvcore.nn.FlopCountAnalysis", 1, True), ("thop.profile", 1, True),
    ("ptflops.get_model_complexity_info", 1, False),
)


@dataclass(frozen=True, slots=True)
class InputShape:
    """One sample's shape (no batch dimension), whether it holds token ids, and why."""

    shape: tuple[int, ...]
    integer: bool
    source: str
    #: The example tensor's full shape, batch included, when one was found in the code:
    #: for sequence-first models the batch is its second dimension, not its first.
    example: tuple[int, ...] | None = None

    def describe(self) -> str:
        kind = " token ids" if self.integer else ""
        return f"{'x'.join(map(str, self.shape))}{kind}"


@dataclass(frozen=True, slots=True)
class DatasetUse:
    """A dataset the code loads, and the resolution its transforms give."""

    name: str
    shape: tuple[int, ...] | None
    train_size: int | None
    source: str
    line: int
    path: str


def parse_shape(text: str) -> tuple[int, ...]:
    """``3x224x224``, ``3,224,224`` or ``[3, 224, 224]`` -> (3, 224, 224)."""
    cleaned = text.strip().strip("[]()")
    parts = [p for p in cleaned.replace("x", ",").replace("X", ",").replace(" ", ",").split(",") if p]
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        shape = ()
    if not shape or any(d <= 0 for d in shape):
        raise ValueError(f"{text!r} is not a shape of positive whole numbers like 3x224x224")
    return shape


def example_inputs(interp: Interpreter, facts: FileFacts, variable: str | None) -> Iterator[InputShape]:
    """Tensors the code passes to the model held in ``variable``."""
    if not variable:
        return
    imports = interp.index.import_roots(facts)
    for call in facts.calls:
        index, batched = None, True
        if call.name in (variable, f"{variable}.forward"):
            index = 0
        else:
            for suffix, position, with_batch in EXAMPLE_CALLS:
                if call.name.endswith(suffix) and _first_is(call, variable):
                    index, batched = position, with_batch
                    break
        if index is None:
            continue
        argument = call.positional(index) or call.keyword("input_size") or call.keyword("inputs") or call.keyword("args")
        if argument is None:
            continue
        try:
            value = _argument_value(interp, facts, argument, Scope(facts, site=(call.scope, call.line)), imports)
        except EvalError:  # e.g. a batch size that is None unless given on the command line
            continue
        if isinstance(value, tuple) and len(value) >= 1 and not all(isinstance(v, int) for v in value):
            value = value[0]
        shape: tuple[int, ...] | None = None
        integer = False
        example = None
        if isinstance(value, Tensor) and value.ndim >= 1:
            shape, integer = (value.shape[1:] if value.ndim > 1 else value.shape), value.integer
            example = value.shape
        elif isinstance(value, (tuple, list)) and value and all(isinstance(v, int) for v in value):
            shape = tuple(value[1:]) if batched else tuple(value)
        if shape:
            yield InputShape(tuple(shape), integer, f"example input at {facts.path}:{call.line}", example)


def _argument_value(interp: Interpreter, facts: FileFacts, argument: Any, scope: Scope, imports: frozenset[str]) -> Any:
    """What the example argument evaluates to: a creation call's tensor, or anything else."""
    value = _creation(interp, facts, argument, scope)
    return interp.eval(value_to_node(argument, imports), scope) if value is None else value


CREATION = ("torch.randn", "torch.rand", "torch.zeros", "torch.ones", "torch.empty", "torch.randint", "torch.full")


def _creation(interp: Interpreter, facts: FileFacts, argument: Any, scope: Scope) -> Tensor | None:
    """``torch.randn(batch_size, nz, 1, 1)``: the shape even when only the batch size is unknown."""
    from greenlint.analyzer.cost.scopes import call_assigned, latest_assignment

    call: Call | None = None
    if argument.kind == "name":
        assignment = latest_assignment(facts, argument.text, scope.site[0] if scope.site else "", scope.site[1] if scope.site else 10**9)
        if assignment is not None and assignment.value.kind == "call":
            call = call_assigned(facts, assignment)
    if call is None or call.name not in CREATION:
        return None
    imports = interp.index.import_roots(facts)
    inner = Scope(facts, site=(call.scope, call.line))
    positional = [a.value for a in call.args if a.keyword is None]
    if call.name == "torch.randint":
        size = call.keyword("size") or next((v for v in positional if v.kind == "list"), None)
        values = [interp.eval(value_to_node(v, imports), inner) for v in size.items] if size is not None and size.kind == "list" else []
        integer = True
    else:
        if len(positional) == 1 and positional[0].kind == "list":
            positional = list(positional[0].items)
        values = [interp.eval(value_to_node(v, imports), inner) for v in positional]
        integer = False
    if len(values) < 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in values[1:]):
        return None
    batch = values[0] if isinstance(values[0], int) and not isinstance(values[0], bool) else 1
    return Tensor((batch, *values[1:]), integer)


def _first_is(call: Call, variable: str) -> bool:
    first = call.positional(0) or call.keyword("model")
    return first is not None and first.kind in ("name", "attribute") and first.text == variable


def datasets(interp: Interpreter, facts: FileFacts) -> list[DatasetUse]:
    """Datasets a file loads, with the resolution its transforms set (once per file)."""
    found = interp.index.dataset_uses.get(facts.path)
    if found is None:
        found = interp.index.dataset_uses[facts.path] = _datasets(interp, facts)
    return found


def _datasets(interp: Interpreter, facts: FileFacts) -> list[DatasetUse]:
    known = {loader: row for row in table("datasets") for loader in row.get("loaders", [])}
    size = _transform_size(interp, facts)
    found = []
    for call in facts.calls:
        row = known.get(call.name)
        if row is None:
            short = call.name.removeprefix("torchvision.datasets.")
            row = known.get(f"torchvision.datasets.{short}") if call.name.startswith("datasets.") else None
        if row is None:
            continue
        shape = tuple(row["shape"]) if row.get("shape") else None
        source = f"{row['name']} loaded at {facts.path}:{call.line}"
        if size is not None:
            channels = shape[0] if shape else 3
            shape = (channels, size[0], size[1])
            source += f", {size[2]} at line {size[3]}"
        found.append(DatasetUse(row["name"], shape, row.get("train_size"), source, call.line, facts.path))
    found.sort(key=lambda d: d.name == "FakeData")  # synthetic data stands in for the real set
    names = list(dict.fromkeys(d.name for d in found))
    if len(names) > 1:
        found = [replace(d, source=f"{d.source} (the code loads one of {', '.join(names)}; the first is assumed)") for d in found]
    return found


def _transform_size(interp: Interpreter, facts: FileFacts) -> tuple[int, int, str, int] | None:
    """The image size the last resizing transform of a file produces."""
    best: tuple[int, tuple[int, int, str, int]] | None = None
    imports = interp.index.import_roots(facts)
    for call in facts.calls:
        if not call.name.startswith(("torchvision.transforms", "transforms.", "T.")) or call.method not in RESIZE:
            continue
        argument = call.argument("size", 0)
        if argument is None:
            continue
        value = interp.eval(value_to_node(argument, imports), Scope(facts, site=(call.scope, call.line)))
        if isinstance(value, int) and not isinstance(value, bool):
            size = (value, value)
        elif isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, int) for v in value):
            size = (value[0], value[1])
        else:
            continue
        rank = RESIZE.index(call.method)
        if best is None or rank >= best[0]:
            best = (rank, (size[0], size[1], f"{call.method}({size[0] if size[0] == size[1] else size})", call.line))
    return best[1] if best is not None else None


def sequence_length(interp: Interpreter, model: Any, facts_list: list[FileFacts]) -> InputShape | None:
    """A context length from the model's config object, else from a script's settings."""
    for holder in _configs(model):
        for name in SEQUENCE_NAMES:
            value = holder.attrs.get(name)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return InputShape((value,), True, f"{holder.name}.{name} = {value}")
    if isinstance(model, Instance):
        for name in SEQUENCE_NAMES:
            value = model.attrs.get(name)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return InputShape((value,), True, f"{model.cls.name}.{name} = {value}")
    for facts in facts_list:
        namespace = interp.index.namespace(facts)
        for name in SEQUENCE_NAMES:
            value = namespace.values.get(name)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return InputShape((value,), True, f"--{name} default {value} ({namespace.sources[name]})")
        for name in SEQUENCE_NAMES:
            value = interp.lookup(name, Scope(facts, site=("", 10**9)))
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return InputShape((value,), True, f"{name} = {value} in {facts.path}")
    return None


def _configs(model: Any) -> Iterator[ConfigObject]:
    if isinstance(model, Instance):
        for value in model.attrs.values():
            if isinstance(value, ConfigObject):
                yield value


def sequence_first(model: Any) -> bool:
    """Does the model feed a sequence-first (``batch_first=False``) attention or RNN layer?"""
    from greenlint.analyzer.cost.interpreter import submodules

    for module in submodules(model):
        if isinstance(module, Layer) and module.kind in ("MultiheadAttention", "TransformerEncoderLayer",
                                                         "TransformerDecoderLayer", "RNN", "LSTM", "GRU"):
            return module.args.get("batch_first") is not True
    return False


def call_as_node(call: Call, index: ProjectIndex, facts: FileFacts) -> Any:
    return call_node(call, index.import_roots(facts))


__all__ = ["DatasetUse", "InputShape", "Unknown", "datasets", "example_inputs", "parse_shape", "sequence_first", "sequence_length"]
