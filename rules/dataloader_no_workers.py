"""GL501 dataloader-no-workers: a GPU waiting on single-process data loading."""

from __future__ import annotations

import re
from collections.abc import Iterator

from greenlint.analyzer import long_run, ml, small_data
from greenlint.analyzer.dataset_work import DatasetWork, dataset_work, function_does_work
from greenlint.analyzer.facts import Call, FileFacts
from greenlint.analyzer.project import Project
from greenlint.findings import Confidence, Finding, Saving
from greenlint.rules.base import Rule

SAVING = Saving(
    text="worker processes load and collate the next batches while the GPU computes, so it stops idling between steps",
    source="PyTorch Performance Tuning Guide (Szymon Migacz), 'Enable async data loading and augmentation'",
)
DATALOADERS = frozenset({"torch.utils.data.DataLoader", "torch.utils.data.dataloader.DataLoader"})


class DataloaderNoWorkers(Rule):
    """
    ## What it does
    Finds a PyTorch `DataLoader` with `num_workers` absent or `0` in code that trains on a
    CUDA GPU (the file, or a project module that imports it, moves work to CUDA, or tells a
    framework `accelerator="gpu"`, and runs a training loop or framework training), over a
    dataset that does work per item. When `pin_memory` is also absent the message says so.
    When the `collate_fn` (also one bound with `functools.partial`) moves each batch to the
    GPU itself, workers cannot run it (a forked worker cannot use CUDA), and the message
    and fix say to move that copy into the training loop first.

    It reads the dataset argument back to where it was built. A project `Dataset` whose
    `__getitem__` (or `__iter__`) opens files, decodes or augments images, or tokenizes
    text, a torchvision data set, a Hugging Face split with `set_transform`, and a
    `collate_fn` that tokenizes or decodes are all per-item work. It stays silent when
    there is none for workers to take over: a `TensorDataset` or tensor, a Python list of
    ready samples (`[(feature, label) for ...]`: features extracted ahead, a few images
    gathered for a figure), batches of
    indices (`range(num_edges)`, an index tensor named like `train_idx`, whose step
    gathers features already on the GPU: graph node and edge batches), a project dataset
    that only indexes arrays or tensors it holds (random-sequence tasks, tabular sets read
    once in `__init__`, replay buffers), splits processed ahead by `datasets.map` or set
    to hand out token ids as tensors (`tokenized.set_format("torch")` in a file that
    tokenizes), and
    loaders whose `collate_fn` is a Hugging Face collator or a function that only pads
    (`tokenizer.pad`, `pad_sequence`). It is also silent on small bundled sets (MNIST and
    its kin, Hugging Face sets of at most about 10,000 examples, data files kept in the
    repository of at most 1 MB in all, or a data module that loads only those), when
    `num_workers` comes from
    arguments or a config, when `**kwargs` are passed, on CPU-only code, on a loader that
    only draws one batch (`next(iter(loader))`) for a figure, on test loaders (named
    `test_loader`, or built in `test_dataloader()`: the test split is read once, after
    training), on a loader read once for normalisation statistics by loops that train
    nothing and then replaced by the training loader, or built inline at the default
    batch size of one in a function that trains nothing (`torch.cat([x for x, _ in
    DataLoader(train_set)])` gathers the images once for their statistics), and in benchmarks and profiling
    scripts. A written-out `num_workers=0` is reported only when the per-item
    work is evident: the author chose it, and for data in memory it is the right choice.

    Nor are files that train on random tensors only, or notebooks whose saved outputs
    record the whole training as under 10 minutes. The finding says what shows the run is
    long, in this file or in the scripts that import it: a fact (a recorded time, 50,000
    iterations) or two agreeing signs (`(long run: 60 epochs, a model of 10.5 M
    parameters)`: a loader module used by a 60-epoch script of a 10 M-parameter CNN; one
    sign alone is a guess); where nothing does, it has low confidence: `check`
    counts it, and lists it with `--min-confidence low`.
    A program that uses the GPU only when a `store_true` flag asks for it (`--cuda`,
    `--accel`) runs on the CPU by default: its findings are low confidence too, and say so.

    ## Why it costs energy
    With `num_workers=0` every batch is read, decoded, augmented and collated in the
    training process between GPU steps. The GPU sits idle, still drawing power, while the
    CPU prepares the next batch; the run takes longer for the same work.

    ## Example
    ```python
    loader = DataLoader(train_set, batch_size=128, shuffle=True)
    ```

    ## Use instead
    ```python
    loader = DataLoader(train_set, batch_size=128, shuffle=True,
                        num_workers=min(8, os.cpu_count() or 1), pin_memory=True,
                        persistent_workers=True)
    ```
    Start with about one worker per CPU core available to the job and raise it until the
    GPU utilisation stops rising.

    ## Evidence
    PyTorch Performance Tuning Guide: asynchronous data loading with `num_workers > 0` and
    pinned memory. Tactic T27 (minimize referencing to data) of Järvenpää et al., ICSE-SEIS
    2024, doi:10.1145/3639475.3640111.
    """

    code = "GL501"
    name = "dataloader-no-workers"
    summary = "DataLoader feeding CUDA training loads data in the main process"
    tactics = ("T27",)
    confidence = Confidence.HIGH

    def check(self, project: Project) -> Iterator[Finding]:
        for facts in project.python_files():
            loaders = [c for c in facts.calls if _is_dataloader(facts, c)]
            if not loaders or small_data.trains_on_small_data(project, facts) or not ml.runs_on_cuda(project, facts):
                continue
            if long_run.shown_short(project, facts):
                continue  # a notebook records minutes of training, or the data is random tensors
            if not _trains(project, facts):
                continue
            for call in loaders:
                finding = self._check_call(project, facts, call)
                if finding is not None:
                    yield long_run.graded(finding, long_run.evidence(project, facts, corroborated=True), ml.gpu_on_request(project, facts))

    def _check_call(self, project: Project, facts: FileFacts, call: Call) -> Finding | None:
        if call.has_unpacking or _pretokenized(facts, call):
            return None
        if ml.is_benchmark(facts, call.scope) or _single_batch(facts, call) or _test_loader(call):
            return None  # a benchmark times what it is about; one batch for a plot needs no workers
        if _statistics_pass(facts, call) or _inline_pass(facts, call):
            return None  # one pass for the normalisation statistics, before the real loader
        workers = call.argument("num_workers", 5)
        if workers is not None and not (workers.kind == "literal" and workers.literal == 0):
            return None
        work = _work(project, facts, call)
        if work in (DatasetWork.IN_MEMORY, DatasetWork.SMALL) or (workers is not None and work is not DatasetWork.READS):
            return None  # nothing per item for workers to do, or a written-out 0 we cannot fault
        shown = "num_workers=0" if workers is not None else "no num_workers"
        message = f"DataLoader with {shown} loads every batch in the training process while the GPU waits"
        fix = "pass num_workers (about one per available CPU core) and persistent_workers=True"
        collate = _collate_function(facts, call)
        if collate is not None and _moves_to_gpu(facts, collate):
            message += "; its collate_fn moves each batch to the GPU, which worker processes cannot do"
            fix = f"move the device copy out of {collate.rpartition('.')[2]}() into the training loop, then {fix}"
        elif call.keyword("pin_memory") is None:
            message += "; pin_memory is not set either"
            fix += ", and pin_memory=True for faster host-to-GPU copies"
        return self.finding(facts.path, call.line, call.column, message, fix, SAVING)


