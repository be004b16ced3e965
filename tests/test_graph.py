"""``greenlint graph``: roles, entry points and import edges of a small ML project."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from greenlint.cli import main

from conftest import Write

FILES = {
    "data.py": '''
        import torch
        from torch.utils.data import Dataset, DataLoader

        class Windows(Dataset):
            def __init__(self, series, width=64):
                self.series, self.width = series, width
            def __len__(self):
                return len(self.series) - self.width
            def __getitem__(self, i):
                return self.series[i:i + self.width], self.series[i + self.width]

        def loaders(series):
            return DataLoader(Windows(series), batch_size=128, num_workers=4)
        ''',
    "model.py": '''
        import torch.nn as nn

        class Forecaster(nn.Module):
            def __init__(self, hidden=128):
                super().__init__()
                self.rnn = nn.GRU(1, hidden, batch_first=True)
                self.head = nn.Linear(hidden, 1)
            def forward(self, x):
                out, _ = self.rnn(x.unsqueeze(-1))
                return self.head(out[:, -1]).squeeze(-1)
        ''',
    "train.py": '''
        import torch
        from data import loaders
        from model import Forecaster

        def main():
            model = Forecaster().cuda()
            opt = torch.optim.Adam(model.parameters())
            for epoch in range(20):
                for x, y in loaders(torch.randn(10_000)):
                    loss = torch.nn.functional.mse_loss(model(x.cuda()), y.cuda())
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                torch.save(model.state_dict(), "forecaster.pt")

        if __name__ == "__main__":
            main()
        ''',
    "export.py": '''
        import torch
        from model import Forecaster

        model = Forecaster()
        model.load_state_dict(torch.load("forecaster.pt"))
        torch.onnx.export(model.eval(), torch.randn(1, 64), "forecaster.onnx")
        ''',
}


@pytest.fixture
def project(write: Write, tmp_path: Path) -> Path:
    for name, text in FILES.items():
        write(name, text)
    return tmp_path


def test_json_graph_has_roles_entry_points_and_imports(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", str(project), "--format", "json", "--no-cache"]) == 0
    data = json.loads(capsys.readouterr().out)
    roles = {m["path"]: set(m["roles"]) for m in data["modules"]}
    assert roles["data.py"] == {"data-preparation"}
    assert roles["model.py"] == {"model"}
    assert "training" in roles["train.py"]
    assert "inference/export" in roles["export.py"]
    entry = {m["path"] for m in data["modules"] if m["entry_point"]}
    assert entry == {"train.py"}
    imports = {(e["from"], e["to"]) for e in data["imports"]}
    assert {("train.py", "data.py"), ("train.py", "model.py"), ("export.py", "model.py")} <= imports
    assert {"from": "train:main", "to": "data:loaders"} in data["calls"]


@pytest.mark.parametrize(("fmt", "edge"), [("dot", "m_train_py -> m_model_py;"), ("mermaid", "m_train_py --> m_model_py")])
def test_dot_and_mermaid_show_the_same_edges(project: Path, capsys: pytest.CaptureFixture[str], fmt: str, edge: str) -> None:
    assert main(["graph", str(project), "--format", fmt, "--no-cache"]) == 0
    assert edge in capsys.readouterr().out


def test_an_unwritable_output_file_is_a_one_line_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = project / "missing-dir" / "graph.json"
    assert main(["graph", str(project), "--output", str(target), "--no-cache"]) == 2
    err = capsys.readouterr().err
    assert f"cannot write {target}" in err and "Traceback" not in err


def test_a_module_reexported_by_its_package_belongs_to_the_scripts_that_take_its_names(write: Write,
                                                                                        tmp_path: Path) -> None:
    """``from util import *`` (or ``from util import train_one_epoch``) runs util/engine.py
    through util/__init__.py; importing only the package's other names does not."""
    from greenlint.config import Settings
    from greenlint.engine import RunOptions, load_project

    write("util/__init__.py", "from .engine import train_one_epoch\nfrom .plots import plot_curves\n")
    write("util/engine.py", "import torch\n\n\ndef train_one_epoch(model, loader, optimizer):\n    pass\n")
    write("util/plots.py", "import torch\n\n\ndef plot_curves(history):\n    pass\n")
    write("main.py", "import torch\nfrom util import *\n")
    write("train.py", "import torch\nfrom util import train_one_epoch\n")
    write("report.py", "import torch\nfrom util import plot_curves\n")
    project, _ = load_project(Settings(root=tmp_path, exclude=[]), RunOptions([tmp_path], jobs=1, use_cache=False))
    assert project.importers["util.engine"] == {"util/__init__.py", "main.py", "train.py"}
    assert project.importers["util.plots"] == {"util/__init__.py", "main.py", "report.py"}
