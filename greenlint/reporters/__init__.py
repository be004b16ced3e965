"""Reporters: the same RunResult rendered for people (text) and for tools (json, sarif, github).

Every reporter is a pure function ``render(result, options) -> str``; printing and writing
files is the CLI's business, so reporters are trivial to test and never interleave output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from greenlint.result import RunResult


@dataclass(frozen=True, slots=True)
class ReportOptions:
    """How to render: code frames, per-rule counts, colour, and whether to add a summary."""

    show_source: bool = False
    statistics: bool = False
    color: bool = False
    quiet: bool = False
    width: int = 100


Renderer = Callable[[RunResult, ReportOptions], str]


def _renderers() -> dict[str, Renderer]:
    from greenlint.reporters import github, json_report, sarif, text

    return {"text": text.render, "json": json_report.render, "sarif": sarif.render, "github": github.render}


def render(fmt: str, result: RunResult, options: ReportOptions) -> str:
    """Render ``result`` in format ``fmt`` (one of text, json, sarif, github)."""
    return _renderers()[fmt](result, options)
