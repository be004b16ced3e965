"""Code copied in from other projects (``third_party/``, a ``mmseg`` package inside an
annotator) is reported at low confidence: true of the code, not the project's to change."""

from __future__ import annotations

from pathlib import Path

from conftest import Write, check
from greenlint.findings import Confidence

TRAINER = '''
    import torch
    import torch.nn.functional as F
    import torchvision
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms


    def train(epochs=90):
        data = datasets.ImageFolder("/datasets/imagenet/train", transforms.ToTensor())
        loader = DataLoader(data, batch_size=256, shuffle=True, num_workers=8)
        model = torchvision.models.resnet50().cuda()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        for epoch in range(epochs):
            for images, labels in loader:
                loss = F.cross_entropy(model(images.cuda()), labels.cuda())
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            torch.save(model.state_dict(), "last.pt")
'''


def _mixed_precision_confidence(tmp_path: Path) -> dict[str, Confidence]:
    return {f.path: f.confidence for f in check(tmp_path).findings if f.code == "GL401"}


def test_a_package_copied_below_the_top_level_is_low_confidence(write: Write, tmp_path: Path) -> None:
    write("annotator/uniformer/mmseg/apis/train.py", TRAINER)
    write("tools/train.py", TRAINER)
    found = _mixed_precision_confidence(tmp_path)
    assert found["annotator/uniformer/mmseg/apis/train.py"] is Confidence.LOW
    assert found["tools/train.py"] is Confidence.MEDIUM


def test_a_third_party_folder_is_low_confidence(write: Write, tmp_path: Path) -> None:
    write("third_party/segformer/train.py", TRAINER)
    assert _mixed_precision_confidence(tmp_path)["third_party/segformer/train.py"] is Confidence.LOW


def test_a_known_package_at_the_top_or_under_src_is_the_projects_own(write: Write, tmp_path: Path) -> None:
    write("ldm/train.py", TRAINER)
    write("src/timm/train.py", TRAINER)
    found = _mixed_precision_confidence(tmp_path)
    assert found == {"ldm/train.py": Confidence.MEDIUM, "src/timm/train.py": Confidence.MEDIUM}


def test_a_folder_of_transformer_models_is_no_copy_of_the_library(write: Write, tmp_path: Path) -> None:
    write("labml/transformers/retro/train.py", TRAINER)
    assert _mixed_precision_confidence(tmp_path)["labml/transformers/retro/train.py"] is Confidence.MEDIUM
