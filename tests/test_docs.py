"""Docs stay true: the README's rule table, and every rule's documentation."""

from __future__ import annotations

from pathlib import Path

import pytest

from greenlint.docs import END, START, rule_table
from greenlint.rules import all_rules

README = Path(__file__).parents[1] / "README.md"


def test_readme_rule_table_matches_the_rules() -> None:
    text = README.read_text(encoding="utf-8")
    committed = text.split(START, 1)[1].split(END, 1)[0].strip()
    assert committed == rule_table(), "run: python -m greenlint.docs README.md"


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.code)
def test_rule_metadata_and_documentation_are_complete(rule) -> None:
    assert rule.validate() == []
    assert rule.summary and not rule.summary.endswith(".")


def test_codes_and_names_are_unique() -> None:
    rules = all_rules()
    assert len({r.code for r in rules}) == len(rules)
    assert len({r.name for r in rules}) == len(rules)


def test_readme_documents_every_command() -> None:
    text = README.read_text(encoding="utf-8")
    for command in ("greenlint check", "greenlint rules", "greenlint explain", "greenlint tactics", "greenlint graph",
                    "greenlint estimate", "greenlint profile"):
        assert command in text


def test_readme_configuration_example_is_valid(tmp_path: Path) -> None:
    """Every key the README's configuration example shows is one greenlint accepts."""
    from greenlint.analyzer.cost.energy import assumptions
    from greenlint.analyzer.cost.settings import budget, model_settings
    from greenlint.config import load_settings

    text = README.read_text(encoding="utf-8").split("## Configuration", 1)[1]
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "pyproject.toml").write_text(example, encoding="utf-8")
    settings = load_settings(tmp_path)
    assert settings.ignore and settings.per_file_ignores
    chosen = assumptions(settings.tables.get("energy"))
    assert chosen.device.name == "H100-SXM5" and chosen.grid.name == "FRA"
    assert model_settings(settings.tables.get("models"))["Net"].input_shape == (3, 224, 224)
    assert budget(settings.tables.get("budget")).max_params == 50_000_000
