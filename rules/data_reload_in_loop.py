"""GL504 data-reload-in-loop: the same dataset read from disk again on every epoch or step."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from greenlint.analyzer import long_run, ml, run_length
from greenlint.analyzer.facts import Call, FileFacts, Function, Loop, Value
from greenlint.analyzer.project import Located, Project, function_key
from greenlint.findings import Finding, Saving
from greenlint.rules.base import Rule

SAVING = Saving(
    text="the data is read, parsed and decoded once instead of once per epoch or step",
    source="Mohan et al., Analyzing and Mitigating Data Stalls in DNN Training, PVLDB 14(5), 2021",
)
FIX = (
    "read the data once before the training loop and reuse it; if it does not fit in memory, "
    "read items lazily in a Dataset's __getitem__ and let DataLoader workers do it"
)
READERS = frozenset(
    {
        "numpy.load", "numpy.loadtxt", "numpy.genfromtxt", "numpy.fromfile", "torch.load",
        "datasets.load_dataset", "datasets.load_from_disk", "PIL.Image.open", "cv2.imread", "imageio.imread",
        "imageio.v2.imread", "imageio.v3.imread", "skimage.io.imread", "matplotlib.pyplot.imread",
        "scipy.io.loadmat", "joblib.load", "torchvision.io.read_image", "torchaudio.load", "soundfile.read",
        "librosa.load", "tifffile.imread", "SimpleITK.ReadImage", "pydicom.dcmread", "open", "io.open",
    }
)
#: Arguments of a read that do not name what is read.
NOT_INPUTS = frozenset(
    {"mode", "encoding", "errors", "newline", "map_location", "weights_only", "allow_pickle", "mmap_mode", "dtype",
     "sep", "delimiter", "header", "index_col", "usecols", "nrows", "names", "cache_dir", "num_proc", "skiprows",
     "streaming", "trust_remote_code", "flags", "sr", "mono", "engine", "compression", "low_memory", "parse_dates"}
)
#: What ``torch.load`` reads when it restores a model rather than data.
CHECKPOINT = re.compile(r"ckpt|checkpoint|state|weight|model|best|last|resume|pretrain|\.pth|\.bin|\.safetensors|snapshot", re.I)
#: Files opened to read something other than a dataset: configs, logs, control files.
NOT_DATA = re.compile(r"config|cfg|\.ya?ml|hparam|\blog|\.log|lock|stop|status|flag|\.txt_done|vocab|token", re.I)
#: Files a training run writes for itself and may read back: metrics, histories, logs.
OUTPUTS = re.compile(r"metric|histor|results?\b|progress|\blog|\.log\b|losses", re.I)
#: Calls that write a file, so a later read of the same path reads the loop's own output.
WRITES = frozenset({"to_csv", "to_parquet", "to_json", "to_pickle", "to_feather", "save", "savez", "savez_compressed",
                    "savetxt", "dump", "imwrite", "imsave", "write_text", "write_bytes"})
#: Lazy per-item access: reading here is what a Dataset should do.
LAZY_SCOPES = ("__getitem__", "__iter__", "__next__", "getitem")
#: Dataset classes that read their whole split into memory when constructed.
IN_MEMORY_DATASETS = frozenset(
    f"torchvision.datasets.{name}"
    for name in ("MNIST", "FashionMNIST", "KMNIST", "QMNIST", "EMNIST", "CIFAR10", "CIFAR100", "SVHN", "STL10", "USPS")
)
#: Calls that take one optimisation step besides ``loss.backward()``: TensorFlow's
#: ``optimizer.apply_gradients``, Keras ``train_on_batch``, scikit-learn ``partial_fit``.
STEP_METHODS = frozenset({"apply_gradients", "train_on_batch", "partial_fit"})
#: Loop targets that name whole training runs rather than epochs: folds, trials, seeds...
RUN_TARGET = re.compile(
    r"\w*folds?|trials?|\w*seeds?|runs?|run_\w+|repeats?|repetitions?|\w*configs?|cfgs?|h(?:yper)?params?|params|"
    r"experiments?|lrs?|learning_rates?|models?|model_(?:name|id|type|cfg|config|class)|archs?|architectures?",
    re.IGNORECASE,
)
#: Names of project functions that return a fresh model: ``model = build_model(cfg)``.
MODEL_FACTORIES = ("build", "create", "make", "get_model", "init_model", "new_model", "define_model", "clone_model", "load_model")
#: Lightning hooks that run once per batch, and once per epoch.
STEP_HOOKS = frozenset({"training_step", "validation_step"})
EPOCH_HOOKS = frozenset(
    {"on_train_epoch_start", "on_train_epoch_end", "on_validation_epoch_start", "on_validation_epoch_end",
     "training_epoch_end", "validation_epoch_end"}
)
IDENTIFIER = re.compile(r"(?<![\w.'\"])([A-Za-z_]\w*)")
#: Draws that differ on every call: a random subset of files is resampled, not reloaded.
RANDOM = re.compile(
    r"(?<![\w.])(?:random\.|numpy\.random\.|torch\.rand|torch\.multinomial|sklearn\.utils\.(?:shuffle|resample))"
    r"|\.(?:sample|shuffle|choice|choices|permutation)\(|\.(?:sample|shuffle|choice|choices|permutation)$"
)


@dataclass
class _Where:
    """Where a read runs: its file, function, enclosing loops and what its parameters were given."""

    facts: FileFacts
    scope: str
    statement: int
    chain: list[Loop]
    training: dict[int, Loop]
    params: Callable[[str], bool] | None = None


class DataReloadInLoop(Rule):
    """
    ## What it does
    Finds a dataset read from disk inside the epoch or step loop of training, where the
    same files are read again on every iteration: `open(...)` for reading,
    `np.load`/`np.loadtxt`, `pd.read_*`, `torch.load` of data, `datasets.load_dataset`,
    `Image.open`/`cv2.imread` over a whole list of files, torchvision datasets that load
    their whole split in the constructor (`MNIST`, `CIFAR10`, `SVHN`...), and the like.
    Also found when the read sits in a function the training loop calls (a `load_data()`
    helper, a Dataset constructor, the top of a `train_one_epoch()` or `test()` called once
    per epoch) and the files it is given do not change between calls. The read call is
    reported, at the rule's confidence where the code shows a long run (a fact, or two
    agreeing signs such as `(long run: 90 epochs, a model of 23.5 M parameters)`) and at
    low confidence otherwise: five reads of a table, or ten of MNIST's test split, cost
    seconds.

    A training loop is a loop that takes optimisation steps (`loss.backward()`, or
    TensorFlow's `optimizer.apply_gradients`, Keras `train_on_batch`, scikit-learn
    `partial_fit`), directly or through a function it calls, every loop around it, and a
    loop that calls a Keras model's `fit` again and again. A loop that calls a function
    running a whole pass of batches is an epoch loop when it reads as one (its target or
    bound says epoch, or the function is named for an epoch): so `for epoch in ...:
    train(model, loader, optimizer)` counts, while `for i in range(repeats): train()` over
    a function whose one loop runs all of training does not. A LightningModule's `training_step` and `validation_step` run once
    per batch and its epoch hooks (`on_train_epoch_start`...) once per epoch, so reads
    written there, or in helpers they call, count too. A loop whose every iteration trains
    a model of its own (cross-validation folds, seeds, trials, a hyperparameter sweep: its
    target is named so, or it builds the model, an estimator or the optimizer afresh, as in
    `model = build_model(cfg)`) is not an epoch loop: a read per run costs little beside
    the run, and a scikit-learn `fit` in a loop starts a new model each time.

    Not flagged: per-item reads that are lazy on purpose (in `Dataset.__getitem__`, or a
    path that changes with the batch or the epoch, such as shards or per-epoch files),
    a loop that reads each item and runs the model on it straight away (streaming), reads
    before the loop, `torch.load` of a checkpoint, `np.memmap`, `load_dataset(...,
    streaming=True)` (a stream reads as it is iterated), files opened for writing
    or named like configs, logs and vocabularies, the run's own outputs read back (a
    metrics history, results, or any file the same loop writes before reading it, such
    as predictions saved and reloaded to score them), reads under a condition in the loop (a
    resume check, `if epoch == 0:`), which run rarely, and reads under any condition in a
    called helper or hook (a cache check). A path the rule cannot follow (an f-string, an
    index into a list, the batch a hook is given) counts as changing, and so does a random
    draw (`random.sample(paths, n)`, `random.choice(shards)`, `df.sample(...)`): a new
    subset each epoch is resampling, not a reload.

    ## Why it costs energy
    Reading and parsing a CSV, decoding images or unpickling tensors costs disk I/O and CPU
    time, and the GPU waits while it happens. Done once per epoch or per step, the same
    work is repeated tens to thousands of times for an identical result.

    ## Example
    ```python
    for epoch in range(epochs):
        df = pd.read_csv("data/train.csv")
        loader = DataLoader(TabularDataset(df), batch_size=256, shuffle=True)
        for x, y in loader:
            ...
    ```

    ## Use instead
    ```python
    df = pd.read_csv("data/train.csv")
    loader = DataLoader(TabularDataset(df), batch_size=256, shuffle=True)
    for epoch in range(epochs):
        for x, y in loader:
            ...
    ```

    ## Evidence
    Mohan et al., "Analyzing and Mitigating Data Stalls in DNN Training", PVLDB 14(5),
    2021: fetching and preprocessing data, repeated every epoch, stalls the GPU for a
    large share of training time; caching removes repeated reads. Tactic T27 (minimize
    referencing to data) of Järvenpää et al., ICSE-SEIS 2024, doi:10.1145/3639475.3640111.
    """

    code = "GL504"
    name = "data-reload-in-loop"
    summary = "Dataset read from disk again on every epoch or step"
    tactics = ("T27",)

    def check(self, project: Project) -> Iterator[Finding]:
        modules = ml.module_classes(project)
        training = _training(project, modules)
        reported: set[tuple[str, int, int]] = set()
        for finding in self._findings(project, training, modules):
            if (finding.path, finding.line, finding.column) not in reported:
                reported.add((finding.path, finding.line, finding.column))
                # a read per epoch costs what the epochs add up to: graded like the speed rules
                yield long_run.graded(finding, long_run.evidence(project, project.files[finding.path], corroborated=True))

    def _findings(self, project: Project, training: _Training, modules: frozenset[str]) -> Iterator[Finding]:
        for facts in project.python_files():
            loops = training.loops.get(facts.path, {})
            if loops:
                for call in facts.calls:
                    finding = self._direct(facts, call, training, modules)
                    if finding is not None:
                        yield finding
                for site, callee in self._helper_calls(project, facts, loops):
                    yield from self._helper(project, site, callee, modules, training, _every(training, site))
            for hook, every in _lightning_hooks(facts):
                yield from self._in_hook(project, facts, hook, every, training, modules)

    # -- reads written in the training loop ----------------------------------------------

    def _direct(self, facts: FileFacts, call: Call, training: _Training, modules: frozenset[str]) -> Finding | None:
        if call.loop is None or not _is_read(facts, call):
            return None
        loops_here = training.loops.get(facts.path, {})
        chain = list(facts.loop_chain(call.loop))
        loops = [loop for loop in chain if loop.id in loops_here]
        if not loops or _guarded(facts, call, loops[-1]):
            return None
        where = _Where(facts, call.scope, call.statement, chain, loops_here)
        if not _same_data(where, call, modules) or _written_in(facts, call, loops[-1]):
            return None
        innermost = loops[0]
        every = "training step" if innermost.id in training.steps.get(facts.path, set()) else "epoch"
        message = f"{_what(where, call)} runs on every {every} of the training loop at line {innermost.line}: {_again(where, call)}"
        return self.finding(facts.path, call.line, call.column, message, FIX, SAVING)

    # -- reads in functions the training loop calls --------------------------------------

    def _helper_calls(self, project: Project, facts: FileFacts, training: dict[int, Loop]) -> Iterator[tuple[Located, str]]:
        """Calls made on every epoch or step that reach a project function (or constructor)."""
        for call in facts.calls:
            if call.loop is None:
                continue
            loops = [loop for loop in facts.loop_chain(call.loop) if loop.id in training]
            if not loops or _guarded(facts, call, loops[-1]):
                continue
            callee = _callee(project, facts, call)
            if callee is not None:
                yield Located(facts, call), callee

    def _helper(
        self, project: Project, site: Located, callee: str, modules: frozenset[str], training: _Training, every: str,
        site_params: Callable[[str], bool] | None = None,
    ) -> Iterator[Finding]:
        """Reads of a function called once per epoch or step, outside its own training loops."""
        helper_facts, function = project.functions[callee]
        if function.name in LAZY_SCOPES or any("cache" in d.lower() for d in function.decorators):
            return
        params = _parameter_values(site, function)
        site_loops = list(site.file.loop_chain(site.call.loop))
        site_where = _Where(site.file, site.call.scope, site.call.statement, site_loops,
                            training.loops.get(site.file.path, {}), site_params)

        def stable_param(name: str) -> bool:
            value = params.get(name)
            return value is None or _stable_value(site_where, value, modules, 1)

        helper_loops = training.loops.get(helper_facts.path, {})
        for call in helper_facts.calls:
            if call.scope != function.qualname or call.conditions or not _is_read(helper_facts, call):
                continue
            chain = list(helper_facts.loop_chain(call.loop))
            if any(loop.id in helper_loops for loop in chain) or any(
                l.id in helper_loops for loop in chain for l in _descendants(helper_facts, loop)
            ):
                continue  # inside the helper's own training loop: found directly there
            where = _Where(helper_facts, call.scope, call.statement, chain, {}, stable_param)
            if not _same_data(where, call, modules):
                continue
            caller = f"{function.class_name}(...)" if function.name == "__init__" and function.class_name else f"{function.qualname}()"
            through = (
                f"the call {caller} in the training loop ({site.file.path}:{site.call.line})" if site.call.loop is not None
                else f"the call {caller} in {site.call.scope}() ({site.file.path}:{site.call.line})"
            )
            message = f"{_what(where, call)} in {function.qualname}() runs on every {every}, through {through}: {_again(where, call)}"
            yield self.finding(helper_facts.path, call.line, call.column, message, FIX, SAVING)

    # -- reads in Lightning hooks that run every step or epoch ---------------------------

    def _in_hook(
        self, project: Project, facts: FileFacts, hook: Function, every: str, training: _Training, modules: frozenset[str]
    ) -> Iterator[Finding]:
        """A LightningModule's ``training_step`` runs once per batch, its epoch hooks once per
        epoch: a read there, or in a helper it calls, repeats that often."""
        changing = set(hook.params) - {"self"}  # batch, batch_idx, outputs: new on every call

        def stable_param(name: str) -> bool:
            return name not in changing

        for call in facts.calls:
            if call.scope != hook.qualname or call.conditions:
                continue
            if _is_read(facts, call):
                where = _Where(facts, call.scope, call.statement, list(facts.loop_chain(call.loop)), {}, stable_param)
                if _same_data(where, call, modules):
                    message = (
                        f"{_what(where, call)} in {hook.qualname}() runs on every {every} (Lightning calls "
                        f"{hook.name} once per {'batch' if every.endswith('step') else 'epoch'}): {_again(where, call)}"
                    )
                    yield self.finding(facts.path, call.line, call.column, message, FIX, SAVING)
                continue
            callee = _callee(project, facts, call) if call.loop is None else None
            if callee is not None and callee != function_key(facts.module, hook.qualname):
                yield from self._helper(project, Located(facts, call), callee, modules, training, every, stable_param)


# -- which loops train, and how often each iteration runs ----------------------------------


@dataclass
class _Training:
    """The project's training loops as this rule sees them, computed once per check.

    ``loops`` maps a file's path to its loops that run once per epoch or per step (loop id
    -> loop), including epoch loops whose steps run in a called function (``for epoch in
    ...: train(model, loader)``) and excluding loops that train a whole model per
    iteration (folds, trials, seeds), where a read costs little beside the run itself.
    ``steps`` holds, per path, the ids of those loops whose every iteration is one step.
    """

    loops: dict[str, dict[int, Loop]]
    steps: dict[str, set[int]]


def _training(project: Project, modules: frozenset[str]) -> _Training:
    step_functions = _functions_running(project, _step_functions(project))
    steps: dict[str, set[int]] = {}
    for facts in project.python_files():
        ids = {c.loop for c in facts.calls if c.loop is not None and _is_step(c)}
        if ids:
            steps[facts.path] = ids
    for key in step_functions:
        for site in project.call_sites.get(key, ()):
            if site.call.loop is not None:
                steps.setdefault(site.file.path, set()).add(site.call.loop)
    epoch_functions = _functions_running(project, _epoch_functions(project, steps))
    starts: dict[str, set[int]] = {path: set(ids) for path, ids in steps.items()}
    for key in epoch_functions:
        for site in project.call_sites.get(key, ()):
            if site.call.loop is not None and _counts_epochs(site, project.functions[key][1]):
                starts.setdefault(site.file.path, set()).add(site.call.loop)
    for facts in project.python_files():
        if facts.imported_roots & {"keras", "tensorflow", "tf_keras"}:
            for call in facts.calls:  # for chunk in range(40): model.fit(x, y, epochs=5)
                if call.loop is not None and call.method == "fit" and _keras_model(facts, call.receiver, modules):
                    starts.setdefault(facts.path, set()).add(call.loop)
    loops: dict[str, dict[int, Loop]] = {}
    for path, ids in starts.items():
        facts = project.files[path]
        found: dict[int, Loop] = {}
        for start in ids:
            for loop in facts.loop_chain(start):
                if _trains_whole_runs(facts, loop, modules):
                    break
                found[loop.id] = loop
        if found:
            loops[path] = found
    return _Training(loops, {path: ids & loops.get(path, {}).keys() for path, ids in steps.items()})


def _is_step(call: Call) -> bool:
    return ml.is_backward(call) or (call.method in STEP_METHODS and bool(call.receiver))


def _step_functions(project: Project) -> set[str]:
    """Functions one call of which takes one training step: a backward pass outside any loop."""
    return {
        function_key(facts.module, call.scope)
        for facts in project.python_files() for call in facts.calls
        if call.loop is None and call.scope and _is_step(call) and function_key(facts.module, call.scope) in project.functions
    }


def _epoch_functions(project: Project, steps: dict[str, set[int]]) -> set[str]:
    """Functions one call of which runs one pass of steps: a step loop not nested in another loop."""
    found: set[str] = set()
    for path, ids in steps.items():
        facts = project.files[path]
        for loop_id in ids:
            loop = facts.loops[loop_id]
            key = function_key(facts.module, loop.scope)
            if loop.parent is None and loop.scope and key in project.functions:
                found.add(key)
    return found


def _functions_running(project: Project, keys: set[str], depth: int = 3) -> set[str]:
    """The functions given and those that call one of them outside any loop, a few calls up
    (``def run_epoch(): train_one_epoch(); validate()`` runs one epoch as well)."""
    found, frontier = set(keys), set(keys)
    for _ in range(depth):
        callers = {
            function_key(site.file.module, site.call.scope)
            for key in frontier for site in project.call_sites.get(key, ())
            if site.call.loop is None and site.call.scope
        }
        frontier = {key for key in callers if key in project.functions} - found
        if not frontier:
            break
        found |= frontier
    return found


def _keras_model(facts: FileFacts, name: str, modules: frozenset[str]) -> bool:
    """Is ``name`` a Keras model, whose ``fit`` continues training (a scikit-learn ``fit``
    starts again from scratch)? Named like a model, or bound to ``keras.Sequential``,
    ``keras.Model`` or ``load_model``."""
    if not name or name.startswith("?"):
        return False
    if ml.holds_model(facts, name, modules, frozenset()):
        return True
    return any(
        a.target == name and a.value.kind == "call" and a.value.text.split(".")[0] in ("keras", "tensorflow", "tf_keras")
        and a.value.text.rpartition(".")[2] in ("Sequential", "Model", "load_model", "clone_model")
        for a in facts.assignments
    )


def _counts_epochs(site: Located, callee: Function) -> bool:
    """Does a loop that calls a whole pass over the data read as an epoch loop? Its target or
    bound says epoch, or the function is named for one (``train_one_epoch``). A function
    whose single loop runs all of training (``for it in range(max_iters)``), called in
    ``for i in range(repeats)``, would otherwise make every repeat look like an epoch."""
    loop = site.file.loops[site.call.loop]
    said = " ".join((*loop.targets, loop.iter_shape)).lower()
    return "epoch" in said or "epoch" in callee.name.lower() or any(
        "epoch" in v.text.lower() for a in site.call.args for v in a.value.walk() if v.kind in ("name", "attribute")
    )


def _trains_whole_runs(facts: FileFacts, loop: Loop, modules: frozenset[str]) -> bool:
    """Does each iteration train a model of its own (cross-validation folds, trials, seeds,
    a hyperparameter sweep)? Its loop target says so, or its body builds a model or an
    optimizer unconditionally (a wrapper built under ``if step % 500 == 0:`` to sample
    from the model does not count)."""
    if any(RUN_TARGET.fullmatch(target) for target in loop.targets):
        return True
    for call in ml.calls_in_loop(facts, loop, direct=True):
        if call.guards:
            continue
        if ml.builds_torch_optim(call):
            return True
        if call.target and ml.builds_model(call.name, modules) and ml.holds_model(facts, call.target, modules, frozenset()):
            return True
        if call.target and _builds_estimator(call):
            return True
        if call.target and ml.holds_model(facts, call.target, modules, frozenset()) and call.method.lower().startswith(MODEL_FACTORIES):
            return True  # model = build_model(units)
    return False


def _builds_estimator(call: Call) -> bool:
    """A fresh scikit-learn, gradient-boosting or Keras model: ``MiniBatchKMeans(...)``, ``keras.Sequential``."""
    root = call.name.split(".")[0]
    if root in ("sklearn", "xgboost", "lightgbm", "catboost"):
        return call.method[:1].isupper() and not any(part in call.name for part in (".preprocessing.", ".model_selection.", ".metrics."))
    return root in ("keras", "tensorflow", "tf_keras") and call.method in ("Sequential", "Model")


def _every(training: _Training, site: Located) -> str:
    return "training step" if site.call.loop in training.steps.get(site.file.path, set()) else "epoch"


def _lightning_hooks(facts: FileFacts) -> Iterator[tuple[Function, str]]:
    """``training_step`` and the epoch hooks of LightningModule subclasses in this file."""
    lightning = {cls.name for cls in facts.classes if any(base.endswith("LightningModule") for base in cls.bases)}
    for function in facts.functions:
        if function.class_name in lightning:
            if function.name in STEP_HOOKS:
                yield function, "training step" if function.name == "training_step" else "validation step"
            elif function.name in EPOCH_HOOKS:
                yield function, "epoch"


# -- what counts as a read ---------------------------------------------------------------------


def _is_read(facts: FileFacts, call: Call) -> bool:
    name = call.name
    if name in IN_MEMORY_DATASETS:
        return True
    if not name.startswith("pandas.read_") and name not in READERS:
        return False
    if any(OUTPUTS.search(_text(v)) for v in _inputs(call)):
        return False  # pd.read_csv("runs/history.csv"): the run's own metrics, read back to plot
    if name.startswith("pandas.read_"):
        return True
    if name in ("open", "io.open"):
        mode = call.argument("mode", 1)
        if mode is not None and (mode.kind != "literal" or not isinstance(mode.literal, str) or set(mode.literal) & set("wax+")):
            return False
        return not any(NOT_DATA.search(_text(v)) for v in _inputs(call))
    if name == "torch.load":
        return not _restores_checkpoint(facts, call)
    if name == "numpy.load" and call.keyword("mmap_mode") is not None:
        return False
    if name == "datasets.load_dataset" and _literal_true(call.keyword("streaming")):
        return False  # a streaming dataset reads nothing until iterated: rebuilding it restarts the stream
    return True


def _literal_true(value: Value | None) -> bool:
    return value is not None and value.kind == "literal" and value.literal is True


def _written_in(facts: FileFacts, read: Call, loop: Loop) -> bool:
    """Does the loop also write the file it reads (``df.to_csv(path)`` ... ``pd.read_csv(path)``)?
    Then each read sees what the loop wrote since: its own output, not the dataset again."""
    paths = {_text(v) for v in _inputs(read)}
    for call in ml.calls_in_loop(facts, loop):
        writes = call.method in WRITES or (call.name in ("open", "io.open") and not _is_read(facts, call))
        if call is not read and writes and any(_text(a.value) in paths for a in call.args if a.keyword not in ("*", "**")):
            return True
    return False


def _restores_checkpoint(facts: FileFacts, call: Call) -> bool:
    texts = [_text(v) for v in _inputs(call)] + [call.target or ""]
    if any(CHECKPOINT.search(text) for text in texts):
        return True
    for other in facts.calls:
        if other.scope != call.scope or other.method not in ("load_state_dict", "load"):
            continue
        for arg in other.args:
            for value in arg.value.walk():
                if (other.statement == call.statement and value.kind == "call" and value.text == "torch.load") or (
                    call.target and value.text.partition(".")[0] == call.target
                ):
                    return True
    return False


def _inputs(call: Call) -> list[Value]:
    return [a.value for a in call.args if a.keyword not in NOT_INPUTS and a.keyword not in ("*", "**")]


def _text(value: Value) -> str:
    return " ".join(str(v.literal) if v.kind == "literal" else v.text for v in value.walk())


def _whole_set(where: _Where, call: Call) -> str | None:
    """The iterable a read walks over when it reads every file of a list (a comprehension or loop)."""
    heads = {v.text.partition(".")[0] for value in _inputs(call) for v in value.walk() if v.kind in ("name", "attribute")}
    for op in where.facts.operations:
        if op.op == "for" and op.scope == where.scope and op.statement == where.statement and heads & set(op.left.split(", ")):
            return op.right
    for loop in where.chain:
        if loop.id not in where.training and heads & set(loop.targets):
            return loop.iter_shape
    return None


def _what(where: _Where, call: Call) -> str:
    over = _whole_set(where, call)
    return f"{_shown(call)} over {over}" if over else _shown(call)


def _again(where: _Where, call: Call) -> str:
    if _whole_set(where, call):
        return "the whole set is read from disk again each time"
    return "the same data is read from disk again each time"


def _shown(call: Call) -> str:
    short = {"PIL.Image.open": "Image.open", "numpy": "np", "pandas": "pd"}
    name = short.get(call.name) or call.name
    head, dot, rest = name.partition(".")
    return f"{short.get(head, head)}{dot}{rest}(...)"


# -- does the read see the same files every time? -------------------------------------------


def _same_data(where: _Where, call: Call, modules: frozenset[str]) -> bool:
    inputs = _inputs(call)
    return bool(inputs) and all(_stable_value(where, value, modules, 0) for value in inputs)


def _stable_value(where: _Where, value: Value, modules: frozenset[str], depth: int) -> bool:
    """Is the value the same on every iteration of the training loops around it?"""
    for part in value.walk():
        if part.kind in ("literal", "list", "dict") or (part.kind == "other" and part.items):
            continue  # containers and string concatenations: their parts are walked next
        if part.kind in ("name", "attribute", "call"):
            if part.kind == "call" and (not part.text or RANDOM.search(part.text)):
                return False
            if not _stable_name(where, part.text.partition(".")[0], modules, depth):
                return False
            continue
        return False  # f-strings, subscripts, arithmetic: cannot tell
    return True


def _stable_text(where: _Where, text: str, modules: frozenset[str], depth: int) -> bool:
    if "…" in text or "[" in text or RANDOM.search(text):
        return False
    return all(_stable_name(where, name, modules, depth) for name in IDENTIFIER.findall(text))


def _stable_name(where: _Where, name: str, modules: frozenset[str], depth: int) -> bool:
    if depth > 3:
        return False
    facts = where.facts
    for op in facts.operations:  # a comprehension variable: stable when its iterable is
        if op.op == "for" and op.scope == where.scope and op.statement == where.statement and name in op.left.split(", "):
            return _stable_text(where, op.right, modules, depth + 1)
    for index, loop in enumerate(where.chain):
        if name in loop.targets:
            if loop.id in where.training or loop.kind != "for":
                return False  # the epoch or the batch: changes every iteration
            if _streams(facts, loop, modules):
                return False  # a loop that reads an item and uses it at once is lazy, not a reload
            outer = _Where(facts, where.scope, -1, where.chain[index + 1:], where.training, where.params)
            return _stable_text(outer, loop.iter_shape, modules, depth + 1)
    chain_ids = {loop.id for loop in where.chain}
    for assignment in facts.assignments:
        if assignment.scope != where.scope or assignment.target != name:
            continue
        if assignment.value.kind == "call" and RANDOM.search(assignment.value.text):
            return False  # chosen = random.sample(paths, n): a new subset on every call
        if assignment.loop is None:
            continue
        if any(loop.id in chain_ids for loop in facts.loop_chain(assignment.loop)):
            value = assignment.value
            if not (value.is_literal or (value.kind in ("name", "attribute") and _stable_name(where, value.text.partition(".")[0], modules, depth + 1))):
                return False
    if where.params is not None and name in run_length.params_of(facts, where.scope):
        return where.params(name)
    return True


def _streams(facts: FileFacts, loop: Loop, modules: frozenset[str]) -> bool:
    """Does the loop run a model or a training step on each item it reads?"""
    holders = ml.model_holders(facts, modules)
    for call in facts.calls:
        if call.loop is not None and any(l.id == loop.id for l in facts.loop_chain(call.loop)):
            if ml.is_backward(call) or ml.is_model_call(facts, call, modules, holders):
                return True
    return False


def _guarded(facts: FileFacts, call: Call, outermost: Loop) -> bool:
    """Is the call under an ``if`` inside the training loop (a resume check, every N epochs)?"""
    if call.guards:
        return True
    for other in facts.calls:
        if other.loop == outermost.id:
            outside = len(other.conditions) - len(other.guards)
            return len(call.conditions) > outside
    return False


def _descendants(facts: FileFacts, loop: Loop) -> Iterator[Loop]:
    for other in facts.loops:
        if any(l.id == loop.id for l in facts.loop_chain(other.id)):
            yield other


# -- calls into project functions ------------------------------------------------------------


def _callee(project: Project, facts: FileFacts, call: Call) -> str | None:
    """The project function a call runs: a function, a method, or a class's ``__init__``."""
    key = project.resolve_call(facts, call)
    if key is not None:
        return key
    name = call.name
    if not name or name.startswith(("?", "self.")):
        return None
    if "." not in name:
        key = function_key(facts.module, f"{name}.__init__")
        return key if key in project.functions else None
    return project.resolve_qualified(f"{name}.__init__", facts)


def _parameter_values(site: Located, function: Function) -> dict[str, Value]:
    """Parameter name -> the value the call site passes for it."""
    params = list(function.params)
    if function.class_name is not None and params and params[0] in ("self", "cls"):
        params = params[1:]
    values: dict[str, Value] = {}
    position = 0
    for arg in site.call.args:
        if arg.keyword in ("*", "**"):
            return {name: Value("other") for name in params}
        if arg.keyword is None:
            if position < len(params):
                values[params[position]] = arg.value
            position += 1
        else:
            values[arg.keyword] = arg.value
    return values
