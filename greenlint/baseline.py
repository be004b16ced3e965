"""Baselines: accept today's findings, report only new ones.

A finding is recorded by a fingerprint of its rule, file, the text of its line and its
rank among identical lines, not by line number, so it survives edits elsewhere in the
file; editing the flagged line itself makes it new again, on purpose.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

from greenlint import __version__
from greenlint.config import ConfigError
from greenlint.findings import Finding
from greenlint.result import RunResult

SCHEMA_VERSION = 1


def _line_text(root: Path, finding: Finding, cache: dict[str, list[str]]) -> str:
    if finding.path not in cache:
        path = root / finding.path
        try:
            if path.suffix == ".ipynb":
                from greenlint.analyzer.notebooks import notebook_source

                notebook = notebook_source(path.read_bytes())
                by_cell: dict[tuple[int, int], str] = dict(zip(notebook.cells, notebook.text.splitlines()))
                cache[finding.path] = [f"{cell}:{line}\0{text}" for (cell, line), text in by_cell.items()]
            else:
                cache[finding.path] = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except (OSError, ValueError):
            cache[finding.path] = []
    lines = cache[finding.path]
    if finding.cell is not None:
        prefix = f"{finding.cell}:{finding.line}\0"
        return next((l.split("\0", 1)[1] for l in lines if l.startswith(prefix)), "").strip()
    return lines[finding.line - 1].strip() if 0 < finding.line <= len(lines) else ""


def fingerprints(result: RunResult) -> list[str]:
    """One fingerprint per finding, in the result's order."""
    root = Path(result.root)
    cache: dict[str, list[str]] = {}
    seen: Counter[tuple[str, str, str]] = Counter()
    prints = []
    for finding in result.findings:
        key = (finding.code, finding.path, _line_text(root, finding, cache))
        seen[key] += 1
        raw = "\0".join([*key, str(seen[key])]).encode("utf-8")
        prints.append(hashlib.blake2b(raw, digest_size=12).hexdigest())
    return prints


def write_baseline(result: RunResult, path: Path) -> int:
    """Record every finding of the run; returns how many."""
    entries = [
        {"fingerprint": fp, "path": f.path, "code": f.code, "name": f.name, "message": f.message}
        for fp, f in zip(fingerprints(result), result.findings)
    ]
    document = {"schema_version": SCHEMA_VERSION, "tool": {"name": "greenlint", "version": __version__}, "findings": entries}
    try:
        path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot write baseline {path}: {error.strerror or error}") from None
    return len(entries)


def load_baseline(path: Path) -> set[str]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return {entry["fingerprint"] for entry in document["findings"]}
    except FileNotFoundError:
        raise ConfigError(f"baseline not found: {path} (create it with --write-baseline)") from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ConfigError(f"invalid baseline {path}: {error}") from None


def without_baseline(result: RunResult, known: set[str]) -> RunResult:
    """The run with every finding recorded in the baseline removed."""
    kept = tuple(f for fp, f in zip(fingerprints(result), result.findings) if fp not in known)
    return replace(result, findings=kept)
