"""One ``check`` run: discover, parse in parallel (or from cache), run rules, filter, sort.

The analysis scope is the whole project, so a pre-commit run on one changed file still
sees the helper module that saves its checkpoints; the report scope is only the paths
the user named. Unchanged files come from the content-hash cache, so the project-wide
view costs little after the first run.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import re
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from fnmatch import fnmatch
from pathlib import Path

from greenlint.analyzer.discovery import Discovery, parse_patterns
from greenlint.analyzer.facts import FileFacts
from greenlint.analyzer.notebooks import NotebookError, notebook_source
from greenlint.analyzer.sources import NOTEBOOK_SUFFIXES
from greenlint.analyzer.project import Project
from greenlint.analyzer.sources import SourceFile, analyze_bytes, content_hash, module_name, read_source
from greenlint.cache import Entry, FactCache, load_results, result_key, save_results
from greenlint.config import Settings
from greenlint.findings import Diagnostic, Finding
from greenlint.result import RunResult
from greenlint.rules.base import Rule
from greenlint.selection import matches
from greenlint.suppression import apply_suppressions

#: A file is parsed only if it mentions one of these; other files cannot hold a finding.
TRIGGERS = re.compile(
    rb"torch|sklearn|keras|tensorflow|lightning|transformers|optuna|\bray\b|wandb|accelerate|"
    rb"deepspeed|onnx|xgboost|lightgbm|catboost|\bjax\b|flax|fastapi|flask|gradio|bentoml|"
    rb"\btrain|\.fit\(|itertools|codecarbon|carbontracker|zeus|eco2ai|nvml|nvidia-smi"
)
#: Below this many files to parse, a process pool costs more than it saves.
SERIAL_THRESHOLD = 16

Progress = Callable[[int, int], None]
#: Files parsed between two explicit garbage collections (see ``_GcBatches``).
GC_EVERY = 32


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


class _GcBatches:
    """Collect garbage every few files instead of whenever the allocator says so.

    libcst trees hold reference cycles, so garbage collection must run, but Python's
    automatic collections rescan every long-lived object (all facts gathered so far) and
    made a cold run twice as slow. Here collection runs every ``GC_EVERY`` files, and the
    survivors are frozen so later collections skip them.
    """

    def __init__(self) -> None:
        self.count = 0

    def __enter__(self) -> _GcBatches:
        self.was_enabled = gc.isenabled()
        gc.disable()
        gc.freeze()
        return self

    def tick(self) -> None:
        self.count += 1
        if self.count % GC_EVERY == 0:
            gc.collect()
            gc.freeze()

    def __exit__(self, *exc: object) -> None:
        gc.collect()
        gc.unfreeze()
        if self.was_enabled:
            gc.enable()


def _worker_start() -> None:
    """Pool initializer: workers batch their collections too, for their whole life."""
    _WORKER_GC.append(_GcBatches().__enter__())


#: The worker process's batcher (one per process; empty in the parent).
_WORKER_GC: list[_GcBatches] = []


def _analyze_one(task: tuple[str, str]) -> Entry:
    """Worker entry point: read and analyse one file (must be picklable, module level)."""
    for batches in _WORKER_GC:
        batches.tick()
    root, relative = task
    source = SourceFile(Path(root), relative, module_name(relative))
    data = read_source(source)
    if isinstance(data, Diagnostic):
        return data
    return analyze_bytes(source, data, TRIGGERS)


def _pool(jobs: int) -> ProcessPoolExecutor:
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    return ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context(method), initializer=_worker_start)


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
    with _GcBatches() as batches:
        if jobs == 1 or len(misses) < SERIAL_THRESHOLD:
            _store(map(_analyze_one, misses), misses, entries, digests, cache, options.progress, batches)
        else:
            misses.sort(key=lambda task: -_size(root / task[1]))
            with _pool(min(jobs, len(misses))) as pool:
                chunks = max(1, min(16, len(misses) // (jobs * 8)))
                _store(pool.map(_analyze_one, misses, chunksize=chunks), misses, entries, digests, cache,
                       options.progress, batches)
    cache.save()
    return entries


def _store(results: Iterable[Entry], tasks: list[tuple[str, str]], entries: dict[str, Entry],
           digests: dict[str, str], cache: FactCache, progress: Progress | None, batches: _GcBatches) -> None:
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


def build_project(root: Path, entries: dict[str, Entry]) -> Project:
    project = Project(root=str(root))
    for relative, entry in entries.items():
        if isinstance(entry, FileFacts):
            project.files[relative] = entry
    return project


def run_rules(project: Project, rules: Iterable[Rule]) -> list[Finding]:
    findings: list[Finding] = []
    for rule in rules:
        findings.extend(rule.check(project))
    return findings


def _postprocess(findings: list[Finding], settings: Settings, report: set[str]) -> list[Finding]:
    """Report scope, per-file ignores, severity overrides and inline suppressions."""
    by_file: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.path not in report:
            continue
        if any(fnmatch(finding.path, glob) and any(matches(s, finding) for s in selectors)
               for glob, selectors in settings.per_file_ignores.items()):
            continue
        override = settings.severity.get(finding.code) or settings.severity.get(finding.name)
        if override is not None:
            finding = finding.with_severity(override)
        by_file.setdefault(finding.path, []).append(finding)
    kept: list[Finding] = []
    for path, file_findings in by_file.items():
        kept.extend(_suppress_and_place(settings.root / path, file_findings))
    return sorted(set(kept), key=sort_key)


def sort_key(finding: Finding) -> tuple:
    """Path, then notebook cell, then position: the order every reporter prints."""
    return (finding.path, finding.cell or 0, finding.line, finding.column, finding.code, finding.message)


def _suppress_and_place(path: Path, findings: list[Finding]) -> list[Finding]:
    """Apply inline suppressions; move notebook findings from joined lines to cells."""
    try:
        data = path.read_bytes()
    except OSError:
        return findings
    if path.suffix not in NOTEBOOK_SUFFIXES:
        return apply_suppressions(findings, data.decode("utf-8", errors="replace"))
    try:
        notebook = notebook_source(data)
    except NotebookError:
        return findings
    placed = []
    for finding in apply_suppressions(findings, notebook.text):
        if 0 < finding.line <= len(notebook.cells):
            cell, line = notebook.cells[finding.line - 1]
            finding = replace(finding, line=line, cell=cell)
        placed.append(finding)
    return placed


def load_project(settings: Settings, options: RunOptions) -> tuple[Project, list[Diagnostic]]:
    """The analysed project without running rules (for ``graph`` and ``estimate``)."""
    scope = _discover(settings, options.paths)
    digests, unreadable = _hash_files(settings.root, scope.analysis)
    entries = _collect(settings.root, digests, options)
    entries.update(unreadable)
    diagnostics = [*scope.diagnostics, *(e for e in entries.values() if isinstance(e, Diagnostic))]
    return build_project(settings.root, entries), diagnostics


def run_check(settings: Settings, rules: tuple[Rule, ...], options: RunOptions) -> RunResult:
    """Everything ``greenlint check`` does between parsing arguments and printing."""
    scope = _discover(settings, options.paths)
    digests, unreadable = _hash_files(settings.root, scope.analysis)
    key = result_key(digests, rules)
    cached = load_results(settings.root, key) if options.use_cache else None
    if cached is not None:
        all_findings, file_diagnostics = cached
    else:
        entries = _collect(settings.root, digests, options)
        entries.update(unreadable)
        all_findings = run_rules(build_project(settings.root, entries), rules)
        file_diagnostics = [e for e in entries.values() if isinstance(e, Diagnostic)]
        if options.use_cache:
            save_results(settings.root, key, all_findings, file_diagnostics)
    findings = _postprocess(all_findings, settings, scope.report)
    diagnostics = [*scope.diagnostics, *(d for d in file_diagnostics if d.path in scope.report)]
    return RunResult(
        root=str(settings.root),
        findings=tuple(findings),
        diagnostics=tuple(sorted(diagnostics, key=lambda d: (d.path, d.line or 0, d.message))),
        files_checked=len(scope.report),
        rules=rules,
    )
