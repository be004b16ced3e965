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
