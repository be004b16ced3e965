"""The 30 green architectural tactics for ML-enabled systems, kept as data.

The tactics come from Järvenpää, Lago, Bogner, Lewis, Muccini, Ozkaya, "A Synthesis of Green
Architectural Tactics for ML-Enabled Systems" (ICSE-SEIS 2024, doi:10.1145/3639475.3640111;
online catalog https://s2group.cs.vu.nl/AwesomeAndDarkTactics/), numbered T1-T30 as in the
paper's Figure 2. The descriptions and review questions are greenlint's own wording.

The catalog is data rather than code because it is reference text that several consumers
share (rules cite tactic ids, ``greenlint tactics`` lists them, the review report is built from
their review questions) and that people other than programmers correct: one YAML file per
tactic can be read, reviewed and cited on its own, and a change to a source or a question
never touches Python. The price of data is that nothing checks it at import time, so
:func:`load_catalog` validates every file and names the file and field at fault.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["CATEGORIES", "Catalog", "CatalogError", "Source", "Tactic", "load_catalog"]

#: The paper's six sub-categories, in the order of its Figure 2 (and of ``by_category``).
CATEGORIES: tuple[str, ...] = (
    "data-centric",
    "algorithm-design",
    "model-optimization",
    "model-training",
    "deployment",
    "management",
)
TACTIC_COUNT = 30
CATALOG_DIR = Path(__file__).with_name("catalog")

_FILE_RE = re.compile(r"^T(\d{2})-([a-z0-9]+(?:-[a-z0-9]+)*)\.yaml$")
_ID_RE = re.compile(r"^T([1-9]\d*)$")
_RULE_RE = re.compile(r"^GL[1-6]\d\d$")
_DOI_RE = re.compile(r"^10\.\d{4,9}/\S+$")
_URL_RE = re.compile(r"^https?://\S+$")

_STRING_FIELDS = ("id", "name", "slug", "category", "description", "quality_attribute")
_LIST_FIELDS = ("related_attributes", "sources", "rules", "applied_when", "review_questions")
_FIELDS = _STRING_FIELDS + _LIST_FIELDS

# The C loader parses the 30 files several times faster; PyYAML built without libyaml lacks it.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CatalogError(ValueError):
    """The catalog on disk is malformed. The message names the file and the field at fault,
    because the person who has to fix it is editing YAML, not reading a traceback."""


@dataclass(frozen=True)
class Source:
    """A publication or page backing a tactic; ``link`` is a resolvable URL (DOIs as https://doi.org/...)."""

    citation: str
    link: str


@dataclass(frozen=True)
class Tactic:
    """One tactic. Frozen, with tuples for sequences, so that a catalog handed to rules and
    reporters cannot be changed by one of them behind the others' backs."""

    id: str
    name: str
    slug: str
    category: str
    description: str
    quality_attribute: str
    related_attributes: tuple[str, ...]
    sources: tuple[Source, ...]
    rules: tuple[str, ...]
    applied_when: tuple[str, ...]
    review_questions: tuple[str, ...]

    @property
    def number(self) -> int:
        """The paper's number, for ordering: T2 sorts before T10."""
        return int(self.id[1:])


class Catalog:
    """The tactics in the paper's numeric order, looked up by id."""

    def __init__(self, tactics: Iterable[Tactic]) -> None:
        self._tactics: tuple[Tactic, ...] = tuple(sorted(tactics, key=lambda t: t.number))
        self._by_id: dict[str, Tactic] = {t.id: t for t in self._tactics}

    def get(self, tactic_id: str) -> Tactic:
        """The tactic with this id. ``t19`` and ``T19`` (and file-style ``T05``) all work,
        since ids arrive from command lines and config files as well as from rules."""
        tactic = self._by_id.get(_normalise_id(tactic_id))
        if tactic is None:
            known = f"{self._tactics[0].id}..{self._tactics[-1].id}" if self._tactics else "none"
            raise KeyError(f"unknown tactic {tactic_id!r}; the catalog holds {known}")
        return tactic

    def __contains__(self, tactic_id: object) -> bool:
        return isinstance(tactic_id, str) and _normalise_id(tactic_id) in self._by_id

    def __iter__(self) -> Iterator[Tactic]:
        return iter(self._tactics)

    def __len__(self) -> int:
        return len(self._tactics)

    def ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self._tactics)

    def by_category(self) -> dict[str, list[Tactic]]:
        """Tactics grouped under every category in ``CATEGORIES`` order, the order in which the
        paper and the review report present them; a category with no tactic maps to ``[]``."""
        groups: dict[str, list[Tactic]] = {category: [] for category in CATEGORIES}
        for tactic in self._tactics:
            groups[tactic.category].append(tactic)
        return groups


