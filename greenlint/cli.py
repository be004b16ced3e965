"""The ``greenlint`` command: ``check`` (the default), ``rules``, ``explain``, ``tactics``.

Exit codes follow ruff and bandit: 0 when nothing reaches ``--fail-on``, 1 when
something does, 2 for usage, configuration or internal errors, reported as one line
(the traceback only with ``--verbose``).
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from greenlint import __version__
from greenlint.config import CONFIDENCE_LEVELS, FAIL_ON, ConfigError, Settings, check_confidence, check_fail_on, load_settings
from greenlint.findings import Severity
from greenlint.output import write_report
from greenlint.result import RunResult
from greenlint.rules import all_rules
from greenlint.rules.base import Rule
from greenlint.selection import rule_named, select_rules

COMMANDS = ("check", "rules", "explain", "tactics", "graph", "estimate", "profile")
FORMATS = ("text", "json", "sarif", "github")


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="greenlint",
        description="Find the energy an ML codebase wastes before it runs. "
        "`greenlint PATH...` is short for `greenlint check PATH...`.",
    )
    parser.add_argument("--version", action="version", version=f"greenlint {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = sub.add_parser("check", help="lint paths (the default command)")
    check.add_argument("paths", nargs="*", type=Path, default=[Path(".")], help="files or directories (default: .)")
    check.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    check.add_argument("--output", "-o", type=Path, help="write the report to this file instead of stdout")
    check.add_argument("--select", type=_csv, help="rules to enable: codes, names, prefixes (GL4) or tactics (T19)")
    check.add_argument("--extend-select", type=_csv, default=[], help="rules to enable on top of the selection")
    check.add_argument("--ignore", type=_csv, default=[], help="rules to disable")
    check.add_argument("--fail-on", choices=FAIL_ON, help="lowest severity that makes the exit code 1 (default: warning)")
    check.add_argument("--min-confidence", choices=CONFIDENCE_LEVELS,
                       help="least sure findings to report (default: medium; low adds advice whose payoff the code does not show)")
    check.add_argument("--config", type=Path, help="read settings from this file instead of the nearest pyproject.toml")
    check.add_argument("--jobs", "-j", type=int, default=0, help="worker processes (default: all cores)")
    check.add_argument("--no-cache", action="store_true", help="neither read nor write .greenlint_cache")
    check.add_argument("--show-source", action="store_true", help="show the code around each finding")
    check.add_argument("--statistics", action="store_true", help="show counts per rule")
    check.add_argument("--quiet", "-q", action="store_true", help="print findings only, no summary or progress")
    check.add_argument("--verbose", action="store_true", help="show tracebacks of internal errors")
    check.add_argument("--write-baseline", type=Path, metavar="FILE", help="record today's findings in FILE and exit 0")
    check.add_argument("--baseline", type=Path, metavar="FILE", help="report only findings not recorded in FILE")
    changes = check.add_mutually_exclusive_group()
    changes.add_argument("--diff", action="store_true", help="report only findings on lines changed since HEAD (uncommitted work)")
    changes.add_argument("--since", metavar="REV", help="report only findings on lines changed since git revision REV")
    check.add_argument("--profile", type=Path, metavar="FILE", help="mark findings confirmed or not by a `greenlint profile` run")

    sub.add_parser("rules", help="list every rule").add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default: text)"
    )
    explain = sub.add_parser("explain", help="print a rule's documentation")
    explain.add_argument("rule", help="a rule code (GL401) or name (no-mixed-precision)")
    sub.add_parser("tactics", help="list the 30 green tactics").add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default: text)"
    )
    from greenlint import estimate_cli, graph_cli, profile_cli

    graph_cli.add_arguments(sub.add_parser("graph", help="print the project graph: modules, roles, imports, calls"))
    estimate_cli.add_arguments(sub.add_parser("estimate", help="estimate model FLOPs, parameters, energy and CO2"))
    profile_cli.add_arguments(sub.add_parser("profile", help="measure a training run to confirm or refute findings"))
    return parser


def _normalise(argv: list[str]) -> list[str]:
    """Make ``greenlint PATH...`` mean ``greenlint check PATH...``."""
    first = next((a for a in argv if not a.startswith("-")), None)
    if argv and argv[0] in ("--version", "-h", "--help"):
        return argv
    if first is None or first not in COMMANDS:
        return ["check", *argv]
    return argv


def main(argv: Sequence[str] | None = None) -> int:
    args_list = _normalise(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    args = parser.parse_args(args_list)
    verbose = getattr(args, "verbose", False)
    try:
        if args.command == "rules":
            return _rules(args.format, sys.stdout)
        if args.command == "explain":
            return _explain(args.rule, sys.stdout)
        if args.command == "tactics":
            return _tactics(args.format, sys.stdout)
        if args.command == "graph":
            from greenlint import graph_cli

            return graph_cli.run(args)
        if args.command == "estimate":
            from greenlint import estimate_cli

            return estimate_cli.run(args)
        if args.command == "profile":
            from greenlint import profile_cli

            return profile_cli.run(args)
        return _check(args)
    except ConfigError as error:
        print(f"greenlint: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("greenlint: interrupted", file=sys.stderr)
        return 2
    except Exception as error:  # an internal error: one line, traceback on request
        if verbose:
            traceback.print_exc()
        print(f"greenlint: internal error: {type(error).__name__}: {error} (run with --verbose for details)", file=sys.stderr)
        return 2


def _settings(args: argparse.Namespace) -> Settings:
    start = args.paths[0] if args.paths else Path(".")
    settings = load_settings(start if start.exists() else Path("."), args.config)
    if args.select is not None:
        settings.select = args.select
    settings.extend_select = [*settings.extend_select, *args.extend_select]
    settings.ignore = [*settings.ignore, *args.ignore]
    if args.fail_on is not None:
        settings.fail_on = check_fail_on(args.fail_on, "--fail-on")
    if getattr(args, "min_confidence", None) is not None:
        settings.min_confidence = check_confidence(args.min_confidence, "--min-confidence")
    return settings


def _check(args: argparse.Namespace) -> int:
    from greenlint.engine import RunOptions, run_check
    from greenlint.reporters import ReportOptions, render

    settings = _settings(args)
    where = str(settings.source) if settings.source else "command line"
    rules = select_rules(all_rules(), settings.select, settings.extend_select, settings.ignore, where)
    for key in settings.severity:
        rule_named(all_rules(), key)
    if args.jobs < 0:
        raise ConfigError("--jobs must be 0 (all cores) or more")
    with _progress(args) as progress:
        result = run_check(settings, rules, RunOptions(args.paths, args.jobs, not args.no_cache, progress))
    result = _narrow(result, args, settings.root).at_confidence(settings.min_confidence)
    if args.write_baseline is not None:
        from greenlint.baseline import write_baseline

        count = write_baseline(result, args.write_baseline)
        print(f"greenlint: recorded {count} findings in {args.write_baseline}", file=sys.stderr)
        return 0
    to_terminal = args.output is None and sys.stdout.isatty()
    options = ReportOptions(
        show_source=args.show_source,
        statistics=args.statistics,
        color=to_terminal,
        quiet=args.quiet,
    )
    report = render(args.format, result, options)
    write_report(report, args.output)
    return exit_code(result, settings.fail_on)


def _narrow(result: RunResult, args: argparse.Namespace, root: Path) -> RunResult:
    """Apply --baseline, --diff/--since and --profile to a finished run."""
    if args.baseline is not None:
        from greenlint.baseline import load_baseline, without_baseline

        result = without_baseline(result, load_baseline(args.baseline))
    if args.diff or args.since:
        from greenlint.gitdiff import changed_lines, only_changed

        result = only_changed(result, changed_lines(root, args.since or "HEAD"))
    if args.profile is not None:
        from greenlint.profiling.confirm import apply_profile

        result = apply_profile(result, args.profile)
    return result


def exit_code(result: RunResult, fail_on: str) -> int:
    """1 when a finding reaches the threshold or a file could not be analysed, else 0."""
    if fail_on == "never":
        return 0
    threshold = Severity(fail_on).rank
    if result.diagnostics or any(f.severity.rank >= threshold for f in result.findings):
        return 1
    return 0


class _progress:
    """A rich progress bar on stderr for long runs in a terminal; nothing otherwise."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.enabled = sys.stderr.isatty() and not args.quiet and args.format == "text"
        self.bar = None
        self.task = None

    def __enter__(self):  # type: ignore[no-untyped-def]
        if not self.enabled:
            return None
        return self.update

    def update(self, done: int, total: int) -> None:
        if total < 200:
            return
        if self.bar is None:
            from rich.progress import Progress

            self.bar = Progress(transient=True, console=None)
            self.bar.start()
            self.task = self.bar.add_task("analysing", total=total)
        self.bar.update(self.task, completed=done)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _rules(fmt: str, out: TextIO) -> int:
    rules = all_rules()
    if fmt == "json":
        data = [
            {"code": r.code, "name": r.name, "summary": r.summary, "category": r.category,
             "tactics": list(r.tactics), "severity": r.severity.value, "confidence": r.confidence.value}
            for r in rules
        ]
        out.write(json.dumps(data, indent=2) + "\n")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="greenlint rules", show_lines=False)
    for column in ("code", "name", "tactics", "severity", "summary"):
        table.add_column(column)
    for r in rules:
        table.add_row(r.code, r.name, ", ".join(r.tactics), r.severity.value, r.summary)
    Console(file=out, width=120).print(table)
    return 0


