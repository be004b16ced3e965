"""``--diff`` and ``--since REV``: report only findings on lines changed since a revision.

Lines come from ``git diff --unified=0``; files git does not track yet count as changed
throughout. Notebooks are JSON, whose lines do not map to cells, so a changed notebook
counts as changed throughout.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from pathlib import Path

from greenlint.config import ConfigError
from greenlint.result import RunResult

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
WHOLE_FILE = None


def _git(root: Path, *args: str) -> str:
    try:
        completed = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False, timeout=60)
    except FileNotFoundError:
        raise ConfigError("--diff/--since need git, which is not installed") from None
    except subprocess.TimeoutExpired:
        raise ConfigError("git did not answer within 60 seconds") from None
    if completed.returncode != 0:
        raise ConfigError(f"git {' '.join(args[:2])} failed: {completed.stderr.strip().splitlines()[-1] if completed.stderr.strip() else completed.returncode}")
    return completed.stdout


def changed_lines(root: Path, revision: str) -> dict[str, set[int] | None]:
    """Path (relative to ``root``) -> changed line numbers, or None for a whole new file.

    ``--relative`` and running git in ``root`` make every path relative to the project.
    """
    diff = _git(root, "diff", "--unified=0", "--no-color", "--no-ext-diff", "--relative", revision, "--", ".")
    changed: dict[str, set[int] | None] = {}
    current: str | None = None
    for line in diff.splitlines():
        if line.startswith("+++ "):
            target = line[4:]
            current = None if target == "/dev/null" else target.removeprefix("b/")
            if current is not None:
                changed.setdefault(current, set())
        elif current is not None and (match := _HUNK.match(line)):
            start, count = int(match.group(1)), int(match.group(2) or "1")
            lines = changed[current]
            if lines is not None:
                lines.update(range(start, start + count))
    for untracked in _git(root, "ls-files", "--others", "--exclude-standard", "--", ".").splitlines():
        changed[untracked] = WHOLE_FILE
    return changed


def only_changed(result: RunResult, changed: dict[str, set[int] | None]) -> RunResult:
    """Keep findings whose line changed (any finding in a new file or a notebook)."""
    kept = []
    for finding in result.findings:
        if finding.path not in changed:
            continue
        lines = changed[finding.path]
        if lines is WHOLE_FILE or finding.cell is not None or finding.line in lines:
            kept.append(finding)
    return replace(result, findings=tuple(kept))
