import torch
import torch.nn as nn
import torch.nn.functional as F

HIDDEN = 512


class TabularNet(nn.Module):
    def __init__(self, features, classes, hidden=HIDDEN, dropout=0.3):
        super().__init__()
        self.fc1 = nn.Linear(features, hidden)
        self.bn1 = nn.BatchNorm1d(hidden)
        self.fc2 = nn.Linear(hidden, hidden // 2, bias=False)
        self.bn2 = nn.BatchNorm1d(hidden // 2)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden // 2, classes)

    def forward(self, x):
        x = self.drop(F.relu(self.bn1(self.fc1(x))))
        x = self.drop(F.gelu(self.bn2(self.fc2(x))))
        return self.out(x)


if __name__ == "__main__":
    model = TabularNet(features=54, classes=7)
    x = torch.randn(256, 54)
    print(model(x).shape)
