"""``[tool.greenlint.models]`` and ``[tool.greenlint.budget]``: what the user tells the
cost model that the code does not say, and the limits GL302 enforces.

Mistakes are errors with the closest valid spelling, never silently ignored: a budget
misspelt as ``max-param`` would otherwise switch the rule off without anyone noticing.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from greenlint.analyzer.cost.energy import AssumptionError
from greenlint.analyzer.cost.inputs import parse_shape
from greenlint.analyzer.cost.static import ModelSettings

MODEL_KEYS = ("args", "input-shape", "tokens", "dataset-size", "epochs")
BUDGET_KEYS = ("max-params", "max-gflops", "max-training-kwh")


def _hint(key: str, keys: tuple[str, ...]) -> str:
    match = difflib.get_close_matches(key, keys, n=1, cutoff=0.5)
    return f" (did you mean '{match[0]}'?)" if match else ""


def model_settings(raw: dict[str, Any] | None) -> dict[str, ModelSettings]:
    """``[tool.greenlint.models.Net]`` tables by model (class or architecture) name."""
    out: dict[str, ModelSettings] = {}
    for name, table in (raw or {}).items():
        if not isinstance(table, dict):
            raise AssumptionError(f"[tool.greenlint.models.{name}] must be a table")
        for key in table:
            if key not in MODEL_KEYS:
                raise AssumptionError(f"unknown key '{key}' in [tool.greenlint.models.{name}]{_hint(key, MODEL_KEYS)}")
        args = table.get("args", {})
        if not isinstance(args, dict):
            raise AssumptionError(f"[tool.greenlint.models.{name}] args must be a table of constructor arguments")
        shape = table.get("input-shape")
        if shape is not None:
            try:
                shape = parse_shape(shape) if isinstance(shape, str) else tuple(int(d) for d in shape)
            except (TypeError, ValueError):
                raise AssumptionError(f"[tool.greenlint.models.{name}] input-shape must be like [3, 224, 224]") from None
        out[name] = ModelSettings(
            args=dict(args), input_shape=shape, tokens=bool(table.get("tokens", False)),
            dataset_size=_positive(table.get("dataset-size"), f"models.{name}.dataset-size", int),
            epochs=_positive(table.get("epochs"), f"models.{name}.epochs", float),
        )
    return out


@dataclass(frozen=True, slots=True)
class Budget:
    """Limits per model: parameters, GFLOPs per sample (fvcore convention: 10^9 multiply-
    adds, as torchvision's and fvcore's tables count), and kWh for the configured training."""

    max_params: float | None = None
    max_gflops: float | None = None
    max_training_kwh: float | None = None

    @property
    def configured(self) -> bool:
        return any(v is not None for v in (self.max_params, self.max_gflops, self.max_training_kwh))


def budget(raw: dict[str, Any] | None) -> Budget:
    raw = raw or {}
    for key in raw:
        if key not in BUDGET_KEYS:
            raise AssumptionError(f"unknown key '{key}' in [tool.greenlint.budget]{_hint(key, BUDGET_KEYS)}")
    return Budget(
        _positive(raw.get("max-params"), "budget.max-params", float),
        _positive(raw.get("max-gflops"), "budget.max-gflops", float),
        _positive(raw.get("max-training-kwh"), "budget.max-training-kwh", float),
    )


def _positive(value: Any, name: str, kind: type) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise AssumptionError(f"{name} must be a positive number, not {value!r}")
    return kind(value)
