"""Run-length advice (GL401, GL402, GL501, GL502) is reported at the rule's confidence, with
the reason, where the code shows a long run, and at low confidence where it does not; the
default threshold hides low-confidence findings and counts them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import Write, check
from greenlint.cli import main
from greenlint.config import ConfigError, load_settings
from greenlint.findings import Confidence

TRAIN_STEP = (
    "        for images, labels in loader:\n"
    "            images, labels = images.cuda(non_blocking=True), labels.cuda(non_blocking=True)\n"
    "            loss = F.cross_entropy(model(images), labels)\n"
    "            optimizer.zero_grad()\n"
    "            loss.backward()\n"
    "            optimizer.step()\n"
    "            print(f'epoch {epoch} loss {loss.item():.4f}')\n"
)
HEADER = (
    "import argparse\n"
    "import torch\n"
    "import torch.nn as nn\n"
    "import torch.nn.functional as F\n"
    "from torch.utils.data import DataLoader\n"
    "from torchvision import datasets, transforms\n"
    "\n"
    "\n"
    "class SmallNet(nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.features = nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),\n"
    "                                      nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),\n"
    "                                      nn.Conv2d(128, 256, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))\n"
    "        self.classifier = nn.Linear(256, 10)\n"
    "\n"
    "    def forward(self, x):\n"
    "        return self.classifier(self.features(x).flatten(1))\n"
    "\n"
    "\n"
)


def script(signature: str, epochs: str, data: str = "'data'", model: str = "SmallNet()", extra: str = "") -> str:
    return (
        HEADER
        + f"def train({signature}):\n"
        + f"    train_set = datasets.ImageFolder({data}, transforms.ToTensor())\n"
        + "    loader = DataLoader(train_set, batch_size=128, shuffle=True)\n"
        + f"    model = {model}.cuda()\n{extra}"
        + "    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)\n"
        + f"    for epoch in {epochs}:\n"
        + TRAIN_STEP
    )


RUN_LENGTH_RULES = ("GL401", "GL402", "GL501", "GL502")


def graded(tmp_path: Path) -> dict[str, tuple[Confidence, str]]:
    return {f.code: (f.confidence, f.message) for f in check(tmp_path).findings if f.code in RUN_LENGTH_RULES}


def test_ninety_epochs_alone_are_one_sign_of_a_long_run_not_enough(write: Write, tmp_path: Path) -> None:
    write("train.py", script("epochs=90", "range(epochs)"))
    found = graded(tmp_path)
    assert set(found) == set(RUN_LENGTH_RULES)
    assert all(c is Confidence.LOW and "long run" not in m for c, m in found.values())  # 90 epochs of a small CNN


def test_ninety_epochs_over_a_large_data_set_are_a_long_run_for_speed_advice(write: Write, tmp_path: Path) -> None:
    write("train.py", script("epochs=90", "range(epochs)", data="'/datasets/imagenet/train'"))
    found = graded(tmp_path)
    speed = [found[code] for code in ("GL401", "GL501")]
    assert all(c is not Confidence.LOW and m.endswith("(long run: 90 epochs, the imagenet data set)") for c, m in speed)
    assert found["GL402"][0] is Confidence.LOW  # ninety epochs of what? Only a duration or scale shows a costly crash
    assert found["GL502"][0] is Confidence.LOW  # only a recorded time or counted steps show many short steps


def test_a_large_data_set_alone_does_not_ask_for_a_checkpoint(write: Write, tmp_path: Path) -> None:
    write("train.py", script("epochs=90", "range(epochs)", data="'/datasets/imagenet/train'"))
    confidence, message = graded(tmp_path)["GL402"]
    assert confidence is Confidence.LOW and "long run" not in message  # one sign; epochs do not count for checkpoints


def test_thirty_epochs_are_long_for_speed_advice_but_not_for_a_checkpoint(write: Write, tmp_path: Path) -> None:
    write("train.py", script("epochs=30", "range(epochs)", data="'/datasets/imagenet/train'"))
    found = graded(tmp_path)
    assert all(found[code][1].endswith("(long run: 30 epochs, the imagenet data set)") for code in ("GL401", "GL501"))
    assert found["GL402"][0] is Confidence.LOW  # a crash in a run of 30 short epochs costs minutes


def test_a_checkpoint_is_asked_for_when_the_iterations_show_a_long_run(write: Write, tmp_path: Path) -> None:
    write("train.py", HEADER + (
        "def train(loader, steps=200_000):\n"
        "    model = SmallNet().cuda()\n"
        "    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)\n"
        "    batches = iter(loader)\n"
        "    for step in range(steps):\n"
        "        images, labels = next(batches)\n"
        "        loss = F.cross_entropy(model(images.cuda()), labels.cuda())\n"
        "        optimizer.zero_grad()\n"
        "        loss.backward()\n"
        "        optimizer.step()\n"
    ))
    confidence, message = graded(tmp_path)["GL402"]
    assert confidence is Confidence.MEDIUM and message.endswith("(long run: 200,000 iterations)")


def test_an_argparse_default_counted_from_one_is_a_long_run(write: Write, tmp_path: Path) -> None:
    main_block = (
        "\n\nif __name__ == '__main__':\n"
        "    parser = argparse.ArgumentParser()\n"
        "    parser.add_argument('--epochs', type=int, default=40)\n"
        "    args = parser.parse_args()\n"
        "    train(args)\n"
    )
    write("train.py", script("args", "range(1, args.epochs + 1)", data="'/datasets/imagenet/train'") + main_block)
    assert graded(tmp_path)["GL401"][1].endswith("(long run: 40 epochs, the imagenet data set)")


def test_a_resumable_range_counts_its_span(write: Write, tmp_path: Path) -> None:
    resume = "    start_epoch = torch.load('last.pt')['epoch'] + 1 if resume else 0\n"
    write("train.py", script("resume=False", "range(start_epoch, start_epoch + 200)", data="'/datasets/imagenet/train'",
                             extra=resume))
    assert graded(tmp_path)["GL401"][1].endswith("(long run: 200 epochs, the imagenet data set)")


def test_a_run_whose_length_the_code_does_not_show_is_low_confidence(write: Write, tmp_path: Path) -> None:
    write("train.py", script("epochs", "range(epochs)"))
    found = graded(tmp_path)
    assert set(found) == set(RUN_LENGTH_RULES)
    assert all(c is Confidence.LOW and "long run" not in m for c, m in found.values())


@pytest.mark.parametrize("data, model, extra, reason", [
    ("'/datasets/imagenet/train'", "SmallNet()", "", "the imagenet data set"),
    ("'data'", "torchvision.models.resnet50(num_classes=10)", "", "a model of 23.5 M parameters"),
], ids=["large-data-set", "large-model"])
def test_one_sign_of_scale_without_epochs_is_low_confidence(write: Write, tmp_path: Path, data: str, model: str,
                                                            extra: str, reason: str) -> None:
    write("train.py", "import torchvision\n" + script("epochs", "range(epochs)", data, model, extra))
    found = graded(tmp_path)
    assert found["GL401"][0] is Confidence.LOW and reason not in found["GL401"][1]


def test_two_signs_of_scale_agree_on_a_long_run(write: Write, tmp_path: Path) -> None:
    write("train.py", "import torchvision\n" + script("epochs", "range(epochs)", "'/datasets/imagenet/train'",
                                                      "torchvision.models.resnet50(num_classes=10)"))
    found = graded(tmp_path)
    assert found["GL401"] == (Confidence.MEDIUM, found["GL401"][1])
    assert found["GL401"][1].endswith("(long run: the imagenet data set, a model of 23.5 M parameters)")


def test_distributed_training_alone_does_not_show_a_long_run(write: Write, tmp_path: Path) -> None:
    ddp = "    model = nn.parallel.DistributedDataParallel(model)\n"
    write("train.py", script("epochs", "range(epochs)", extra=ddp))
    assert graded(tmp_path)["GL401"][0] is Confidence.LOW  # a demo of DDP may run ten steps


def test_a_large_checkpoint_fine_tuned_alone_is_one_sign(write: Write, tmp_path: Path) -> None:
    write("finetune.py", '''
        import torch
        from transformers import AutoModelForSeq2SeqLM

        checkpoint = "google/flan-t5-large"


        def finetune(train_loader, epochs):
            model = AutoModelForSeq2SeqLM.from_pretrained(checkpoint).cuda()
            optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
            for epoch in range(epochs):
                for batch in train_loader:
                    loss = model(**{k: v.cuda() for k, v in batch.items()}).loss
                    loss.backward()
                    optimizer.step()
                    optimizer.zero_grad()
    ''')
    assert graded(tmp_path)["GL401"][0] is Confidence.LOW  # one sign: how long is the fine-tune?


def test_a_large_checkpoint_fine_tuned_for_many_epochs_is_a_long_run(write: Write, tmp_path: Path) -> None:
    write("finetune.py", '''
        import torch
        from transformers import AutoModelForSeq2SeqLM


        def finetune(train_loader):
            model = AutoModelForSeq2SeqLM.from_pretrained("google/flan-t5-large").cuda()
            optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
            for epoch in range(30):
                for batch in train_loader:
                    loss = model(**{k: v.cuda() for k, v in batch.items()}).loss
                    loss.backward()
                    optimizer.step()
                    optimizer.zero_grad()
    ''')
    assert graded(tmp_path)["GL401"][1].endswith("(long run: 30 epochs, fine-tunes google/flan-t5-large)")


def test_a_loader_module_inherits_the_epochs_of_the_script_that_imports_it(write: Write, tmp_path: Path) -> None:
    write("data.py", '''
        from torch.utils.data import DataLoader
        from torchvision import datasets, transforms


        def make_loader(root):
            augment = transforms.Compose([transforms.RandomResizedCrop(224), transforms.ToTensor()])
            return DataLoader(datasets.ImageFolder(root, augment), batch_size=64, shuffle=True)
    ''')
    write("train.py", '''
        import torch
        import torch.nn.functional as F
        import torchvision

        from data import make_loader


        def train_one_epoch(model, loader, optimizer):
            for images, labels in loader:
                loss = F.cross_entropy(model(images.cuda()), labels.cuda())
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()


        if __name__ == "__main__":
            model = torchvision.models.resnet50(num_classes=5).cuda()
            optimizer = torch.optim.AdamW(model.parameters())
            loader = make_loader("/datasets/imagenet/train")
            for epoch in range(60):
                train_one_epoch(model, loader, optimizer)
    ''')
    (loader_finding,) = [f for f in check(tmp_path).findings if f.code == "GL501"]
    assert loader_finding.path == "data.py" and "(long run: 60 epochs, the imagenet data set" in loader_finding.message


def test_the_default_threshold_hides_low_confidence_findings_and_counts_them(
        write: Write, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write("train.py", script("epochs", "range(epochs)"))
    assert main(["check", str(tmp_path), "--no-cache", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["findings"] == [] and document["summary"]["below_confidence"] == 4
    assert main(["check", str(tmp_path), "--no-cache"]) == 0
    assert "4 less certain findings not shown" in capsys.readouterr().out
    assert main(["check", str(tmp_path), "--no-cache", "--format", "json", "--min-confidence", "low"]) == 1
    shown = json.loads(capsys.readouterr().out)["findings"]
    assert sorted(f["code"] for f in shown) == sorted(RUN_LENGTH_RULES) and {f["confidence"] for f in shown} == {"low"}


def test_min_confidence_is_read_from_the_config(write: Write, tmp_path: Path) -> None:
    write("pyproject.toml", '[tool.greenlint]\nmin-confidence = "low"\n')
    assert load_settings(tmp_path).min_confidence is Confidence.LOW
    write("pyproject.toml", '[tool.greenlint]\nmin-confidence = "lo"\n')
    with pytest.raises(ConfigError, match="min-confidence must be one of high, medium, low .did you mean 'low'"):
        load_settings(tmp_path)


HUB_FINETUNE = '''
    from datasets import load_dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainingArguments

    checkpoint = "meta-llama/Llama-3.1-8B-Instruct"
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    model = AutoModelForCausalLM.from_pretrained(checkpoint)
    train_set = load_dataset("json", data_files="data/support_chats.jsonl")["train"].map(
        lambda row: tokenizer(row["text"], truncation=True, max_length=1024), batched=True)
    args = TrainingArguments("out/assistant", per_device_train_batch_size=4, bf16=True,
                             num_train_epochs=EPOCHS, save_strategy="no")
    Trainer(model=model, args=args, train_dataset=train_set).train()
'''


def test_checkpoints_switched_off_beside_a_large_model_are_low_confidence(write: Write, tmp_path: Path) -> None:
    write("finetune.py", HUB_FINETUNE.replace("EPOCHS", "2"))
    confidence, message = graded(tmp_path)["GL402"]
    assert 'save_strategy="no"' in message
    assert confidence is Confidence.LOW  # turned off on purpose; an 8B checkpoint alone says nothing of the run


def test_checkpoints_switched_off_for_many_steps_keep_the_rules_confidence(write: Write, tmp_path: Path) -> None:
    write("finetune.py", HUB_FINETUNE.replace("EPOCHS", "2, max_steps=20_000"))
    confidence, message = graded(tmp_path)["GL402"]
    assert confidence is not Confidence.LOW and message.endswith("(long run: 20,000 steps)")


def test_findings_in_a_legacy_folder_are_low_confidence(write: Write, tmp_path: Path) -> None:
    write("legacy/train.py", script("epochs=90", "range(epochs)", data="'/datasets/imagenet/train'"))
    write("train.py", script("epochs=90", "range(epochs)", data="'/datasets/imagenet/train'"))
    findings = [f for f in check(tmp_path).findings if f.code in ("GL401", "GL501")]
    assert {f.path for f in findings} == {"train.py", "legacy/train.py"}
    assert all((f.confidence is Confidence.LOW) == f.path.startswith("legacy/") for f in findings)


KERAS_TRANSFER = '''
    from tensorflow import keras

    train_ds = keras.utils.image_dataset_from_directory("DATA_DIR", image_size=(180, 180), batch_size=32)
    base = keras.applications.VGG16(weights="imagenet", include_top=False, input_shape=(180, 180, 3))
    base.trainable = False
    model = keras.Sequential([base, keras.layers.Flatten(), keras.layers.Dense(256, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(train_ds, epochs=30)
'''


def test_pretrained_imagenet_weights_are_no_imagenet_training(write: Write, tmp_path: Path) -> None:
    write("transfer.py", KERAS_TRANSFER.replace("DATA_DIR", "cats_vs_dogs_small/train"))
    assert graded(tmp_path)["GL402"][0] is Confidence.LOW  # the weights came from ImageNet, the data did not


def test_training_on_imagenet_named_in_a_path_is_one_sign_only(write: Write, tmp_path: Path) -> None:
    write("transfer.py", KERAS_TRANSFER.replace("DATA_DIR", "/datasets/imagenet/train"))
    confidence, message = graded(tmp_path)["GL402"]
    assert confidence is Confidence.LOW and "long run" not in message  # 30 epochs of a frozen VGG's new head


GLUE_FINETUNE = '''
    from datasets import load_dataset
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, Trainer, TrainingArguments

    tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")
    raw = load_dataset("glue", "TASK")
    encoded = raw.map(lambda batch: tokenizer(batch["sentence1"], batch["sentence2"], truncation=True), batched=True)
    model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased", num_labels=2)
    args = TrainingArguments("out/glue", learning_rate=2e-5, per_device_train_batch_size=32, EXTRA)
    trainer = Trainer(model=model, args=args, train_dataset=encoded["train"], eval_dataset=encoded["validation"],
                      tokenizer=tokenizer)
    trainer.train()
'''


def test_few_epochs_over_a_small_hub_set_are_a_short_run(write: Write, tmp_path: Path) -> None:
    write("finetune.py", GLUE_FINETUNE.replace("TASK", "mrpc").replace("EXTRA", "num_train_epochs=5"))
    assert graded(tmp_path)["GL401"][0] is Confidence.LOW  # 3,668 pairs x 5 epochs: minutes even for BERT


def test_a_large_model_on_a_set_of_unknown_size_is_one_sign_only(write: Write, tmp_path: Path) -> None:
    write("finetune.py", GLUE_FINETUNE.replace("TASK", "mnli").replace("EXTRA", "num_train_epochs=5"))
    confidence, message = graded(tmp_path)["GL401"]
    assert confidence is Confidence.LOW and "long run" not in message  # the model's size alone: a fine-tune of minutes or days


def test_a_trainer_capped_at_a_few_steps_is_a_demo(write: Write, tmp_path: Path) -> None:
    write("finetune.py", GLUE_FINETUNE.replace("TASK", "mnli").replace("EXTRA", "max_steps=10"))
    assert "GL401" not in graded(tmp_path)


LANGUAGE_MODEL_FINETUNE = """
    from datasets import load_dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, DataCollatorForLanguageModeling, Trainer, TrainingArguments

    raw = load_dataset("wikitext", "CONFIG")
    tokenizer = AutoTokenizer.from_pretrained("distilgpt2")
    tokenized = raw.map(lambda batch: tokenizer(batch["text"]), batched=True, remove_columns=["text"])
    model = AutoModelForCausalLM.from_pretrained("distilgpt2").to("cuda")
    args = TrainingArguments("out/wikitext-lm", num_train_epochs=3, learning_rate=2e-5, weight_decay=0.01,
                             eval_strategy="epoch")
    trainer = Trainer(model=model, args=args, train_dataset=tokenized["train"], eval_dataset=tokenized["validation"],
                      data_collator=DataCollatorForLanguageModeling(tokenizer, mlm=False))
    trainer.train()
