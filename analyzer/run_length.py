"""How many epochs or steps a training loop runs, when the source fixes the number.

Scripts rarely write ``range(3)``. They write ``range(num_epochs)`` after
``num_epochs = int(config["num_epochs"])``, with ``config = {"num_epochs": 3, ...}``
built by ``main()`` and passed to ``training_function(config, args)``. This module
follows such a number back through the file's constants, ``int()``/``float()``
conversions, dict literals indexed by a literal key, and, one call away, the argument a
caller passes for a parameter.
"""

from __future__ import annotations

import re

from greenlint.analyzer import ml
from greenlint.analyzer.facts import Assignment, Call, FileFacts, Loop, Value
from greenlint.analyzer.project import Project, function_key

#: A lone step loop of at most this many literal iterations is a demo, not a training run.
SHORT_RUN_STEPS = 1000
#: An epoch loop of at most this many epochs is a short fine-tune or a feature demo: a
#: rerun after a crash repeats minutes of work on the data such scripts use.
SHORT_RUN_EPOCHS = 5
#: Wrappers that iterate what they are given: a progress bar around ``range(N)`` runs N steps.
PROGRESS_WRAPPERS = ("tqdm", "trange", "track", "enumerate")
#: The end of ``range(1, (args.epochs + 1))`` in a loop's shape: a name plus or minus a number.
_OFFSET_END = re.compile(r"\(([A-Za-z_][\w.]*) ([+-]) (\d+)\)\)+$")
CONVERSIONS = ("int", "float", "round")
#: ``TrainingArguments(num_train_epochs=3.0)``: the epochs a Hugging Face Trainer runs when told none.
HF_DEFAULT_EPOCHS = 3
#: The keyword that sets a framework call's epoch budget.
EPOCH_KEYWORDS = {"fit": "epochs", "Trainer": "max_epochs", "TrainingArguments": "num_train_epochs",
                  "Seq2SeqTrainingArguments": "num_train_epochs"}


#: A range this long that a ``break`` leaves is a sentinel, not a count: the run ends on
#: some other budget (``if glb_step > args.max_steps: break``).
SENTINEL_COUNT = 100_000


def loop_count(project: Project, facts: FileFacts, loop: Loop) -> int | float | None:
    """The number of iterations of ``for _ in range(N)`` (through progress bars and
    ``enumerate``; ``range(1, N + 1)`` counts N, ``range(start, start + N)`` too), or of
    ``while step < N:``; None when the code does not fix it."""
    if loop.kind == "while":
        return number(project, facts, loop.bound, loop.scope, loop.line) if loop.bound is not None else None
    bound = range_of(facts, loop)
    if bound is None or not 1 <= len(bound.args) <= 2:
        return None
    end = bound.args[-1].value
    offset = _OFFSET_END.search(loop.iter_shape) if end.kind == "other" else None
    if offset is not None:  # range(1, args.epochs + 1): the shape shows the name and the offset
        name, sign, amount = offset.groups()
        start = bound.args[0].value if len(bound.args) == 2 else None
        if start is not None and start.kind in ("name", "attribute") and start.text == name and sign == "+":
            return int(amount)  # range(start_epoch, start_epoch + 200): 200, wherever it resumes
        counted = number(project, facts, Value("attribute" if "." in name else "name", text=name), loop.scope, loop.line)
        if counted is None:
            return None
        end_number = counted + int(amount) if sign == "+" else counted - int(amount)
        first = start.literal if start is not None and start.kind == "literal" and isinstance(start.literal, int) else 0
        return end_number - first
    count = number(project, facts, end, loop.scope, loop.line)
    if count is not None and loop.breaks and count >= SENTINEL_COUNT:
        return None  # for epoch in range(1000000): ... break once the step budget is spent
    return count


def range_of(facts: FileFacts, loop: Loop) -> Value | None:
    """The ``range(...)`` a loop iterates, seen through progress bars and the name that holds one."""
    value = loop.iter
    for _ in range(3):
        if value is None:
            return None
        if value.kind == "name":
            built = next((c for c in reversed(facts.calls) if c.target == value.text and c.line <= loop.line
                          and c.scope in (loop.scope, "")), None)
            value = Value("call", text=built.name, args=built.args) if built is not None else None
            continue
        if value.kind != "call":
            return None
        method = value.text.rpartition(".")[2]
        if value.text == "range" or method == "trange":
            return value
        if method not in PROGRESS_WRAPPERS or not value.args:
            return None
        value = value.args[0].value
    return None


