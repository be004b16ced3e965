"""[tool.greenlint] settings and rule selection: what users write, and their mistakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from greenlint.config import ConfigError, load_settings
from greenlint.findings import Severity
from greenlint.rules import all_rules
from greenlint.selection import select_rules

from conftest import Write, check, codes

LOADER_SCRIPT = '''
import torch
from torch.utils.data import DataLoader

model = torch.nn.Linear(784, 10).cuda()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
loader = DataLoader(train_set, batch_size=256, shuffle=True)
for epoch in range(90):
    for step, (x, y) in enumerate(loader):
        loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
'''


def names(rules) -> list[str]:
    return [r.name for r in rules]


def test_selectors_accept_codes_names_prefixes_and_tactics() -> None:
    rules = all_rules()
    assert names(select_rules(rules, ["GL401"], [], [])) == ["no-mixed-precision"]
    assert names(select_rules(rules, ["missing-checkpoint"], [], [])) == ["missing-checkpoint"]
    assert names(select_rules(rules, ["GL50"], [], [])) == ["dataloader-no-workers", "host-sync-in-loop", "grad-in-inference", "data-reload-in-loop"]
    assert names(select_rules(rules, ["T19"], [], [])) == ["missing-checkpoint"]
    assert "grid-search" in names(select_rules(rules, ["T1"], [], []))


def test_ignore_wins_over_select_and_extend_select_adds() -> None:
    rules = all_rules()
    assert names(select_rules(rules, ["GL4"], ["GL201"], ["GL403"])) == ["grid-search", "no-mixed-precision", "missing-checkpoint"]
    assert "grid-search" not in names(select_rules(rules, None, [], ["grid-search"]))


def test_unknown_selector_names_the_closest_rule() -> None:
    with pytest.raises(ConfigError, match="unknown rule selector 'no-mixed-precison'.*did you mean 'no-mixed-precision'"):
        select_rules(all_rules(), None, [], ["no-mixed-precison"])


def test_unknown_key_names_the_closest_key(write: Write, tmp_path: Path) -> None:
    write("pyproject.toml", '[tool.greenlint]\nignores = ["GL402"]\n')
    with pytest.raises(ConfigError, match="unknown key 'ignores'.*did you mean 'ignore'"):
        load_settings(tmp_path)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('fail-on = "warnings"', "fail-on must be one of .*did you mean 'warning'"),
        ('select = "GL401"', "'select' must be a list of strings"),
        ('severity = { GL401 = "fatal" }', "severity of 'GL401' must be one of"),
        ("select = [", "invalid TOML"),
    ],
)
def test_bad_values_are_clear_errors(write: Write, tmp_path: Path, toml: str, message: str) -> None:
    write("pyproject.toml", f"[tool.greenlint]\n{toml}\n")
    with pytest.raises(ConfigError, match=message):
        load_settings(tmp_path)


def test_nearest_pyproject_with_a_greenlint_table_is_the_root(write: Write, tmp_path: Path) -> None:
    write("pyproject.toml", '[tool.greenlint]\nignore = ["GL501"]\n')
    write("src/pkg/pyproject.toml", "[project]\nname = 'inner'\n")
    settings = load_settings(tmp_path / "src" / "pkg")
    assert settings.root == tmp_path and settings.ignore == ["GL501"]


def test_per_file_ignores_and_severity_overrides_apply(write: Write, tmp_path: Path) -> None:
    write("pyproject.toml", """
        [tool.greenlint]
        per-file-ignores = { "scripts/*.py" = ["dataloader-no-workers"] }
        severity = { GL401 = "error", host-sync-in-loop = "info" }
        """)
    write("scripts/quick.py", LOADER_SCRIPT)
    write("train.py", LOADER_SCRIPT)
    settings = load_settings(tmp_path)
    result = check(tmp_path, settings=settings)
    found = codes(result)
    assert ("train.py", 6, "GL501") in found
    assert ("scripts/quick.py", 6, "GL501") not in found
    severities = {f.code: f.severity for f in result.findings if f.path == "train.py"}
    assert severities["GL401"] is Severity.ERROR


def test_exclude_replaces_the_default_and_extend_exclude_adds(write: Write, tmp_path: Path) -> None:
    write("tests/train_smoke.py", LOADER_SCRIPT)
    write("legacy/train.py", LOADER_SCRIPT)
    default = check(tmp_path, settings=load_settings(tmp_path))
    assert {c[0] for c in codes(default)} == {"legacy/train.py"}
    write("pyproject.toml", '[tool.greenlint]\nexclude = ["legacy/"]\n')
    replaced = check(tmp_path, settings=load_settings(tmp_path))
    assert {c[0] for c in codes(replaced)} == {"tests/train_smoke.py"}
