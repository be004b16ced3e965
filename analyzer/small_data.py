"""The small data sets bundled with ML libraries (or kept in the repository), the sizes of
known data sets, and whether code trains on nothing else.

MNIST-sized sets (tens of thousands of small samples, held in memory) train in minutes
whatever the epoch count or the loader. Rules whose advice pays off only on long runs
(checkpoints, mixed precision, loader workers) stay silent on code that trains on them
alone; their findings there would be right in principle and worthless in practice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from greenlint.analyzer.facts import Call, FileFacts, Value
from greenlint.analyzer.project import Project

#: Training examples of the small data sets bundled with Keras (``keras.datasets``): they
#: fit in memory and a model trains on them in minutes whatever the epoch count, so a
#: crash costs little to rerun. CIFAR is left out: convnets on it train for hours.
KERAS_BUNDLED_SETS = {"mnist": 60_000, "fashion_mnist": 60_000, "boston_housing": 404, "california_housing": 20_640,
                      "imdb": 25_000, "reuters": 8_982}
#: scikit-learn's toy and small real-world sets, by loader (samples in all).
SKLEARN_BUNDLED_SETS = {"load_iris": 150, "load_digits": 1_797, "load_wine": 178, "load_breast_cancer": 569,
                        "load_diabetes": 442, "fetch_california_housing": 20_640}
#: torchvision's digit and clothing sets: 60,000 28x28 training images, like Keras' MNIST
#: (EMNIST's size depends on its split).
TORCHVISION_SMALL_SETS = {"MNIST": 60_000, "FashionMNIST": 60_000, "KMNIST": 60_000, "QMNIST": 60_000, "EMNIST": None}
#: Training examples of Hugging Face hub sets, as ``load_dataset(name, config)``; those
#: of at most ``SMALL_EXAMPLES`` count as small (a fine-tune on them takes minutes). From
#: Wang et al., GLUE, ICLR 2019, Table 1 (MRPC 3.7k, RTE 2.5k, CoLA 8.5k, STS-B 5.7k,
#: WNLI 634, SST-2 67k, QNLI 105k, QQP 364k, MNLI 393k); Wang et al., SuperGLUE, NeurIPS
#: 2019, Table 1 (CB 250, COPA 400, RTE 2.5k, WiC 5.4k, WSC 554, BoolQ 9.4k); the beans
#: card (1,034 training images, Makerere AI Lab); Alex et al., RAFT, NeurIPS 2021 (50
#: labelled examples per task); Jaume et al., FUNSD, ICDAR-OST 2019 (149 training
#: forms); Tjong Kim Sang and De Meulder, CoNLL-2003 (14,041 English training
#: sentences); Malo et al., Financial PhraseBank, JASIST 2014 (4,846 sentences, 2,264 on
#: which all annotators agree); Pang and Lee, ACL 2005 (rotten_tomatoes, 8,530 training
#: reviews); Li and Roth, COLING 2002 (TREC, 5,452 training questions); Derczynski et
#: al., WNUT 2017 (3,394 training tweets); Maas et al., ACL 2011 (IMDB, 25,000 reviews);
#: and the cards of the demo sets of Hugging Face's own tutorials: Gerz et al., MINDS-14,
#: 2021 (563 en-US recordings), DocVQA's 1,200-example tutorial subset (1,000 for
#: training), Lambda Labs' Pokemon BLIP captions (833 images) and the six-image football
#: captioning set of the BLIP fine-tuning examples; Merity et al., Pointer Sentinel
#: Mixture Models, ICLR 2017 (WikiText-2: 2.1 M training tokens, 36,718 lines as the hub
#: holds them).
_GLUE = {"mrpc": 3_668, "rte": 2_490, "cola": 8_551, "stsb": 5_749, "wnli": 635,
         "sst2": 67_349, "qnli": 104_743, "qqp": 363_846, "mnli": 392_702}
_SUPER_GLUE = {"cb": 250, "copa": 400, "rte": 2_490, "wic": 5_428, "wsc": 554, "wsc.fixed": 554, "boolq": 9_427}
_RAFT_TASKS = ("twitter_complaints", "ade_corpus_v2", "banking_77", "neurips_impact_statement_risks",
               "one_stop_english", "overruling", "semiconductor_org_types", "systematic_review_inclusion",
               "tai_safety_research", "terms_of_service", "tweet_eval_hate")
_PHRASEBANK = {"sentences_allagree": 2_264, "sentences_75agree": 3_453, "sentences_66agree": 4_217,
               "sentences_50agree": 4_846}
HUB_SET_SIZES: dict[tuple[object, object], int] = {
    **{("glue", c): n for c, n in _GLUE.items()},
    **{("nyu-mll/glue", c): n for c, n in _GLUE.items()},
    **{("super_glue", c): n for c, n in _SUPER_GLUE.items()},
    ("beans", None): 1_034, ("AI-Lab-Makerere/beans", None): 1_034, ("nielsr/funsd", None): 149,
    **{("ought/raft", task): 50 for task in _RAFT_TASKS},
    ("conll2003", None): 14_041, ("eriktks/conll2003", None): 14_041,
    **{("financial_phrasebank", c): n for c, n in _PHRASEBANK.items()},
    **{("takala/financial_phrasebank", c): n for c, n in _PHRASEBANK.items()},
    ("rotten_tomatoes", None): 8_530, ("cornell-movie-review-data/rotten_tomatoes", None): 8_530,
    ("trec", None): 5_452, ("wnut_17", None): 3_394, ("imdb", None): 25_000, ("stanfordnlp/imdb", None): 25_000,
    ("PolyAI/minds14", "en-US"): 563, ("nielsr/docvqa_1200_examples", None): 1_000,
    ("lambdalabs/pokemon-blip-captions", None): 833, ("ybelkada/football-dataset", None): 6,
    **{(name, config): 36_718 for name in ("wikitext", "Salesforce/wikitext")
       for config in ("wikitext-2-raw-v1", "wikitext-2-v1")},
}
#: PyTorch Geometric's small benchmark sets: a citation graph is one example (a
#: full-batch epoch is one forward pass), a TU collection a few hundred small graphs
#: (Morris et al., TUDataset, ICML 2020 GRL+ workshop, Table 1).
GEOMETRIC_SMALL_SETS = {
    "Planetoid": {"cora": 1, "citeseer": 1, "pubmed": 1},
    "TUDataset": {"mutag": 188, "proteins": 1_113, "enzymes": 600, "imdb-binary": 1_000, "imdb-multi": 1_500,
                  "ptc_mr": 344, "nci1": 4_110, "collab": 5_000, "dd": 1_178},
    "KarateClub": {None: 1},
}
#: Data files a program reads, by suffix (checkpoints such as ``.pt`` are not data).
DATA_FILE_SUFFIXES = (".csv", ".tsv", ".txt", ".json", ".jsonl", ".npy", ".npz", ".pkl", ".pickle", ".parquet",
                      ".h5", ".hdf5", ".gz", ".zip", ".mat", ".arff", ".xlsx", ".data")
#: Data files kept in the repository of at most this many bytes in all are a small data
#: set: a model trains on a megabyte of names or text in minutes.
SMALL_REPOSITORY_DATA_BYTES = 1_000_000
#: Hugging Face trainers, whose ``train_dataset`` is the data a run passes over.
TRAINERS = frozenset({"Trainer", "Seq2SeqTrainer", "SFTTrainer", "DPOTrainer", "RewardTrainer"})
#: At most this many training examples is a small data set.
SMALL_EXAMPLES = 10_000
#: A split sliced to its first examples: ``split="train[:150]"``.
_SLICED_SPLIT = re.compile(r"^\w+\[:(\d+)\]$")
#: A hub id that states its own size, as curated sets often do: ``argilla/dpo-mix-7k``,
#: ``HuggingFaceH4/deita-10k-v0-sft``, ``NeelNanda/pile-10k``, ``ultrachat_200k``.
_SIZE_TAG = re.compile(r"(?<![a-z0-9.])(\d+(?:\.\d+)?)([km])(?![a-z0-9])", re.IGNORECASE)
#: A model id that states its parameters: ``7b``, ``8x22B``, ``360M``.
_PARAMETER_TAG = re.compile(r"(?<![a-z0-9.])(?:(\d+)x)?(\d+(?:\.\d+)?)([bm])(?![a-z0-9])", re.IGNORECASE)
#: Above this many parameters a step is slow enough that even a small set makes hours.
SMALL_SET_MODEL_PARAMETERS = 10e9
#: Keys of a training config that name a hub data set (TRL and alignment-handbook recipes:
#: ``dataset_name``, ``dataset_mixture.datasets[i].id``, ``dataset_mixer: {name: weight}``).
CONFIG_DATASET_KEYS = ("dataset_name", "dataset_id", "dataset")
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
#: Tensor methods that fill a tensor with random values in place.
RANDOM_FILLS = frozenset({"random_", "uniform_", "normal_", "bernoulli_", "exponential_"})
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
    if call.name.startswith(("torchvision.datasets.", "torch_geometric.datasets.")):
        return True
    return call.name.startswith("sklearn.datasets.") and call.method.startswith(("load_", "fetch_"))


def is_bundled_data(call: Call, facts: FileFacts | None = None, hub: bool = True) -> bool:
    """``keras.datasets.mnist.load_data()``, ``sklearn.datasets.load_iris()``,
    ``torchvision.datasets.MNIST(...)``, ``load_dataset("glue", "mrpc")``, a hub split
    sliced to a few thousand examples, Cora and the like (with ``facts``, a config name
    held in a variable is read through the file)."""
    if call.method == "load_dataset":
        size = examples_of(call, facts)
        return hub and size is not None and size <= SMALL_EXAMPLES
    if call.name.startswith("torchvision.datasets."):
        return call.method in TORCHVISION_SMALL_SETS  # EMNIST is small, its size depends on the split
    return examples_of(call, facts) is not None  # a set of known size bundled with a library, or a small one


def examples_of(call: Call, facts: FileFacts | None = None) -> int | None:
    """Training examples a data-source call loads, where the call shows it: a known small
    set, or a hub split sliced to its first N; None when it does not."""
    if call.method == "load_dataset":
        split = call.keyword("split")
        sliced = _SLICED_SPLIT.match(split.literal) if split is not None and isinstance(split.literal, str) else None
        if sliced:
            return int(sliced.group(1))
        name, config = _hub_set(call, facts)
        return HUB_SET_SIZES.get((name, config)) or (size_in_name(name) if isinstance(name, str) else None)
    if call.method == "load_data":
        return KERAS_BUNDLED_SETS.get(call.receiver.rpartition(".")[2])
    if call.name.startswith("torchvision.datasets."):
        return TORCHVISION_SMALL_SETS.get(call.method)
    if call.name.startswith("torch_geometric.datasets."):
        names = GEOMETRIC_SMALL_SETS.get(call.method, {})
        name = call.keyword("name")
        key = name.literal.lower() if name is not None and isinstance(name.literal, str) else None
        return names.get(key)
    if call.name.startswith("sklearn.datasets."):
        return SKLEARN_BUNDLED_SETS.get(call.method)
    return None


def training_examples(project: Project, facts: FileFacts) -> int | None:
    """How many examples the file's training sees per epoch, where every data set it
    loads has a known size (the largest of them); else None. A helper module that loads
    no data takes the sizes of the project modules that import it."""
    return project.derived("training examples", facts, lambda: _training_examples(project, facts))


def _training_examples(project: Project, facts: FileFacts) -> int | None:
    selected = _selected_for_training(facts)
    if selected is not None:
        return selected
    users = [facts]
    if not any(is_data_source(c) for c in facts.calls):
        users = [project.files[path] for path in project.importers.get(facts.module, ())]
    sizes = [examples_of(c, user) for user in users for c in user.calls if is_data_source(c)]
    if not sizes or any(size is None for size in sizes):
        return None
    return max(sizes)  # type: ignore[type-var]


def _selected_for_training(facts: FileFacts) -> int | None:
    """Examples of the splits the file's Trainers train on, where each is a selection of a
    literal size (``small_train = tokenized["train"].shuffle(seed=42).select(range(1000))``,
    then ``Trainer(train_dataset=small_train)``); None unless every Trainer's is."""
    trainers = [c for c in facts.calls if c.method in TRAINERS and c.keyword("train_dataset") is not None]
    sizes = [_selected_size(facts, c.keyword("train_dataset")) for c in trainers]
    if not sizes or any(size is None for size in sizes):
        return None
    return max(sizes)  # type: ignore[type-var]


