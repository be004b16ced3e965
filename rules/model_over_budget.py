"""GL302 model-over-budget: a model whose estimated size or cost exceeds the project's budget."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from greenlint.analyzer import ml
from greenlint.analyzer.cost.energy import AssumptionError, Assumptions, assumptions
from greenlint.analyzer.cost.report import cost_row, count, kwh
from greenlint.analyzer.cost.settings import Budget, budget, model_settings
from greenlint.analyzer.cost.static import estimate_project
from greenlint.analyzer.project import Project
from greenlint.findings import Confidence, Finding, Saving, Severity
from greenlint.rules.base import Rule

SAVING = Saving(
    text="a model built to a budget costs what the budget allows, in every training run and every request served",
    source="Järvenpää et al., ICSE-SEIS 2024 (tactic T12); Yarally et al., CAIN 2023 (halving network complexity halves training energy)",
)
FIX = (
    "make the model smaller (fewer layers, narrower layers, a lighter pretrained sibling), distil it, or "
    "train less; raise the limit in [tool.greenlint.budget] if this cost is intended"
)


class ModelOverBudget(Rule):
    """
    ## What it does
    Compares every model greenlint estimates (its own `nn.Module` classes and the
    torchvision, timm and Hugging Face architectures it builds) with the limits set in
    `[tool.greenlint.budget]`: `max-params`, `max-gflops` (per sample, in fvcore's and
    torchvision's convention: 10^9 multiply-adds) and `max-training-kwh` (the training the
    code configures, under the `[tool.greenlint.energy]` assumptions). The finding sits at
    the model's definition and quotes the estimate and the limit. Without a budget the
    rule is silent; a model whose numbers cannot be estimated from the source is not
    reported.

    ## Why it costs energy
    Parameters and FLOPs per sample set the energy of every epoch and of every request
    the model later serves. A budget makes energy a design constraint, checked in CI like
    a latency or memory limit, instead of a number discovered after the bill.

    ## Example
    ```toml
    [tool.greenlint.budget]
    max-params = 50_000_000
    max-gflops = 5
    ```
    ```python
    model = GPT(GPTConfig(n_layer=24, n_head=16, n_embd=1024))  # 350 M parameters
    ```

    ## Use instead
    ```python
    model = GPT(GPTConfig(n_layer=6, n_head=6, n_embd=384))  # 10 M parameters
    ```
    Or distil the large model into a small one, or fine-tune a smaller pretrained sibling.

    ## Evidence
    Järvenpää, Lago, Bogner, Lewis, Muccini, Ozkaya, "A Synthesis of Green Architectural
    Tactics for ML-Enabled Systems", ICSE-SEIS 2024, doi:10.1145/3639475.3640111: tactics
    T12 (set energy consumption as a model constraint) and T8 (decrease model complexity).
    Yarally et al., CAIN 2023: reducing network complexity can halve training energy.
    Estimates follow fvcore's counting conventions; energy uses the documented assumptions
    of `greenlint estimate`.
    """

    code = "GL302"
    name = "model-over-budget"
    summary = "Model's estimated parameters, FLOPs or training energy exceed the configured budget"
    tactics = ("T12", "T8")
    severity = Severity.WARNING
    confidence = Confidence.HIGH

    def __init__(self, limits: Budget | None = None, energy: Assumptions | None = None) -> None:
        self.limits = limits
        self.energy = energy

    def check(self, project: Project) -> Iterator[Finding]:
        from greenlint.config import ConfigError

        limits, tables = self._settings(project)
        if not limits.configured:
            return
        try:
            models = model_settings(tables.get("models"))
            mixed = any(ml.precision_evidence(f) for f in project.python_files())
            chosen = self.energy or assumptions(tables.get("energy"), mixed_precision=mixed)
        except AssumptionError as error:
            raise ConfigError(str(error)) from None
        for estimate in estimate_project(project, models):
            row = cost_row(estimate, chosen)
            over = []
            if limits.max_params is not None and estimate.params is not None and estimate.params > limits.max_params:
                over.append(f"{count(estimate.params)} parameters > max-params {count(limits.max_params)}")
            if limits.max_gflops is not None and estimate.macs is not None and estimate.macs / 1e9 > limits.max_gflops:
                over.append(f"{estimate.macs / 1e9:.3g} GFLOPs per sample (fvcore convention, multiply-adds) > max-gflops {limits.max_gflops:g}")
            if limits.max_training_kwh is not None and row.training_kwh is not None and row.training_kwh > limits.max_training_kwh:
                over.append(f"training {kwh(row.training_kwh)} on {chosen.device.name} > max-training-kwh {limits.max_training_kwh:g} kWh")
            if over:
                message = f"{estimate.name} is over the model budget: " + "; ".join(over)
                yield self.finding(estimate.path, estimate.line, estimate.column, message, FIX, SAVING)

    def _settings(self, project: Project) -> tuple[Budget, dict]:
        """The budget given to the rule, else the one in the project's configuration."""
        from greenlint.config import ConfigError, load_settings

        tables: dict = {}
        try:
            settings = load_settings(Path(project.root))
            tables = settings.tables
            limits = self.limits or budget(tables.get("budget"))
        except AssumptionError as error:
            raise ConfigError(str(error)) from None
        return limits, tables
