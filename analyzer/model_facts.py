"""Facts about model and config classes, for the cost model.

A model's cost lives in code, not in names: the widths passed to its layer constructors,
the defaults of a config dataclass, the loop that stacks ``n_layer`` blocks, and the
reshapes in ``forward``. So each ``nn.Module`` subclass (and each config-like class) is
kept as a small expression tree of its ``__init__``, ``forward`` and the methods they
reach, plus the module-level names they read (constants, helper functions, the argparse
namespace). The cost model evaluates that tree later, abstractly, without importing or
running anything. The tree is plain frozen data, so it is cached and pickled with the
rest of a file's facts; bodies beyond a size bound are dropped rather than kept whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import libcst as cst

from greenlint.analyzer.syntax_tree import (
    BINARY_OPERATORS,
    COMPARISON_OPERATORS,
    UNARY_OPERATORS,
    child_nodes,
    dotted,
    target_names,
)

#: Base classes (resolved through imports) that make a class a model.
MODEL_BASE_PREFIXES = (
    "torch.nn.", "nn.", "lightning.", "pytorch_lightning.", "pl.LightningModule", "L.LightningModule",
)
MODEL_BASES = frozenset({"Module", "LightningModule"})
#: Base classes of Hugging Face-style configs and argument holders.
CONFIG_BASE_SUFFIXES = ("Config", "PretrainedConfig", "PreTrainedConfig", "NamedTuple")
CONFIG_NAME_SUFFIXES = ("Config", "Configuration", "Args", "Arguments", "Params", "Hparams", "HParams", "Settings", "Options",
                        "CfgNode", "ConfigDict", "AttrDict")
#: Dataset base classes: a subclass is kept like a config (its sizes feed the model).
DATASET_BASES = frozenset({"Dataset", "IterableDataset"})
#: Packages whose classes are never project models (their bases stop the search).
LIBRARY_ROOTS = frozenset(
    {
        "torch", "tensorflow", "keras", "sklearn", "transformers", "lightning", "pytorch_lightning",
        "numpy", "jax", "flax", "timm", "torchvision", "abc", "enum", "typing", "dataclasses",
        "collections", "object", "Exception", "pydantic", "argparse",
    }
)
#: Size bounds that keep facts compact: statements per class, globals captured.
MAX_STATEMENTS = 1500
MAX_GLOBALS = 60
MAX_GLOBAL_DEPTH = 4


@dataclass(frozen=True, slots=True)
class Node:
    """An expression.

    ``kind`` is one of: ``const`` (``value`` is the Python literal), ``name`` (a local or
    module-level name), ``ref`` (a dotted name resolved through imports, ``torch.nn.Linear``),
    ``attr`` (``value`` the attribute, ``children[0]`` the object), ``call`` (``children[0]``
    the callee, then arguments; keyword arguments are ``kw`` nodes with ``value`` the name,
    ``*x`` is ``star`` and ``**x`` is ``dstar``), ``subscript`` (object, index), ``slice``
    (lower, upper, step; absent parts are ``const`` None), ``binop``/``unary``/``boolop``
    (``value`` the operator), ``compare`` (``value`` the tuple of operators), ``ifexp``
    (test, body, orelse), ``tuple``/``list``/``set``, ``dict`` (key, value, key, value ...;
    ``dstar`` entries unpack), ``comp`` (``value`` list/gen/set/dict; the element, or key
    and value for dict, then ``for`` nodes of target, iterable and conditions), ``lambda``
    (``value`` the parameter names; the body, then one default per parameter) and
    ``unknown`` (``value`` a short rendering of code the cost model does not follow).
    """

    kind: str
    value: Any = None
    children: tuple[Node, ...] = ()


@dataclass(frozen=True, slots=True)
class Statement:
    """A statement: ``assign`` (targets, value), ``augassign`` (op), ``expr``, ``return``,
    ``if`` (value is the test, body, orelse), ``for`` (targets[0] the target, value the
    iterable), ``with`` and ``try`` (body only), ``raise``, ``assert`` (value the test), ``pass``, ``break``,
    ``continue`` and ``unknown`` (a construct such as ``while`` that is not followed)."""

    kind: str
    targets: tuple[Node, ...] = ()
    value: Node | None = None
    body: tuple[Statement, ...] = ()
    orelse: tuple[Statement, ...] = ()
    op: str = ""


@dataclass(frozen=True, slots=True)
class Param:
    """A parameter of a method (``kind``: ``pos``, ``kwonly``, ``vararg``, ``kwarg``) or a
    class-level field (``kind`` ``field``); ``default`` is None when there is none."""

    name: str
    default: Node | None = None
    kind: str = "pos"


@dataclass(frozen=True, slots=True)
class Method:
    """A method or a module-level helper function."""

    name: str
    params: tuple[Param, ...]
    body: tuple[Statement, ...]
    decorators: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Global:
    """A module-level name a class reads: its assignments (``values``; ``conditional`` when
    made inside an ``if``/``try`` block at module level) or the function it names."""

    name: str
    values: tuple[tuple[Node, Node, bool], ...] = ()
    function: Method | None = None


@dataclass
class ModelClass:
    """An ``nn.Module`` subclass (``kind`` ``module``) or a config class (``config``).

    ``fields`` are class-level assignments and annotated fields with their defaults
    (a dataclass's fields, ``expansion = 4`` on a ResNet block). ``truncated`` says the
    bodies were too large to keep whole, so the cost model treats the class as unknown.
    """

    name: str
    bases: tuple[str, ...]
    kind: str
    methods: tuple[Method, ...] = ()
    fields: tuple[Param, ...] = ()
    globals: tuple[Global, ...] = ()
    dataclass: bool = False
    truncated: bool = False
    line: int = 0
    column: int = 0

    def method(self, name: str) -> Method | None:
        for method in self.methods:
            if method.name == name:
                return method
        return None

    def global_named(self, name: str) -> Global | None:
        for item in self.globals:
            if item.name == name:
                return item
        return None


NONE = Node("const", None)

_AUGMENTED = {
    cst.AddAssign: "+", cst.SubtractAssign: "-", cst.MultiplyAssign: "*", cst.DivideAssign: "/",
    cst.FloorDivideAssign: "//", cst.ModuloAssign: "%", cst.PowerAssign: "**", cst.MatrixMultiplyAssign: "@",
    cst.BitAndAssign: "&", cst.BitOrAssign: "|", cst.BitXorAssign: "^", cst.LeftShiftAssign: "<<",
    cst.RightShiftAssign: ">>",
}


class _Converter:
    """Turns libcst nodes into ``Node``/``Statement`` trees for one function body.

    ``bound`` holds the names local to the function: they are never resolved through
    imports, so a parameter called ``F`` stays a parameter. Free names are collected in
    ``free`` so the module-level definitions they refer to can be captured.
    """

    def __init__(self, extractor: Any, module: cst.Module | None, bound: set[str]) -> None:
        self.extractor = extractor
        self.module = module
        self.bound = bound
        self.free: set[str] = set()
        self.self_attributes: set[str] = set()
        self.statements = 0

    # -- expressions ------------------------------------------------------------

    def unknown(self, node: cst.CSTNode) -> Node:
        text = ""
        if self.module is not None:
            try:
                text = " ".join(self.module.code_for_node(node).split())[:60]
            except Exception:  # noqa: BLE001 - rendering is only for messages
                text = type(node).__name__
        return Node("unknown", text or type(node).__name__)

    def expr(self, node: cst.BaseExpression | None, depth: int = 0) -> Node:
        if node is None:
            return NONE
        if depth > 40:
            return Node("unknown", "nested too deeply")
        d = depth + 1
        if isinstance(node, (cst.Integer, cst.Float, cst.Imaginary)):
            return Node("const", node.evaluated_value)
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
            value = node.evaluated_value
            return Node("const", value) if isinstance(value, (str, bytes)) else self.unknown(node)
        if isinstance(node, cst.Ellipsis):
            return Node("const", ...)
        if isinstance(node, cst.Name):
            return self.name(node.value)
        if isinstance(node, cst.Attribute):
            name = dotted(node)
            if name is not None and name.split(".")[0] not in self.bound:
                head = name.split(".")[0]
                resolved = self.extractor.resolve(name)
                if resolved != name or self._is_import(head):
                    return Node("ref", resolved)
            if name is not None and name.startswith("self."):
                self.self_attributes.add(name.split(".")[1])
            return Node("attr", node.attr.value, (self.expr(node.value, d),))
        if isinstance(node, cst.Call):
            return Node("call", None, (self.expr(node.func, d), *self.args(node.args, d)))
        if isinstance(node, cst.Subscript):
            elements = [self.slice(e.slice, d) for e in node.slice]
            index = elements[0] if len(elements) == 1 else Node("tuple", None, tuple(elements))
            return Node("subscript", None, (self.expr(node.value, d), index))
        if isinstance(node, cst.BinaryOperation):
            op = BINARY_OPERATORS.get(type(node.operator))
            if op is None:
                return self.unknown(node)
            return Node("binop", op, (self.expr(node.left, d), self.expr(node.right, d)))
        if isinstance(node, cst.UnaryOperation):
            return Node("unary", UNARY_OPERATORS.get(type(node.operator), "?"), (self.expr(node.expression, d),))
        if isinstance(node, cst.BooleanOperation):
            op = "and" if isinstance(node.operator, cst.And) else "or"
            return Node("boolop", op, (self.expr(node.left, d), self.expr(node.right, d)))
        if isinstance(node, cst.Comparison):
            ops = tuple(COMPARISON_OPERATORS.get(type(c.operator), "?") for c in node.comparisons)
            return Node("compare", ops, (self.expr(node.left, d), *(self.expr(c.comparator, d) for c in node.comparisons)))
        if isinstance(node, cst.IfExp):
            return Node("ifexp", None, (self.expr(node.test, d), self.expr(node.body, d), self.expr(node.orelse, d)))
        if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
            kind = {cst.Tuple: "tuple", cst.List: "list", cst.Set: "set"}[type(node)]
            return Node(kind, None, tuple(self.element(e, d) for e in node.elements))
        if isinstance(node, cst.Dict):
            items: list[Node] = []
            for element in node.elements:
                if isinstance(element, cst.DictElement):
                    items.extend((self.expr(element.key, d), self.expr(element.value, d)))
                else:
                    items.append(Node("dstar", None, (self.expr(element.value, d),)))
            return Node("dict", None, tuple(items))
        if isinstance(node, (cst.ListComp, cst.GeneratorExp, cst.SetComp, cst.DictComp)):
            return self.comprehension(node, d)
        if isinstance(node, cst.Lambda):
            return self.lambda_(node, d)
        return self.unknown(node)

    def lambda_(self, node: cst.Lambda, depth: int) -> Node:
        """``lambda x, k=2: ...`` as ``lambda`` (value: parameter names; children: the
        body, then each parameter's default or None). Star parameters are not followed."""
        parameters = node.params
        if parameters.star_arg is not cst.MaybeSentinel.DEFAULT or parameters.star_kwarg is not None or parameters.kwonly_params:
            return self.unknown(node)
        params = [*parameters.posonly_params, *parameters.params]
        names = tuple(p.name.value for p in params)
        defaults = tuple(self.expr(p.default, depth) if p.default is not None else Node("const", None) for p in params)
        self.bound.update(names)
        return Node("lambda", names, (self.expr(node.body, depth), *defaults))

    def _is_import(self, head: str) -> bool:
        aliases = getattr(self.extractor, "aliases", None)
        return isinstance(aliases, dict) and head in aliases

    def name(self, name: str) -> Node:
        if name in ("True", "False", "None"):
            return Node("const", {"True": True, "False": False, "None": None}[name])
        if name in self.bound:
            return Node("name", name)
        resolved = self.extractor.resolve(name)
        if resolved != name or self._is_import(name):
            return Node("ref", resolved)
        self.free.add(name)
        return Node("name", name)

    def element(self, element: cst.BaseElement, depth: int) -> Node:
        if isinstance(element, cst.StarredElement):
            return Node("star", None, (self.expr(element.value, depth),))
        return self.expr(element.value, depth)

    def args(self, args: Sequence[cst.Arg], depth: int) -> Iterator[Node]:
        for arg in args:
            value = self.expr(arg.value, depth)
            if arg.star == "*":
                yield Node("star", None, (value,))
            elif arg.star == "**":
                yield Node("dstar", None, (value,))
            elif arg.keyword is not None:
                yield Node("kw", arg.keyword.value, (value,))
            else:
                yield value

    def slice(self, node: cst.BaseSlice, depth: int) -> Node:
        if isinstance(node, cst.Index):
            if node.star is not None:
                return self.unknown(node)
            return self.expr(node.value, depth)
        if isinstance(node, cst.Slice):
            return Node("slice", None, (self.expr(node.lower, depth), self.expr(node.upper, depth), self.expr(node.step, depth)))
        return self.unknown(node)

    def comprehension(self, node: Any, depth: int) -> Node:
        kind = {cst.ListComp: "list", cst.GeneratorExp: "gen", cst.SetComp: "set", cst.DictComp: "dict"}[type(node)]
        # Comprehension targets are local to it.
        for_in = node.for_in
        while for_in is not None:
            self.bound.update(n.value for n in target_names(for_in.target))
            for_in = for_in.inner_for_in
        heads = (self.expr(node.key, depth), self.expr(node.value, depth)) if kind == "dict" else (self.expr(node.elt, depth),)
        loops: list[Node] = []
        for_in = node.for_in
        while for_in is not None:
            ifs = tuple(self.expr(c.test, depth) for c in for_in.ifs)
            loops.append(Node("for", None, (self.target(for_in.target), self.expr(for_in.iter, depth), *ifs)))
            for_in = for_in.inner_for_in
        return Node("comp", kind, (*heads, *loops))

    def target(self, node: cst.BaseExpression) -> Node:
        if isinstance(node, cst.Name):
            return Node("name", node.value)
        if isinstance(node, (cst.Tuple, cst.List)):
            return Node("tuple", None, tuple(self.target(e.value) if not isinstance(e, cst.StarredElement)
                                            else Node("star", None, (self.target(e.value),)) for e in node.elements))
        if isinstance(node, cst.StarredElement):
            return Node("star", None, (self.target(node.value),))
        return self.expr(node)

    # -- statements -------------------------------------------------------------

    def body(self, node: cst.CSTNode | Sequence[cst.CSTNode]) -> tuple[Statement, ...]:
        items: Iterable[cst.CSTNode]
        if isinstance(node, (cst.IndentedBlock, cst.SimpleStatementSuite)):
            items = node.body
        elif isinstance(node, (list, tuple)):
            items = node
        else:
            items = [node]
        out: list[Statement] = []
        for item in items:
            out.extend(self.statement(item))
        return tuple(out)

    def statement(self, node: cst.CSTNode) -> list[Statement]:
        self.statements += 1
        if self.statements > MAX_STATEMENTS:
            raise _TooLarge
        if isinstance(node, cst.SimpleStatementLine):
            out: list[Statement] = []
            for small in node.body:
                out.extend(self.small(small))
            return out
        if isinstance(node, cst.If):
            orelse: tuple[Statement, ...] = ()
            if isinstance(node.orelse, cst.If):
                orelse = tuple(self.statement(node.orelse))
            elif isinstance(node.orelse, cst.Else):
                orelse = self.body(node.orelse.body)
            return [Statement("if", value=self.expr(node.test), body=self.body(node.body), orelse=orelse)]
        if isinstance(node, cst.For):
            orelse = self.body(node.orelse.body) if node.orelse is not None else ()
            return [Statement("for", targets=(self.target(node.target),), value=self.expr(node.iter),
                              body=self.body(node.body), orelse=orelse)]
        if isinstance(node, cst.With):
            out = []
            for item in node.items:
                value = self.expr(item.item)
                if item.asname is not None:
                    out.append(Statement("assign", targets=(self.target(item.asname.name),), value=value))
                else:
                    out.append(Statement("expr", value=value))
            return [*out, Statement("with", body=self.body(node.body))]
        if isinstance(node, cst.Try):
            return [Statement("try", body=self.body(node.body))]
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            return [Statement("unknown", value=Node("unknown", f"nested definition {node.name.value}"))]
        return [Statement("unknown", value=self.unknown(node))]

    def small(self, node: cst.BaseSmallStatement) -> list[Statement]:
        if isinstance(node, cst.Assign):
            targets = tuple(self.target(t.target) for t in node.targets)
            return [Statement("assign", targets=targets, value=self.expr(node.value))]
        if isinstance(node, cst.AnnAssign):
            if node.value is None:
                return []
            return [Statement("assign", targets=(self.target(node.target),), value=self.expr(node.value))]
        if isinstance(node, cst.AugAssign):
            op = _AUGMENTED.get(type(node.operator), "?")
            return [Statement("augassign", targets=(self.target(node.target),), value=self.expr(node.value), op=op)]
        if isinstance(node, cst.Expr):
            return [Statement("expr", value=self.expr(node.value))]
        if isinstance(node, cst.Return):
            return [Statement("return", value=self.expr(node.value) if node.value is not None else NONE)]
        if isinstance(node, cst.Raise):
            return [Statement("raise")]
        if isinstance(node, cst.Assert):
            return [Statement("assert", value=self.expr(node.test))]
        if isinstance(node, (cst.Pass, cst.Global, cst.Nonlocal, cst.Import, cst.ImportFrom, cst.Del)):
            return [Statement("pass")]
        if isinstance(node, cst.Break):
            return [Statement("break")]
        if isinstance(node, cst.Continue):
            return [Statement("continue")]
        return [Statement("unknown", value=self.unknown(node))]


class _TooLarge(Exception):
    """A class body beyond ``MAX_STATEMENTS``: kept as a name only."""


def _bound_names(function: cst.FunctionDef) -> set[str]:
    """Parameters and every name the function assigns (its locals)."""
    params = function.params
    names = {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            names.add(star.name.value)
    return names | _names_bound_in(function.body)


def _names_bound_in(node: cst.CSTNode) -> set[str]:
    """Every name the code binds: assignment, augmented and annotated targets, ``for``
    targets, ``with ... as`` and ``except ... as`` names, and the names of functions and
    classes it defines (whose bodies are their own scopes)."""
    names: set[str] = set()
    stack: list[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, (cst.FunctionDef, cst.ClassDef)):
            names.add(current.name.value)
            continue
        if isinstance(current, cst.AssignTarget):
            names.update(n.value for n in target_names(current.target))
        elif isinstance(current, (cst.AnnAssign, cst.AugAssign)):
            names.update(n.value for n in target_names(current.target))
        elif isinstance(current, cst.For):
            names.update(n.value for n in target_names(current.target))
        elif isinstance(current, cst.WithItem) and current.asname is not None:
            names.update(n.value for n in target_names(current.asname.name))
        elif isinstance(current, cst.ExceptHandler) and current.name is not None:
            names.update(n.value for n in target_names(current.name.name))
        stack.extend(child_nodes(current))
    return names


def _decorator_names(function: cst.FunctionDef, extractor: Any) -> tuple[str, ...]:
    names = []
    for decorator in function.decorators:
        target = decorator.decorator
        if isinstance(target, cst.Call):
            target = target.func
        name = dotted(target)
        names.append(extractor.resolve(name) if name else "")
    return tuple(names)


def _method(function: cst.FunctionDef, extractor: Any, module: cst.Module | None) -> tuple[Method, set[str], set[str]]:
    """A function as a ``Method``, with its free names and the ``self.`` attributes it reads."""
    converter = _Converter(extractor, module, _bound_names(function))
    params: list[Param] = []
    p = function.params
    for param in (*p.posonly_params, *p.params):
        params.append(Param(param.name.value, converter.expr(param.default) if param.default is not None else None, "pos"))
    if isinstance(p.star_arg, cst.Param):
        params.append(Param(p.star_arg.name.value, None, "vararg"))
    for param in p.kwonly_params:
        params.append(Param(param.name.value, converter.expr(param.default) if param.default is not None else None, "kwonly"))
    if isinstance(p.star_kwarg, cst.Param):
        params.append(Param(p.star_kwarg.name.value, None, "kwarg"))
    body = converter.body(function.body)
    method = Method(function.name.value, tuple(params), body, _decorator_names(function, extractor))
    return method, converter.free, converter.self_attributes


def _is_model(bases: tuple[str, ...], methods: dict[str, cst.FunctionDef]) -> bool:
    for base in bases:
        if base.startswith(MODEL_BASE_PREFIXES) or base.rpartition(".")[2] in MODEL_BASES:
            return True
    if "forward" in methods:
        return True
    # A subclass of a project class (``class Net(BaseNet)``) that builds something.
    project_bases = [b for b in bases if b and b.split(".")[0] not in LIBRARY_ROOTS]
    return bool(project_bases) and "__init__" in methods


def _is_config(node: cst.ClassDef, bases: tuple[str, ...], decorators: tuple[str, ...]) -> bool:
    """A class that holds values a model is built from: a config, or a dataset whose
    vocabulary and sequence length size the model (``GPT(vocab=data.get_vocab_size())``)."""
    if any(d.rpartition(".")[2] == "dataclass" for d in decorators):
        return True
    if any(b.endswith(CONFIG_BASE_SUFFIXES) or b.rpartition(".")[2] in DATASET_BASES for b in bases):
        return True
    return node.name.value.endswith(CONFIG_NAME_SUFFIXES)


def describe_model_class(node: cst.ClassDef, bases: tuple[str, ...], extractor: Any) -> ModelClass | None:
    """A picklable description of an nn.Module subclass or a config class, or None.

    Never raises: a class the description cannot follow is kept with ``truncated`` set
    (or dropped), and the cost model then says it cannot know.
    """
    try:
        return _describe(node, bases, extractor)
    except RecursionError:
        return None
    except Exception:  # noqa: BLE001 - user code must never crash the analysis
        return None


def _describe(node: cst.ClassDef, bases: tuple[str, ...], extractor: Any) -> ModelClass | None:
    functions: dict[str, cst.FunctionDef] = {}
    for statement in _class_body(node):
        if isinstance(statement, cst.FunctionDef):
            functions[statement.name.value] = statement
    decorators = tuple(
        extractor.resolve(dotted(d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator) or "")
        for d in node.decorators
    )
    if _is_model(bases, functions):
        kind = "module"
    elif _is_config(node, bases, decorators):
        kind = "config"
    else:
        return None
    module = getattr(extractor, "module", None)
    model = ModelClass(
        name=node.name.value,
        bases=bases,
        kind=kind,
        dataclass=any(d.rpartition(".")[2] == "dataclass" for d in decorators),
    )
    positioned = getattr(extractor, "positioned", None)
    if isinstance(positioned, list):
        positioned.append((model, node.name))
    try:
        fields, free = _fields(node, extractor, module)
        methods, method_free = _methods(functions, kind, extractor, module)
        free |= method_free
        model.fields = fields
        model.methods = methods
        model.globals = _globals(free, extractor, module, exclude={node.name.value})
    except _TooLarge:
        model.fields, model.methods, model.globals, model.truncated = (), (), (), True
    return model


def _class_body(node: cst.ClassDef) -> list[cst.CSTNode]:
    body = node.body
    if isinstance(body, cst.IndentedBlock):
        return list(body.body)
    return list(body.body) if isinstance(body, cst.SimpleStatementSuite) else []


def _fields(node: cst.ClassDef, extractor: Any, module: cst.Module | None) -> tuple[tuple[Param, ...], set[str]]:
    converter = _Converter(extractor, module, set())
    fields: list[Param] = []
    for statement in _class_body(node):
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                default = converter.expr(small.value) if small.value is not None else None
                default = _field_default(default)
                fields.append(Param(small.target.value, default, "field"))
            elif isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                fields.append(Param(small.targets[0].target.value, converter.expr(small.value), "field"))
    return tuple(fields), converter.free


def _field_default(default: Node | None) -> Node | None:
    """``field(default=3)`` and ``field(default_factory=list)`` as plain defaults."""
    if default is None or default.kind != "call":
        return default
    callee = default.children[0]
    if callee.kind in ("ref", "name") and str(callee.value).rpartition(".")[2] == "field":
        for arg in default.children[1:]:
            if arg.kind == "kw" and arg.value == "default":
                return arg.children[0]
            if arg.kind == "kw" and arg.value == "default_factory":
                return Node("call", None, (arg.children[0],))
        return None
    return default


def _methods(functions: dict[str, cst.FunctionDef], kind: str, extractor: Any,
             module: cst.Module | None) -> tuple[tuple[Method, ...], set[str]]:
    """``__init__``, ``forward`` and every method they reach through ``self``; a module's
    static and class methods (``GPT.get_default_config()`` builds its config); every
    method of a config class (``config.merge_from_dict(...)`` changes it)."""
    if kind == "config":
        wanted = list(functions)
    else:
        wanted = ["__init__", "forward", *(name for name, f in functions.items() if _is_static(f))]
    kept: dict[str, Method] = {}
    free: set[str] = set()
    queue = [name for name in wanted if name in functions]
    while queue:
        name = queue.pop(0)
        if name in kept:
            continue
        method, names, attributes = _method(functions[name], extractor, module)
        kept[name] = method
        free |= names
        queue.extend(a for a in sorted(attributes) if a in functions and a not in kept)
    order = list(functions)
    return tuple(sorted(kept.values(), key=lambda m: order.index(m.name))), free


def _is_static(function: cst.FunctionDef) -> bool:
    return any(isinstance(d.decorator, cst.Name) and d.decorator.value in ("staticmethod", "classmethod") for d in function.decorators)


def _globals(names: set[str], extractor: Any, module: cst.Module | None, exclude: set[str]) -> tuple[Global, ...]:
    """The module-level assignments and helper functions behind the free names."""
    if module is None:
        return ()
    definitions = _module_definitions(module)
    captured: dict[str, Global] = {}
    frontier = sorted(names - exclude)
    for _ in range(MAX_GLOBAL_DEPTH):
        following: set[str] = set()
        for name in frontier:
            if name in captured or name in exclude or len(captured) >= MAX_GLOBALS:
                continue
            found = definitions.get(name)
            if found is None:
                continue
            if isinstance(found, cst.FunctionDef):
                method, free, _ = _method(found, extractor, module)
                captured[name] = Global(name, function=method)
                following |= free
            else:
                converter = _Converter(extractor, module, set())
                values = tuple((converter.target(t), converter.expr(v), conditional) for t, v, conditional in found)
                captured[name] = Global(name, values=values)
                following |= converter.free
        frontier = sorted(following - set(captured) - exclude)
        if not frontier:
            break
    return tuple(captured[name] for name in sorted(captured))


def _module_definitions(module: cst.Module) -> dict[str, Any]:
    """name -> FunctionDef, or -> [(target, value, conditional)] for module-level assignments.
    A name that a module-level loop or an augmented assignment changes
    (``IMG_SIZE = 1`` then ``for x in IMAGE_SHAPE: IMG_SIZE *= x``) is no constant and is
    left out of the captured globals, so that a model class does not read its first value.
    (The interpreter's lookup in the file's assignments treats augmented names the same
    way; a name rebound in a loop by a plain assignment it still reads as last bound.)"""
    definitions: dict[str, Any] = {}
    changed: set[str] = set()

    def visit(statements: Sequence[cst.CSTNode], conditional: bool) -> None:
        for statement in statements:
            if isinstance(statement, cst.FunctionDef):
                definitions.setdefault(statement.name.value, statement)
            elif isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    _assignment(small, conditional)
            elif isinstance(statement, cst.If):
                if _is_main_guard(statement.test):
                    continue
                visit(_block(statement.body), True)
                orelse = statement.orelse
                while orelse is not None:
                    if isinstance(orelse, cst.If):
                        visit(_block(orelse.body), True)
                        orelse = orelse.orelse
                    else:
                        visit(_block(orelse.body), True)
                        orelse = None
            elif isinstance(statement, cst.Try):
                visit(_block(statement.body), True)
            elif isinstance(statement, cst.With):
                visit(_block(statement.body), conditional)
            elif isinstance(statement, (cst.For, cst.While)):
                changed.update(_names_bound_in(statement))

    def _assignment(small: cst.CSTNode, conditional: bool) -> None:
        pairs: list[tuple[cst.BaseExpression, cst.BaseExpression]] = []
        if isinstance(small, cst.Assign):
            pairs = [(t.target, small.value) for t in small.targets]
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            pairs = [(small.target, small.value)]
        elif isinstance(small, cst.AugAssign):
            changed.update(n.value for n in target_names(small.target))
        for target, value in pairs:
            names = target_names(target)
            if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name):
                names = [target.value]  # ``registry["resnet"] = ResNet`` fills a module-level dict
            for name in names:
                existing = definitions.get(name.value)
                if isinstance(existing, cst.FunctionDef):
                    continue
                definitions.setdefault(name.value, []).append((target, value, conditional))

    visit(module.body, False)
    for name in changed:
        if not isinstance(definitions.get(name), cst.FunctionDef):
            definitions.pop(name, None)
    return definitions


def _block(node: cst.CSTNode) -> Sequence[cst.CSTNode]:
    if isinstance(node, cst.IndentedBlock):
        return node.body
    if isinstance(node, cst.SimpleStatementSuite):
        return [cst.SimpleStatementLine(body=node.body)]
    return []


def _is_main_guard(test: cst.BaseExpression) -> bool:
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    sides = [test.left, test.comparisons[0].comparator]
    return any(isinstance(s, cst.Name) and s.value == "__name__" for s in sides)


def free_names(nodes: Iterable[Node]) -> Iterator[str]:
    """Every ``name`` node below the given nodes (for tests and diagnostics)."""
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if node.kind == "name":
            yield node.value
        stack.extend(node.children)


__all__ = ["Global", "Method", "ModelClass", "Node", "Param", "Statement", "describe_model_class", "free_names"]
