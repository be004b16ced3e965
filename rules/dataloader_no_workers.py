"""GL501 dataloader-no-workers: a GPU waiting on single-process data loading."""

from __future__ import annotations

from collections.abc import Iterator

from greenlint.analyzer import ml, small_data
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
    CUDA GPU (the file, or a project module that imports it, moves work to CUDA and runs a
    training loop or framework training). When `pin_memory` is also absent the message
    says so. Silent when `num_workers` comes from arguments or a config, when `**kwargs`
    are passed, on CPU-only code, and for a `TensorDataset` or a bare tensor: tensors
    already in memory need no reading or decoding, so workers would only add copies. Files
    that load only small bundled data sets (torchvision's MNIST family, scikit-learn's and
    Keras' toy sets, all held in memory) are not flagged either, nor loaders whose
    `collate_fn` is a Hugging Face collator (`default_data_collator`,
    `DataCollatorWithPadding`, ...) or a function that calls `tokenizer.pad`: their
    examples were tokenized ahead by `datasets.map`, and collation only pads and stacks ids.
    Benchmarks and profiling scripts (by path or function name) are left alone.

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
            if not loaders or small_data.only_small_data(facts) or not ml.runs_on_cuda(project, facts):
                continue
            if not _trains(project, facts):
                continue
            for call in loaders:
                finding = self._check_call(facts, call)
                if finding is not None:
                    yield finding

    def _check_call(self, facts: FileFacts, call: Call) -> Finding | None:
        if call.has_unpacking or _in_memory_tensors(facts, call) or _pretokenized(facts, call):
            return None
        if ml.is_benchmark(facts, call.scope):
            return None  # a benchmark times what it is about; its loader is beside the point
        workers = call.argument("num_workers", 5)
        if workers is not None and not (workers.kind == "literal" and workers.literal == 0):
            return None
        shown = "num_workers=0" if workers is not None else "no num_workers"
        message = f"DataLoader with {shown} loads every batch in the training process while the GPU waits"
        fix = "pass num_workers (about one per available CPU core) and persistent_workers=True"
        if call.keyword("pin_memory") is None:
            message += "; pin_memory is not set either"
            fix += ", and pin_memory=True for faster host-to-GPU copies"
        return self.finding(facts.path, call.line, call.column, message, fix, SAVING)


#: Datasets that are tensors already in memory: a batch is an index into them, with no
#: per-item reading or decoding for workers to take over (they would only add copies).
IN_MEMORY_DATASETS = ("TensorDataset",)
TENSOR_FACTORIES = frozenset({"tensor", "as_tensor", "from_numpy", "randn", "rand", "randint", "zeros", "ones", "arange",
                              "linspace", "stack", "cat"})


def _in_memory_tensors(facts: FileFacts, call: Call) -> bool:
    """Does the loader iterate a ``TensorDataset`` or a bare tensor?"""
    dataset = call.argument("dataset", 0)
    if dataset is None:
        return False
    if dataset.kind == "name":
        dataset = ml.resolve_name(facts, dataset.text, call.scope, call.line) or dataset
    if dataset.kind != "call":
        return False
    method = dataset.text.rpartition(".")[2]
    return method in IN_MEMORY_DATASETS or (dataset.text.startswith("torch.") and method in TENSOR_FACTORIES)


def _pretokenized(facts: FileFacts, call: Call) -> bool:
    """Batches of examples that ``datasets.map`` already tokenized, put together by a
    Hugging Face collator: collation only pads and stacks ids, so workers save little."""
    collate = call.keyword("collate_fn")
    if collate is None:
        return False
    if collate.kind == "name":
        collate = ml.resolve_name(facts, collate.text, call.scope, call.line) or collate
    name = collate.text
    if name.startswith("transformers.") and ("DataCollator" in name or name.endswith("default_data_collator")):
        return True
    # def collate_fn(examples): return tokenizer.pad(examples, ...): the same, written out
    return collate.kind == "name" and any(c.scope == name and c.method == "pad" and "token" in c.receiver.lower()
                                          for c in facts.calls)


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
