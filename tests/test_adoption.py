"""Adopting greenlint in legacy code: baselines and reporting only changed lines."""

from __future__ import annotations

import subprocess
from pathlib import Path

from greenlint.baseline import load_baseline, without_baseline, write_baseline
from greenlint.gitdiff import changed_lines, only_changed

from conftest import Write, check, codes

LEGACY = '''
import torch
from torch.utils.data import DataLoader


def fit(model, dataset, epochs=100):
    loader = DataLoader(dataset, batch_size=32)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    model.cuda()
    for epoch in range(epochs):
        for x, y in loader:
            loss = torch.nn.functional.mse_loss(model(x.cuda()), y.cuda())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
'''
NEW_LOADER = '''

def make_eval_loader(dataset):
    return DataLoader(dataset, batch_size=512)
'''


def test_baseline_hides_old_findings_even_after_lines_shift(write: Write, tmp_path: Path) -> None:
    write("legacy.py", LEGACY)
    before = check(tmp_path)
    assert len(before.findings) >= 3
    baseline = tmp_path / "greenlint-baseline.json"
    assert write_baseline(before, baseline) == len(before.findings)

    edited = write("legacy.py", '"""Legacy trainer, kept for reproducibility."""\n# a comment\n' + LEGACY + NEW_LOADER)
    after = check(tmp_path)
    remaining = without_baseline(after, load_baseline(baseline))
    assert [(f.code, f.message.split(" ")[0]) for f in remaining.findings] == [("GL501", "DataLoader")]
    new_line = edited.read_text().splitlines().index("    return DataLoader(dataset, batch_size=512)") + 1
    assert remaining.findings[0].line == new_line


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t", "HOME": str(root), "PATH": "/usr/bin:/bin:/usr/local/bin"})


def test_diff_reports_only_changed_lines_and_new_files(write: Write, tmp_path: Path) -> None:
    write("legacy.py", LEGACY)
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "legacy")
    write("legacy.py", LEGACY + NEW_LOADER)
    write("fresh.py", "from torch.utils.data import DataLoader\nimport torch\nmodel = torch.nn.Linear(4, 2).cuda()\n"
                      "loader = DataLoader(ds)\nfor x, y in loader:\n    loss = (model(x.cuda()) - y.cuda()).pow(2).mean()\n"
                      "    loss.backward()\n    opt.step()\n")
    changed = changed_lines(tmp_path, "HEAD")
    assert changed["fresh.py"] is None
    narrowed = only_changed(check(tmp_path), changed)
    paths_lines = sorted((f.path, f.code) for f in narrowed.findings)
    assert ("legacy.py", "GL501") in paths_lines
    assert all(f.line > len(LEGACY.splitlines()) for f in narrowed.findings if f.path == "legacy.py")
    assert any(path == "fresh.py" for path, _ in paths_lines)
    full = codes(check(tmp_path))
    assert len(full) > len(narrowed.findings)
