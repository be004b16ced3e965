"""Edge cases of GL402 (Keras fits), GL204 and GL201 that the fixture projects do not pin down."""

from __future__ import annotations

import json
import textwrap

import pytest

from greenlint.findings import Confidence
from greenlint.rules import all_rules
from greenlint.selection import rule_named

from conftest import Write, check


def run(tmp_path, name: str):
    rule = rule_named(all_rules(), name)
    result = check(tmp_path, rules=(rule,))
    assert not result.diagnostics
    return list(result.findings)


def notebook(*cells: str) -> str:
    """A minimal notebook whose code cells hold the given sources."""
    code = [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
             "source": textwrap.dedent(cell).lstrip("\n")} for cell in cells]
    return json.dumps({"cells": code, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


KERAS_SETUP = """
    from tensorflow import keras
    train_ds = keras.utils.image_dataset_from_directory("data/train", image_size=(180, 180))
    model = keras.Sequential([keras.layers.Rescaling(1 / 255), keras.layers.Flatten(), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
"""


def test_keras_epochs_reassigned_in_other_cells_are_not_guessed(write: Write, tmp_path) -> None:
    write("explore.ipynb", notebook(
        KERAS_SETUP,
        "epochs = 5\nmodel.fit(train_ds, epochs=epochs)\n",
        "epochs = 100\n",
        "model.fit(train_ds, epochs=epochs)\n",  # 5 or 100, depending on which cells ran
        "epochs = 60\nhistory = model.fit(train_ds, epochs=epochs)\n",
    ))
    findings = run(tmp_path, "missing-checkpoint")
    assert [(f.cell, f.line) for f in findings] == [(5, 2)]
    assert "for 60 epochs (epochs)" in findings[0].message


def test_keras_epochs_from_a_parameter_or_a_computation_are_left_alone(write: Write, tmp_path) -> None:
    write("retrain.py", KERAS_SETUP + """
    epochs = 200

    def fit_for(model, epochs):
        return model.fit(train_ds, epochs=epochs)

    def refit(model, best_epoch):
        return model.fit(train_ds, epochs=int(best_epoch * 1.2))
    """)
    assert run(tmp_path, "missing-checkpoint") == []


def test_keras_epochs_from_a_module_constant(write: Write, tmp_path) -> None:
    write("train.py", KERAS_SETUP + """
    EPOCHS = 45
    model.fit(train_ds, epochs=EPOCHS)
    """)
    findings = run(tmp_path, "missing-checkpoint")
    assert [f.line for f in findings] == [7]
    assert findings[0].message.startswith("Keras fit() for 45 epochs (EPOCHS) has no ModelCheckpoint")


def test_keras_fit_through_a_scikit_learn_search_is_left_alone(write: Write, tmp_path) -> None:
    write("search.py", """
        import pandas as pd
        from scikeras.wrappers import KerasRegressor
        from sklearn.model_selection import RandomizedSearchCV
        from tensorflow import keras

        frame = pd.read_csv("data/prices.csv")
        regressor = KerasRegressor(model=lambda: keras.Sequential([keras.layers.Dense(1)]))
        search = RandomizedSearchCV(regressor, {"model__units": [16, 32, 64]}, n_iter=3, cv=3)
        search.fit(frame.drop(columns="price"), frame["price"], epochs=100)
    """)
    assert run(tmp_path, "missing-checkpoint") == []


LIGHTNING_MODULE = """
    import lightning.pytorch as pl
    import torch

    class Regressor(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Linear(8, 1)

        def training_step(self, batch, batch_idx):
            x, y = batch
            return torch.nn.functional.mse_loss(self.net(x), y)

        def validation_step(self, batch, batch_idx):
            x, y = batch
            self.log("valid_mse", torch.nn.functional.mse_loss(self.net(x), y))

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters())
"""


def test_lightning_notebook_that_plots_its_logged_curves(write: Write, tmp_path) -> None:
    write("model.py", LIGHTNING_MODULE)
    train = """
        import lightning.pytorch as pl
        from lightning.pytorch.loggers import CSVLogger
        from model import Regressor
        trainer = pl.Trainer(max_epochs=150, logger=CSVLogger("logs/"))
        trainer.fit(Regressor())
    """
    plot = """
        import pandas as pd
        metrics = pd.read_csv(f"{trainer.logger.log_dir}/metrics.csv")
        metrics.groupby("epoch").mean()[["valid_mse"]].plot()
    """
    write("explore.ipynb", notebook(train, plot))
    assert run(tmp_path, "no-early-stopping") == []
    write("explore.ipynb", notebook(train))
    assert [f.cell for f in run(tmp_path, "no-early-stopping")] == [1]


def test_keras_history_read_in_a_script_still_counts(write: Write, tmp_path) -> None:
    """Only notebooks are exploratory: a script that logs its history trains for real."""
    write("train.py", KERAS_SETUP + """
    history = model.fit(train_ds, validation_split=0.1, epochs=80)
    print(min(history.history["val_loss"]))
    """)
    assert [f.line for f in run(tmp_path, "no-early-stopping")] == [6]


def test_energy_based_models_are_fixed_by_design(write: Write, tmp_path) -> None:
    write("generative.py", LIGHTNING_MODULE.replace("Regressor", "EnergyBasedModel") + """
    trainer = pl.Trainer(max_epochs=120)
    trainer.fit(EnergyBasedModel())
    """)
    assert run(tmp_path, "no-early-stopping") == []


def test_hf_training_arguments_json_points_at_its_line(write: Write, tmp_path) -> None:
    write("args.json", """
        {
          "output_dir": "out/ner",
          "learning_rate": 5e-5,
          "num_train_epochs": 12,
          "eval_strategy": "epoch"
        }
    """)
    write("train.py", """
        from transformers import HfArgumentParser, Trainer, TrainingArguments

        (args,) = HfArgumentParser(TrainingArguments).parse_json_file("args.json")
        Trainer(model=None, args=args).train()
    """)
    findings = run(tmp_path, "no-early-stopping")
    assert [(f.path, f.line) for f in findings] == [("args.json", 4)]
    assert findings[0].message.startswith("num_train_epochs: 12 and the project passes no EarlyStoppingCallback")


HF_ARGS_YAML = """
    model_name_or_path: MODEL
    dataset_name: DATA
    output_dir: runs/summarizer
    num_train_epochs: 40
    eval_strategy: epoch
    save_strategy: epoch
    learning_rate: 3.0e-5
    bf16: true
"""
HF_ARGS_SCRIPT = """
    import sys

    from transformers import AutoModelForSeq2SeqLM, HfArgumentParser, Seq2SeqTrainer, Seq2SeqTrainingArguments

    (args,) = HfArgumentParser(Seq2SeqTrainingArguments).parse_yaml_file(sys.argv[1])
    model = AutoModelForSeq2SeqLM.from_pretrained(args.model_name_or_path)
    Seq2SeqTrainer(model=model, args=args).train()
"""


@pytest.mark.parametrize(("model", "data", "shown"), [
    ("google/flan-t5-xl", "our-org/support-tickets", True),
    ("./checkpoints/summarizer-untrained-300M", "our-org/support-tickets", False),
])
def test_a_config_budget_needs_a_second_sign_of_a_long_run(write: Write, tmp_path, model: str, data: str,
                                                           shown: bool) -> None:
    """Forty epochs alone are one sign; with a large checkpoint named beside them, two."""
    write("configs/summarize.yaml", HF_ARGS_YAML.replace("MODEL", model).replace("DATA", data))
    write("train.py", HF_ARGS_SCRIPT)
    [finding] = run(tmp_path, "no-early-stopping")
    assert (finding.confidence is not Confidence.LOW) is shown
    assert finding.message.endswith(f"(long run: 40 epochs, the checkpoint {model})") is shown


def test_an_autokeras_search_stops_its_trials_itself(write: Write, tmp_path) -> None:
    write("search.py", """
        import autokeras as ak
        import numpy as np
        import tensorflow as tf

        images = np.load("data/faces.npz")
        x, y = tf.image.resize(images["x"], (128, 128)).numpy(), images["age"]
        regressor = ak.ImageRegressor(overwrite=True, max_trials=20, seed=42)
        regressor.fit(x, y, validation_split=0.1, batch_size=32, epochs=1000)
        regressor.export_model().save("age_regressor.keras")
    """)
    assert run(tmp_path, "no-early-stopping") == []


def test_lightning_cli_callbacks_as_a_mapping_or_class_names(write: Write, tmp_path) -> None:
    write("model.py", LIGHTNING_MODULE)
    write("mapping.yaml", """
        trainer:
          max_epochs: 300
          callbacks:
            class_path: EarlyStopping
            init_args: {monitor: valid_mse, patience: 20}
    """)
    write("names.yaml", """
        trainer:
          max_epochs: 300
          callbacks: [ModelCheckpoint, lightning.pytorch.callbacks.EarlyStopping]
    """)
    write("none.yaml", """
        trainer:
          max_epochs: 300
          callbacks: [ModelCheckpoint]
    """)
    assert [(f.path, f.line) for f in run(tmp_path, "no-early-stopping")] == [("none.yaml", 2)]


def test_budgets_compared_through_a_constant(write: Write, tmp_path) -> None:
    """Three variants trained for the same named budget compare on equal terms."""
    write("ablation.py", KERAS_SETUP + """
    EPOCHS = 50
    small = model.fit(train_ds, validation_split=0.1, epochs=EPOCHS)
    medium = model.fit(train_ds, validation_split=0.1, epochs=EPOCHS)
    large = model.fit(train_ds, validation_split=0.1, epochs=EPOCHS)
    """)
    assert run(tmp_path, "no-early-stopping") == []


def test_ray_tune_space_in_json(write: Write, tmp_path) -> None:
    write("space.json", """
        {
          "num_samples": 3,
          "lr": {"grid_search": [0.1, 0.01, 0.001]},
          "layers": {"grid_search": [{"units": 64}, {"units": 128}, {"units": 256}, {"units": 512}]},
          "dropout": 0.2
        }
    """)
    findings = run(tmp_path, "grid-search")
    assert [(f.path, f.line) for f in findings] == [("space.json", 3)]
    assert findings[0].message == (
        "Ray Tune grid over lr, layers runs every combination: 3 x 4 = 12 combinations x 3 samples = 36 trials"
    )


def test_ray_tune_experiments_are_counted_one_by_one(write: Write, tmp_path) -> None:
    write("experiments.yaml", """
        cartpole-dqn:
          run: DQN
          config:
            lr: {grid_search: [0.001, 0.0001]}
            gamma: {grid_search: [0.95, 0.99]}
        cartpole-ppo:
          run: PPO
          num_samples: 2
          config:
            lr: {grid_search: [0.001, 0.0005, 0.0001]}
            clip_param: {grid_search: [0.1, 0.3]}
    """)
    findings = run(tmp_path, "grid-search")
    assert [(f.line, f.message.rpartition(": ")[2]) for f in findings] == [
        (4, "2 x 2 = 4 trials"),
        (10, "3 x 2 = 6 combinations x 2 samples = 12 trials"),
    ]


def test_grid_search_keys_that_are_no_ray_tune_axes(write: Write, tmp_path) -> None:
    """A project's own ``grid_search`` setting, and a single tuned axis repeated over seeds."""
    write("clustering.yaml", """
        search:
          grid_search: [8, 16, 32, 64]
          random_state: 42
        scoring:
          grid_search: [silhouette, davies_bouldin]
          sample_size: 10000
    """)
    write("seeds.yaml", """
        lr: {grid_search: [0.1, 0.01, 0.001]}
        seed: {grid_search: [0, 1, 2, 3, 4]}
        epochs: 20
    """)
    assert run(tmp_path, "grid-search") == []


def test_a_push_to_the_hub_after_the_loop_is_named_as_the_only_save(write: Write, tmp_path) -> None:
    """A notebook that uploads the fine-tuned model once training is over does save it,
    but only at the end: the message must say so, not that it never saves."""
    write("lora_glue.ipynb", notebook(
        """
        import torch
        from transformers import AutoModelForSequenceClassification
        from peft import LoraConfig, get_peft_model
        model = get_peft_model(AutoModelForSequenceClassification.from_pretrained("roberta-large"),
                               LoraConfig(task_type="SEQ_CLS", r=8)).to("cuda")
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
        num_epochs = 20
        """,
        """
        for epoch in range(num_epochs):
            model.train()
            for batch in train_dataloader:
                loss = model(**{k: v.to("cuda") for k, v in batch.items()}).loss
                loss.backward()
                optimizer.step()
                optimizer.zero_grad()
        """,
        'model.push_to_hub("someone/roberta-large-lora-mrpc")\n',
    ))
    (finding,) = run(tmp_path, "missing-checkpoint")
    assert "saves state only after it ends (model.push_to_hub" in finding.message


SKLEARN_FOREST_SEARCH = """
    import pandas as pd
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    frame = pd.read_csv("data/housing.csv")
    features, target = frame.drop(columns="median_value"), frame["median_value"]
    pipeline = Pipeline([("scale", StandardScaler()), ("forest", RandomForestRegressor(random_state=42))])
    grid = {"forest__n_estimators": [30, 100, 300], "forest__max_features": [2, 4, 6, 8]}
    search = GridSearchCV(pipeline, grid, cv=5, scoring="neg_mean_squared_error")
    search.fit(features, target)
"""


def test_a_grid_of_scikit_learn_fits_is_reported_at_low_confidence(write: Write, tmp_path) -> None:
    write("tune_forest.py", SKLEARN_FOREST_SEARCH)
    [finding] = run(tmp_path, "grid-search")
    assert "60 fits" in finding.message
    assert finding.confidence.value == "low"  # 60 forest fits on a CSV: CPU-minutes


def test_a_thousand_scikit_learn_fits_without_a_long_run_shown_are_low_confidence(write: Write, tmp_path) -> None:
    write("tune_forest.py", SKLEARN_FOREST_SEARCH.replace(
        '"forest__max_features": [2, 4, 6, 8]',
        '"forest__max_depth": [4, 6, 8, 10, 12, 16, 20, 24, 32, None], "forest__min_samples_leaf": [1, 2, 4, 8, 16]',
    ).replace("[30, 100, 300]", "[30, 100, 300, 1000]"))
    [finding] = run(tmp_path, "grid-search")
    assert "1000 fits" in finding.message
    assert finding.confidence.value == "low"  # a thousand forests on one CSV: CPU-minutes to hours, the code does not say


def test_a_grid_of_network_trainings_without_a_long_run_shown_is_low_confidence(write: Write, tmp_path) -> None:
    write("tune_net.py", """
        import pandas as pd
        from scikeras.wrappers import KerasClassifier
        from sklearn.model_selection import GridSearchCV
        from tensorflow import keras

        def build(units=64, dropout=0.2):
            return keras.Sequential([keras.layers.Dense(units, activation="relu"),
                                     keras.layers.Dropout(dropout), keras.layers.Dense(10, activation="softmax")])

        frame = pd.read_parquet("data/transactions.parquet")
        classifier = KerasClassifier(model=build, loss="sparse_categorical_crossentropy", epochs=30)
        search = GridSearchCV(classifier, {"model__units": [64, 128, 256], "model__dropout": [0.1, 0.2, 0.3, 0.5]}, cv=3)
        search.fit(frame.drop(columns="label"), frame["label"])
    """)
    [finding] = run(tmp_path, "grid-search")
    assert "36 fits" in finding.message
    assert finding.confidence.value == "low"  # 36 trainings of a two-layer MLP on one table


POLYNOMIAL_SEARCH = """
    import numpy as np
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures

    def polynomial_regression(degree=2, **kwargs):
        return make_pipeline(PolynomialFeatures(degree), LinearRegression(**kwargs))

    rng = np.random.RandomState(1)
    x = rng.rand(40, 1) ** 2
    y = 10 - 1.0 / (x.ravel() + 0.1) + rng.randn(40)
    grid = {"polynomialfeatures__degree": np.arange(21), "linearregression__fit_intercept": [True, False]}
    search = GridSearchCV(polynomial_regression(), grid, cv=7)
    search.fit(x, y)
"""


def test_a_pipeline_factory_of_the_files_own_over_a_numpy_range_is_low_confidence(write: Write, tmp_path) -> None:
    write("validation_curve.py", POLYNOMIAL_SEARCH)
    [finding] = run(tmp_path, "grid-search")
    assert "21 x 2 = 42 candidates x 7 folds = 294 fits" in finding.message
    assert finding.confidence.value == "low"  # 294 least-squares fits on 40 points


KERNEL_BANDWIDTH_SEARCH = """
    import numpy as np
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.datasets import load_digits
    from sklearn.model_selection import GridSearchCV
    from sklearn.neighbors import KernelDensity

    class DensityClassifier(BaseEstimator, ClassifierMixin):
        def __init__(self, bandwidth=1.0):
            self.bandwidth = bandwidth

        def fit(self, X, y):
            self.classes_ = np.unique(y)
            self.models_ = [KernelDensity(bandwidth=self.bandwidth).fit(X[y == c]) for c in self.classes_]
            return self

        def predict(self, X):
            scores = np.array([m.score_samples(X) for m in self.models_]).T
            return self.classes_[scores.argmax(1)]

    digits = load_digits()
    search = GridSearchCV(DensityClassifier(), {"bandwidth": np.logspace(0, 2, 100)})
    search.fit(digits.data, digits.target)
"""


def test_an_estimator_class_of_the_files_own_without_a_network_library_is_low_confidence(write: Write, tmp_path) -> None:
    write("density_classifier.py", KERNEL_BANDWIDTH_SEARCH)
    [finding] = run(tmp_path, "grid-search")
    assert "100 candidates x 5 folds = 500 fits" in finding.message
    assert finding.confidence.value == "low"


def test_an_estimator_class_of_the_files_own_beside_torch_is_low_confidence_without_a_long_run(write: Write, tmp_path) -> None:
    write("density_classifier.py", KERNEL_BANDWIDTH_SEARCH.replace(
        "import numpy as np\n", "import numpy as np\n    import torch\n").replace(
        "KernelDensity(bandwidth=self.bandwidth).fit(X[y == c])", "fit_flow(torch.tensor(X[y == c]), self.bandwidth)"))
    [finding] = run(tmp_path, "grid-search")
    assert finding.confidence.value == "low"  # each fit may train a network, of a length the code does not show


def test_a_grid_over_long_network_trainings_keeps_the_rules_confidence(write: Write, tmp_path) -> None:
    write("sweep_lr.py", """
        import torch
        import torch.nn.functional as F
        import torchvision
        from torch.utils.data import DataLoader
        from torchvision import datasets, transforms

        def train(lr, weight_decay):
            data = datasets.ImageFolder("/datasets/imagenet/train", transforms.ToTensor())
            loader = DataLoader(data, batch_size=256, shuffle=True, num_workers=8)
            model = torchvision.models.resnet50().cuda()
            optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay)
            for epoch in range(90):
                for images, labels in loader:
                    loss = F.cross_entropy(model(images.cuda()), labels.cuda())
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                torch.save(model.state_dict(), f"resnet50_{lr}_{weight_decay}.pt")
            return model

        for lr in [0.01, 0.03, 0.1, 0.3]:
            for weight_decay in [1e-5, 1e-4, 1e-3]:
                train(lr, weight_decay)
    """)
    [finding] = run(tmp_path, "grid-search")
    assert finding.confidence.value == "high" and "(long run: 90 epochs, the imagenet data set" in finding.message


def test_leave_one_out_is_not_counted_as_five_folds(write: Write, tmp_path) -> None:
    write("bandwidth.py", """
        import numpy as np
        from sklearn.model_selection import GridSearchCV, LeaveOneOut
        from sklearn.neighbors import KernelDensity

        samples = np.load("data/arrivals.npy")
        search = GridSearchCV(KernelDensity(kernel="gaussian"), {"bandwidth": np.linspace(0.1, 10, 100)}, cv=LeaveOneOut())
        search.fit(samples[:, None])
    """)
    [finding] = run(tmp_path, "grid-search")
    assert finding.message.endswith("100 candidates")  # as many folds as samples: not counted


SEGMENTATION_FINETUNE = """
    from datasets import load_dataset
    from transformers import AutoModelForSemanticSegmentation, Trainer, TrainingArguments

    scenes = load_dataset("scene_parse_150", split="SPLIT").train_test_split(test_size=0.1)
    model = AutoModelForSemanticSegmentation.from_pretrained("nvidia/mit-b0", num_labels=150)
    args = TrainingArguments("out/segformer", num_train_epochs=50, eval_strategy="epoch", bf16=True,
                             per_device_train_batch_size=8, learning_rate=5e-4)
    trainer = Trainer(model=model, args=args, train_dataset=scenes["train"], eval_dataset=scenes["test"])
    trainer.train()
"""


def test_fifty_epochs_over_a_sliced_split_end_in_minutes(write: Write, tmp_path) -> None:
    write("segment.py", SEGMENTATION_FINETUNE.replace("SPLIT", "train[:150]"))
    assert run(tmp_path, "no-early-stopping") == []  # 150 images x 50 epochs


def test_fifty_epochs_over_the_whole_split_want_early_stopping(write: Write, tmp_path) -> None:
    write("segment.py", SEGMENTATION_FINETUNE.replace("SPLIT", "train"))
    [finding] = run(tmp_path, "no-early-stopping")
    assert "num_train_epochs=50" in finding.message


SPEECH_FINETUNE = """
    from datasets import Audio, load_dataset
    from transformers import AutoFeatureExtractor, AutoModelForAudioClassification, Trainer, TrainingArguments

    clips = load_dataset("our-org/call-center-intents", split="train").train_test_split(test_size=0.2)
    clips = clips.cast_column("audio", Audio(sampling_rate=16_000))
    extractor = AutoFeatureExtractor.from_pretrained("CHECKPOINT")
    encoded = clips.map(lambda batch: extractor([a["array"] for a in batch["audio"]], sampling_rate=16_000,
                                                max_length=16_000, truncation=True), batched=True)
    model = AutoModelForAudioClassification.from_pretrained("CHECKPOINT", num_labels=14)
    args = TrainingArguments("out/intents", num_train_epochs=20, eval_strategy="epoch", save_strategy="epoch",
                             learning_rate=3e-5, per_device_train_batch_size=32, bf16=True)
    trainer = Trainer(model=model, args=args, train_dataset=encoded["train"], eval_dataset=encoded["test"])
    trainer.train()
"""


def test_twenty_epochs_of_a_base_model_fine_tune_show_no_long_run(write: Write, tmp_path) -> None:
    write("intents.py", SPEECH_FINETUNE.replace("CHECKPOINT", "facebook/wav2vec2-base"))
    [finding] = run(tmp_path, "no-early-stopping")
    # every pretrained transformer has tens of millions of parameters: its size says nothing
    # of how long twenty epochs over a hub set of unknown size take
    assert finding.confidence is Confidence.LOW
    assert "long run" not in finding.message


def test_twenty_epochs_of_a_large_checkpoint_fine_tune_keep_the_rule_confidence(write: Write, tmp_path) -> None:
    write("intents.py", SPEECH_FINETUNE.replace("CHECKPOINT", "facebook/wav2vec2-large-xlsr-53"))
    [finding] = run(tmp_path, "no-early-stopping")
    assert finding.confidence is not Confidence.LOW
    assert finding.message.endswith("(long run: 20 epochs, fine-tunes facebook/wav2vec2-large-xlsr-53)")


def test_ten_epochs_of_a_large_checkpoint_fine_tune_are_one_sign_of_a_long_run(write: Write, tmp_path) -> None:
    """A large checkpoint alone: ten epochs over a hub set of unknown size may end in minutes."""
    write("intents.py", SPEECH_FINETUNE.replace("CHECKPOINT", "facebook/wav2vec2-large-xlsr-53").replace(
        "num_train_epochs=20", "num_train_epochs=10"))
    [finding] = run(tmp_path, "no-early-stopping")
    assert finding.confidence is Confidence.LOW and "long run" not in finding.message


def test_twenty_epochs_over_a_known_small_hub_set_end_in_minutes(write: Write, tmp_path) -> None:
    write("intents.py", SPEECH_FINETUNE.replace("CHECKPOINT", "facebook/wav2vec2-large-xlsr-53").replace(
        'load_dataset("our-org/call-center-intents", split="train")', 'load_dataset("PolyAI/minds14", name="en-US", split="train")'))
    assert run(tmp_path, "no-early-stopping") == []  # 563 recordings x 20 epochs, even for a large checkpoint


SPEEDRUN = '''
    import copy
    import glob
    import sys

    import numpy as np
    import torch
    import torch.nn.functional as F
    from torch import nn


    class TinyGPT(nn.Module):
        def __init__(self, vocab=50304, dim=768, layers=12):
            super().__init__()
            self.embed = nn.Embedding(vocab, dim)
            self.blocks = nn.ModuleList(nn.TransformerEncoderLayer(dim, 12, 4 * dim, batch_first=True)
                                        for _ in range(layers))
            self.head = nn.Linear(dim, vocab, bias=False)

        def forward(self, idx, targets):
            x = self.embed(idx)
            for block in self.blocks:
                x = block(x, is_causal=True, src_mask=nn.Transformer.generate_square_subsequent_mask(idx.size(1)))
            return F.cross_entropy(self.head(x).flatten(0, 1), targets.flatten())


    def batches(pattern, tokens):
        for path in sorted(glob.glob(pattern)):
            data = torch.from_numpy(np.fromfile(path, dtype=np.uint16).astype(np.int64))
            for start in range(0, len(data) - tokens - 1, tokens):
                chunk = data[start:start + tokens + 1].cuda()
                yield chunk[:-1].view(-1, 1024), chunk[1:].view(-1, 1024)


    model = TinyGPT().cuda()
    num_trials = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    micro = 16
    BODY
'''

TRIALS = '''
    for trial in range(num_trials):
        train_steps = 3000
        for p in model.parameters():
            nn.init.normal_(p, std=0.02)
        optimizer = torch.optim.AdamW(model.parameters(), lr=6e-4, betas=(0.9, 0.95), fused=True)
        loader = batches("data/fineweb10B/fineweb_train_*.bin", 64 * 1024)
        for step in range(train_steps + 1):
            inputs, targets = next(loader)
            for i in range(len(inputs) // micro):
                model(inputs[i * micro:(i + 1) * micro], targets[i * micro:(i + 1) * micro]).backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        print(f"trial {trial} done after {train_steps} steps")
'''


def _speedrun(body: str) -> str:
    return SPEEDRUN.replace("    BODY\n", textwrap.indent(textwrap.dedent(body), "    "))


def _line_of(path, text: str) -> int:
    """The 1-based line of the first line of ``path`` that contains ``text``."""
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1) if text in line)


