"""Cost figures for other rules' messages: the same numbers as ``greenlint estimate``,
under the project's configured (or the default) energy assumptions.

A finding that says "this grid trains 60 models" persuades; one that adds "x ~1.3 kWh
each" persuades more. These helpers return None whenever the source does not fix the
number, so a message never quotes a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from greenlint.analyzer import ml
from greenlint.analyzer.cost.energy import AssumptionError, Assumptions, assumptions
from greenlint.analyzer.cost.published import lookup, size
from greenlint.analyzer.cost.report import CostRow, cost_row, kwh
from greenlint.analyzer.cost.static import estimate_project
from greenlint.analyzer.project import Project


@dataclass(frozen=True, slots=True)
class TrainingRun:
    """One training run of a model as the code configures it, and what the figure rests on."""

    model: str
    path: str
    line: int
    kwh: float
    co2_kg: float
    samples: int
    #: The energy assumptions and the sources of the sample count, one line each.
    assumptions: tuple[str, ...]

    def describe(self) -> str:
        """``~1.3 kWh per training (Net, 840,000 samples)``."""
        return f"~{kwh(self.kwh)} per training ({self.model}, {self.samples:,} samples)"


def project_assumptions(project: Project) -> Assumptions:
    """``[tool.greenlint.energy]`` of the project, mixed precision where the code uses it;
    the defaults when the configuration is missing or wrong (the rules that quote costs
    are not the place to report a configuration error: ``greenlint estimate`` and GL302 are)."""
    from greenlint.config import ConfigError, load_settings

    mixed = any(ml.precision_evidence(f) for f in project.python_files())
    try:
        energy = load_settings(Path(project.root)).tables.get("energy")
        return assumptions(energy, mixed_precision=mixed)
    except (AssumptionError, ConfigError, OSError):
        return assumptions(mixed_precision=mixed)


def project_costs(project: Project, chosen: Assumptions | None = None, path: str | None = None) -> list[CostRow]:
    """Every model's cost row (compute once per rule run and pass it around); with
    ``path``, only the models defined or built in that file."""
    chosen = chosen or project_assumptions(project)
    within = None if path is None else (lambda candidate: candidate == path)
    return [cost_row(e, chosen) for e in estimate_project(project, within=within)]


def _built_in(row: CostRow, path: str) -> bool:
    return row.estimate.path == path or row.estimate.built_at.startswith(f"{path}:")


def training_in_file(rows: list[CostRow], path: str) -> CostRow | None:
    """The costliest training of a model built in (or defined in) a file."""
    candidates = [r for r in rows if r.training_kwh is not None and _built_in(r, path)]
    return max(candidates, key=lambda r: r.training_kwh or 0.0, default=None)


def training_at(rows: list[CostRow], path: str, line: int) -> CostRow | None:
    """The training of the library model built by the call at ``path:line``."""
    for row in rows:
        if row.training_kwh is not None and row.estimate.origin == "library" and row.estimate.built_at.startswith(f"{path}:{line}"):
            return row
    return None


def _total_samples(row: CostRow) -> int | None:
    """Samples of the whole configured training, when the row's energy covers all of it."""
    plan = row.estimate.training
    if row.training is None or row.training_scope != "total" or plan is None or not plan.total_samples:
        return None
    return plan.total_samples


def run_of(row: CostRow, chosen: Assumptions) -> TrainingRun | None:
    """A cost row's total training as a ``TrainingRun``, when the amount of training is known."""
    samples = _total_samples(row)
    if samples is None or row.training is None or row.estimate.training is None:
        return None
    e = row.estimate
    lines = (*chosen.describe(), *(f"training: {source}" for source in e.training.sources))
    return TrainingRun(e.name, e.path, e.line, row.training.kwh, row.training.co2_kg, samples, lines)


def training_kwh_per_run(project: Project, path: str | None = None, chosen: Assumptions | None = None) -> TrainingRun | None:
    """The estimated energy of one training run of the project's main model, or None.

    The main model is the one whose configured training costs most, among the models
    built (or defined) in ``path`` when it is given, else in the whole project. None when
    no model's forward cost and amount of training (dataset size x epochs, or steps x
    batch) are both known from the source.
    """
    chosen = chosen or project_assumptions(project)
    rows = project_costs(project, chosen, path)
    if path is not None:
        best = training_in_file(rows, path)
    else:
        best = max((r for r in rows if r.training_kwh is not None), key=lambda r: r.training_kwh or 0.0, default=None)
    return run_of(best, chosen) if best is not None else None


def per_training(row: CostRow) -> str | None:
    """``"~1.3 kWh per training (Net, 840,000 samples)"``, for grid searches."""
    samples = _total_samples(row)
    if samples is None or row.training is None:
        return None
    return f"~{kwh(row.training.kwh)} per training ({row.estimate.name}, {samples:,} samples)"


def architecture(name: str) -> str | None:
    """``"resnet152: 60.2 M parameters, 11.51 GMACs per 224x224 image"``."""
    row = lookup(name)
    return f"{row['name']}: {size(row)}" if row is not None else None
