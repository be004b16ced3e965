"""Parts of torchvision architectures that code takes apart, built layer by layer.

Style-transfer and GAN code keeps only ``vgg16(...).features`` (sliced at ``[:4]``,
``[4:9]``, ...) as a frozen perceptual loss; published whole-model figures cannot price a
slice, so the convolutional trunk of VGG is built here as torchvision lays it out: 3x3
convolutions with padding 1 and ReLU (batch norm between them in the ``_bn`` variants),
2x2 max pooling between stages. The trunk plus the published classifier adds up to
torchvision's parameter count exactly, which the tests check.
"""

from __future__ import annotations

from typing import Any

from greenlint.analyzer.cost.layers import make
from greenlint.analyzer.cost.values import Layer

POOL = "M"
#: torchvision's layouts: output channels of each convolution, ``M`` for a 2x2 max pool.
VGG_LAYOUTS: dict[str, tuple[Any, ...]] = {
    "vgg11": (64, POOL, 128, POOL, 256, 256, POOL, 512, 512, POOL, 512, 512, POOL),
    "vgg13": (64, 64, POOL, 128, 128, POOL, 256, 256, POOL, 512, 512, POOL, 512, 512, POOL),
    "vgg16": (64, 64, POOL, 128, 128, POOL, 256, 256, 256, POOL, 512, 512, 512, POOL, 512, 512, 512, POOL),
    "vgg19": (64, 64, POOL, 128, 128, POOL, 256, 256, 256, 256, POOL, 512, 512, 512, 512, POOL, 512, 512, 512, 512, POOL),
}


def vgg_features(name: str) -> Layer | None:
    """``vgg16().features`` (or any VGG variant's) as an ``nn.Sequential``; None for others."""
    layout = VGG_LAYOUTS.get(name.removesuffix("_bn"))
    if layout is None:
        return None
    batch_norm = name.endswith("_bn")
    modules: list[Layer] = []
    channels = 3
    for item in layout:
        if item == POOL:
            modules.append(make("MaxPool2d", [], {"kernel_size": 2, "stride": 2}))
            continue
        modules.append(make("Conv2d", [channels, item], {"kernel_size": 3, "padding": 1}))
        if batch_norm:
            modules.append(make("BatchNorm2d", [item], {}))
        modules.append(make("ReLU", [], {"inplace": True}))
        channels = item
    return make("Sequential", modules, {})


#: Attribute name -> builder, for the parts modeled.
PARTS = {"features": vgg_features}


def part(name: str, attribute: str) -> Layer | None:
    """A modeled part (``features``) of the architecture ``name``, freshly built; else None."""
    builder = PARTS.get(attribute)
    return builder(name) if builder is not None else None
