"""The measured run, in its own process: import the model's module, build the model with
the arguments the static estimate used, and count it with fvcore.

Run as ``python -m greenlint.measure.child`` with a JSON request on stdin; prints one JSON
line. This is the only place greenlint imports user code, which is why the parent runs it
in a subprocess with a time limit.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import logging
import sys
import traceback
from pathlib import Path
from typing import Any

from greenlint.analyzer.cost.conventions import input_count as paired_inputs


def load_module(root: Path, relative: str, module: str) -> Any:
    path = root / relative
    for entry in (str(path.parent), str(root)):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    sys.argv = [str(path)]
    name = module.rpartition(".")[2] or path.stem
    existing = sys.modules.get(name)
    if existing is not None and getattr(existing, "__file__", None) == str(path):
        return existing
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {relative}")
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = loaded
    spec.loader.exec_module(loaded)
    return loaded


def from_json(spec: Any, root: Path) -> Any:
    """JSON back to Python; ``{"__class__": "pkg.mod.Config", "kwargs": {...}}`` builds a config."""
    if isinstance(spec, dict) and "__ref__" in spec:
        module_path, _, name = spec["__ref__"].rpartition(":")
        return getattr(load_module(root, module_path, module_path.replace("/", ".").removesuffix(".py")), name)
    if isinstance(spec, dict) and "__class__" in spec:
        module_path, _, name = spec["__class__"].rpartition(":")
        owner = load_module(root, module_path, module_path.replace("/", ".").removesuffix(".py"))
        return getattr(owner, name)(**{k: from_json(v, root) for k, v in spec.get("kwargs", {}).items()})
    if isinstance(spec, list):
        return [from_json(v, root) for v in spec]
    if isinstance(spec, dict):
        return {k: from_json(v, root) for k, v in spec.items()}
    return spec


def _first_tensor(value: Any) -> Any:
    import torch

    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        for item in value:
            found = _first_tensor(item)
            if found is not None:
                return found
    return None


def input_count(model: Any) -> int:
    """Inputs one sample feeds ``model.forward``, as the static estimate counts them."""
    import inspect

    try:
        signature = inspect.signature(model.forward)
    except (TypeError, ValueError):
        return 1
    return paired_inputs([p.name for p in signature.parameters.values()
                          if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty])


def measure(request: dict[str, Any]) -> dict[str, Any]:
    import torch
    from fvcore.nn import FlopCountAnalysis, parameter_count

    from greenlint.measure.handles import EXTRA_HANDLES

    logging.getLogger("fvcore").setLevel(logging.ERROR)
    root = Path(request["root"])
    with contextlib.redirect_stdout(io.StringIO()):
        module = load_module(root, request["path"], request["module"])
        cls = getattr(module, request["class"])
        args = [from_json(a, root) for a in request.get("args", [])]
        kwargs = {k: from_json(v, root) for k, v in request.get("kwargs", {}).items()}
        model = cls(*args, **kwargs)
    model.eval()

    inputs = input_count(model)

    class FirstOutput(torch.nn.Module):
        """fvcore traces tensors only: keep the first tensor of tuple or dict outputs. A
        forward with several required inputs gets the same tensor for each, as the static
        estimate assumes."""

        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return _first_tensor(self.inner(*([x] * inputs)))

    shape = list(request["shape"])
    x = torch.zeros(shape, dtype=torch.long) if request.get("integer") else torch.zeros(shape)
    wrapped = FirstOutput(model).eval()
    results: dict[str, Any] = {"params": int(parameter_count(model)[""])}
    with torch.no_grad(), contextlib.redirect_stdout(io.StringIO()):
        plain = FlopCountAnalysis(wrapped, (x,))
        plain.unsupported_ops_warnings(False)
        plain.uncalled_modules_warnings(False)
        results["fvcore_macs"] = int(plain.total())
        augmented = FlopCountAnalysis(wrapped, (x,))
        augmented.set_op_handle(**EXTRA_HANDLES)
        augmented.unsupported_ops_warnings(False)
        augmented.uncalled_modules_warnings(False)
        results["macs"] = int(augmented.total())
        results["unsupported_ops"] = dict(sorted(augmented.unsupported_ops().items()))
        results["by_operator"] = {k: int(v) for k, v in sorted(augmented.by_operator().items())}
    return results


def main() -> int:
    request = json.loads(sys.stdin.read())
    try:
        result = measure(request)
    except SystemExit as error:
        result = {"error": f"importing {request['path']} exited (SystemExit {error.code}); it runs a script at import"}
    except BaseException as error:  # noqa: BLE001 - any failure of user code is reported, not raised
        last = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
        where = f" at {Path(last.filename).name}:{last.lineno}" if last else ""
        result = {"error": f"{type(error).__name__}: {error}{where}"}
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
