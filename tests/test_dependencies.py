"""A project's root dependency files say whether it can use PyTorch 2 APIs."""

from __future__ import annotations

from pathlib import Path

import pytest

from greenlint.analyzer.dependencies import read_torch_pin


@pytest.mark.parametrize(("name", "text", "pin"), [
    ("requirements.txt", "absl-py==0.11.0\ntorch==1.7.1\ntorchvision==0.8.2\n", "requirements.txt: torch==1.7"),
    ("setup.py", 'setup(name="seg", install_requires=["numpy", "torch<2.0", "timm"])\n', "setup.py: torch<2.0"),
    ("environment.yml", "dependencies:\n  - python=3.8\n  - pytorch=1.11\n  - cudatoolkit=11.3\n", "environment.yml: pytorch=1.11"),
    ("pyproject.toml", '[project]\ndependencies = ["torch~=1.13", "einops"]\n', "pyproject.toml: torch~=1.13"),
])
def test_a_requirement_holding_torch_below_2_is_found(tmp_path: Path, name: str, text: str, pin: str) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    assert read_torch_pin(tmp_path) == pin


@pytest.mark.parametrize("text", [
    "torch>=1.13\n",  # a floor: PyTorch 2 is allowed
    "torch<2.3\n",  # a cap above 2.0
    "torch==2.1.0\n",
    "torchvision==0.8.2\n",  # another package
    "# torch 1.x was used for the paper\nnumpy\n",  # prose, no requirement
])
def test_requirements_that_allow_torch_2_say_nothing(tmp_path: Path, text: str) -> None:
    (tmp_path / "requirements.txt").write_text(text, encoding="utf-8")
    assert read_torch_pin(tmp_path) == ""
