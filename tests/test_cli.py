"""The command line as users run it: commands, exit codes and error messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from greenlint import __version__
from greenlint.cli import main

from conftest import Write

WASTEFUL = '''
import torch
from torch.utils.data import DataLoader
from torchvision import datasets, transforms


EPOCHS = 90


def train(model):
    dataset = datasets.ImageFolder("/datasets/imagenet/train", transforms.ToTensor())
    loader = DataLoader(dataset, batch_size=64)
    optimizer = torch.optim.Adam(model.parameters())
    model.cuda()
    for epoch in range(EPOCHS):
        for x, y in loader:
            loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
'''
CLEAN = '''
import pandas as pd


def summarise(path):
    frame = pd.read_csv(path)
    return frame.describe()
'''


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_rules_and_explain(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["rules", "--format", "json"], capsys)
    listed = {rule["code"]: rule["name"] for rule in json.loads(out)}
    assert code == 0 and listed["GL402"] == "missing-checkpoint"
    by_code = run(["explain", "GL402"], capsys)[1]
    by_name = run(["explain", "missing-checkpoint"], capsys)[1]
    assert by_code == by_name and "## Why it costs energy" in by_code


def test_explain_unknown_rule_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["explain", "missing-checkpoints"], capsys)
    assert code == 2
    assert err.strip() == "greenlint: error: unknown rule 'missing-checkpoints' (did you mean 'missing-checkpoint'?)"


def test_exit_codes_follow_fail_on(write: Write, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write("clean.py", CLEAN)
    assert run([str(tmp_path), "--no-cache"], capsys)[0] == 0
    write("train.py", WASTEFUL)
    assert run([str(tmp_path), "--no-cache"], capsys)[0] == 1
    assert run([str(tmp_path), "--no-cache", "--fail-on", "never"], capsys)[0] == 0
    assert run([str(tmp_path), "--no-cache", "--fail-on", "error"], capsys)[0] == 0
    assert run([str(tmp_path), "--no-cache", "--ignore", "GL4,GL5,GL6"], capsys)[0] == 0


def test_bare_paths_mean_check(write: Write, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write("train.py", WASTEFUL)
    implicit = run([str(tmp_path), "--format", "json", "--no-cache"], capsys)[1]
    explicit = run(["check", str(tmp_path), "--format", "json", "--no-cache"], capsys)[1]
    assert json.loads(implicit)["findings"] == json.loads(explicit)["findings"]
    assert {f["code"] for f in json.loads(implicit)["findings"]} >= {"GL401", "GL501"}


def test_output_file(write: Write, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write("train.py", WASTEFUL)
    report = tmp_path / "report.sarif"
    code, out, _ = run([str(tmp_path), "--format", "sarif", "--output", str(report), "--no-cache"], capsys)
    assert code == 1 and out == ""
    assert json.loads(report.read_text())["version"] == "2.1.0"


def test_configuration_errors_exit_2_without_traceback(write: Write, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write("pyproject.toml", '[tool.greenlint]\nselect = ["GL999"]\n')
    write("train.py", WASTEFUL)
    code, _, err = run([str(tmp_path)], capsys)
    assert code == 2
    assert err.count("\n") == 1 and "unknown rule selector 'GL999'" in err and "Traceback" not in err


def test_internal_errors_are_one_line_unless_verbose(write: Write, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    write("train.py", WASTEFUL)

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("greenlint.engine.run_check", broken)
    code, _, err = run([str(tmp_path)], capsys)
    assert code == 2 and err.strip() == "greenlint: internal error: RuntimeError: disk on fire (run with --verbose for details)"
    code, _, err = run([str(tmp_path), "--verbose"], capsys)
    assert code == 2 and "Traceback" in err


def test_syntax_error_file_is_reported_and_others_still_checked(write: Write, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    write("train.py", WASTEFUL)
    write("broken.py", "import torch\nfor x in :\n")
    code, out, _ = run([str(tmp_path), "--format", "json", "--no-cache"], capsys)
    report = json.loads(out)
    assert code == 1
    assert [d["path"] for d in report["diagnostics"]] == ["broken.py"]
    assert any(f["path"] == "train.py" for f in report["findings"])
