"""The check pipeline end to end: bad input, analysis vs report scope, cache, parallelism."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from greenlint.analyzer import sources
from greenlint.config import Settings
from greenlint.engine import RunOptions, run_check
from greenlint.rules import all_rules
from greenlint.rules.base import Rule

from conftest import Write, check, codes

TRAIN_LOOP = '''
import torch
from torch import nn
from torch.utils.data import DataLoader

from {helper} import save_checkpoint

device = torch.device("cuda")


def train(model: nn.Module, dataset, epochs: int = 30) -> None:
    loader = DataLoader(dataset, batch_size=64, shuffle=True, num_workers=4, pin_memory=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
    scaler = torch.amp.GradScaler("cuda")
    for epoch in range(epochs):
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            with torch.autocast(device_type="cuda", dtype=torch.float16):
                loss = nn.functional.cross_entropy(model(images), labels)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        {save_call}
'''
HELPER = '''
import torch


def save_checkpoint(model, optimizer, epoch, path="checkpoint.pt"):
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}, path)
'''


def test_checkpoint_saved_by_helper_module_is_seen_when_only_train_is_checked(write: Write, tmp_path: Path) -> None:
    write("pkg/utils.py", HELPER)
    train = write("pkg/train.py", TRAIN_LOOP.format(helper="pkg.utils", save_call="save_checkpoint(model, optimizer, epoch)"))
    result = check(tmp_path, paths=[train])
    assert [c for c in codes(result) if c[2] == "GL402"] == []
    assert result.files_checked == 1


def test_same_loop_without_the_save_is_reported(write: Write, tmp_path: Path) -> None:
    write("pkg/utils.py", HELPER)
    train = write("pkg/train.py", TRAIN_LOOP.format(helper="pkg.utils", save_call="print(epoch)"))
    result = check(tmp_path, paths=[train])
    assert ("pkg/train.py", 14, "GL402") in codes(result)


def test_findings_outside_the_report_scope_are_not_reported(write: Write, tmp_path: Path) -> None:
    write("pkg/utils.py", HELPER)
    write("pkg/train.py", TRAIN_LOOP.format(helper="pkg.utils", save_call="print(epoch)"))
    result = check(tmp_path, paths=[tmp_path / "pkg" / "utils.py"])
    assert result.findings == ()


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("broken.py", "import torch\ndef train(:\n    pass\n", "syntax error"),
        ("legacy.py", "import torch\nx = torch.zeros(3)\nprint x.sum()\n", "syntax error: Missing parentheses in call to 'print'"),
        ("binary.py", b"import torch\x00\x01\x02", "binary file"),
        ("latin.py", b"import torch\nname = '\xe9t\xe9'\n", "cannot decode"),
        ("sweep.yaml", "method: grid\nparameters: [unclosed\n", "invalid YAML (line"),
        ("ds_config.json", '{"fp16": {"enabled": true,}', "invalid JSON (line 1"),
    ],
)
def test_bad_files_become_diagnostics_and_the_run_goes_on(write: Write, tmp_path: Path, name: str, content, expected: str) -> None:
    write(name, content)
    write("train.py", TRAIN_LOOP.format(helper="utils", save_call="print(epoch)"))
    write("utils.py", HELPER)
    result = check(tmp_path)
    assert [d.path for d in result.diagnostics] == [name]
    assert expected in result.diagnostics[0].message
    assert ("train.py", 14, "GL402") in codes(result)


def test_a_coding_cookie_is_honoured(write: Write, tmp_path: Path) -> None:
    write("latin.py", b"# -*- coding: latin-1 -*-\nimport torch\nname = '\xe9t\xe9'\n")
    assert check(tmp_path).diagnostics == ()


def test_oversized_files_are_skipped_with_a_diagnostic(write: Write, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "MAX_PYTHON_BYTES", 1000)
    write("generated.py", "import torch\n" + "x = 1\n" * 400)
    result = check(tmp_path)
    assert "over the" in result.diagnostics[0].message


def test_symlink_loops_and_virtualenvs_are_not_walked(write: Write, tmp_path: Path) -> None:
    write("train.py", TRAIN_LOOP.format(helper="utils", save_call="print(epoch)"))
    write("utils.py", HELPER)
    write("env/pyvenv.cfg", "home = /usr/bin\n")
    write("env/lib/site.py", TRAIN_LOOP.format(helper="utils", save_call="print(epoch)"))
    os.symlink(tmp_path, tmp_path / "loop")
    result = check(tmp_path)
    assert {c[0] for c in codes(result)} == {"train.py"}


def test_gitignored_files_are_skipped(write: Write, tmp_path: Path) -> None:
    write(".gitignore", "scratch/\n*.tmp.py\n")
    body = TRAIN_LOOP.format(helper="utils", save_call="print(epoch)")
    write("utils.py", HELPER)
    write("scratch/train.py", body)
    write("old.tmp.py", body)
    write("train.py", body)
    result = check(tmp_path)
    assert {c[0] for c in codes(result)} == {"train.py"}


def test_cache_makes_the_second_run_parse_nothing(write: Write, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write("utils.py", HELPER)
    write("train.py", TRAIN_LOOP.format(helper="utils", save_call="print(epoch)"))
    first = check(tmp_path, use_cache=True)
    assert (tmp_path / ".greenlint_cache" / ".gitignore").read_text().strip().endswith("*")

    def fail(*args, **kwargs):
        raise AssertionError("a cached file was parsed again")

    monkeypatch.setattr("greenlint.workers.analyze_bytes", fail)
    second = check(tmp_path, use_cache=True)
    assert codes(second) == codes(first)


def test_cache_notices_a_changed_file(write: Write, tmp_path: Path) -> None:
    write("utils.py", HELPER)
    write("train.py", TRAIN_LOOP.format(helper="utils", save_call="print(epoch)"))
    assert ("train.py", 14, "GL402") in codes(check(tmp_path, use_cache=True))
    write("train.py", TRAIN_LOOP.format(helper="utils", save_call="save_checkpoint(model, optimizer, epoch)"))
    assert ("train.py", 14, "GL402") not in codes(check(tmp_path, use_cache=True))


ATTENTION = """
import math