def _work(project: Project, facts: FileFacts, call: Call) -> DatasetWork:
    """What producing a batch costs: the dataset's per-item work, or the collate function's."""
    collate = _collate_function(facts, call)
    if collate is not None and function_does_work(facts, collate):
        return DatasetWork.READS  # tokenizing or decoding whole batches in the loop's process
    return dataset_work(project, facts, call.argument("dataset", 0), call.scope, call.line)


def _collate_function(facts: FileFacts, call: Call) -> str | None:
    """The function of this file passed as ``collate_fn``: named directly, bound by
    ``functools.partial``, or the nested function a factory returns
    (``collate_fn=get_collate_fn(pad_index)``)."""
    collate = call.keyword("collate_fn")
    if collate is not None and collate.kind == "name":
        direct = _local_function(facts, collate.text, call.scope)
        if direct is not None:
            return direct
        collate = ml.resolve_with_arguments(facts, collate.text, call.scope, call.line)
    if collate is None or collate.kind != "call":
        return None
    if collate.text == "functools.partial" and collate.args and collate.args[0].value.kind == "name":
        return _local_function(facts, collate.args[0].value.text, call.scope)  # partial(make_batch, tokenizer=...)
    factory = _local_function(facts, collate.text, call.scope)
    nested = [f.qualname for f in facts.functions if factory and f.qualname.startswith(factory + ".")]
    return nested[0] if len(nested) == 1 else None


def _moves_to_gpu(facts: FileFacts, function: str) -> bool:
    """Does the function put tensors on the GPU (``.cuda()``, ``.to("cuda:0")``,
    ``.to(device)``)? A CUDA context cannot be used in forked loader workers, so such a
    collate function must leave the copy to the loop before workers can build batches."""
    for call in facts.calls:
        if call.scope != function:
            continue
        if call.method == "cuda":
            return True
        if call.method == "to" and call.args:
            target = call.args[0].value
            if target.kind == "literal" and isinstance(target.literal, str) and target.literal.startswith("cuda"):
                return True
            if target.kind in ("name", "attribute") and "device" in target.text.rpartition(".")[2]:
                return True
    return False


