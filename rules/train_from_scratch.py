"""GL301 train-from-scratch: a known architecture trained without its published weights."""

from __future__ import annotations

import re
from collections.abc import Iterator

from greenlint.analyzer import long_run, ml
from greenlint.analyzer.cost.published import GMACS_CONVENTION, VISION_FAMILIES, describe, lookup
from greenlint.analyzer.cost.energy import Assumptions
from greenlint.analyzer.cost.quotes import project_assumptions, project_costs, training_at
from greenlint.analyzer.cost.report import CostRow, kwh
from greenlint.analyzer.facts import Call, FileFacts
from greenlint.analyzer.project import Project
from greenlint.findings import Finding, Saving, Severity
from greenlint.rules.base import Rule

SAVING = Saving(
    text="fine-tuning pretrained weights typically needs a fraction of the epochs of training from random initialisation",
    source="Shanbhag et al., EASE 2022 (Pre-trained networks pattern), doi:10.1145/3530019.3530035",
)
PRETRAINING = re.compile(r"pretrain|pre_train|imagenet|simclr|byol|moco|contrastive|self_supervised|dino", re.IGNORECASE)
#: Tiny images where ImageNet weights rarely help; training these from scratch is the norm.
SMALL_IMAGES = re.compile(r"mnist|cifar|svhn", re.IGNORECASE)
DATA_SOURCES = ("torchvision.datasets.", "torch.utils.data.DataLoader", "datasets.load_dataset", "ImageFolder")
#: Language-model objectives built from a config are pretraining, not fine-tuning.
PRETRAINING_HEADS = ("ForCausalLM", "ForMaskedLM", "ForPreTraining", "LMHeadModel", "Model")
#: Forecasting transformers sized for one data set (its lags, time features and variates):
#: the hub has no general weights that would fit another series.
PER_DATA_SET = ("TimeSeriesTransformer", "Informer", "Autoformer")
HF_MODEL_CLASS = re.compile(r"^(Auto\w*Model\w*|\w+(Model|For\w+))$")


class TrainFromScratch(Rule):
    """
    ## What it does
    Finds a well-known architecture that has published pretrained weights built without
    them in code that trains it: torchvision constructors with no `weights` (or
    `weights=None`, `pretrained=False`), `timm.create_model(..., pretrained=False)` or
    without `pretrained`, and Hugging Face models built from a config (`from_config`, or a
    model class called with a config). Custom `nn.Module` classes, Hugging Face's
    forecasting transformers (`TimeSeriesTransformer`, `Informer`, `Autoformer`: each is
    sized for its data set's lags and features, and no published weights fit another
    series), code that loads weights
    itself (`load_state_dict`, `from_pretrained` elsewhere in the file) and code that is
    explicitly pretraining (ImageNet training, names with "pretrain", masked-language-model
    collators) are not flagged. The message gives the architecture's published parameters
    and GMACs per sample (10^9 multiply-adds, torchvision's and fvcore's "GFLOPS") and,
    where `greenlint estimate` can compute it from the code (dataset size and epochs or
    steps known), the energy of the training run that the published weights would
    largely save, with the device it assumes.

    ## Why it costs energy
    Training from random initialisation repeats work already done and published: the
    pretrained weights encode general features that a fine-tune adapts in a few epochs,
    where training from scratch needs many more epochs, and often more data, to reach the
    same accuracy.

    ## Example
    ```python
    model = torchvision.models.resnet50(num_classes=5)
    ```

    ## Use instead
    ```python
    model = torchvision.models.resnet50(weights=torchvision.models.ResNet50_Weights.DEFAULT)
    model.fc = torch.nn.Linear(model.fc.in_features, 5)
    ```

    ## Evidence
    Shanbhag et al., "Towards a Catalog of Energy Patterns in Deep Learning Development",
    EASE 2022 (pre-trained networks). Tactic T16 (consider transfer learning) of
    Järvenpää et al., ICSE-SEIS 2024, doi:10.1145/3639475.3640111.
    """

    code = "GL301"
    name = "train-from-scratch"
    summary = "Known architecture trained without its published pretrained weights"
    tactics = ("T16",)
    severity = Severity.INFO

    def check(self, project: Project) -> Iterator[Finding]:
        costs: dict[str, list[CostRow]] = {}  # by file: only the models a finding's file builds
        chosen: Assumptions | None = None
        for facts in project.python_files():
            if not _trains(project, facts) or _pretraining_or_loading(facts) or not _real_task_data(facts):
                continue
            for call in facts.calls:
                spelled = _scratch_build(call)
                if spelled is None:
                    continue
                chosen = chosen or project_assumptions(project)
                if facts.path not in costs:
                    costs[facts.path] = project_costs(project, chosen, facts.path)
                message = _message(spelled, training_at(costs[facts.path], facts.path, call.line), chosen)
                fix = "start from the published weights (e.g. weights=\"DEFAULT\", pretrained=True, from_pretrained) and fine-tune"
                finding = self.finding(facts.path, call.line, call.column, message, fix, SAVING)
                yield long_run.graded(finding, long_run.evidence(project, facts, corroborated=True))


