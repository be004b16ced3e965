"""The cost model's reference tables, read from the YAML files shipped beside it.

Numbers that are facts about the world (a GPU's peak throughput, a country's grid
carbon intensity, a dataset's size, a published model's parameter count) live in
``data/*.yaml`` with their source and year, not in code, so they can be checked and
updated without reading Python. Tables are read once per process and never modified.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml


class TableError(ValueError):
    """A shipped table is malformed (a packaging or editing mistake, not user input)."""


@cache
def _read(name: str) -> tuple[dict[str, Any], ...]:
    text = resources.files("greenlint.analyzer.cost").joinpath("data", f"{name}.yaml").read_text(encoding="utf-8")
    rows = yaml.safe_load(text)
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise TableError(f"data/{name}.yaml must be a list of mappings")
    for row in rows:
        if "source" not in row:
            raise TableError(f"data/{name}.yaml: row {row.get('name', row)!r} has no source")
    return tuple(rows)


def table(name: str) -> tuple[dict[str, Any], ...]:
    """Rows of ``data/<name>.yaml`` (callers must not mutate them)."""
    return _read(name)
