import torch
import torch.nn as nn


class GRURegressor(nn.Module):
    def __init__(self, n_features=8, hidden=64, layers=2):
        super().__init__()
        self.gru = nn.GRU(n_features, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Sequential(nn.Linear(hidden, 32), nn.ReLU(), nn.Linear(32, 1))

    def forward(self, x):
        out, _ = self.gru(x)
        return self.head(out[:, -1, :])


if __name__ == "__main__":
    model = GRURegressor()
    window = torch.randn(32, 48, 8)
    print(model(window).shape)
