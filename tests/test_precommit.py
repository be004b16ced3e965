"""The pre-commit hook, through the real pre-commit, on a throwaway repository.

pre-commit builds the hook's own environment from this checkout (pip installs greenlint
and its dependencies from the package index), so this test takes tens of seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]
BAD = textwrap.dedent('''
    import torch
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms


    def train(model, steps=200_000):
        dataset = datasets.ImageFolder("/datasets/imagenet/train", transforms.ToTensor())
        loader = DataLoader(dataset, batch_size=64, shuffle=True, num_workers=4)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
        model.cuda()
        batches = iter(loader)
        for step in range(steps):
            x, y = next(batches)
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    ''')
FIXED = BAD + "        torch.save({'model': model.state_dict(), 'step': step}, 'checkpoint.pt')\n"


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.skipif(shutil.which("git") is None, reason="pre-commit needs git")
def test_hook_fails_on_a_wasteful_training_loop_and_passes_once_fixed(tmp_path: Path) -> None:
    repo = tmp_path / "project"
    repo.mkdir()
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "GIT_AUTHOR_NAME": "t",
           "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    (repo / "pyproject.toml").write_text("[tool.greenlint]\nignore = ['GL601']\n")
    (repo / "train.py").write_text(BAD)
    assert _run(["git", "init", "-q"], repo, env).returncode == 0
    assert _run(["git", "add", "."], repo, env).returncode == 0
    try_repo = [sys.executable, "-m", "pre_commit", "try-repo", str(CHECKOUT), "greenlint", "--all-files", "--color", "never"]

    failed = _run(try_repo, repo, env)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "GL402" in failed.stdout and "missing-checkpoint" in failed.stdout

    (repo / "train.py").write_text(FIXED)
    assert _run(["git", "add", "."], repo, env).returncode == 0
    passed = _run(try_repo, repo, env)
    assert passed.returncode == 0, passed.stdout + passed.stderr
