"""SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.

GitHub deduplicates alerts across runs by rule id, relative path and fingerprint, so rule
ids are the stable codes, paths are relative to ``%SRCROOT%`` and every result carries a
fingerprint that does not depend on its line number.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from greenlint import __version__
from greenlint.findings import Confidence, Finding, Severity
from greenlint.reporters import ReportOptions
from greenlint.result import RunResult
from greenlint.rules.base import Rule

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
PRECISION = {Confidence.HIGH: "high", Confidence.MEDIUM: "medium", Confidence.LOW: "low"}
INFORMATION_URI = "https://github.com/greenlint/greenlint"


def _rule(rule: Rule) -> dict[str, Any]:
    documentation = rule.documentation()
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.summary},
        "help": {"text": documentation, "markdown": documentation},
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {
            "tags": ["green-ai", rule.category, *rule.tactics],
            "precision": PRECISION[rule.confidence],
            "problem.severity": rule.severity.value,
        },
    }


def fingerprint(finding: Finding) -> str:
    """Stable across runs and line shifts: rule, path and message."""
    raw = "\0".join((finding.code, finding.path, finding.message)).encode("utf-8")
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


def _region(finding: Finding) -> dict[str, int]:
    region = {"startLine": finding.line, "startColumn": finding.column}
    if finding.end_line is not None:
        region["endLine"] = finding.end_line
    if finding.end_column is not None:
        region["endColumn"] = finding.end_column
    return region


def _result(finding: Finding, index: dict[str, int]) -> dict[str, Any]:
    where = f"cell {finding.cell}: " if finding.cell is not None else ""
    properties: dict[str, Any] = {"tactics": list(finding.tactics), "category": finding.category,
                                  "confidence": finding.confidence.value}
    if finding.cell is not None:
        properties["cell"] = finding.cell
    if finding.confirmation is not None:
        properties["confirmation"] = finding.confirmation
        properties["evidence"] = finding.evidence
    return {
        "ruleId": finding.code,
        "ruleIndex": index[finding.code],
        "level": LEVELS[finding.severity],
        "message": {"text": f"{where}{finding.message}. Fix: {finding.fix}"},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": finding.path, "uriBaseId": "%SRCROOT%"},
            "region": _region(finding),
        }}],
        "partialFingerprints": {"greenlint/v1": fingerprint(finding)},
        "properties": properties,
    }


def document(result: RunResult) -> dict[str, Any]:
    rules = list(result.rules)
    known = {rule.code for rule in rules}
    extra = sorted({(f.code, f.name) for f in result.findings if f.code not in known})
    index = {rule.code: position for position, rule in enumerate(rules)}
    descriptors = [_rule(rule) for rule in rules]
    for code, name in extra:  # findings raised by a measurement, not by an enabled rule
        index[code] = len(descriptors)
        descriptors.append({"id": code, "name": name, "shortDescription": {"text": name}})
    notifications = [
        {"level": "error", "message": {"text": d.message},
         "locations": [{"physicalLocation": {"artifactLocation": {"uri": d.path, "uriBaseId": "%SRCROOT%"},
                                             **({"region": {"startLine": d.line}} if d.line else {})}}]}
        for d in result.diagnostics
    ]
    root_uri = Path(result.root).resolve().as_uri().rstrip("/") + "/"
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "greenlint", "version": __version__, "informationUri": INFORMATION_URI,
                                "rules": descriptors}},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": root_uri}},
            "columnKind": "unicodeCodePoints",
            "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
            "results": [_result(f, index) for f in result.findings],
        }],
    }


def render(result: RunResult, options: ReportOptions) -> str:
    return json.dumps(document(result), indent=2, ensure_ascii=False) + "\n"
