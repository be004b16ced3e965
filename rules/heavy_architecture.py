"""GL202 heavy-architecture: a large model variant where a lighter sibling exists."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from greenlint.analyzer import long_run, ml
from greenlint.analyzer.cost.published import GMACS_CONVENTION, NOT_MODELS, compute_ratio, describe, lighter, lookup
from greenlint.analyzer.facts import Call, FileFacts
from greenlint.analyzer.project import Project
from greenlint.findings import Finding, Saving, Severity
from greenlint.rules.base import Rule

SAVING_SOURCE = "published parameter and compute counts; Yarally et al., CAIN 2023 (halving network complexity halves training energy)"


def chosen_architecture(call: Call) -> tuple[str, dict[str, Any]] | None:
    """The literal architecture a call builds: torchvision, timm or Hugging Face names."""
    name = call.name
    if name.startswith("torchvision.models.") and "." not in name.removeprefix("torchvision.models."):
        found = lookup(call.method)
        if found is not None:
            return call.method, found
    literal = None
    if call.method == "from_pretrained" and call.receiver.endswith(NOT_MODELS):
        return None
    if name.startswith(("torchvision.models.get_model", "timm.create_model")) or call.method == "from_pretrained":
        literal = call.argument("pretrained_model_name_or_path", 0) if call.method == "from_pretrained" else call.argument("model_name", 0)
    elif name.endswith("transformers.pipeline"):
        literal = call.keyword("model")
    if literal is not None and literal.kind == "literal" and isinstance(literal.literal, str):
        found = lookup(literal.literal)
        if found is not None:
            return literal.literal, found
    return None


class HeavyArchitecture(Rule):
    """
    ## What it does
    Finds a large architecture chosen where a lighter sibling exists: torchvision's
    `resnet101`/`resnet152`, `wide_resnet*`, `vgg16`/`vgg19`, `vit_l_*`/`vit_h_14`,
    `convnext_large`; timm names of the same; Hugging Face `bert-large-*`, `roberta-large`,
    `gpt2-large`/`gpt2-xl` and `t5-large` and larger. The message gives the parameters
    and GMACs per sample of the choice and of the lighter sibling, from the same published
    table `greenlint estimate` uses (GMACs are 10^9 multiply-adds, what torchvision and
    fvcore call GFLOPS; text models are quoted per 128-token sequence, from their
    configuration). Names that come from a command-line option or a config are not
    flagged: the choice is the user's at run time, also when the code picks the variant in
    a branch on its name (`if network == "resnet152":`), and when the code around the call
    is named for the variant: a class registered as one named option
    (`class ResNet152ImageEncoder`) or a script that exists for it
    (`extract_resnet152_feat.py`, the features a published model was trained on). Nor is a large variant in a file that
    builds its lighter sibling too (a model zoo's `vit_large` factory beside its
    `vit_base` one offers both), nor one in a benchmark or profiling script (named so),
    which needs a heavy workload to measure. Nor is a VGG taken for its
    convolutional trunk (`vgg19(...).features`, `vgg.features.children()`) or frozen:
    perceptual and style losses are defined on VGG's layers, and a lighter classifier has
    none of them. Nor is a network built only to hand its weights to another
    (`model.init_vgg16_params(vgg16)`): FCN and SegNet are defined on VGG's layers.
    Nor is a model that a script's or notebook's top-level code uses only outside any
    loop, in a file that trains nothing (one prediction shown or explained), or a Hugging
    Face `pipeline` used so, which never trains, whatever else the file trains (a chapter
    comparing `t5-large` and BART on one article before it fine-tunes PEGASUS): it costs a
    few forward passes. Findings are reported by default only where the code shows a long
    run (two agreeing signs, as for the speed rules).

    ## Why it costs energy
    Compute per sample grows with model size, and so does every epoch of training and
    every request served. For many tasks the smaller sibling reaches nearly the same
    accuracy, especially when fine-tuned, for a fraction of the energy.

    ## Example
    ```python
    model = torchvision.models.resnet152(weights="DEFAULT")
    ```

    ## Use instead
    ```python
    model = torchvision.models.resnet50(weights="DEFAULT")  # resnet152 needs 2.8x the compute per image
    ```
    Measure both on your validation set; keep the large model only if the gain pays for it.

    ## Evidence
    Parameter and GFLOPS figures from torchvision's weights table and the Hugging Face model
    cards. Yarally et al., CAIN 2023: reducing network complexity can halve training
    energy. Tactic T7 (choose a lightweight algorithm alternative) of Järvenpää et al.,
    ICSE-SEIS 2024, doi:10.1145/3639475.3640111.
    """

    code = "GL202"
    name = "heavy-architecture"
    summary = "Large model variant chosen where a lighter sibling exists"
    tactics = ("T7",)
    severity = Severity.INFO

    def check(self, project: Project) -> Iterator[Finding]:
        for facts in project.python_files():
            if _frozen(facts):
                continue  # a frozen feature extractor (e.g. VGG for a perceptual loss) is a design choice
            built = [(call, chosen) for call in facts.calls if (chosen := chosen_architecture(call)) is not None]
            offered = {found["name"] for _, (_, found) in built}
            for call, chosen in built:
                light = lighter(chosen[1])
                if light is None or light["name"] in offered:
                    continue  # a model zoo that builds the lighter sibling too leaves the choice to its users
                if ml.is_benchmark(facts, call.scope):
                    continue  # a benchmark needs a heavy workload to measure (AMP against fp32)
                spelled, heavy = chosen
                if _vgg_feature_trunk(facts, call, heavy["name"]) or _weight_source(facts, call):
                    continue
                if _branch_named(call, heavy["name"]):
                    continue  # `if network == "resnet152":` picks the variant by a name given at run time
                if _named_for(facts, call, heavy["name"]):
                    continue  # class ResNet152ImageEncoder, extract_resnet152_feat.py: the variant is the subject
                factor, what = compute_ratio(heavy, light)
                message = (f"{describe(heavy, spelled)} needs {factor:.1f}x the {what} of its lighter sibling "
                           f"{describe(light)}; {GMACS_CONVENTION}")
                fix = f"try {light['name']} first and keep {heavy['name']} only if validation accuracy needs it"
                saving = Saving(f"about {factor:.1f}x less {what} with {light['name']}", SAVING_SOURCE)
                finding = self.finding(facts.path, call.line, call.column, message, fix, saving)
                if _run_once(facts, call):
                    continue
                yield long_run.graded(finding, long_run.evidence(project, facts, corroborated=True))


def _vgg_feature_trunk(facts: FileFacts, call: Call, architecture: str) -> bool:
    """A VGG taken for its convolutional trunk: ``vgg19(...).features`` or
    ``list(vgg.features.children())[:35]``. Perceptual and style losses are defined on VGG's
    layers, so a lighter classifier is no substitute."""
    if not architecture.startswith("vgg"):
        return False
    if call.target and any(name.startswith(f"{call.target}.features") for name in facts.names):
        return True
    held = next((a for a in facts.assignments if a.line == call.line and a.target == (call.target or a.target)), None)
    return held is not None and held.value.kind not in ("call", "name")  # vgg19(...).features


#: Methods that take another network's weights: ``model.init_vgg16_params(vgg16)``,
#: ``copy_weights(src, dst)``, ``load_pretrained_from(backbone)``.
WEIGHT_TAKERS = re.compile(r"(?i)init|copy|load|transfer|inflate")


def _weight_source(facts: FileFacts, call: Call) -> bool:
    """Is the network built only to hand its weights to another one
    (``model.init_vgg16_params(vgg16)``)? FCN and SegNet are defined on VGG's layers: the
    architecture the user chose fixes the donor, and no lighter donor fits it."""
    if not call.target:
        return False
    return any(other.line != call.line and WEIGHT_TAKERS.search(other.method)
               and any(a.value.kind == "name" and a.value.text == call.target for a in other.args)
               for other in facts.calls if other.scope == call.scope)


def _frozen(facts: FileFacts) -> bool:
    """The file freezes parameters: the network is used as a fixed feature extractor."""
    if any(c.method == "requires_grad_" and c.positional(0) is not None and c.positional(0).literal is False for c in facts.calls):
        return True
    return any(a.target.endswith(".requires_grad") and a.value.kind == "literal" and a.value.literal is False
               for a in facts.assignments)


def _branch_named(call: Call, name: str) -> bool:
    """Is the call built in a branch taken when a value equals the variant's name
    (``if network == "resnet152":``)? The code then offers the variant as an option; the
    name comes from whoever calls it, a command line or a config."""
    return any(f'"{name}"' in test or f"'{name}'" in test for test in call.conditions)


def _named_for(facts: FileFacts, call: Call, name: str) -> bool:
    """Is the code around the call named for the variant: a class or function
    (``class ResNet152ImageEncoder``, registered as the ``"resnet152"`` encoder) or the
    file itself (``extract_resnet152_feat.py``)? It then exists to offer or to run that
    very variant (one option of a registry, the features a published model was trained
    on), and a lighter sibling would be another option, not a fix."""
    spelled = re.sub(r"[^a-z0-9]", "", name.lower())
    scope = re.sub(r"[^a-z0-9]", "", call.scope.lower())
    stem = re.sub(r"[^a-z0-9]", "", facts.path.rpartition("/")[2].rpartition(".")[0].lower())
    return spelled in scope or spelled in stem


def _run_once(facts: FileFacts, call: Call) -> bool:
    """Is the model used only by a script's or notebook's top-level code, outside any loop,
    in a file that trains nothing (one prediction shown or explained)? It then costs what
    a few forward passes cost, whatever its size: a lighter sibling saves nothing worth
    a change. A Hugging Face ``pipeline`` never trains, so a notebook that fine-tunes
    another model later (a chapter comparing ``gpt2-xl``, ``t5-large`` and BART on one
    article, then training PEGASUS) still runs it once. The uses counted are those before
    the name is bound again (``pipe = pipeline(...)`` once per model compared)."""
    if not call.target or call.scope:
        return False
    if not call.name.endswith("transformers.pipeline"):
        if ml.step_loops(facts) or any((c.method in ("fit", "train") and c.receiver) or c.method.endswith("Trainer")
                                       for c in facts.calls):
            return False  # model.fit(...), Trainer(model=model).train(): a framework trains it
    rebound = min((a.line for a in facts.assignments if a.target == call.target and not a.scope and a.line > call.line),
                  default=None)
    uses = [c for c in facts.calls if (rebound is None or c.line < rebound) and (
        c.name == call.target or any(a.value.kind == "name" and a.value.text == call.target for a in c.args))]
    return bool(uses) and all(not c.scope and c.loop is None for c in uses)
