"""Where names get their values: a class's module, a call site, the whole project.

Inside a model class, names come from the method's locals, then the module-level
assignments and helpers captured with the class (``model_facts``), then project classes.
At a call site (``model = GPT(GPTConfig(**model_args))`` in a training script), names
come from the file's facts: the last assignment before the call in the same function or
at module level, the call that produced it, and argparse defaults for ``args.x``. Every
lookup that fails returns an ``Unknown`` naming what was missing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from greenlint.analyzer.cost.values import ClassRef, Function, Ref, Unknown
from greenlint.analyzer.facts import Assignment, Call, FileFacts, Value
from greenlint.analyzer.model_facts import Global, ModelClass, Node
from greenlint.analyzer.project import Project

#: Option names whose parsed values the cost model reads through ``args.x``.
ADD_ARGUMENT = "add_argument"


@dataclass
class ArgNamespace:
    """``parser.parse_args()`` as its defaults: dest -> default (or Unknown)."""

    path: str
    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        return Unknown(f"command-line option '{name}' is not declared in {self.path}")


def argparse_defaults(facts: FileFacts) -> ArgNamespace:
    """Defaults of every ``add_argument`` call in a file (one parser per file assumed)."""
    namespace = ArgNamespace(facts.path)
    for call in facts.calls:
        if call.method != ADD_ARGUMENT:
            continue
        flags = [a.value.literal for a in call.args if a.keyword is None and a.value.kind == "literal" and isinstance(a.value.literal, str)]
        if not flags:
            continue
        dest_value = call.keyword("dest")
        if dest_value is not None and dest_value.kind == "literal":
            dest = str(dest_value.literal)
        else:
            longs = [f for f in flags if f.startswith("--")]
            chosen = longs[0] if longs else flags[0]
            dest = chosen.lstrip("-").replace("-", "_")
        namespace.values[dest] = _option_default(call)
        namespace.sources[dest] = f"{facts.path}:{call.line} ({flags[-1]})"
    return namespace


def _option_default(call: Call) -> Any:
    action = call.keyword("action")
    default = call.keyword("default")
    if action is not None and action.kind == "literal":
        if action.literal == "store_true":
            return default.literal if default is not None and default.kind == "literal" else False
        if action.literal == "store_false":
            return default.literal if default is not None and default.kind == "literal" else True
    if default is None:
        required = call.keyword("required")
        if required is not None and required.kind == "literal" and required.literal is True:
            return Unknown(f"required option at line {call.line} has no default")
        return None
    if not default.is_literal:
        return Unknown(f"default of the option at line {call.line} is not literal")
    value = default.to_python()
    kind = call.keyword("type")
    if isinstance(value, str) and kind is not None and kind.kind == "name" and kind.text in ("int", "float"):
        try:
            return int(value) if kind.text == "int" else float(value)
        except ValueError:
            return Unknown(f"default {value!r} is not a number")
    return value


def value_to_node(value: Value | None, imports: frozenset[str]) -> Node:
    """A fact's ``Value`` as an expression the evaluator runs."""
    if value is None:
        return Node("const", None)
    kind = value.kind
    if kind == "literal":
        return Node("const", value.literal)
    if kind in ("name", "attribute"):
        return dotted_node(value.text, imports)
    if kind == "call":
        callee = dotted_node(value.text, imports) if value.text else Node("unknown", "a call on an expression")
        args: list[Node] = []
        for arg in value.args:
            inner = value_to_node(arg.value, imports)
            if arg.keyword == "*":
                args.append(Node("star", None, (inner,)))
            elif arg.keyword == "**":
                args.append(Node("dstar", None, (inner,)))
            elif arg.keyword is not None:
                args.append(Node("kw", arg.keyword, (inner,)))
            else:
                args.append(inner)
        return Node("call", None, (callee, *args))
    if kind == "list":
        return Node("tuple", None, tuple(value_to_node(item, imports) for item in value.items))
    if kind == "dict":
        items: list[Node] = []
        for key, item in zip(value.keys, value.items):
            if key is None:
                return Node("unknown", "a dict with computed keys")
            items.extend((Node("const", key), value_to_node(item, imports)))
        return Node("dict", None, tuple(items))
    if kind == "subscript":
        return Node("unknown", f"an item of {value.text}")
    if kind == "other":  # an operator expression the fact layer summarises without its parts
        return Node("unknown", value.text or "an operator expression in a script")
    return Node("unknown", value.text or kind)


def dotted_node(text: str, imports: frozenset[str]) -> Node:
    """``torch.nn.Linear`` (an import) as a ref; ``args.lr`` (a local) as attributes."""
    if any(text == q or text.startswith(q + ".") for q in imports):
        return Node("ref", text)
    parts = text.split(".")
    node = Node("name", parts[0])
    for part in parts[1:]:
        node = Node("attr", part, (node,))
    return node


