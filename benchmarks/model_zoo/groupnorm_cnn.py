import torch
import torch.nn as nn


class StyleNet(nn.Module):
    def __init__(self, channels=32, groups=8):
        super().__init__()
        self.stem = nn.Conv2d(3, channels, 9, padding=4)
        self.norm1 = nn.InstanceNorm2d(channels, affine=True)
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels * 2, 3, stride=2, padding=1),
            nn.GroupNorm(groups, channels * 2),
            nn.SiLU(),
            nn.Conv2d(channels * 2, channels * 2, 3, padding=1),
            nn.GroupNorm(groups, channels * 2, affine=False),
            nn.SiLU(),
        )
        self.norm2 = nn.InstanceNorm2d(channels * 2)
        self.head = nn.Conv2d(channels * 2, 3, 1)

    def forward(self, x):
        x = torch.relu(self.norm1(self.stem(x)))
        x = self.norm2(self.body(x))
        return self.head(x)


if __name__ == "__main__":
    model = StyleNet()
    print(model(torch.randn(1, 3, 96, 96)).shape)