import torch
import torch.nn as nn


class SelfAttention(nn.Module):
    def __init__(self, dim=768, heads=12):
        super().__init__()
        self.qkv, self.proj, self.heads = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim), heads

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))
        att = att.softmax(dim=-1)
        return self.proj((att @ v).transpose(1, 2).reshape(b, t, c))
"""


def test_cache_notices_a_changed_torch_pin(write: Write, tmp_path: Path) -> None:
    write("attention.py", ATTENTION)
    write("requirements.txt", "torch==1.7.1\n")
    assert "GL203" not in {code for _, _, code in codes(check(tmp_path, use_cache=True))}
    write("requirements.txt", "torch>=2.1\n")
    assert "GL203" in {code for _, _, code in codes(check(tmp_path, use_cache=True))}


def test_parallel_and_serial_runs_agree(write: Write, tmp_path: Path) -> None:
    write("utils.py", HELPER)
    for index in range(40):
        write(f"exp{index}/train.py", TRAIN_LOOP.format(helper="utils", save_call="print(epoch)"))
    serial = check(tmp_path, jobs=1)
    parallel = check(tmp_path, jobs=2)
    assert len([f for f in serial.findings if f.code == "GL402"]) == 40
    assert parallel.findings == serial.findings


def test_missing_path_is_a_diagnostic(tmp_path: Path) -> None:
    result = run_check(Settings(root=tmp_path), all_rules(), RunOptions([tmp_path / "nope.py"], jobs=1, use_cache=False))
    assert result.diagnostics[0].message == "no such file or directory"


class _BrokenRule(Rule):
    """A rule with a bug: it fails on every project."""

    code = "GL999"
    name = "broken-rule"
    summary = "Fails on purpose"
    tactics = ("T30",)

    def check(self, project):
        yield from ()
        raise ValueError("unexpected fact shape")


def test_a_failing_rule_is_a_diagnostic_and_the_other_rules_still_report(write: Write, tmp_path: Path) -> None:
    write("pkg/utils.py", HELPER)
    write("pkg/train.py", TRAIN_LOOP.format(helper="pkg.utils", save_call="print(epoch)"))
    result = check(tmp_path, rules=(_BrokenRule(), *all_rules()))
    assert ("pkg/train.py", 14, "GL402") in codes(result)
    [failure] = result.diagnostics
    assert failure.path == "." and "internal error in GL999 broken-rule: ValueError: unexpected fact shape" in failure.message


def test_json_lines_saved_as_json_are_data_not_a_broken_config(write: Write, tmp_path: Path) -> None:
    records = "\n".join(f'{{"query": "which method trains {i} models", "answers": ["answer {i}"]}}' for i in range(20))
    write("data/toy/qa.json", records + "\n")
    write("ds_config.json", '{"train_batch_size": 32, "fp16": {"enabled": true},}')
    result = check(tmp_path)
    assert [d.path for d in result.diagnostics] == ["ds_config.json"]


def test_indentation_mixing_tabs_and_spaces_that_python_reads_is_analysed(write: Write, tmp_path: Path) -> None:
    """A space then a tab reaches column 8, as Python counts it, and nine spaces go deeper:
    Python runs the file, so greenlint reads it too (libcst's tokenizer alone refuses it)."""
    body = TRAIN_LOOP.format(helper="utils", save_call="print(epoch)")
    mixed = "def per_class(images, labels, n_classes):\n \tselected = []\n \tfor i in range(n_classes):\n         selected.append(images[labels == i][:10])\n \treturn selected\n"
    write("train.py", body + "\n\n" + mixed)
    write("utils.py", HELPER)
    result = check(tmp_path)
    assert result.diagnostics == ()
    assert ("train.py", 14, "GL402") in codes(result)