"""


def test_three_epochs_over_wikitext_2_are_a_short_run(write: Write, tmp_path: Path) -> None:
    write("finetune_lm.py", LANGUAGE_MODEL_FINETUNE.replace("CONFIG", "wikitext-2-raw-v1"))
    assert graded(tmp_path)["GL401"][0] is Confidence.LOW  # 2 M tokens x 3 epochs: minutes for distilgpt2


def test_the_trainer_default_of_three_epochs_counts_when_none_is_given(write: Write, tmp_path: Path) -> None:
    write("finetune_lm.py", LANGUAGE_MODEL_FINETUNE.replace("CONFIG", "wikitext-2-raw-v1").replace(
        "num_train_epochs=3, ", ""))
    assert graded(tmp_path)["GL401"][0] is Confidence.LOW  # Hugging Face trains three epochs unless told otherwise


def test_three_epochs_over_wikitext_103_are_one_sign_only(write: Write, tmp_path: Path) -> None:
    write("finetune_lm.py", LANGUAGE_MODEL_FINETUNE.replace("CONFIG", "wikitext-103-raw-v1"))
    confidence, message = graded(tmp_path)["GL401"]
    assert confidence is Confidence.LOW and "long run" not in message  # the model's size alone: a fine-tune of minutes or days


REVIEWS_FINETUNE = """
    from datasets import load_dataset
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, Trainer, TrainingArguments

    reviews = load_dataset("yelp_review_full")
    tokenizer = AutoTokenizer.from_pretrained("bert-base-cased")
    tokenized = reviews.map(lambda batch: tokenizer(batch["text"], padding="max_length", truncation=True), batched=True)
    small_train = tokenized["train"].shuffle(seed=42).select(range(1000))
    small_eval = tokenized["test"].shuffle(seed=42).select(range(1000))
    model = AutoModelForSequenceClassification.from_pretrained("bert-base-cased", num_labels=5).to("cuda")
    args = TrainingArguments("out/yelp", eval_strategy="epoch")
    trainer = Trainer(model=model, args=args, train_dataset=TRAIN, eval_dataset=small_eval)
    trainer.train()
