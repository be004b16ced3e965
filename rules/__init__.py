"""greenlint's rules, one module per rule, registered in ``ALL_RULES`` in code order."""

from __future__ import annotations

from greenlint.rules.base import Rule

ALL_RULES: tuple[type[Rule], ...] = ()


def all_rules() -> tuple[Rule, ...]:
    """One instance of every rule, sorted by code."""
    return tuple(sorted((cls() for cls in ALL_RULES), key=lambda r: r.code))
