"""``greenlint estimate --measure``: count a model with fvcore by building it for real.

The static estimate never imports user code; this does, so it runs in a child process
(``greenlint.measure.child``) bounded by a time limit, with the model built from the same
constructor arguments the static pass evaluated and fed a zero tensor of the same shape,
in eval mode. The count uses fvcore plus greenlint's handles for the attention and
recurrent kernels fvcore would count as 0 (``handles``), and reports what stays
unsupported rather than hiding it. Needs the ``measure`` extra (torch, fvcore).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_TIMEOUT_S = 120.0


class MeasureUnavailable(Exception):
    """torch or fvcore is missing: the measured path cannot run at all."""


@dataclass(frozen=True, slots=True)
class Measured:
    """fvcore's counts of one model (MACs in fvcore's convention), or why there are none."""

    params: int | None = None
    macs: int | None = None
    fvcore_macs: int | None = None
    unsupported_ops: dict[str, int] = field(default_factory=dict)
    error: str | None = None


def check_available() -> None:
    missing = [name for name in ("torch", "fvcore") if importlib.util.find_spec(name) is None]
    if missing:
        raise MeasureUnavailable(
            f"--measure needs {' and '.join(missing)}: install the measure extra, pip install 'greenlint[measure]'"
        )


def run_child(request: dict[str, Any], root: Path, timeout_s: float = DEFAULT_TIMEOUT_S) -> Measured:
    """Run one measurement request in a fresh interpreter, bounded by ``timeout_s``."""
    env = dict(os.environ)
    env.setdefault("CUDA_VISIBLE_DEVICES", "")
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "greenlint.measure.child"], input=json.dumps(request), capture_output=True,
            text=True, timeout=timeout_s, cwd=str(root), env=env, check=False,
        )
    except subprocess.TimeoutExpired:
        return Measured(error=f"timed out after {timeout_s:g} s")
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if not lines:
        tail = (completed.stderr or "").strip().splitlines()[-1:] or ["no output"]
        return Measured(error=f"the measuring process failed: {tail[0][:200]}")
    data = json.loads(lines[-1])
    if "error" in data:
        return Measured(error=data["error"])
    return Measured(data["params"], data["macs"], data["fvcore_macs"], data.get("unsupported_ops", {}))


def request_for(root: Path, path: str, module: str, class_name: str, arguments: dict[str, Any] | None,
                shape: tuple[int, ...], integer: bool) -> dict[str, Any] | str:
    """The child's request, or why the model cannot be measured."""
    if arguments is None:
        return "its constructor arguments are not literal; set them in [tool.greenlint.models]"
    args = [v for k, v in sorted(((k, v) for k, v in arguments.items() if k.startswith("#")), key=lambda kv: int(kv[0][1:]))]
    kwargs = {k: v for k, v in arguments.items() if not k.startswith("#")}
    return {"root": str(root), "path": path, "module": module, "class": class_name, "args": args, "kwargs": kwargs,
            "shape": list(shape), "integer": integer}