"""


def test_a_trainer_handed_a_selection_of_a_thousand_reviews_runs_minutes(write: Write, tmp_path: Path) -> None:
    write("finetune.py", REVIEWS_FINETUNE.replace("TRAIN", "small_train"))
    assert graded(tmp_path)["GL401"][0] is Confidence.LOW  # 1,000 reviews x 3 epochs


def test_a_trainer_handed_the_whole_split_is_one_sign_only(write: Write, tmp_path: Path) -> None:
    write("finetune.py", REVIEWS_FINETUNE.replace("TRAIN", 'tokenized["train"]'))
    confidence, message = graded(tmp_path)["GL401"]
    assert confidence is Confidence.LOW and "long run" not in message  # the model's size alone: a fine-tune of minutes or days


CAPTIONING_FINETUNE = """
    import torch
    from datasets import load_dataset
    from torch.utils.data import DataLoader, Dataset
    from transformers import AutoProcessor, BlipForConditionalGeneration

    processor = AutoProcessor.from_pretrained("Salesforce/blip-image-captioning-base")
    model = BlipForConditionalGeneration.from_pretrained("Salesforce/blip-image-captioning-base").to("cuda")
    captions = load_dataset("DATASET", split="train")


    class CaptionSet(Dataset):
        def __len__(self):
            return len(captions)

        def __getitem__(self, index):
            item = captions[index]
            encoding = processor(images=item["image"], text=item["text"], padding="max_length", return_tensors="pt")
            return {key: value.squeeze() for key, value in encoding.items()}


    loader = DataLoader(CaptionSet(), shuffle=True, batch_size=2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5)
    model.train()
    for epoch in range(50):
        for batch in loader:
            input_ids = batch.pop("input_ids").to("cuda")
            pixel_values = batch.pop("pixel_values").to("cuda")
            loss = model(input_ids=input_ids, pixel_values=pixel_values, labels=input_ids).loss
            print("Loss:", loss.item())
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
"""


def test_fifty_epochs_over_a_six_image_demo_set_are_a_short_run(write: Write, tmp_path: Path) -> None:
    write("finetune.py", CAPTIONING_FINETUNE.replace("DATASET", "ybelkada/football-dataset"))
    found = graded(tmp_path)
    # six images x 50 epochs: 150 steps, minutes, whatever the model; a small set needs no workers
    assert "GL501" not in found
    assert found["GL401"][0] is Confidence.LOW and found["GL502"][0] is Confidence.LOW


def test_fifty_epochs_over_a_captioning_set_of_unknown_size_are_one_sign_only(write: Write, tmp_path: Path) -> None:
    write("finetune.py", CAPTIONING_FINETUNE.replace("DATASET", "our-org/product-photos-captioned"))
    confidence, message = graded(tmp_path)["GL401"]
    assert confidence is Confidence.LOW and "long run" not in message  # 50 epochs of a base model on a set of any size


def test_a_sync_per_step_of_a_pretrained_model_fine_tune_costs_little(write: Write, tmp_path: Path) -> None:
    write("finetune.py", CAPTIONING_FINETUNE.replace("DATASET", "our-org/product-photos-captioned"))
    found = graded(tmp_path)
    # a BLIP step runs for a good part of a second: one loss.item() is a sliver of it,
    # while fp32 doubles the whole step's cost
    assert found["GL502"][0] is Confidence.LOW and "pretrained model fine-tuned here" in found["GL502"][1]


def test_a_sync_per_step_of_a_small_model_trained_for_many_steps_keeps_its_confidence(write: Write,
                                                                                       tmp_path: Path) -> None:
    write("train.py", HEADER + (
        "def train(loader, steps=200_000):\n"
        "    model = SmallNet().cuda()\n"
        "    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)\n"
        "    batches = iter(loader)\n"
        "    for step in range(steps):\n"
        "        images, labels = next(batches)\n"
        "        loss = F.cross_entropy(model(images.cuda()), labels.cuda())\n"
        "        optimizer.zero_grad()\n"
        "        loss.backward()\n"
        "        optimizer.step()\n"
        "        print(step, loss.item())\n"
    ))
    confidence, message = graded(tmp_path)["GL502"]
    assert confidence is not Confidence.LOW and message.endswith("(long run: 200,000 iterations)")


def test_a_sync_per_step_of_a_small_model_over_ninety_epochs_is_low_confidence(write: Write, tmp_path: Path) -> None:
    """Epochs are no count of steps: ninety epochs over a large set, or over a thousand images."""
    write("train.py", script("epochs=90", "range(epochs)", data="'/datasets/imagenet/train'"))
    assert graded(tmp_path)["GL502"][0] is Confidence.LOW


CHOSEN_DATA = (
    "def load(args):\n"
    "    if args.dataset in ['imagenet', 'folder']:\n"
    "        return datasets.ImageFolder(args.dataroot, transforms.ToTensor())\n"
    "    elif args.dataset == 'lsun':\n"
    "        return datasets.LSUN(args.dataroot, classes=['bedroom_train'], transform=transforms.ToTensor())\n"
    "    return datasets.CIFAR10(args.dataroot, download=True, transform=transforms.ToTensor())\n"
    "\n"
    "\n"
    "def train(args):\n"
    "    loader = DataLoader(load(args), batch_size=128, shuffle=True)\n"
    "    model = SmallNet().cuda()\n"
    "    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)\n"
    "    for epoch in range(args.epochs):\n"
    + TRAIN_STEP
    + "\n"
    "\n"
    "parser = argparse.ArgumentParser()\n"
    "parser.add_argument('--dataset', required=True, help='cifar10 | lsun | imagenet | folder')\n"
    "parser.add_argument('--dataroot', required=True)\n"
    "parser.add_argument('--epochs', type=int, required=True)\n"
    "train(parser.parse_args())\n"
)


def test_a_large_data_set_among_the_options_is_no_evidence(write: Write, tmp_path: Path) -> None:
    # LSUN and ImageNet are branches the user may pick, and names in a help text
    write("train.py", HEADER + CHOSEN_DATA)
    assert graded(tmp_path)["GL401"][0] is Confidence.LOW


def test_a_large_data_set_loaded_unconditionally_is_one_sign(write: Write, tmp_path: Path) -> None:
    always = CHOSEN_DATA.replace("    elif args.dataset == 'lsun':\n        return datasets.LSUN", "    return datasets.LSUN")
    write("train.py", HEADER + always)
    confidence, message = graded(tmp_path)["GL401"]
    assert confidence is Confidence.LOW and "long run" not in message  # one sign alone


def test_training_arguments_built_again_before_training_report_only_the_ones_used(write: Write, tmp_path: Path) -> None:
    # a notebook builds its arguments and trainer once, then again with compute_metrics,
    # and trains only the second: one finding, at the second TrainingArguments
    redone = GLUE_FINETUNE.replace("TASK", "mnli").replace("EXTRA", "num_train_epochs=5").replace(
        "    trainer.train()\n",
        "    metric_name = 'accuracy'\n"
        "    args = TrainingArguments('out/glue', learning_rate=2e-5, per_device_train_batch_size=32, num_train_epochs=5)\n"
        "    trainer = Trainer(model=model, args=args, train_dataset=encoded['train'])\n"
        "    trainer.train()\n")
    write("finetune.py", redone)
    assert [f.line for f in check(tmp_path).findings if f.code == "GL401"] == [12]


def test_training_arguments_reassigned_after_a_run_are_both_reported(write: Write, tmp_path: Path) -> None:
    # two fine-tunes in a row, each trained: both arguments run
    twice = GLUE_FINETUNE.replace("TASK", "mnli").replace("EXTRA", "num_train_epochs=5") + (
        "    args = TrainingArguments('out/glue2', learning_rate=1e-5, num_train_epochs=5)\n"
        "    trainer = Trainer(model=model, args=args, train_dataset=encoded['train'])\n"
        "    trainer.train()\n")
    write("finetune.py", twice)
    assert [f.line for f in check(tmp_path).findings if f.code == "GL401"] == [8, 12]


def test_a_pretrained_tokenizer_is_no_fine_tuned_checkpoint(write: Write, tmp_path: Path) -> None:
    tokenizer = ("    from transformers import AutoTokenizer\n"
                 "    tokenizer = AutoTokenizer.from_pretrained('meta-llama/Llama-2-7b-hf')\n")
    write("train.py", script("epochs", "range(epochs)", extra=tokenizer))
    assert graded(tmp_path)["GL401"][0] is Confidence.LOW  # the model trained is SmallNet, from scratch


CHAR_MODEL = '''
import gzip

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

with gzip.open("data/enwik8.gz") as archive:
    corpus = torch.from_numpy(np.frombuffer(archive.read(int(95e6)), dtype=np.uint8).astype(np.int64))


class CharLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(256, 128)
        self.lstm = nn.LSTM(128, 256, batch_first=True)
        self.head = nn.Linear(256, 256)

    def forward(self, tokens):
        return self.head(self.lstm(self.embed(tokens))[0])


model = CharLSTM().cuda()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for step in range(STEPS):
    starts = torch.randint(0, corpus.numel() - 513, (16,))
    batch = torch.stack([corpus[s:s + 513] for s in starts]).cuda()
    loss = F.cross_entropy(model(batch[:, :-1]).transpose(1, 2), batch[:, 1:])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
'''


def test_a_few_thousand_steps_sample_a_large_data_set_without_a_long_run(write: Write, tmp_path: Path) -> None:
    write("train_char.py", CHAR_MODEL.replace("STEPS", "3000"))
    assert graded(tmp_path)["GL402"][0] is Confidence.LOW  # enwik8 is large, but 3,000 steps sample it


def test_many_steps_over_a_large_data_set_are_a_long_run(write: Write, tmp_path: Path) -> None:
    write("train_char.py", CHAR_MODEL.replace("STEPS", "100_000"))
    confidence, message = graded(tmp_path)["GL402"]
    assert confidence is not Confidence.LOW and message.endswith("(long run: 100,000 iterations)")


STEP_TRAINER = '''
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from torchvision import datasets, transforms


class Trainer:
    def __init__(self, model, folder, batch_size=32, lr=1e-4, train_num_steps=NUM_STEPS):
        self.model = model.cuda()
        self.loader = DataLoader(datasets.ImageFolder(folder, transforms.ToTensor()), batch_size=batch_size,
                                 shuffle=True, num_workers=8, pin_memory=True)
        self.optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        self.train_num_steps = train_num_steps
        self.step = 0

    def train(self):
        batches = iter(self.loader)
        while self.step < self.train_num_steps:
            images, _ = next(batches)
            noise = torch.randn_like(images).cuda()
            loss = F.mse_loss(self.model(images.cuda() + noise), noise)
            loss.backward()
            self.optimizer.step()
            self.optimizer.zero_grad()
            print(f"step {self.step}: loss {loss.item():.4f}")
            self.step += 1
'''


def test_a_while_loop_counting_to_a_default_bound_is_counted(write: Write, tmp_path: Path) -> None:
    write("trainer.py", STEP_TRAINER.replace("NUM_STEPS", "100_000"))
    confidence, message = graded(tmp_path)["GL502"]
    assert confidence is not Confidence.LOW and message.endswith("(long run: 100,000 iterations)")


def test_a_while_loop_counting_to_a_few_hundred_steps_is_a_short_run(write: Write, tmp_path: Path) -> None:
    write("trainer.py", STEP_TRAINER.replace("NUM_STEPS", "300"))
    assert "GL502" not in graded(tmp_path)  # 300 steps in all: the syncs add up to nothing


def _with_device_flag(flag: str) -> str:
    return script("args", "range(args.epochs)", data="'/datasets/imagenet/train'") + (
        "\n\nif __name__ == '__main__':\n"
        "    parser = argparse.ArgumentParser()\n"
        "    parser.add_argument('--epochs', type=int, default=90)\n"
        f"    parser.add_argument('{flag}', action='store_true', help='device switch')\n"
        "    train(parser.parse_args())\n"
    )


def test_gpu_advice_for_a_script_that_uses_the_gpu_only_on_request_is_low_confidence(
        write: Write, tmp_path: Path) -> None:
    write("train.py", _with_device_flag("--cuda"))
    confidence, message = graded(tmp_path)["GL401"]
    assert confidence is Confidence.LOW
    assert message.endswith("(long run: 90 epochs, the imagenet data set; the GPU is used only when a flag asks for it)")


def test_a_flag_that_turns_the_gpu_off_leaves_gpu_advice_alone(write: Write, tmp_path: Path) -> None:
    write("train.py", _with_device_flag("--no-cuda"))
    confidence, message = graded(tmp_path)["GL401"]
    assert confidence is Confidence.MEDIUM and message.endswith("(long run: 90 epochs, the imagenet data set)")


def test_a_frozen_model_whose_input_is_optimised_is_no_large_training(write: Write, tmp_path: Path) -> None:
    write("stylize.py", '''
        import torch
        import torch.nn.functional as F
        from PIL import Image
        from torchvision import models, transforms

        to_tensor = transforms.Compose([transforms.Resize(512), transforms.ToTensor()])
        content = to_tensor(Image.open("content.jpg")).unsqueeze(0).cuda()
        style = to_tensor(Image.open("style.jpg")).unsqueeze(0).cuda()
        features = models.vgg19(weights="IMAGENET1K_V1").features.cuda().eval()
        target = content.clone().requires_grad_(True)
        optimizer = torch.optim.Adam([target], lr=0.003)
        for step in range(2000):
            loss = F.mse_loss(features(target), features(content)) + F.mse_loss(features(target), features(style))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    ''')
    assert graded(tmp_path)["GL401"][0] is Confidence.LOW  # VGG's 20 M parameters are frozen; 2,000 steps on one image


NAMES_RNN = '''
import gzip

import torch
import torch.nn as nn
import torch.nn.functional as F


def read_names(path="./data/surnames_train.csv.gz"):
    with gzip.open(path, "rt") as handle:
        rows = [line.strip().split(",") for line in handle if line.strip()]
    return [name for name, _ in rows], [country for _, country in rows]


class NameClassifier(nn.Module):
    def __init__(self, countries, hidden=128):
        super().__init__()
        self.embed = nn.Embedding(128, hidden)
        self.gru = nn.GRU(hidden, hidden, num_layers=2, batch_first=True)
        self.head = nn.Linear(hidden, countries)

    def forward(self, chars):
        return self.head(self.gru(self.embed(chars))[1][-1])


names, countries = read_names()
labels = sorted(set(countries))
model = NameClassifier(len(labels)).cuda()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(100):
    for name, country in zip(names, countries):
        chars = torch.tensor([[min(ord(c), 127) for c in name]]).cuda()
        loss = F.cross_entropy(model(chars), torch.tensor([labels.index(country)]).cuda())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
'''


def test_data_kept_small_in_the_repository_is_a_small_data_set(write: Write, tmp_path: Path) -> None:
    import gzip
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "surnames_train.csv.gz").write_bytes(gzip.compress(b"Nakamura,Japanese\nMueller,German\n" * 500))
    write("train_names.py", NAMES_RNN)
    assert "GL401" not in graded(tmp_path)  # 100 epochs over a few kilobytes of names


def test_a_data_file_outside_the_repository_has_an_unknown_size(write: Write, tmp_path: Path) -> None:
    write("train_names.py", NAMES_RNN)
    confidence, message = graded(tmp_path)["GL401"]
    assert "GL401" in graded(tmp_path) and confidence is Confidence.LOW  # not small: reported, but 100 epochs are one sign


ACCUMULATING = '''
import argparse

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--num_iterations", type=int, default=STEPS)
parser.add_argument("--total_batch_size", type=int, default=256 * 1024)
args = parser.parse_args()

tokens = torch.from_numpy(np.fromfile("data/shard_000.bin", dtype=np.uint16).astype(np.int64))
model = nn.Sequential(nn.Embedding(50257, 768), nn.Linear(768, 768), nn.GELU(), nn.Linear(768, 50257)).cuda()
optimizer = torch.optim.AdamW(model.parameters(), lr=6e-4)
grad_accum_steps = args.total_batch_size // (8 * 1024)
for step in range(args.num_iterations + 1):
    for micro_step in range(grad_accum_steps):
        start = torch.randint(0, tokens.numel() - 1025, (1,)).item()
        chunk = tokens[start:start + 1025].view(1, -1).cuda()
        loss = F.cross_entropy(model(chunk[:, :-1]).view(-1, 50257), chunk[:, 1:].reshape(-1)) / grad_accum_steps
        loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
'''


def test_a_few_optimizer_steps_over_accumulated_micro_batches_are_a_short_run(write: Write, tmp_path: Path) -> None:
    write("train_gpt.py", ACCUMULATING.replace("STEPS", "10"))
    assert "GL402" not in graded(tmp_path)  # 11 optimizer steps, however many micro-batches each


def test_many_optimizer_steps_over_accumulated_micro_batches_want_a_checkpoint(write: Write, tmp_path: Path) -> None:
    write("train_gpt.py", ACCUMULATING.replace("STEPS", "50_000"))
    assert "GL402" in graded(tmp_path)


def test_a_tensors_dtype_is_no_precision_flag(write: Write, tmp_path: Path) -> None:
    write("losses.py", '''
        import torch


        def objectness_targets(iou, targets):
            scores = torch.zeros_like(targets)
            return iou.detach().clamp(0).type(scores.dtype)
    ''')
    write("train.py", script("epochs=90", "range(epochs)", extra="    from losses import objectness_targets\n")
          .replace("loss = F.cross_entropy(model(images), labels)",
                   "loss = F.cross_entropy(model(images), labels) + objectness_targets(labels, labels).mean()"))
    assert "GL401" in graded(tmp_path)  # scores.dtype in a helper says nothing about the training's precision


TRANSFER = '''
import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from torchvision import datasets, models, transforms

preprocess = transforms.Compose([transforms.RandomResizedCrop(224), transforms.ToTensor()])
train_set = datasets.ImageFolder("flowers/train", preprocess)
loader = DataLoader(train_set, batch_size=32, shuffle=True, num_workers=4)

model = models.vgg16(weights="IMAGENET1K_V1")
for parameter in model.features.parameters():
    parameter.requires_grad = False
model.classifier[6] = nn.Linear(4096, len(train_set.classes))
model = model.cuda()

criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(TRAINED, lr=0.001, momentum=0.9)
for epoch in range(3):
    for images, labels in loader:
        images, labels = images.cuda(), labels.cuda()
        optimizer.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
'''


@pytest.mark.parametrize(("trained", "expected"), [
    ("model.classifier.parameters()", Confidence.LOW),  # a new head on frozen VGG features
    ("model.parameters()", Confidence.LOW),  # the whole 138 M-parameter network: one sign, three epochs
])
def test_a_head_trained_on_a_frozen_backbone_is_no_large_training(write: Write, tmp_path: Path, trained: str,
                                                                    expected: Confidence) -> None:
    write("transfer.py", TRANSFER.replace("TRAINED", trained))
    assert graded(tmp_path)["GL401"][0] is expected


EPOCH_FUNCTIONS = '''
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from transformers import AutoModel


def build_encoder(name="bert-large-uncased"):
    return AutoModel.from_pretrained(name)


def train_one_epoch(model, dataset, optimizer, scheduler, epoch):
    model.train()
    loader = DataLoader(dataset, batch_size=256, shuffle=True, num_workers=8, pin_memory=True)
    for step, (questions, answers) in enumerate(loader):
        scores = model(questions.cuda(non_blocking=True)) @ model(answers.cuda(non_blocking=True)).t()
        loss = F.cross_entropy(scores, torch.arange(len(scores), device=scores.device))
        loss.backward()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        if step % 1000 == 0:
            print(epoch, step, loss.item())
'''


def test_one_epoch_in_a_function_nothing_calls_leaves_checkpoints_to_its_caller(write: Write, tmp_path: Path) -> None:
    write("retriever_utils.py", EPOCH_FUNCTIONS)
    assert graded(tmp_path)["GL402"][0] is Confidence.LOW


def test_one_epoch_run_by_a_loop_that_never_saves_wants_a_checkpoint(write: Write, tmp_path: Path) -> None:
    write("retriever_utils.py", EPOCH_FUNCTIONS)
    write("train_retriever.py", '''
        import torch
        from retriever_utils import train_one_epoch
        from data import load_pairs
        from model import DualEncoder

        model = DualEncoder().cuda()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
        pairs = load_pairs("eli5_train.jsonl")
        for epoch in range(60000):
            train_one_epoch(model, pairs, optimizer, scheduler, epoch)
    ''')
    confidence, message = graded(tmp_path)["GL402"]
    assert confidence is Confidence.MEDIUM and message.endswith("(long run: 60,000 iterations)")


def test_a_large_model_alone_shows_no_long_run(write: Write,
                                                                                        tmp_path: Path) -> None:
    """The model's size says how long a step takes, not how many steps a crash loses."""
    write("train.py", "import torchvision\n" + script("epochs", "range(epochs)", model="torchvision.models.resnet50(num_classes=10)"))
    found = graded(tmp_path)
    assert found["GL401"][0] is Confidence.LOW  # one sign: a ResNet-50 fine-tuned for minutes or trained for days
    assert found["GL402"][0] is Confidence.LOW


