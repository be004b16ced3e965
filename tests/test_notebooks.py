"""Notebooks are linted like scripts and findings point at the cell and line."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Write, check

CELLS = [
    ("markdown", "# Fine-tune a small CNN on CIFAR-10"),
    ("code", "%matplotlib inline\n!pip install -q torchvision\nimport torch\nimport torchvision\nfrom torch.utils.data import DataLoader"),
    ("code", "device = torch.device('cuda')\ntrain_set = torchvision.datasets.CIFAR10('data', train=True, download=True,\n    transform=torchvision.transforms.ToTensor())\nloader = DataLoader(train_set, batch_size=128, shuffle=True)"),
    ("markdown", "## Train"),
    ("code", "%%time\nprint('this cell is timed by a cell magic')"),
    ("code", "model = torchvision.models.resnet18(num_classes=10).to(device)\n"
             "optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)\n"
             "for epoch in range(30):\n"
             "    for images, labels in loader:\n"
             "        images, labels = images.to(device), labels.to(device)\n"
             "        loss = torch.nn.functional.cross_entropy(model(images), labels)\n"
             "        optimizer.zero_grad()\n"
             "        loss.backward()\n"
             "        optimizer.step()\n"
             "    print(epoch, loss.item())  # noqa: GL502"),
]


def notebook(cells) -> str:
    return json.dumps({
        "cells": [{"cell_type": kind, "metadata": {}, "source": source.splitlines(keepends=True),
                   **({"outputs": [], "execution_count": None} if kind == "code" else {})}
                  for kind, source in cells],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    })


def test_findings_are_reported_at_cell_and_line(write: Write, tmp_path: Path) -> None:
    write("train.ipynb", notebook(CELLS))
    result = check(tmp_path)
    assert not result.diagnostics
    placed = {(f.code, f.cell, f.line) for f in result.findings}
    assert ("GL501", 2, 4) in placed  # DataLoader in the second code cell
    assert ("GL401", 4, 4) in placed  # the step loop in the fourth code cell
    assert ("GL402", 4, 3) in placed  # the epoch loop
    assert all(f.path == "train.ipynb" for f in result.findings)


def test_malformed_notebooks_are_diagnostics(write: Write, tmp_path: Path) -> None:
    write("broken.ipynb", '{"cells": [ {"cell_type": "code", "source": "import torch"')
    write("not_a_notebook.ipynb", '{"torch": 1}')
    write("syntax.ipynb", notebook([("code", "import torch\ndef train(:\n    pass")]))
    messages = {d.path: d for d in check(tmp_path).diagnostics}
    assert "invalid notebook JSON" in messages["broken.ipynb"].message
    assert "no 'cells' list" in messages["not_a_notebook.ipynb"].message
    assert messages["syntax.ipynb"].message.startswith("cell 1: syntax error")
    assert messages["syntax.ipynb"].line in (2, 3)  # where libcst notices it, mapped into the cell


def test_shell_escapes_continued_with_backslashes_are_skipped(write: Write, tmp_path: Path) -> None:
    cells = [("code", "! python preprocess.py --data_dir data \\\n      --split train \\\n      --max_len 510\nimport torch")]
    write("prep.ipynb", notebook(cells))
    assert check(tmp_path).diagnostics == ()


def test_a_percent_continuing_an_open_bracket_is_python_not_a_magic(write: Write, tmp_path: Path) -> None:
    training = (
        "%load_ext watermark\n"
        "%watermark -p torch\n"
        "import torch\n"
        "from torch.utils.data import DataLoader, TensorDataset\n"
        "device = torch.device('cuda')\n"
        "model = torch.nn.Linear(16, 2).to(device)\n"
        "optimizer = torch.optim.Adam(model.parameters())\n"
        "features = torch.load('features.pt')\n"
        "loader = DataLoader(TensorDataset(features['x'], features['y']), batch_size=32)\n"
        "for epoch in range(20):\n"
        "    for batch_idx, (x, y) in enumerate(loader):\n"
        "        x, y = x.to(device), y.to(device)\n"
        "        loss = torch.nn.functional.cross_entropy(model(x), y)\n"
        "        optimizer.zero_grad()\n"
        "        loss.backward()\n"
        "        optimizer.step()\n"
        "        if not batch_idx % 50:\n"
        "            print('Epoch: %03d | Batch %03d | Cost: %.4f'\n"
        "                  %(epoch + 1, batch_idx,\n"
        "                    loss))\n"
    )
    write("train.ipynb", notebook([("code", training)]))
    result = check(tmp_path)
    assert result.diagnostics == ()
    assert ("GL401", 1, 11) in {(f.code, f.cell, f.line) for f in result.findings}


def test_an_unmatched_bracket_is_reported_at_its_own_cell_and_line(write: Write, tmp_path: Path) -> None:
    cells = [("code", "import torch"), ("code", "model = torch.nn.Linear(4, 2)\nprint(model))")]
    write("broken.ipynb", notebook(cells))
    (diagnostic,) = check(tmp_path).diagnostics
    assert diagnostic.message.startswith("cell 2: syntax error") and diagnostic.line == 2


def test_the_same_training_cell_run_twice_gives_a_finding_per_cell(write: Write, tmp_path: Path) -> None:
    rerun = ("code", CELLS[-1][1].replace("lr=0.1", "lr=0.05"))  # the same loop again, another learning rate
    write("train.ipynb", notebook([*CELLS, ("markdown", "## Again, with a lower learning rate"), rerun]))
    loops = sorted((f.cell, f.line) for f in check(tmp_path).findings if f.code == "GL401")
    assert loops == [(4, 4), (5, 4)]


DEPLOYMENT_CELLS = [
    ("markdown", "# Deploying the food classifier"),
    ("code", "import gradio as gr\nimport torch\nfrom model_builder import create_effnet"),
    ("code", "model = create_effnet(num_classes=101)\n"
             "model.load_state_dict(torch.load('models/effnet_food101.pth', map_location='cpu'))\n"
             "model.eval()"),
    ("code", "def predict(image):\n"
             "    with torch.no_grad():\n"
             "        return torch.softmax(model(image.unsqueeze(0)), dim=1)[0]\n"
             "demo = gr.Interface(fn=predict, inputs=gr.Image(type='pil'), outputs=gr.Label(num_top_classes=3))\n"
             "demo.launch(debug=False)"),
]


def test_a_notebook_trying_out_a_serving_framework_is_no_server(write: Write, tmp_path: Path) -> None:
    write("deploy.ipynb", notebook(DEPLOYMENT_CELLS))
    assert not [f for f in check(tmp_path).findings if f.code == "GL403"]


def test_the_same_code_as_a_script_is_a_server(write: Write, tmp_path: Path) -> None:
    write("app.py", "\n".join(source for kind, source in DEPLOYMENT_CELLS if kind == "code"))
    assert [f.line for f in check(tmp_path).findings if f.code == "GL403"] == [5]


def test_a_syntax_error_names_the_problem_at_the_cells_own_line(write: Write, tmp_path: Path) -> None:
    """A cell pasted with a leading space: the message says what Python says, not the
    tokens libcst expected, and no line number of the cells joined appears in it."""
    setup = "import os\nimport torch\nfrom transformers import AutoModelForCausalLM\n" + "\n".join(f"x{i} = {i}" for i in range(30))
    pasted = " model = AutoModelForCausalLM.from_pretrained(\n    'gpt2'\n)\nmodel.eval()"
    write("summarize.ipynb", notebook([("code", setup), ("code", pasted)]))
    (diagnostic,) = check(tmp_path).diagnostics
    assert diagnostic.message == "cell 2: syntax error: unexpected indent (column 1)"
    assert diagnostic.line == 1


DATABRICKS_SOURCE = """# Databricks notebook source
# MAGIC %md
# MAGIC ## Fine-tune the classifier

