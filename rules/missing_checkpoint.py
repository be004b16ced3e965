"""GL402 missing-checkpoint: long training that a crash would throw away."""

from __future__ import annotations

from collections.abc import Iterator

from greenlint.analyzer import long_run, ml, model_size, recorded_runtime, run_length, small_data
from greenlint.analyzer.facts import Call, FileFacts, Loop
from greenlint.analyzer.project import Project, function_key
from greenlint.findings import Finding, Saving
from greenlint.rules.base import Rule

SAVING = Saving(
    text="after a crash or preemption only the work since the last checkpoint is repeated, not the whole run",
    source="Shanbhag et al., Towards a Catalog of Energy Patterns in Deep Learning Development, EASE 2022, doi:10.1145/3530019.3530035",
)
LOOP_FIX = (
    "save model and optimizer state (and the epoch/step) inside the loop every epoch or N steps, "
    "and resume from the latest checkpoint at start-up"
)
KERAS_CALLBACKS = ("ModelCheckpoint", "BackupAndRestore")
#: Keras fits shorter than this many epochs are not flagged. Keras is mostly run on data
#: sets where an epoch takes seconds to a minute (tutorials, book notebooks, small
#: tabular or image sets): a crash in a 5- or 20-epoch fit costs minutes to rerun, less
#: than it costs to manage checkpoint files. From about 30 epochs a rerun repeats real
#: work, and long budgets are where preemption and late failures actually happen.
KERAS_LONG_FIT = 30
class MissingCheckpoint(Rule):
    """
    ## What it does
    Finds multi-epoch or multi-step training that never saves its state while it runs: a
    PyTorch training loop (found through the project, also when the step loop sits in a
    helper such as `train_one_epoch` called from the epoch loop) with no `torch.save`,
    `save_pretrained`, `push_to_hub`, `save_checkpoint`, `accelerator.save_state` or
    project helper that saves (also an object the loop calls
    whose `__call__` saves, such as an `EarlyStopping` that keeps the best model), inside the loop; a long Keras `fit` without a `ModelCheckpoint` or
    `BackupAndRestore` callback; Lightning `Trainer(enable_checkpointing=False)`; Hugging
    Face `TrainingArguments(save_strategy="no")`. A save only after the loop still counts
    as missing, and the message says so. Lightning and Hugging Face defaults checkpoint
    and are not flagged, nor is a framework run inside a hyperparameter-search objective
    (a function that calls `trial.suggest_*`): each trial's model is scored and thrown
    away, so turning its checkpoints off is deliberate.

    A loop reached only past `if args.evaluate: ...; return`, where `--evaluate` is a
    `store_true` flag whose default is `True`, never runs and is not flagged (the same
    holds for the other training rules). A loop that runs `backward()` in a function that steps no optimizer (gradients read
    for a Fisher estimate or a saliency map, a library's loss over particles) updates
    nothing and is not a training run. Loops in the methods of an optimizer (an L-BFGS
    line search calls `backward()`) or of a `LightningModule` (its Trainer checkpoints by
    default) are not training runs of their own; nor are Gaussian-process fits (a loop
    minimising a gpytorch marginal log-likelihood, or a Pyro `gp.models` ELBO), which tune
    a few kernel hyperparameters in minutes, also when a loop calls the fit once per
    likelihood or kernel. PyTorch loops in a file whose every data set is a small bundled
    one (torchvision's MNIST family, scikit-learn's toy sets, Keras' bundled sets, Hugging
    Face sets of at most about 10,000 examples such as GLUE's MRPC or RTE or a set whose
    id states such a size, like `argilla/dpo-mix-7k`, data files kept in the repository
    of at most 1 MB in all), or in a helper module that loads no data and is imported
    only by such files, are not flagged, for the same reason as Keras fits on them: the
    whole training reruns in minutes. The same holds for a training config
    (`save_strategy: "no"`) whose every data set is such a set (`dataset_mixture` or
    `dataset_name` of a TRL or alignment-handbook recipe), unless its model's id states
    over 10 billion parameters (`Mixtral-8x22B`: each step takes seconds, and a small set
    still makes hours). So do models of at most 100,000 parameters, when the cost model counts every
    model the file builds completely (a tabular MLP, a neural ODE's small dynamics net).
    Saving a figure, an image or an animation (`anim.save("fit.gif")`) is not a
    checkpoint. The steps of one epoch in a function that takes the epoch's index
    (`def train_epoch(model, loader, optimizer, epoch)`) and that nothing in the project
    calls are reported at low confidence: the caller runs the epochs and may save
    between them.

    A lone step loop (no epoch loop around it, or only micro-batch loops of gradient
    accumulation inside it, with the optimizer stepped in its own body) over a literal
    list of values, or over `range(N)` (or `while step < N`) with N of at most 1000, is a
    short fit, not a training run worth
    checkpointing: a Gaussian process's 50 kernel steps, a demo's 300. So is a loop nest
    of at most 5 epochs in all (a three-epoch fine-tune, a feature demo); `for fold in
    range(5)` around `for epoch in range(40)` counts as 200. N is read through constants,
    `argparse` defaults, `int(config["num_epochs"])` of a dict literal (also one a caller
    passes in: `training_function(config, args)`), names of the enclosing function,
    attributes set in `__init__` (`while self.step < self.train_num_steps`),
    progress bars (`for i in tqdm(range(N))`, also held in a name) and test switches,
    whose long branch is the real run (`50 if not smoke_test else 2` counts as 50; `10 if
    args.dry_run else 50_000` as 50,000).

    Keras fits are flagged only when they are long: 30 or more epochs, read from a literal,
    a constant or variable assigned above the fit, or an `argparse` default. A shorter fit
    costs minutes to rerun after a crash on the data sets Keras is mostly run on. A fit
    whose epoch count the code does not show is not flagged either: a function parameter, a
    computed value such as `int(best_epoch * 1.2)`, or a notebook variable given different
    values in several cells and not set in the fit's own cell (its value depends on which
    cells ran). Nor are fits on the small data sets bundled with Keras (`keras.datasets`
    MNIST, Fashion-MNIST, IMDB, Reuters, Boston and California housing) or scikit-learn
    (`load_iris`, `load_digits`, `fetch_california_housing`, ...), which train in minutes
    whatever the epoch count (the data set is the last one loaded above the fit), and `fit`
    calls of a scikit-learn search around a Keras wrapper, which builds a fresh model per
    candidate.

    Nor are files that train on random tensors only, or notebooks whose saved outputs
    record the whole training as under 35 minutes, nor a warm-up loop whose training is
    undone after it (the model's state copied before it and loaded back after: compiled
    kernels warm up on real steps, then the timed run starts from the copy). A loop that
    builds its optimizer afresh in each iteration repeats whole runs (trials, seeds,
    folds): the finding is at the loop of one run inside it, and that run's own steps
    say how long it is (3,000 steps of each trial sample a large corpus, they do not
    pass over it). A crash costs the time since the last
    save, so "long" needs more here than for the speed rules: 50,000 or more iterations
    of a loop (10,000 or more `max_steps` of a trainer, each a pretrained transformer's
    step), a recorded half hour, or a large data set and a large pretrained checkpoint
    together, named in the message (`(long run: 100,000 iterations)`). An epoch count is no sign:
    it does not say how long an epoch takes (fifty epochs of a tabular MLP take a
    minute, of ImageNet days); nor is the model's size, which says how long a step
    takes, not how many steps a crash loses (a 160 M-parameter GPT trained on a short
    story is done in minutes). Where nothing shows it, the finding has low
    confidence: `check` counts it, and lists it with `--min-confidence low`. Checkpoints
    switched off by hand (`save_strategy="no"`, `enable_checkpointing=False`) are a
    choice, and only a recorded time or counted steps question it: the size
    of the model alone does not (demos turn saving off to fine-tune a 7B checkpoint for a
    few steps).

    ## Why it costs energy
    Long jobs die: preemption, out-of-memory errors, node failures, a bug in evaluation at
    epoch 40. Without a checkpoint every GPU-hour spent before the failure is spent again.

    ## Example
    ```python
    for epoch in range(args.epochs):
        train_one_epoch(model, loader, optimizer)
    torch.save(model.state_dict(), "model.pt")  # only if every epoch succeeded
    ```

    ## Use instead
    ```python
    for epoch in range(start_epoch, args.epochs):
        train_one_epoch(model, loader, optimizer)
        torch.save({"epoch": epoch, "model": model.state_dict(),
                    "optimizer": optimizer.state_dict()}, "checkpoint.pt")
    ```

    ## Evidence
    Shanbhag et al., "Towards a Catalog of Energy Patterns in Deep Learning Development",
    EASE 2022 (the Checkpoint pattern). Tactic T19 (use checkpoints during training) of
    Järvenpää et al., ICSE-SEIS 2024, doi:10.1145/3639475.3640111.
    """

    code = "GL402"
    name = "missing-checkpoint"
    summary = "Training loop saves no checkpoint while it runs"
    tactics = ("T19",)

    def check(self, project: Project) -> Iterator[Finding]:
        anchors: dict[tuple[str, int], Loop] = {}
        for facts in project.python_files():
            for loop in ml.step_loops(facts):
                if ml.fits_gaussian_process(facts, ml.outermost(facts, loop)):
                    continue  # a few kernel hyperparameters, wherever the fit is called from
                if ml.never_runs(project, facts, loop):
                    continue  # behind ``if args.evaluate: return`` with a flag that is always on
                for anchor_facts, anchor in self._anchors(project, facts, loop):
                    anchors[(anchor_facts.path, anchor.id)] = anchor
            for call in facts.calls:
                if run_length.framework_short_run(facts, call):
                    continue  # max_steps=10: a demo of the API
                for finding in self._framework(facts, call):
                    yield long_run.graded(finding, self._framework_evidence(project, facts, call))
        for facts in project.config_files():
            yield from self._config(facts)
        for (path, _), loop in sorted(anchors.items()):
            facts = project.files[path]
            yield from self._check_nest(project, facts, loop)

    def _anchors(self, project: Project, facts: FileFacts, loop: Loop, depth: int = 0) -> list[tuple[FileFacts, Loop]]:
        """The outermost loops that run this step loop: its own nest, or loops of its callers."""
        chain = ml.run_chain(facts, loop)  # a loop that builds an optimizer afresh repeats whole runs
        if not ml.whole_function_run(chain):
            return [(facts, chain[-1])]
        return self._caller_loops(project, facts, chain[-1].scope, depth) or [(facts, chain[-1])]

    def _caller_loops(self, project: Project, facts: FileFacts, scope: str, depth: int) -> list[tuple[FileFacts, Loop]]:
        """Loops that call the function ``scope``, directly or through callers outside any
        loop: ``run_loop()`` loops over ``run_step()``, which calls ``forward_backward()``."""
        if depth >= 3:
            return []
        outer: list[tuple[FileFacts, Loop]] = []
        for site in project.call_sites.get(function_key(facts.module, scope), ()):
            if site.call.loop is not None:
                outer.extend(self._anchors(project, site.file, site.file.loops[site.call.loop], depth + 1))
            elif site.call.scope:
                outer.extend(self._caller_loops(project, site.file, site.call.scope, depth + 1))
        return outer

    def _check_nest(self, project: Project, facts: FileFacts, loop: Loop) -> Iterator[Finding]:
        if run_length.short_run(project, facts, loop) or ml.is_benchmark(facts, loop.scope):
            return
        if small_data.trains_on_small_data(project, facts):
            return
        if long_run.shown_short(project, facts, recorded_runtime.CHECKPOINT_WORTH_MINUTES):
            return  # a notebook records under 35 minutes of training, or the data is random tensors
        if _in_class_based_on(facts, loop, NOT_TRAINING_RUN_BASES) or ml.fits_gaussian_process(facts, loop):
            return
        if _warm_up(facts, loop):
            return  # its training is undone after it: nothing of it is worth saving
        calls = list(ml.calls_in_loop(facts, loop))
        if ml.saves_within(project, facts, calls) is not None:
            return
        if model_size.trains_only_tiny_models(project, facts):
            return  # a model this small retrains in minutes
        after = self._save_after(project, facts, loop)
        length = _describe_iterations(loop)
        if after is not None:
            message = (
                f"this training loop{length} saves state only after it ends "
                f"({after.name} at line {after.line}): a crash or preemption loses all progress"
            )
        else:
            message = f"this training loop{length} never saves model or optimizer state: a crash or preemption loses all progress"
        finding = self.finding(facts.path, loop.line, loop.column, message, LOOP_FIX, SAVING)
        if _one_epoch_for_a_caller(project, facts, loop):
            yield long_run.graded(finding, None)  # the epoch loop, and its saves, are the caller's
            return
        # a crash costs the time since the last save: an epoch count alone does not say how long
        # that is (fifty epochs of a tabular MLP take a minute), so only durations and scale count
        reason = long_run.evidence(project, facts, loop, recorded_runtime.CHECKPOINT_WORTH_MINUTES, epochs=None,
                                   by_model=False, corroborated=True)
        yield long_run.graded(finding, reason)

    def _save_after(self, project: Project, facts: FileFacts, loop: Loop) -> Call | None:
        for call in facts.calls:
            if call.scope == loop.scope and call.line > loop.line and not facts.in_loop(call, loop.id):
                if ml.is_save(project, facts, call):
                    return call
        return None

    def _framework(self, facts: FileFacts, call: Call) -> Iterator[Finding]:
        for finding in self._framework_settings(facts, call):
            if not _in_search_trial(facts, call):  # asked only of the few calls that would be reported
                yield finding  # (in a search trial, resuming its model would resume nothing)

    def _framework_evidence(self, project: Project, facts: FileFacts, call: Call) -> str | None:
        """The call's own step budget (``max_steps`` of 10,000 or more), or what the file
        shows of the run's length; its epoch budget (a Keras fit's ``epochs``,
        ``num_train_epochs``) only tells whether few examples make the run short. A
        checkpoint switched off by hand (``save_strategy="no"``) is a choice: only a
        recorded time or counted steps question it, not the size of the model (demos
        turn saving off to fine-tune a 7B checkpoint for a few steps)."""
        steps = run_length.framework_steps(facts, call)
        if steps is not None and steps >= long_run.LONG_TRAINER_STEPS:
            return f"{steps:,} steps"
        return long_run.evidence(project, facts, None, recorded_runtime.CHECKPOINT_WORTH_MINUTES, epochs=None,
                                 scale=call.method == "fit", budget=run_length.framework_epochs(facts, call),
                                 line=call.line, by_model=False, corroborated=True)

    def _framework_settings(self, facts: FileFacts, call: Call) -> Iterator[Finding]:
        root = call.name.split(".")[0]
        if call.method == "fit" and facts.imported_roots & {"tensorflow", "keras", "tf_keras"}:
            yield from self._keras_fit(facts, call)
        elif call.method == "Trainer" and root in ("pytorch_lightning", "lightning"):
            value = call.keyword("enable_checkpointing")
            if value is not None and value.kind == "literal" and value.literal is False:
                message = "Lightning Trainer(enable_checkpointing=False) keeps no checkpoint of the run"
                fix = "leave checkpointing on (the default) or add a ModelCheckpoint callback"
                yield self.finding(facts.path, call.line, call.column, message, fix, SAVING)
        elif call.method in ("TrainingArguments", "Seq2SeqTrainingArguments") and root == "transformers":
            value = call.keyword("save_strategy")
            if value is not None and value.kind == "literal" and value.literal == "no":
                message = f'{call.method}(save_strategy="no") keeps no checkpoint of the run'
                fix = 'use save_strategy="epoch" (or "steps" with save_steps) and save_total_limit to bound disk use'
                yield self.finding(facts.path, call.line, call.column, message, fix, SAVING)

    def _config(self, facts: FileFacts) -> Iterator[Finding]:
        """``trainer.enable_checkpointing: false`` and ``save_strategy: "no"`` in config files."""
        for entry in facts.config:
            if facts.config_kind == "lightning" and entry.key == "trainer.enable_checkpointing" and entry.value is False:
                message = "trainer.enable_checkpointing: false keeps no checkpoint of the run"
                fix = "remove it (Lightning checkpoints by default) or configure a ModelCheckpoint callback"
                yield self.finding(facts.path, entry.line, entry.column, message, fix, SAVING)
            elif (facts.config_kind == "hf-training-args" and entry.key == "save_strategy" and entry.value in ("no", False)
                  and not small_data.config_trains_on_small_sets(facts)):
                message = 'save_strategy: "no" keeps no checkpoint of the run'
                fix = 'use save_strategy: epoch (or steps with save_steps) and save_total_limit'
                yield self.finding(facts.path, entry.line, entry.column, message, fix, SAVING)

    def _keras_fit(self, facts: FileFacts, call: Call) -> Iterator[Finding]:
        epochs = call.keyword("epochs")
        if epochs is None or call.has_unpacking:
            return
        budget = run_length.epoch_budget(facts, call, epochs)
        if budget is None or budget < KERAS_LONG_FIT:
            return
        if _fits_bundled_data(facts, call) or _sklearn_search(facts, call):
            return
        callbacks = ml.literal_or_resolved(facts, call.keyword("callbacks"), call.scope, call.line)
        if callbacks is not None:
            if callbacks.kind != "list":
                return  # built elsewhere: cannot tell
            if any(v.kind == "call" and v.text.endswith(KERAS_CALLBACKS) for item in callbacks.items for v in item.walk()):
                return
            if any(item.kind not in ("call",) for item in callbacks.items):
                return  # a callback object made elsewhere may be a checkpoint
        named = f" ({epochs.text})" if epochs.kind in ("name", "attribute") else ""
        message = (
            f"Keras fit() for {budget} epochs{named} has no ModelCheckpoint or BackupAndRestore callback: "
            "a crash loses all progress"
        )
        fix = "add keras.callbacks.BackupAndRestore(backup_dir) (resumes automatically) or ModelCheckpoint"
        yield self.finding(facts.path, call.line, call.column, message, fix, SAVING)


