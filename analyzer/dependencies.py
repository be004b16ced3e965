"""What the project's own dependency files say about the PyTorch it runs on.

A rule that recommends an API has to know whether the project can call it: fused
attention (``F.scaled_dot_product_attention``) arrived in PyTorch 2.0, and a project that
pins ``torch==1.7.1`` (or ``torch<2``) cannot take that advice without an upgrade its
authors have chosen against. The files are read as text, never installed or executed.
"""

from __future__ import annotations

import re
from pathlib import Path

#: Dependency files looked for in the project root (pip, conda, setuptools, PEP 621).
DEPENDENCY_FILES = ("requirements.txt", "requirements-gpu.txt", "environment.yml", "environment.yaml",
                    "setup.py", "setup.cfg", "pyproject.toml")
#: Bytes of each file read: dependency lists sit well within.
DEPENDENCY_BYTES = 64_000
#: A torch requirement that fixes or caps its version: ``torch==1.7.1``, ``torch<2``,
#: ``torch<=1.13``, ``torch~=1.12``, conda's ``pytorch=1.11``.
_TORCH_REQUIREMENT = re.compile(
    r"""(?:^|["'\s,\[-])(?:torch|pytorch)\s*(==|<=|<|~=|=)\s*(\d+)(?:\.(\d+))?""", re.IGNORECASE | re.MULTILINE)


QUOTES_AND_SEPARATORS = "\"', [-"


def read_torch_pin(root: Path) -> str:
    """The requirement that holds the project to PyTorch 1.x (``requirements.txt:
    torch==1.7.1``), or "" when no dependency file of the root does."""
    for name in DEPENDENCY_FILES:
        try:
            with (root / name).open("rb") as handle:
                text = handle.read(DEPENDENCY_BYTES).decode("utf-8", errors="replace")
        except OSError:
            continue
        for match in _TORCH_REQUIREMENT.finditer(text):
            if _below_2(*match.groups()):
                return f"{name}: {match.group(0).strip().strip(QUOTES_AND_SEPARATORS)}"
    return ""


def _below_2(operator: str, major: str, minor: str | None) -> bool:
    if operator == "<":
        return int(major) < 2 or (int(major) == 2 and (minor is None or int(minor) == 0))
    return int(major) < 2
