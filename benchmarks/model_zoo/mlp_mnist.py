import torch
import torch.nn as nn


class MLP(nn.Module):
    def __init__(self, sizes=(784, 256, 128, 10)):
        super().__init__()
        layers = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        self.net = nn.Sequential(*layers[:-1])

    def forward(self, x):
        return self.net(x.view(x.size(0), -1))


if __name__ == "__main__":
    model = MLP()
    print(model(torch.randn(32, 1, 28, 28)).shape)
