"""Line and column of selected nodes, for a fraction of what PositionProvider costs.

libcst's PositionProvider records a range for every node of the tree, which costs about
two parses. greenlint needs positions only for the few nodes that become facts, so it
runs the module's code generator once with a state that counts lines and records a start
position only for the nodes it was asked about.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import libcst as cst
from libcst._nodes.internal import CodegenState

#: One shared no-op context: libcst opens one per statement and expression, and the
#: default generator-based one costs more than the rest of this pass.
_NO_RECORD: AbstractContextManager[None] = nullcontext()

#: Nodes whose codegen begins with their leading blank/comment lines and indentation.
_STATEMENTS = (cst.BaseCompoundStatement, cst.SimpleStatementLine)


@dataclass(slots=True)
class _LineCountingState(CodegenState):
    """A codegen state that keeps no text, only the current line/column."""

    wanted: frozenset[int] = frozenset()
    found: dict[int, tuple[int, int]] = field(default_factory=dict)
    line: int = 1
    column: int = 0

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.column += len(token)

    def add_token(self, value: str) -> None:
        newlines = value.count("\n")
        if newlines:
            self.line += newlines
            self.column = len(value) - value.rfind("\n") - 1
        else:
            self.column += len(value)

    def pop_trailing_newline(self) -> None:
        """Nothing to pop: no tokens are kept."""

    def record_syntactic_position(self, node: Any, **kwargs: Any) -> AbstractContextManager[None]:  # type: ignore[override]
        return _NO_RECORD

    def before_codegen(self, node: cst.CSTNode) -> None:
        key = id(node)
        if key not in self.wanted:
            return
        if isinstance(node, _STATEMENTS):
            # The statement's own keyword follows its leading lines and the indentation.
            indent = sum(len(t) for t in self.indent_tokens)
            self.found[key] = (self.line + len(node.leading_lines), indent + 1)
        else:
            self.found[key] = (self.line, self.column + 1)


def node_positions(module: cst.Module, nodes: Iterable[cst.CSTNode]) -> dict[int, tuple[int, int]]:
    """Map ``id(node)`` to its 1-based (line, column) for each requested node."""
    wanted = frozenset(id(n) for n in nodes)
    if not wanted:
        return {}
    state = _LineCountingState(
        default_indent=module.default_indent,
        default_newline=module.default_newline,
        wanted=wanted,
    )
    module._codegen(state)
    return state.found
