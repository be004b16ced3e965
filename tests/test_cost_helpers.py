"""Helpers for the cost-model tests: estimate the models of a small project on disk."""

from __future__ import annotations

from pathlib import Path

from greenlint.analyzer.cost.static import ModelEstimate, ModelSettings, estimate_project
from greenlint.config import Settings
from greenlint.engine import RunOptions, load_project


def estimates(root: Path, settings: dict[str, ModelSettings] | None = None) -> dict[str, ModelEstimate]:
    project, diagnostics = load_project(Settings(root=root, exclude=[]), RunOptions([root], jobs=1, use_cache=False))
    assert not diagnostics, diagnostics
    return {e.name: e for e in estimate_project(project, settings)}