def _in_search_trial(facts: FileFacts, call: Call) -> bool:
    """Is the call in an Optuna-style objective (``trial.suggest_float(...)`` in the same
    function)? Each trial trains a fresh model the study scores and discards; turning
    checkpoints off there is deliberate, and the study keeps its own record of trials."""
    return bool(call.scope) and any(
        c.scope == call.scope and c.method.startswith("suggest_") for c in facts.calls
    )


def _fits_bundled_data(facts: FileFacts, call: Call) -> bool:
    """Does the fit train on a small bundled data set?

    Its data are taken to be the last data set loaded above it (a notebook or script
    loads, prepares, then fits); with none above, every data set the file loads must be
    a bundled one.
    """
    sources = [c for c in facts.calls if small_data.is_data_source(c)]
    above = [c for c in sources if c.line < call.line]
    if above:
        return small_data.is_bundled_data(max(above, key=lambda c: c.line))
    return small_data.only_small_sets(sources)


def _sklearn_search(facts: FileFacts, call: Call) -> bool:
    """``RandomizedSearchCV(KerasRegressor(...)).fit(X, y, epochs=100)``: the search refits a
    fresh model per candidate, so a checkpoint of one resumes nothing."""
    if not call.receiver or "." in call.receiver:
        return False
    built = ml.resolve_name(facts, call.receiver, call.scope, call.line)
    return built is not None and built.kind == "call" and built.text.startswith("sklearn.")

