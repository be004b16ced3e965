"""Cost rows: a model's static estimate with its energy under one set of assumptions.

Shared by ``greenlint estimate``, the model-over-budget rule and other rules' messages, so
every place that quotes a number computes it the same way and states its convention.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from greenlint.analyzer.cost.energy import Assumptions, Energy, energy, training_macs
from greenlint.analyzer.cost.static import ModelEstimate

CONVENTION = "MACs: multiply-accumulates as fvcore counts them (its 'flops'); FLOPs = 2 x MACs, as hardware peaks count"


@dataclass(frozen=True, slots=True)
class CostRow:
    """One model: the estimate, training energy (total when the amount of training is
    known, else per epoch or per sample), and inference energy per million samples."""

    estimate: ModelEstimate
    training: Energy | None
    training_scope: str
    inference: Energy | None

    @property
    def training_kwh(self) -> float | None:
        return self.training.kwh if self.training is not None and self.training_scope == "total" else None


def cost_row(estimate: ModelEstimate, assumptions: Assumptions) -> CostRow:
    forward = estimate.training_forward_macs
    training: Energy | None = None
    scope = ""
    if forward is not None:
        plan = estimate.training
        if plan is not None and plan.total_samples:
            training, scope = energy(training_macs(forward, plan.total_samples, assumptions), assumptions, estimate.family), "total"
        elif plan is not None and plan.samples_per_epoch:
            training, scope = energy(training_macs(forward, plan.samples_per_epoch, assumptions), assumptions, estimate.family), "per epoch"
        else:
            training, scope = energy(training_macs(forward, 1_000_000, assumptions), assumptions, estimate.family), "per 1M samples"
    inference = None
    if estimate.macs is not None:
        inference = energy(estimate.macs * assumptions.inference_samples, assumptions, estimate.family)
    return CostRow(estimate, training, scope, inference)


def count(value: float | None, unit: str = "") -> str:
    """12_300_000 -> ``12.3 M``."""
    if value is None:
        return "unknown"
    for size, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g} {suffix}{unit}"
    return f"{value:.3g} {unit}".strip() if isinstance(value, float) else f"{value} {unit}".strip()


def _scaled(value: float | None, units: tuple[tuple[float, str], ...]) -> str:
    """``value`` in the largest unit it reaches (the last unit below that), 3 digits."""
    if value is None:
        return "unknown"
    for size, unit in units:
        if value >= size:
            return f"{value / size:.3g} {unit}"
    size, unit = units[-1]
    return f"{value / size:.3g} {unit}"


def kwh(value: float | None) -> str:
    """1.5 -> ``1.5 kWh``; 0.002 -> ``2 Wh``."""
    return _scaled(value, ((1000, "MWh"), (1, "kWh"), (1e-3, "Wh"), (1e-6, "mWh")))


def co2(value_kg: float | None) -> str:
    """1.5 -> ``1.5 kg``; 0.002 -> ``2 g``."""
    return _scaled(value_kg, ((1000, "t"), (1, "kg"), (1e-3, "g"), (1e-6, "mg")))


def row_data(row: CostRow) -> dict[str, Any]:
    """A row as plain data for JSON."""
    e = row.estimate
    plan = e.training

    def energy_data(item: Energy | None) -> dict[str, Any] | None:
        if item is None:
            return None
        return {"flops": item.flops, "device_hours": item.device_hours, "kwh": item.kwh, "co2_kg": item.co2_kg}

    return {
        "name": e.name, "path": e.path, "line": e.line, "origin": e.origin,
        "parameters": e.params, "parameters_unknown_because": e.params_reason or None,
        "macs_per_sample": e.macs, "flops_per_sample": 2 * e.macs if e.macs is not None else None,
        "training_macs_per_sample": e.train_macs, "macs_by_op": dict(e.macs_by_op),
        "macs_unknown_because": e.macs_reason or None,
        "input": {"shape": list(e.input.shape), "token_ids": e.input.integer, "source": e.input.source} if e.input else None,
        "built_at": e.built_at, "family": e.family,
        "training_plan": {"samples_per_epoch": plan.samples_per_epoch, "epochs": plan.epochs, "total_samples": plan.total_samples,
                          "sources": list(plan.sources), "unknown_because": list(plan.unknown)} if plan else None,
        "training_energy": energy_data(row.training), "training_energy_scope": row.training_scope or None,
        "inference_energy_per_million_samples": energy_data(row.inference),
        "notes": list(e.notes),
    }
