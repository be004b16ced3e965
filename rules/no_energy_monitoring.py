"""GL601 no-energy-monitoring: a project that trains but never measures what it burns."""

from __future__ import annotations

import re

from collections.abc import Iterator

from greenlint.analyzer import long_run, ml, purpose, run_length, small_data
from greenlint.analyzer.facts import Call, FileFacts, Loop, Value
from greenlint.analyzer.project import Project
from greenlint.findings import Confidence, Finding, Saving, Severity
from greenlint.rules.base import Rule

MONITORS = frozenset(
    {"codecarbon", "carbontracker", "zeus", "eco2ai", "pynvml", "nvitop", "pyJoules", "pyRAPL",
     "experiment_impact_tracker", "wandb"}
)
SAVING = Saving(
    text="what is measured can be compared: energy per run makes the effect of every other tactic visible",
    source="Järvenpää et al., ICSE-SEIS 2024 (T30 monitor computing power); CodeCarbon, Zeus documentation",
)


class NoEnergyMonitoring(Rule):
    """
    ## What it does
    Reports once per project that trains models (a PyTorch training loop, or a Keras,
    Lightning or Hugging Face training call) but measures energy nowhere. A training loop
    may run its step itself (``loss.backward()``, or timm's ``loss_scaler(loss, optimizer)``)
    or hand each batch to a step method the project defines elsewhere
    (``trainer.train_step(images, boxes)``, or ``model.optimize_parameters()`` on a model
    that took the batch with ``set_input``). Measuring is any of CodeCarbon,
    carbontracker, Zeus, eco2AI, NVML (`pynvml`/`nvidia-ml-py`) power readings,
    `nvidia-smi` logging, or Weights & Biases (whose system metrics record GPU power),
    also when imported by name on use (`import_or_print_error("wandb", hint)`).
    A tracker the project names as a requirement counts too (`"codecarbon<2.6.0"` in
    `setup.py`'s extras, `report_to=["codecarbon"]`): a library that ships its trainer's
    emissions tracking as an extra meters its users' runs.
    Only training that a script of the project runs (a library's trainer that no script
    runs is its users' job to meter, also when only its sample notebooks run it or the
    module's own `__main__` block only samples from a model) and that is worth measuring counts:
    distributed (DDP, FSDP, DataParallel; not when only a switch that is off by default
    turns it on, as in `if args.use_multi_gpu:`), a
    pretrained checkpoint fine-tuned (`from_pretrained`), a large data set named
    (ImageNet, CelebA, COCO, WMT, LAION, enwik8...) or a model the cost model counts at
    ten million parameters or more, in the training file or the program around it. The
    finding sits at the script a user starts to train, where a tracker would go: the
    training file itself, or, where the training lives in a module (an `engine.py` with
    `train_one_epoch`, StyleGAN's `training_loop.py`), the loop of the script that calls
    it; of several, scripts run as `__main__` first, then files named like `train`.
    Notebooks (also those kept as `# %%` scripts, and
    scripts exported beside their notebook: `ch14.py` next to `ch14.ipynb`), helper
    modules only notebooks import, and a library's scripts under its `examples/`,
    `tutorials/`, `guides/`, `docs/` or `demo/` folders that import the library teach or try things
    out, as does the code of a project whose README opens by presenting it as a
    tutorial, a course's lessons, a book's code, lectures or a from-scratch reproduction; they are not jobs
    and are not reported, nor is a project all of whose training
    lives in such folders (a collection of tutorials). Nor are benchmarks and profiling
    scripts (they time a few steps), nor training on small bundled data sets (MNIST,
    Fashion-MNIST, scikit-learn's toys, data files of at most 1 MB kept in the
    repository) or on random tensors only, distributed or not, nor a file whose every
    training loop runs at most 1,000 steps as written (`range(args.num_iterations)` with
    a default of 10: a reference or smoke run, read as missing-checkpoint reads it).

    ## Why it costs energy
    A team that does not measure energy cannot see which change saved it, nor notice when
    a change doubles it. Every other tactic needs a number to be judged against.

    ## Example
    ```python
    if __name__ == "__main__":
        train(build_model(), load_data())
    ```

    ## Use instead
    ```python
    from codecarbon import EmissionsTracker

    if __name__ == "__main__":
        with EmissionsTracker(project_name="classifier") as tracker:
            train(build_model(), load_data())
    ```
    `greenlint profile -- python train.py` also measures a bounded run.

    ## Evidence
    Tactic T30 (monitor computing power) of Järvenpää et al., ICSE-SEIS 2024,
    doi:10.1145/3639475.3640111; CodeCarbon and Zeus documentation.
    """

    code = "GL601"
    name = "no-energy-monitoring"
    summary = "Project trains models but measures energy nowhere"
    tactics = ("T30",)
    severity = Severity.INFO
    confidence = Confidence.HIGH

    def check(self, project: Project) -> Iterator[Finding]:
        training = [facts for facts in project.python_files() if _trains(project, facts)]
        if not training or any(_monitors(facts) for facts in project.python_files()):
            return
        if all(_in_example_folder(facts) for facts in training):
            return  # a collection of tutorials or examples: every training lives in one
        jobs = [facts for facts in training if not _teaching_material(project, facts) and not ml.is_benchmark(facts, "")]
        heavy = [facts for facts in jobs if _run_by_an_entry_point(project, facts) and _heavy(project, facts)]
        if not heavy:
            return  # notebooks and examples teach; a small model retrains in minutes: measure real jobs
        anchors = [_script_running(project, facts) or (facts, _anchor(project, facts)) for facts in heavy]
        script, (line, column) = min(anchors, key=lambda anchor: _entry_rank(anchor[0]))
        path = script.path
        message = "this project trains models but measures their energy nowhere"
        fix = "track each run's energy, e.g. with codecarbon.EmissionsTracker or Zeus, and log it with the results"
        yield self.finding(path, line, column, message, fix, SAVING)


