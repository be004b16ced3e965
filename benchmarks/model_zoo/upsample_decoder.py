import torch
import torch.nn as nn
import torch.nn.functional as F


class SegmentationHead(nn.Module):
    def __init__(self, in_channels=3, classes=5):
        super().__init__()
        self.enc1 = nn.Conv2d(in_channels, 32, 3, stride=2, padding=1)
        self.enc2 = nn.Conv2d(32, 64, 3, stride=2, padding=1)
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.dec1 = nn.Conv2d(64, 32, 3, padding=1)
        self.classifier = nn.Conv2d(32, classes, 1)

    def forward(self, x):
        x = F.relu(self.enc1(x))
        x = F.relu(self.enc2(x))
        x = F.relu(self.dec1(self.up(x)))
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        return self.classifier(x)


if __name__ == "__main__":
    model = SegmentationHead()
    print(model(torch.randn(2, 3, 64, 64)).shape)
