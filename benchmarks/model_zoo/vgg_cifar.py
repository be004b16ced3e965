import torch
import torch.nn as nn

CFG = [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, "M"]


class SmallVGG(nn.Module):
    def __init__(self, cfg=CFG, num_classes=10):
        super().__init__()
        layers = []
        channels = 3
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(channels, v, kernel_size=3, padding=1), nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
                channels = v
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(512 * 2 * 2, num_classes)

    def forward(self, x):
        out = self.features(x)
        out = out.view(out.size(0), -1)
        return self.classifier(out)


if __name__ == "__main__":
    model = SmallVGG()
    print(model(torch.randn(128, 3, 32, 32)).shape)
