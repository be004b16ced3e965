"""What every rule is: metadata, documentation, and a ``check`` over project facts.

A rule never walks a syntax tree. It reads the facts the analyzer extracted once per file
(see ``greenlint.analyzer.facts``) and the project index built over them, so adding a rule
costs no extra parse and its findings can be recomputed from cached facts in milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar

from greenlint.findings import Confidence, Finding, Saving, Severity

if TYPE_CHECKING:
    from greenlint.analyzer.project import Project

CATEGORIES: dict[str, str] = {
    "1": "data-centric",
    "2": "algorithm-design",
    "3": "model-optimization",
    "4": "model-training",
    "5": "deployment",
    "6": "management",
}

DOC_SECTIONS = ("What it does", "Why it costs energy", "Example", "Use instead", "Evidence")
_CODE_RE = re.compile(r"^GL[1-6]\d\d$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


class Rule:
    """Base class of all rules.

    Subclasses set the class attributes below and implement :meth:`check`. The class
    docstring is the rule's documentation, written in the sections of ``DOC_SECTIONS``
    (``## What it does`` ...), and is what ``greenlint explain`` prints.
    """

    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    tactics: ClassVar[tuple[str, ...]]
    severity: ClassVar[Severity] = Severity.WARNING
    confidence: ClassVar[Confidence] = Confidence.MEDIUM
    #: Words of which at least one must occur in a file for it to be worth parsing.
    triggers: ClassVar[frozenset[str]] = frozenset()

    @property
    def category(self) -> str:
        return CATEGORIES[self.code[2]]

    def check(self, project: Project) -> Iterator[Finding]:
        """Yield every finding of this rule anywhere in the project."""
        raise NotImplementedError

    def finding(
        self,
        path: str,
        line: int,
        column: int,
        message: str,
        fix: str,
        saving: Saving | None = None,
        *,
        cell: int | None = None,
    ) -> Finding:
        """Build a finding stamped with this rule's metadata."""
        return Finding(
            path=path,
            line=line,
            column=column,
            code=self.code,
            name=self.name,
            severity=self.severity,
            confidence=self.confidence,
            tactics=self.tactics,
            category=self.category,
            message=message,
            fix=fix,
            saving=saving,
            cell=cell,
        )

    @classmethod
    def documentation(cls) -> str:
        """The rule's Markdown documentation, dedented from its docstring."""
        import inspect

        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def validate(cls) -> list[str]:
        """Problems with this rule's metadata; empty when it is well formed."""
        problems = []
        if not _CODE_RE.match(cls.code):
            problems.append(f"{cls.__name__}: code {cls.code!r} is not GL<category 1-6><nn>")
        if not _NAME_RE.match(cls.name):
            problems.append(f"{cls.__name__}: name {cls.name!r} is not kebab-case")
        doc = cls.documentation()
        for section in DOC_SECTIONS:
            if f"## {section}" not in doc:
                problems.append(f"{cls.code}: documentation lacks '## {section}'")
        if not cls.tactics or not all(re.match(r"^T([1-9]|[12]\d|30)$", t) for t in cls.tactics):
            problems.append(f"{cls.code}: tactics {cls.tactics!r} are not T1..T30")
        return problems