def _explain(key: str, out: TextIO) -> int:
    rule: Rule = rule_named(all_rules(), key)
    header = f"# {rule.code} {rule.name}\n\n{rule.summary}. Tactics: {', '.join(rule.tactics)}; " \
             f"category: {rule.category}; default severity: {rule.severity.value}.\n\n"
    out.write(header + rule.documentation() + "\n")
    return 0


def _tactics(fmt: str, out: TextIO) -> int:
    from greenlint.tactics import load_catalog

    try:
        catalog = load_catalog()
    except ValueError as error:
        raise ConfigError(str(error)) from None
    if fmt == "json":
        data = [
            {"id": t.id, "name": t.name, "category": t.category, "description": t.description,
             "quality_attribute": t.quality_attribute, "rules": list(t.rules),
             "sources": [{"citation": s.citation, "link": s.link} for s in t.sources],
             "review_questions": list(t.review_questions)}
            for t in catalog
        ]
        out.write(json.dumps(data, indent=2) + "\n")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Green architectural tactics for ML-enabled systems (Järvenpää et al., ICSE-SEIS 2024)")
    for column in ("id", "tactic", "category", "rules"):
        table.add_column(column)
    for t in catalog:
        table.add_row(t.id, t.name, t.category, ", ".join(t.rules) or "-")
    Console(file=out, width=120).print(table)
    return 0
