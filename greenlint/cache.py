"""Facts cached by content hash, so an unchanged file is never parsed twice.

The key is the hash of the file's bytes, not its modification time: CI checkouts reset
mtimes, while content is what facts depend on. The whole project's entries live in one
file per greenlint version, loaded once and rewritten atomically when something changed.
The directory ignores itself (``.gitignore`` with ``*``) and carries a ``CACHEDIR.TAG``
so backup tools skip it, as ruff's cache does.
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from greenlint import __version__
from greenlint.analyzer.facts import FileFacts
from greenlint.findings import Diagnostic, Finding

CACHE_DIR = ".greenlint_cache"
#: Bump when the shape of facts changes, so old caches are ignored rather than misread.
SCHEMA = 12
_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# This is a greenlint cache directory.\n"

Entry = FileFacts | Diagnostic


@dataclass
class FactCache:
    """path -> (content hash, facts or diagnostic) for one project root."""

    root: Path
    enabled: bool = True
    entries: dict[str, tuple[str, Entry]] = field(default_factory=dict)
    dirty: bool = False

    @property
    def file(self) -> Path:
        return self.root / CACHE_DIR / f"facts-{__version__}-{SCHEMA}.pickle"

    @classmethod
    def load(cls, root: Path, enabled: bool = True) -> FactCache:
        cache = cls(root=root, enabled=enabled)
        if not enabled:
            return cache
        enabled_gc = gc.isenabled()
        gc.disable()  # unpickling builds many objects; automatic collections would rescan them all
        try:
            with cache.file.open("rb") as handle:
                data = pickle.load(handle)
            if isinstance(data, dict):
                cache.entries = data
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
            cache.entries = {}  # a missing or unreadable cache is just a cold start
        finally:
            if enabled_gc:
                gc.enable()
        return cache

    def get(self, path: str, digest: str) -> Entry | None:
        hit = self.entries.get(path)
        if hit is not None and hit[0] == digest:
            return hit[1]
        return None

    def put(self, path: str, digest: str, entry: Entry) -> None:
        self.entries[path] = (digest, entry)
        self.dirty = True

    def save(self) -> None:
        """Write atomically; a cache that cannot be written is silently skipped."""
        if self.enabled and self.dirty:
            _write_atomically(self.root, self.file, self.entries)


def _write_atomically(root: Path, target: Path, data: object) -> None:
    """Pickle to a temp file and rename, creating the self-ignoring cache dir if needed."""
    directory = root / CACHE_DIR
    try:
        directory.mkdir(exist_ok=True)
        if not (directory / ".gitignore").exists():
            (directory / ".gitignore").write_text("# Created by greenlint.\n*\n", encoding="utf-8")
            (directory / "CACHEDIR.TAG").write_text(_TAG, encoding="utf-8")
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".pickle")
        try:
            with os.fdopen(fd, "wb") as handle:
                pickle.dump(data, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, target)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
    except OSError:
        return

def result_key(digests: Mapping[str, str], rules: Iterable[Any], readme_opening: str = "") -> str:
    """One hash of every file's content, the enabled rules and the README's opening (which
    tells teaching code): equal keys, equal findings."""
    hasher = hashlib.blake2b(digest_size=16)
    hasher.update(f"{__version__}/{SCHEMA}/{','.join(r.code for r in rules)}\0{readme_opening}".encode())
    for path in sorted(digests):
        hasher.update(f"\0{path}\0{digests[path]}".encode())
    return hasher.hexdigest()


def _results_file(root: Path) -> Path:
    return root / CACHE_DIR / f"results-{__version__}-{SCHEMA}.pickle"


def load_results(root: Path, key: str) -> tuple[list[Finding], list[Diagnostic]] | None:
    """The last run's project-wide findings, if nothing they depend on has changed.

    With an unchanged project this spares loading every file's facts, which dominates
    a warm run on a large tree.
    """
    try:
        with _results_file(root).open("rb") as handle:
            stored_key, findings, diagnostics = pickle.load(handle)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
        return None
    return (findings, diagnostics) if stored_key == key else None


def save_results(root: Path, key: str, findings: list[Finding], diagnostics: list[Diagnostic]) -> None:
    _write_atomically(root, _results_file(root), (key, findings, diagnostics))
