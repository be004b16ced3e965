"""GitHub Actions workflow commands: one annotation per finding on the pull request.

GitHub shows at most 10 warning and 10 error annotations per step (50 per job) and drops
the rest silently, so large reports belong in SARIF; this format is for small diffs.
"""

from __future__ import annotations

from greenlint.findings import Severity
from greenlint.reporters import ReportOptions
from greenlint.result import RunResult

LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    """Escape a command's message (the part after ``::``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a property value (``file=...``, ``title=...``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(result: RunResult, options: ReportOptions) -> str:
    lines = []
    for finding in result.findings:
        where = f"cell {finding.cell}, " if finding.cell is not None else ""
        properties = [f"file={escape_property(finding.path)}", f"line={finding.line}", f"col={finding.column}"]
        if finding.end_line is not None:
            properties.append(f"endLine={finding.end_line}")
        if finding.end_column is not None:
            properties.append(f"endColumn={finding.end_column}")
        properties.append(f"title={escape_property(f'greenlint {finding.code} ({finding.name})')}")
        message = f"{where}{finding.message}. Fix: {finding.fix}"
        lines.append(f"::{LEVELS[finding.severity]} {','.join(properties)}::{escape_data(message)}")
    for diagnostic in result.diagnostics:
        line = f",line={diagnostic.line}" if diagnostic.line else ""
        lines.append(f"::error file={escape_property(diagnostic.path)}{line},title=greenlint::{escape_data(diagnostic.message)}")
    return "\n".join(lines) + ("\n" if lines else "")