def test_a_large_data_set_alone_does_not_make_per_step_syncs_costly(write: Write, tmp_path: Path) -> None:
    """Models trained on COCO mostly take long steps: one sync is a sliver of each."""
    write("train.py", script("epochs", "range(epochs)", "'/datasets/coco/train2017'"))
    found = graded(tmp_path)
    assert found["GL401"][0] is Confidence.LOW  # one sign alone
    assert found["GL502"][0] is Confidence.LOW


def test_per_step_syncs_over_many_epochs_of_a_large_data_set_are_low_confidence(write: Write,
                                                                                 tmp_path: Path) -> None:
    """Ninety epochs of COCO are a long run of long steps: only counted steps or a recorded
    time show the many short steps that a per-step sync slows down."""
    write("train.py", script("epochs=90", "range(epochs)", "'/datasets/coco/train2017'"))
    found = graded(tmp_path)
    assert found["GL502"][0] is Confidence.LOW
    assert found["GL401"][1].endswith("(long run: 90 epochs, the coco data set)")


def test_a_constant_name_a_package_exports_is_no_data_set(write: Write, tmp_path: Path) -> None:
    """``__all__ = ["IMAGENET_STATS"]`` names normalisation statistics, not the training data."""
    write("src/robolib/utils/__init__.py", 'from .constants import IMAGENET_STATS\nfrom .devices import torch_device\n\n'
                                           '__all__ = [\n    "IMAGENET_STATS",\n    "torch_device",\n]\n')
    write("src/robolib/utils/constants.py", "IMAGENET_STATS = {'mean': [0.485, 0.456, 0.406], 'std': [0.229, 0.224, 0.225]}\n")
    write("src/robolib/utils/devices.py", "import torch\n\n\ndef torch_device():\n    return torch.device('cuda')\n")
    write("train.py", "from robolib.utils import torch_device\n" + script("epochs", "range(epochs)"))
    assert graded(tmp_path)["GL401"][0] is Confidence.LOW


