"""GL302 model-over-budget against its annotated fixture projects, instantiated directly.

The shared fixture harness (``test_rule_fixtures``) runs the annotated cases in
``tests/fixtures/model-over-budget``; these tests check what it cannot: the wording of a
message and configuration errors.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import check
from greenlint.config import ConfigError
from greenlint.rules.model_over_budget import ModelOverBudget

FIXTURES = Path(__file__).parent / "fixtures" / "model-over-budget"


def test_metadata_and_documentation_are_complete():
    assert ModelOverBudget.validate() == []
    rule = ModelOverBudget()
    assert rule.code == "GL302" and rule.category == "model-optimization" and rule.tactics == ("T12", "T8")


def test_messages_quote_the_estimate_and_the_limit():
    result = check(FIXTURES / "pos_gpt_config_over_params", rules=(ModelOverBudget(),))
    (finding,) = result.findings
    assert "max-params 100 M" in finding.message and "parameters" in finding.message


def test_a_misspelt_budget_key_is_an_error(write, tmp_path):
    write("pyproject.toml", "[tool.greenlint.budget]\nmax-param = 10\n")
    write("train.py", "import torch\n")
    with pytest.raises(ConfigError, match="did you mean 'max-params'"):
        check(tmp_path, rules=(ModelOverBudget(),))
