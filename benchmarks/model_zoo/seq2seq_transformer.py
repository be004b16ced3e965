import torch
import torch.nn as nn


class Translator(nn.Transformer):
    """Encoder-decoder translation model on nn.Transformer (sequence first)."""

    def __init__(self, vocab=8000, d_model=256, nhead=4, layers=3, ff=512):
        super().__init__(d_model=d_model, nhead=nhead, num_encoder_layers=layers, num_decoder_layers=layers,
                         dim_feedforward=ff)
        self.src_embed = nn.Embedding(vocab, d_model)
        self.generator = nn.Linear(d_model, vocab)

    def forward(self, src):
        x = self.src_embed(src)
        memory = self.encoder(x)
        out = self.decoder(x, memory)
        return self.generator(out)


if __name__ == "__main__":
    model = Translator()
    print(model(torch.randint(0, 8000, (40, 2))).shape)