def number(project: Project, facts: FileFacts, value: Value | None, scope: str, line: int,
           depth: int = 0) -> int | float | None:
    """The number a value holds: what ``ml.largest_number`` finds, and beyond it
    conversions, ``config["key"]`` of a dict literal, parameters set by callers, and else their defaults."""
    found = ml.largest_number(facts, value, scope, line)
    if found is not None or value is None or depth > 3:
        return found
    if value.kind == "name":
        resolved = ml.resolve_with_arguments(facts, value.text, scope, line)
        if resolved is not None and resolved.kind == "name" and resolved.text != value.text:
            return number(project, facts, resolved, scope, line, depth + 1)
        value = resolved or value
    if value.kind == "attribute" and value.text.startswith("self."):
        assigned = _instance_attribute(facts, value.text, scope)
        if assigned is not None:
            return number(project, facts, assigned.value, assigned.scope, assigned.line + 1, depth + 1)
    if value.kind == "call" and value.text in CONVERSIONS and len(value.args) == 1:
        return number(project, facts, value.args[0].value, scope, line, depth + 1)
    if value.kind == "subscript" and len(value.items) == 1 and value.items[0].kind == "literal":
        table = _dict_named(project, facts, value.text, scope, line, depth)
        item = table.get(value.items[0].literal) if table is not None else None
        return number(project, facts, item, scope, line, depth + 1) if item is not None else None
    if value.kind == "name":
        passed = _passed_by_callers(project, facts, value.text, scope)
        if passed:
            numbers = [number(project, site, arg, site_scope, site_line, depth + 1)
                       for site, arg, site_scope, site_line in passed]
            if all(n is not None for n in numbers):
                return max(numbers)  # type: ignore[type-var]
            return None
        return _default(project, facts, value.text, scope)
    return None


def _instance_attribute(facts: FileFacts, attribute: str, scope: str) -> Assignment | None:
    """The one assignment of ``self.<attribute>`` in the methods of the class that
    ``scope`` belongs to (``self.train_num_steps = train_num_steps`` in ``__init__``)."""
    owner = scope.rpartition(".")[0]
    if not owner:
        return None
    assigned = [a for a in facts.assignments if a.target == attribute and a.scope.rpartition(".")[0] == owner]
    return assigned[0] if len(assigned) == 1 else None


def _default(project: Project, facts: FileFacts, name: str, scope: str) -> int | float | None:
    """The number literal a parameter defaults to, when no caller passes it:
    ``def train(model, loader, epochs=90)`` runs 90 epochs."""
    function = project.functions.get(function_key(facts.module, scope))
    if function is None or name not in function[1].params:
        return None
    return dict(function[1].defaults).get(name)


def _dict_named(project: Project, facts: FileFacts, name: str, scope: str, line: int, depth: int) -> Value | None:
    """The dict literal a name holds, here or as the argument callers pass for it."""
    held = ml.resolve_name(facts, name, scope, line)
    if held is not None and held.kind == "dict":
        return held
    passed = _passed_by_callers(project, facts, name, scope) if depth <= 3 else []
    tables = [ml.literal_or_resolved(site, arg, site_scope, site_line) for site, arg, site_scope, site_line in passed]
    dicts = [t for t in tables if t is not None and t.kind == "dict"]
    return dicts[0] if len(dicts) == 1 and len(tables) == 1 else None


def _passed_by_callers(project: Project, facts: FileFacts, name: str,
                       scope: str) -> list[tuple[FileFacts, Value, str, int]]:
    """For a parameter ``name`` of the function ``scope`` (or of a function enclosing it:
    a closure reads its parent's parameters), what each call site passes."""
    parts = scope.split(".")
    for cut in range(len(parts), 0, -1):
        owner = ".".join(parts[:cut])
        function = project.functions.get(function_key(facts.module, owner))
        if function is not None and name in function[1].params:
            break
    else:
        return []
    position = function[1].params.index(name)
    if function[1].class_name is not None:
        position -= 1  # self
    passed = []
    for site in project.call_sites.get(function_key(facts.module, owner), ()):
        arg = site.call.argument(name, position)
        if arg is None:
            return []  # the default applies, or it is passed through **kwargs: unknown
        passed.append((site.file, arg, site.call.scope, site.call.line))
    return passed


def step_loops_in(facts: FileFacts, outer: Loop) -> set[int]:
    """Ids of the loops, ``outer`` itself or nested in it, whose body runs ``backward()``."""
    return {c.loop for c in facts.calls if c.loop is not None and ml.is_backward(c) and facts.in_loop(c, outer.id)}


