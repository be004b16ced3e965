"""``greenlint estimate``: formats, configuration, scope, and the measured path."""

from __future__ import annotations

import json

import pytest

from greenlint.cli import main

NET_CLASS = """
    import torch
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self, hidden=64):
            super().__init__()
            self.conv = nn.Conv2d(1, 8, 3)
            self.fc = nn.Linear(8 * 26 * 26, hidden)
            self.out = nn.Linear(hidden, 10)

        def forward(self, x):
            return self.out(torch.relu(self.fc(torch.flatten(self.conv(x), 1))))

    model = Net(hidden=32)
"""
NET = NET_CLASS + """
    from torchvision import datasets, transforms

    train = datasets.MNIST("data", train=True, download=True, transform=transforms.ToTensor())
    for epoch in range(3):
        pass
"""
PARAMS = (8 * 9 + 8) + (8 * 26 * 26 * 32 + 32) + (32 * 10 + 10)
MACS = 26 * 26 * 8 * 9 + 8 * 26 * 26 * 32 + 32 * 10


def _run(capsys, *argv):
    code = main(["estimate", *argv])
    return code, capsys.readouterr()


def test_json_report_states_convention_assumptions_and_numbers(write, tmp_path, capsys):
    write("train.py", NET)
    code, out = _run(capsys, str(tmp_path), "--format", "json", "--no-cache", "--region", "SWE")
    assert code == 0
    data = json.loads(out.out)
    assert "fvcore" in data["convention"] and data["assumptions"]["grid_g_per_kwh"] == 40.7
    (model,) = data["models"]
    assert model["name"] == "Net" and model["parameters"] == PARAMS and model["macs_per_sample"] == MACS
    assert model["flops_per_sample"] == 2 * MACS
    assert model["training_plan"]["total_samples"] == 60000 * 3
    assert model["training_energy_scope"] == "total"
    expected_kwh = 3 * 2 * MACS * 180000 / (19.5e12 * 0.4) * 400 / 3.6e6 * 1.56
    assert model["training_energy"]["kwh"] == pytest.approx(expected_kwh)


def test_table_and_markdown_show_the_assumptions(write, tmp_path, capsys):
    write("train.py", NET)
    code, out = _run(capsys, str(tmp_path), "--no-cache")
    assert code == 0 and "Net" in out.out and "Assumptions:" in out.out and "fvcore" in out.out
    code, out = _run(capsys, str(tmp_path), "--format", "markdown", "--no-cache", "--device", "L4")
    assert out.out.startswith("| model | location | params")
    assert "L4" in out.out and f"{PARAMS:,}" in out.out


def test_configuration_supplies_what_the_code_does_not_say(write, tmp_path, capsys):
    write("pyproject.toml", """
        [tool.greenlint.models.Encoder]
        args = { width = 16 }
        input-shape = [10]
        dataset-size = 1000
        epochs = 2

        [tool.greenlint.energy]
        device = "H100"
    """)
    write("model.py", """
        import torch.nn as nn

        class Encoder(nn.Module):
            def __init__(self, width):
                super().__init__()
                self.fc = nn.Linear(10, width)

            def forward(self, x):
                return self.fc(x)
    """)
    code, out = _run(capsys, str(tmp_path), "--format", "json", "--no-cache")
    data = json.loads(out.out)
    (model,) = data["models"]
    assert model["parameters"] == 10 * 16 + 16 and model["macs_per_sample"] == 160
    assert model["training_plan"]["total_samples"] == 2000 and data["assumptions"]["device"] == "H100-SXM5"


def test_configuration_mistakes_exit_2(write, tmp_path, capsys):
    write("pyproject.toml", "[tool.greenlint.energy]\nregoin = 'FRA'\n")
    write("train.py", NET)
    code, out = _run(capsys, str(tmp_path), "--no-cache")
    assert code == 2 and "did you mean 'region'" in out.err


def test_only_models_in_the_named_paths_are_reported(write, tmp_path, capsys):
    write("a/train.py", NET)
    write("b/other.py", NET.replace("class Net", "class Other").replace("Net(hidden", "Other(hidden"))
    code, out = _run(capsys, str(tmp_path / "a"), "--format", "json", "--no-cache")
    assert [m["name"] for m in json.loads(out.out)["models"]] == ["Net"]


MEASURED = NET_CLASS + """
    STOP
    if __name__ == "__main__":
        print(model(torch.zeros(4, 1, 28, 28)).shape)
"""


def test_measure_confirms_the_static_estimate(write, tmp_path, capsys):
    pytest.importorskip("fvcore")
    pytest.importorskip("torch")
    write("train.py", MEASURED.replace("STOP", ""))
    code, out = _run(capsys, str(tmp_path), "--format", "json", "--no-cache", "--measure", "--timeout", "300")
    assert code == 0, out.err
    (model,) = json.loads(out.out)["models"]
    assert model["measured"]["error"] is None
    assert model["measured"]["parameters"] == PARAMS and model["measured"]["macs_per_sample"] == MACS


def test_measure_reports_code_that_cannot_be_imported(write, tmp_path, capsys):
    pytest.importorskip("fvcore")
    write("train.py", MEASURED.replace("STOP", "raise SystemExit(3)"))
    code, out = _run(capsys, str(tmp_path), "--format", "json", "--no-cache", "--measure", "--timeout", "300")
    (model,) = json.loads(out.out)["models"]
    assert "SystemExit" in model["measured"]["error"]


def test_measure_without_the_extra_is_a_clear_error(write, tmp_path, capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "fvcore" else real(name, *a))
    write("train.py", NET)
    code, out = _run(capsys, str(tmp_path), "--no-cache", "--measure")
    assert code == 2 and "greenlint[measure]" in out.err


def test_a_broken_file_in_the_named_paths_is_reported_and_exits_1(write, tmp_path, capsys):
    write("train.py", NET)
    write("models/broken.py", "import torch\nclass Half(torch.nn.Module:\n")
    write("scratch/also_broken.py", "import torch\ndef f(:\n")
    code, out = _run(capsys, str(tmp_path / "train.py"), str(tmp_path / "models"), "--format", "json", "--no-cache")
    assert code == 1
    assert [m["name"] for m in json.loads(out.out)["models"]] == ["Net"]
    assert "models/broken.py: syntax error" in out.err and "also_broken" not in out.err


def test_a_malformed_input_shape_is_a_usage_error(write, tmp_path, capsys):
    write("train.py", NET)
    code, out = _run(capsys, str(tmp_path), "--no-cache", "--input-shape", "3xfoo")
    assert code == 2 and "'3xfoo' is not a shape" in out.err
