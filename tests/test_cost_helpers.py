"""Helpers for the cost-model tests: estimate the models of a small project on disk."""

from __future__ import annotations

from pathlib import Path

from greenlint.analyzer.cost.static import ModelEstimate, ModelSettings, estimate_project
from greenlint.config import Settings
from greenlint.engine import RunOptions, load_project


#: A one-layer MNIST classifier trained for 5 epochs: 60,000 x 5 = 300,000 samples.
MNIST_MLP = """
    import torch
    import torch.nn as nn
    from torchvision import datasets

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(784, 10)

        def forward(self, x):
            return self.fc(x.flatten(1))

    data = datasets.MNIST("data", train=True)
    model = MLP()
    for epoch in range(5):
        pass
"""


def estimates(root: Path, settings: dict[str, ModelSettings] | None = None) -> dict[str, ModelEstimate]:
    project, diagnostics = load_project(Settings(root=root, exclude=[]), RunOptions([root], jobs=1, use_cache=False))
    assert not diagnostics, diagnostics
    return {e.name: e for e in estimate_project(project, settings)}
