"""torchvision architectures that code takes apart, built layer by layer.

Style-transfer and GAN code keeps only ``vgg16(...).features`` (sliced at ``[:4]``,
``[4:9]``, ...) as a frozen perceptual loss, and Siamese or metric-learning code swaps a
ResNet's first convolution and drops its classifier with ``list(resnet.children())[:-1]``.
Published whole-model figures cannot price either, so inside a project's model the VGG
and ResNet families are built as torchvision lays them out (VGG: 3x3 convolutions with
padding 1 and ReLU, batch norm between them in the ``_bn`` variants, 2x2 max pooling
between stages, a three-layer classifier; ResNet: the 7x7 stem, basic or bottleneck
blocks with the stride on the 3x3 convolution, 1x1 projection shortcuts). Every variant
adds up to torchvision's published parameter count exactly, which the tests check.
"""

from __future__ import annotations

from typing import Any

from greenlint.analyzer.cost.layers import Runtime, custom_spec, make
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


def _vgg_forward(rt: Runtime, layer: Layer, args: list[Any], kwargs: dict[str, Any]) -> Any:
    x = rt.call(layer.children["features"], [args[0] if args else kwargs.get("x")], {})
    x = rt.call(layer.children["avgpool"], [x], {})
    x = rt.call(_FLATTEN, [x], {})
    return rt.call(layer.children["classifier"], [x], {})


def vgg(name: str, num_classes: int) -> Layer | None:
    """A whole VGG: ``features``, a 7x7 adaptive average pool, the three-layer classifier."""
    features = vgg_features(name)
    if features is None:
        return None
    classifier = make("Sequential", [
        make("Linear", [512 * 7 * 7, 4096], {}), make("ReLU", [], {"inplace": True}), make("Dropout", [], {}),
        make("Linear", [4096, 4096], {}), make("ReLU", [], {"inplace": True}), make("Dropout", [], {}),
        make("Linear", [4096, num_classes], {}),
    ], {})
    children = {"features": features, "avgpool": make("AdaptiveAvgPool2d", [(7, 7)], {}), "classifier": classifier}
    return Layer(custom_spec("VGG", _vgg_forward), {"name": name}, {}, children)


_FLATTEN = make("Flatten", [], {})
#: depth -> (bottleneck blocks?, blocks per stage); ResNeXt and wide variants change the width.
RESNET_DEPTHS = {18: (False, (2, 2, 2, 2)), 34: (False, (3, 4, 6, 3)), 50: (True, (3, 4, 6, 3)),
                 101: (True, (3, 4, 23, 3)), 152: (True, (3, 8, 36, 3))}
#: name -> (depth, groups, width per group)
RESNETS = {
    "resnet18": (18, 1, 64), "resnet34": (34, 1, 64), "resnet50": (50, 1, 64), "resnet101": (101, 1, 64),
    "resnet152": (152, 1, 64), "wide_resnet50_2": (50, 1, 128), "wide_resnet101_2": (101, 1, 128),
    "resnext50_32x4d": (50, 32, 4), "resnext101_32x8d": (101, 32, 8),
}


def _block_forward(rt: Runtime, layer: Layer, args: list[Any], kwargs: dict[str, Any]) -> Any:
    x = args[0] if args else kwargs.get("x")
    c = layer.children
    out = rt.call(c["relu"], [rt.call(c["bn1"], [rt.call(c["conv1"], [x], {})], {})], {})
    out = rt.call(c["bn2"], [rt.call(c["conv2"], [out], {})], {})
    if "conv3" in c:
        out = rt.call(c["bn3"], [rt.call(c["conv3"], [rt.call(c["relu"], [out], {})], {})], {})
    if "downsample" in c:
        x = rt.call(c["downsample"], [x], {})
    if getattr(out, "shape", None) != getattr(x, "shape", None):
        from greenlint.analyzer.cost.values import EvalError

        raise EvalError(f"a residual block adds shapes {getattr(out, 'shape', out)} and {getattr(x, 'shape', x)}")
    return rt.call(c["relu"], [out], {})


