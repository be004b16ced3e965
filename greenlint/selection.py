"""Rule selectors: codes, names, code prefixes and tactic ids, as ruff users write them.

``GL401``, ``no-mixed-precision``, ``GL4`` and ``T18`` all select rules; ``ALL`` selects
every rule. The base set is ``select`` (default: all rules), then ``extend-select`` adds
and ``ignore`` removes, so an ignore always wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from greenlint.config import ConfigError, closest
from greenlint.rules.base import Rule


class Selectable(Protocol):
    """A rule, or a finding: both carry the code, name and tactics a selector matches."""

    code: str
    name: str
    tactics: tuple[str, ...]


def matches(selector: str, rule: Selectable) -> bool:
    """Does one selector pick this rule (or this finding's rule)?"""
    if selector == "ALL":
        return True
    if selector.upper().startswith("GL"):
        return rule.code.startswith(selector.upper())
    if selector.upper().startswith("T") and selector[1:].isdigit():
        return selector.upper() in rule.tactics
    return selector == rule.name


def _check(selectors: Iterable[str], rules: tuple[Rule, ...], where: str) -> None:
    vocabulary = ["ALL", *(r.code for r in rules), *(r.name for r in rules)]
    for selector in selectors:
        if selector.upper().startswith("T") and selector[1:].isdigit() and 1 <= int(selector[1:]) <= 30:
            continue
        if not any(matches(selector, rule) for rule in rules):
            raise ConfigError(f"{where}: unknown rule selector '{selector}'{closest(selector, vocabulary)}")


def select_rules(
    rules: tuple[Rule, ...],
    select: list[str] | None,
    extend_select: list[str],
    ignore: list[str],
    where: str = "selection",
) -> tuple[Rule, ...]:
    """The enabled rules, in code order."""
    _check([*(select or []), *extend_select, *ignore], rules, where)
    base = select if select is not None else ["ALL"]
    chosen = [r for r in rules if any(matches(s, r) for s in [*base, *extend_select])]
    return tuple(r for r in chosen if not any(matches(s, r) for s in ignore))


def rule_named(rules: tuple[Rule, ...], key: str) -> Rule:
    """The rule with this code or name, for ``explain`` and per-rule severity."""
    for rule in rules:
        if key.upper() == rule.code or key == rule.name:
            return rule
    vocabulary = [*(r.code for r in rules), *(r.name for r in rules)]
    raise ConfigError(f"unknown rule '{key}'{closest(key, vocabulary)}")
