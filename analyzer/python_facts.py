"""One pass over a parsed Python module that extracts every fact the rules read.

The walk is a hand-written recursion over libcst's dataclass fields rather than a
``CSTVisitor``: visitors rebuild every node on the way back up, which costs nearly as
much as the parse itself, while this walk only reads attributes. Imports are tracked as
they are met, so names resolve through aliases (``from torch.utils import data as D;
D.DataLoader`` becomes ``torch.utils.data.DataLoader``) without QualifiedNameProvider.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import libcst as cst

from greenlint.analyzer.facts import (
    LITERAL,
    Arg,
    Assignment,
    Call,
    ClassDef,
    FileFacts,
    Function,
    Loop,
    Operation,
    Value,
)
from greenlint.analyzer.model_facts import describe_model_class
from greenlint.analyzer.positions import node_positions
from greenlint.analyzer.syntax_tree import (
    BINARY_OPERATORS,
    COMPARISON_OPERATORS,
    UNARY_OPERATORS,
    child_nodes,
    dotted,
    target_names,
)

_MAX_STRING = 48
_MAX_GUARD = 160
#: Operand code of ``Operation`` facts: nesting depth rendered, then total length kept.
_SHAPE_DEPTH = 6
_MAX_SHAPE = 200
#: A ``*`` or ``/`` is kept as a fact only when an operand mentions one of these: the
#: arithmetic of attention scaling, softmax, normalisation and GELU.
_ARITHMETIC_OF_INTEREST = re.compile(r"sqrt|exp|sum\(|erf|tanh|std|var|mean\(|scale|0\.044715|0\.7071|1\.414|\*\* -?0?\.5")
#: Matrix products written as calls; ``einsum`` counts when it has exactly two operands.
_MATMUL_CALLS = frozenset({"torch.matmul", "torch.bmm", "torch.mm"})
_EINSUM_CALLS = frozenset({"torch.einsum", "einops.einsum", "numpy.einsum"})


def _module_of_import(node: cst.ImportFrom, package: str) -> str:
    """The absolute module an ``from ... import`` refers to, relative dots resolved."""
    module = dotted(node.module) if node.module is not None else ""
    level = len(node.relative)
    if not level:
        return module or ""
    base = package.split(".") if package else []
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join(p for p in [*base, module or ""] if p)


def _exits(body: cst.BaseSuite) -> bool:
    """Does the block end by leaving its function (``return``, ``raise``, ``sys.exit()``)?"""
    statements = body.body if isinstance(body, cst.IndentedBlock) else [body]
    last = statements[-1] if statements else None
    if isinstance(last, cst.SimpleStatementLine) and last.body:
        last = last.body[-1]
        if isinstance(last, (cst.Return, cst.Raise)):
            return True
        if isinstance(last, cst.Expr) and isinstance(last.value, cst.Call):
            return dotted(last.value.func) in ("sys.exit", "exit", "quit", "os._exit")
    return False


def _subscripted(func: cst.BaseExpression) -> str | None:
    """The container's name in ``container[key].method``, as written."""
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Subscript):
        return dotted(func.value.value)
    return None


def _returned_integer(node: cst.FunctionDef) -> int | None:
    """The literal a function returns when its body is that one ``return`` and nothing else
    (a docstring aside)."""
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else (node.body,)
    statements = [s for s in body if not (isinstance(s, cst.SimpleStatementLine) and len(s.body) == 1
                                           and isinstance(s.body[0], cst.Expr) and isinstance(s.body[0].value, cst.SimpleString))]
    if len(statements) != 1:
        return None
    only = statements[0]
    lines = only.body if isinstance(only, (cst.SimpleStatementLine, cst.SimpleStatementSuite)) else ()
    if len(lines) == 1 and isinstance(lines[0], cst.Return) and isinstance(lines[0].value, cst.Integer):
        value = lines[0].value.evaluated_value
        return value if isinstance(value, int) else None
    return None


def _mentioned(body: cst.CSTNode, definition: cst.FunctionDef) -> bool:
    """Does ``body`` name the function it defines anywhere outside the definition itself?"""
    name = definition.name.value
    stack = [body]
    while stack:
        node = stack.pop()
        if node is definition:
            continue
        if isinstance(node, cst.Name) and node.value == name:
            return True
        stack.extend(child_nodes(node))
    return False


