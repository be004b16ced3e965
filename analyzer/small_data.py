"""The small data sets bundled with ML libraries, and whether code trains on nothing else.

MNIST-sized sets (tens of thousands of small samples, held in memory) train in minutes
whatever the epoch count or the loader. Rules whose advice pays off only on long runs
(checkpoints, mixed precision, loader workers) stay silent on code that trains on them
alone; their findings there would be right in principle and worthless in practice.
"""

from __future__ import annotations

from collections.abc import Iterable

from greenlint.analyzer.facts import Call, FileFacts, Value
from greenlint.analyzer.project import Project

#: Small data sets bundled with Keras and scikit-learn: they fit in memory and a model
#: trains on them in minutes whatever the epoch count, so a crash costs little to rerun.
#: CIFAR is left out: convnets on it train for hours.
KERAS_BUNDLED_SETS = frozenset({"mnist", "fashion_mnist", "boston_housing", "california_housing", "imdb", "reuters"})
SKLEARN_BUNDLED_SETS = frozenset(
    {"load_iris", "load_digits", "load_wine", "load_breast_cancer", "load_diabetes", "fetch_california_housing"}
)
#: torchvision's digit and clothing sets: 60,000 28x28 images, like Keras' MNIST.
TORCHVISION_SMALL_SETS = frozenset({"MNIST", "FashionMNIST", "KMNIST", "QMNIST", "EMNIST"})
#: Hugging Face hub sets with at most about 10,000 training examples, as
#: ``load_dataset(name, config)``: a fine-tune on them takes minutes. Training sizes from
#: Wang et al., GLUE, ICLR 2019, Table 1 (MRPC 3.7k, RTE 2.5k, CoLA 8.5k, STS-B 7k,
#: WNLI 634); Wang et al., SuperGLUE, NeurIPS 2019, Table 1 (CB 250, COPA 400, RTE 2.5k,
#: WiC 6k, WSC 554, BoolQ 9.4k); the beans card (1,034 training images, Makerere AI Lab);
#: Alex et al., RAFT, NeurIPS 2021 (50 labelled examples per task); Jaume et al., FUNSD,
#: ICDAR-OST 2019 (149 training forms).
SMALL_HUB_SETS = frozenset(
    {("glue", c) for c in ("mrpc", "rte", "cola", "stsb", "wnli")}
    | {("nyu-mll/glue", c) for c in ("mrpc", "rte", "cola", "stsb", "wnli")}
    | {("super_glue", c) for c in ("cb", "copa", "rte", "wic", "wsc", "wsc.fixed", "boolq")}
    | {("beans", None), ("AI-Lab-Makerere/beans", None), ("nielsr/funsd", None)}
    | {("ought/raft", c) for c in ("twitter_complaints", "ade_corpus_v2", "banking_77", "neurips_impact_statement_risks",
                                   "one_stop_english", "overruling", "semiconductor_org_types", "systematic_review_inclusion",
                                   "tai_safety_research", "terms_of_service", "tweet_eval_hate")}
)
#: Calls that bring a data set into a script or notebook (the bundled ones among them).
DATA_SOURCE_METHODS = frozenset(
    {
        "load_data", "load_dataset", "image_dataset_from_directory", "text_dataset_from_directory",
        "audio_dataset_from_directory", "flow_from_directory", "flow_from_dataframe", "get_file",
        "TFRecordDataset", "TextLineDataset", "list_files", "read_csv", "read_parquet", "read_json",
        "read_feather", "read_pickle", "read_table", "competition_download", "dataset_download",
    }
)
DATA_SOURCE_NAMES = frozenset({"tensorflow_datasets.load", "numpy.load"})
#: ``torch`` constructors of random tensors: as a script's only data, a synthetic task.
RANDOM_TENSORS = frozenset({"randn", "rand", "randint", "randn_like", "rand_like", "normal"})
#: Calls that read something from outside the script, beyond the data sources above
#: (``load`` covers ``torch.load``, ``np.load``, ``json.load``; ``make`` a gym environment).
READS = frozenset({"open", "load", "imread", "ImageFolder", "DatasetFolder", "memmap", "fromfile", "loadtxt",
                   "genfromtxt", "make", "from_pretrained"})
#: Words in a parameter name that mean a caller hands the data in.
DATA_PARAMETER_WORDS = ("loader", "dataset", "data")