def load_catalog(directory: Path | None = None) -> Catalog:
    """Read and validate every ``*.yaml`` file in ``directory`` (the shipped catalog by default).

    Nothing is cached here: the caller keeps the returned :class:`Catalog`, so tests and tools
    that load an edited copy always see what is on disk.

    Raises :class:`CatalogError` on any problem: an unreadable or invalid file, a missing or
    mistyped field, an unknown category, a malformed rule code or source, or a set of ids that
    is not exactly T1..T30 once each.
    """
    directory = CATALOG_DIR if directory is None else Path(directory)
    if not directory.is_dir():
        raise CatalogError(f"{directory}: tactic catalog directory not found")
    tactics: list[Tactic] = []
    seen: dict[str, Path] = {}
    for path in sorted(directory.glob("*.yaml")):
        tactic = _load_file(path)
        if tactic.id in seen:
            raise CatalogError(f"{path}: id: {tactic.id} is already defined in {seen[tactic.id]}")
        seen[tactic.id] = path
        tactics.append(tactic)
    expected = [f"T{n}" for n in range(1, TACTIC_COUNT + 1)]
    missing = [tactic_id for tactic_id in expected if tactic_id not in seen]
    extra = sorted((tid for tid in seen if tid not in expected), key=lambda tid: int(tid[1:]))
    if missing or extra:
        problems = []
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        if extra:
            problems.append(f"unexpected {', '.join(f'{tid} ({seen[tid].name})' for tid in extra)}")
        raise CatalogError(f"{directory}: the catalog must hold T1..T{TACTIC_COUNT} once each: {'; '.join(problems)}")
    return Catalog(tactics)


def _normalise_id(tactic_id: str) -> str:
    match = re.fullmatch(r"[Tt]0*(\d+)", tactic_id.strip())
    return f"T{match.group(1)}" if match else tactic_id


