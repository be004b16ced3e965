"""Code copied in from other projects (``third_party/``, a ``mmseg`` package inside an
annotator) is reported at low confidence: true of the code, not the project's to change."""

from __future__ import annotations

from pathlib import Path

from conftest import Write, check
from greenlint.findings import Confidence

ATTENTION = '''
    import torch
    import torch.nn as nn


    class Attention(nn.Module):
        def __init__(self, dim, heads=8):
            super().__init__()
            self.heads = heads
            self.scale = (dim // heads) ** -0.5
            self.qkv = nn.Linear(dim, dim * 3)
            self.proj = nn.Linear(dim, dim)

        def forward(self, x):
            b, n, c = x.shape
            q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
            attn = (q @ k.transpose(-2, -1)) * self.scale
            attn = attn.softmax(dim=-1)
            return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))
'''


def _attention_confidence(tmp_path: Path) -> dict[str, Confidence]:
    return {f.path: f.confidence for f in check(tmp_path).findings if f.code == "GL203"}


def test_a_package_copied_below_the_top_level_is_low_confidence(write: Write, tmp_path: Path) -> None:
    write("annotator/uniformer/mmseg/models/backbones/vit.py", ATTENTION)
    write("models/vit.py", ATTENTION)
    found = _attention_confidence(tmp_path)
    assert found["annotator/uniformer/mmseg/models/backbones/vit.py"] is Confidence.LOW
    assert found["models/vit.py"] is not Confidence.LOW


def test_a_third_party_folder_is_low_confidence(write: Write, tmp_path: Path) -> None:
    write("third_party/segformer/attention.py", ATTENTION)
    assert _attention_confidence(tmp_path)["third_party/segformer/attention.py"] is Confidence.LOW


def test_a_known_package_at_the_top_or_under_src_is_the_projects_own(write: Write, tmp_path: Path) -> None:
    write("ldm/modules/attention.py", ATTENTION)
    write("src/timm/layers/attention.py", ATTENTION)
    found = _attention_confidence(tmp_path)
    assert found == {"ldm/modules/attention.py": Confidence.MEDIUM, "src/timm/layers/attention.py": Confidence.MEDIUM}


def test_a_folder_of_transformer_models_is_no_copy_of_the_library(write: Write, tmp_path: Path) -> None:
    write("labml/transformers/retro/model.py", ATTENTION)
    assert _attention_confidence(tmp_path)["labml/transformers/retro/model.py"] is Confidence.MEDIUM