# COMMAND ----------

!pip install -q timm==0.9.12 \\
    torchmetrics

# COMMAND ----------

import timm
import torch
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

device = torch.device("cuda")
model = timm.create_model("resnet50", pretrained=True, num_classes=200).to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
train_set = datasets.ImageFolder("/dbfs/data/cub200/train", transforms.ToTensor())
loader = DataLoader(train_set, batch_size=64, shuffle=True, num_workers=8)
for epoch in range(30):
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        loss = torch.nn.functional.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
"""


def test_a_notebook_kept_as_a_script_is_read_past_its_shell_escapes(write: Write, tmp_path: Path) -> None:
    """A Databricks notebook source runs ``!pip install`` in a cell: not Python, but the
    training below it is analysed, at the file's own line numbers."""
    write("finetune_cub.py", DATABRICKS_SOURCE)
    result = check(tmp_path)
    assert result.diagnostics == ()
    loop_line = DATABRICKS_SOURCE.splitlines().index("for epoch in range(30):") + 1
    found = {(f.path, f.line, f.code) for f in result.findings}
    assert {("finetune_cub.py", loop_line, "GL402"), ("finetune_cub.py", loop_line + 1, "GL401")} <= found


def test_an_error_in_a_script_notebooks_python_is_still_reported(write: Write, tmp_path: Path) -> None:
    broken = DATABRICKS_SOURCE.replace("for epoch in range(30):", "for epoch in range(30)")
    write("finetune_cub.py", broken)
    (diagnostic,) = check(tmp_path).diagnostics
    assert diagnostic.message.startswith("syntax error")
    assert diagnostic.line == broken.splitlines().index("for epoch in range(30)") + 1


def test_a_notebook_of_another_language_is_not_read_as_python(write: Write, tmp_path: Path) -> None:
    """An R tutorial (torch for R) beside a Python one: its cells are R, not broken Python."""
    r_cells = [("code", "library(torch)\nmodel <- nn_linear(10, 1)\noptimizer <- optim_adam(model$parameters)"),
               ("code", "for (epoch in 1:100) {\n  loss <- nnf_mse_loss(model(x), y)\n  loss$backward()\n}")]
    document = json.loads(notebook(r_cells))
    document["metadata"] = {"kernelspec": {"display_name": "R", "language": "R", "name": "ir"}}
    write("r_tutorial.ipynb", json.dumps(document))
    write("python_tutorial.ipynb", notebook([("code", "import torch\nprint(torch.__version__")]))
    result = check(tmp_path)
    assert [d.path for d in result.diagnostics] == ["python_tutorial.ipynb"]