class _Extractor:
    """Walks one module, filling a FileFacts and remembering which nodes need positions."""

    def __init__(self, facts: FileFacts, module: cst.Module, package: str) -> None:
        self.facts = facts
        self.module = module
        self.package = package
        self.aliases: dict[str, str] = {}
        self.names: set[str] = set()
        self.strings: set[str] = set()
        self.scope: list[str] = []
        self.classes: list[str] = []
        self.loops: list[int] = []
        #: The bodies of ``self.loops``, to tell whether a function defined in one is used there.
        self.loop_bodies: list[cst.CSTNode] = []
        self.guards: list[str] = []
        self.contexts: list[str] = []
        self.assign_target: str | None = None
        self.statement = 0
        #: Every ``if`` test around the current node within its function (``Call.conditions``).
        self.conditions: list[str] = []
        #: The name the current assignment statement binds, for ``Operation.target``.
        self.statement_target: str | None = None
        #: True while visiting an assignment target (a subscript there is a store).
        self.storing = False
        self.operations: list[Operation] = []
        self._scope_names: dict[tuple[str, ...], str] = {}
        self._tuples: dict[tuple[str, ...], tuple[str, ...]] = {}
        self.positioned: list[tuple[Any, cst.CSTNode]] = []
        self._handlers = {
            cst.Import: self._import,
            cst.ImportFrom: self._import_from,
            cst.FunctionDef: self._function,
            cst.ClassDef: self._class,
            cst.For: self._for,
            cst.While: self._while,
            cst.If: self._if,
            cst.IndentedBlock: self._block,
            cst.With: self._with,
            cst.Call: self._call,
            cst.Assign: self._assign,
            cst.AnnAssign: self._ann_assign,
            cst.Attribute: self._attribute,
            cst.Name: self._name,
            cst.SimpleString: self._string,
            cst.Lambda: self._lambda,
            cst.BinaryOperation: self._binary,
            cst.Subscript: self._subscript,
            cst.AugAssign: self._aug_assign,
            cst.ListComp: self._comprehension,
            cst.SetComp: self._comprehension,
            cst.GeneratorExp: self._comprehension,
            cst.DictComp: self._comprehension,
            cst.Return: self._return,
            cst.Break: self._break,
        }

    # -- traversal ------------------------------------------------------------------

    def visit(self, node: cst.CSTNode) -> None:
        if isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            self.statement += 1
        handler = self._handlers.get(type(node))
        if handler is not None:
            handler(node)
        else:
            self.visit_children(node)

    def visit_children(self, node: cst.CSTNode) -> None:
        for child in child_nodes(node):
            self.visit(child)

    def visit_all(self, nodes: Sequence[cst.CSTNode]) -> None:
        for node in nodes:
            self.visit(node)

    # -- names ----------------------------------------------------------------------

    def resolve(self, name: str) -> str:
        """Replace the head of a dotted name with what the import bound it to."""
        head, dot, rest = name.partition(".")
        target = self.aliases.get(head)
        if target is None:
            return name
        return f"{target}{dot}{rest}"

    def resolved(self, node: cst.CSTNode) -> str | None:
        name = dotted(node)
        return self.resolve(name) if name is not None else None

    @property
    def scope_name(self) -> str:
        """The current function's qualified name, built once per scope so facts share it."""
        key = tuple(self.scope)
        name = self._scope_names.get(key)
        if name is None:
            name = self._scope_names[key] = ".".join(key)
        return name

    def shared(self, items: list[str]) -> tuple[str, ...]:
        """An interned tuple, so the many calls of one block share a single object."""
        key = tuple(items)
        return self._tuples.setdefault(key, key)

    # -- values ---------------------------------------------------------------------

    def value(self, node: cst.BaseExpression, depth: int = 0) -> Value:
        """Summarise an expression (literals evaluated, names resolved)."""
        if depth > 6:
            return Value("other")
        if isinstance(node, (cst.Integer, cst.Float, cst.Imaginary)):
            return Value(LITERAL, literal=node.evaluated_value)
        if isinstance(node, cst.SimpleString):
            return Value(LITERAL, literal=node.evaluated_value)
        if isinstance(node, cst.ConcatenatedString):
            text = node.evaluated_value
            return Value(LITERAL, literal=text) if isinstance(text, str) else Value("other")
        if isinstance(node, cst.Name):
            if node.value in ("True", "False", "None"):
                return Value(LITERAL, literal={"True": True, "False": False, "None": None}[node.value])
            return Value("name", text=self.resolve(node.value))
        if isinstance(node, cst.Attribute):
            name = self.resolved(node)
            return Value("attribute", text=name) if name else Value("other")
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
            inner = self.value(node.expression, depth + 1)
            if inner.kind == LITERAL and isinstance(inner.literal, (int, float)):
                return Value(LITERAL, literal=-inner.literal)
            return Value("other")
        if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
            if any(isinstance(e, cst.StarredElement) for e in node.elements):
                return Value("other")
            return Value("list", items=tuple(self.value(e.value, depth + 1) for e in node.elements))
        if isinstance(node, cst.ListComp):  # [(feature, label) for ...]: a list built in memory
            return Value("comprehension")
        if isinstance(node, cst.Dict):
            keys: list[Any] = []
            items: list[Value] = []
            for element in node.elements:
                if not isinstance(element, cst.DictElement):
                    return Value("other")
                key = self.value(element.key, depth + 1)
                keys.append(key.literal if key.kind == LITERAL else None)
                items.append(self.value(element.value, depth + 1))
            return Value("dict", keys=tuple(keys), items=tuple(items))
        if isinstance(node, cst.Call):
            name = self.resolved(node.func) or ""
            if depth >= 2:  # deeper arguments never decide a rule; keep facts small
                return Value("call", text=name)
            return Value("call", text=name, args=self.arguments(node.args, depth + 1))
        if isinstance(node, cst.FormattedString):
            return Value("fstring")
        if isinstance(node, cst.Subscript):  # splits["train"]: which collection it indexes
            base = self.resolved(node.value)
            if base is None:
                return Value("other")
            index = tuple(self.value(e.slice.value, depth + 1) for e in node.slice if isinstance(e.slice, cst.Index))
            return Value("subscript", text=base, items=index)
        if isinstance(node, cst.IfExp):  # 2 if smoke_test else 50: either branch may run
            return Value("choice", items=(self.value(node.body, depth + 1), self.value(node.orelse, depth + 1)))
        if isinstance(node, cst.BooleanOperation) and isinstance(node.operator, cst.Or):
            # getattr(p, "decode", None) or getattr(p, "_decode", None): either side may be the value
            return Value("choice", items=(self.value(node.left, depth + 1), self.value(node.right, depth + 1)))
        parts = _concatenated_strings(node)
        if parts:  # root + "/" + name + ".csv": a path built from parts worth following
            return Value("other", items=tuple(self.value(part, depth + 1) for part in parts))
        return Value("other")

    def arguments(self, args: Sequence[cst.Arg], depth: int = 0) -> tuple[Arg, ...]:
        result = []
        for arg in args:
            if arg.star:
                keyword = arg.star
            else:
                keyword = arg.keyword.value if arg.keyword is not None else None
            result.append(Arg(keyword, self.value(arg.value, depth)))
        return tuple(result)

    def _code(self, node: cst.CSTNode, limit: int) -> str:
        text = " ".join(self.module.code_for_node(node).split())
        return text[:limit]

    # -- handlers -------------------------------------------------------------------

    def _import(self, node: cst.Import) -> None:
        for alias in node.names:
            name = dotted(alias.name) or ""
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self.aliases[alias.asname.name.value] = name
            else:
                head = name.split(".")[0]
                self.aliases.setdefault(head, head)
            self.names.add(name)

    def _import_from(self, node: cst.ImportFrom) -> None:
        module = _module_of_import(node, self.package)
        if isinstance(node.names, cst.ImportStar):
            self.names.add(f"{module}.*")
            if module:  # ``from utils import *`` still ties the script to utils.py: one program
                self.aliases.setdefault(f"*{module}", module)
            return
        for alias in node.names:
            name = dotted(alias.name) or ""
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            qualified = f"{module}.{name}" if module else name
            self.aliases[local] = qualified
            self.names.add(qualified)

    def _manager_name(self, expr: cst.BaseExpression) -> str:
        """Visit a decorator or with-item and name what it applies: ``torch.no_grad``."""
        self.visit(expr)
        target = expr.func if isinstance(expr, cst.Call) else expr
        return self.resolved(target) or ""

    def _function(self, node: cst.FunctionDef) -> None:
        decorators = [self._manager_name(decorator.decorator) for decorator in node.decorators]
        qualname = ".".join([*self.scope, node.name.value])
        parameters = (*node.params.posonly_params, *node.params.params, *node.params.kwonly_params)
        function = Function(
            qualname=qualname,
            name=node.name.value,
            decorators=tuple(decorators),
            params=tuple(p.name.value for p in parameters),
            class_name=self.classes[-1] if self.classes and self.scope and self.scope[-1] == self.classes[-1] else None,
            defaults=tuple(
                (p.name.value, p.default.evaluated_value) for p in parameters if isinstance(p.default, (cst.Integer, cst.Float))
            ),
            returns=_returned_integer(node),
        )
        self.facts.functions.append(function)
        self.positioned.append((function, node.name))
        for param in parameters:
            if param.default is not None:
                self.visit(param.default)
        saved = (self.loops, self.loop_bodies, self.guards, self.contexts, self.conditions)
        if not (self.loops and function.class_name is None and _mentioned(self.loop_bodies[-1], node)):
            self.loops, self.loop_bodies, self.guards, self.conditions = [], [], [], []
        # else a closure the loop calls or hands on (``gpu_timer(train_step)``, ``optimizer.step(closure)``):
        # its body runs on every iteration, so its calls count as the loop's
        self.contexts = [*self.contexts, *(d for d in decorators if d)]
        self.scope.append(node.name.value)
        self.visit(node.body)
        self.scope.pop()
        self.loops, self.loop_bodies, self.guards, self.contexts, self.conditions = saved

    def _lambda(self, node: cst.Lambda) -> None:
        saved = (self.loops, self.guards)
        self.loops, self.guards = [], []
        self.visit(node.body)
        self.loops, self.guards = saved

    def _class(self, node: cst.ClassDef) -> None:
        bases = tuple(self.resolved(arg.value) or "" for arg in node.bases)
        for arg in (*node.bases, *node.keywords):
            self.visit(arg.value)
        for decorator in node.decorators:
            self.visit(decorator.decorator)
        fact = ClassDef(name=node.name.value, bases=bases)
        self.facts.classes.append(fact)
        model = describe_model_class(node, bases, self)
        if model is not None:
            self.facts.models.append(model)
        self.positioned.append((fact, node.name))
        self.scope.append(node.name.value)
        self.classes.append(node.name.value)
        self.visit(node.body)
        self.classes.pop()
        self.scope.pop()

    def _new_loop(self, node: cst.CSTNode, kind: str, targets: tuple[str, ...], iterable: Value | None) -> int:
        loop = Loop(
            id=len(self.facts.loops),
            kind=kind,
            scope=self.scope_name,
            parent=self.loops[-1] if self.loops else None,
            targets=targets,
            iter=iterable,
        )
        self.facts.loops.append(loop)
        self.positioned.append((loop, node))
        return loop.id

    def _loop_body(self, loop_id: int, body: cst.CSTNode) -> None:
        saved_guards = self.guards
        self.guards = []
        self.loops.append(loop_id)
        self.loop_bodies.append(body)
        self.visit(body)
        self.loop_bodies.pop()
        self.loops.pop()
        self.guards = saved_guards

    def _for(self, node: cst.For) -> None:
        self.visit(node.iter)
        targets = tuple(
            n.value for n in target_names(node.target)
        )
        loop_id = self._new_loop(node, "for", targets, self.value(node.iter))
        self.facts.loops[loop_id].iter_shape = self.shape(node.iter)
        self._loop_body(loop_id, node.body)
        if node.orelse is not None:
            self.visit(node.orelse)

    def _break(self, node: cst.Break) -> None:
        if self.loops:
            self.facts.loops[self.loops[-1]].breaks = True

    def _while(self, node: cst.While) -> None:
        self.visit(node.test)
        loop_id = self._new_loop(node, "while", (), None)
        self.facts.loops[loop_id].bound = self._counting_bound(node.test)
        self._loop_body(loop_id, node.body)
        if node.orelse is not None:
            self.visit(node.orelse)

    def _counting_bound(self, test: cst.BaseExpression) -> Value | None:
        """``bound`` of ``while counter < bound`` (or ``<=``): how far the loop counts."""
        if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
            return None
        target = test.comparisons[0]
        if not isinstance(target.operator, (cst.LessThan, cst.LessThanEqual)):
            return None
        if not isinstance(test.left, (cst.Name, cst.Attribute)):
            return None
        return self.value(target.comparator)

    def _if(self, node: cst.If) -> None:
        self.visit(node.test)
        main_guard = not self.scope and not self.loops and _is_main_guard(node.test)
        if main_guard and not _does_nothing(node.body):
            self.facts.entry_point = True  # not ``if __name__ == "__main__": pass`` in a library module
        if self.loops:
            self.guards.append(self._code(node.test, _MAX_GUARD))
        test = None if main_guard else self.shape(node.test)
        if test is not None:
            self.conditions.append(test)
        self.visit(node.body)
        if test is not None:
            self.conditions[-1] = f"not ({test})"
        if node.orelse is not None:
            self.visit(node.orelse)
        if test is not None:
            self.conditions.pop()
            if node.orelse is None and _exits(node.body):
                # ``if args.evaluate: validate(); return``: the rest of the block runs only when the test fails
                self.conditions.append(f"not ({test})")
        if self.loops:
            self.guards.pop()

    def _block(self, node: cst.IndentedBlock) -> None:
        """A block's statements; conditions an early exit added end with the block."""
        depth = len(self.conditions)
        self.visit_children(node)
        del self.conditions[depth:]

    def _with(self, node: cst.With) -> None:
        managers = [self._manager_name(item.item) for item in node.items]
        self.contexts.extend(managers)
        self.visit(node.body)
        del self.contexts[len(self.contexts) - len(managers):]

    def _call(self, node: cst.Call) -> None:
        target, self.assign_target = self.assign_target, None
        name = self.resolved(node.func)
        if name is None:
            # ``scaler.scale(loss).backward()``: keep the method, mark the receiver unknown.
            name = f"?.{node.func.attr.value}" if isinstance(node.func, cst.Attribute) else ""
            base = _subscripted(node.func)
            if base is not None:
                # ``self.optimizer["generator"].step()``: an unknown element of a named container.
                name = f"?{base}[].{node.func.attr.value}"
        call = Call(
            name=name,
            args=self.arguments(node.args),
            scope=self.scope_name,
            loop=self.loops[-1] if self.loops else None,
            guards=self.shared(self.guards),
            contexts=self.shared(self.contexts),
            target=target,
            statement=self.statement,
            conditions=self.shared(self.conditions),
        )
        self.facts.calls.append(call)
        self.positioned.append((call, node))
        if name and not name.startswith("?"):
            self.names.add(name)
        self._matmul_call(node, name)
        func = node.func
        if not isinstance(func, (cst.Name, cst.Attribute)) or dotted(func) is None:
            self.visit(func)
        for arg in node.args:
            self.visit(arg.value)

    def _record_assignment(self, target: cst.BaseExpression, value: cst.BaseExpression, node: cst.CSTNode) -> None:
        name = dotted(target)
        if name is None and _pairs(target, value):
            # batch_size, epochs = args.batch_size, args.epochs: one assignment per pair
            for element, part in zip(target.elements, value.elements):
                self._record_assignment(element.value, part.value, node)
            self.assign_target = None  # the calls of the value belong to no one target
            return
        if name is None:
            for element in target_names(target):
                fact = Assignment(element.value, Value("other"), self.scope_name, self.loops[-1] if self.loops else None)
                self.facts.assignments.append(fact)
                self.positioned.append((fact, node))
            return
        # A call's arguments are already in its Call fact; keep only the callee here.
        summary = Value("call", text=self.resolved(value.func) or "") if isinstance(value, cst.Call) and not _small_literal_call(value) else self.value(value)
        fact = Assignment(name, summary, self.scope_name, self.loops[-1] if self.loops else None)
        self.facts.assignments.append(fact)
        self.positioned.append((fact, node))
        if isinstance(value, cst.Call):
            self.assign_target = name

    def _assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._record_assignment(target.target, node.value, node)
            self.storing = True
            self.visit(target.target)
            self.storing = False
        self.statement_target = dotted(node.targets[0].target)
        self.visit(node.value)
        self.statement_target = None
        self.assign_target = None

    def _ann_assign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._record_assignment(node.target, node.value, node)
            self.statement_target = dotted(node.target)
            self.visit(node.value)
            self.statement_target = None
            self.assign_target = None
        self.storing = True
        self.visit(node.target)
        self.storing = False

    def _aug_assign(self, node: cst.AugAssign) -> None:
        if isinstance(node.target, cst.Name):
            self.facts.augmented.add(f"{self.scope_name}:{node.target.value}")
        self.storing = True
        self.visit(node.target)
        self.storing = False
        self.visit(node.value)

    # -- operations -----------------------------------------------------------------

    def shape(self, node: cst.CSTNode, depth: int = 0) -> str:
        """An expression as compact code with names resolved: ``torch.exp(x).sum(-1)``."""
        text = self._shape(node, depth)
        return text if len(text) <= _MAX_SHAPE else text[: _MAX_SHAPE - 1] + "…"

    def _shape(self, node: cst.CSTNode, depth: int) -> str:
        if depth > _SHAPE_DEPTH:
            return "…"
        deeper = depth + 1
        if isinstance(node, (cst.Name, cst.Attribute)):
            name = self.resolved(node)
            if name is not None:
                return name
            if isinstance(node, cst.Attribute):
                return f"{self._shape(node.value, deeper)}.{node.attr.value}"
        if isinstance(node, (cst.Integer, cst.Float, cst.Imaginary)):
            return node.value
        if isinstance(node, cst.SimpleString):
            return node.value if len(node.value) <= _MAX_STRING else '"…"'
        if isinstance(node, cst.Call):
            args = [self._shape_arg(arg, deeper) for arg in node.args[:4]]
            if len(node.args) > 4:
                args.append("…")
            return f"{self._shape(node.func, deeper)}({', '.join(args)})"
        if isinstance(node, cst.BinaryOperation):
            operator = BINARY_OPERATORS.get(type(node.operator), "?")
            return f"({self._shape(node.left, deeper)} {operator} {self._shape(node.right, deeper)})"
        if isinstance(node, cst.UnaryOperation):
            unary = UNARY_OPERATORS.get(type(node.operator), "?")
            return f"{unary}{' ' if unary == 'not' else ''}{self._shape(node.expression, deeper)}"
        if isinstance(node, cst.Subscript):
            index = ", ".join(self._shape_slice(element.slice, deeper) for element in node.slice)
            return f"{self._shape(node.value, deeper)}[{index}]"
        if isinstance(node, (cst.Tuple, cst.List)):
            items = ", ".join(self._shape(e.value, deeper) for e in node.elements[:4])
            return f"({items})" if isinstance(node, cst.Tuple) else f"[{items}]"
        if isinstance(node, cst.Comparison):
            parts = [self._shape(node.left, deeper)]
            for target in node.comparisons:
                operator = COMPARISON_OPERATORS.get(type(target.operator), "?")
                parts.append(f"{operator} {self._shape(target.comparator, deeper)}")
            return " ".join(parts)
        if isinstance(node, cst.BooleanOperation):
            operator = "and" if isinstance(node.operator, cst.And) else "or"
            return f"({self._shape(node.left, deeper)} {operator} {self._shape(node.right, deeper)})"
        return "…"

    def _shape_arg(self, arg: cst.Arg, depth: int) -> str:
        text = self._shape(arg.value, depth)
        if arg.keyword is not None:
            return f"{arg.keyword.value}={text}"
        return f"{arg.star}{text}"

    def _shape_slice(self, node: cst.BaseSlice, depth: int) -> str:
        if isinstance(node, cst.Index):
            return self._shape(node.value, depth)
        if isinstance(node, cst.Slice):
            parts = [self._shape(part, depth) if part is not None else "" for part in (node.lower, node.upper)]
            if node.step is not None:
                parts.append(self._shape(node.step, depth))
            return ":".join(parts)
        return "…"

    def _operation(self, node: cst.CSTNode, op: str, left: str, right: str, *, store: bool = False) -> None:
        fact = Operation(
            op=op,
            left=left,
            right=right,
            scope=self.scope_name,
            loop=self.loops[-1] if self.loops else None,
            conditions=self.shared(self.conditions),
            target=self.statement_target,
            statement=self.statement,
            store=store,
        )
        self.operations.append(fact)
        self.positioned.append((fact, node))

    def _binary(self, node: cst.BinaryOperation) -> None:
        operator = type(node.operator)
        if operator is cst.MatrixMultiply:
            self._operation(node, "@", self.shape(node.left), self.shape(node.right))
        elif operator is cst.Divide or operator is cst.Multiply:
            left, right = self.shape(node.left), self.shape(node.right)
            if _ARITHMETIC_OF_INTEREST.search(left) or _ARITHMETIC_OF_INTEREST.search(right):
                self._operation(node, BINARY_OPERATORS[operator], left, right)
        self.visit(node.left)
        self.visit(node.right)

    def _matmul_call(self, node: cst.Call, name: str) -> None:
        """``torch.matmul(a, b)`` and ``a.bmm(b)`` as ``@`` operations, ``einsum("...", a, b)`` as ``einsum``."""
        args = node.args
        method = name.rpartition(".")[2]
        if any(arg.star or arg.keyword is not None for arg in args):
            return
        operands: tuple[cst.BaseExpression, cst.BaseExpression] | None = None
        op = "@"
        if name in _MATMUL_CALLS and len(args) == 2:
            operands = (args[0].value, args[1].value)
        elif method in ("matmul", "bmm") and len(args) == 1 and isinstance(node.func, cst.Attribute) and name not in _MATMUL_CALLS:
            operands = (node.func.value, args[0].value)
        elif (name in _EINSUM_CALLS or name == "einsum") and len(args) == 3:
            op = "einsum"
            if isinstance(args[0].value, (cst.SimpleString, cst.FormattedString)):
                operands = (args[1].value, args[2].value)
            elif isinstance(args[2].value, (cst.SimpleString, cst.FormattedString)):
                operands = (args[0].value, args[1].value)
        if operands is not None:
            self._operation(node, op, self.shape(operands[0]), self.shape(operands[1]))

    def _subscript(self, node: cst.Subscript) -> None:
        store, self.storing = self.storing, False
        if self.loops:
            targets = {t for loop_id in self.loops for t in self.facts.loops[loop_id].targets}
            if targets and any(_mentions(element.slice, targets) for element in node.slice):
                index = ", ".join(self._shape_slice(element.slice, 0) for element in node.slice)
                self._operation(node, "[]", self.shape(node.value), index, store=store)
        self.visit(node.value)
        for element in node.slice:
            self.visit(element)

    def _return(self, node: cst.Return) -> None:
        """``return out, weights``: which intermediate results leave the function with its result."""
        if isinstance(node.value, cst.Tuple):
            self._operation(node, "return", self.shape(node.value), "")
        if node.value is not None:
            self.visit(node.value)

    def _comprehension(self, node: cst.CSTNode) -> None:
        """Comprehensions that build items with a call (``[Image.open(p) for p in paths]``)."""
        element = node.value if isinstance(node, cst.DictComp) else node.elt  # type: ignore[attr-defined]
        for_in = node.for_in if isinstance(element, cst.Call) else None  # type: ignore[attr-defined]
        while for_in is not None:
            targets = ", ".join(n.value for n in target_names(for_in.target))
            self._operation(for_in, "for", targets, self.shape(for_in.iter))
            for_in = for_in.inner_for_in
        self.visit_children(node)

    def _attribute(self, node: cst.Attribute) -> None:
        name = self.resolved(node)
        if name is not None:
            self.names.add(name)
        else:
            self.visit(node.value)

    def _name(self, node: cst.Name) -> None:
        resolved = self.aliases.get(node.value)
        if resolved is not None:
            self.names.add(resolved)

    def _string(self, node: cst.SimpleString) -> None:
        if len(node.value) <= _MAX_STRING:
            value = node.evaluated_value
            if isinstance(value, str):
                self.strings.add(value)

    # -- result ---------------------------------------------------------------------

    def finish(self) -> FileFacts:
        positions = node_positions(self.module, [node for _, node in self.positioned])
        for fact, node in self.positioned:
            fact.line, fact.column = positions.get(id(node), (1, 1))
            if isinstance(fact, Operation):
                fact.column += _parentheses_width(node)
        self.facts.imports = dict(self.aliases)
        self.facts.operations = tuple(self.operations)
        self.facts.names = frozenset(self.names)
        self.facts.strings = frozenset(self.strings)
        return self.facts


