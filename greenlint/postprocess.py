"""After the rules: report scope, per-file ignores, severities, suppressions, notebooks.

Everything that turns the project-wide findings of the rules into the findings a user
asked about, in the order every reporter prints them.
"""

from __future__ import annotations

from dataclasses import replace
from fnmatch import fnmatch
from pathlib import Path

from greenlint.analyzer.notebooks import NotebookError, notebook_source
from greenlint.analyzer.sources import NOTEBOOK_SUFFIXES
from greenlint.config import Settings
from greenlint.findings import Confidence, Finding
from greenlint.selection import matches
from greenlint.suppression import apply_suppressions


def postprocess(findings: list[Finding], settings: Settings, report: set[str]) -> list[Finding]:
    """Report scope, per-file ignores, severity overrides and inline suppressions."""
    by_file: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.path not in report:
            continue
        if any(fnmatch(finding.path, glob) and any(matches(s, finding) for s in selectors)
               for glob, selectors in settings.per_file_ignores.items()):
            continue
        finding = _graded_by_folder(finding)
        override = settings.severity.get(finding.code) or settings.severity.get(finding.name)
        if override is not None:
            finding = finding.with_severity(override)
        by_file.setdefault(finding.path, []).append(finding)
    kept: list[Finding] = []
    for path, file_findings in by_file.items():
        kept.extend(_suppress_and_place(settings.root / path, file_findings))
    return sorted(set(kept), key=sort_key)


#: Folders that keep code no longer maintained: a project moves an old version of an
#: example or a module there instead of deleting it, and changes nothing in it after.
UNMAINTAINED_FOLDERS = frozenset({"legacy", "deprecated", "archive", "archived", "obsolete"})


#: Folders that hold other projects' code copied in (``third_party/``, ``vendor/``).
VENDORED_FOLDERS = frozenset({"third_party", "thirdparty", "3rdparty", "vendor", "vendored", "external", "externals"})
#: Packages that ML projects copy into their own tree (a segmentation annotator carries
#: ``mmcv`` and ``mmseg``, an editing project a ``stable_diffusion/ldm``, a GLUE example
#: an old ``pytorch_pretrained_bert``): found below a project's top level, they are a copy.
VENDORED_PACKAGES = frozenset(
    {"mmcv", "mmseg", "mmdet", "mmdet3d", "mmpose", "mmengine", "timm", "detectron2", "fairseq", "apex",
     "pytorch_pretrained_bert", "taming", "ldm", "k_diffusion", "xformers", "lavis", "segment_anything", "open_clip"}
)  # not ``transformers`` or ``diffusers``: projects name their own folders of such models so


def _graded_by_folder(finding: Finding) -> Finding:
    """Findings in an unmaintained folder (``legacy/``, ``deprecated/``) or in a vendored
    copy of another project (``third_party/``, ``annotator/uniformer/mmcv/``) at low
    confidence: true of the code, but nobody here will change it, so ``check`` hides
    them by default. A package at the top level (or under ``src/``) is the project's own:
    ``ldm/`` in a latent-diffusion checkout, ``src/diffusers/`` in diffusers."""
    folders = Path(finding.path).parts[:-1]
    if any(folder.lower() in UNMAINTAINED_FOLDERS | VENDORED_FOLDERS for folder in folders):
        return replace(finding, confidence=Confidence.LOW)
    if _vendored_package(folders):
        return replace(finding, confidence=Confidence.LOW)
    return finding


def _vendored_package(folders: tuple[str, ...]) -> bool:
    """A known package's folder below the project's top level (not directly under ``src/``)."""
    own = 1 if folders[:1] != ("src",) else 2
    return any(folder in VENDORED_PACKAGES for folder in folders[own:])


def sort_key(finding: Finding) -> tuple:
    """Path, then notebook cell, then position: the order every reporter prints."""
    return (finding.path, finding.cell or 0, finding.line, finding.column, finding.code, finding.message)


def _suppress_and_place(path: Path, findings: list[Finding]) -> list[Finding]:
    """Apply inline suppressions; move notebook findings from joined lines to cells."""
    try:
        data = path.read_bytes()
    except OSError:
        return findings
    if path.suffix not in NOTEBOOK_SUFFIXES:
        return apply_suppressions(findings, data.decode("utf-8", errors="replace"))
    try:
        notebook = notebook_source(data)
    except NotebookError:
        return findings
    placed = []
    for finding in apply_suppressions(findings, notebook.text):
        if 0 < finding.line <= len(notebook.cells):
            cell, line = notebook.cells[finding.line - 1]
            finding = replace(finding, line=line, cell=cell)
        placed.append(finding)
    return placed
