"""The project as a whole: every file's facts, and a call graph to follow code across modules.

Rules that must look beyond one file ("is a checkpoint saved by a helper this loop calls?",
"does the project quantize anywhere?") ask the project. The graph is a networkx DiGraph
whose nodes are functions (``module:qualname``) plus one ``module:`` node per module for
module-level code; an edge means "calls". It is built on first use from cached facts, so
a pre-commit run on one changed file still sees what its helpers do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

import networkx as nx

from greenlint.analyzer.facts import Call, FileFacts, Function

T = TypeVar("T")


def function_key(module: str, qualname: str) -> str:
    return f"{module}:{qualname}"


@dataclass(frozen=True, slots=True)
class Located:
    """A call together with the file it is in."""

    file: FileFacts
    call: Call


@dataclass
class Project:
    """All analysed files of a project, keyed by their path relative to the root."""

    root: str
    files: dict[str, FileFacts] = field(default_factory=dict)
    #: The opening words of the top-level README (``purpose.read_opening``): what the
    #: project says it is for.
    readme_opening: str = ""
    #: The dependency that holds the project to PyTorch 1.x (``dependencies.read_torch_pin``),
    #: "" when none does: advice needing PyTorch 2 is no advice there.
    torch_pin: str = ""
    #: Answers several rules ask of the same file (``derived``), computed once per run.
    _derived: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False, compare=False)

    def derived(self, question: str, facts: FileFacts | None, compute: Callable[[], T]) -> T:
        """``compute()`` for this file (for the whole project, with ``None``) the first time
        any rule asks ``question``, then the stored answer: for costly answers several
        rules or files need."""
        key = (question, facts.path if facts is not None else "")
        if key not in self._derived:
            self._derived[key] = compute()
        return self._derived[key]

    # -- lookups --------------------------------------------------------------------

    def python_files(self) -> Iterator[FileFacts]:
        for path in sorted(self.files):
            facts = self.files[path]
            if facts.kind == "python":
                yield facts

    def config_files(self) -> Iterator[FileFacts]:
        for path in sorted(self.files):
            facts = self.files[path]
            if facts.kind == "config":
                yield facts

    @cached_property
    def modules(self) -> dict[str, list[FileFacts]]:
        """Module name -> facts, also under every dotted suffix (``src.pkg.m`` as ``pkg.m``).

        Scripts import siblings by short names (``from utils import x``) that depend on
        how they are run, so each module is findable by every suffix of its dotted name.
        """
        index: dict[str, list[FileFacts]] = {}
        for facts in self.python_files():
            parts = facts.module.split(".")
            for start in range(len(parts)):
                index.setdefault(".".join(parts[start:]), []).append(facts)
        return index

    @cached_property
    def functions(self) -> dict[str, tuple[FileFacts, Function]]:
        index = {}
        for facts in self.python_files():
            for function in facts.functions:
                index[function_key(facts.module, function.qualname)] = (facts, function)
        return index

    def module_of(self, name: str, near: FileFacts | None = None) -> FileFacts | None:
        """The module ``name`` most likely means when imported from ``near``."""
        candidates = self.modules.get(name)
        if not candidates:
            return None
        if len(candidates) == 1 or near is None:
            return candidates[0]
        return max(candidates, key=lambda c: (c.module == name, _shared_prefix(c.path, near.path)))

    # -- call resolution ------------------------------------------------------------

    def resolve_call(self, facts: FileFacts, call: Call) -> str | None:
        """The project function a call reaches (``module:qualname``), if it is one."""
        name = call.name
        if not name or name.startswith("?"):
            return None
        if "." not in name:
            return self._resolve_bare(facts, name, call.scope) or self._instance_call(facts, name, call.scope)
        head, _, rest = name.partition(".")
        if head == "self" and "." not in rest and call.scope:
            owner = call.scope.split(".")[0]
            key = function_key(facts.module, f"{owner}.{rest}")
            return key if key in self.functions else None
        qualified = self.resolve_qualified(name, facts)
        if qualified is None and "." not in rest and head not in facts.imports:
            return self._instance_method(facts, head, rest, call.scope)
        return qualified

    def _instance_call(self, facts: FileFacts, name: str, scope: str) -> str | None:
        """``early_stopping(val_loss, model, path)`` after ``early_stopping = EarlyStopping(...)``:
        the ``__call__`` of the project class every binding of the name in reach builds."""
        return self._instance_method(facts, name, "__call__", scope)

    def _instance_method(self, facts: FileFacts, name: str, method: str, scope: str) -> str | None:
        """``trainer.run_train()`` after ``trainer = BiEncoderTrainer(cfg)``: the method of
        the project class that every binding of ``name`` in reach of ``scope`` builds."""
        bound = {cls for bound_scope, cls in self._constructed(facts).get(name, ())
                 if not bound_scope or bound_scope == scope or scope.startswith(bound_scope + ".")}
        if len(bound) != 1:
            return None
        (cls,) = bound
        local = function_key(facts.module, f"{cls}.{method}")
        return local if local in self.functions else self.resolve_qualified(f"{cls}.{method}", facts)

    def _constructed(self, facts: FileFacts) -> dict[str, list[tuple[str, str]]]:
        """Plain name -> (scope, called name) of each ``name = Something(...)`` in the file,
        indexed once: calls on local objects are many, and each would otherwise scan every
        assignment."""
        def index() -> dict[str, list[tuple[str, str]]]:
            by_name: dict[str, list[tuple[str, str]]] = {}
            for a in facts.assignments:
                if "." not in a.target and a.value.kind == "call" and a.value.text:
                    by_name.setdefault(a.target, []).append((a.scope, a.value.text))
            return by_name
        return self.derived("constructed objects", facts, index)

    def _resolve_bare(self, facts: FileFacts, name: str, scope: str) -> str | None:
        """A bare name as Python looks it up: a function nested in the calling function or in
        one enclosing it (``def train(epoch)`` inside ``main_worker``), then the module's.
        A class body is no enclosing scope: ``helper()`` in a method is never the class's
        own ``helper``. Last, the names a star import brings (``from util import *``)."""
        parts = scope.split(".") if scope else []
        for cut in range(len(parts), 0, -1):
            enclosing = ".".join(parts[:cut])
            if function_key(facts.module, enclosing) not in self.functions:
                continue  # a class, whose names a method does not see
            key = function_key(facts.module, f"{enclosing}.{name}")
            if key in self.functions:
                return key
        key = function_key(facts.module, name)
        if key in self.functions:
            return key
        for module in self._star_imported(facts):  # from util import *: util's names, re-exports too
            if (found := self.resolve_qualified(f"{module}.{name}", facts)) is not None:
                return found
        return None

    def _star_imported(self, facts: FileFacts) -> tuple[str, ...]:
        """The modules the file star-imports, found once: every bare call the file's own
        functions do not define (``print``, ``len``) asks."""
        return self.derived("star imports", facts,
                            lambda: tuple(module for alias, module in facts.imports.items() if alias.startswith("*")))

    def resolve_qualified(self, name: str, near: FileFacts, depth: int = 0) -> str | None:
        """``pkg.mod.func`` -> ``pkg.mod:func``, following re-exports in ``__init__`` modules."""
        parts = name.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            target = self.module_of(".".join(parts[:cut]), near)
            if target is None:
                continue
            qualname = ".".join(parts[cut:])
            key = function_key(target.module, qualname)
            if key in self.functions:
                return key
            reexported = target.imports.get(parts[cut])
            if reexported and depth < 4 and reexported != name:
                rest = ".".join([reexported, *parts[cut + 1 :]])
                return self.resolve_qualified(rest, target, depth + 1)
            return None
        return None

    @cached_property
    def call_sites(self) -> dict[str, list[Located]]:
        """Project function -> every call that reaches it, resolved once for all rules."""
        sites: dict[str, list[Located]] = {}
        for facts in self.python_files():
            for call in facts.calls:
                callee = self.resolve_call(facts, call)
                if callee is not None:
                    sites.setdefault(callee, []).append(Located(facts, call))
        return sites

    @cached_property
    def graph(self) -> nx.DiGraph:
        graph = nx.DiGraph()
        graph.add_nodes_from(self.functions)
        for facts in self.python_files():
            graph.add_node(function_key(facts.module, ""))
        for callee, sites in self.call_sites.items():
            for site in sites:
                graph.add_edge(function_key(site.file.module, site.call.scope), callee)
        return graph

    def reachable(self, facts: FileFacts, calls: Iterable[Call]) -> set[str]:
        """Project functions reachable from the given calls, transitively."""
        start = {key for call in calls if (key := self.resolve_call(facts, call)) is not None}
        reached = set(start)
        for key in start:
            reached |= nx.descendants(self.graph, key)
        return reached

    def calls_in_functions(self, keys: Iterable[str]) -> Iterator[Located]:
        """Every call made in the bodies of the given project functions."""
        by_file: dict[str, set[str]] = {}
        for key in keys:
            if key in self.functions:
                facts, function = self.functions[key]
                by_file.setdefault(facts.path, set()).add(function.qualname)
        for path, scopes in sorted(by_file.items()):
            facts = self.files[path]
            for call in facts.calls:
                if call.scope in scopes:
                    yield Located(facts, call)

    def callers(self, key: str) -> set[str]:
        """Functions (and ``module:`` nodes) that call ``key`` directly or transitively."""
        if key not in self.graph:
            return set()
        return nx.ancestors(self.graph, key)

    @cached_property
    def importers(self) -> dict[str, set[str]]:
        """Module name -> paths of project files that import it, directly or through a
        package whose ``__init__`` re-exports it (``from util import *`` in ``main.py``,
        ``from .engine import train_one_epoch`` in ``util/__init__.py``)."""
        index: dict[str, set[str]] = {}
        for facts in self.python_files():
            for target in self.imported_files(facts):
                index.setdefault(target.module, set()).add(facts.path)
        for _ in range(2):  # a package of packages: two levels
            for module, paths in index.items():
                for path in list(paths):
                    if path.endswith("__init__.py"):
                        package = self.files[path]
                        paths |= {user for user in index.get(package.module, set())
                                  if _uses_reexport(self.files[user], package, module)}
        return index

    def with_importers(self, facts: FileFacts) -> list[FileFacts]:
        """The file and the project modules that import it: one program, for questions
        whose answer may sit in the script that runs a helper module."""
        return [facts, *(self.files[path] for path in self.importers.get(facts.module, ()))]

    def imported_files(self, facts: FileFacts) -> list[FileFacts]:
        """The project modules a file imports (each once, in import order), not itself."""
        found: dict[str, FileFacts] = {}
        for qualified in facts.imports.values():
            parts = qualified.split(".")
            for cut in range(len(parts), 0, -1):
                target = self.module_of(".".join(parts[:cut]), facts)
                if target is not None and target.path != facts.path:
                    found.setdefault(target.path, target)
                    break
        return list(found.values())


def _shared_prefix(a: str, b: str) -> int:
    """How many leading directories two relative paths share."""
    count = 0
    for x, y in zip(a.split("/")[:-1], b.split("/")[:-1]):
        if x != y:
            break
        count += 1
    return count


def _uses_reexport(user: FileFacts, package: FileFacts, module: str) -> bool:
    """Does ``user`` take from ``package`` a name its ``__init__`` imports from ``module``
    (``from util import train_one_epoch``, or ``from util import *``)? Importing a
    library's top package is not using every module it re-exports."""
    names = {alias for alias, qualified in package.imports.items()
             if qualified == module or qualified.startswith(module + ".")}
    prefix = package.module + "."
    for alias, qualified in user.imports.items():
        if alias == f"*{package.module}":
            return True
        if qualified.startswith(prefix) and qualified[len(prefix):].split(".")[0] in names:
            return True
    return False