def test_epochs_unpacked_from_options_with_another_name_count(write: Write, tmp_path: Path) -> None:
    """``batch_size, epochs = args.batch_size, args.epochs`` still reads 200 epochs."""
    write("train.py", HEADER + (
        "def train_one_epoch(model, loader, optimizer, epoch):\n"
        "    with torch.enable_grad():\n"
        + TRAIN_STEP +
        "\n\n"
        "if __name__ == '__main__':\n"
        "    parser = argparse.ArgumentParser()\n"
        "    parser.add_argument('--batch_size', default=256, type=int)\n"
        "    parser.add_argument('--epochs', default=200, type=int)\n"
        "    args = parser.parse_args()\n"
        "    batch_size, epochs = args.batch_size, args.epochs\n"
        "    train_set = datasets.ImageFolder('/datasets/imagenet/train', transforms.ToTensor())\n"
        "    loader = DataLoader(train_set, batch_size=batch_size, shuffle=True)\n"
        "    model = SmallNet().cuda()\n"
        "    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)\n"
        "    for epoch in range(1, epochs + 1):\n"
        "        train_one_epoch(model, loader, optimizer, epoch)\n"
    ))
    confidence, message = graded(tmp_path)["GL401"]
    assert confidence is not Confidence.LOW and message.endswith("(long run: 200 epochs, the imagenet data set)")


