"""Runs ``greenlint profile`` on the scripts beside this file, once per set of arguments.

Each run takes a couple of seconds (a Python with torch starts), so the outcome of a run
is cached for the whole test session and shared by the tests that read it.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from greenlint.profiling.schema import Profile, load

SCRIPTS = Path(__file__).resolve().parent
REPO = SCRIPTS.parent.parent
_WORK = Path(tempfile.mkdtemp(prefix="greenlint-profile-tests-"))


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str
    profile: Profile | None
    output: Path
    elapsed: float


def line_of(script: str, marker: str) -> int:
    """The line of ``script`` that carries ``# marker: <marker>``."""
    for number, line in enumerate((SCRIPTS / script).read_text().splitlines(), 1):
        if line.rstrip().endswith(f"# marker: {marker}"):
            return number
    raise AssertionError(f"no marker {marker!r} in {script}")


@functools.lru_cache(maxsize=None)
def profile_run(script: str, options: tuple[str, ...] = (), args: tuple[str, ...] = (), name: str = "") -> Outcome:
    """``greenlint profile OPTIONS -- python SCRIPT ARGS`` in a subprocess."""
    out_dir = _WORK / (name or f"{Path(script).stem}-{abs(hash((options, args)))}")
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / "profile.json"
    args = tuple(a.replace("{out}", str(out_dir)) for a in args)
    target = str(SCRIPTS / script) if script.endswith(".py") else script
    command = [sys.executable, "-m", "greenlint", "profile", "-o", str(output), *options, "--", sys.executable, target, *args]
    started = time.monotonic()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=240)
    elapsed = time.monotonic() - started
    profile = load(output) if output.exists() else None
    return Outcome(done.returncode, done.stdout, done.stderr, profile, output, elapsed)
