"""torchvision's ResNet-50 layout (Bottleneck blocks 3-4-6-3, width 64, 1000 classes),
built from the bottleneck module of this zoo, to check the published table entry."""
import torch

from resnet_bottleneck import ResNetBottleneck


class TorchvisionResNet50(ResNetBottleneck):
    def __init__(self):
        super().__init__(layers=(3, 4, 6, 3), num_classes=1000, width=64)


if __name__ == "__main__":
    model = TorchvisionResNet50()
    print(model(torch.randn(1, 3, 224, 224)).shape)
