"""Values of a function's parameters, from the code that calls it.

Notebooks and scripts wrap model construction in helpers: ``def train_model(model_name,
**kwargs): model = CIFARModule(model_name=model_name, **kwargs)`` called as
``train_model("ResNet", model_hparams={...})``. Inside the helper, ``model_name`` and
``kwargs`` have no value of their own; the first call site that passes them does. Only
top-level functions are followed, a few callers deep, and a parameter no caller passes
stays unknown (defaults are not among the facts kept for functions).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from greenlint.analyzer.cost.scopes import value_to_node
from greenlint.analyzer.cost.values import ConfigObject, Unknown
from greenlint.analyzer.facts import Call, FileFacts, Function

if TYPE_CHECKING:
    from greenlint.analyzer.cost.interpreter import Interpreter

#: Callers examined per function: the first whose arguments can be evaluated wins.
MAX_CALLERS = 4


def _callers(interp: Interpreter, facts: FileFacts, function: Function) -> list[tuple[FileFacts, Call]]:
    if function.class_name is not None or "." in function.qualname:
        return []
    sites = interp.index.project.call_sites.get(f"{facts.module}:{function.qualname}", [])
    return [(located.file, located.call) for located in sites[:MAX_CALLERS]]


def _evaluate(interp: Interpreter, facts: FileFacts, call: Call, value: Any) -> Any:
    from greenlint.analyzer.cost.interpreter import Scope

    node = value_to_node(value, interp.index.import_roots(facts))
    return interp.eval(node, Scope(facts, site=(call.scope, call.line)))


def parameter(interp: Interpreter, facts: FileFacts, function: Function, name: str) -> Any:
    """The value the first caller passes for ``name``; an Unknown when none does."""
    position = function.params.index(name)
    for caller_facts, call in _callers(interp, facts, function):
        positional = [a for a in call.args if a.keyword is None]
        if any(a.keyword == "*" for a in call.args):
            continue
        if position < len(positional):
            return _evaluate(interp, caller_facts, call, positional[position].value)
        given = call.keyword(name)
        if given is not None:
            return _evaluate(interp, caller_facts, call, given)
        unpacked = _unpacked_keywords(interp, caller_facts, call)
        if isinstance(unpacked, dict) and name in unpacked:
            return unpacked[name]
    return Unknown(f"'{name}' is a parameter of {function.qualname}() that no call in the project fixes")


def extra_keywords(interp: Interpreter, facts: FileFacts, function: Function) -> dict[str, Any] | Unknown:
    """``**kwargs`` of a helper: the keywords its first caller passes beyond its parameters."""
    for caller_facts, call in _callers(interp, facts, function):
        out: dict[str, Any] = {}
        for arg in call.args:
            if arg.keyword not in (None, "*", "**") and arg.keyword not in function.params:
                out[arg.keyword] = _evaluate(interp, caller_facts, call, arg.value)
        unpacked = _unpacked_keywords(interp, caller_facts, call)
        if isinstance(unpacked, Unknown):
            return unpacked
        out.update({k: v for k, v in unpacked.items() if k not in function.params})
        return out
    return Unknown(f"no call in the project passes the keyword arguments of {function.qualname}()")


def _unpacked_keywords(interp: Interpreter, facts: FileFacts, call: Call) -> dict[str, Any] | Unknown:
    out: dict[str, Any] = {}
    for arg in call.args:
        if arg.keyword != "**":
            continue
        value = _evaluate(interp, facts, call, arg.value)
        if isinstance(value, ConfigObject):
            value = dict(value.attrs)
        if not isinstance(value, dict):
            return value if isinstance(value, Unknown) else Unknown("** of a value the source does not fix")
        out.update({str(k): v for k, v in value.items()})
    return out
