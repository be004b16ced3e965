"""A notebook's saved outputs tell how long its training took; rules whose advice pays only
on long runs stay silent when the record shows a run of minutes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import Write, check
from greenlint.analyzer.recorded_runtime import recorded_training_minutes
from greenlint.findings import Confidence

IMPORTS = "import time\nimport torch\nimport torchvision\nfrom torch.utils.data import DataLoader"
DATA = (
    "device = torch.device('cuda')\n"
    "transform = torchvision.transforms.Compose([torchvision.transforms.RandomCrop(32, padding=4),\n"
    "    torchvision.transforms.ToTensor()])\n"
    "train_set = torchvision.datasets.CIFAR10('data', train=True, download=True, transform=transform)\n"
    "train_loader = DataLoader(train_set, batch_size=128, shuffle=True)"
)
TRAINING = (
    "model = torchvision.models.resnet18(num_classes=10).to(device)\n"
    "optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)\n"
    "start_time = time.time()\n"
    "for epoch in range(30):\n"
    "    model.train()\n"
    "    for batch_idx, (images, labels) in enumerate(train_loader):\n"
    "        images, labels = images.to(device), labels.to(device)\n"
    "        loss = torch.nn.functional.cross_entropy(model(images), labels)\n"
    "        optimizer.zero_grad()\n"
    "        loss.backward()\n"
    "        optimizer.step()\n"
    "        print(f'Epoch: {epoch + 1:03d}/030 | Batch {batch_idx:03d}/391 | Cost: {loss.item():.4f}')\n"
    "    print(f'Time elapsed: {(time.time() - start_time) / 60:.2f} min')\n"
    "print(f'Total Training Time: {(time.time() - start_time) / 60:.2f} min')"
)


def cell(source: str, *outputs: str) -> dict:
    return {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": source.splitlines(keepends=True),
            "outputs": [{"output_type": "stream", "name": "stdout", "text": text.splitlines(keepends=True)}
                        for text in outputs]}


def elapsed_log(total_minutes: float, epochs: int = 30) -> str:
    lines = []
    for epoch in range(1, epochs + 1):
        lines.append(f"Epoch: {epoch:03d}/{epochs:03d} | Batch 000/391 | Cost: 2.3026")
        lines.append(f"Time elapsed: {total_minutes * epoch / epochs:.2f} min")
    lines.append(f"Total Training Time: {total_minutes:.2f} min")
    return "\n".join(lines) + "\n"


def write_notebook(write: Write, cells: list[dict]) -> None:
    write("cifar_resnet.ipynb", json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))


RUN_LENGTH_RULES = {"GL401", "GL402", "GL501", "GL502"}


def test_a_notebook_that_records_a_four_minute_run_gets_no_run_length_advice(write: Write, tmp_path: Path) -> None:
    write_notebook(write, [cell(IMPORTS), cell(DATA), cell(TRAINING, elapsed_log(4.35))])
    assert not {f.code for f in check(tmp_path).findings} & RUN_LENGTH_RULES


def test_a_notebook_that_records_a_long_run_keeps_its_findings(write: Write, tmp_path: Path) -> None:
    write_notebook(write, [cell(IMPORTS), cell(DATA), cell(TRAINING, elapsed_log(95.0))])
    assert RUN_LENGTH_RULES <= {f.code for f in check(tmp_path).findings}


def test_a_run_of_twenty_minutes_is_too_long_for_speed_advice_to_be_dropped_but_too_short_for_checkpoints(
        write: Write, tmp_path: Path) -> None:
    write_notebook(write, [cell(IMPORTS), cell(DATA), cell(TRAINING, elapsed_log(20.0))])
    found = {f.code for f in check(tmp_path).findings}
    assert {"GL401", "GL501", "GL502"} <= found
    assert "GL402" not in found


def test_a_nine_minute_run_gets_no_speed_advice(write: Write, tmp_path: Path) -> None:
    """Mixed precision or fewer syncs would save a few minutes of a nine-minute run."""
    write_notebook(write, [cell(IMPORTS), cell(DATA), cell(TRAINING, elapsed_log(9.0))])
    assert not {f.code for f in check(tmp_path).findings} & RUN_LENGTH_RULES


@pytest.mark.parametrize(("minutes", "advised"), [(34.0, False), (40.0, True)])
def test_checkpoints_are_advised_from_about_thirty_five_recorded_minutes(write: Write, tmp_path: Path,
                                                                         minutes: float, advised: bool) -> None:
    write_notebook(write, [cell(IMPORTS), cell(DATA), cell(TRAINING, elapsed_log(minutes))])
    checkpoint = [f for f in check(tmp_path).findings if f.code == "GL402"]
    assert bool(checkpoint) is advised
    assert all(f.confidence is not Confidence.LOW and f.message.endswith(f"records {minutes:.0f} min of training)")
               for f in checkpoint)


def test_a_notebook_without_outputs_keeps_its_findings(write: Write, tmp_path: Path) -> None:
    write_notebook(write, [cell(IMPORTS), cell(DATA), cell(TRAINING)])
    assert RUN_LENGTH_RULES <= {f.code for f in check(tmp_path).findings}


def test_a_notebook_without_outputs_shows_no_long_run_by_its_epochs_alone(write: Write, tmp_path: Path) -> None:
    small_cnn = TRAINING.replace("torchvision.models.resnet18(num_classes=10)", (
        "torch.nn.Sequential(torch.nn.Conv2d(3, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),\n"
        "    torch.nn.Conv2d(64, 128, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),\n"
        "    torch.nn.Conv2d(128, 256, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),\n"
        "    torch.nn.Flatten(), torch.nn.Linear(256, 10))"))
    write_notebook(write, [cell(IMPORTS), cell(DATA), cell(small_cnn)])
    write("cifar_resnet.py", "\n".join((IMPORTS, DATA, small_cnn)) + "\n")
    speed = {"GL401", "GL501", "GL502"}
    by_file: dict[str, dict[str, Confidence]] = {}
    for finding in check(tmp_path).findings:
        if finding.code in speed:
            by_file.setdefault(finding.path, {})[finding.code] = finding.confidence
    # thirty epochs of a small CNN on CIFAR-10 are one sign at most; in a notebook that records no run, none
    assert set(by_file["cifar_resnet.py"]) == speed
    assert by_file["cifar_resnet.ipynb"] == dict.fromkeys(speed, Confidence.LOW)


def test_cumulative_elapsed_times_count_their_last_value() -> None:
    assert recorded_training_minutes([cell(TRAINING, elapsed_log(33.97, epochs=100))]) == pytest.approx(33.97)


def test_per_epoch_elapsed_times_add_up() -> None:
    log = "".join(f"epoch {e} train loss 0.{90 - e} elapsed: 40.0 s\n" for e in range(1, 51))
    assert recorded_training_minutes([cell("for epoch in range(50):\n    train_one_epoch(model, loader)", log)]) \
        == pytest.approx(50 * 40 / 60)


def test_finished_training_bars_count_and_data_preparation_bars_do_not() -> None:
    tokenize = cell(
        "train_set = raw['train'].map(tokenize, batched=True)",
        "Map: 100%|██████████| 25000/25000 [03:10<00:00, 131.2 examples/s]\n",
    )
    train = cell(
        "for epoch in tqdm.tqdm(range(10)):\n    train_loss = train_fn(model, train_loader, optimizer, criterion, device)",
        "100%|██████████| 10/10 [02:09<00:00, 12.95s/it]\n",
    )
    minutes = recorded_training_minutes([tokenize, train])
    assert minutes is not None and 2.15 <= minutes < 2.2  # 2:09, rounded up by a second


def test_a_bar_redrawn_in_place_counts_once() -> None:
    frames = "\r".join(f"training...: {p}%|███| {n}/2344 [{m:02d}:{s:02d}<00:10, 4.80it/s]"
                       for p, n, m, s in ((50, 1172, 4, 4), (100, 2344, 8, 8)))
    train = cell("train_loss = train(train_loader, model, criterion, optimizer, device)",
                 frames + "\r" + frames.rsplit("\r", 1)[1] + "\n")
    assert recorded_training_minutes([train]) == pytest.approx(8 + 9 / 60)


def test_keras_epoch_lines_add_up() -> None:
    epochs = "".join(
        f"Epoch {e}/20\n1563/1563 [==============================] - 12s 7ms/step - loss: 1.{50 - e} - val_loss: 1.{60 - e}\n"
        for e in range(1, 21)
    )
    history = cell("history = model.fit(x_train, y_train, epochs=20, validation_data=(x_val, y_val))", epochs)
    assert recorded_training_minutes([history]) == pytest.approx(20 * 13 / 60)


def test_wall_time_of_a_timed_training_call_counts() -> None:
    timed = cell("%time train(model, optimizer, criterion, train_loader, epochs=90)",
                 "CPU times: user 3h 1min, sys: 5min 2s, total: 3h 6min\nWall time: 1h 12min 5s\n")
    assert recorded_training_minutes([timed]) == pytest.approx(72 + 6 / 60)


def test_a_cell_that_loaded_a_checkpoint_instead_of_training_records_nothing() -> None:
    resumed = cell(TRAINING, "Load autoencoder_i_20_cuda:2.pt\nTotal Training Time: 0.00 min\n")
    assert recorded_training_minutes([resumed]) is None


def test_bars_of_cells_that_do_not_train_are_not_training_time() -> None:
    evaluate = cell("test_loss, test_acc = evaluate(model, test_loader, criterion, device)",
                    "100%|██████████| 782/782 [00:52<00:00, 14.92it/s]\n")
    assert recorded_training_minutes([evaluate]) is None


KERAS_PREP = (
    "import tensorflow as tf\n"
    "from tensorflow import keras\n"
    "train_ds = keras.utils.image_dataset_from_directory('flowers/train', image_size=(180, 180), batch_size=32)\n"
    "val_ds = keras.utils.image_dataset_from_directory('flowers/val', image_size=(180, 180), batch_size=32)\n"
    "base = keras.applications.Xception(weights='imagenet', include_top=False, input_shape=(180, 180, 3))\n"
    "model = keras.Sequential([base, keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(5)])\n"
    "model.compile(optimizer='adam', loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))"
)


def keras_log(epochs: int, seconds: int) -> str:
    return "".join(f"Epoch {e}/{epochs}\n92/92 [==============================] - {seconds}s 120ms/step - loss: 0.{90 - e}"
                   f" - val_loss: 0.{95 - e}\n" for e in range(1, epochs + 1))


def test_a_fit_whose_own_cell_records_minutes_needs_no_early_stopping(write: Write, tmp_path: Path) -> None:
    # the head trains for 20 epochs of 11 s; the fine-tune of the whole network after it
    # records 50 epochs of 40 s, so the notebook as a whole is no short run
    head = cell("model.fit(train_ds, epochs=20, validation_data=val_ds)", keras_log(20, 11))
    fine_tune = cell("base.trainable = True\nmodel.fit(train_ds, epochs=50, validation_data=val_ds)", keras_log(50, 40))
    write_notebook(write, [cell(KERAS_PREP), head, fine_tune])
    stopping = [f.cell for f in check(tmp_path).findings if f.code == "GL204"]
    assert stopping == [3]


def test_a_demo_cell_that_records_nothing_is_not_long_by_the_notebooks_other_runs(write: Write, tmp_path: Path) -> None:
    """A chapter records an hour and a half of CIFAR training in one cell; a later cell
    fine-tunes a classifier on two sentences and prints nothing. The chapter's record
    is of the other run: the demo's Trainer gets no default-confidence advice."""
    demo = (
        "from transformers import AutoModelForSequenceClassification, Trainer, TrainingArguments\n"
        "from torch.utils.data import TensorDataset\n"
        "nli_model = AutoModelForSequenceClassification.from_pretrained('distilbert-base-uncased', num_labels=3)\n"
        "pairs = tokenizer([('Sky is blue', 'Sky is red'), ('I love her', 'She loves me')], padding=True, return_tensors='pt')\n"
        "dataset = TensorDataset(pairs['input_ids'], pairs['attention_mask'], torch.tensor([0, 2]))\n"
        "args = TrainingArguments(output_dir='./results', num_train_epochs=2, per_device_train_batch_size=2)\n"
        "trainer = Trainer(model=nli_model, args=args, train_dataset=dataset)\n"
        "trainer.train()"
    )
    write_notebook(write, [cell(IMPORTS), cell(DATA), cell(TRAINING, elapsed_log(95.0)), cell(demo)])
    findings = check(tmp_path).findings
    assert {f.code for f in findings if f.cell == 3} >= {"GL401", "GL402"}
    assert not [f for f in findings if f.cell == 4 and f.confidence != Confidence.LOW]
