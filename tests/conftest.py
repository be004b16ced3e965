"""Shared helpers: run greenlint's engine on a small project written into a temp dir."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from greenlint.config import Settings
from greenlint.engine import RunOptions, run_check
from greenlint.result import RunResult
from greenlint.rules import all_rules
from greenlint.rules.base import Rule

Write = Callable[..., Path]


@pytest.fixture
def write(tmp_path: Path) -> Write:
    """Write dedented files into a temp project: ``write("train.py", "...")``."""
    (tmp_path / "pyproject.toml").touch()

    def _write(relative: str, text: str | bytes) -> Path:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write


def check(root: Path, paths: list[Path] | None = None, rules: tuple[Rule, ...] | None = None,
          settings: Settings | None = None, jobs: int = 1, use_cache: bool = False) -> RunResult:
    """Run the whole check pipeline on a project root with default settings. Findings of
    every confidence are returned: the command line applies ``min-confidence``."""
    settings = settings or Settings(root=root)
    return run_check(settings, rules or all_rules(), RunOptions(paths or [root], jobs=jobs, use_cache=use_cache))


def codes(result: RunResult) -> list[tuple[str, int, str]]:
    return [(f.path, f.line, f.code) for f in result.findings]
