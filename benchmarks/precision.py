"""How many of greenlint's findings on real repositories are ones their authors would accept?

Runs ``greenlint check`` over local copies of open-source ML repositories (one folder per
repository, named ``owner+name``), matches every finding against a file of verdicts that
people wrote after reading the code, and prints per rule: findings, judged right, judged
wrong, unsure, not yet judged, and precision = right / (right + wrong): once for what
``greenlint check`` reports by default (confidence medium and up), once for every finding
(``--min-confidence low``), so the right findings the default hides are counted too.

The repositories are not part of greenlint; fetch them yourself (any snapshot: findings
whose position moved show up as not judged, to be read and added). The verdicts hold no
code, only positions, a verdict and a reason.

    python benchmarks/precision.py --repos ~/ml-repos
    python benchmarks/precision.py --repos ~/ml-repos --unjudged new.csv   # to review
    python benchmarks/precision.py --repos ~/ml-repos --wrong               # what to fix next

Repositories are checked in parallel (``--jobs``, one per core by default); each run is a
separate ``greenlint check`` process, so the numbers do not depend on the order.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

VERDICTS = Path(__file__).with_name("precision_verdicts.csv")
FIELDS = ("repo", "path", "cell", "line", "code", "verdict", "reason")


@dataclass(frozen=True)
class Key:
    """Where a finding is: enough to match it to a verdict across runs."""

    repo: str
    path: str
    cell: str
    line: str
    code: str


def load_verdicts(path: Path) -> dict[Key, tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {Key(r["repo"], r["path"], r["cell"], r["line"], r["code"]): (r["verdict"], r["reason"]) for r in rows}


def findings_of(repo: Path) -> list[dict]:
    """``greenlint check --format json`` on one repository (no cache, never failing)."""
    command = [sys.executable, "-m", "greenlint", "check", ".", "--no-cache", "--format", "json", "--fail-on", "never",
               "--min-confidence", "low"]
    done = subprocess.run(command, cwd=repo, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{repo.name}: greenlint failed: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout)["findings"]


def key_of(repo: str, finding: dict) -> Key:
    cell = finding.get("cell")
    return Key(repo, finding["path"], "" if cell is None else str(cell), str(finding["line"]), finding["code"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=Path, required=True, help="folder of repositories named owner+name")
    parser.add_argument("--verdicts", type=Path, default=VERDICTS)
    parser.add_argument("--unjudged", type=Path, help="write findings without a verdict here (CSV), to review: those "
                        "reported by default first, each reason the finding's [confidence] and message")
    parser.add_argument("--wrong", action="store_true",
                        help="list the findings reported by default that are judged wrong, with the reason")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="repositories checked at once")
    args = parser.parse_args(argv)

    if not args.repos.is_dir():
        parser.error(f"--repos {args.repos}: not a folder (one subfolder per repository, named owner+name)")
    verdicts = load_verdicts(args.verdicts)
    shown: dict[str, Counter[str]] = {}
    everything: dict[str, Counter[str]] = {}
    unjudged: list[tuple[Key, str]] = []
    repos = sorted(p for p in args.repos.iterdir() if p.is_dir())
    wrong: list[tuple[Key, str]] = []
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(findings_of, repos))
    for repo, findings in zip(repos, results):
        for finding in findings:
            key = key_of(repo.name, finding)
            verdict = verdicts.get(key)
            outcome = "unjudged" if verdict is None else verdict[0]
            if verdict is None:
                unjudged.append((key, f"[{finding['confidence']}] {finding['message']}"))
            everything.setdefault(key.code, Counter())[outcome] += 1
            if finding["confidence"] != "low":
                shown.setdefault(key.code, Counter())[outcome] += 1
                if outcome == "W":
                    wrong.append((key, verdict[1]))
    print(f"{len(repos)} repositories; {len(verdicts)} verdicts on file")
    for title, judged in (("reported by default (confidence medium and up)", shown),
                          ("every finding (--min-confidence low)", everything)):
        print(f"\n{title}\n")
        _table(judged)
    if args.wrong:
        print("\nreported by default and judged wrong\n")
        for key, reason in sorted(wrong, key=lambda item: (item[0].code, item[0].repo)):
            where = f"{key.path}:{key.line}" + (f" (cell {key.cell})" if key.cell else "")
            print(f"- {key.code} {key.repo} {where}: {reason}")
    if args.unjudged:
        with args.unjudged.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(FIELDS)
            for key, message in sorted(unjudged, key=lambda item: item[1].startswith("[low]")):  # default view first
                writer.writerow([key.repo, key.path, key.cell, key.line, key.code, "", message])
    return 0


def _table(judged: dict[str, Counter[str]]) -> None:
    print("| rule | findings | right | wrong | unsure | not judged | precision |")
    print("|---|---|---|---|---|---|---|")
    total: Counter[str] = Counter()
    for code in sorted(judged):
        total.update(judged[code])
        print(_row(code, judged[code]))
    print(_row("all", total))


def _row(code: str, counts: Counter[str]) -> str:
    right, wrong = counts["R"], counts["W"]
    precision = f"{right / (right + wrong):.1%}" if right + wrong else "-"
    findings = sum(counts.values())
    return f"| {code} | {findings} | {right} | {wrong} | {counts['U']} | {counts['unjudged']} | {precision} |"


if __name__ == "__main__":
    raise SystemExit(main())
