import torch
import torch.nn as nn


class TextTransformer(nn.Module):
    def __init__(self, vocab=30000, d_model=256, nhead=8, layers=4, ff=1024, classes=4, max_len=128):
        super().__init__()
        self.embed = nn.Embedding(vocab, d_model)
        self.pos = nn.Parameter(torch.zeros(1, max_len, d_model))
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=ff, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=layers)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, classes)

    def forward(self, tokens):
        x = self.embed(tokens) + self.pos[:, : tokens.size(1)]
        x = self.encoder(x)
        return self.head(self.norm(x.mean(dim=1)))


if __name__ == "__main__":
    model = TextTransformer()
    print(model(torch.randint(0, 30000, (8, 128))).shape)
