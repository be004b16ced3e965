"""The human report: findings grouped by file, a fix for each, and a closing summary."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from greenlint.findings import Finding, Severity
from greenlint.reporters import ReportOptions
from greenlint.result import RunResult

STYLES = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "blue"}


def _location(finding: Finding) -> str:
    cell = f"cell {finding.cell}:" if finding.cell is not None else ""
    return f"{finding.path}:{cell}{finding.line}:{finding.column}"


def _frame(root: Path, finding: Finding) -> list[str]:
    """Two lines of context, the finding's line, and a caret under its column."""
    if finding.cell is not None:
        return []
    try:
        lines = (root / finding.path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    if not 0 < finding.line <= len(lines):
        return []
    first = max(1, finding.line - 2)
    width = len(str(finding.line))
    frame = [f"  {number:>{width}} | {lines[number - 1]}" for number in range(first, finding.line + 1)]
    frame.append(f"  {'':>{width}} | {' ' * (finding.column - 1)}^")
    return frame


def _finding(console: Console, root: Path, finding: Finding, options: ReportOptions) -> None:
    style = STYLES[finding.severity]
    confirmation = f" [bold]({finding.confirmation})[/bold]" if finding.confirmation else ""
    console.print(
        f"{escape(_location(finding))} [bold]{finding.code}[/bold] {finding.name} "
        f"[{style}]\\[{finding.severity.value}][/{style}]{confirmation} {escape(finding.message)}",
        highlight=False,
    )
    if options.show_source:
        for line in _frame(root, finding):
            console.print(escape(line), style="dim", highlight=False)
    console.print(f"    [dim]help:[/dim] {escape(finding.fix)}", highlight=False)
    if finding.evidence:
        console.print(f"    [dim]measured:[/dim] {escape(finding.evidence)}", highlight=False)
    if finding.saving is not None:
        console.print(f"    [dim]saves: {escape(finding.saving.text)} \\[{escape(finding.saving.source)}][/dim]", highlight=False)


def _summary(console: Console, result: RunResult) -> None:
    total = len(result.findings)
    if total == 0:
        console.print(f"No findings in {result.files_checked} files checked.", highlight=False)
        _below_confidence(console, result)
        return
    severities = result.counts_by_severity()
    parts = [f"{severities.get(s.value, 0)} {s.value}{'s' if s != Severity.INFO and severities.get(s.value, 0) != 1 else ''}"
             for s in Severity]
    files = len({f.path for f in result.findings})
    console.print(
        f"Found {total} finding{'s' if total != 1 else ''} ({', '.join(parts)}) in {files} "
        f"file{'s' if files != 1 else ''}; {result.files_checked} files checked.",
        highlight=False,
    )
    categories = ", ".join(f"{name} {count}" for name, count in sorted(result.counts_by_category().items()))
    console.print(f"By tactic category: {categories}.", highlight=False)
    _below_confidence(console, result)


def _below_confidence(console: Console, result: RunResult) -> None:
    hidden = result.below_confidence
    if hidden:
        console.print(
            f"{hidden} less certain finding{'s' if hidden != 1 else ''} not shown (advice whose payoff depends on a "
            f"run length the code does not show); --min-confidence low lists {'them' if hidden != 1 else 'it'}.",
            highlight=False,
        )


def _statistics(console: Console, result: RunResult) -> None:
    table = Table(show_header=True, header_style="bold", box=None)
    for column in ("count", "code", "name"):
        table.add_column(column)
    for (code, name), count in sorted(result.counts_by_rule().items(), key=lambda item: (-item[1], item[0])):
        table.add_row(str(count), code, name)
    console.print(table)


def render(result: RunResult, options: ReportOptions) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=options.color, color_system="standard" if options.color else None,
                      width=options.width if not options.color else None, soft_wrap=True, no_color=not options.color)
    root = Path(result.root)
    current = None
    for finding in result.findings:
        if finding.path != current:
            if current is not None:
                console.print()
            console.print(f"[bold underline]{escape(finding.path)}[/bold underline]", highlight=False)
            current = finding.path
        _finding(console, root, finding, options)
    if result.diagnostics:
        if result.findings:
            console.print()
        console.print("[bold red]could not analyse[/bold red]", highlight=False)
        for diagnostic in result.diagnostics:
            where = f"{diagnostic.path}:{diagnostic.line}" if diagnostic.line else diagnostic.path
            console.print(f"  {escape(where)}: {escape(diagnostic.message)}", highlight=False)
    if options.statistics and result.findings:
        console.print()
        _statistics(console, result)
    if not options.quiet:
        if result.findings or result.diagnostics:
            console.print()
        _summary(console, result)
    return buffer.getvalue()
