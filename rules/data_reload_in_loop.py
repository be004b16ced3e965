"""GL504 data-reload-in-loop: the same dataset read from disk again on every epoch or step."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from greenlint.analyzer import ml
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
        "librosa.load", "open", "io.open",
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
#: Lazy per-item access: reading here is what a Dataset should do.
LAZY_SCOPES = ("__getitem__", "__iter__", "__next__", "getitem")
IDENTIFIER = re.compile(r"(?<![\w.'\"])([A-Za-z_]\w*)")


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
    `Image.open`/`cv2.imread` over a whole list of files, and the like. Also found when the
    read sits in a function the training loop calls (a `load_data()` helper, a Dataset
    constructor, the top of a `train_one_epoch()` called once per epoch) and the files it
    is given do not change between calls. The read call is reported.

    Not flagged: per-item reads that are lazy on purpose (in `Dataset.__getitem__`, or a
    path that changes with the batch or the epoch, such as shards or per-epoch files),
    a loop that reads each item and runs the model on it straight away (streaming), reads
    before the loop, `torch.load` of a checkpoint, `np.memmap`, files opened for writing
    or named like configs, logs and vocabularies, reads under a condition in the loop (a
    resume check, `if epoch == 0:`), which run rarely, and reads under any condition in a
    called helper (a cache check). A path the rule cannot follow (an f-string, an index
    into a list) counts as changing.

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
        reported: set[tuple[str, int, int]] = set()
        for facts in project.python_files():
            training = ml.training_loops(facts)
            if not training:
                continue
            for call in facts.calls:
                finding = self._direct(facts, call, training, modules)
                if finding is not None and (finding.path, finding.line, finding.column) not in reported:
                    reported.add((finding.path, finding.line, finding.column))
                    yield finding
            for site, callee in self._helper_calls(project, facts, training):
                for finding in self._helper(project, site, callee, modules):
                    if (finding.path, finding.line, finding.column) not in reported:
                        reported.add((finding.path, finding.line, finding.column))
                        yield finding

    # -- reads written in the training loop ----------------------------------------------

    def _direct(self, facts: FileFacts, call: Call, training: dict[int, Loop], modules: frozenset[str]) -> Finding | None:
        if call.loop is None or not _is_read(facts, call):
            return None
        chain = list(facts.loop_chain(call.loop))
        loops = [loop for loop in chain if loop.id in training]
        if not loops or _guarded(facts, call, loops[-1]):
            return None
        where = _Where(facts, call.scope, call.statement, chain, training)
        if not _same_data(where, call, modules):
            return None
        innermost = loops[0]
        every = "training step" if innermost.id in {l.id for l in ml.step_loops(facts)} else "epoch"
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

    def _helper(self, project: Project, site: Located, callee: str, modules: frozenset[str]) -> Iterator[Finding]:
        helper_facts, function = project.functions[callee]
        if function.name in LAZY_SCOPES or any("cache" in d.lower() for d in function.decorators):
            return
        params = _parameter_values(site, function)
        site_loops = list(site.file.loop_chain(site.call.loop))
        site_where = _Where(site.file, site.call.scope, site.call.statement, site_loops, ml.training_loops(site.file))

        def stable_param(name: str) -> bool:
            value = params.get(name)
            return value is None or _stable_value(site_where, value, modules, 1)

        helper_steps = {l.id for l in ml.step_loops(helper_facts)}
        for call in helper_facts.calls:
            if call.scope != function.qualname or call.conditions or not _is_read(helper_facts, call):
                continue
            chain = list(helper_facts.loop_chain(call.loop))
            if any(loop.id in helper_steps or any(l.id in helper_steps for l in _descendants(helper_facts, loop)) for loop in chain):
                continue  # inside the helper's own training loop: found directly there
            where = _Where(helper_facts, call.scope, call.statement, chain, {}, stable_param)
            if not _same_data(where, call, modules):
                continue
            every = "training step" if site.call.loop in {l.id for l in ml.step_loops(site.file)} else "epoch"
            caller = f"{function.class_name}(...)" if function.name == "__init__" and function.class_name else f"{function.qualname}()"
            message = (
                f"{_what(where, call)} in {function.qualname}() runs on every {every}, through the call {caller} "
                f"in the training loop ({site.file.path}:{site.call.line}): {_again(where, call)}"
            )
            yield self.finding(helper_facts.path, call.line, call.column, message, FIX, SAVING)


# -- what counts as a read ---------------------------------------------------------------------


def _is_read(facts: FileFacts, call: Call) -> bool:
    name = call.name
    if name.startswith("pandas.read_"):
        return True
    if name not in READERS:
        return False
    if name in ("open", "io.open"):
        mode = call.argument("mode", 1)
        if mode is not None and (mode.kind != "literal" or not isinstance(mode.literal, str) or set(mode.literal) & set("wax+")):
            return False
        return not any(NOT_DATA.search(_text(v)) for v in _inputs(call))
    if name == "torch.load":
        return not _restores_checkpoint(facts, call)
    if name == "numpy.load" and call.keyword("mmap_mode") is not None:
        return False
    return True


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
        if part.kind == "literal" or part.kind == "list" or part.kind == "dict":
            continue
        if part.kind in ("name", "attribute", "call"):
            if part.kind == "call" and not part.text:
                return False
            if not _stable_name(where, part.text.partition(".")[0], modules, depth):
                return False
            continue
        return False  # f-strings, subscripts, arithmetic: cannot tell
    return True


def _stable_text(where: _Where, text: str, modules: frozenset[str], depth: int) -> bool:
    if "…" in text or "[" in text:
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
        if assignment.scope != where.scope or assignment.target != name or assignment.loop is None:
            continue
        if any(loop.id in chain_ids for loop in facts.loop_chain(assignment.loop)):
            value = assignment.value
            if not (value.is_literal or (value.kind in ("name", "attribute") and _stable_name(where, value.text.partition(".")[0], modules, depth + 1))):
                return False
    if where.params is not None and name in _params_of(facts, where.scope):
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


def _params_of(facts: FileFacts, scope: str) -> tuple[str, ...]:
    for function in facts.functions:
        if function.qualname == scope:
            return function.params
    return ()


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