#: Classes whose methods loop with backward() without being a training run of their own:
#: an optimizer's step (L-BFGS line search), and a LightningModule, whose Trainer
#: checkpoints by default (its step loops over tasks of a batch, as in meta-learning).
NOT_TRAINING_RUN_BASES = ("Optimizer", "LightningModule")


def _in_class_based_on(facts: FileFacts, loop: Loop, bases: tuple[str, ...]) -> bool:
    """Is the loop in a method of a class with one of these bases (by last name)?"""
    owner = loop.scope.split(".")[0]
    return any(c.name == owner and any(b.rpartition(".")[2] in bases for b in c.bases) for c in facts.classes)


def _describe_iterations(loop: Loop) -> str:
    """`` (20 iterations)`` for ``range(20)``, `` (args.epochs iterations)`` for ``range(args.epochs)``."""
    value = loop.iter
    if value is None or value.kind != "call" or value.text != "range" or len(value.args) != 1:
        return ""
    bound = value.args[0].value
    if bound.kind == "literal" and isinstance(bound.literal, int):
        return f" ({bound.literal} iterations)"
    if bound.kind in ("name", "attribute"):
        return f" ({bound.text} iterations)"
    return ""


#: Parameters that pass a function the index of the epoch it runs.
EPOCH_PARAMETERS = frozenset({"epoch", "e", "ep", "epoch_idx", "epoch_index", "epoch_num", "cur_epoch", "current_epoch"})


