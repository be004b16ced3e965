"""The small data sets bundled with ML libraries, and whether code trains on nothing else.

MNIST-sized sets (tens of thousands of small samples, held in memory) train in minutes
whatever the epoch count or the loader. Rules whose advice pays off only on long runs
(checkpoints, mixed precision, loader workers) stay silent on code that trains on them
alone; their findings there would be right in principle and worthless in practice.
"""

from __future__ import annotations

from greenlint.analyzer.facts import Call, FileFacts
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


def is_data_source(call: Call) -> bool:
    """A call that loads a data set: from a library's bundle, a directory, files or a hub."""
    if call.method in DATA_SOURCE_METHODS or call.name in DATA_SOURCE_NAMES:
        return True
    if call.name.startswith("torchvision.datasets."):
        return True
    return call.name.startswith("sklearn.datasets.") and call.method.startswith(("load_", "fetch_"))


def is_bundled_data(call: Call) -> bool:
    """``keras.datasets.mnist.load_data()``, ``sklearn.datasets.load_iris()``,
    ``torchvision.datasets.MNIST(...)`` and the like."""
    if call.method == "load_data":
        return call.receiver.rpartition(".")[2] in KERAS_BUNDLED_SETS
    if call.name.startswith("torchvision.datasets."):
        return call.method in TORCHVISION_SMALL_SETS
    return call.name.startswith("sklearn.datasets.") and call.method in SKLEARN_BUNDLED_SETS


def only_small_data(facts: FileFacts) -> bool:
    """Does the file train on small bundled data sets only (every data set it loads is one)?"""
    sources = [c for c in facts.calls if is_data_source(c)]
    return bool(sources) and all(is_bundled_data(c) for c in sources)


def trains_on_small_data(project: Project, facts: FileFacts) -> bool:
    """Small bundled data only: in the file itself or, for a helper module that loads no
    data (``train.py`` of a script whose ``main.py`` loads MNIST), in every project module
    that imports it."""
    if only_small_data(facts):
        return True
    if any(is_data_source(c) for c in facts.calls):
        return False
    importers = [project.files[path] for path in project.importers.get(facts.module, ())]
    return bool(importers) and all(only_small_data(other) for other in importers)
