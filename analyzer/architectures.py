"""Published sizes of well-known architectures, and their lighter siblings.

Numbers are the publishers' own: torchvision's table of classification weights
(parameters and GFLOPS, where one GFLOP is 10^9 multiply-adds at 224x224 unless noted),
and the Hugging Face model cards (parameters). Rules quote them in messages; the cost
model may refine them with measured counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TORCHVISION = "torchvision documentation, table of classification weights (Params, GFLOPS = 10^9 MACs)"
HF_CARDS = "Hugging Face model cards"


@dataclass(frozen=True, slots=True)
class Architecture:
    """One published architecture: parameters in millions, GMACs per sample where published."""

    name: str
    params_m: float
    gmacs: float | None
    input: str
    source: str
    lighter: str | None = None

    def describe(self) -> str:
        compute = f", {self.gmacs:g} GMACs per {self.input}" if self.gmacs is not None else ""
        return f"{self.name} has {self.params_m:g} M parameters{compute}"


def _vision(name: str, params: float, gmacs: float, lighter: str | None = None, size: str = "224x224 image") -> Architecture:
    return Architecture(name, params, gmacs, size, TORCHVISION, lighter)


def _text(name: str, params: float, lighter: str | None = None) -> Architecture:
    return Architecture(name, params, None, "token", HF_CARDS, lighter)


_TABLE = [
    _vision("resnet18", 11.7, 1.81), _vision("resnet34", 21.8, 3.66), _vision("resnet50", 25.6, 4.09),
    _vision("resnet101", 44.5, 7.80, "resnet50"), _vision("resnet152", 60.2, 11.51, "resnet50"),
    _vision("wide_resnet50_2", 68.9, 11.40, "resnet50"), _vision("wide_resnet101_2", 126.9, 22.75, "resnet50"),
    _vision("vgg11", 132.9, 7.61, "resnet50"), _vision("vgg13", 133.0, 11.31, "resnet50"),
    _vision("vgg16", 138.4, 15.47, "resnet50"), _vision("vgg19", 143.7, 19.63, "resnet50"),
    _vision("vgg16_bn", 138.4, 15.47, "resnet50"), _vision("vgg19_bn", 143.7, 19.63, "resnet50"),
    _vision("vit_b_16", 86.6, 17.56), _vision("vit_b_32", 88.2, 4.41),
    _vision("vit_l_16", 304.3, 61.55, "vit_b_16"), _vision("vit_l_32", 306.5, 15.38, "vit_b_32"),
    _vision("vit_h_14", 632.0, 167.29, "vit_b_16"),
    _vision("convnext_tiny", 28.6, 4.46), _vision("convnext_base", 88.6, 15.36),
    _vision("convnext_large", 197.8, 34.36, "convnext_base"),
    _vision("efficientnet_b0", 5.3, 0.39), _vision("mobilenet_v3_large", 5.5, 0.22),
    _vision("densenet121", 8.0, 2.83), _vision("swin_t", 28.3, 4.49), _vision("swin_b", 87.8, 15.43),
    _text("bert-base-uncased", 110), _text("bert-base-cased", 109),
    _text("bert-large-uncased", 336, "bert-base-uncased"), _text("bert-large-cased", 335, "bert-base-cased"),
    _text("roberta-base", 125), _text("roberta-large", 355, "roberta-base"),
    _text("gpt2", 124), _text("gpt2-medium", 355), _text("gpt2-large", 774, "gpt2-medium"),
    _text("gpt2-xl", 1558, "gpt2-medium"),
    _text("t5-small", 60), _text("t5-base", 223), _text("t5-large", 738, "t5-base"),
    _text("t5-3b", 2850, "t5-base"), _text("t5-11b", 11300, "t5-base"),
]
KNOWN: dict[str, Architecture] = {a.name: a for a in _TABLE}

#: timm spellings of the same models.
TIMM_ALIASES = {
    "vit_large_patch16_224": "vit_l_16", "vit_large_patch32_224": "vit_l_32", "vit_huge_patch14_224": "vit_h_14",
    "vit_base_patch16_224": "vit_b_16", "vit_base_patch32_224": "vit_b_32", "convnext_large": "convnext_large",
}

#: torchvision and timm constructors that publish pretrained weights (prefixes).
VISION_FAMILIES = re.compile(
    r"^(resnet\d+|resnext\d+_\w+|wide_resnet\d+_2|vgg\d+(_bn)?|vit_[bhl]_\d+|convnext_\w+|efficientnet_\w+|"
    r"mobilenet_v\d(_\w+)?|densenet\d+|regnet_\w+|swin_\w+|squeezenet\d_\d|shufflenet_v2_\w+|mnasnet\d_\d+|"
    r"alexnet|googlenet|inception_v3|maxvit_t)$"
)


#: ``from_pretrained`` receivers that load something other than a model.
NOT_MODELS = ("Tokenizer", "TokenizerFast", "Processor", "Config", "FeatureExtractor", "ImageProcessor")


def lookup(name: str) -> Architecture | None:
    """The architecture a torchvision, timm or Hugging Face name refers to."""
    key = name.strip().rsplit("/", 1)[-1].lower()
    key = TIMM_ALIASES.get(key, key)
    return KNOWN.get(key)
