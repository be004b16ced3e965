import torch
import torch.nn as nn
import torch.nn.functional as F


class RNNModel(nn.Module):
    """An LSTM language model with tied input and output embeddings, sequence first."""

    def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, dropout=0.5, tie_weights=False):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        if tie_weights:
            self.decoder.weight = self.encoder.weight
        self.ntoken = ntoken

    def forward(self, input):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb)
        decoded = self.decoder(self.drop(output))
        return F.log_softmax(decoded.view(-1, self.ntoken), dim=1)


if __name__ == "__main__":
    model = RNNModel("LSTM", 10000, 256, 256, 2, dropout=0.2, tie_weights=True)
    print(model(torch.randint(0, 10000, (35, 20))).shape)
