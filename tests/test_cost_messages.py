"""The cost model's numbers in other rules' messages: GL202 and GL301 quote the published
table ``greenlint estimate`` uses, and the training energy a grid search can multiply."""

from __future__ import annotations

import pytest

from conftest import check
from test_cost_helpers import MNIST_MLP
from greenlint.analyzer.cost.published import lookup
from greenlint.rules.heavy_architecture import HeavyArchitecture
from greenlint.rules.train_from_scratch import TrainFromScratch

STL_FROM_SCRATCH = """
    import torch
    import torchvision
    from torch.utils.data import DataLoader

    data = torchvision.datasets.STL10("data", split="train", download=True)
    loader = DataLoader(data, batch_size=64)
    model = torchvision.models.resnet50(num_classes=10)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(30):
        for images, labels in loader:
            loss = torch.nn.functional.cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
"""


def test_heavy_architecture_quotes_both_models_from_the_published_table(write, tmp_path):
    write("finetune.py", """
        import torchvision
        model = torchvision.models.resnet152(weights="DEFAULT")
    """)
    (finding,) = check(tmp_path, rules=(HeavyArchitecture(),)).findings
    heavy, light = lookup("resnet152"), lookup("resnet50")
    assert light is not None and heavy is not None and heavy["lighter"] == "resnet50"
    assert "resnet152 (60.2 M parameters, 11.51 GMACs per 224x224 image)" in finding.message
    assert "resnet50 (25.6 M parameters, 4.089 GMACs per 224x224 image)" in finding.message
    assert f"{heavy['gmacs'] / light['gmacs']:.1f}x the compute per sample" in finding.message
    assert "10^9 multiply-adds" in finding.message and "GFLOPS" in finding.message


def test_heavy_text_model_is_quoted_per_sequence_from_its_configuration(write, tmp_path):
    write("classify.py", """
        from transformers import AutoModelForSequenceClassification
        model = AutoModelForSequenceClassification.from_pretrained("bert-large-uncased", num_labels=2)
    """)
    (finding,) = check(tmp_path, rules=(HeavyArchitecture(),)).findings
    assert "bert-large-uncased (335.1 M parameters" in finding.message and "per 128-token sequence" in finding.message
    assert "bert-base-uncased (109.5 M parameters" in finding.message


def test_train_from_scratch_gives_size_and_the_training_energy(write, tmp_path):
    write("train.py", STL_FROM_SCRATCH)
    (finding,) = check(tmp_path, rules=(TrainFromScratch(),)).findings
    assert "resnet50 (25.6 M parameters, 4.089 GMACs per 224x224 image)" in finding.message
    assert "this training (150,000 samples) is estimated at ~" in finding.message and "A100-SXM4" in finding.message


def test_train_from_scratch_without_a_known_amount_of_training_quotes_the_size_only(write, tmp_path):
    write("train.py", STL_FROM_SCRATCH.replace('torchvision.datasets.STL10("data", split="train", download=True)',
                                               'torchvision.datasets.ImageFolder("flowers")'))
    (finding,) = check(tmp_path, rules=(TrainFromScratch(),)).findings
    assert "25.6 M parameters" in finding.message and "estimated at" not in finding.message


def test_training_energy_per_run_for_the_grid_search_rule(write, tmp_path):
    from greenlint.analyzer.cost.energy import assumptions
    from greenlint.analyzer.cost.quotes import training_kwh_per_run
    from greenlint.config import Settings
    from greenlint.engine import RunOptions, load_project

    write("train.py", MNIST_MLP)
    write("other.py", "import torch\n")
    project, _ = load_project(Settings(root=tmp_path), RunOptions([tmp_path], jobs=1, use_cache=False))
    chosen = assumptions({"device": "H100"})
    run = training_kwh_per_run(project, chosen=chosen)
    assert run is not None and run.model == "MLP" and run.samples == 300_000
    expected = 3 * 2 * 7840 * 300_000 / (66.9e12 * 0.4) * 700 / 3.6e6 * 1.56
    assert run.kwh == pytest.approx(expected)
    assert any("H100-SXM5" in line for line in run.assumptions) and any("5 epochs" in line for line in run.assumptions)
    assert run.describe().endswith("per training (MLP, 300,000 samples)")
    assert training_kwh_per_run(project, "train.py", chosen) == run
    assert training_kwh_per_run(project, "other.py", chosen) is None


GRID_OVER_MNIST = """
    import torch
    import torch.nn as nn
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 16, 3, padding=1)
            self.head = nn.Linear(16 * 28 * 28, 10)

        def forward(self, x):
            return self.head(torch.relu(self.conv(x)).flatten(1))

    train_set = datasets.MNIST("data", train=True, download=True, transform=transforms.ToTensor())
    loader = DataLoader(train_set, batch_size=128, shuffle=True, num_workers=4)
    results = {}
    for lr in [1e-3, 3e-3, 1e-2, 3e-2]:
        for weight_decay in [0.0, 1e-4, 1e-3]:
            model = Net()
            optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
            for epoch in range(EPOCHS):
                for images, labels in loader:
                    optimizer.zero_grad()
                    loss = nn.functional.cross_entropy(model(images), labels)
                    loss.backward()
                    optimizer.step()
            results[(lr, weight_decay)] = loss.item()
"""


def _energy(text: str) -> float:
    """``2.5 kWh`` / ``310 Wh`` -> kWh."""
    number, unit = text.split()
    return float(number) * {"MWh": 1000.0, "kWh": 1.0, "Wh": 1e-3, "mWh": 1e-6}[unit]


def test_grid_search_multiplies_the_energy_of_one_training(write, tmp_path):
    import re

    from greenlint.rules.grid_search import GridSearch

    write("grid.py", GRID_OVER_MNIST.replace("EPOCHS", "8"))
    (finding,) = check(tmp_path, rules=(GridSearch(),)).findings
    assert "4 x 3 = 12 models" in finding.message
    match = re.search(r"at ~([\d.]+ \w+) per training \(Net, 480,000 samples\), about ([\d.]+ \w+) in all", finding.message)
    assert match, finding.message
    assert _energy(match.group(2)) == pytest.approx(12 * _energy(match.group(1)), rel=0.01)


def test_grid_search_quotes_no_energy_when_the_training_is_unknown(write, tmp_path):
    from greenlint.rules.grid_search import GridSearch

    write("grid.py", GRID_OVER_MNIST.replace("import torch\n", "import sys\n    import torch\n").replace("EPOCHS", "int(sys.argv[1])"))
    (finding,) = check(tmp_path, rules=(GridSearch(),)).findings
    assert "12 models" in finding.message and "per training" not in finding.message
