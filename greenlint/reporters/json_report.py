"""The JSON report: a versioned document (see docs/json-format.md and the JSON Schema).

``schema_version`` follows semantic versioning: fields may be added within 1.x; a field
removed or changed in meaning bumps the major version.
"""

from __future__ import annotations

import json
from typing import Any

from greenlint import __version__
from greenlint.findings import Finding
from greenlint.reporters import ReportOptions
from greenlint.result import RunResult

SCHEMA_VERSION = "1.0"


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    return {
        "path": finding.path,
        "line": finding.line,
        "column": finding.column,
        "end_line": finding.end_line,
        "end_column": finding.end_column,
        "cell": finding.cell,
        "code": finding.code,
        "name": finding.name,
        "severity": finding.severity.value,
        "confidence": finding.confidence.value,
        "category": finding.category,
        "tactics": list(finding.tactics),
        "message": finding.message,
        "fix": finding.fix,
        "saving": None if finding.saving is None else {"text": finding.saving.text, "source": finding.saving.source},
        "confirmation": finding.confirmation,
        "evidence": finding.evidence,
    }


def document(result: RunResult) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "greenlint", "version": __version__},
        "root": result.root,
        "summary": {
            "files_checked": result.files_checked,
            "findings": len(result.findings),
            "by_severity": dict(sorted(result.counts_by_severity().items())),
            "by_category": dict(sorted(result.counts_by_category().items())),
            "below_confidence": result.below_confidence,
        },
        "findings": [finding_to_dict(f) for f in result.findings],
        "diagnostics": [{"path": d.path, "line": d.line, "message": d.message} for d in result.diagnostics],
    }


def render(result: RunResult, options: ReportOptions) -> str:
    return json.dumps(document(result), indent=2, ensure_ascii=False) + "\n"