def _warm_up(facts: FileFacts, loop: Loop) -> bool:
    """Is the loop a warm-up whose training is undone: the model's state copied before it
    (``initial = copy.deepcopy(model.state_dict())``) and loaded back after it
    (``model.load_state_dict(initial)``), with no copy taken inside it? Compiled
    kernels warm up on a few real steps, and the timed run starts again from the copy.
    A copy taken inside the loop is the best epoch's weights, restored after training."""
    def copies_state(call: Call) -> bool:
        return call.method == "deepcopy" and any(
            a.value.kind == "call" and a.value.text.endswith("state_dict") for a in call.args)

    same_scope = [c for c in facts.calls if c.scope == loop.scope]
    before = any(copies_state(c) and c.line < loop.line and not facts.in_loop(c, loop.id) for c in same_scope)
    inside = any(copies_state(c) and facts.in_loop(c, loop.id) for c in same_scope)
    restored = any(c.method == "load_state_dict" and c.line > loop.line and not facts.in_loop(c, loop.id)
                   for c in same_scope)
    return before and restored and not inside


def _one_epoch_for_a_caller(project: Project, facts: FileFacts, loop: Loop) -> bool:
    """Is the loop one epoch of steps in a function that takes the epoch's index
    (``def train_epoch(model, loader, optimizer, epoch)``) and that nothing in the project
    calls? Its caller (a notebook, a user's script) runs the epochs, and checkpoints
    between them or not: this function cannot tell."""
    if not EPOCH_PARAMETERS & set(run_length.params_of(facts, loop.scope)):
        return False
    return not project.call_sites.get(function_key(facts.module, loop.scope))