def _run_by_an_entry_point(project: Project, facts: FileFacts) -> bool:
    """Is the training file a script or notebook, or imported by a script (directly or
    through one more module)? A library whose trainer no script of its own runs leaves the
    job, and its metering, to its users; the scripts of its ``examples/`` folder and its
    notebooks (``sample_notebooks/``) show them how and are not its jobs."""
    if _runs_its_training(project, facts):
        return True
    seen: set[str] = {facts.path}
    frontier = [project.files[path] for path in project.importers.get(facts.module, ())]
    library = not _in_example_folder(facts)
    for _ in range(2):
        if any(not f.is_notebook and (f.entry_point or _trains_at_top_level(project, f))
               and not (library and _in_example_folder(f)) for f in frontier):
            return True
        seen.update(f.path for f in frontier)
        frontier = [project.files[path] for f in frontier for path in project.importers.get(f.module, ())
                    if path not in seen]
    return False


def _runs_its_training(project: Project, facts: FileFacts) -> bool:
    """Does the file's own top-level code (its ``__main__`` block included) reach its
    training: a step loop or fit at module level, or a call of (or a reference passed to,
    as in ``mp.spawn(main_worker)``) a function of the file that trains, directly or
    through its other functions, methods of its objects included
    (``trainer = Trainer(cfg); trainer.run_train()``)? A library module whose ``__main__``
    block only samples from a model does not run the trainer it defines."""
    if _trains_at_top_level(project, facts):
        return True
    trainers = {loop.scope for loop in _training_loops(project, facts)} | {
        c.scope for c in facts.calls if (c.method == "fit" and c.receiver) or _runs_a_trainer(c)}
    trainers.discard("")
    callers: dict[str, set[str]] = {}
    prefix = f"{facts.module}:"
    for call in facts.calls:
        callee = project.resolve_call(facts, call) or ""
        local = callee[len(prefix):] if callee.startswith(prefix) else ""
        for name in (call.name, local, *(a.value.text for a in call.args if a.value.kind == "name")):
            if name:
                callers.setdefault(name, set()).add(call.scope)
    reached = set(trainers)
    frontier = set(trainers)
    while frontier:
        frontier = {scope for name in frontier for scope in callers.get(name, ())} - reached
        reached |= frontier
    return "" in reached