EVALUATE = (
    "        evaluate(model, loader)\n"
    "\n\n"
    "def evaluate(model, loader):\n"
    "    model.eval()\n"
    "    correct = 0\n"
    "    for images, labels in loader:\n"
    "        correct += (model(images.cuda()).argmax(1) == labels.cuda()).sum()\n"
    "    return correct / len(loader.dataset)\n"
)


def _grad_in_inference(tmp_path: Path) -> tuple[Confidence, str]:
    [finding] = [f for f in check(tmp_path).findings if f.code == "GL503"]
    return finding.confidence, finding.message


def test_validation_without_no_grad_in_a_run_of_unknown_length_is_low_confidence(write: Write,
                                                                                  tmp_path: Path) -> None:
    """Validation runs once an epoch: how much the graph costs depends on the run's length."""
    write("train.py", script("epochs", "range(epochs)") + EVALUATE)
    assert _grad_in_inference(tmp_path)[0] is Confidence.LOW


def test_validation_without_no_grad_in_a_long_run_keeps_its_confidence(write: Write, tmp_path: Path) -> None:
    write("train.py", script("epochs=90", "range(epochs)", data="'/datasets/imagenet/train'") + EVALUATE)
    confidence, message = _grad_in_inference(tmp_path)
    assert confidence is not Confidence.LOW and message.endswith("(long run: 90 epochs, the imagenet data set)")


