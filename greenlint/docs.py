"""Documentation generated from the rules themselves, so the README cannot drift.

``python -m greenlint.docs`` rewrites the rule table between the markers in README.md;
a test fails when the committed table differs from what the rules say.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from greenlint.rules import all_rules

START = "<!-- rules-table:start -->"
END = "<!-- rules-table:end -->"


def rule_table() -> str:
    """The Markdown table of every rule: code, name, tactics, severity, summary."""
    rows = ["| Code | Name | Tactics | Severity | What it finds |", "|---|---|---|---|---|"]
    for rule in all_rules():
        rows.append(f"| {rule.code} | `{rule.name}` | {', '.join(rule.tactics)} | {rule.severity.value} | {rule.summary} |")
    return "\n".join(rows)


def update_readme(path: Path) -> bool:
    """Rewrite the table in place; True when the file changed."""
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.DOTALL)
    updated = pattern.sub(f"{START}\n{rule_table()}\n{END}", text)
    if updated != text:
        path.write_text(updated, encoding="utf-8")
    return updated != text


if __name__ == "__main__":
    readme = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    print("updated" if update_readme(readme) else "up to date")
