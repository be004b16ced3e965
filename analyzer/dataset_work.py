"""What a DataLoader's dataset does for each item: read and decode, or only index memory.

Loader workers pay off when producing a sample costs CPU time: opening a file, decoding an
image, augmenting it, tokenizing a text. A dataset whose ``__getitem__`` only slices
tensors or arrays already in memory (a random-sequence task, a tabular set read once in
``__init__``, a replay buffer, a corpus tokenized ahead by ``datasets.map``) gives workers
nothing to take over; they would only add processes and copies. This module reads the
dataset argument of a loader statically and says which of the two it is, or that it
cannot tell.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import Enum

from greenlint.analyzer import ml, small_data
from greenlint.analyzer.facts import Call, FileFacts, Value
from greenlint.analyzer.project import Project, function_key


class DatasetWork(Enum):
    """Per-item cost of a dataset, as far as the source shows it."""

    READS = "reads"  # opens, decodes, augments or tokenizes each item
    IN_MEMORY = "in memory"  # indexes data that is already in memory
    SMALL = "small"  # a small bundled set (MNIST and its kin): any loader keeps up
    UNKNOWN = "unknown"


#: Methods a dataset calls per item to produce a sample: reading and decoding files.
READ_METHODS = frozenset(
    {
        "open", "imread", "imdecode", "load", "loadtxt", "loadmat", "read", "read_image", "decode_image",
        "decode_jpeg", "read_file", "read_video", "read_csv", "read_parquet", "read_text", "read_bytes",
        "load_image", "convert", "resize", "crop",
    }
)
#: Libraries whose calls in ``__getitem__`` decode or augment media (``torch.nn.functional``
#: too: ``grid_sample``, ``interpolate`` and pooling are augmentation written in tensors).
READ_MODULES = (
    "PIL.", "cv2.", "torchvision.io.", "torchvision.transforms.", "torchaudio.", "librosa.", "imageio.",
    "torch.nn.functional.", "kornia.",
    "skimage.", "soundfile.", "h5py.", "albumentations.", "scipy.io.", "nibabel.", "pydicom.",
)
#: Words in a called name that mean per-item preprocessing: ``self.transform(img)``,
#: ``self.tokenizer(text)``, ``processor(images=...)``.
WORK_WORDS = ("transform", "augment", "processor", "tokeniz", "feature_extractor", "encode")
#: ``datasets`` methods that process a whole split ahead of training.
AHEAD_METHODS = frozenset({"map", "filter", "rename_column", "rename_columns", "remove_columns", "with_format",
                           "set_format", "select", "shuffle", "train_test_split", "select_columns"})
#: ``datasets`` methods that set the type a split hands out (``set_format("torch")``).
FORMAT_METHODS = frozenset({"set_format", "with_format"})
#: ``datasets`` methods that defer processing to each access.
ON_ACCESS_METHODS = frozenset({"set_transform", "with_transform"})
#: Datasets that are tensors already in memory.
IN_MEMORY_DATASETS = frozenset({"TensorDataset", "StackDataset"})
TENSOR_FACTORIES = frozenset({"tensor", "as_tensor", "from_numpy", "randn", "rand", "randint", "zeros", "ones", "arange",
                              "linspace", "stack", "cat"})
ITEM_METHODS = ("__getitem__", "__getitems__", "__iter__", "__next__")


#: Names of index tensors (``train_idx``, ``edge_indices``): a loader over one hands out
#: batches of integers, and the training step gathers features and neighbours itself.
INDEX_NAME = re.compile(r"(?:^|[._])(?:idx|indices|index)$")


def dataset_work(project: Project, facts: FileFacts, dataset: Value | None, scope: str, line: int) -> DatasetWork:
    """Classify the dataset a loader iterates, following names assigned in this file."""
    if dataset is not None and dataset.kind in ("name", "attribute") and INDEX_NAME.search(dataset.text):
        return DatasetWork.IN_MEMORY  # batches of node or edge indices: the model gathers the rest
    value = _follow(facts, dataset, scope, line)
    work = DatasetWork.UNKNOWN
    if value is not None and value.kind in ("list", "comprehension"):
        return DatasetWork.IN_MEMORY  # a Python list of ready samples: features extracted ahead, a few images
    if value is not None and value.kind == "call":
        work = _call_work(project, facts, value, scope, line)
    elif value is not None and value.kind == "subscript":
        work = _split_work(facts, value, scope, line)
    if work is DatasetWork.UNKNOWN and _class_loads_only_small_sets(facts, scope):
        return DatasetWork.SMALL  # a data module's setup() splits MNIST into self.train/self.val
    return work


def function_does_work(facts: FileFacts, qualname: str) -> bool:
    """Does a function of this file (a ``collate_fn``, say) read, decode or tokenize?"""
    return any(_is_work(call) for call in _calls_in(facts, qualname))


def _follow(facts: FileFacts, value: Value | None, scope: str, line: int) -> Value | None:
    """Follow ``name = ...`` (and ``self.attr = ...`` in any method of the class) back to
    the expression that built the value."""
    for _ in range(4):
        if value is None or value.kind not in ("name", "attribute"):
            return value
        if value.kind == "attribute":
            resolved = _attribute_value(facts, value.text, scope)
        else:
            resolved = ml.resolve_with_arguments(facts, value.text, scope, line)
        if resolved is None:
            return value
        value = resolved
    return value


def _attribute_value(facts: FileFacts, name: str, scope: str) -> Value | None:
    """The value a method of the enclosing class stores in ``self.attr`` (the last one)."""
    owner = scope.split(".")[0] if name.startswith("self.") and scope else None
    if owner is None:
        return None
    stored = [a for a in facts.assignments if a.target == name and a.scope.startswith(owner + ".")]
    return stored[-1].value if stored else None


def _class_loads_only_small_sets(facts: FileFacts, scope: str) -> bool:
    """Do the methods of the loader's class load small bundled sets and nothing else?"""
    if "." not in scope:
        return False
    owner = scope.split(".")[0] + "."
    return small_data.only_small_sets(c for c in facts.calls if c.scope.startswith(owner))