def test_batch_inference_without_no_grad_is_reported_whatever_the_run(write: Write, tmp_path: Path) -> None:
    """A prediction script trains nothing: it pays the graph on every batch it serves."""
    write("predict.py", """
        import torch
        import torchvision
        from torch.utils.data import DataLoader
        from torchvision import datasets, transforms

        model = torchvision.models.resnet50(num_classes=10)
        model.load_state_dict(torch.load("checkpoints/best.pt", map_location="cpu"))
        model = model.cuda().eval()
        images = datasets.ImageFolder("incoming", transforms.Compose([transforms.Resize(256), transforms.ToTensor()]))
        loader = DataLoader(images, batch_size=64, num_workers=8)
        predictions = []
        for batch, _ in loader:
            predictions.extend(model(batch.cuda()).argmax(1).tolist())
        torch.save(predictions, "predictions.pt")
    """)
    confidence, message = _grad_in_inference(tmp_path)
    assert confidence is not Confidence.LOW and "long run" not in message


def test_a_helper_imported_with_a_star_belongs_to_the_training_script(write: Write, tmp_path: Path) -> None:
    """``from utils import *`` makes utils.py's ``test()`` the validation pass of a training
    run, graded by that run's length, not a prediction script reported as it is."""
    write("utils.py", "import torch\n\n\n" + EVALUATE.split("\n\n\n", 1)[1])
    write("train.py", "from utils import *\n" + script("epochs", "range(epochs)") + "        evaluate(model, loader)\n")
    assert _grad_in_inference(tmp_path)[0] is Confidence.LOW


def test_inference_in_demo_code_is_low_confidence(write: Write, tmp_path: Path) -> None:
    """A demo that labels the clips of one video runs now and then on a few inputs."""
    write("demo/predict_video.py", """
        import sys

        import torch
        import torchvision
        from torchvision.io import read_video

        model = torchvision.models.video.r3d_18(weights="KINETICS400_V1").cuda().eval()
        frames, _, _ = read_video(sys.argv[1], output_format="TCHW")
        clips = frames.float().div(255).unfold(0, 16, 16).permute(0, 4, 1, 2, 3)
        labels = []
        for clip in clips:
            labels.append(model(clip.unsqueeze(0).cuda()).argmax(1).item())
        print(labels)
    """)
    confidence, message = _grad_in_inference(tmp_path)
    assert confidence is Confidence.LOW and message.endswith("(demo or visualisation code)")


HUB_LOOP = '''
    import timm
    import torch
    import torch.nn.functional as F
    from transformers import AutoModelForImageClassification, AutoModelForSequenceClassification


    def finetune(loader, epochs=EPOCHS):
        model = BUILD.cuda()
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
        for epoch in range(epochs):
            for batch in loader:
                loss = F.cross_entropy(model(batch["inputs"].cuda()), batch["labels"].cuda())
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
'''


def test_a_fine_tuned_checkpoint_and_its_size_are_one_sign(write: Write, tmp_path: Path) -> None:
    """The checkpoint fine-tuned and the parameters the cost model counts for it are the same model."""
    build = 'AutoModelForSequenceClassification.from_pretrained("roberta-large", num_labels=3)'
    write("finetune.py", HUB_LOOP.replace("BUILD", build).replace("EPOCHS", "None"))
    assert graded(tmp_path)["GL401"][0] is Confidence.LOW


def test_a_mobilenet_large_is_no_large_checkpoint(write: Write, tmp_path: Path) -> None:
    build = 'AutoModelForImageClassification.from_pretrained("timm/mobilenetv3_large_100.ra_in1k", num_labels=10)'
    write("finetune.py", HUB_LOOP.replace("BUILD", build).replace("EPOCHS", "30"))
    confidence, message = graded(tmp_path)["GL401"]
    assert confidence is Confidence.LOW and "mobilenet" not in message  # 30 epochs of a 5.5 M-parameter model: one sign


RELOADING = '''
    import pandas as pd
    import torch
    import torch.nn.functional as F
    import torchvision
    from torch.utils.data import DataLoader, TensorDataset


    def train(epochs=EPOCHS):
        model = torchvision.models.resnet50(num_classes=10).cuda()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for epoch in range(epochs):
            frame = pd.read_parquet("features/train.parquet")
            features = torch.tensor(frame.drop(columns="label").values, dtype=torch.float32)
            labels = torch.tensor(frame["label"].values)
            for x, y in DataLoader(TensorDataset(features, labels), batch_size=256, shuffle=True):
                loss = F.cross_entropy(model(x.cuda().view(-1, 3, 32, 32)), y.cuda())
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
'''


@pytest.mark.parametrize(("epochs", "expected"), [("5", Confidence.LOW), ("90", Confidence.MEDIUM)])
def test_a_data_set_read_again_every_epoch_is_graded_by_the_runs_length(write: Write, tmp_path: Path, epochs: str,
                                                                         expected: Confidence) -> None:
    """Five reads of a table cost seconds; ninety epochs of a ResNet-50 make them add up."""
    write("train.py", RELOADING.replace("EPOCHS", epochs))
    [finding] = [f for f in check(tmp_path).findings if f.code == "GL504"]
    assert finding.confidence is expected


def test_normalisation_named_after_a_data_set_is_no_sign_of_it(write: Write, tmp_path: Path) -> None:
    """``"imagenet-norm"`` names the statistics the images are normalised with."""
    normalised = script("epochs=90", "range(epochs)", data="'data/flowers'",
                        extra="    target_format = 'imagenet-norm'\n")
    write("train.py", normalised)
    assert graded(tmp_path)["GL401"][0] is Confidence.LOW
    write("train.py", normalised.replace("'data/flowers'", "'/datasets/imagenet/train'"))
    assert graded(tmp_path)["GL401"][1].endswith("(long run: 90 epochs, the imagenet data set)")


def _metering_asked(tmp_path: Path) -> bool:
    """Does GL601 find the training heavy enough to ask for energy metering?"""
    return any(f.code == "GL601" for f in check(tmp_path).findings)


def test_a_data_parallel_wrapper_by_another_name_is_distributed_training(write: Write, tmp_path: Path) -> None:
    wrapped = "    model = DataParallelWithCallback(model, device_ids=[0, 1, 2, 3])\n"
    main = "\n\nif __name__ == '__main__':\n    train()\n"
    write("train.py", script("epochs=90", "range(epochs)") + main)
    assert not _metering_asked(tmp_path)  # a small CNN on a folder of images: no sign of scale
    body = script("epochs=90", "range(epochs)", extra=wrapped) + main
    write("train.py", "from sync_batchnorm import DataParallelWithCallback\n" + body)
    assert _metering_asked(tmp_path)  # the synchronized-BatchNorm wrapper counts as DataParallel does
    write("train.py", body.replace("DataParallelWithCallback", "nn.DataParallel"))
    assert _metering_asked(tmp_path)


def test_the_options_of_distributed_data_parallel_are_no_wrapper(write: Write, tmp_path: Path) -> None:
    options = "    ddp_options = DistributedDataParallelKwargs(find_unused_parameters=True)\n"
    write("train.py", "from accelerate.utils import DistributedDataParallelKwargs\n"
          + script("epochs=90", "range(epochs)", extra=options) + "\n\nif __name__ == '__main__':\n    train()\n")
    assert not _metering_asked(tmp_path)