def _concatenated_strings(node: cst.BaseExpression) -> list[cst.BaseExpression]:
    """The terms of ``root + "/" + name``, a chain of additions with a string literal among
    them; empty for any other expression (tensor arithmetic stays opaque)."""
    terms: list[cst.BaseExpression] = []
    pending = [node]
    while pending:
        term = pending.pop()
        if isinstance(term, cst.BinaryOperation) and isinstance(term.operator, cst.Add):
            pending += [term.right, term.left]
        else:
            terms.append(term)
    strings = (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)
    return terms if len(terms) > 1 and any(isinstance(term, strings) for term in terms) else []


def _pairs(target: cst.BaseExpression, value: cst.BaseExpression) -> bool:
    """``a, b = x, y``: a tuple or list target unpacking one of the same length, unstarred."""
    sequences = (cst.Tuple, cst.List)
    return (isinstance(target, sequences) and isinstance(value, sequences)
            and len(target.elements) == len(value.elements)
            and not any(isinstance(e, cst.StarredElement) for e in (*target.elements, *value.elements)))


def _small_literal_call(node: cst.Call) -> bool:
    """``KFold(5)``, ``torch.device("cuda")``: worth keeping whole in an assignment."""
    literal = (cst.Integer, cst.Float, cst.SimpleString, cst.Name)
    return len(node.args) <= 3 and all(isinstance(a.value, literal) for a in node.args)