def _selected_size(facts: FileFacts, dataset: Value | None) -> int | None:
    """N of a name bound to ``....select(range(N))`` everywhere it is bound in the file."""
    if dataset is None or dataset.kind != "name":
        return None
    bound = [c for c in facts.calls if c.target == dataset.text and c.method == "select"]
    if not bound or len(bound) != sum(a.target == dataset.text for a in facts.assignments):
        return None  # also bound to something else: the whole split, another subset
    sizes = set()
    for call in bound:
        indices = call.positional(0)
        count = indices.args[0].value if indices is not None and indices.kind == "call" and indices.text == "range" \
            and len(indices.args) == 1 else None
        if count is None or count.kind != "literal" or not isinstance(count.literal, int):
            return None
        sizes.add(count.literal)
    return max(sizes)


def size_in_name(name: str) -> int | None:
    """The size a hub id states (``argilla/dpo-mix-7k``: 7,000), when it states one."""
    tags = _SIZE_TAG.findall(name.rpartition("/")[2])
    if len(tags) != 1:
        return None
    number, unit = tags[0]
    return int(float(number) * (1_000 if unit.lower() == "k" else 1_000_000))


def config_trains_on_small_sets(facts: FileFacts) -> bool:
    """True when a training config names its data sets and each is a known small one or
    states a size of at most ``SMALL_EXAMPLES``, and the model it names is not one of over
    ``SMALL_SET_MODEL_PARAMETERS``: a 7B recipe on ``argilla/dpo-mix-7k`` reruns in about
    an hour, a recipe on ``ultrachat_200k`` does not, nor one that aligns Mixtral-8x22B
    (141B parameters) on 7,000 pairs across 32 GPUs."""
    model = next((e.value for e in facts.config if e.key == "model_name_or_path" and isinstance(e.value, str)), "")
    params = parameters_in_name(model)
    if params is not None and params > SMALL_SET_MODEL_PARAMETERS:
        return False
    names = [name for entry in facts.config for name in [_config_dataset(entry.key, entry.value)] if name]
    return bool(names) and all(_small_hub_name(name) for name in names)