def call_node(call: Call, imports: frozenset[str]) -> Node:
    return value_to_node(Value("call", text=call.name if not call.name.startswith("?") else "", args=call.args), imports)


class ProjectIndex:
    """Project classes by module and name, and per-module name tables, built once."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.classes: dict[tuple[str, str], tuple[ModelClass, FileFacts]] = {}
        self.globals: dict[str, dict[str, Global]] = {}
        self.argparse: dict[str, ArgNamespace] = {}
        self.imports: dict[str, frozenset[str]] = {}
        #: Per-project answers every model's estimate asks again, computed once: where
        #: project classes are built, the datasets each file loads, module-level names.
        self.sites: list[Any] | None = None
        self.dataset_uses: dict[str, list[Any]] = {}
        self.module_names: dict[str, dict[str, Assignment]] = {}
        for facts in project.python_files():
            table: dict[str, Global] = {}
            for model in facts.models:
                if isinstance(model, ModelClass):
                    self.classes.setdefault((facts.module, model.name), (model, facts))
                    for item in model.globals:
                        table.setdefault(item.name, item)
            self.globals[facts.path] = table

    def class_in(self, facts: FileFacts, name: str) -> ClassRef | None:
        found = self.classes.get((facts.module, name))
        return ClassRef(*found) if found is not None else None

    def namespace(self, facts: FileFacts) -> ArgNamespace:
        if facts.path not in self.argparse:
            self.argparse[facts.path] = argparse_defaults(facts)
        return self.argparse[facts.path]

    def module_assignment(self, facts: FileFacts, name: str) -> Assignment | None:
        """The last module-level assignment of ``name`` in a file, through a per-file table."""
        table = self.module_names.get(facts.path)
        if table is None:
            table = {a.target: a for a in facts.assignments if a.scope == ""}
            self.module_names[facts.path] = table
        return table.get(name)

    def import_roots(self, facts: FileFacts) -> frozenset[str]:
        if facts.path not in self.imports:
            self.imports[facts.path] = frozenset(facts.imports.values())
        return self.imports[facts.path]

    def resolve_ref(self, dotted: str, near: FileFacts, depth: int = 0) -> tuple[Any, list[str]]:
        """A project class (or function, or constant's fact) a dotted name reaches, and the
        attribute names left over; a library ``Ref`` when it is not the project's. Names a
        package re-exports (``from .vit import ViT`` in ``__init__.py``) are followed."""
        parts = dotted.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            target = self.project.module_of(".".join(parts[:cut]), near)
            if target is None:
                continue
            name, rest = parts[cut], parts[cut + 1 :]
            found = self.classes.get((target.module, name))
            if found is not None:
                return ClassRef(*found), rest
            item = self.globals.get(target.path, {}).get(name)
            if item is not None and item.function is not None:
                return Function(item.function, target), rest
            if item is not None:
                return ("global", target, item), rest
            assignment = self.module_assignment(target, name)
            if assignment is not None:
                return ("assignment", target, assignment), rest
            imported = target.imports.get(name)
            if imported is not None and imported != dotted and depth < 4:
                return self.resolve_ref(".".join([imported, *rest]), target, depth + 1)
            return Unknown(f"{dotted}, which the cost model does not follow (not a model or config class)"), []
        return Ref(dotted), []


def project_index(project: Project) -> ProjectIndex:
    """The project's index, built once however many files' estimates ask for it (every
    table in it is a function of the project's facts alone)."""
    return project.derived("cost model index", None, lambda: ProjectIndex(project))


def latest_assignment(facts: FileFacts, name: str, scope: str, line: int) -> Assignment | None:
    """The value ``name`` holds at ``line``: the function's last assignment before it, else
    the module's (any line, when the function runs after the module body)."""
    best: Assignment | None = None
    for assignment in facts.assignments:
        if assignment.target != name:
            continue
        if assignment.scope == scope and scope and assignment.line <= line:
            if best is None or best.scope != scope or assignment.line >= best.line:
                best = assignment
        elif assignment.scope == "" and (best is None or best.scope == ""):
            if scope or assignment.line <= line:
                if best is None or assignment.line >= best.line:
                    best = assignment
    return best


def call_assigned(facts: FileFacts, assignment: Assignment) -> Call | None:
    """The call whose result an assignment stored (its arguments live in the Call fact)."""
    best = None
    for call in facts.calls:
        if call.target == assignment.target and call.scope == assignment.scope and assignment.line <= call.line <= assignment.line + 8:
            if best is None or call.line < best.line or (call.line == best.line and call.column < best.column):
                best = call
    return best


def majority(values: list[Any]) -> tuple[Any, bool]:
    """The most common of several values (first on ties), and whether they disagreed."""
    keys = [repr(v) for v in values]
    counts = Counter(keys)
    best = max(counts.values())
    for value, key in zip(values, keys):
        if counts[key] == best:
            return value, len(counts) > 1
    return values[0], False
