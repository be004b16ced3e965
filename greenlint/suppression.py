"""Inline suppressions: ``# noqa``, ``# noqa: GL401``, ``# greenlint: ignore[name]``.

Suppressions are read from the raw text of the finding's line, not from the syntax tree,
so they work the same in Python files and in YAML configs, and cost nothing when a file
has no findings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from greenlint.findings import Finding

_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[\w\-]+(?:[,\s]+[\w\-]+)*))?", re.IGNORECASE)
_IGNORE = re.compile(r"#\s*greenlint:\s*ignore(?:\[(?P<codes>[^\]]*)\])?(?!-file)")
_IGNORE_FILE = re.compile(r"^\s*#\s*greenlint:\s*ignore-file\b", re.MULTILINE)


def file_ignored(text: str) -> bool:
    """True when the file opts out whole with ``# greenlint: ignore-file``."""
    return _IGNORE_FILE.search(text) is not None


def _listed(codes: str | None) -> set[str] | None:
    """The rules named in a directive, or None for a bare one (everything)."""
    if codes is None or not codes.strip():
        return None
    return {c for c in re.split(r"[,\s]+", codes.strip()) if c}


def line_suppresses(line: str, finding: Finding) -> bool:
    """Does a directive on this source line silence the finding?"""
    for pattern in (_NOQA, _IGNORE):
        for match in pattern.finditer(line):
            names = _listed(match.group("codes"))
            if names is None:
                return True
            if finding.code in {n.upper() for n in names} or finding.name in names:
                return True
    return False


def apply_suppressions(findings: Iterable[Finding], text: str) -> list[Finding]:
    """Findings of one file that no directive silences."""
    findings = list(findings)
    if not findings:
        return findings
    if file_ignored(text):
        return []
    lines = text.splitlines()
    kept = []
    for finding in findings:
        line = lines[finding.line - 1] if 0 < finding.line <= len(lines) else ""
        if "#" in line and line_suppresses(line, finding):
            continue
        kept.append(finding)
    return kept