def _call_work(project: Project, facts: FileFacts, value: Value, scope: str, line: int) -> DatasetWork:
    callee = value.text
    method = callee.rpartition(".")[2]
    if callee == "range" or method in IN_MEMORY_DATASETS or (callee.startswith("torch.") and method in TENSOR_FACTORIES):
        return DatasetWork.IN_MEMORY
    if callee.startswith("torchvision.datasets."):
        return DatasetWork.SMALL if method in small_data.TORCHVISION_SMALL_SETS else DatasetWork.READS
    partial = _follow(facts, Value("name", text=callee), scope, line) if "." not in callee else None
    if partial is not None and partial.kind == "call" and partial.text == "functools.partial" and partial.args:
        callee = partial.args[0].value.text  # dataset = partial(ReverseDataset, 10); dataset(5000)
    if method in AHEAD_METHODS and "." in callee:
        return _split_work(facts, Value("subscript", text=callee.rpartition(".")[0]), scope, line)
    methods = list(_item_methods(project, facts, callee))
    if not methods:
        return DatasetWork.UNKNOWN
    reads = any(function_does_work(owner, qualname) for owner, qualname in methods)
    return DatasetWork.READS if reads else DatasetWork.IN_MEMORY


def _split_work(facts: FileFacts, value: Value, scope: str, line: int) -> DatasetWork:
    """``tokenized["train"]``: processed ahead by ``datasets.map`` (in memory) unless a
    transform is set to run on each access."""
    name = value.text
    if any(c.receiver == name and c.method in ON_ACCESS_METHODS for c in facts.calls):
        return DatasetWork.READS
    if _formatted_tokens(facts, name):
        return DatasetWork.IN_MEMORY
    source = _follow(facts, Value("name", text=name), scope, line)
    for _ in range(4):
        if source is None or source.kind != "call":
            return DatasetWork.UNKNOWN
        receiver, _, method = source.text.rpartition(".")
        if method in ON_ACCESS_METHODS:
            return DatasetWork.READS
        if method in AHEAD_METHODS and receiver:
            if method == "map":
                return DatasetWork.IN_MEMORY
            source = _follow(facts, Value("name", text=receiver), scope, line)
            continue
        return DatasetWork.UNKNOWN
    return DatasetWork.UNKNOWN


def _formatted_tokens(facts: FileFacts, name: str) -> bool:
    """``tokenized.set_format("torch")`` in a file that tokenizes: the splits hold token
    ids, handed out as tensors straight from memory (Arrow); nothing per item to do."""
    tokenizes = any("tokeniz" in c.name.lower() for c in facts.calls)
    return tokenizes and any(c.receiver == name and c.method in FORMAT_METHODS for c in facts.calls)


def _item_methods(project: Project, facts: FileFacts, callee: str) -> Iterator[tuple[FileFacts, str]]:
    """The project's ``Class.__getitem__`` (and friends) for a dataset class name."""
    for method in ITEM_METHODS:
        key = function_key(facts.module, f"{callee}.{method}") if "." not in callee else None
        if key is None or key not in project.functions:
            key = project.resolve_qualified(f"{callee}.{method}", facts)
        if key is not None and key in project.functions:
            owner, function = project.functions[key]
            yield owner, function.qualname


def _calls_in(facts: FileFacts, qualname: str) -> Iterator[Call]:
    """Calls in a function, its nested functions and the methods of its class it calls."""
    owner = qualname.split(".")[0] if "." in qualname else None
    scopes = {qualname}
    for call in facts.calls:
        if owner and call.scope == qualname and call.name.startswith("self.") and call.name.count(".") == 1:
            scopes.add(f"{owner}.{call.name[5:]}")
    for call in facts.calls:
        if call.scope in scopes or any(call.scope.startswith(s + ".") for s in scopes):
            yield call


def _is_work(call: Call) -> bool:
    name = call.name.lower()
    if call.method in READ_METHODS or call.name.startswith(READ_MODULES):
        return True
    if call.method == "pad":  # tokenizer.pad only pads ids tokenized ahead
        return False
    return any(word in name for word in WORK_WORDS)
