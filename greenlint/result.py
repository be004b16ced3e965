"""The outcome of one ``greenlint check`` run, as every reporter receives it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from greenlint.findings import Confidence, Diagnostic, Finding

if TYPE_CHECKING:
    from greenlint.rules.base import Rule


@dataclass(frozen=True, slots=True)
class RunResult:
    """Findings and diagnostics of a run, already filtered, suppressed and sorted.

    ``root`` is the project root that finding paths are relative to; ``rules`` are the
    rules that were enabled, so machine formats can describe each one.
    """

    root: str
    findings: tuple[Finding, ...]
    diagnostics: tuple[Diagnostic, ...]
    files_checked: int
    rules: tuple[Rule, ...]
    #: Findings left out because they are less sure than ``min-confidence``.
    below_confidence: int = 0

    def at_confidence(self, least: Confidence) -> RunResult:
        """The findings at least this sure, and a count of the others. A finding a
        measured run confirmed is kept whatever its confidence: the numbers settle it."""
        shown = tuple(f for f in self.findings if f.confidence.rank >= least.rank or f.confirmation == "confirmed")
        return replace(self, findings=shown, below_confidence=self.below_confidence + len(self.findings) - len(shown))

    def counts_by_severity(self) -> Counter[str]:
        return Counter(f.severity.value for f in self.findings)

    def counts_by_category(self) -> Counter[str]:
        return Counter(f.category for f in self.findings)

    def counts_by_rule(self) -> Counter[tuple[str, str]]:
        return Counter((f.code, f.name) for f in self.findings)