def _load_file(path: Path) -> Tactic:
    """Parse and check one tactic file; every error names ``path`` and, where there is one, the field."""
    name_match = _FILE_RE.match(path.name)
    if name_match is None:
        raise CatalogError(f"{path}: file name must be T<two-digit number>-<kebab-case slug>.yaml")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except (OSError, UnicodeDecodeError) as error:
        raise CatalogError(f"{path}: cannot be read: {error}") from None
    except yaml.YAMLError as error:
        raise CatalogError(f"{path}: invalid YAML: {_yaml_problem(error)}") from None
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: expected a mapping of fields, found {type(data).__name__}")

    unknown = sorted(str(key) for key in data if key not in _FIELDS)
    if unknown:
        raise CatalogError(f"{path}: {unknown[0]}: unknown field (known: {', '.join(_FIELDS)})")
    for field in _FIELDS:
        if field not in data:
            raise CatalogError(f"{path}: {field}: required field is missing")
    strings = {field: _string(path, field, data[field]) for field in _STRING_FIELDS}

    tactic_id = strings["id"]
    id_match = _ID_RE.match(tactic_id)
    if id_match is None:
        raise CatalogError(f"{path}: id: {tactic_id!r} is not of the form T<number>")
    if int(id_match.group(1)) != int(name_match.group(1)):
        raise CatalogError(f"{path}: id: {tactic_id} does not match the number in the file name")
    if strings["slug"] != name_match.group(2):
        raise CatalogError(f"{path}: slug: {strings['slug']!r} does not match the file name")
    if strings["category"] not in CATEGORIES:
        raise CatalogError(
            f"{path}: category: {strings['category']!r} is not one of {', '.join(CATEGORIES)}"
        )

    rules = _strings(path, "rules", data["rules"], allow_empty=True)
    for code in rules:
        if not _RULE_RE.match(code):
            raise CatalogError(f"{path}: rules: {code!r} is not a rule code GL<category 1-6><nn>")
    if len(set(rules)) != len(rules):
        raise CatalogError(f"{path}: rules: a rule code is listed twice")

    return Tactic(
        id=tactic_id,
        name=strings["name"],
        slug=strings["slug"],
        category=strings["category"],
        description=strings["description"],
        quality_attribute=strings["quality_attribute"],
        related_attributes=_strings(path, "related_attributes", data["related_attributes"], allow_empty=True),
        sources=_sources(path, data["sources"]),
        rules=rules,
        applied_when=_strings(path, "applied_when", data["applied_when"], allow_empty=True),
        review_questions=_strings(path, "review_questions", data["review_questions"], allow_empty=False),
    )


def _string(path: Path, field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise CatalogError(f"{path}: {field}: expected text, found {type(value).__name__}")
    if not value.strip():
        raise CatalogError(f"{path}: {field}: must not be empty")
    return value.strip()


def _strings(path: Path, field: str, value: Any, *, allow_empty: bool) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise CatalogError(f"{path}: {field}: expected a list, found {type(value).__name__}")
    if not value and not allow_empty:
        raise CatalogError(f"{path}: {field}: needs at least one entry")
    return tuple(_string(path, f"{field}[{index}]", item) for index, item in enumerate(value))


def _sources(path: Path, value: Any) -> tuple[Source, ...]:
    """Each source has a citation and exactly one of ``doi`` or ``url``; a DOI becomes a doi.org link
    so that every consumer can print ``link`` without knowing which kind it was."""
    if not isinstance(value, list):
        raise CatalogError(f"{path}: sources: expected a list, found {type(value).__name__}")
    if not value:
        raise CatalogError(f"{path}: sources: needs at least one source")
    sources = []
    for index, entry in enumerate(value):
        field = f"sources[{index}]"
        if not isinstance(entry, dict):
            raise CatalogError(f"{path}: {field}: expected a mapping with citation and doi or url")
        unknown = sorted(str(key) for key in entry if key not in ("citation", "doi", "url"))
        if unknown:
            raise CatalogError(f"{path}: {field}.{unknown[0]}: unknown field (known: citation, doi, url)")
        if "citation" not in entry:
            raise CatalogError(f"{path}: {field}.citation: required field is missing")
        citation = _string(path, f"{field}.citation", entry["citation"])
        if ("doi" in entry) == ("url" in entry):
            raise CatalogError(f"{path}: {field}: give exactly one of doi or url")
        if "doi" in entry:
            doi = _string(path, f"{field}.doi", entry["doi"])
            if not _DOI_RE.match(doi):
                raise CatalogError(f"{path}: {field}.doi: {doi!r} is not a DOI such as 10.1145/3639475.3640111")
            link = f"https://doi.org/{doi}"
        else:
            link = _string(path, f"{field}.url", entry["url"])
            if not _URL_RE.match(link):
                raise CatalogError(f"{path}: {field}.url: {link!r} is not an http(s) URL")
        sources.append(Source(citation=citation, link=link))
    return tuple(sources)


def _yaml_problem(error: yaml.YAMLError) -> str:
    """PyYAML's message reduced to the problem and its line, without the multi-line context dump."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else problem
