"""Which files make up the project: a walk that honours .gitignore and skips environments.

Discovery never follows directory symlinks (so a link loop cannot trap it), skips
virtual environments by their ``pyvenv.cfg`` rather than by name, and applies the
user's ``exclude`` globs with the same gitignore-style matcher as ``.gitignore``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from greenlint.analyzer.sources import CONFIG_SUFFIXES, NOTEBOOK_SUFFIXES, PYTHON_SUFFIXES

ALWAYS_SKIPPED = frozenset(
    {
        ".git", ".hg", ".svn", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache",
        ".greenlint_cache", ".tox", ".nox", ".venv", "venv", ".eggs", "node_modules",
        "site-packages", "dist-packages", "build", "dist", ".ipynb_checkpoints", "wandb",
        "mlruns", "lightning_logs", "outputs", "multirun",
    }
)
ANALYSED_SUFFIXES = PYTHON_SUFFIXES + CONFIG_SUFFIXES + NOTEBOOK_SUFFIXES


@dataclass(frozen=True, slots=True)
class Pattern:
    """One gitignore-style pattern, anchored at the directory that declared it."""

    base: str
    regex: re.Pattern[str]
    negated: bool
    directory_only: bool


def _translate(glob: str) -> str:
    """A gitignore glob to a regex over a '/'-separated path ('**' crosses directories)."""
    out = []
    i = 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        elif glob[i] == "[" and glob.find("]", i + 2) > 0:
            end = glob.find("]", i + 2)
            inner = glob[i + 1 : end]
            inner = "^" + inner[1:] if inner.startswith("!") else inner
            out.append("[" + inner.replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return "".join(out)


def parse_patterns(lines: Iterable[str], base: str = "") -> list[Pattern]:
    """Compile gitignore lines declared in directory ``base`` (relative, '' for the root)."""
    patterns = []
    for raw in lines:
        line = raw.rstrip("\n").rstrip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        if negated:
            line = line[1:]
        directory_only = line.endswith("/")
        line = line.strip("/") if directory_only else line
        anchored = "/" in line.rstrip("/")
        line = line.lstrip("/")
        body = _translate(line)
        regex = re.compile(("" if anchored else "(?:.*/)?") + body + "$")
        patterns.append(Pattern(base, regex, negated, directory_only))
    return patterns


def is_ignored(relative: str, is_dir: bool, patterns: Iterable[Pattern]) -> bool:
    """gitignore semantics: the last matching pattern wins; '!' re-includes."""
    ignored = False
    for pattern in patterns:
        if pattern.directory_only and not is_dir:
            continue
        if pattern.base:
            if not relative.startswith(pattern.base + "/"):
                continue
            candidate = relative[len(pattern.base) + 1 :]
        else:
            candidate = relative
        if pattern.regex.match(candidate):
            ignored = not pattern.negated
    return ignored


@dataclass
class Discovery:
    """Walks paths below a project root and yields analysable files (relative POSIX paths)."""

    root: Path
    exclude: list[Pattern] = field(default_factory=list)
    respect_gitignore: bool = True

    def _gitignore(self, directory: Path, relative: str) -> list[Pattern]:
        if not self.respect_gitignore:
            return []
        try:
            text = (directory / ".gitignore").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return []
        return parse_patterns(text.splitlines(), relative)

    def excluded(self, relative: str, is_dir: bool, extra: Iterable[Pattern] = ()) -> bool:
        return is_ignored(relative, is_dir, [*self.exclude, *extra])

    def files(self, start: Path) -> Iterator[str]:
        """Analysable files at or below ``start``, sorted, relative to the root."""
        start = start.resolve()
        if start.is_file():
            relative = self.relative(start)
            if relative is not None and relative.endswith(ANALYSED_SUFFIXES):
                yield relative
            return
        inherited = self._inherited_gitignores(start)
        yield from self._walk(start, inherited)

    def relative(self, path: Path) -> str | None:
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return None

    def _inherited_gitignores(self, start: Path) -> list[Pattern]:
        patterns: list[Pattern] = []
        relative = self.relative(start)
        if relative is None:
            return patterns
        directory = self.root
        parts = [] if relative in ("", ".") else relative.split("/")
        patterns.extend(self._gitignore(directory, ""))
        for index, part in enumerate(parts[:-1] if parts else []):
            directory = directory / part
            patterns.extend(self._gitignore(directory, "/".join(parts[: index + 1])))
        return patterns

    def _walk(self, directory: Path, inherited: list[Pattern]) -> Iterator[str]:
        relative_dir = self.relative(directory) or ""
        relative_dir = "" if relative_dir == "." else relative_dir
        patterns = inherited + (self._gitignore(directory, relative_dir) if relative_dir else [])
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            relative = f"{relative_dir}/{entry.name}" if relative_dir else entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                if entry.name in ALWAYS_SKIPPED or entry.name.endswith(".egg-info"):
                    continue
                if os.path.exists(os.path.join(entry.path, "pyvenv.cfg")):
                    continue
                if self.excluded(relative, True, patterns):
                    continue
                yield from self._walk(Path(entry.path), patterns)
            elif entry.name.endswith(ANALYSED_SUFFIXES) and not self.excluded(relative, False, patterns):
                if entry.is_symlink() and not os.path.isfile(entry.path):
                    continue
                yield relative