def test_repeated_trials_of_a_fixed_step_run_are_short_runs(write: Write, tmp_path) -> None:
    """Each trial builds its own optimizer and runs 3,001 steps: the loop over trials repeats
    a short run, it is no epoch loop, and the large data set is sampled, not passed over."""
    script = write("train_gpt.py", _speedrun(TRIALS))
    [finding] = run(tmp_path, "missing-checkpoint")
    assert finding.line == _line_of(script, "for step in range(train_steps + 1)")  # the run's own step loop
    assert finding.confidence is Confidence.LOW


def test_a_warm_up_loop_undone_afterwards_needs_no_checkpoint(write: Write, tmp_path) -> None:
    """The kernels warm up on real steps, the initial state is loaded back, and the timed run
    that follows saves its result: the warm-up has nothing worth saving."""
    write("train_gpt.py", _speedrun('''
        optimizer = torch.optim.AdamW(model.parameters(), lr=6e-4, fused=True)
        initial = dict(model=copy.deepcopy(model.state_dict()), optimizer=copy.deepcopy(optimizer.state_dict()))
        loader = batches("data/fineweb10B/fineweb_train_*.bin", 64 * 1024)
        for step in range(int(sys.argv[2])):
            inputs, targets = next(loader)
            model(inputs, targets).backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        model.load_state_dict(initial["model"])
        optimizer.load_state_dict(initial["optimizer"])
        for step in range(int(sys.argv[3])):
            inputs, targets = next(loader)
            model(inputs, targets).backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            if step % 1000 == 0:
                torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, "ckpt.pt")
    '''))
    assert run(tmp_path, "missing-checkpoint") == []


