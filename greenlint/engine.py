"""One ``check`` run: discover, parse in parallel (or from cache), run rules, filter, sort.

The analysis scope is the whole project, so a pre-commit run on one changed file still
sees the helper module that saves its checkpoints; the report scope is only the paths
the user named. Unchanged files come from the content-hash cache, so the project-wide
view costs little after the first run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from greenlint.analyzer.discovery import Discovery, parse_patterns
from greenlint.analyzer.facts import FileFacts
from greenlint.analyzer.project import Project
from greenlint.analyzer.dependencies import read_torch_pin
from greenlint.analyzer.purpose import read_opening
from greenlint.analyzer.sources import content_hash
from greenlint.cache import Entry, FactCache, load_results, result_key, save_results
from greenlint.config import ConfigError, Settings
from greenlint.findings import Diagnostic, Finding
from greenlint.postprocess import postprocess
from greenlint.result import RunResult
from greenlint.rules.base import Rule
from greenlint.workers import GcBatches, analyze_one, frozen_heap, pool

#: Below this many files to parse, a process pool costs more than it saves.
SERIAL_THRESHOLD = 16

Progress = Callable[[int, int], None]


@dataclass
class RunOptions:
    """What the command line asked for, beyond the settings file."""

    paths: list[Path]
    jobs: int = 0
    use_cache: bool = True
    progress: Progress | None = None


@dataclass
class _Scope:
    analysis: list[str] = field(default_factory=list)
    report: set[str] = field(default_factory=set)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def _discover(settings: Settings, paths: Iterable[Path]) -> _Scope:
    root = settings.root
    excludes = parse_patterns([*settings.exclude, *settings.extend_exclude])
    discovery = Discovery(root=root, exclude=excludes, respect_gitignore=settings.respect_gitignore)
    scope = _Scope()
    for path in paths:
        if not path.exists():
            scope.diagnostics.append(Diagnostic(str(path), "no such file or directory"))
            continue
        if discovery.relative(path) is None:
            scope.diagnostics.append(Diagnostic(str(path), f"outside the project root {root}; run greenlint from that project"))
            continue
        for relative in discovery.files(path):
            if path.is_file() or not discovery.excluded(relative, False):
                scope.report.add(relative)
    scope.analysis = sorted(set(discovery.files(root)) | scope.report)
    return scope


def _hash_files(root: Path, files: list[str]) -> tuple[dict[str, str], dict[str, Entry]]:
    """Content hashes of the analysis scope, and diagnostics for files that cannot be read."""
    digests: dict[str, str] = {}
    unreadable: dict[str, Entry] = {}
    for relative in files:
        try:
            digests[relative] = content_hash((root / relative).read_bytes())
        except OSError as error:
            unreadable[relative] = Diagnostic(relative, f"cannot read: {error.strerror or error}")
    return digests, unreadable


def _collect(root: Path, digests: dict[str, str], options: RunOptions) -> dict[str, Entry]:
    """Facts of every file: from the cache when its content is unchanged, else parsed."""
    cache = FactCache.load(root, enabled=options.use_cache)
    entries: dict[str, Entry] = {}
    misses: list[tuple[str, str]] = []
    for relative, digest in digests.items():
        hit = cache.get(relative, digest)
        if hit is not None:
            entries[relative] = hit
        else:
            misses.append((str(root), relative))
    jobs = options.jobs or os.cpu_count() or 1
    with GcBatches() as batches:
        if jobs == 1 or len(misses) < SERIAL_THRESHOLD:
            _store(map(analyze_one, misses), misses, entries, digests, cache, options.progress, batches)
        else:
            misses.sort(key=lambda task: -_size(root / task[1]))
            with pool(min(jobs, len(misses))) as executor:
                chunks = max(1, min(16, len(misses) // (jobs * 8)))
                _store(executor.map(analyze_one, misses, chunksize=chunks), misses, entries, digests, cache,
                       options.progress, batches)
    cache.save()
    return entries


def _store(results: Iterable[Entry], tasks: list[tuple[str, str]], entries: dict[str, Entry],
           digests: dict[str, str], cache: FactCache, progress: Progress | None, batches: GcBatches) -> None:
    for done, ((_, relative), entry) in enumerate(zip(tasks, results), start=1):
        batches.tick()
        entries[relative] = entry
        cache.put(relative, digests[relative], entry)
        if progress is not None:
            progress(done, len(tasks))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def build_project(root: Path, entries: dict[str, Entry], readme_opening: str = "", torch_pin: str = "") -> Project:
    project = Project(root=str(root), readme_opening=readme_opening, torch_pin=torch_pin)
    for relative, entry in entries.items():
        if isinstance(entry, FileFacts):
            project.files[relative] = entry
    return project


#: Where a diagnostic about the whole run, not one file, is reported.
PROJECT_DIAGNOSTIC_PATH = "."


def run_rules(project: Project, rules: Iterable[Rule]) -> tuple[list[Finding], list[Diagnostic]]:
    """Every rule's findings, and a diagnostic for each rule that failed: a bug in one
    rule costs that rule's findings, not the whole run's."""
    findings: list[Finding] = []
    failures: list[Diagnostic] = []
    with frozen_heap():
        for rule in rules:
            try:
                findings.extend(list(rule.check(project)))
            except ConfigError:
                raise  # the user's configuration is wrong: a usage error, not a rule's bug
            except Exception as error:  # reported below; the other rules still run
                message = (f"internal error in {rule.code} {rule.name}: {type(error).__name__}: {error}; "
                           "its findings are missing, the other rules ran (please report this)")
                failures.append(Diagnostic(PROJECT_DIAGNOSTIC_PATH, message))
    return findings, failures


def load_project(settings: Settings, options: RunOptions) -> tuple[Project, list[Diagnostic]]:
    """The analysed project without running rules (for ``graph`` and ``estimate``), and the
    diagnostics of the paths asked about: the rest of the project is read for context only."""
    scope = _discover(settings, options.paths)
    digests, unreadable = _hash_files(settings.root, scope.analysis)
    entries = _collect(settings.root, digests, options)
    entries.update(unreadable)
    reported = (e for e in entries.values() if isinstance(e, Diagnostic) and e.path in scope.report)
    diagnostics = sorted([*scope.diagnostics, *reported], key=lambda d: (d.path, d.line or 0, d.message))
    return build_project(settings.root, entries, read_opening(settings.root), read_torch_pin(settings.root)), diagnostics


def run_check(settings: Settings, rules: tuple[Rule, ...], options: RunOptions) -> RunResult:
    """Everything ``greenlint check`` does between parsing arguments and printing."""
    scope = _discover(settings, options.paths)
    digests, unreadable = _hash_files(settings.root, scope.analysis)
    opening, pin = read_opening(settings.root), read_torch_pin(settings.root)
    key = result_key(digests, rules, f"{opening}\0{pin}")  # both change what the rules say
    cached = load_results(settings.root, key) if options.use_cache else None
    if cached is not None:
        all_findings, file_diagnostics = cached
    else:
        entries = _collect(settings.root, digests, options)
        entries.update(unreadable)
        all_findings, failures = run_rules(build_project(settings.root, entries, opening, pin), rules)
        file_diagnostics = [*(e for e in entries.values() if isinstance(e, Diagnostic)), *failures]
        if options.use_cache:
            save_results(settings.root, key, all_findings, file_diagnostics)
    findings = postprocess(all_findings, settings, scope.report)
    diagnostics = [*scope.diagnostics, *(d for d in file_diagnostics
                                         if d.path in scope.report or d.path == PROJECT_DIAGNOSTIC_PATH)]
    return RunResult(
        root=str(settings.root),
        findings=tuple(findings),
        diagnostics=tuple(sorted(diagnostics, key=lambda d: (d.path, d.line or 0, d.message))),
        files_checked=len(scope.report),
        rules=rules,
    )
