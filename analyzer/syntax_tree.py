"""Walking libcst trees quickly: a node's children without libcst's ``children``.

libcst computes ``node.children`` by running a visitor over the node, which costs about
as much as rebuilding it; a walk that asks for it at every node spends more time there
than in parsing. These helpers read a node's dataclass fields instead, once per node
type, and skip the fields that hold only punctuation, whitespace or annotations.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from functools import cache

import libcst as cst

#: Fields that hold only punctuation, whitespace or type annotations.
SKIPPED_FIELDS = frozenset(
    {
        "lpar", "rpar", "comma", "semicolon", "colon", "dot", "equal", "leading_lines",
        "lines_after_decorators", "trailing_whitespace", "header", "footer", "operator",
        "star", "asynchronous", "annotation", "returns", "encoding", "default_indent",
        "default_newline", "has_trailing_newline", "relative", "lbracket", "rbracket",
        "lbrace", "rbrace", "indent", "whitespace", "first_line", "empty_lines",
        "last_line", "newline", "semicolon", "arrow", "keyword_only_star",
    }
)


#: Operator tokens by libcst node type, as both fact extractors render them.
BINARY_OPERATORS: dict[type, str] = {
    cst.Add: "+", cst.Subtract: "-", cst.Multiply: "*", cst.Divide: "/", cst.FloorDivide: "//",
    cst.Modulo: "%", cst.Power: "**", cst.MatrixMultiply: "@", cst.BitAnd: "&", cst.BitOr: "|",
    cst.BitXor: "^", cst.LeftShift: "<<", cst.RightShift: ">>",
}
COMPARISON_OPERATORS: dict[type, str] = {
    cst.Equal: "==", cst.NotEqual: "!=", cst.LessThan: "<", cst.GreaterThan: ">", cst.LessThanEqual: "<=",
    cst.GreaterThanEqual: ">=", cst.In: "in", cst.NotIn: "not in", cst.Is: "is", cst.IsNot: "is not",
}
UNARY_OPERATORS: dict[type, str] = {cst.Minus: "-", cst.Plus: "+", cst.BitInvert: "~", cst.Not: "not"}


def dotted(node: cst.CSTNode) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, None for anything else."""
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if isinstance(node, cst.Name):
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


@cache
def child_fields(node_type: type) -> tuple[str, ...]:
    """The fields of a node type that can hold code."""
    return tuple(
        f.name
        for f in dataclasses.fields(node_type)
        if f.name not in SKIPPED_FIELDS and not f.name.startswith("whitespace")
    )


def child_nodes(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """A node's children that can hold code, in source order."""
    for name in child_fields(type(node)):
        value = getattr(node, name)
        if isinstance(value, cst.CSTNode):
            yield value
        elif isinstance(value, (tuple, list)):
            for item in value:
                if isinstance(item, cst.CSTNode):
                    yield item


def target_names(node: cst.CSTNode) -> list[cst.Name]:
    """Every plain name bound by an assignment or loop target (``a, (b, *c)``)."""
    if isinstance(node, cst.Name):
        return [node]
    if isinstance(node, (cst.Tuple, cst.List)):
        names: list[cst.Name] = []
        for element in node.elements:
            names.extend(target_names(element.value))
        return names
    if isinstance(node, cst.StarredElement):
        return target_names(node.value)
    return []