def _trains_at_top_level(project: Project, facts: FileFacts) -> bool:
    """A script without a ``__main__`` guard that trains at module level: a step loop, a
    ``model.fit(...)``, or a call of its own training function (``for epoch in ...:
    train(epoch)``)."""
    trainers = {loop.scope for loop in _training_loops(project, facts)}
    if "" in trainers:
        return True
    return any(c.scope == "" and ((c.method in ("fit", "train") and c.receiver) or c.name in trainers)
               for c in facts.calls)


def _entry_rank(facts: FileFacts) -> tuple[bool, bool, int, str]:
    """Scripts first, then files named train*/main*, then the shallowest, then by path."""
    name = facts.path.rpartition("/")[2]
    return (not facts.entry_point, not name.startswith(("train", "main")), facts.path.count("/"), facts.path)


def _training_loops(project: Project, facts: FileFacts) -> list[Loop]:
    """The file's step loops, then the loops that call a step function defined elsewhere
    in the project (``trainer.train_step(...)`` in ``train.py``). Asked of the same file
    by several checks (and of every importer), so computed once per file."""
    def compute() -> list[Loop]:
        loops = ml.step_loops(facts) or ml.delegated_step_loops(project, facts)
        return [loop for loop in loops if not ml.never_runs(project, facts, loop)]  # not behind an always-on exit

    return project.derived("training-loops", facts, compute)


def _trains(project: Project, facts: FileFacts) -> bool:
    if _training_loops(project, facts):
        return True
    roots = facts.imported_roots
    return any((c.method == "fit" and roots & {"tensorflow", "keras", "pytorch_lightning", "lightning"}) or _runs_a_trainer(c)
               for c in facts.calls)


def _runs_a_trainer(call: Call) -> bool:
    """``trainer.train()``: a Hugging Face or detectron2 trainer's whole run."""
    return call.method == "train" and call.receiver.rpartition(".")[2].lower() == "trainer"


#: Folders whose scripts demonstrate a library rather than run its users' jobs.
EXAMPLE_FOLDERS = frozenset({"examples", "example", "tutorials", "tutorial", "guides", "guide", "docs", "doc",
                             "notebooks", "demo", "demos"})


def _teaching_material(project: Project, facts: FileFacts) -> bool:
    """A notebook (also one kept as a script in ``# %%`` cells, or exported as a script
    beside it: ``ch14.py`` next to ``ch14.ipynb``), a helper module only notebooks
    import, code of a project whose README opens by presenting it as a tutorial, a
    book's code, a lecture's companion or a from-scratch reproduction (or under a
    ``ch04/`` or ``lecture-3/`` folder), or a script in an
    examples/tutorials/docs folder that imports the project's own library from outside
    that folder (it shows how the library is used)."""
    if facts.is_notebook or f"{facts.path.removesuffix('.py')}.ipynb" in project.files:
        return True  # a notebook, or a script exported beside the notebook it came from
    if purpose.teaching(project.readme_opening, facts.path) is not None:
        return True  # a tutorial, a book's code, a lecture's companion: metering is off its topic
    importers = project.importers.get(facts.module, set())
    if importers and all(path.endswith(".ipynb") for path in importers):
        return True
    return _in_example_folder(facts) and any(not _in_example_folder(used) for used in project.imported_files(facts))


def _heavy(project: Project, facts: FileFacts) -> bool:
    """Training worth measuring: distributed, a large data set, a pretrained checkpoint
    fine-tuned, or a model of ten million parameters or more (``long_run.at_scale``).
    Training on small bundled data or random tensors only is not: DDP on Fashion-MNIST
    demonstrates the mechanism in minutes."""
    if small_data.trains_on_small_data(project, facts) or small_data.trains_on_synthetic_data(project, facts):
        return False
    loops = _training_loops(project, facts)
    if loops and all(run_length.short_run(project, facts, ml.outermost(facts, loop), max_epochs=0) for loop in loops):
        return False  # every loop runs at most 1,000 steps by default: a reference or smoke run
    return long_run.at_scale(project, facts, any_checkpoint=True) is not None


