"""The facts greenlint reports: findings about code, diagnostics about files it could not read.

Both are frozen data so they sort, hash, pickle and serialise the same way in every
reporter; nothing here knows how a finding is printed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace


class Severity(str, enum.Enum):
    """How loudly a finding asks for attention; ``--fail-on`` compares against it."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is more severe, so ``rank >= threshold.rank`` means "reaches"."""
        return {"error": 3, "warning": 2, "info": 1}[self.value]


class Confidence(str, enum.Enum):
    """How sure the rule is that the pattern it saw really wastes energy here."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """Higher is surer, so ``rank >= threshold.rank`` means "shown"."""
        return {"high": 3, "medium": 2, "low": 1}[self.value]


@dataclass(frozen=True, slots=True)
class Saving:
    """An expected saving and the public source that backs it."""

    text: str
    source: str


@dataclass(frozen=True, slots=True, order=True)
class Finding:
    """One thing a rule saw in the user's code or config.

    Field order is the sort order: path, then position, then rule code, so output is
    deterministic whatever order rules and worker processes produced findings in.
    Lines and columns are 1-based; columns count characters (Unicode code points).
    """

    path: str
    line: int
    column: int
    code: str
    name: str = field(compare=False)
    severity: Severity = field(compare=False)
    confidence: Confidence = field(compare=False)
    tactics: tuple[str, ...] = field(compare=False)
    category: str = field(compare=False)
    message: str
    fix: str = field(compare=False)
    saving: Saving | None = field(default=None, compare=False)
    end_line: int | None = field(default=None, compare=False)
    end_column: int | None = field(default=None, compare=False)
    #: For notebooks, the code cell (``line`` is then the line in that cell); it takes
    #: part in equality, so the same code in two cells gives two findings.
    cell: int | None = field(default=None)
    #: Set by a measured profile: "confirmed", "not confirmed", or "measured" for a finding
    #: raised by the measurement itself; ``evidence`` holds the numbers behind it.
    confirmation: str | None = field(default=None, compare=False)
    evidence: str | None = field(default=None, compare=False)

    def with_severity(self, severity: Severity) -> Finding:
        """The same finding at another severity (per-rule overrides in config)."""
        return replace(self, severity=severity)


@dataclass(frozen=True, slots=True, order=True)
class Diagnostic:
    """A file greenlint could not analyse, and why; the run goes on without it."""

    path: str
    message: str
    line: int | None = None
