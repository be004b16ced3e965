"""What part each module plays in an ML system: data preparation, model, training,
evaluation, inference/export; and which modules are entry points.

Roles let a reviewer read a project's shape at a glance and let project-level rules
anchor findings at the right file. A module may have several roles, or none
(``library``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from greenlint.analyzer import ml
from greenlint.analyzer.facts import FileFacts

ROLES = ("data-preparation", "model", "training", "evaluation", "inference/export", "config")
_DATA_NAME = re.compile(r"(^|[/_])(data|dataset|datasets|prepare|preprocess|preprocessing|download|features?)([/_.]|$)")
_EVAL_NAME = re.compile(r"(^|_)(eval|evaluate|evaluation|validate|validation|test|predict|inference|infer)(_|$)")
EXPORTS = ("torch.onnx.export", "torch.jit.save", "torch.export.save", "torch.onnx.dynamo_export")
SERVING = frozenset({"fastapi", "flask", "gradio", "bentoml", "litserve", "streamlit"})
DATA_WRITES = frozenset({"to_csv", "to_parquet", "save_to_disk", "to_json", "savez", "savez_compressed"})


@dataclass(frozen=True, slots=True)
class ModuleRoles:
    path: str
    module: str
    roles: tuple[str, ...]
    entry_point: bool


def roles_of(facts: FileFacts) -> ModuleRoles:
    """The roles of one analysed file."""
    if facts.kind == "config":
        return ModuleRoles(facts.path, facts.module, ("config",), False)
    found: list[str] = []
    bases = {base.rpartition(".")[2] for cls in facts.classes for base in cls.bases}
    if _DATA_NAME.search(facts.path.lower()) or "Dataset" in bases or any(c.method in DATA_WRITES for c in facts.calls):
        found.append("data-preparation")
    if bases & {"Module", "LightningModule", "PreTrainedModel"}:
        found.append("model")
    trains = bool(ml.step_loops(facts)) or any(
        c.method == "fit" and c.receiver or (c.method == "train" and "trainer" in c.receiver.lower()) for c in facts.calls
    )
    if trains:
        found.append("training")
    if any(_EVAL_NAME.search(f.name.lower()) for f in facts.functions) or (
        not trains and any(c.method == "eval" and not c.args and c.receiver for c in facts.calls)
    ):
        found.append("evaluation")
    if any(c.name in EXPORTS for c in facts.calls) or facts.imported_roots & SERVING:
        found.append("inference/export")
    return ModuleRoles(facts.path, facts.module, tuple(found), facts.entry_point)