def short_run(project: Project, facts: FileFacts, anchor: Loop, max_epochs: int = SHORT_RUN_EPOCHS) -> bool:
    """A lone step loop over ``range(N)`` with a small N, or a loop nest that runs a few
    epochs in all: N a literal, a constant, ``int(config["num_epochs"])`` of a dict a
    caller passes, the long branch of ``2 if smoke_test else 50``, also through
    ``tqdm(range(N))`` held in a name. ``for fold in range(5)`` around ``for epoch in
    range(100)`` is 500 epochs, not 5. ``max_epochs=0`` asks about the step count only
    (a three-epoch run still takes thousands of steps)."""
    step_loops = step_loops_in(facts, anchor)
    if anchor.id in step_loops or _accumulates_inside(facts, anchor, step_loops):
        # the backward pass is in the anchor's own body, or in micro-batches of one optimizer step
        # it takes itself (gradient accumulation): one step per iteration
        if anchor.iter is not None and anchor.iter.kind == "list" and len(anchor.iter.items) <= SHORT_RUN_STEPS:
            return True  # for bins in (0, 2, 10): one step per listed value, a quick check
        count = loop_count(project, facts, anchor)
        return isinstance(count, int) and count <= SHORT_RUN_STEPS
    epoch_loops = {anchor.id: anchor}
    for step_loop in step_loops:
        for outer in list(facts.loop_chain(step_loop))[1:]:
            epoch_loops[outer.id] = outer
            if outer.id == anchor.id:
                break
    total = 1
    for loop in epoch_loops.values():
        count = loop_count(project, facts, loop)
        if isinstance(count, int):
            total *= count
        elif loop.id == anchor.id or range_of(facts, loop) is not None:
            return False  # the outer budget, or a range, whose length the code does not show
        # else a loop over batches between the epoch loop and a gradient-accumulation loop
    return total <= max_epochs


def _accumulates_inside(facts: FileFacts, anchor: Loop, step_loops: set[int]) -> bool:
    """Is every backward pass of the anchor in a micro-batch loop directly inside it,
    with the optimizer stepped in the anchor's own body? Then the inner loop accumulates
    gradients and each iteration of the anchor is one optimizer step."""
    if not step_loops or any(facts.loops[each].parent != anchor.id for each in step_loops):
        return False
    return any(c.loop == anchor.id and ml.is_optimizer_step(c) for c in facts.calls)


def framework_steps(facts: FileFacts, call: Call) -> int | None:
    """The ``max_steps`` a Lightning ``Trainer`` or Hugging Face training arguments set as
    a literal the code shows; None otherwise (``-1``, the default, sets none)."""
    value = call.keyword("max_steps") if call.method in EPOCH_KEYWORDS and call.method != "fit" else None
    steps = epoch_budget(facts, call, value) if value is not None else None
    return steps if steps is not None and steps > 0 else None


def framework_short_run(facts: FileFacts, call: Call) -> bool:
    """Does a framework call cap the run at ``SHORT_RUN_STEPS`` optimizer steps or fewer
    (``max_steps=10``: a demo)?"""
    steps = framework_steps(facts, call)
    return steps is not None and steps <= SHORT_RUN_STEPS


def framework_epochs(facts: FileFacts, call: Call) -> int | None:
    """The epoch budget a Keras ``fit``, a Lightning ``Trainer`` or Hugging Face training
    arguments set as a literal the code shows (``num_train_epochs=5``), or Hugging Face's
    default of three epochs where its training arguments set neither epochs nor steps;
    None otherwise."""
    keyword = EPOCH_KEYWORDS.get(call.method)
    value = call.keyword(keyword) if keyword is not None else None
    if value is None and keyword == "num_train_epochs" and call.keyword("max_steps") is None and not call.has_unpacking:
        return HF_DEFAULT_EPOCHS
    return epoch_budget(facts, call, value) if value is not None else None


def epoch_budget(facts: FileFacts, call: Call, epochs: Value) -> int | None:
    """The literal epoch count of a fit or trainer, or None when the code does not show it.

    A parameter of the enclosing function is the caller's choice, even when a module-level
    name of the same spelling exists (a notebook often has both). In a notebook, a name
    given different values in several cells holds whichever cell ran last, so it counts
    only when assigned in the fit's own cell.
    """
    if epochs.kind == "name":
        if epochs.text in params_of(facts, call.scope) or _ambiguous_in_notebook(facts, call, epochs.text):
            return None
    literal = ml.resolved_literal(facts, epochs, call.scope, call.line)
    if literal is None or isinstance(literal.literal, bool) or not isinstance(literal.literal, int):
        return None
    return literal.literal


def _ambiguous_in_notebook(facts: FileFacts, call: Call, name: str) -> bool:
    if not facts.cells:
        return False
    assigned = [a for a in facts.assignments if a.target == name and a.scope in (call.scope, "")]
    if len({repr(a.value) for a in assigned}) < 2:
        return False
    above = [a for a in assigned if a.line <= call.line]
    return not above or facts.cell_of(max(above, key=lambda a: a.line).line) != facts.cell_of(call.line)


def params_of(facts: FileFacts, scope: str) -> tuple[str, ...]:
    return next((f.params for f in facts.functions if f.qualname == scope), ())