@pytest.mark.parametrize("extra", [
    "    parser = argparse.ArgumentParser()\n"
    "    parser.add_argument('--data', default='data', help='an image folder, e.g. coco or imagenet')\n",
    "    from transformers import pipeline\n"
    "    back_translate = pipeline('translation', model='facebook/wmt19-en-de')\n",
])
def test_a_data_set_named_in_a_help_text_or_a_models_name_is_no_sign_of_scale(write: Write, tmp_path: Path,
                                                                              extra: str) -> None:
    """90 epochs of a small CNN on a folder of images: the help text lists data sets one
    might pass, and a translation model's name says what it was trained on."""
    write("train.py", script("epochs=90", "range(epochs)", extra=extra))
    found = graded(tmp_path)
    assert all(c is Confidence.LOW and "long run" not in m for c, m in found.values())


def test_a_huge_range_left_by_a_break_is_no_count(write: Write, tmp_path: Path) -> None:
    """``for epoch in range(1000000):`` ends when the step budget is spent: the range
    is a sentinel, and no "1,000,000 iterations" is claimed for the run."""
    loop = (
        "    glb_step, leave = 0, False\n"
        "    for epoch in range(1000000):\n"
        "        for images, labels in loader:\n"
        "            images, labels = images.cuda(), labels.cuda()\n"
        "            loss = F.cross_entropy(model(images), labels)\n"
        "            optimizer.zero_grad()\n"
        "            loss.backward()\n"
        "            optimizer.step()\n"
        "            glb_step += 1\n"
        "            if glb_step > max_steps:\n"
        "                leave = True\n"
        "                break\n"
        "        if leave:\n"
        "            break\n"
    )
    body = script("max_steps=2000", "range(1)").split("    for epoch in range(1):\n")[0]
    write("train.py", body + loop)
    found = graded(tmp_path)
    assert found and all("1,000,000" not in m and c is Confidence.LOW for c, m in found.values())


def test_a_class_index_file_named_after_a_data_set_is_no_sign_of_it(write: Write, tmp_path: Path) -> None:
    """``imagenet_class_index.json`` maps a pretrained model's outputs to labels; the
    images it fine-tunes on are a folder of cats and dogs."""
    labelled = script("epochs=90", "range(epochs)", data="'data/dogscats/train'",
                      extra="    labels = json.load(open('data/imagenet_class_index.json'))\n")
    write("train.py", "import json\n" + labelled)
    assert graded(tmp_path)["GL401"][0] is Confidence.LOW
    write("train.py", "import json\n" + labelled.replace("'data/dogscats/train'", "'/datasets/imagenet/train'"))
    assert graded(tmp_path)["GL401"][1].endswith("(long run: 90 epochs, the imagenet data set)")


NOTEBOOK_EVALUATION = [
    ("code", "import torch\nimport torchvision\nfrom torch.utils.data import DataLoader\n"
             "from torchvision import datasets, transforms"),
    ("code", "device = torch.device('cuda')\n"
             "model = torchvision.models.mobilenet_v2(weights='IMAGENET1K_V1')\n"
             "model.classifier[1] = torch.nn.Linear(1280, 10)\n"
             "model.load_state_dict(torch.load('mobilenet_cifar10.pt'))\n"
             "model = model.to(device)"),
    ("code", "test_set = datasets.ImageFolder('data/cifar10_png/test', transforms.ToTensor())\n"
             "test_loader = DataLoader(test_set, batch_size=128, num_workers=4)"),
    ("code", "def test(model, loader):\n"
             "    model.eval()\n"
             "    correct = 0\n"
             "    for images, targets in loader:\n"
             "        output = model(images.to(device))\n"
             "        correct += (output.argmax(1) == targets.to(device)).sum().item()\n"
             "    return correct / len(loader.dataset)"),
    ("code", "print(f'test accuracy {test(model, test_loader):.2%}')"),
]


def test_evaluation_in_a_notebook_is_graded_by_the_run_it_shows(write: Write, tmp_path: Path) -> None:
    """A notebook's evaluation runs when the notebook is run, not on every request: like
    a validation pass it is worth what the run is long, and this one shows nothing long."""
    cells = [{"cell_type": "code", "metadata": {}, "source": source.splitlines(keepends=True), "outputs": [],
              "execution_count": None} for _, source in NOTEBOOK_EVALUATION]
    write("odin.ipynb", json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    assert _grad_in_inference(tmp_path)[0] is Confidence.LOW
    script_text = "\n\n".join(source for _, source in NOTEBOOK_EVALUATION)
    (tmp_path / "odin.ipynb").unlink()
    write("evaluate.py", script_text)  # the same pass as a script serves whoever runs it
    assert _grad_in_inference(tmp_path)[0] is not Confidence.LOW


@pytest.mark.parametrize("subset", ["mini-imagenet", "tiny_imagenet"])
def test_small_subsets_named_after_imagenet_are_no_sign_of_it(write: Write, tmp_path: Path, subset: str) -> None:
    """mini-ImageNet holds 60,000 images of 84 x 84 pixels; ImageNet 1.28 million of 224."""
    write("train.py", script("epochs=90", "range(epochs)", data=f"'~/data/{subset}/train'"))
    assert graded(tmp_path)["GL401"][0] is Confidence.LOW
    write("train.py", script("epochs=90", "range(epochs)", data="'~/data/imagenet/train'"))
    assert graded(tmp_path)["GL401"][1].endswith("(long run: 90 epochs, the imagenet data set)")


MAML = '''
import learn2learn as l2l
import torch
from torch import nn


def main(ways=5, shots=5, meta_batch_size=32, adaptation_steps=1, num_iterations=60000):
    device = torch.device("cuda")
    tasksets = l2l.vision.benchmarks.get_tasksets("omniglot", train_ways=ways, train_samples=2 * shots, root="~/data")
    model = l2l.vision.models.OmniglotCNN(ways).to(device)
    maml = l2l.algorithms.MAML(model, lr=0.5, first_order=False)
    optimizer = torch.optim.Adam(maml.parameters(), lr=0.003)
    loss = nn.CrossEntropyLoss()
    for iteration in range(num_iterations):
        optimizer.zero_grad()
        for task in range(meta_batch_size):
            learner = maml.clone()
            data, labels = [t.to(device) for t in tasksets.train.sample()]
            support, query = data[::2], data[1::2]
            for step in range(adaptation_steps):
                learner.adapt(loss(learner(support), labels[::2]))
            query_error = loss(learner(query), labels[1::2])
            query_error.backward()
        for p in maml.parameters():
            p.grad.data.mul_(1.0 / meta_batch_size)
        optimizer.step()
        torch.save(maml.state_dict(), "maml.pt")


if __name__ == "__main__":
    main()
'''


def test_few_shot_meta_learning_is_low_confidence_for_mixed_precision(write: Write, tmp_path: Path) -> None:
    """60,000 meta-iterations take hours, but every step adapts on 5 ways x 5 shots: too
    small a batch for half precision to pay."""
    write("maml_omniglot.py", MAML)
    [finding] = [f for f in check(tmp_path).findings if f.code == "GL401"]
    assert finding.confidence is Confidence.LOW
    write("maml_omniglot.py", MAML.replace("import learn2learn as l2l\n", "import learn2learn_free as l2l\n"))
    [finding] = [f for f in check(tmp_path).findings if f.code == "GL401"]
    assert finding.confidence is not Confidence.LOW and "60,000 iterations" in finding.message
