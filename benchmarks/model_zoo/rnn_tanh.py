import torch
import torch.nn as nn


class CharRNN(nn.Module):
    def __init__(self, n_chars=96, hidden=128):
        super().__init__()
        self.embed = nn.Embedding(n_chars, 32)
        self.rnn = nn.RNN(32, hidden, num_layers=1, nonlinearity="tanh", batch_first=True)
        self.decoder = nn.Linear(hidden, n_chars)

    def forward(self, chars):
        out, _ = self.rnn(self.embed(chars))
        return self.decoder(out)


if __name__ == "__main__":
    model = CharRNN()
    print(model(torch.randint(0, 96, (4, 100))).shape)
