import torch
import torch.nn as nn


def conv_bn(inp, oup, stride):
    return nn.Sequential(nn.Conv2d(inp, oup, 3, stride, 1, bias=False), nn.BatchNorm2d(oup), nn.ReLU6(inplace=True))


def conv_dw(inp, oup, stride):
    return nn.Sequential(
        nn.Conv2d(inp, inp, 3, stride, 1, groups=inp, bias=False), nn.BatchNorm2d(inp), nn.ReLU6(inplace=True),
        nn.Conv2d(inp, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup), nn.ReLU6(inplace=True),
    )


class MobileNetV1Lite(nn.Module):
    def __init__(self, num_classes=100):
        super().__init__()
        self.model = nn.Sequential(
            conv_bn(3, 32, 2), conv_dw(32, 64, 1), conv_dw(64, 128, 2), conv_dw(128, 128, 1),
            conv_dw(128, 256, 2), conv_dw(256, 256, 1), conv_dw(256, 512, 2),
            nn.AdaptiveAvgPool2d(1),
        )
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x):
        x = self.model(x)
        x = x.view(-1, 512)
        return self.fc(x)


if __name__ == "__main__":
    model = MobileNetV1Lite()
    print(model(torch.randn(8, 3, 128, 128)).shape)
