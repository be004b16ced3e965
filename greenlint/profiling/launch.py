"""How the child process is started with the recorder inside it.

A temporary directory holds a copy of :mod:`greenlint.profiling.bootstrap` and a
``sitecustomize.py`` that installs it; prepending the directory to ``PYTHONPATH`` makes
every Python the command starts (``python train.py``, ``python -m pkg``, a launcher's
workers) load the recorder before the user's code, with no change to the user's files
and no need for greenlint in the user's environment. The shadowed ``sitecustomize``, if
any, still runs after ours.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from greenlint.profiling import bootstrap

SITECUSTOMIZE = '''\
# Written by greenlint profile: loads its in-process recorder, then the sitecustomize
# this file shadows. Deleted when the profiled run ends.
try:
    import _greenlint_bootstrap
except Exception as error:  # pragma: no cover - reported, never fatal to the program
    import sys
    sys.stderr.write(f"greenlint: profiling bootstrap not loaded: {error}\\n")
else:
    try:
        _greenlint_bootstrap.install()
    except Exception as error:  # pragma: no cover
        import sys
        sys.stderr.write(f"greenlint: profiling bootstrap failed: {error}\\n")
    _greenlint_bootstrap.chain_sitecustomize(__file__)
'''


@dataclass(frozen=True, slots=True)
class Bounds:
    """When the recorder stops the program at a step boundary."""

    max_steps: int | None = None
    deadline: float | None = None  # wall-clock time (``time.time()``)
    compare_steps: int | None = None  # steps per precision in ``--compare-precision``
    total_steps: int | None = None  # the full training's length, when the user knows it


@dataclass(frozen=True, slots=True)
class Injection:
    """The files and environment that put the recorder into the child."""

    directory: Path
    report: Path
    claim: Path

    @classmethod
    def create(cls) -> Injection:
        directory = Path(tempfile.mkdtemp(prefix="greenlint-profile-"))
        shutil.copyfile(bootstrap.__file__, directory / "_greenlint_bootstrap.py")
        (directory / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
        return cls(directory, directory / "report.json", directory / "claimed")

    def environment(self, base: dict[str, str], events_fd: int, bounds: Bounds) -> dict[str, str]:
        env = dict(base)
        existing = env.get("PYTHONPATH")
        env["PYTHONPATH"] = str(self.directory) + (os.pathsep + existing if existing else "")
        env[bootstrap.ENV_REPORT] = str(self.report)
        env[bootstrap.ENV_CLAIM] = str(self.claim)
        env[bootstrap.ENV_EVENTS_FD] = str(events_fd)
        for name in (bootstrap.ENV_MAX_STEPS, bootstrap.ENV_DEADLINE, bootstrap.ENV_COMPARE_STEPS, bootstrap.ENV_TOTAL_STEPS):
            env.pop(name, None)
        if bounds.max_steps is not None:
            env[bootstrap.ENV_MAX_STEPS] = str(bounds.max_steps)
        if bounds.deadline is not None:
            env[bootstrap.ENV_DEADLINE] = repr(bounds.deadline)
        if bounds.compare_steps:
            env[bootstrap.ENV_COMPARE_STEPS] = str(bounds.compare_steps)
        if bounds.total_steps:
            env[bootstrap.ENV_TOTAL_STEPS] = str(bounds.total_steps)
        return env

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
