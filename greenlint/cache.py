"""Facts cached by content hash, so an unchanged file is never parsed twice.

The key is the hash of the file's bytes, not its modification time: CI checkouts reset
mtimes, while content is what facts depend on. The whole project's entries live in one
file per greenlint version, loaded once and rewritten atomically when something changed.
The directory ignores itself (``.gitignore`` with ``*``) and carries a ``CACHEDIR.TAG``
so backup tools skip it, as ruff's cache does.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from greenlint import __version__
from greenlint.analyzer.facts import FileFacts
from greenlint.findings import Diagnostic

CACHE_DIR = ".greenlint_cache"
#: Bump when the shape of facts changes, so old caches are ignored rather than misread.
SCHEMA = 1
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
        try:
            with cache.file.open("rb") as handle:
                data = pickle.load(handle)
            if isinstance(data, dict):
                cache.entries = data
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
            cache.entries = {}  # a missing or unreadable cache is just a cold start
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
        if not self.enabled or not self.dirty:
            return
        directory = self.root / CACHE_DIR
        try:
            directory.mkdir(exist_ok=True)
            if not (directory / ".gitignore").exists():
                (directory / ".gitignore").write_text("# Created by greenlint.\n*\n", encoding="utf-8")
                (directory / "CACHEDIR.TAG").write_text(_TAG, encoding="utf-8")
            fd, temporary = tempfile.mkstemp(dir=directory, prefix=".facts-", suffix=".tmp")
            with os.fdopen(fd, "wb") as handle:
                pickle.dump(self.entries, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, self.file)
        except OSError:
            return
