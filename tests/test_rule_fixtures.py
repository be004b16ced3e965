"""Every rule against its annotated fixture projects under tests/fixtures/<rule-name>/.

Each case directory is a small, realistic ML project. A trailing ``# expect: GL401``
comment marks each line where a finding must be anchored; a case named ``neg_*`` must
produce none. The annotations were written from the rule specifications, so this test
checks the implementation against an independent oracle, line by line.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from greenlint.rules import all_rules
from greenlint.selection import rule_named

from conftest import check

FIXTURES = Path(__file__).parent / "fixtures"
EXPECT = re.compile(r"#\s*expect:\s*(GL\d{3}(?:\s*,\s*GL\d{3})*)")
SUFFIXES = (".py", ".yaml", ".yml")


def _cases() -> list[Path]:
    return sorted(case for rule_dir in FIXTURES.iterdir() if rule_dir.is_dir()
                  for case in rule_dir.iterdir() if case.is_dir())


def _expected(case: Path, code: str) -> set[tuple[str, int, str]]:
    expected = set()
    for path in sorted(case.rglob("*")):
        if path.suffix not in SUFFIXES:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = EXPECT.search(line)
            if match:
                for expected_code in re.split(r"\s*,\s*", match.group(1)):
                    if expected_code == code:
                        expected.add((path.relative_to(case).as_posix(), number, code))
    return expected


@pytest.mark.parametrize("case", _cases(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture_case(case: Path) -> None:
    rule = rule_named(all_rules(), case.parent.name)
    expected = _expected(case, rule.code)
    if case.name.startswith("neg_"):
        assert not expected, "a negative case must not expect findings"
    else:
        assert expected, "a positive case must expect at least one finding"
    result = check(case, rules=(rule,))
    assert not result.diagnostics
    actual = {(f.path, f.line, f.code) for f in result.findings}
    assert actual == expected, "\n".join(f"{f.path}:{f.line} {f.message}" for f in result.findings)


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.name)
def test_every_rule_has_positive_and_negative_fixtures(rule) -> None:
    cases = [p.name for p in (FIXTURES / rule.name).iterdir() if p.is_dir()]
    assert any(name.startswith("pos_") for name in cases)
    assert any(name.startswith("neg_") for name in cases)
