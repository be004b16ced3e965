"""Reporters: JSON against its schema, SARIF as GitHub needs it, annotations, text."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from greenlint.findings import Confidence, Diagnostic, Finding, Saving, Severity
from greenlint.reporters import ReportOptions, render
from greenlint.reporters.github import escape_data, escape_property
from greenlint.result import RunResult
from greenlint.rules import all_rules

SCHEMA = json.loads((Path(__file__).parents[1] / "greenlint" / "schemas" / "findings-v1.json").read_text())
TRAIN = """import torch

def train(model, loader, optimizer):
    for x, y in loader:
        loss = model(x.cuda()).sum()
        loss.backward()
"""


def finding(**changes) -> Finding:
    base = dict(
        path="train.py", line=4, column=5, code="GL401", name="no-mixed-precision", severity=Severity.WARNING,
        confidence=Confidence.MEDIUM, tactics=("T18",), category="model-training",
        message="this training loop runs on CUDA in full fp32", fix="use torch.autocast",
        saving=Saving("1.5-3x less time per step", "Micikevicius et al., ICLR 2018"),
    )
    base.update(changes)
    return Finding(**base)


@pytest.fixture
def result(tmp_path: Path) -> RunResult:
    (tmp_path / "train.py").write_text(TRAIN)
    findings = (
        finding(),
        finding(code="GL502", name="host-sync-in-loop", tactics=("T27",), category="deployment", line=5, column=16,
                message="loss.item() forces a sync: 100% of steps, 50: \"bad\"", saving=None),
        finding(path="explore.ipynb", cell=3, line=2, column=1, code="GL601", name="no-energy-monitoring",
                severity=Severity.INFO, tactics=("T30",), category="management", message="no energy measured"),
    )
    return RunResult(root=str(tmp_path), findings=findings,
                     diagnostics=(Diagnostic("broken.py", "syntax error: unexpected token", line=7),),
                     files_checked=4, rules=all_rules())


def test_json_validates_and_round_trips(result: RunResult) -> None:
    document = json.loads(render("json", result, ReportOptions()))
    jsonschema.validate(document, SCHEMA)
    assert document["summary"] == {"files_checked": 4, "findings": 3,
                                   "by_severity": {"info": 1, "warning": 2},
                                   "by_category": {"deployment": 1, "management": 1, "model-training": 1},
                                   "below_confidence": 0}
    first = document["findings"][0]
    assert (first["path"], first["line"], first["column"], first["code"], first["tactics"]) == ("train.py", 4, 5, "GL401", ["T18"])
    assert first["saving"] == {"text": "1.5-3x less time per step", "source": "Micikevicius et al., ICLR 2018"}
    assert document["findings"][2]["cell"] == 3
    assert document["diagnostics"] == [{"path": "broken.py", "line": 7, "message": "syntax error: unexpected token"}]


def test_schema_rejects_incomplete_documents(result: RunResult) -> None:
    document = json.loads(render("json", result, ReportOptions()))
    broken = copy.deepcopy(document)
    del broken["findings"][0]["tactics"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA)
    broken = copy.deepcopy(document)
    broken["findings"][0]["severity"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA)


def test_sarif_has_what_github_code_scanning_reads(result: RunResult) -> None:
    sarif = json.loads(render("sarif", result, ReportOptions()))
    assert sarif["version"] == "2.1.0" and len(sarif["runs"]) == 1
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert {r["id"] for r in rules} >= {"GL401", "GL502", "GL601"}
    for rule in rules:
        assert rule["shortDescription"]["text"] and "## Why it costs energy" in rule["help"]["markdown"]
        assert "green-ai" in rule["properties"]["tags"]
    for item in run["results"]:
        assert rules[item["ruleIndex"]]["id"] == item["ruleId"]
        assert item["level"] in ("error", "warning", "note")
        location = item["locations"][0]["physicalLocation"]
        assert not location["artifactLocation"]["uri"].startswith("/")
        assert location["region"]["startLine"] >= 1 and location["region"]["startColumn"] >= 1
    assert run["results"][2]["level"] == "note"
    assert run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"].startswith("syntax error")


def test_sarif_fingerprints_survive_line_shifts(result: RunResult) -> None:
    shifted = RunResult(result.root, tuple(finding(line=f.line + 10) if f.code == "GL401" else f for f in result.findings),
                        result.diagnostics, result.files_checked, result.rules)
    prints = [r["partialFingerprints"] for r in json.loads(render("sarif", result, ReportOptions()))["runs"][0]["results"]]
    moved = [r["partialFingerprints"] for r in json.loads(render("sarif", shifted, ReportOptions()))["runs"][0]["results"]]
    assert prints == moved and len({p["greenlint/v1"] for p in prints}) == 3


def test_github_annotations_escape_their_parts(result: RunResult) -> None:
    lines = render("github", result, ReportOptions()).splitlines()
    assert lines[0].startswith("::warning file=train.py,line=4,col=5,title=greenlint GL401 (no-mixed-precision)::")
    assert "100%25 of steps, 50: \"bad\"" in lines[1]
    assert lines[2].startswith("::notice file=explore.ipynb") and "cell 3, no energy measured" in lines[2]
    assert lines[3] == "::error file=broken.py,line=7,title=greenlint::syntax error: unexpected token"
    assert escape_data("50%\nnext") == "50%25%0Anext"
    assert escape_property("a:b,c") == "a%3Ab%2Cc"


def test_text_report_lists_findings_fixes_and_summary(result: RunResult) -> None:
    text = render("text", result, ReportOptions())
    assert "train.py:4:5 GL401 no-mixed-precision [warning] this training loop runs on CUDA in full fp32" in text
    assert "    help: use torch.autocast" in text
    assert "explore.ipynb:cell 3:2:1 GL601" in text
    assert "broken.py:7: syntax error: unexpected token" in text
    assert "Found 3 findings (0 errors, 2 warnings, 1 info) in 2 files; 4 files checked." in text
    assert render("text", result, ReportOptions()) == text


def test_text_source_frame_puts_the_caret_under_the_column(result: RunResult) -> None:
    text = render("text", result, ReportOptions(show_source=True))
    lines = text.splitlines()
    index = lines.index("  5 |         loss = model(x.cuda()).sum()")
    assert lines[index + 1] == "    |                ^"


def test_statistics_and_quiet(result: RunResult) -> None:
    stats = render("text", result, ReportOptions(statistics=True))
    assert any(line.split() == ["1", "GL401", "no-mixed-precision"] for line in stats.splitlines())
    quiet = render("text", result, ReportOptions(quiet=True))
    assert "Found" not in quiet and "GL401" in quiet


def test_empty_run_says_so(tmp_path: Path) -> None:
    empty = RunResult(str(tmp_path), (), (), 12, all_rules())
    assert render("text", empty, ReportOptions()).strip() == "No findings in 12 files checked."
    assert json.loads(render("sarif", empty, ReportOptions()))["runs"][0]["results"] == []
    assert render("github", empty, ReportOptions()) == ""