def test_best_weights_restored_after_training_are_no_checkpoint(write: Write, tmp_path) -> None:
    """A copy taken inside the loop (the best epoch's weights) is restored after training:
    that loop is the run, and a crash still loses it."""
    script = write("train_gpt.py", _speedrun('''
        optimizer = torch.optim.AdamW(model.parameters(), lr=6e-4, fused=True)
        best, best_loss = copy.deepcopy(model.state_dict()), float("inf")
        val_inputs, val_targets = next(batches("data/fineweb10B/fineweb_val_*.bin", 64 * 1024))
        loader = batches("data/fineweb10B/fineweb_train_*.bin", 64 * 1024)
        for step in range(int(sys.argv[2])):
            inputs, targets = next(loader)
            model(inputs, targets).backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            if step % 500 == 0:
                with torch.no_grad():
                    val_loss = model(val_inputs, val_targets).item()
                if val_loss < best_loss:
                    best, best_loss = copy.deepcopy(model.state_dict()), val_loss
        model.load_state_dict(best)
    '''))
    [finding] = run(tmp_path, "missing-checkpoint")
    assert finding.line == _line_of(script, "for step in range(int(sys.argv[2]))")


def _logged(source: str, log: str) -> dict:
    return {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": textwrap.dedent(source).lstrip("\n"),
            "outputs": [{"output_type": "stream", "name": "stdout", "text": log}]}


@pytest.mark.parametrize(("budget", "reported"), [(2, False), (40, True)])
def test_keras_epochs_from_a_pipeline_parameter_are_read_from_the_saved_log(write: Write, tmp_path, budget: int,
                                                                           reported: bool) -> None:
    """``epochs=int(EPOCHS)`` comes from a pipeline parameter the code does not show; the
    saved log does: ``Epoch 1/2`` ran two epochs, where early stopping has nothing to cut."""
    log = "".join(f"Epoch {e}/{budget}\n532/532 [==============================] - 690s 1s/step - loss: 0.2 - "
                  f"val_loss: 0.07\n" for e in range(1, min(budget, 3) + 1))
    cells = [_logged("import os\n" + textwrap.dedent(KERAS_SETUP).lstrip("\n") + "EPOCHS = os.environ['EPOCHS']\n", ""),
             _logged("history = model.fit(train_ds, validation_split=0.1, epochs=int(EPOCHS))\n", log)]
    write("digits.ipynb", json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    assert bool(run(tmp_path, "no-early-stopping")) is reported