def _message(spelled: str, trained: CostRow | None, chosen: Assumptions) -> str:
    """What is built, its published size, and the training energy it spends from scratch."""
    known = lookup(spelled)
    message = f"{describe(known, spelled) if known is not None else spelled} is built without pretrained weights and trained from random initialisation"
    if trained is not None and trained.training is not None and trained.estimate.training is not None:
        samples = trained.estimate.training.total_samples or 0
        message += (f"; this training ({samples:,} samples) is estimated at ~{kwh(trained.training.kwh)} on "
                    f"{chosen.device.name} ({chosen.precision}, PUE {chosen.pue:g}; `greenlint estimate` lists every assumption), "
                    "most of which fine-tuning the published weights avoids")
    return f"{message} ({GMACS_CONVENTION})" if known is not None else message


def _scratch_build(call: Call) -> str | None:
    """The architecture name when the call builds it with random weights, else None."""
    name = call.name
    if name.startswith("torchvision.models.") and VISION_FAMILIES.match(call.method):
        if call.has_unpacking:
            return None
        given = call.keyword("weights") or call.keyword("pretrained") or call.positional(0)
        if given is None or (given.kind == "literal" and given.literal in (None, False)):
            return call.method
        return None
    if name == "timm.create_model":
        model = call.argument("model_name", 0)
        pretrained = call.keyword("pretrained")
        if model is None or model.kind != "literal" or call.has_unpacking:
            return None
        if pretrained is None or (pretrained.kind == "literal" and pretrained.literal is False):
            return str(model.literal)
        return None
    if name.startswith("transformers.") and (call.method == "from_config" or HF_MODEL_CLASS.match(call.method)):
        if call.method == "from_config" or any(a.value.kind == "name" and "config" in a.value.text.lower() for a in call.args):
            owner = call.receiver.rpartition(".")[2] if call.method == "from_config" else call.method
            if not owner.endswith(PRETRAINING_HEADS) and not owner.startswith(PER_DATA_SET):
                return owner
    return None


def _trains(project: Project, facts: FileFacts) -> bool:
    if ml.step_loops(facts):
        return True
    return any(c.method in ("fit", "train") and c.receiver for c in facts.calls)


def _real_task_data(facts: FileFacts) -> bool:
    """A real dataset of images large enough for published weights to transfer."""
    if any(SMALL_IMAGES.search(name) for name in facts.names) or any(SMALL_IMAGES.search(s) for s in facts.strings):
        return False
    return any(name.startswith(DATA_SOURCES) or name.endswith(DATA_SOURCES) for name in facts.names)


def _pretraining_or_loading(facts: FileFacts) -> bool:
    if PRETRAINING.search(facts.path) or any(PRETRAINING.search(f.name) for f in facts.functions):
        return True
    if any(PRETRAINING.search(s) for s in facts.strings if len(s) < 40) or "transformers.DataCollatorForLanguageModeling" in facts.names:
        return True
    return any(
        c.method in ("load_state_dict", "load_checkpoint")
        or ml.loads_pretrained_model(c)
        for c in facts.calls
    )