def parameters_in_name(name: str) -> float | None:
    """The parameters a hub model id states: ``Llama-2-7b-hf`` 7e9, ``Mixtral-8x22B`` 1.76e11
    (experts times size, an upper bound on a mixture's), ``SmolLM2-360M`` 3.6e8."""
    match = _PARAMETER_TAG.search(name.rpartition("/")[2])
    if match is None:
        return None
    experts, size, unit = match.groups()
    return (int(experts) if experts else 1) * float(size) * (1e9 if unit.lower() == "b" else 1e6)


def _config_dataset(key: str, value: object) -> str | None:
    parts = key.split(".")
    if parts[0] == "dataset_mixer" and len(parts) > 1:
        return ".".join(parts[1:])
    if not isinstance(value, str):
        return None
    if parts[-1] in CONFIG_DATASET_KEYS or (parts[-1] == "id" and "dataset" in key):
        return value
    return None


def _small_hub_name(name: str) -> bool:
    size = HUB_SET_SIZES.get((name, None)) or size_in_name(name)
    return size is not None and size <= SMALL_EXAMPLES


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
    that imports it; or data files kept in the repository that are small in all (with
    ``hub=False``, only when no pretrained model is loaded: fine-tuning one on a small
    file is heavy matrix work per step, as on a small hub set)."""
    if only_small_data(facts, hub) or written_small_sets(facts):
        return True
    if reads_small_repository_files(project, facts) and (hub or not any(c.method == "from_pretrained" for c in facts.calls)):
        return True
    if any(is_data_source(c) for c in facts.calls):
        return False
    importers = [project.files[path] for path in project.importers.get(facts.module, ())]
    return bool(importers) and all(only_small_data(other, hub) for other in importers)


#: A data set whose ``__len__`` returns a literal this small is a demonstration: one or
#: two examples repeated to show that the training loop runs.
WRITTEN_SET_ITEMS = 100


def written_small_sets(facts: FileFacts) -> bool:
    """Are the file's data sets all of a size written in the code, and tiny
    (``def __len__(self): return 2`` over one downloaded image and its mask), with no
    other data source in the file?"""
    lengths = [f.returns for f in facts.functions if f.name == "__len__" and f.class_name]
    if not lengths or any(n is None or n > WRITTEN_SET_ITEMS for n in lengths):
        return False
    return not any(is_data_source(c) for c in facts.calls)


def reads_small_repository_files(project: Project, facts: FileFacts) -> bool:
    """Does the program read its data only from files kept in the repository, of at most
    ``SMALL_REPOSITORY_DATA_BYTES`` in all (``./data/names_train.csv.gz`` of 50 kB)? Every
    data-file name in this file and the project modules it imports must be such a file,
    and every data-source call must read one of them. Answered once per file; only sizes
    are read from disk, never contents."""
    return project.derived("small repository data", facts, lambda: _small_repository_files(project, facts))


def _small_repository_files(project: Project, facts: FileFacts) -> bool:
    program = [facts, *project.imported_files(facts)]
    names = {text for source in program for text in source.strings if text.lower().endswith(DATA_FILE_SUFFIXES)}
    if not names:
        return False
    found: dict[str, int] = {}
    for name in names:
        size = _repository_file_size(project, program, name)
        if size is None:
            return False  # a data file outside the repository: its size is unknown
        found[name] = size
    for source in program:
        for call in source.calls:
            if is_data_source(call):
                path = call.positional(0)
                if path is None or path.kind != "literal" or path.literal not in found:
                    return False
    return sum(found.values()) <= SMALL_REPOSITORY_DATA_BYTES


def _repository_file_size(project: Project, program: list[FileFacts], name: str) -> int | None:
    """The size of a data file named relative to a module's folder or to the root."""
    root = Path(project.root)
    relative = name[2:] if name.startswith("./") else name
    if Path(relative).is_absolute() or relative.startswith(("..", "http:", "https:", "gs:", "s3:")):
        return None
    for folder in {str(Path(source.path).parent) for source in program} | {"."}:
        candidate = root / folder / relative
        if candidate.is_file():
            return candidate.stat().st_size
    return None


