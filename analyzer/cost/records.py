"""Plain records model code builds its settings into: ``collections.namedtuple`` classes
and ``types.SimpleNamespace``.

``AttentionConfig = namedtuple("AttentionConfig", ["enable_flash", "enable_math"])``
followed by ``self.cpu_config = AttentionConfig(True, True)`` holds flags, not layers;
without these, such a model's construction would stop at the first record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from greenlint.analyzer.cost.values import ConfigObject, Unknown

if TYPE_CHECKING:
    from greenlint.analyzer.cost.interpreter import Interpreter


@dataclass(frozen=True, slots=True)
class RecordType:
    """A ``namedtuple`` class: its name and field names, in order."""

    name: str
    fields: tuple[str, ...]

    def build(self, args: list[Any], kwargs: dict[str, Any]) -> ConfigObject | Unknown:
        if len(args) > len(self.fields):
            return Unknown(f"{self.name}() takes {len(self.fields)} fields, got {len(args)}")
        values = dict(zip(self.fields, args))
        values.update({k: v for k, v in kwargs.items() if k in self.fields})
        missing = [f for f in self.fields if f not in values]
        if missing:
            return Unknown(f"{self.name}() is missing {', '.join(missing)}")
        return ConfigObject(self.name, {f: values[f] for f in self.fields}, record=True)


def namedtuple(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """``namedtuple("Name", ["a", "b"])`` or ``namedtuple("Name", "a b")``."""
    name = args[0] if args else kwargs.get("typename")
    fields = args[1] if len(args) > 1 else kwargs.get("field_names")
    if isinstance(fields, str):
        fields = fields.replace(",", " ").split()
    if not isinstance(name, str) or not isinstance(fields, (list, tuple)) or not all(isinstance(f, str) for f in fields):
        return Unknown("namedtuple() with fields the source does not fix")
    return RecordType(name, tuple(fields))


def simple_namespace(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """``SimpleNamespace(a=1)``: attributes only."""
    return ConfigObject("SimpleNamespace", dict(kwargs))


HANDLERS = {
    "collections.namedtuple": namedtuple,
    "typing.NamedTuple": namedtuple,
    "types.SimpleNamespace": simple_namespace,
    "argparse.Namespace": simple_namespace,
}
