import torch
import torch.nn as nn


class CellDecoder(nn.Module):
    """Steps an LSTMCell over the sequence by hand, as attention decoders do."""

    def __init__(self, input_size=40, hidden_size=96, steps=25):
        super().__init__()
        self.cell = nn.LSTMCell(input_size, hidden_size)
        self.proj = nn.Linear(hidden_size, input_size)
        self.steps = steps
        self.hidden_size = hidden_size

    def forward(self, x):
        h = x.new_zeros(x.size(0), self.hidden_size)
        c = x.new_zeros(x.size(0), self.hidden_size)
        outputs = []
        for t in range(self.steps):
            h, c = self.cell(x[:, t, :], (h, c))
            outputs.append(self.proj(h))
        return torch.stack(outputs, dim=1)


if __name__ == "__main__":
    model = CellDecoder()
    print(model(torch.randn(8, 25, 40)).shape)