def trains_on_synthetic_data(project: Project, facts: FileFacts) -> bool:
    """Are random tensors the only data this file has? Copy and parity tasks, parallelism
    and RPC demos on ``torch.randn`` batches train to show a mechanism, in minutes. Any
    sign of real data says no: a data source or read (here or in a project module it
    imports), a ``Dataset`` class, a gym environment, a pretrained model, or a parameter
    through which a caller hands data in. Answered once per file."""
    return project.derived("synthetic data", facts, lambda: _synthetic(project, facts))


def _synthetic(project: Project, facts: FileFacts) -> bool:
    if not any(_random_tensor(c) for c in facts.calls):
        return False
    if _reads_data(facts) or any(_reads_data(other) for other in project.imported_files(facts)):
        return False
    if any(base.rpartition(".")[2].endswith("Dataset") for cls in facts.classes for base in cls.bases):
        return False
    return not any(word in param.lower() for f in facts.functions for param in f.params for word in DATA_PARAMETER_WORDS)


def _random_tensor(call: Call) -> bool:
    """``torch.randn(...)``, or a tensor filled in place: ``torch.LongTensor(n).random_(0, V)``."""
    if call.name.startswith("torch.") and call.method in RANDOM_TENSORS:
        return True
    # ``torch.nn.init.normal_(layer.weight)`` initialises a model: it is no data
    return call.method in RANDOM_FILLS and call.name.startswith(("torch.", "?.")) and not call.name.startswith("torch.nn.")


def _reads_data(facts: FileFacts) -> bool:
    return any(is_data_source(c) or c.method in READS or c.name.startswith(("torchvision.datasets.", "gym.", "gymnasium."))
               for c in facts.calls)

