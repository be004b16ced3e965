"""``[tool.greenlint]`` settings: where they are found, what they may say, and their errors.

Configuration mistakes must never pass silently (a misspelt ``ignore`` key would turn a
rule back on in CI without anyone noticing), so unknown keys and unknown rule selectors
are errors that name the closest valid spelling.
"""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greenlint.findings import Confidence, Severity

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

FAIL_ON = ("error", "warning", "info", "never")
KEYS = (
    "select", "extend-select", "ignore", "per-file-ignores", "exclude", "extend-exclude",
    "fail-on", "min-confidence", "severity", "respect-gitignore", "budget", "energy", "models",
)
CONFIDENCE_LEVELS = ("high", "medium", "low")
#: Sub-tables read by the cost model; validated by their own readers.
TABLES = ("budget", "energy", "models")
PROJECT_MARKERS = ("pyproject.toml", ".git", "setup.py", "setup.cfg")
#: Test suites run models for seconds to check behaviour, not to train them, so their
#: loops are no energy concern. ``exclude`` replaces this list; ``extend-exclude`` adds.
DEFAULT_EXCLUDE = ("tests/", "test/", "testing/", "test_utils/", "test_*.py", "*_test.py", "conftest.py")


class ConfigError(Exception):
    """A configuration problem, reported as one line and exit code 2."""


@dataclass
class Settings:
    """Resolved settings of one run: config file values, then command-line overrides."""

    root: Path
    source: Path | None = None
    select: list[str] | None = None
    extend_select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    exclude: list[str] = field(default_factory=lambda: list(DEFAULT_EXCLUDE))
    extend_exclude: list[str] = field(default_factory=list)
    fail_on: str = "warning"
    #: Findings less sure than this are counted but not reported.
    min_confidence: Confidence = Confidence.MEDIUM
    severity: dict[str, Severity] = field(default_factory=dict)
    respect_gitignore: bool = True
    #: Raw ``[tool.greenlint.budget]``, ``.energy`` and ``.models`` tables.
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)


def closest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """A ``did you mean`` hint, or an empty string when nothing is close."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return f" (did you mean '{match[0]}'?)" if match else ""


def find_config(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above ``start`` with a ``[tool.greenlint]`` table."""
    directory = start if start.is_dir() else start.parent
    for candidate in (directory, *directory.parents):
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file():
            try:
                data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as error:
                raise ConfigError(f"{pyproject}: invalid TOML: {error}") from None
            except (OSError, UnicodeDecodeError):
                continue
            if "greenlint" in data.get("tool", {}):
                return pyproject
    return None


def find_root(start: Path) -> Path:
    """The project root: the nearest directory with a project marker, else ``start`` itself."""
    directory = start if start.is_dir() else start.parent
    for candidate in (directory, *directory.parents):
        if any((candidate / marker).exists() for marker in PROJECT_MARKERS):
            return candidate
    return directory


def load_settings(start: Path, config_file: Path | None = None) -> Settings:
    """Settings for a run over paths at or below ``start``."""
    start = start.resolve()
    if config_file is not None:
        path = config_file.resolve()
        if not path.is_file():
            raise ConfigError(f"config file not found: {config_file}")
        table = _read_table(path, required=False)
        return _settings_from(table, path.parent, path)
    found = find_config(start)
    if found is None:
        return Settings(root=find_root(start))
    return _settings_from(_read_table(found, required=True), found.parent, found)


def _read_table(path: Path, required: bool) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read: {error}") from None
    table = data.get("tool", {}).get("greenlint")
    if table is None:
        # A dedicated greenlint.toml may hold the keys at the top level.
        table = {} if path.name == "pyproject.toml" else data
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.greenlint] must be a table")
    return table


def _settings_from(table: dict[str, Any], root: Path, source: Path) -> Settings:
    settings = Settings(root=root, source=source)
    for key, value in table.items():
        if key not in KEYS:
            raise ConfigError(f"{source}: unknown key '{key}' in [tool.greenlint]{closest(key, KEYS)}")
        _apply(settings, key, value, source)
    return settings


def _string_list(key: str, value: Any, source: Path) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{source}: '{key}' must be a list of strings")
    return list(value)


def _apply(settings: Settings, key: str, value: Any, source: Path) -> None:
    if key == "select":
        settings.select = _string_list(key, value, source)
    elif key == "extend-select":
        settings.extend_select = _string_list(key, value, source)
    elif key == "ignore":
        settings.ignore = _string_list(key, value, source)
    elif key == "exclude":
        settings.exclude = _string_list(key, value, source)
    elif key == "extend-exclude":
        settings.extend_exclude = _string_list(key, value, source)
    elif key == "per-file-ignores":
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: 'per-file-ignores' must be a table of glob = [rules]")
        settings.per_file_ignores = {glob: _string_list(f"per-file-ignores.{glob}", v, source) for glob, v in value.items()}
    elif key == "fail-on":
        settings.fail_on = check_fail_on(value, str(source))
    elif key == "min-confidence":
        settings.min_confidence = check_confidence(value, str(source))
    elif key == "severity":
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: 'severity' must be a table of rule = \"error|warning|info\"")
        levels = [s.value for s in Severity]
        for rule, level in value.items():
            if level not in levels:
                raise ConfigError(f"{source}: severity of '{rule}' must be one of {', '.join(levels)}{closest(str(level), levels)}")
            settings.severity[rule] = Severity(level)
    elif key in TABLES:
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: [tool.greenlint.{key}] must be a table")
        settings.tables[key] = value
    elif key == "respect-gitignore":
        if not isinstance(value, bool):
            raise ConfigError(f"{source}: 'respect-gitignore' must be true or false")
        settings.respect_gitignore = value


def check_confidence(value: Any, where: str) -> Confidence:
    if value not in CONFIDENCE_LEVELS:
        raise ConfigError(
            f"{where}: min-confidence must be one of {', '.join(CONFIDENCE_LEVELS)}{closest(str(value), CONFIDENCE_LEVELS)}")
    return Confidence(value)


def check_fail_on(value: Any, where: str) -> str:
    if value not in FAIL_ON:
        raise ConfigError(f"{where}: fail-on must be one of {', '.join(FAIL_ON)}{closest(str(value), FAIL_ON)}")
    return str(value)