def _parentheses_width(node: cst.CSTNode) -> int:
    """Columns taken by an expression's own opening parentheses, so it is located at its first token."""
    width = 0
    for paren in getattr(node, "lpar", ()):
        whitespace = paren.whitespace_after
        if not isinstance(whitespace, cst.SimpleWhitespace):
            return 0  # a line break inside the parentheses: keep the parenthesis position
        width += 1 + len(whitespace.value)
    return width


def _mentions(node: cst.CSTNode, names: set[str], depth: int = 0) -> bool:
    """Does an index expression use one of ``names`` (``x[i]``, ``x[:, i + 1]``)?"""
    if isinstance(node, cst.Name):
        return node.value in names
    if depth > 3:
        return False
    if isinstance(node, cst.Index):
        return _mentions(node.value, names, depth + 1)
    if isinstance(node, cst.Slice):
        return any(part is not None and _mentions(part, names, depth + 1) for part in (node.lower, node.upper, node.step))
    if isinstance(node, cst.BinaryOperation):
        return _mentions(node.left, names, depth + 1) or _mentions(node.right, names, depth + 1)
    if isinstance(node, cst.UnaryOperation):
        return _mentions(node.expression, names, depth + 1)
    return False


def _does_nothing(body: cst.BaseSuite) -> bool:
    """Is a block only ``pass``, ``...`` or a string?"""
    lines = body.body if isinstance(body, cst.IndentedBlock) else (body,)
    return all(isinstance(line, (cst.SimpleStatementLine, cst.SimpleStatementSuite))
               and all(_idle(statement) for statement in line.body) for line in lines)


def _idle(statement: cst.BaseSmallStatement) -> bool:
    return isinstance(statement, cst.Pass) or (
        isinstance(statement, cst.Expr) and isinstance(statement.value, (cst.Ellipsis, cst.SimpleString)))


def _is_main_guard(test: cst.BaseExpression) -> bool:
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    sides = [test.left, test.comparisons[0].comparator]
    names = {s.value for s in sides if isinstance(s, cst.Name)}
    strings = {s.evaluated_value for s in sides if isinstance(s, cst.SimpleString)}
    return names == {"__name__"} and strings == {"__main__"}


def extract_python(module: cst.Module, path: str, module_name: str) -> FileFacts:
    """Extract the facts of one parsed module."""
    facts = FileFacts(path=path, module=module_name, kind="python")
    package = module_name if path.endswith("__init__.py") else module_name.rpartition(".")[0]
    extractor = _Extractor(facts, module, package)
    extractor.visit_all(module.body)
    return extractor.finish()