def _local_function(facts: FileFacts, name: str, scope: str) -> str | None:
    """The qualified name of a function ``name`` visible from ``scope`` in this file."""
    names = {f.qualname for f in facts.functions}
    for candidate in (f"{scope}.{name}" if scope else name, name):
        if candidate in names:
            return candidate
    return None


def _pretokenized(facts: FileFacts, call: Call) -> bool:
    """Batches of examples tokenized ahead (by ``datasets.map``), put together by a Hugging
    Face collator or a function that only pads them (``tokenizer.pad``, ``pad_sequence``):
    collation only pads and stacks ids, so workers save little."""
    collate = call.keyword("collate_fn")
    if collate is None:
        return False
    if collate.kind == "name":
        collate = ml.resolve_name(facts, collate.text, call.scope, call.line) or collate
    name = collate.text
    if name.startswith("transformers.") and ("DataCollator" in name or name.endswith("default_data_collator")):
        return True
    function = _collate_function(facts, call)
    if function is None or function_does_work(facts, function):
        return False
    return any(c.scope == function and (c.method == "pad" and "token" in c.receiver.lower() or c.method == "pad_sequence")
               for c in facts.calls)


TEST_NAME = re.compile(r"(^|_)test(_|$|loader|set|data)", re.IGNORECASE)


def _test_loader(call: Call) -> bool:
    """``test_loader = DataLoader(test_set)`` or ``def test_dataloader(self)``: the test
    split is read once, after training; its loading is a small share of the run."""
    names = [call.target or "", call.scope.rpartition(".")[2]]
    return any(TEST_NAME.search(name) and "train" not in name.lower() for name in names)


def _single_batch(facts: FileFacts, call: Call) -> bool:
    """``batch = next(iter(loader))`` with no loop over the loader in that function: one
    batch drawn for a figure or a shape check."""
    name = call.target
    if not name:
        return False
    drawn = any(c.name == "iter" and c.scope == call.scope and c.args and c.args[0].value.text == name
                for c in facts.calls)
    looped = any(loop.scope == call.scope and loop.iter is not None
                 and any(v.kind == "name" and v.text == name for v in loop.iter.walk()) for loop in facts.loops)
    return drawn and not looped


def _inline_pass(facts: FileFacts, call: Call) -> bool:
    """A loader built inline at the default batch size of one, in a function that trains
    nothing: ``torch.cat([image for image, _ in DataLoader(train_set)])`` gathers the
    images once for their mean and standard deviation."""
    if call.target or call.keyword("batch_size") is not None or len([a for a in call.args if a.keyword is None]) > 1:
        return False
    return not any(c.scope == call.scope and ml.is_backward(c) for c in facts.calls)


#: Calls that only iterate or measure a loader, as a loop over it does.
ITERATING = frozenset({"enumerate", "iter", "len", "zip", "tqdm", "trange"})


def _statistics_pass(facts: FileFacts, call: Call) -> bool:
    """A loader read once for statistics and then replaced: ``train_loader`` is iterated
    only by loops that train nothing (a mean and standard deviation over the images) and
    rebound to another DataLoader below, which the training uses."""
    name = call.target
    if not name:
        return False
    rebound = [c.line for c in facts.calls if c.target == name and c.scope == call.scope and c.line > call.line
               and _is_dataloader(facts, c)]
    if not rebound:
        return False
    end = min(rebound)
    uses = [loop for loop in facts.loops if loop.scope == call.scope and call.line < loop.line < end
            and loop.iter is not None and any(v.kind == "name" and v.text == name for v in loop.iter.walk())]
    steps = {loop.id for loop in ml.step_loops(facts)}
    passed = any(c.scope == call.scope and call.line < c.line < end and c.method not in ITERATING
                 and any(v.kind == "name" and v.text == name for a in c.args for v in a.value.walk())
                 for c in facts.calls)
    return bool(uses) and not passed and not any(loop.id in steps for loop in uses)


def _is_dataloader(facts: FileFacts, call: Call) -> bool:
    if call.name in DATALOADERS:
        return True
    return call.name == "DataLoader" and "torch.utils.data.*" in facts.names


def _trains(project: Project, facts: FileFacts) -> bool:
    """Training in this file or in a project module that imports it."""
    paths = [facts.path, *project.importers.get(facts.module, ())]
    for path in paths:
        other = project.files[path]
        if ml.step_loops(other) or any(c.method in ("fit", "train") and c.receiver for c in other.calls):
            return True
    return False