def is_data_source(call: Call) -> bool:
    """A call that loads a data set: from a library's bundle, a directory, files or a hub."""
    if call.method in DATA_SOURCE_METHODS or call.name in DATA_SOURCE_NAMES:
        return True
    if call.name.startswith("torchvision.datasets."):
        return True
    return call.name.startswith("sklearn.datasets.") and call.method.startswith(("load_", "fetch_"))


def is_bundled_data(call: Call, facts: FileFacts | None = None, hub: bool = True) -> bool:
    """``keras.datasets.mnist.load_data()``, ``sklearn.datasets.load_iris()``,
    ``torchvision.datasets.MNIST(...)``, ``load_dataset("glue", "mrpc")`` and the like
    (with ``facts``, a config name held in a variable is read through the file)."""
    if call.method == "load_dataset":
        return hub and _hub_set(call, facts) in SMALL_HUB_SETS
    if call.method == "load_data":
        return call.receiver.rpartition(".")[2] in KERAS_BUNDLED_SETS
    if call.name.startswith("torchvision.datasets."):
        return call.method in TORCHVISION_SMALL_SETS
    return call.name.startswith("sklearn.datasets.") and call.method in SKLEARN_BUNDLED_SETS


def _hub_set(call: Call, facts: FileFacts | None) -> tuple[object, object]:
    """``(name, config)`` of a ``load_dataset`` call, literals only (None when absent)."""
    values = []
    for position, keyword in ((0, "path"), (1, "name")):
        value = call.argument(keyword, position)
        if value is not None and value.kind == "name" and facts is not None:
            value = _literal_assigned(facts, value.text) or value
        values.append(value.literal if value is not None and value.kind == "literal" else (None if value is None else "?"))
    return values[0], values[1]


def _literal_assigned(facts: FileFacts, name: str) -> Value | None:
    """The value of a name assigned exactly once in the file, when that is a literal."""
    assigned = [a.value for a in facts.assignments if a.target == name]
    return assigned[0] if len(assigned) == 1 and assigned[0].kind == "literal" else None


def only_small_data(facts: FileFacts, hub: bool = True) -> bool:
    """Does the file train on small bundled data sets only (every data set it loads is one)?
    ``hub=False`` leaves the small Hugging Face sets out: a large pretrained model
    fine-tuned on 3,700 pairs still does heavy matrix work per step."""
    return only_small_sets(facts.calls, facts, hub)


def only_small_sets(calls: Iterable[Call], facts: FileFacts | None = None, hub: bool = True) -> bool:
    """Do these calls load at least one data set, and only small bundled ones?"""
    sources = [c for c in calls if is_data_source(c)]
    return bool(sources) and all(is_bundled_data(c, facts, hub) for c in sources)


def trains_on_small_data(project: Project, facts: FileFacts, hub: bool = True) -> bool:
    """Small bundled data only: in the file itself or, for a helper module that loads no
    data (``train.py`` of a script whose ``main.py`` loads MNIST), in every project module
    that imports it."""
    if only_small_data(facts, hub):
        return True
    if any(is_data_source(c) for c in facts.calls):
        return False
    importers = [project.files[path] for path in project.importers.get(facts.module, ())]
    return bool(importers) and all(only_small_data(other, hub) for other in importers)


def trains_on_synthetic_data(project: Project, facts: FileFacts) -> bool:
    """Are random tensors the only data this file has? Copy and parity tasks, parallelism
    and RPC demos on ``torch.randn`` batches train to show a mechanism, in minutes. Any
    sign of real data says no: a data source or read (here or in a project module it
    imports), a ``Dataset`` class, a gym environment, a pretrained model, or a parameter
    through which a caller hands data in. Answered once per file."""
    return project.derived("synthetic data", facts, lambda: _synthetic(project, facts))


def _synthetic(project: Project, facts: FileFacts) -> bool:
    if not any(c.name.startswith("torch.") and c.method in RANDOM_TENSORS for c in facts.calls):
        return False
    if _reads_data(facts) or any(_reads_data(other) for other in project.imported_files(facts)):
        return False
    if any(base.rpartition(".")[2].endswith("Dataset") for cls in facts.classes for base in cls.bases):
        return False
    return not any(word in param.lower() for f in facts.functions for param in f.params for word in DATA_PARAMETER_WORDS)


def _reads_data(facts: FileFacts) -> bool:
    return any(is_data_source(c) or c.method in READS or c.name.startswith(("torchvision.datasets.", "gym.", "gymnasium."))
               for c in facts.calls)

