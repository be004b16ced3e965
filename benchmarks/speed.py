"""How fast is ``greenlint check`` compared with merely parsing the same files with libcst?

Copies a large real Python tree (by default the installed torch package's sources) into a
temporary project, then times, in one run so the machine's load affects all alike:

* parse-only: ``libcst.parse_module`` over every file, one process (the baseline);
* greenlint cold, 1 job and N jobs (empty cache);
* greenlint warm, N jobs (cache filled by the previous run);
* greenlint after one file changed, N jobs (one file re-parsed, every other file's facts
  read from the cache, all rules re-run): the pre-commit case.

It prints files/s and the ratios the README quotes. Absolute seconds depend on the
machine; the ratios are what carries over.

    python benchmarks/speed.py                 # the torch package's sources
    python benchmarks/speed.py --tree PATH --limit 500 --jobs 2
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import libcst as cst


def default_tree() -> Path:
    spec = importlib.util.find_spec("torch")
    if spec is None or spec.origin is None:
        raise SystemExit("torch is not installed; pass --tree PATH (install the dev extras for torch)")
    return Path(spec.origin).parent


def copy_tree(source: Path, limit: int | None) -> tuple[Path, list[Path]]:
    """Copy the .py files into a fresh project so the cache lands in a temp dir."""
    files = sorted(p for p in source.rglob("*.py") if p.is_file())
    if limit:
        files = files[:limit]
    root = Path(tempfile.mkdtemp(prefix="greenlint-speed-"))
    (root / "pyproject.toml").write_text("[tool.greenlint]\nexclude = []\n", encoding="utf-8")
    copied = []
    for path in files:
        target = root / "tree" / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        copied.append(target)
    return root, copied


def parse_only(files: list[Path]) -> float:
    start = time.perf_counter()
    for path in files:
        try:
            cst.parse_module(path.read_bytes())
        except Exception:  # files libcst rejects cost their attempt, as in greenlint
            pass
    return time.perf_counter() - start


def greenlint(root: Path, jobs: int, cold: bool) -> float:
    if cold:
        shutil.rmtree(root / ".greenlint_cache", ignore_errors=True)
    command = [sys.executable, "-m", "greenlint", "check", str(root / "tree"), "--jobs", str(jobs),
               "--format", "json", "--output", str(root / "report.json"), "--fail-on", "never", "--quiet"]
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=root)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, help="tree of Python files (default: the torch package)")
    parser.add_argument("--limit", type=int, help="use only the first N files")
    parser.add_argument("--jobs", type=int, default=2, help="jobs for the parallel runs (default: 2)")
    args = parser.parse_args()
    root, files = copy_tree(args.tree or default_tree(), args.limit)
    lines = sum(p.read_bytes().count(b"\n") for p in files)
    try:
        baseline = parse_only(files)
        cold_1 = greenlint(root, 1, cold=True)
        cold_n = greenlint(root, args.jobs, cold=True)
        warm_n = greenlint(root, args.jobs, cold=False)
        with files[len(files) // 2].open("a", encoding="utf-8") as handle:
            handle.write("\n# edited\n")
        edited_n = greenlint(root, args.jobs, cold=False)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    n = len(files)
    print(f"tree: {n} files, {lines:,} lines")
    print(f"{'run':<28}{'seconds':>9}{'files/s':>10}")
    for label, seconds in (("libcst parse-only, 1 proc", baseline), ("greenlint cold, 1 job", cold_1),
                           (f"greenlint cold, {args.jobs} jobs", cold_n), (f"greenlint warm, {args.jobs} jobs", warm_n),
                           (f"one file changed, {args.jobs} jobs", edited_n)):
        print(f"{label:<28}{seconds:>9.2f}{n / seconds:>10.0f}")
    print(f"cold 1 job / parse-only:        {cold_1 / baseline:.2f}x  (target <= 2.0)")
    print(f"cold 1 job / cold {args.jobs} jobs:        {cold_1 / cold_n:.2f}x  (target >= 1.8)")
    print(f"cold {args.jobs} jobs / warm {args.jobs} jobs:       {cold_n / warm_n:.1f}x  (target >= 20)")
    print(f"cold {args.jobs} jobs / one file changed:  {cold_n / edited_n:.1f}x")


if __name__ == "__main__":
    main()
