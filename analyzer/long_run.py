"""What in the code shows that a training run is long.

Checkpoints, mixed precision, loader workers and fewer host syncs save time in proportion
to the run: hours on a long one, seconds on a tutorial's. Most training code does not say
how long it runs, and the rules for that advice (GL401, GL402, GL501, GL502) report at
``medium`` confidence only where something here shows a long run, and at ``low`` where
nothing does (``greenlint check`` shows ``medium`` and up unless told otherwise):

- a notebook's outputs record the training's duration (``recorded_runtime``);
- the loops say so: 20 or more epochs around a step loop, or 50,000 or more iterations
  (for checkpoints only the iterations: an epoch count alone does not say how long a
  crash sets the run back; nor in a notebook whose outputs record no run, cleared or
  never saved: notebooks are mostly tutorials and experiments, and their 20 or 50
  epochs mostly pass over a demo's data in minutes);
- a large data set is named (ImageNet, CelebA, COCO, WMT, enwik8, RedPajama...), unless a lone
  step loop runs a known, smaller number of steps (3,000 steps sample enwik8, they do
  not pass over it); pretrained weights named ``"imagenet"`` are no such data set, nor
  is one option among several (a branch ``elif args.dataset == "lsun":``, a help text
  ``"cifar10 | lsun | imagenet"``), nor a constant's name exported as a string
  (``"IMAGENET_STATS"`` in ``__all__``). Not for host syncs (GL502): the model that
  a large data set is trained on mostly takes long steps, beside which one sync is a sliver;
- a large pretrained checkpoint is fine-tuned (``t5-large``, ``flan-t5-xl``, a 7B model;
  a tokenizer or a config loaded from one is not a fine-tune);
- a model of ten million parameters or more is defined or built (the cost model's
  count; not for checkpoints: a model's size says how long a step is, not how many
  steps a crash loses, and a 160 M-parameter GPT trained on a short story is done in
  minutes), unless the optimizers train only input tensors (style transfer optimises an
  image through a frozen VGG) or only a model's head (``model.classifier.parameters()``:
  a frozen backbone with a new classifier, a run of minutes on a few thousand images).

Most rules ask for more than one of these (``corroborated``): a fact (a recorded
duration, 50,000 or more iterations) or two signs that agree (an epoch count with a large
data set, checkpoint or model, or two of those). One sign alone was wrong about as often
as right on real repositories: 20 epochs of a small CNN, a ResNet-50 probed for minutes,
a named data set sampled a slice at a time.

Where every data set the training loads has a known size (``small_data``: bundled sets,
GLUE tasks, a hub split sliced to ``train[:150]``, a Trainer handed a split selected to
``select(range(1000))``, Cora), the examples processed in all
decide first: epochs x examples under 200,000 is a short run whatever the model.

GPU advice for a program that uses the GPU only when a ``store_true`` flag asks for it
(``--cuda``, ``--accel``) is low confidence whatever the run's length: by default it runs
on the CPU.

Spreading training over GPUs is no such sign: the distributed code of tutorials and
libraries mostly demonstrates the mechanism on random batches for a few steps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from greenlint.analyzer import ml, model_size, recorded_runtime, run_length, small_data
from greenlint.analyzer.facts import Call, FileFacts, Loop, Value
from greenlint.analyzer.project import Project, function_key
from greenlint.findings import Confidence, Finding

#: At least this many epochs around a step loop is a long run.
LONG_EPOCHS = 20
#: At least this many iterations of one loop is a long run (steps, or epochs): 50,000
#: steps take a quarter of an hour even at 50 steps a second. Toy scripts count their
#: steps in round tens of thousands (10,000 steps of a character LSTM take minutes).
LONG_ITERATIONS = 50_000
#: At least this many steps of a framework trainer (``max_steps``) is a long run: each
#: is a forward and backward pass of a pretrained transformer, most of a second or more.
LONG_TRAINER_STEPS = 10_000
#: Fewer training examples processed than this (examples x epochs) is a short run for
#: any model up to BERT-base: minutes on one GPU.
SHORT_RUN_SAMPLES = 200_000
#: An inner step loop of at most this many iterations accumulates gradients for one step.
MAX_ACCUMULATION = 64
#: Calls that spread training over several GPUs or machines.
DISTRIBUTED_CALLS = frozenset(
    {"DistributedDataParallel", "DataParallel", "FullyShardedDataParallel", "fully_shard", "init_process_group",
     "FSDPStrategy", "DDPStrategy", "DeepSpeedStrategy"}  # the last three: Lightning's and Fabric's strategies
)
#: A wrapper of the DataParallel family by another name: ``DataParallelWithCallback`` (the
#: synchronized-BatchNorm wrapper GAN and segmentation code vendors), ``MMDataParallel``,
#: ``BalancedDataParallel``; not ``DistributedDataParallelKwargs``, a bag of options.
DATA_PARALLEL_WRAPPER = re.compile(r"^[A-Za-z]*DataParallel(?:With[A-Za-z]+)?$")
#: Data sets whose training runs take GPU-hours or more, as named in strings (also as
#: part of a name: ``celeba_gan``, ``coco2017``, but not ``cocoa``, nor the small
#: ``mini-imagenet`` and ``tiny-imagenet`` subsets).
LARGE_DATA_SETS = re.compile(
    r"(?i)(?<![a-z])(?<!mini[-_ ])(?<!tiny[-_ ])(imagenet|celeba|coco|lsun|ffhq|wmt\d*|openwebtext|laion|librispeech|cityscapes|kinetics|places365"
    r"|enwik8|redpajama|slimpajama|fineweb)(?![a-z])(?![-_ ]?(?:norm|mean|std|stat|class|label))"
)  # not "imagenet-norm", "imagenet_mean", "imagenet_class_index.json": statistics and labels named after the set
#: A constant's name as a string (``__all__ = ["IMAGENET_STATS", ...]``): the normalisation
#: statistics a package exports, no data set the program trains on.
CONSTANT_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
#: A comparison with a string literal in a condition: a branch for one option.
CHOICE_TEST = re.compile(r"==\s*['\"]([^'\"]+)['\"]")
#: A membership test in a literal list or tuple: ``args.dataset in ["imagenet", "folder"]``.
CHOICE_LIST = re.compile(r"\bin\s*[\[(]([^\])]*)[\])]")
#: A help text listing options (``"cifar10 | lsun | imagenet"``, ``"mnist, celeba or lsun"``).
OPTION_LIST = re.compile(r"\w\s*\|\s*\w|\w, \w+(?:,| or )")
#: Keywords whose string names pretrained weights (and so the data set they came from).
WEIGHT_KEYWORDS = frozenset({"weights", "pretrained", "pretrained_weights", "encoder_weights"})
#: torchvision's large data sets, by class.
LARGE_TORCHVISION_SETS = frozenset(
    {"ImageNet", "CelebA", "CocoDetection", "CocoCaptions", "LSUN", "Cityscapes", "Kinetics", "Places365"}
)
#: Attributes that hold a model's classification head: an optimizer over their
#: parameters alone trains a new head on a frozen backbone.
HEAD_ATTRIBUTES = frozenset({"classifier", "fc", "head", "heads", "last_linear", "top"})
#: Families whose "large" variants are small models (MobileNetV3-Large: 5.5 M parameters).
SMALL_FAMILIES = re.compile(r"(?i)mobilenet|mnasnet|ghostnet|efficientnet[-_]?lite")
#: A hub checkpoint of a large variant: ``roberta-large``, ``google/flan-t5-xl``, ``Llama-2-7b-hf``.
_LARGE_VARIANT = re.compile(r"(?i)(?:^|[-_/])(?:large|xl|xxl|\d+(?:\.\d+)?b\d*)(?:$|[-_])")


def evidence(project: Project, facts: FileFacts, loop: Loop | None = None,
             minutes: float = recorded_runtime.SHORT_RUN_MINUTES, epochs: int | None = LONG_EPOCHS,
             scale: bool = True, budget: int | None = None, line: int | None = None,
             by_model: bool = True, data_sets: bool = True, corroborated: bool = False) -> str | None:
    """Why the run behind ``loop`` (or, without one, this file's training) is long, in a
    few words; None when the code does not show it. A notebook's recorded duration is a
    fact and decides alone: ``minutes`` or more is long. ``epochs=None`` leaves epoch
    counts out (20 epochs of a small model on a small set still take minutes);
    ``scale=False`` leaves out the size of the data set and model, keeping only what
    the loops count (a large checkpoint fine-tuned for ten steps is a short run);
    ``by_model=False`` leaves out the size of the model alone (it says how long a step
    takes, not how many there are: what a checkpoint guards), ``data_sets=False`` the
    data set named (a large data set mostly comes with a model whose steps are long,
    next to which a per-step sync is a sliver).
    ``corroborated=True`` asks for a fact (a recorded duration, 50,000 or more iterations)
    or two signs that agree: an epoch count with a large data set, a large checkpoint or a
    large model, or two of those. One sign alone is a guess that was wrong as often as
    right on real repositories (20 epochs of a small CNN, a ResNet-50 probed for minutes,
    a named data set the code samples a slice of).
    ``budget`` is the epoch count a framework call sets (``num_train_epochs=5``), ``line``
    where that call is. In a notebook the run is the one recorded in the cell of the
    loop or call when that cell records one, else the whole notebook's record, unless the
    run is at the top level of a cell that records nothing (the notebook's record is of
    its other runs, and the code alone is weighed).

    Where every data set has a known size, the examples processed in all decide first:
    fewer than ``SHORT_RUN_SAMPLES`` (FUNSD's 149 forms for 100 epochs, MRPC for five) is
    a short run whatever the model; and a small set whose epochs the code does not show
    is no evidence by its model's size alone."""
    anchor = loop.line if loop is not None else line
    if facts.recorded_minutes is not None and not _runs_in_a_silent_cell(facts, loop, anchor):
        here = recorded_runtime.recorded_for_line(facts, anchor) if anchor is not None else None
        recorded = here if here is not None else facts.recorded_minutes
        if recorded >= minutes:
            where = "this cell" if here is not None else "the notebook"
            return f"{where} records {_duration(recorded)} of training"
        return None
    if facts.cells:
        epochs = None  # a notebook that records no run: its epoch count alone mostly sets a demo
    counted = _counted(project, facts, loop, epochs)
    if few_examples(project, facts, counted.epochs if counted.epochs is not None else budget):
        return None
    examples = small_data.training_examples(project, facts)
    if examples is not None and examples <= small_data.SMALL_EXAMPLES:
        scale = False
    if corroborated:
        if counted.reason is None and budget is not None and epochs is not None and budget >= epochs:
            counted = _Counted(f"{budget} epochs", budget)  # a framework call's budget is a count like a loop's
        return _corroborated(project, facts, counted, scale, data_sets and counted.steps is None, by_model)
    if counted.reason is not None or not scale:
        return counted.reason
    data_sets = data_sets and counted.steps is None  # a fixed number of steps samples the data set, whatever its size
    if not (data_sets or by_model):
        return None
    # demos of DDP or FSDP run ten steps: distribution alone is no evidence
    return project.derived(f"long-run evidence (data sets {data_sets}, model {by_model})", facts,
                           lambda: at_scale(project, facts, distributed=False, data_sets=data_sets, by_model=by_model))


def _corroborated(project: Project, facts: FileFacts, counted: _Counted, scale: bool, data_sets: bool,
                  by_model: bool) -> str | None:
    """A fact (iterations counted) or two agreeing signs of a long run, in a few words."""
    if counted.reason is not None and counted.epochs is None:
        return counted.reason  # 50,000 or more iterations: a fact, not a sign
    signs = [counted.reason] if counted.reason is not None else []
    if scale:
        signs += project.derived(f"scale signs (data sets {data_sets}, model {by_model})", facts,
                                 lambda: scale_signs(project, facts, data_sets=data_sets, by_model=by_model))
    return ", ".join(signs) if len(signs) >= 2 else None


def scale_signs(project: Project, facts: FileFacts, *, data_sets: bool = True, by_model: bool = True) -> list[str]:
    """Every sign of training at scale, one per kind: a large data set named, a large
    checkpoint fine-tuned or else a model of ten million parameters or more (the size of
    a fine-tuned checkpoint is the same sign again)."""
    signs = []
    if data_sets:
        signs.append(_program_scale(project, facts, False, False, True, fine_tunes=False))
    fine_tune = _program_scale(project, facts, False, False, False)
    signs.append(fine_tune)
    if by_model and fine_tune is None:  # a fine-tuned checkpoint's size is no second sign: it is the same model
        # the model of the file, or of the scripts that import it (``data.py`` feeds ``train.py``'s)
        users = [facts, *(project.files[path] for path in sorted(project.importers.get(facts.module, ())))]
        signs.append(next((found for user in users if (found := at_scale(
            project, user, distributed=False, data_sets=False, fine_tunes=False)) is not None), None))
    return [sign for sign in signs if sign is not None]


def config_signs(facts: FileFacts) -> list[str]:
    """Signs of scale that a config file names in its values: a large data set, a large
    checkpoint (``model_name_or_path: google/flan-t5-xl``). A config holds no loop and no
    model code, so these and its own epoch count are all it can show of a run's length."""
    values = sorted({entry.value for entry in facts.config if isinstance(entry.value, str)})
    signs = []
    data_set = next((m.group(1) for text in values if (m := LARGE_DATA_SETS.search(text)) is not None), None)
    if data_set is not None:
        signs.append(f"the {data_set} data set")
    checkpoint = next((text for text in values if _is_large_checkpoint(text)), None)
    if checkpoint is not None:
        signs.append(f"the checkpoint {checkpoint}")
    return signs


def few_examples(project: Project, facts: FileFacts, epochs: int | None) -> bool:
    """Do ``epochs`` passes over the file's data sets, all of known size, process fewer
    than ``SHORT_RUN_SAMPLES`` examples (150 images for 50 epochs, Reuters for 20)?"""
    if epochs is None:
        return False
    examples = small_data.training_examples(project, facts)
    return examples is not None and epochs * examples < SHORT_RUN_SAMPLES


def graded(finding: Finding, reason: str | None, gpu_on_request: bool = False) -> Finding:
    """The finding with the reason its run is long appended, at the rule's confidence; or,
    without a reason, at low confidence: true of the code, its payoff unknown. GPU
    advice for a program that uses the GPU only when a flag asks (``--cuda``) is low
    confidence too, and says so: by default it runs on the CPU."""
    if gpu_on_request:
        suffix = f"long run: {reason}; " if reason is not None else ""
        return replace(finding, confidence=Confidence.LOW,
                       message=f"{finding.message} ({suffix}the GPU is used only when a flag asks for it)")
    if reason is None:
        return replace(finding, confidence=Confidence.LOW)
    return replace(finding, message=f"{finding.message} (long run: {reason})")


def at_scale(project: Project, facts: FileFacts, *, any_checkpoint: bool = False,
             distributed: bool = True, data_sets: bool = True, by_model: bool = True,
             fine_tunes: bool = True) -> str | None:
    """Training at scale, in a few words: what ``_program_scale`` finds, or else (unless not
    ``by_model``) a model of ten million parameters or more defined or built in this
    file; None when neither."""
    scale = _program_scale(project, facts, any_checkpoint, distributed, data_sets, fine_tunes)
    if scale is not None or not by_model:
        return scale
    if _optimizes_inputs_only(facts) or _trains_head_only(facts):
        return None  # style transfer, a new head on a frozen backbone: the model's size is no measure
    params = model_size.largest_model_parameters(project, facts)
    if params is not None and params >= model_size.LARGE_PARAMETERS:
        return f"a model of {params / 1e6:.1f} M parameters"
    return None


def _runs_in_a_silent_cell(facts: FileFacts, loop: Loop | None, line: int | None) -> bool:
    """Does the training run at the top level of a notebook cell whose outputs record no
    time, in a notebook whose other cells do? Then the notebook's record is of its other
    runs (a chapter's 13 hours, beside a two-sentence ``Trainer`` demo), and says nothing
    of this one. A loop in a function runs where the function is called, and the
    notebook's record stays the best word on it."""
    if line is None or not facts.cells or recorded_runtime.recorded_for_line(facts, line) is not None:
        return False
    if loop is not None:
        return loop.scope == ""
    return any(call.line == line and call.scope == "" for call in facts.calls)


def shown_short(project: Project, facts: FileFacts, minutes: float = recorded_runtime.SHORT_RUN_MINUTES) -> bool:
    """Does the code show the run to be short: a notebook whose outputs record its training
    as under ``minutes``, or random tensors as its only data?"""
    return recorded_runtime.recorded_under(facts, minutes) or small_data.trains_on_synthetic_data(project, facts)


def _optimizes_inputs_only(facts: FileFacts) -> bool:
    """Are all the file's optimizers built over a literal list of tensors, none over a
    model's ``parameters()`` (``torch.optim.Adam([target])`` optimises an image)?"""
    optimizers = ml.optimizers_built(facts)
    return bool(optimizers) and all(
        c.args and c.args[0].value.kind == "list" and all(item.kind == "name" for item in c.args[0].value.items)
        for c in optimizers)


def _trains_head_only(facts: FileFacts) -> bool:
    """Are all the file's optimizers built over a model's head alone
    (``optim.SGD(vgg16.classifier.parameters())``, ``model.fc.parameters()``)? The rest
    of the model is frozen: its forward pass runs, but nothing of it is trained."""
    optimizers = ml.optimizers_built(facts)
    return bool(optimizers) and all(c.args and _head_parameters(c.args[0].value) for c in optimizers)


def _head_parameters(value: Value) -> bool:
    parts = value.text.split(".")
    return value.kind == "call" and len(parts) >= 3 and parts[-1] == "parameters" and parts[-2] in HEAD_ATTRIBUTES


def _program_scale(project: Project, facts: FileFacts, any_checkpoint: bool, distributed: bool,
                   data_sets: bool, fine_tunes: bool = True) -> str | None:
    """Distributed training (unless not ``distributed``), a large data set or a large
    pretrained checkpoint (any checkpoint with ``any_checkpoint``), in this file, the
    project modules it imports, or the scripts that import it (one program)."""
    program = {facts.path: facts}
    for user in (facts, *(project.files[path] for path in project.importers.get(facts.module, ()))):
        program.update({f.path: f for f in (user, *project.imported_files(user))})
    for source in program.values():
        found = _scale_in(project, source, any_checkpoint, distributed, data_sets, fine_tunes)
        if found is not None:
            return found
    return None


@dataclass(frozen=True, slots=True)
class _Counted:
    """What the loops show: the long-run reason, if any, the largest epoch count seen
    around a step loop (also one too small to be a reason), and the step count of a lone
    step loop when it is known and short of a reason."""

    reason: str | None = None
    epochs: int | None = None
    steps: int | None = None


def _counted(project: Project, facts: FileFacts, loop: Loop | None, epochs: int | None) -> _Counted:
    """20 or more epochs, or 50,000 or more iterations, in the loops that run ``loop``
    (or in any loop of the file or of the scripts that import it: ``data.py`` makes the
    loaders that ``train.py`` runs for 60 epochs)."""
    if loop is None:
        users = [facts, *(project.files[path] for path in sorted(project.importers.get(facts.module, ())))]
        candidates = [(user, each, _around_a_loop(project, user, each)) for user in users for each in user.loops]
    else:
        chain = ml.run_chain(facts, loop)  # not the loops that repeat whole runs (trials, seeds)
        candidates = [(facts, each, each.id != loop.id or _around_a_loop(project, facts, each)) for each in chain]
        if ml.whole_function_run(chain):
            candidates += [(file, outer, True) for file, outer in _caller_loops(project, facts, loop.scope)]
    most, steps = None, None
    lone = loop is not None and len(candidates) == 1  # the step loop alone: no epoch loop, no caller's loop
    for file, candidate, around_steps in candidates:
        count = run_length.loop_count(project, file, candidate)
        if not isinstance(count, (int, float)):
            continue
        if count >= LONG_ITERATIONS:
            return _Counted(f"{int(count):,} iterations")
        if around_steps:
            most = max(most or 0, int(count))
            if epochs is not None and count >= epochs:
                return _Counted(f"{int(count)} epochs", int(count))  # a loop around the step loop: 20 passes over the data
        elif lone:
            steps = int(count)
    return _Counted(epochs=most, steps=steps)


def _around_a_loop(project: Project, facts: FileFacts, outer: Loop) -> bool:
    """Is the loop an epoch loop: not a step loop itself, but around one, directly or in
    a project function it calls (``for epoch in range(30): train(model, loader)``)?"""
    inner = run_length.step_loops_in(facts, outer)
    if outer.id in inner:
        return False  # the backward pass is in its own body: one step per iteration
    if inner and _steps_outside(facts, outer, inner):
        return False  # the optimizer steps once an iteration: the inner loop accumulates micro-batches
    if inner:  # a few micro-batches of gradient accumulation make one step, not an epoch
        return not all(_accumulation(project, facts, facts.loops[each]) for each in inner)
    for call in facts.calls:
        if call.loop is None or not facts.in_loop(call, outer.id):
            continue
        key = project.resolve_call(facts, call)
        found = project.functions.get(key) if key is not None else None
        if found is not None and _steps_in(found[0], found[1].qualname):
            return True
    return False


def _steps_outside(facts: FileFacts, outer: Loop, inner: set[int]) -> bool:
    """Does an optimizer step in ``outer`` outside its backward loops ``inner``
    (``for i in range(len(batch) // micro): model(...).backward()`` then
    ``optimizer.step()``)? Then each iteration of ``outer`` is one step."""
    return any(ml.is_optimizer_step(c) and facts.in_loop(c, outer.id) and not any(facts.in_loop(c, i) for i in inner)
               for c in facts.calls)


def _accumulation(project: Project, facts: FileFacts, loop: Loop) -> bool:
    count = run_length.loop_count(project, facts, loop)
    return isinstance(count, (int, float)) and count <= MAX_ACCUMULATION


def _steps_in(facts: FileFacts, scope: str) -> bool:
    """Does the function ``scope`` run backward passes in a loop?"""
    return any(c.loop is not None and c.scope == scope and ml.is_backward(c) for c in facts.calls)


def _on_request(project: Project, call: Call) -> bool:
    """Is the call made only when a switch that is off by default is given? ``if
    args.use_multi_gpu: model = nn.DataParallel(model)`` under ``--use_multi_gpu``
    (``store_true``): the default run is on one device, and says nothing of scale."""
    switches = project.derived("opt-in switches", None, lambda: _opt_in_switches(project))
    tested = {name for condition in call.conditions for name in re.findall(r"\w+", condition)}
    return bool(tested & switches)


def _opt_in_switches(project: Project) -> frozenset[str]:
    """The ``store_true`` flags of the project's argument parsers that default to off."""
    names: set[str] = set()
    for call in ml.store_true_arguments(project):
        default = call.keyword("default")
        if default is None or default.literal is False:
            names.update(ml.option_names(call))
    return frozenset(names)


def _caller_loops(project: Project, facts: FileFacts, scope: str) -> list[tuple[FileFacts, Loop]]:
    """Loops around the calls of the function ``scope``: ``for epoch in range(200):
    train_one_epoch(...)`` runs the step loop inside ``train_one_epoch`` 200 times."""
    found: list[tuple[FileFacts, Loop]] = []
    for site in project.call_sites.get(function_key(facts.module, scope), ()):
        if site.call.loop is not None:
            found.extend((site.file, outer) for outer in site.file.loop_chain(site.call.loop))
    return found


def _scale_in(project: Project, facts: FileFacts, any_checkpoint: bool, distributed: bool, data_sets: bool,
              fine_tunes: bool = True) -> str | None:
    for call in facts.calls:
        if (distributed and (call.method in DISTRIBUTED_CALLS or DATA_PARALLEL_WRAPPER.match(call.method))
                and not _on_request(project, call)):
            return f"distributed training ({call.method})"
        if data_sets and _large_torchvision_set(call) and not _chosen(call):
            return f"the {call.method} data set"
    weights = _pretrained_weights(facts)
    choices = project.derived("string choices", facts, lambda: _choices(facts)) if data_sets else frozenset()
    for text in sorted(facts.strings - weights - _not_data_sets(facts) - choices) if data_sets else ():
        match = LARGE_DATA_SETS.search(text)
        if match is not None and not OPTION_LIST.search(text) and not CONSTANT_NAME.match(text):
            return f"the {match.group(1)} data set"
    if not fine_tunes:
        return None
    if any(_fine_tunes(c) for c in facts.calls):
        large = sorted(s for s in facts.strings if _is_large_checkpoint(s))
        if large:
            return f"fine-tunes {large[0]}"
        if any_checkpoint:
            return "fine-tunes a pretrained checkpoint"
    if any_checkpoint and weights:
        return "fine-tunes a pretrained checkpoint"  # EfficientNetB0(weights="imagenet")
    return None


def _chosen(call: Call) -> bool:
    """Is the call in a branch taken for one string choice (``elif args.dataset ==
    "lsun":``)? It is one of several data sets the user may pick."""
    return any(CHOICE_TEST.search(condition) for condition in call.conditions)


def _choices(facts: FileFacts) -> frozenset[str]:
    """Strings a condition compares a value with (``args.dataset == "lsun"``, ``in
    ["imagenet", "folder"]``): options the user may pick, not the data the code trains on."""
    found = set()
    for condition in {condition for c in facts.calls for condition in c.conditions}:
        found.update(m.group(1) for m in CHOICE_TEST.finditer(condition))
        for listed in CHOICE_LIST.finditer(condition):
            found.update(re.findall(r"['\"]([^'\"]+)['\"]", listed.group(1)))
    return frozenset(found)


def _pretrained_weights(facts: FileFacts) -> frozenset[str]:
    """Strings passed as pretrained weights (``VGG16(weights="imagenet")``): they name the
    data set the weights were trained on, not the one this code trains on."""
    return frozenset(a.value.literal for c in facts.calls for a in c.args
                     if a.keyword in WEIGHT_KEYWORDS and a.value.kind == "literal" and isinstance(a.value.literal, str))


def _not_data_sets(facts: FileFacts) -> frozenset[str]:
    """Strings that name no data set the code trains on, though one may be in them: a
    model's name (``from_model_name="facebook/wmt19-en-de"``, a translation model used to
    augment text; the first argument of ``from_pretrained``) and an option's help text
    (``help="train on coco or on voc"`` lists choices)."""
    return frozenset(a.value.literal for c in facts.calls for a in c.args
                     if (a.keyword == "help" or _names_a_model(c, a.keyword))
                     and a.value.kind == "literal" and isinstance(a.value.literal, str))


def _names_a_model(call: Call, keyword: str | None) -> bool:
    if keyword is None:
        return call.method == "from_pretrained"
    return "model" in keyword.lower() and "data" not in keyword.lower()


def _fine_tunes(call: Call) -> bool:
    """A pretrained model loaded, not inside a library's own ``from_pretrained`` (a
    tokenizer's or a config's ``from_pretrained`` loads no weights)."""
    return ml.loads_pretrained_model(call) and call.scope.rpartition(".")[2] != "from_pretrained"


def _large_torchvision_set(call: Call) -> bool:
    return call.name.startswith("torchvision.datasets.") and call.method in LARGE_TORCHVISION_SETS


def _is_large_checkpoint(text: str) -> bool:
    """``roberta-large``, ``google/flan-t5-xl``, ``meta-llama/Llama-2-7b-hf``: a hub id
    (no spaces, at most one slash) naming a large variant."""
    if " " in text or text.count("/") > 1 or not any(mark in text for mark in "-_/"):
        return False  # a bare "large" is a size option, not a checkpoint
    if SMALL_FAMILIES.search(text):
        return False  # mobilenetv3_large_100 has 5.5 M parameters: "large" among small models
    return bool(_LARGE_VARIANT.search(text))


def _duration(minutes: float) -> str:
    return f"{minutes / 60:.1f} h" if minutes >= 90 else f"{minutes:.0f} min"
