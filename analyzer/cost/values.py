"""The abstract values the cost model computes with, instead of running user code.

A model is evaluated over shapes, not data: a tensor is its shape, a layer is its
constructor arguments and parameter shapes, and anything the source does not determine
(a vocabulary read from disk, a width passed on the command line without a default) is
an ``Unknown`` that carries the reason, so the estimate can say why it stops.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from greenlint.analyzer.cost.layers import LayerSpec
    from greenlint.analyzer.facts import FileFacts
    from greenlint.analyzer.model_facts import Method, ModelClass


class EvalError(Exception):
    """The code cannot be followed on this path (a shape mismatch, a ``raise``)."""


@dataclass(frozen=True, slots=True)
class Unknown:
    """A value the source alone does not determine; ``reason`` says which and where.

    ``inert`` marks values that cannot hold parameters (a path from ``os.environ``, a
    torchvision transform, a metric, a dataset's length): storing one on a model does not
    make its parameter count unknown.
    """

    reason: str
    inert: bool = False

    def because(self, reason: str) -> Unknown:
        """The same unknown, explained by a longer chain of where it came from."""
        return Unknown(reason, self.inert)

    def __repr__(self) -> str:
        return f"<unknown: {self.reason}>"


def is_unknown(value: Any) -> bool:
    return isinstance(value, Unknown)


@dataclass(frozen=True, slots=True)
class Tensor:
    """A tensor, known by its shape; ``integer`` for index tensors (token ids, masks)."""

    shape: tuple[int, ...]
    integer: bool = False

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def with_shape(self, shape: tuple[int, ...] | list[int]) -> Tensor:
        return Tensor(tuple(shape), self.integer)


@dataclass(eq=False, slots=True)
class Param:
    """One ``nn.Parameter``; identity matters, so a tied weight is counted once."""

    shape: tuple[Any, ...]

    @property
    def numel(self) -> int | Unknown:
        total = 1
        for dim in self.shape:
            if isinstance(dim, Unknown):
                return dim
            total *= dim
        return total

    def as_tensor(self) -> Tensor | Unknown:
        for dim in self.shape:
            if isinstance(dim, Unknown):
                return dim
        return Tensor(tuple(self.shape))


@dataclass(eq=False)
class Layer:
    """A built-in ``torch.nn`` layer: its bound constructor arguments, parameters, children."""

    spec: LayerSpec
    args: dict[str, Any]
    params: dict[str, Param | None] = field(default_factory=dict)
    children: dict[str, Any] = field(default_factory=dict)
    #: Attributes set on the layer after construction (``layer.flag = True``).
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.spec.name


@dataclass(eq=False)
class Instance:
    """An instance of a project ``nn.Module`` subclass being built or run."""

    cls: ModelClass
    facts: FileFacts
    attrs: dict[str, Any] = field(default_factory=dict)
    #: The built-in layer a class extends (``class Net(nn.Sequential)``), once initialised.
    base_layer: Layer | None = None


@dataclass(eq=False)
class ConfigObject:
    """A config instance: a dataclass, a Hugging Face config, a namespace of settings."""

    name: str
    attrs: dict[str, Any] = field(default_factory=dict)
    cls: ModelClass | None = None
    facts: FileFacts | None = None
    #: A tuple-like record (a namedtuple, a model output): indexed and unpacked by position.
    record: bool = False


@dataclass(frozen=True, slots=True)
class ClassRef:
    """A project class, callable to build an instance."""

    cls: ModelClass
    facts: FileFacts


@dataclass(frozen=True, slots=True)
class Function:
    """A function written in the project (a helper, or a method before binding)."""

    method: Method
    facts: FileFacts
    owner: ModelClass | None = None


@dataclass(eq=False, slots=True)
class Lambda:
    """A ``lambda`` with the scope it closes over (read when called, as Python does)."""

    params: tuple[str, ...]
    body: Any
    defaults: tuple[Any, ...]
    closure: Any


@dataclass(frozen=True, slots=True)
class BoundMethod:
    """A method of an instance (project method, or a built-in on a layer or tensor)."""

    receiver: Any
    function: Any
    name: str = ""


@dataclass(frozen=True, slots=True)
class Ref:
    """A library object the cost model knows only by name (``torch.float32``, ``math``)."""

    name: str


@dataclass(frozen=True, slots=True)
class Builtin:
    """A library or Python function the cost model implements (``F.relu``, ``len``)."""

    name: str


@dataclass(frozen=True, slots=True)
class Super:
    """``super()`` inside a method of ``cls``."""

    receiver: Any
    cls: ModelClass


@dataclass
class Tally:
    """MACs counted so far by op family, and why the count may be incomplete."""

    macs: Counter[str] = field(default_factory=Counter)
    incomplete: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, op: str, macs: int) -> None:
        if macs:
            self.macs[op] += int(macs)

    def copy(self) -> Tally:
        return Tally(Counter(self.macs), list(self.incomplete), list(self.notes))

    @property
    def total(self) -> int:
        return sum(self.macs.values())

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def missing(self, text: str) -> None:
        if text not in self.incomplete:
            self.incomplete.append(text)


def describe(value: Any) -> str:
    """A short human rendering of a value, for messages."""
    if isinstance(value, Unknown):
        return f"unknown ({value.reason})"
    if isinstance(value, Tensor):
        return "x".join(map(str, value.shape)) or "scalar"
    if isinstance(value, Layer):
        return f"nn.{value.kind}"
    if isinstance(value, Instance):
        return value.cls.name
    return repr(value)[:60]