def _in_example_folder(facts: FileFacts) -> bool:
    return bool(set(facts.path.split("/")[:-1]) & EXAMPLE_FOLDERS)


#: A requirement string naming an energy tracker: ``"codecarbon<2.6.0"`` in ``setup.py``'s
#: extras, ``report_to=["codecarbon"]``. A library that ships its tracking this way meters
#: the runs of its trainer where its users install it.
MONITOR_REQUIREMENT = re.compile(r"^(?:codecarbon|carbontracker|zeus-ml|eco2ai)\s*(?:[<>=!~;\[].*)?$")


def _monitors(facts: FileFacts) -> bool:
    if facts.imported_roots & MONITORS or "pynvml" in facts.names:
        return True
    if any(_imports_by_name(call) for call in facts.calls):
        return True  # self.wandb = import_or_print_error("wandb", ...): an optional tracker imported on use
    if any(MONITOR_REQUIREMENT.match(s) for s in facts.strings):
        return True
    if any("nvidia-smi" in s for s in facts.strings):
        return True
    # Accelerator(log_with="wandb"), TrainingArguments(report_to=["wandb"]): W&B's system metrics
    return any(_names_wandb(arg.value) for c in facts.calls for arg in c.args if arg.keyword in ("log_with", "report_to"))


def _imports_by_name(call: Call) -> bool:
    """``importlib.import_module("codecarbon")``, ``__import__("wandb")``, or a project helper
    named for importing (``import_or_print_error("wandb", hint)``) given a tracker's name."""
    first = call.positional(0)
    return ("import" in call.name.lower() and first is not None and first.kind == "literal"
            and first.literal in MONITORS)


def _names_wandb(value: Value) -> bool:
    return any(v.kind == "literal" and v.literal in ("wandb", "all") for v in value.walk())


def _script_running(project: Project, facts: FileFacts) -> tuple[FileFacts, tuple[int, int]] | None:
    """Where a script runs the training a module of the project holds: ``main_pretrain.py``
    calling ``engine.train_one_epoch`` in its epoch loop is the entry point a user starts
    and the place to add a tracker, not the engine. The anchor is the outermost loop
    around the first call of the module's training function (else of any function of
    the module: not an ``evaluate()`` above it that returns early), or the call itself;
    None when the module is a script itself or no script imports it, directly or
    through a package that re-exports it."""
    if facts.entry_point:
        return None
    prefix = f"{facts.module}:"
    trainers = {f"{prefix}{loop.scope}" for loop in _training_loops(project, facts)}
    runs = []
    for path in project.importers.get(facts.module, ()):
        script = project.files[path]
        if script.is_notebook:
            continue  # a notebook teaches: a tracker goes in the script a job starts
        calls = [(c, project.resolve_call(script, c) or "") for c in script.calls]
        into = [c for c, callee in calls if callee in trainers] or [c for c, callee in calls if callee.startswith(prefix)]
        if into and (script.entry_point or into[0].scope == ""):  # a script with or without a __main__ guard
            runs.append((script, into[0]))  # the call of the training function, before an evaluate() above it
    if not runs:
        return None
    script, call = min(runs, key=lambda run: _entry_rank(run[0]))
    if call.loop is not None:
        outer = ml.outermost(script, script.loop(call.loop))
        return script, (outer.line, outer.column)
    return script, (call.line, call.column)


def _anchor(project: Project, facts: FileFacts) -> tuple[int, int]:
    loops = _training_loops(project, facts)
    if loops:
        outer = ml.outermost(facts, loops[0])
        return outer.line, outer.column
    call = next(c for c in facts.calls if c.method in ("fit", "train"))
    return call.line, call.column
