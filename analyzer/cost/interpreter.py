"""An abstract evaluator for the expression trees of ``model_facts``.

It runs a model's ``__init__`` to build its layers (parameters exactly, as PyTorch would
allocate them) and its ``forward`` on a tensor shape to count MACs, without importing or
executing any user code: only the captured trees are interpreted, over shapes and known
constants. Where the code depends on something the source does not fix, values become
``Unknown``; a branch on such a value is evaluated both ways and the costlier path kept,
with a note. Evaluation is bounded in steps and depth, so no input can make it hang.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from greenlint.analyzer.cost import architectures, attributes, callers, functions, layers
from greenlint.analyzer.cost.scopes import (
    ArgNamespace,
    ProjectIndex,
    call_assigned,
    call_node,
    latest_assignment,
    majority,
    value_to_node,
)
from greenlint.analyzer.cost.tensor_ops import UnknownArgument
from greenlint.analyzer.cost.values import (
    BoundMethod,
    Builtin,
    ClassRef,
    ConfigObject,
    EvalError,
    Function,
    Instance,
    Lambda,
    Layer,
    Param,
    Ref,
    Super,
    Tally,
    Tensor,
    Unknown,
)
from greenlint.analyzer.facts import FileFacts
from greenlint.analyzer.model_facts import Global, Method, ModelClass, Node, Statement

#: Parameter names that, in a script with an argument parser, hold its parsed options
#: (``def train(args): ... args.image_size``).
ARGS_PARAMETERS = frozenset({"args", "opt", "opts", "options", "flags"})
MAX_STEPS = 400_000
MAX_DEPTH = 80
MAX_ITERATIONS = 20_000

_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "//": operator.floordiv,
    "%": operator.mod, "**": operator.pow, "&": operator.and_, "|": operator.or_, "^": operator.xor,
    "<<": operator.lshift, ">>": operator.rshift,
}
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
    "in": lambda a, b: a in b, "not in": lambda a, b: a not in b, "is": operator.is_, "is not": operator.is_not,
}


@dataclass
class Scope:
    """A running function: its locals, the module it was written in, its class and ``self``."""

    facts: FileFacts
    locals: dict[str, Any] = field(default_factory=dict)
    owner: ModelClass | None = None
    receiver: Any = None
    #: At a call site (``site`` set), names resolve through the file's facts.
    site: tuple[str, int] | None = None


class _Signal:
    pass


@dataclass
class _Return(_Signal):
    value: Any


class _Break(_Signal):
    pass


class _Continue(_Signal):
    pass


class Interpreter:
    """Evaluates model code over shapes; one instance per estimate (it holds the tally)."""

    def __init__(self, index: ProjectIndex, overrides: dict[str, Any] | None = None) -> None:
        self.index = index
        self.tally = Tally()
        self.steps = 0
        self.depth = 0
        self._global_values: dict[tuple[str, str], Any] = {}
        self._evaluating: set[tuple[str, str]] = set()
        #: Per-class constructor arguments from configuration (``[tool.greenlint.models]``).
        self.overrides = overrides or {}
        #: The scopes of the project functions running now, innermost last.
        self.frames: list[Scope] = []

    # -- public -----------------------------------------------------------------------

    def instantiate(self, ref: ClassRef, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """Build a project class: a module instance (running ``__init__``) or a config."""
        cls, facts = ref.cls, ref.facts
        if cls.truncated:
            return Unknown(f"{cls.name} is too large to follow")
        if cls.kind == "config":
            return self._config(cls, facts, args, kwargs)
        instance = Instance(cls, facts)
        init = self._find_method(cls, facts, "__init__")
        if init is not None:
            method, owner, owner_facts = init
            self._run(Function(method, owner_facts, owner), [instance, *args], kwargs, receiver=instance)
        else:
            base = self._library_base(cls)
            if base is not None:
                self._init_library_base(instance, base, args, kwargs)
        return instance

    def call(self, function: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """Call anything callable: project functions and classes, layers, library functions."""
        self._tick()
        if isinstance(function, Unknown):
            return function
        if isinstance(function, Function):
            return self._run(function, args, kwargs)
        if isinstance(function, BoundMethod):
            if isinstance(function.function, Function):
                return self._run(function.function, [function.receiver, *args], kwargs, receiver=function.receiver)
            return functions.call_method(self, function.receiver, function.name, args, kwargs)
        if isinstance(function, ClassRef):
            return self.instantiate(function, args, kwargs)
        if isinstance(function, Layer):
            return self.forward_layer(function, args, kwargs)
        if isinstance(function, Instance):
            return self.forward_instance(function, args, kwargs)
        if isinstance(function, Builtin):
            return functions.call_builtin(self, function.name, args, kwargs)
        if isinstance(function, Lambda):
            return self._call_lambda(function, args, kwargs)
        if isinstance(function, Ref):
            return self.call_ref(function.name, args, kwargs)
        if isinstance(function, architectures.KnownModel):
            return architectures.forward_known(self, function, args[0] if args else kwargs.get("x"))
        if isinstance(function, architectures.KnownText):
            return architectures.forward_text(self, function, args[0] if args else kwargs.get("input_ids"))
        if isinstance(function, _LibraryInit):
            self._init_library_base(function.instance, function.layer, args, kwargs)
            return None
        return functions.call_other(self, function, args, kwargs)

    def forward_layer(self, layer: Layer, args: list[Any], kwargs: dict[str, Any]) -> Any:
        forward = layer.spec.forward
        if forward is None:
            raise EvalError(f"nn.{layer.kind} is not callable")
        try:
            return forward(self, layer, args, kwargs)
        except UnknownArgument as error:
            self.tally.missing(f"nn.{layer.kind}: {error.unknown.reason}")
            return error.unknown

    def forward_instance(self, instance: Instance, args: list[Any], kwargs: dict[str, Any]) -> Any:
        found = self._find_method(instance.cls, instance.facts, "forward")
        if found is not None:
            method, owner, facts = found
            return self._run(Function(method, facts, owner), [instance, *args], kwargs, receiver=instance)
        if instance.base_layer is not None:
            return self.forward_layer(instance.base_layer, args, kwargs)
        raise EvalError(f"{instance.cls.name} has no forward")

    def call_ref(self, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        spec = layers.spec_for(name)
        if spec is not None:
            try:
                bound = layers.bind(spec.signature, args, kwargs, f"nn.{spec.name}", spec.varargs)
                params, children = spec.build(bound)
            except UnknownArgument as error:
                return error.unknown
            return Layer(spec, bound, params, children)
        if any(frame.owner is not None for frame in self.frames):
            built = architectures.build_inside_model(name, kwargs)
            if built is not None:
                return built
        known = architectures.call_library(name, args, kwargs)
        if known is not None:
            return known
        return functions.call_builtin(self, name, args, kwargs)

    # -- functions ----------------------------------------------------------------------

    def _call_lambda(self, function: Lambda, args: list[Any], kwargs: dict[str, Any]) -> Any:
        closure: Scope = function.closure
        if len(args) > len(function.params):
            raise EvalError(f"a lambda of {len(function.params)} arguments called with {len(args)}")
        local = dict(closure.locals)
        for i, name in enumerate(function.params):
            local[name] = args[i] if i < len(args) else kwargs.get(name, function.defaults[i])
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.depth -= 1
            raise EvalError("calls nest too deeply")
        try:
            return self.eval(function.body, Scope(closure.facts, local, closure.owner, closure.receiver, closure.site))
        finally:
            self.depth -= 1

    def _run(self, function: Function, args: list[Any], kwargs: dict[str, Any], receiver: Any = None) -> Any:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.depth -= 1
            raise EvalError("calls nest too deeply")
        try:
            method = function.method
            scope = Scope(function.facts, owner=function.owner, receiver=receiver)
            self._bind(method, scope, args, kwargs)
            self.frames.append(scope)
            try:
                signal = self.exec_block(method.body, scope)
            finally:
                self.frames.pop()
            return signal.value if isinstance(signal, _Return) else None
        finally:
            self.depth -= 1

    def _bind(self, method: Method, scope: Scope, args: list[Any], kwargs: dict[str, Any]) -> None:
        positional = [p for p in method.params if p.kind == "pos"]
        remaining = list(args)
        kwargs = dict(kwargs)
        overrides = self.overrides.get(scope.owner.name) if scope.owner is not None and method.name == "__init__" else None
        for param in positional:
            if remaining:
                scope.locals[param.name] = remaining.pop(0)
            else:
                scope.locals[param.name] = self._keyword_or_default(param, kwargs, scope, method.name)
        for param in method.params:
            if param.kind == "vararg":
                scope.locals[param.name] = tuple(remaining)
                remaining = []
            elif param.kind == "kwonly":
                scope.locals[param.name] = self._keyword_or_default(param, kwargs, scope, method.name)
        kwarg = next((p for p in method.params if p.kind == "kwarg"), None)
        if kwarg is not None:
            scope.locals[kwarg.name] = kwargs
        if overrides:
            for key, value in overrides.items():
                if key in scope.locals:
                    scope.locals[key] = value

    def _keyword_or_default(self, param: Any, kwargs: dict[str, Any], scope: Scope, method: str) -> Any:
        """A parameter given by keyword (taken out of ``kwargs``), else its default."""
        if param.name in kwargs:
            return kwargs.pop(param.name)
        if param.default is not None:
            return self.eval(param.default, Scope(scope.facts, owner=scope.owner))
        return Unknown(f"argument '{param.name}' of {method}() is not given")

    def _find_method(self, cls: ModelClass, facts: FileFacts, name: str, seen: int = 0) -> tuple[Method, ModelClass, FileFacts] | None:
        """A method of a class or of its project base classes (first base first)."""
        method = cls.method(name)
        if method is not None:
            return method, cls, facts
        if seen > 8:
            return None
        for base in cls.bases:
            ref = self.resolve_class(base, facts)
            if ref is not None:
                found = self._find_method(ref.cls, ref.facts, name, seen + 1)
                if found is not None:
                    return found
        return None

    def resolve_class(self, name: str, facts: FileFacts) -> ClassRef | None:
        if "." not in name:
            return self.index.class_in(facts, name)
        found, rest = self.index.resolve_ref(name, facts)
        return found if isinstance(found, ClassRef) and not rest else None

    def _library_base(self, cls: ModelClass) -> str | None:
        for base in cls.bases:
            spec = layers.spec_for(base)
            if spec is not None:
                return spec.name
        return None

    def _init_library_base(self, instance: Instance, name: str, args: list[Any], kwargs: dict[str, Any]) -> None:
        try:
            layer = layers.make(name, args, kwargs)
        except UnknownArgument as error:
            self.tally.missing(f"nn.{name}: {error.unknown.reason}")
            return
        instance.base_layer = layer
        for key, child in layer.children.items():
            instance.attrs.setdefault(key, child)
        for key, param in layer.params.items():
            instance.attrs.setdefault(key, param)

    def _config(self, cls: ModelClass, facts: FileFacts, args: list[Any], kwargs: dict[str, Any]) -> ConfigObject:
        config = ConfigObject(cls.name, cls=cls, facts=facts)
        defaults = Scope(facts, owner=cls)
        for field_ in self._fields(cls, facts):
            if field_.default is not None:
                config.attrs[field_.name] = self.eval(field_.default, defaults)
        init = cls.method("__init__")
        if init is not None and not cls.dataclass:
            self._run(Function(init, facts, cls), [config, *args], kwargs, receiver=config)
            return config
        names = [f.name for f in self._fields(cls, facts)]
        for name, value in zip(names, args):
            config.attrs[name] = value
        for name, value in kwargs.items():
            config.attrs[name] = value
        for name in names:
            if name not in config.attrs:
                config.attrs[name] = Unknown(f"field '{name}' of {cls.name} has no value")
        post = cls.method("__post_init__")
        if post is not None:
            self._run(Function(post, facts, cls), [config], {}, receiver=config)
        return config

    def _fields(self, cls: ModelClass, facts: FileFacts, depth: int = 0) -> list[Any]:
        inherited: list[Any] = []
        if depth < 6:
            for base in cls.bases:
                ref = self.resolve_class(base, facts)
                if ref is not None:
                    inherited.extend(self._fields(ref.cls, ref.facts, depth + 1))
        own = {f.name for f in cls.fields}
        return [f for f in inherited if f.name not in own] + list(cls.fields)

    # -- statements ---------------------------------------------------------------------

    def exec_block(self, statements: tuple[Statement, ...], scope: Scope) -> _Signal | None:
        for statement in statements:
            signal = self.exec(statement, scope)
            if signal is not None:
                return signal
        return None

    def exec(self, statement: Statement, scope: Scope) -> _Signal | None:
        self._tick()
        kind = statement.kind
        if kind == "assign":
            assert statement.value is not None
            value = self.eval(statement.value, scope)
            for target in statement.targets:
                self.assign(target, value, scope)
            return None
        if kind == "augassign":
            assert statement.value is not None
            target = statement.targets[0]
            current = self.eval(target, scope)
            value = self.binary(statement.op, current, self.eval(statement.value, scope))
            self.assign(target, value, scope)
            return None
        if kind == "expr":
            assert statement.value is not None
            if not self._unknown_module_call(statement.value, scope):
                self.eval(statement.value, scope)
            return None
        if kind == "return":
            return _Return(self.eval(statement.value, scope) if statement.value is not None else None)
        if kind == "if":
            return self._if(statement, scope)
        if kind == "for":
            return self._for(statement, scope)
        if kind in ("with", "try"):
            return self.exec_block(statement.body, scope)
        if kind == "raise":
            raise EvalError("the code raises an exception on this path")
        if kind == "assert":
            assert statement.value is not None
            if self.truth(self.eval(statement.value, scope)) is False:
                raise EvalError(f"`assert {render(statement.value)}` fails on this path")
            return None
        if kind == "break":
            return _Break()
        if kind == "continue":
            return _Continue()
        if kind == "unknown":
            self.tally.note(f"not followed: {statement.value.value if statement.value else 'a statement'}")
        return None

    def _unknown_module_call(self, node: Node, scope: Scope) -> bool:
        """``self.helper(...)`` as a statement, where the method is not known: its effect
        (layers it may add) is lost, so the count is marked incomplete rather than short."""
        if node.kind != "call" or node.children[0].kind != "attr":
            return False
        callee = node.children[0]
        owner = self.eval(callee.children[0], scope)
        if not isinstance(owner, (Instance, Layer)):
            return False
        method = self.getattr(owner, callee.value)
        if not isinstance(method, Unknown) or method.inert:
            return False
        self.tally.missing(f"`{render(node)}` is not followed ({method.reason})")
        return True

    def _if(self, statement: Statement, scope: Scope) -> _Signal | None:
        assert statement.value is not None
        test = self.truth(self.eval(statement.value, scope))
        if test is True:
            return self.exec_block(statement.body, scope)
        if test is False:
            return self.exec_block(statement.orelse, scope)
        return self._both_branches(statement, scope)

    def _both_branches(self, statement: Statement, scope: Scope) -> _Signal | None:
        """A test the source does not decide: run both ways, keep the costlier path."""
        outcomes = []
        saved_locals, saved_tally = dict(scope.locals), self.tally
        receiver = scope.receiver
        saved_attrs = dict(receiver.attrs) if isinstance(receiver, (Instance, ConfigObject)) else None
        for branch in (statement.body, statement.orelse):
            scope.locals = dict(saved_locals)
            self.tally = saved_tally.copy()
            if saved_attrs is not None:
                receiver.attrs = dict(saved_attrs)
            try:
                signal = self.exec_block(branch, scope)
            except EvalError:
                continue
            attrs = receiver.attrs if saved_attrs is not None else None
            outcomes.append((self.tally, scope.locals, attrs, signal))
        if not outcomes:
            self.tally = saved_tally
            raise EvalError("every branch of a condition fails")
        chosen = max(outcomes, key=lambda o: o[0].total)
        self.tally, scope.locals = chosen[0], chosen[1]
        if saved_attrs is not None and chosen[2] is not None:
            receiver.attrs = chosen[2]
        if len(outcomes) > 1 and outcomes[0][0].total != outcomes[1][0].total:
            self.tally.note(f"a branch on `{render(statement.value)}` depends on run-time values; the costlier path is counted")
        return chosen[3]

    def _for(self, statement: Statement, scope: Scope) -> _Signal | None:
        assert statement.value is not None
        iterable = self.eval(statement.value, scope)
        items = self.iterate(iterable)
        if isinstance(items, Unknown):
            self.tally.missing(f"a loop over `{render(statement.value)}` ({items.reason})")
            return None
        count = 0
        for item in items:
            count += 1
            if count > MAX_ITERATIONS:
                raise EvalError("a loop runs too many times to follow")
            self.assign(statement.targets[0], item, scope)
            signal = self.exec_block(statement.body, scope)
            if isinstance(signal, _Break):
                return None
            if isinstance(signal, _Return):
                return signal
        else:
            return self.exec_block(statement.orelse, scope)

    def assign(self, target: Node, value: Any, scope: Scope) -> None:
        kind = target.kind
        if kind == "name":
            scope.locals[target.value] = value
        elif kind in ("tuple", "list"):
            items = self.iterate(value)
            if isinstance(items, Unknown):
                items = [items] * len(target.children)
            items = list(items)
            starred = [i for i, t in enumerate(target.children) if t.kind == "star"]
            if starred:
                at = starred[0]
                after = len(target.children) - at - 1
                head, middle, tail = items[:at], items[at: len(items) - after], items[len(items) - after:]
                for t, v in zip(target.children[:at], head):
                    self.assign(t, v, scope)
                self.assign(target.children[at].children[0], list(middle), scope)
                for t, v in zip(target.children[at + 1:], tail):
                    self.assign(t, v, scope)
                return
            if len(items) != len(target.children):
                raise EvalError(f"cannot unpack {len(items)} values into {len(target.children)}")
            for t, v in zip(target.children, items):
                self.assign(t, v, scope)
        elif kind == "attr":
            self.setattr(self.eval(target.children[0], scope), target.value, value)
        elif kind == "subscript":
            container = self.eval(target.children[0], scope)
            key = self.eval(target.children[1], scope)
            attributes.setitem(self, container, key, value)

    # -- expressions --------------------------------------------------------------------

    def eval(self, node: Node, scope: Scope) -> Any:
        self._tick()
        kind = node.kind
        if kind == "const":
            return node.value
        if kind == "name":
            return self.lookup(node.value, scope)
        if kind == "ref":
            return self.resolve_ref(node.value, scope.facts)
        if kind == "attr":
            return self.getattr(self.eval(node.children[0], scope), node.value)
        if kind == "call":
            return self._call(node, scope)
        if kind == "subscript":
            return attributes.getitem(self, self.eval(node.children[0], scope), self.eval(node.children[1], scope))
        if kind == "slice":
            parts = [self.eval(c, scope) for c in node.children]
            if any(isinstance(p, Unknown) for p in parts):
                return next(p for p in parts if isinstance(p, Unknown))
            try:
                return slice(*parts)
            except TypeError:
                return Unknown("a slice with non-integer bounds")
        if kind == "binop":
            return self.binary(node.value, self.eval(node.children[0], scope), self.eval(node.children[1], scope))
        if kind == "unary":
            return self.unary(node.value, self.eval(node.children[0], scope))
        if kind == "boolop":
            left = self.eval(node.children[0], scope)
            truth = self.truth(left)
            if truth is None:
                right = self.eval(node.children[1], scope)
                if node.value == "and" and self.truth(right) is False:
                    return False
                if node.value == "or" and self.truth(right) is True:
                    return right
                return Unknown(f"`{render(node)}`")
            if (node.value == "and") == truth:
                return self.eval(node.children[1], scope)
            return left
        if kind == "compare":
            return self.compare(node, scope)
        if kind == "ifexp":
            truth = self.truth(self.eval(node.children[0], scope))
            if truth is None:
                body, orelse = self.eval(node.children[1], scope), self.eval(node.children[2], scope)
                return body if _same(body, orelse) else Unknown(f"`{render(node.children[0])}` decides between values")
            return self.eval(node.children[1] if truth else node.children[2], scope)
        if kind in ("tuple", "list", "set"):
            items = self._elements(node.children, scope)
            if isinstance(items, Unknown):
                return items
            return tuple(items) if kind == "tuple" else (list(items) if kind == "list" else _set(items))
        if kind == "dict":
            return self._dict(node, scope)
        if kind == "comp":
            return self._comprehension(node, scope)
        if kind == "lambda":
            defaults = tuple(self.eval(d, scope) for d in node.children[1:])
            return Lambda(tuple(node.value), node.children[0], defaults, scope)
        if kind == "unknown":
            return Unknown(f"`{node.value}` is not followed")
        if kind in ("star", "dstar", "kw"):
            return self.eval(node.children[0], scope)
        return Unknown(f"expression {kind}")

    def _elements(self, nodes: tuple[Node, ...], scope: Scope) -> list[Any] | Unknown:
        items: list[Any] = []
        for child in nodes:
            if child.kind == "star":
                inner = self.iterate(self.eval(child.children[0], scope))
                if isinstance(inner, Unknown):
                    return inner
                items.extend(inner)
            else:
                items.append(self.eval(child, scope))
        return items

    def _dict(self, node: Node, scope: Scope) -> Any:
        result: dict[Any, Any] = {}
        children = list(node.children)
        i = 0
        while i < len(children):
            child = children[i]
            if child.kind == "dstar":
                inner = self.eval(child.children[0], scope)
                if isinstance(inner, ConfigObject):
                    inner = dict(inner.attrs)
                if not isinstance(inner, dict):
                    return Unknown("a dict unpacks a value the source does not fix")
                result.update(inner)
                i += 1
                continue
            key = self.eval(child, scope)
            value = self.eval(children[i + 1], scope)
            try:
                result[key] = value
            except TypeError:
                return Unknown("a dict key is not hashable")
            i += 2
        return result

    def _comprehension(self, node: Node, scope: Scope) -> Any:
        kind = node.value
        heads = node.children[:2] if kind == "dict" else node.children[:1]
        loops = node.children[len(heads):]
        inner = Scope(scope.facts, dict(scope.locals), scope.owner, scope.receiver, scope.site)
        out: list[Any] = []

        def run(level: int) -> Unknown | None:
            if level == len(loops):
                out.append(tuple(self.eval(h, inner) for h in heads) if kind == "dict" else self.eval(heads[0], inner))
                return None
            loop = loops[level]
            items = self.iterate(self.eval(loop.children[1], inner))
            if isinstance(items, Unknown):
                return items
            for count, item in enumerate(items):
                if count > MAX_ITERATIONS:
                    raise EvalError("a comprehension runs too many times to follow")
                self.assign(loop.children[0], item, inner)
                conditions = [self.truth(self.eval(c, inner)) for c in loop.children[2:]]
                if any(c is None for c in conditions):
                    return Unknown(f"a condition in `{render(node)}`")
                if all(conditions):
                    failed = run(level + 1)
                    if failed is not None:
                        return failed
            return None

        failed = run(0)
        if failed is not None:
            return failed
        if kind == "dict":
            return dict(out)
        if kind == "set":
            return _set(out)
        return out

    def arguments(self, node: Node, scope: Scope) -> tuple[list[Any], dict[str, Any]] | Unknown:
        """The evaluated arguments of a call node (``*`` and ``**`` unpacked)."""
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for child in node.children[1:]:
            if child.kind == "kw":
                kwargs[child.value] = self.eval(child.children[0], scope)
            elif child.kind == "star":
                items = self.iterate(self.eval(child.children[0], scope))
                if isinstance(items, Unknown):
                    return Unknown(f"*{render(child.children[0])} unpacks unknown arguments")
                args.extend(items)
            elif child.kind == "dstar":
                mapping = self.eval(child.children[0], scope)
                if isinstance(mapping, ConfigObject):
                    mapping = dict(mapping.attrs)
                if not isinstance(mapping, dict):
                    return Unknown(f"**{render(child.children[0])} unpacks unknown arguments")
                kwargs.update({str(k): v for k, v in mapping.items()})
            else:
                args.append(self.eval(child, scope))
        return args, kwargs

    def _call(self, node: Node, scope: Scope) -> Any:
        callee = node.children[0]
        evaluated = self.arguments(node, scope)
        if isinstance(evaluated, Unknown):
            return evaluated
        args, kwargs = evaluated
        if callee.kind == "attr" and callee.value in ("parse_args", "parse_known_args"):
            namespace = self.index.namespace(scope.facts)
            return (namespace, []) if callee.value == "parse_known_args" else namespace
        if callee.kind in ("name", "ref") and callee.value in ("super", "builtins.super") and scope.owner is not None:
            return Super(scope.receiver, scope.owner)
        function = self.eval(callee, scope)
        if isinstance(function, Super):
            return function
        return self.call(function, args, kwargs)

    # -- names --------------------------------------------------------------------------

    def lookup(self, name: str, scope: Scope) -> Any:
        if name in scope.locals:
            return scope.locals[name]
        if scope.site is not None:
            return self._site_lookup(name, scope)
        return self._module_lookup(name, scope.facts)

    def _module_lookup(self, name: str, facts: FileFacts) -> Any:
        item = self.index.globals.get(facts.path, {}).get(name)
        if item is not None:
            return self.global_value(item, facts)
        ref = self.index.class_in(facts, name)
        if ref is not None:
            return ref
        if name in functions.PYTHON_BUILTINS:
            return Builtin(name)
        site = self._site_lookup(name, Scope(facts, site=("", 10**9)))
        return site

    def global_value(self, item: Global, facts: FileFacts) -> Any:
        """A module-level name's value: the helper it names, or its assignment (the last
        unconditional one, else the most common of the conditional ones)."""
        key = (facts.path, item.name)
        if key in self._global_values:
            return self._global_values[key]
        if item.function is not None:
            value: Any = Function(item.function, facts)
        elif key in self._evaluating:
            return Unknown(f"'{item.name}' is defined in terms of itself")
        else:
            self._evaluating.add(key)
            try:
                value = self._assigned_value(item, facts)
            finally:
                self._evaluating.discard(key)
        self._global_values[key] = value
        return value

    def _assigned_value(self, item: Global, facts: FileFacts) -> Any:
        entries = list(item.values)
        bindings = [i for i, entry in enumerate(entries) if entry[0].kind != "subscript"]
        unconditional = [i for i in bindings if not entries[i][2]]
        chosen = [unconditional[-1]] if unconditional else bindings
        values = []
        for index in chosen:
            target, expression, _ = entries[index]
            scope = Scope(facts)
            try:
                value = self.eval(expression, scope)
                self.assign(target, value, scope)
                self._fill_items(entries, index, scope)
                values.append(scope.locals.get(item.name, Unknown(f"'{item.name}' is not bound")))
            except EvalError as error:
                values.append(Unknown(str(error)))
        if len(values) == 1:
            return values[0]
        value, disagreed = majority(values)
        if disagreed:
            self.tally.note(f"'{item.name}' is assigned different values in branches in {facts.path}; assumed {value!r}")
        return value

    def _fill_items(self, entries: list[tuple[Node, Node, bool]], index: int, scope: Scope) -> None:
        """``registry["resnet"] = ResNet`` after ``registry = {}``, up to the next rebinding."""
        for target, expression, _ in entries[index + 1:]:
            if target.kind != "subscript":
                return
            self.assign(target, self.eval(expression, scope), scope)

    def _site_lookup(self, name: str, scope: Scope) -> Any:
        facts = scope.facts
        where, line = scope.site or ("", 10**9)
        assignment = latest_assignment(facts, name, where, line)
        imports = self.index.import_roots(facts)
        if assignment is not None and f"{assignment.scope}:{name}" in facts.augmented:
            return Unknown(f"'{name}' is changed by an augmented assignment ({facts.path})")
        if assignment is not None:
            key = (facts.path, f"{assignment.scope}:{assignment.line}:{name}")
            if key in self._evaluating:
                return Unknown(f"'{name}' is defined in terms of itself")
            self._evaluating.add(key)
            try:
                if assignment.value.kind == "call":
                    call = call_assigned(facts, assignment)
                    node = call_node(call, imports) if call is not None else value_to_node(assignment.value, imports)
                else:
                    node = value_to_node(assignment.value, imports)
                inner = Scope(facts, site=(assignment.scope, assignment.line - 1))
                value = self.eval(node, inner)
            finally:
                self._evaluating.discard(key)
            if isinstance(value, Unknown):
                return value.because(f"'{name}' at {facts.path}:{assignment.line}, from {value.reason}")
            self._apply_attribute_assignments(value, name, assignment, facts, line)
            return value
        function = next((f for f in facts.functions if f.qualname == where), None)
        if function is not None and name in function.params:
            namespace = self.index.namespace(facts)
            if name in ARGS_PARAMETERS and namespace.values:
                self.tally.note(f"'{name}' of {where}() is taken to be the options {facts.path} parses (their defaults)")
                return namespace
            return self._from_callers(facts, function, name, lambda: callers.parameter(self, facts, function, name))
        ref = self.index.class_in(facts, name)
        if ref is not None:
            return ref
        item = self.index.globals.get(facts.path, {}).get(name)
        if item is not None:
            return self.global_value(item, facts)
        if name in functions.PYTHON_BUILTINS:
            return Builtin(name)
        if name in facts.imports:
            return self.resolve_ref(facts.imports[name], facts)
        looped = self._loop_value(facts, name, where, line)
        if looped is not None:
            return looped
        if function is not None and name in ("kwargs", "kw", "kwds", "model_kwargs", "hparams", "model_hparams"):
            return self._from_callers(facts, function, name, lambda: callers.extra_keywords(self, facts, function))
        return Unknown(f"'{name}' has no value visible in {facts.path}")

    def _loop_value(self, facts: FileFacts, name: str, where: str, line: int) -> Any:
        """``for latent_dim in [64, 128, 256]: train(latent_dim)``: the first value, with a note
        (each value is a separate model; the first one is estimated)."""
        loops = [loop for loop in facts.loops if loop.kind == "for" and loop.scope == where and loop.line <= line
                 and loop.targets == (name,) and loop.iter is not None]
        if not loops:
            return None
        loop = max(loops, key=lambda item: item.line)
        assert loop.iter is not None
        items = self.iterate(self.eval(value_to_node(loop.iter, self.index.import_roots(facts)), Scope(facts, site=(where, loop.line))))
        if isinstance(items, Unknown) or not items:
            return None
        if len(items) > 1:
            self.tally.note(f"'{name}' takes {len(items)} values in the loop at {facts.path}:{loop.line}; the first, {items[0]!r}, is estimated")
        return items[0]

    def _from_callers(self, facts: FileFacts, function: Any, name: str, find: Callable[[], Any]) -> Any:
        """A helper's parameter as its callers pass it, guarded against recursion."""
        key = (facts.path, f"caller:{function.qualname}:{name}")
        if key in self._evaluating or len([k for k in self._evaluating if k[1].startswith("caller:")]) >= 3:
            return Unknown(f"'{name}' is a parameter of {function.qualname}()")
        self._evaluating.add(key)
        try:
            return find()
        finally:
            self._evaluating.discard(key)

    def _apply_attribute_assignments(self, value: Any, name: str, assignment: Any, facts: FileFacts, line: int) -> None:
        """``config = GPT.get_default_config(); config.n_layer = 6``: the attributes a script
        sets on the value after it was made and before the use, in the same function."""
        if not isinstance(value, (ConfigObject, ArgNamespace, Instance, architectures.KnownModel)):
            return
        imports = self.index.import_roots(facts)
        for later in facts.assignments:
            if (later.scope != assignment.scope or not assignment.line < later.line < line
                    or not later.target.startswith(name + ".")):
                continue
            path = later.target.split(".")[1:]
            source = call_assigned(facts, later) if later.value.kind == "call" else None
            node = call_node(source, imports) if source is not None else value_to_node(later.value, imports)
            new = self.eval(node, Scope(facts, site=(later.scope, later.line - 1)))
            holder = value
            for part in path[:-1]:
                holder = self.getattr(holder, part)
            self.setattr(holder, path[-1], new)

    def resolve_ref(self, dotted: str, facts: FileFacts) -> Any:
        found, rest = self.index.resolve_ref(dotted, facts)
        if isinstance(found, tuple):
            tag, target, item = found
            if tag == "global":
                found = self.global_value(item, target)
            else:
                found = self._site_lookup(item.target, Scope(target, site=("", 10**9)))
        if isinstance(found, Ref) and found.name in functions.CONSTANTS:
            found = functions.CONSTANTS[found.name]
        for attribute in rest:
            found = self.getattr(found, attribute)
        return found

    # -- attributes ---------------------------------------------------------------------

    def getattr(self, obj: Any, name: str) -> Any:
        if isinstance(obj, Unknown):
            return obj
        if isinstance(obj, Instance):
            return self._instance_attr(obj, name)
        if isinstance(obj, ConfigObject):
            if name in obj.attrs:
                return obj.attrs[name]
            if obj.cls is not None and obj.facts is not None:
                found = self._find_method(obj.cls, obj.facts, name)
                if found is not None:
                    method, owner, facts = found
                    return BoundMethod(obj, Function(method, facts, owner), name)
            return attributes.config_attribute(obj, name)
        if isinstance(obj, ClassRef):
            for field_ in self._fields(obj.cls, obj.facts):
                if field_.name == name and field_.default is not None:
                    return self.eval(field_.default, Scope(obj.facts, owner=obj.cls))
            found = self._find_method(obj.cls, obj.facts, name)
            if found is not None:
                method, owner, facts = found
                if any(d.rpartition(".")[2] == "classmethod" for d in method.decorators):
                    return BoundMethod(obj, Function(method, facts, owner), name)
                return Function(method, facts, owner)
            if name == "__name__":
                return obj.cls.name
            return Unknown(f"{obj.cls.name}.{name} is not known")
        if isinstance(obj, Super):
            return self._super_attr(obj, name)
        if isinstance(obj, ArgNamespace):
            return obj.get(name)
        if isinstance(obj, architectures.KnownModel) and obj.layers is not None:
            return self.getattr(obj.layers, name)
        if isinstance(obj, (architectures.KnownModel, architectures.KnownText, architectures.HeadPath)):
            return architectures.attribute(obj, name)
        if isinstance(obj, Ref):
            dotted = f"{obj.name}.{name}"
            return functions.CONSTANTS.get(dotted, Ref(dotted))
        return attributes.getattr_value(self, obj, name)

    def _instance_attr(self, instance: Instance, name: str) -> Any:
        if name in instance.attrs:
            return instance.attrs[name]
        found = self._find_method(instance.cls, instance.facts, name)
        if found is not None:
            method, owner, facts = found
            function = Function(method, facts, owner)
            if any(d.rpartition(".")[2] in ("property", "cached_property") for d in method.decorators):
                return self._run(function, [instance], {}, receiver=instance)
            return BoundMethod(instance, function, name)
        for field_ in self._fields(instance.cls, instance.facts):
            if field_.name == name and field_.default is not None:
                return self.eval(field_.default, Scope(instance.facts, owner=instance.cls))
        if instance.base_layer is not None:
            return attributes.getattr_value(self, instance.base_layer, name)
        return attributes.module_attribute(self, instance, name)

    def _super_attr(self, sup: Super, name: str) -> Any:
        cls, receiver = sup.cls, sup.receiver
        facts = receiver.facts if isinstance(receiver, Instance) else (receiver.facts if isinstance(receiver, ConfigObject) else None)
        owner_facts = self._facts_of(cls) or facts
        for base in cls.bases:
            ref = self.resolve_class(base, owner_facts) if owner_facts is not None else None
            if ref is not None:
                found = self._find_method(ref.cls, ref.facts, name)
                if found is not None:
                    method, owner, mfacts = found
                    return BoundMethod(receiver, Function(method, mfacts, owner), name)
                continue
            spec = layers.spec_for(base)
            if spec is not None and name == "__init__" and isinstance(receiver, Instance):
                return _LibraryInit(receiver, spec.name)
        if name == "__init__":
            return Builtin("noop")
        if isinstance(receiver, Instance):
            return attributes.module_attribute(self, receiver, name)
        return Unknown(f"super().{name}")

    def _facts_of(self, cls: ModelClass) -> FileFacts | None:
        for (module, name), (model, facts) in self.index.classes.items():
            if model is cls:
                return facts
        return None

    def setattr(self, obj: Any, name: str, value: Any) -> None:
        """``obj.name = value``; an unknown stored on a module may hide parameters."""
        if isinstance(obj, (Instance, ConfigObject)):
            if isinstance(value, Unknown) and not value.inert and isinstance(obj, Instance):
                self.tally.missing(f"{obj.cls.name}.{name} is unknown ({value.reason})")
            obj.attrs[name] = value
        elif isinstance(obj, Layer):
            if isinstance(value, Unknown) and not value.inert:
                self.tally.missing(f"nn.{obj.kind} is given an unknown module ({value.reason})")
            if name in obj.params and (isinstance(value, Param) or value is None):
                obj.params[name] = value
            elif name in obj.children or is_module(value):
                obj.children[name] = value
            elif isinstance(value, Param):
                obj.params[name] = value
            else:
                obj.extra[name] = value
        elif isinstance(obj, ArgNamespace):
            obj.values[name] = value
        elif isinstance(obj, architectures.KnownModel) and obj.layers is not None:
            self.setattr(obj.layers, name, value)
        elif isinstance(obj, (architectures.KnownModel, architectures.HeadPath)):
            if not architectures.replace_head(obj, name, value):
                model = obj if isinstance(obj, architectures.KnownModel) else obj.model
                built = architectures.layered(model) if isinstance(obj, architectures.KnownModel) else None
                if built is not None:
                    self.setattr(built, name, value)
                else:
                    self.tally.missing(f"{model.name}.{name} is replaced, which its published figures do not cover")

    # -- operators ----------------------------------------------------------------------

    def binary(self, op: str, left: Any, right: Any) -> Any:
        if isinstance(left, Unknown):
            return left
        if isinstance(right, Unknown):
            return right
        if op == "@" or isinstance(left, (Tensor, Param)) or isinstance(right, (Tensor, Param)):
            return functions.tensor_binary(self, op, left, right)
        function = _BINARY.get(op)
        if function is None:
            return Unknown(f"operator {op}")
        if isinstance(left, tuple) and isinstance(right, tuple) and op == "+":
            return left + right
        if op == "*" and isinstance(left, (list, tuple, str)) and isinstance(right, int) and right > MAX_ITERATIONS:
            return Unknown("a sequence repeated too many times")
        try:
            return function(left, right)
        except Exception:  # noqa: BLE001 - Python semantics on odd operands: unknown
            return Unknown(f"{_short(left)} {op} {_short(right)}")

    def unary(self, op: str, value: Any) -> Any:
        if isinstance(value, Unknown):
            return value
        if op == "not":
            truth = self.truth(value)
            return Unknown("not of an unknown") if truth is None else not truth
        if isinstance(value, Tensor):
            return value
        try:
            return {"-": operator.neg, "+": operator.pos, "~": operator.invert}[op](value)
        except Exception:  # noqa: BLE001
            return Unknown(f"{op}{_short(value)}")

    def compare(self, node: Node, scope: Scope) -> Any:
        left = self.eval(node.children[0], scope)
        result: Any = True
        for op, child in zip(node.value, node.children[1:]):
            right = self.eval(child, scope)
            if op in ("is", "is not"):
                if isinstance(left, Unknown) or isinstance(right, Unknown):
                    if right is None and isinstance(left, Unknown) or left is None and isinstance(right, Unknown):
                        return Unknown(f"`{render(node)}`")
                    return Unknown(f"`{render(node)}`")
                outcome = (left is right) if op == "is" else (left is not right)
            elif isinstance(left, Unknown) or isinstance(right, Unknown):
                return Unknown(f"`{render(node)}`")
            elif isinstance(left, Tensor) or isinstance(right, Tensor):
                if op in ("in", "not in"):
                    return Unknown(f"`{render(node)}`")
                return functions.tensor_binary(self, "==", left, right) if isinstance(left, Tensor) else Unknown(f"`{render(node)}`")
            else:
                try:
                    outcome = _COMPARE[op](left, right)
                except Exception:  # noqa: BLE001
                    return Unknown(f"`{render(node)}`")
            if isinstance(outcome, Tensor):
                return outcome
            if not outcome:
                return False
            result = outcome
            left = right
        return bool(result)

    def truth(self, value: Any) -> bool | None:
        """Python truthiness where the value is known; None where it is not."""
        if isinstance(value, (Unknown, Tensor, Param)):
            return None
        if isinstance(value, (Layer, Instance, ClassRef, Function, BoundMethod, Builtin, Ref, ConfigObject, ArgNamespace, Lambda)):
            return True
        try:
            return bool(value)
        except Exception:  # noqa: BLE001
            return None

    def iterate(self, value: Any) -> list[Any] | Unknown:
        if isinstance(value, Unknown):
            return value
        if isinstance(value, (list, tuple)):
            return list(value)
        if isinstance(value, range):
            if len(value) > MAX_ITERATIONS:
                raise EvalError("a range too long to follow")
            return list(value)
        if isinstance(value, dict):
            return list(value)
        if isinstance(value, str):
            return list(value)
        if isinstance(value, (set, frozenset)):
            return sorted(value, key=repr)
        if isinstance(value, Iterator):
            return list(value)
        return attributes.iterate_value(self, value)

    def _tick(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise EvalError("the code takes too many steps to follow")


@dataclass(frozen=True)
class _LibraryInit:
    """``super().__init__(...)`` of a class extending a built-in layer (``nn.Sequential``)."""

    instance: Instance
    layer: str


def _same(a: Any, b: Any) -> bool:
    try:
        return type(a) is type(b) and bool(a == b) and not isinstance(a, (Tensor, Unknown))
    except Exception:  # noqa: BLE001
        return False


def _set(items: list[Any]) -> Any:
    try:
        return set(items)
    except TypeError:
        return Unknown("a set of unhashable values")


def _short(value: Any) -> str:
    return type(value).__name__


def render(node: Node | None, depth: int = 0) -> str:
    """An expression tree back as short code, for messages."""
    if node is None:
        return ""
    if depth > 6:
        return "…"
    d = depth + 1
    kind = node.kind
    if kind == "const":
        return repr(node.value)
    if kind in ("name", "ref"):
        return str(node.value)
    if kind == "attr":
        return f"{render(node.children[0], d)}.{node.value}"
    if kind == "call":
        args = ", ".join(render(c, d) for c in node.children[1:4])
        return f"{render(node.children[0], d)}({args}{', …' if len(node.children) > 4 else ''})"
    if kind == "kw":
        return f"{node.value}={render(node.children[0], d)}"
    if kind == "subscript":
        return f"{render(node.children[0], d)}[{render(node.children[1], d)}]"
    if kind == "binop":
        return f"{render(node.children[0], d)} {node.value} {render(node.children[1], d)}"
    if kind == "unary":
        return f"{node.value} {render(node.children[0], d)}" if node.value == "not" else f"{node.value}{render(node.children[0], d)}"
    if kind == "boolop":
        return f"{render(node.children[0], d)} {node.value} {render(node.children[1], d)}"
    if kind == "compare":
        parts = [render(node.children[0], d)]
        for op, child in zip(node.value, node.children[1:]):
            parts.append(f"{op} {render(child, d)}")
        return " ".join(parts)
    if kind in ("tuple", "list"):
        return "(" + ", ".join(render(c, d) for c in node.children[:4]) + ")"
    if kind == "unknown":
        return str(node.value)
    return "…"


def is_module(value: Any) -> bool:
    return isinstance(value, (Layer, Instance, architectures.KnownModel, architectures.KnownText))


def param_count(root: Any) -> int | Unknown:
    """``sum(p.numel() for p in model.parameters())``: registered parameters, each once."""
    seen: set[int] = set()
    total = 0
    for param in parameters(root):
        if id(param) in seen:
            continue
        seen.add(id(param))
        numel = param.numel
        if isinstance(numel, Unknown):
            return numel
        total += numel
    return total


def parameters(root: Any) -> Iterator[Param]:
    for _, param in named_parameters(root):
        yield param


def named_parameters(root: Any, prefix: str = "", seen: set[int] | None = None) -> Iterator[tuple[str, Param]]:
    """Parameters in registration order, as ``Module.named_parameters`` walks them."""
    seen = set() if seen is None else seen
    if id(root) in seen:
        return
    seen.add(id(root))
    if isinstance(root, Layer):
        for name, param in root.params.items():
            if param is not None:
                yield prefix + name, param
        for name, child in root.children.items():
            if is_module(child):
                yield from named_parameters(child, f"{prefix}{name}.", seen)
    elif isinstance(root, Instance):
        for name, value in root.attrs.items():
            if isinstance(value, Param):
                yield prefix + name, value
            elif is_module(value):
                yield from named_parameters(value, f"{prefix}{name}.", seen)
        base = root.base_layer
        if base is not None:
            for name, param in base.params.items():
                if param is not None and name not in root.attrs:
                    yield prefix + name, param
            # class Block(nn.Sequential): self.add_module("conv1", ...) registers on the base
            for name, child in base.children.items():
                if is_module(child) and name not in root.attrs:
                    yield from named_parameters(child, f"{prefix}{name}.", seen)
    elif isinstance(root, architectures.KnownModel) and root.layers is not None:
        yield from named_parameters(root.layers, prefix, seen)
    elif isinstance(root, (architectures.KnownModel, architectures.KnownText)):
        for name, param in architectures.named_parameters(root):
            yield prefix + name, param
        head = getattr(root, "head", None)
        if isinstance(root, architectures.KnownModel) and head is not None and not root.removed_head and is_module(head):
            yield from named_parameters(head, f"{prefix}{root.head_path}.", seen)


def submodules(root: Any) -> Iterator[Any]:
    """Every module below ``root`` (itself included), each once, as ``Module.modules``."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        module = stack.pop(0)
        if id(module) in seen:
            continue
        seen.add(id(module))
        yield module
        if isinstance(module, Layer):
            stack.extend(c for c in module.children.values() if is_module(c))
        elif isinstance(module, Instance):
            stack.extend(v for v in module.attrs.values() if is_module(v))


__all__ = ["Interpreter", "Scope", "named_parameters", "param_count", "parameters", "render", "submodules"]
