"""Inline suppressions as flake8, ruff and greenlint users write them."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import Write, check, codes

SCRIPT = '''
import torch
from torch.utils.data import DataLoader

model = torch.nn.Linear(784, 10).cuda()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
loader = DataLoader(train_set, batch_size=256){comment}
for step, (x, y) in enumerate(loader):
    loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
'''


@pytest.mark.parametrize(
    ("comment", "suppressed"),
    [
        ("", False),
        ("  # noqa", True),
        ("  # noqa: GL501", True),
        ("  # noqa: GL401", False),
        ("  # NOQA:GL501,GL401", True),
        ("  # greenlint: ignore[dataloader-no-workers]", True),
        ("  # greenlint: ignore[GL501, host-sync-in-loop]", True),
        ("  # greenlint: ignore[no-mixed-precision]", False),
        ("  # greenlint: ignore", True),
    ],
)
def test_line_directives(write: Write, tmp_path: Path, comment: str, suppressed: bool) -> None:
    write("train.py", SCRIPT.format(comment=comment))
    found = ("train.py", 6, "GL501") in codes(check(tmp_path))
    assert found is not suppressed


def test_ignore_file_silences_the_whole_file(write: Write, tmp_path: Path) -> None:
    write("train.py", "# greenlint: ignore-file\n" + SCRIPT.format(comment=""))
    write("other.py", SCRIPT.format(comment=""))
    assert {c[0] for c in codes(check(tmp_path))} == {"other.py"}


def test_directive_on_another_line_does_not_apply(write: Write, tmp_path: Path) -> None:
    write("train.py", "# noqa: GL501\n" + SCRIPT.format(comment=""))
    assert ("train.py", 8, "GL501") in codes(check(tmp_path))
