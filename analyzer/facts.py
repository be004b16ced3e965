"""Facts: the plain data one pass over a file extracts, and the only thing rules read.

Facts are picklable dataclasses so they can cross process boundaries and be cached by
content hash. Names are resolved through the file's imports once, here, so a rule asks
``call.name == "torch.utils.data.DataLoader"`` whether the user wrote ``DataLoader``,
``data.DataLoader`` or ``torch.utils.data.DataLoader``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

#: Value.kind for an expression whose value is known from the source alone.
LITERAL = "literal"


@dataclass
class Value:
    """A summary of an expression, enough for rules to reason about arguments.

    ``kind`` is one of ``literal`` (``literal`` holds the Python value), ``name`` or
    ``attribute`` (``text`` is the dotted name, resolved through imports), ``call``
    (``text`` is the callee, ``args`` its arguments), ``list`` (``items``; lists, tuples
    and sets), ``comprehension`` (a list comprehension), ``dict`` (``keys`` and ``items``), ``choice`` (a conditional expression:
    ``items`` are its two branches), ``subscript`` (``text`` is the indexed name,
    ``items`` the index: ``splits["train"]``), ``fstring`` and ``other`` (whose ``items``
    hold the terms when it adds strings: ``root + name + ".json"``).
    """

    kind: str
    text: str = ""
    literal: Any = None
    items: tuple[Value, ...] = ()
    keys: tuple[Any, ...] = ()
    args: tuple[Arg, ...] = ()

    @property
    def is_literal(self) -> bool:
        """True when the value is fully known: a literal or a container of literals."""
        if self.kind == LITERAL:
            return True
        if self.kind == "list":
            return all(item.is_literal for item in self.items)
        if self.kind == "dict":
            return all(k is not None for k in self.keys) and all(i.is_literal for i in self.items)
        return False

    def to_python(self) -> Any:
        """The Python value of a literal summary (lists and tuples both become lists)."""
        if self.kind == LITERAL:
            return self.literal
        if self.kind == "list":
            return [item.to_python() for item in self.items]
        if self.kind == "dict":
            return {k: v.to_python() for k, v in zip(self.keys, self.items)}
        raise ValueError(f"not a literal: {self.kind} {self.text}")

    def get(self, key: str) -> Value | None:
        """The value stored under a literal key of a dict summary."""
        for k, v in zip(self.keys, self.items):
            if k == key:
                return v
        return None

    def walk(self) -> Iterator[Value]:
        """This value and every value nested in it (container items, call arguments)."""
        yield self
        for item in self.items:
            yield from item.walk()
        for arg in self.args:
            yield from arg.value.walk()


@dataclass
class Arg:
    """One argument of a call. ``keyword`` is None for positional, ``"*"``/``"**"`` for unpacking."""

    keyword: str | None
    value: Value


@dataclass
class Call:
    """A call expression and the context it runs in.

    ``name`` is the callee as a dotted name, resolved through imports
    (``torch.utils.data.DataLoader``, ``loss.item``); empty when the callee is not a
    dotted name. ``loop`` is the innermost enclosing loop of the same function (or of
    the function around a closure that a loop defines and calls or hands on, such as
    ``optimizer.step(closure)``: its body runs on every iteration); ``guards`` the tests of ``if`` statements between that loop and the call;
    ``contexts`` the with-managers and decorators in force (``torch.no_grad``);
    ``statement`` numbers the enclosing statement, so calls of one statement group.
    A callee on an unnamed receiver (``scaler.scale(loss).backward``) is ``?.backward``;
    one on an element of a named container (``self.optimizer["generator"].step``) is
    ``?self.optimizer[].step``, so its owner still names what it is.
    ``conditions`` are the tests of every ``if`` that encloses the call in its function,
    loops or not, outermost first; an ``else`` branch reads ``not (test)``.
    """

    name: str
    args: tuple[Arg, ...]
    scope: str
    loop: int | None
    guards: tuple[str, ...]
    contexts: tuple[str, ...]
    target: str | None = None
    statement: int = 0
    line: int = 0
    column: int = 0
    conditions: tuple[str, ...] = ()

    @property
    def method(self) -> str:
        """The last segment of the callee: ``step`` for ``optimizer.step``."""
        return self.name.rpartition(".")[2]

    @property
    def shown(self) -> str:
        """The callee as a message writes it: ``.item`` for ``?.item`` (an unnamed receiver),
        ``losses[...].item`` for ``?losses[].item`` (an element of a named container)."""
        if self.name.startswith("?."):
            return self.name[1:]
        if self.name.startswith("?"):
            return self.name[1:].replace("[].", "[...].", 1)
        return self.name

    @property
    def receiver(self) -> str:
        """Everything before the last segment: ``optimizer`` for ``optimizer.step``."""
        return self.name.rpartition(".")[0]

    def keyword(self, name: str) -> Value | None:
        """The value passed as keyword ``name``, if any."""
        for arg in self.args:
            if arg.keyword == name:
                return arg.value
        return None

    def positional(self, index: int) -> Value | None:
        """The ``index``-th positional argument, if given."""
        positional = [a.value for a in self.args if a.keyword is None]
        return positional[index] if index < len(positional) else None

    def argument(self, keyword: str, index: int) -> Value | None:
        """An argument that may be passed by keyword or at a position."""
        return self.keyword(keyword) or self.positional(index)

    @property
    def has_unpacking(self) -> bool:
        """True when ``*args``/``**kwargs`` may supply arguments we cannot see."""
        return any(a.keyword in ("*", "**") for a in self.args)


@dataclass
class Loop:
    """A ``for`` or ``while`` loop. ``parent`` is the enclosing loop of the same function
    (or of the function around a closure the loop defines and uses; see ``Call.loop``).

    ``iter_shape`` is the iterable as short code with names resolved (see ``Operation``):
    ``range(x.shape[0])``, where ``iter`` can only say "a call of range". A ``while``
    loop that counts up to a bound (``while self.step < self.train_num_steps:``) keeps
    that bound in ``bound``.
    """

    id: int
    kind: str
    scope: str
    parent: int | None
    targets: tuple[str, ...]
    iter: Value | None
    line: int = 0
    column: int = 0
    iter_shape: str = ""
    #: For ``while step < bound:``, the bound (what ``iter`` holds for a ``for`` loop).
    bound: Value | None = None
    #: Whether a ``break`` leaves this loop (its count is then at most what it iterates).
    breaks: bool = False


@dataclass
class Operation:
    """An operator expression that rules reason about, with its operands as short code.

    ``op`` is ``@`` (also ``torch.matmul``/``bmm`` calls), ``einsum`` (with two operands), ``/`` or
    ``*`` (kept only when an operand involves a square root, ``exp``, a sum, a variance,
    ``tanh``/``erf`` or a scale: the arithmetic of attention, softmax, normalisation and
    GELU), ``[]`` (a subscript indexed by the target of an enclosing loop; ``store`` when it
    is assigned to), ``for`` (a comprehension: ``left`` its targets, ``right`` its
    iterable) and ``return`` (a function returning a tuple: ``left`` the tuple). Operands are rendered as compact code with names resolved through imports,
    nested calls and operators kept to a bounded depth (``torch.exp(x).sum(-1,
    keepdim=True)``, ``(q @ k.transpose(-2, -1))``). ``target`` is the name the enclosing
    statement assigns, ``conditions`` as for ``Call``.
    """

    op: str
    left: str
    right: str
    scope: str
    loop: int | None
    conditions: tuple[str, ...]
    target: str | None = None
    statement: int = 0
    store: bool = False
    line: int = 0
    column: int = 0


@dataclass
class Function:
    """A function or method definition; ``qualname`` is ``Class.method`` or ``outer.inner``."""

    qualname: str
    name: str
    decorators: tuple[str, ...]
    params: tuple[str, ...]
    class_name: str | None
    line: int = 0
    column: int = 0
    #: Parameters whose default is a number literal: ``epochs=90`` -> ``("epochs", 90)``.
    defaults: tuple[tuple[str, int | float], ...] = ()
    #: The integer a function whose whole body is one ``return`` of a literal returns
    #: (``def __len__(self): return 2``: a data set of two items, written in the code).
    returns: int | None = None


@dataclass
class ClassDef:
    """A class definition with its base classes resolved through imports."""

    name: str
    bases: tuple[str, ...]
    line: int = 0
    column: int = 0


@dataclass
class Assignment:
    """``target = value`` for a simple or dotted target (``lr``, ``self.model``)."""

    target: str
    value: Value
    scope: str
    loop: int | None
    line: int = 0
    column: int = 0


@dataclass
class ConfigEntry:
    """One scalar or list in a YAML/JSON config, addressed by its dotted key path."""

    key: str
    value: Any
    line: int
    column: int


@dataclass
class FileFacts:
    """Everything greenlint knows about one file after its single pass.

    ``kind`` is ``python``, ``config`` or ``skipped`` (no trigger word: not parsed).
    ``path`` is relative to the project root, with forward slashes.
    """

    path: str
    module: str
    kind: str
    imports: dict[str, str] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    loops: list[Loop] = field(default_factory=list)
    functions: list[Function] = field(default_factory=list)
    classes: list[ClassDef] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    #: ``scope:name`` of each plain name an augmented assignment changes
    #: (``IMG_SIZE *= x`` at module level is ``:IMG_SIZE``): its plain assignment is then
    #: not the value it holds.
    augmented: set[str] = field(default_factory=set)
    names: frozenset[str] = frozenset()
    strings: frozenset[str] = frozenset()
    entry_point: bool = False
    config: list[ConfigEntry] = field(default_factory=list)
    config_kind: str = ""
    #: For notebooks: line of the joined code -> (code cell number, line in that cell).
    cells: list[tuple[int, int]] = field(default_factory=list)
    #: For notebooks: minutes of training their saved outputs record, None when they record none.
    recorded_minutes: float | None = None
    #: For notebooks: the same per code cell that records any (cell number -> minutes).
    recorded_cells: dict[int, float] = field(default_factory=dict)
    #: For notebooks: the epoch budget a code cell's saved Keras log shows (cell -> epochs).
    recorded_epochs: dict[int, int] = field(default_factory=dict)
    #: A notebook kept as a script, in cells marked ``# %%`` (jupytext) or ``# In[3]:`` (nbconvert).
    script_notebook: bool = False
    #: Its docstrings or comments say code is written out on purpose ("an explicit implementation").
    explicit_on_purpose: bool = False
    #: nn.Module subclasses described for the cost model (``greenlint.analyzer.model_facts``).
    models: list[Any] = field(default_factory=list)
    #: Operator expressions (matrix products, scaled divisions, loop-indexed subscripts...).
    operations: tuple[Operation, ...] = ()

    def loop(self, loop_id: int) -> Loop:
        return self.loops[loop_id]

    def loop_chain(self, loop_id: int | None) -> Iterator[Loop]:
        """The loop and its enclosing loops, innermost first."""
        while loop_id is not None:
            loop = self.loops[loop_id]
            yield loop
            loop_id = loop.parent

    def cell_of(self, line: int) -> int | None:
        """The notebook code cell that joined ``line`` belongs to; None outside a notebook."""
        return self.cells[line - 1][0] if 0 < line <= len(self.cells) else None

    @property
    def is_notebook(self) -> bool:
        """A Jupyter notebook, or a notebook kept as a script in ``# %%`` cells."""
        return self.path.endswith(".ipynb") or self.script_notebook

    def in_loop(self, call: Call, loop_id: int) -> bool:
        """True when ``call`` runs inside loop ``loop_id`` (directly or in a nested loop)."""
        return any(loop.id == loop_id for loop in self.loop_chain(call.loop))

    def mentions(self, name: str) -> bool:
        """True when a dotted name (``torch.float16``) or callee occurs anywhere in the file."""
        return name in self.names

    @property
    def imported_roots(self) -> frozenset[str]:
        """Top-level packages the file imports (``torch``, ``sklearn`` ...)."""
        return frozenset(q.split(".")[0] for q in self.imports.values())