def _block(inplanes: int, planes: int, stride: int, bottleneck: bool, groups: int, width: int) -> tuple[Layer, int]:
    """One BasicBlock or Bottleneck, in torchvision's registration order; its output channels."""
    expansion = 4 if bottleneck else 1
    relu = make("ReLU", [], {"inplace": True})
    if bottleneck:
        inner = int(planes * (width / 64.0)) * groups
        children = {
            "conv1": make("Conv2d", [inplanes, inner, 1], {"bias": False}), "bn1": make("BatchNorm2d", [inner], {}),
            "conv2": make("Conv2d", [inner, inner, 3], {"stride": stride, "padding": 1, "groups": groups, "bias": False}),
            "bn2": make("BatchNorm2d", [inner], {}),
            "conv3": make("Conv2d", [inner, planes * expansion, 1], {"bias": False}),
            "bn3": make("BatchNorm2d", [planes * expansion], {}), "relu": relu,
        }
    else:
        children = {
            "conv1": make("Conv2d", [inplanes, planes, 3], {"stride": stride, "padding": 1, "bias": False}),
            "bn1": make("BatchNorm2d", [planes], {}), "relu": relu,
            "conv2": make("Conv2d", [planes, planes, 3], {"padding": 1, "bias": False}), "bn2": make("BatchNorm2d", [planes], {}),
        }
    if stride != 1 or inplanes != planes * expansion:
        children["downsample"] = make("Sequential", [
            make("Conv2d", [inplanes, planes * expansion, 1], {"stride": stride, "bias": False}),
            make("BatchNorm2d", [planes * expansion], {}),
        ], {})
    name = "Bottleneck" if bottleneck else "BasicBlock"
    return Layer(custom_spec(name, _block_forward), {}, {}, children), planes * expansion


def _resnet_forward(rt: Runtime, layer: Layer, args: list[Any], kwargs: dict[str, Any]) -> Any:
    x = args[0] if args else kwargs.get("x")
    for name, child in layer.children.items():
        if name == "fc":
            x = rt.call(_FLATTEN, [x], {})
        x = rt.call(child, [x], {})
    return x


def resnet(name: str, num_classes: int) -> Layer | None:
    """A whole ResNet, ResNeXt or wide ResNet as torchvision builds it."""
    spec = RESNETS.get(name)
    if spec is None:
        return None
    depth, groups, width = spec
    bottleneck, counts = RESNET_DEPTHS[depth]
    children: dict[str, Any] = {
        "conv1": make("Conv2d", [3, 64, 7], {"stride": 2, "padding": 3, "bias": False}), "bn1": make("BatchNorm2d", [64], {}),
        "relu": make("ReLU", [], {"inplace": True}), "maxpool": make("MaxPool2d", [3], {"stride": 2, "padding": 1}),
    }
    inplanes = 64
    for stage, (planes, count) in enumerate(zip((64, 128, 256, 512), counts), start=1):
        blocks = []
        for i in range(count):
            block, inplanes = _block(inplanes, planes, 2 if i == 0 and stage > 1 else 1, bottleneck, groups, width)
            blocks.append(block)
        children[f"layer{stage}"] = make("Sequential", blocks, {})
    children["avgpool"] = make("AdaptiveAvgPool2d", [(1, 1)], {})
    children["fc"] = make("Linear", [inplanes, num_classes], {})
    return Layer(custom_spec("ResNet", _resnet_forward), {"name": name}, {}, children)


def whole(name: str, num_classes: int) -> Layer | None:
    """A torchvision model built layer by layer, when its family is modeled; else None."""
    return resnet(name, num_classes) or vgg(name, num_classes)


#: Attribute name -> builder, for the parts modeled.
PARTS = {"features": vgg_features}


def part(name: str, attribute: str) -> Layer | None:
    """A modeled part (``features``) of the architecture ``name``, freshly built; else None."""
    builder = PARTS.get(attribute)
    return builder(name) if builder is not None else None
