"""Cost figures for other rules' messages: one sentence each, the same numbers as
``greenlint estimate``, under the default (or configured) energy assumptions.

A finding that says "this grid trains 60 models" persuades; one that adds "x ~1.3 kWh
each" persuades more. These helpers return None whenever the source does not fix the
number, so a message never quotes a guess.
"""

from __future__ import annotations

from greenlint.analyzer.cost.architectures import lookup
from greenlint.analyzer.cost.energy import Assumptions, assumptions, energy, training_macs
from greenlint.analyzer.cost.report import CostRow, cost_row, count, kwh
from greenlint.analyzer.cost.static import estimate_project
from greenlint.analyzer.project import Project


def project_costs(project: Project, chosen: Assumptions | None = None) -> list[CostRow]:
    """Every model's cost row (compute once per rule run and pass it around)."""
    chosen = chosen or assumptions()
    return [cost_row(e, chosen) for e in estimate_project(project)]


def training_in_file(rows: list[CostRow], path: str) -> CostRow | None:
    """The costliest training of a model built in (or defined in) a file."""
    candidates = [r for r in rows if r.training is not None and r.training_scope == "total"
                  and (r.estimate.path == path or r.estimate.built_at.startswith(f"{path}:"))]
    return max(candidates, key=lambda r: r.training.kwh, default=None)  # type: ignore[union-attr]


def per_training(row: CostRow) -> str | None:
    """``"~1.3 kWh per training (Net: 840,000 samples on A100-SXM4)"``, for grid searches."""
    if row.training is None or row.training_scope != "total" or row.estimate.training is None:
        return None
    return f"~{kwh(row.training.kwh)} per training ({row.estimate.name}, {row.estimate.training.total_samples:,} samples)"


def architecture(name: str, samples: int | None = None, chosen: Assumptions | None = None) -> str | None:
    """``"resnet152: 60.2 M parameters, 11.5 GMACs per 224x224 image"`` (+ training energy)."""
    row = lookup(name)
    if row is None or "gmacs" not in row:
        return None
    text = f"{row['name']}: {count(row['params'])} parameters, {row['gmacs']:g} GMACs per {row['input'][1]}x{row['input'][2]} image"
    if samples:
        chosen = chosen or assumptions()
        trained = energy(training_macs(int(row["gmacs"] * 1e9), samples, chosen), chosen, "vision")
        text += f"; training on {samples:,} samples ~{kwh(trained.kwh)} on {chosen.device.name}"
    return text
