"""A script whose only data is random tensors trains to show a mechanism, in minutes; the
run-length rules leave it alone, and report the same script once it reads real data."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import Write, check

COPY_TASK = '''
import torch
import torch.nn as nn
import torch.nn.functional as F

NUM_BATCHES = 100_000
SEQ_LEN, VOCAB, DIM = 256, 256, 512
device = torch.device("cuda")


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, DIM)
        layer = nn.TransformerEncoderLayer(DIM, nhead=8, dim_feedforward=4 * DIM, batch_first=True)
        self.blocks = nn.TransformerEncoder(layer, num_layers=8)
        self.head = nn.Linear(DIM, VOCAB)

    def forward(self, tokens):
        return self.head(self.blocks(self.embed(tokens)))


def batches(batch_size=32):
    while True:
{DATA}


model = Decoder().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-4)
stream = batches()
for step in range(NUM_BATCHES):
    tokens = next(stream).to(device)
    logits = model(tokens[:, :-1])
    loss = F.cross_entropy(logits.reshape(-1, VOCAB), tokens[:, 1:].reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    print(f"step {step} loss {loss.item():.3f}")
'''
RANDOM_COPY = (
    "        half = torch.randint(0, VOCAB, (batch_size, SEQ_LEN // 2))\n"
    "        yield torch.cat((half, half), dim=1)"
)
RANDOM_FILLED = (
    "        half = torch.LongTensor(batch_size, SEQ_LEN // 2).random_(0, VOCAB)\n"
    "        yield torch.cat((half, half), dim=1)"
)
ENWIK8 = (
    "        corpus = torch.from_numpy(np.fromfile('data/enwik8', dtype=np.uint8).astype(np.int64))\n"
    "        starts = torch.randint(0, corpus.numel() - SEQ_LEN, (batch_size,))\n"
    "        yield torch.stack([corpus[s:s + SEQ_LEN] for s in starts])"
)
RUN_LENGTH_RULES = {"GL401", "GL402", "GL502"}


@pytest.mark.parametrize("data, silent", [(RANDOM_COPY, True), (RANDOM_FILLED, True), (ENWIK8, False)],
                         ids=["random-copy-task", "filled-in-place", "enwik8"])
def test_run_length_rules_skip_training_on_random_tensors_only(write: Write, tmp_path: Path, data: str,
                                                               silent: bool) -> None:
    source = COPY_TASK.replace("{DATA}", data)
    if data is ENWIK8:
        source = "import numpy as np\n" + source
    write("train_copy.py", source)
    found = {f.code for f in check(tmp_path).findings}
    assert (not found & RUN_LENGTH_RULES) if silent else RUN_LENGTH_RULES <= found


def test_random_tensors_passed_a_real_loader_by_a_caller_are_not_synthetic(write: Write, tmp_path: Path) -> None:
    write("gan.py", '''
        import torch
        import torch.nn.functional as F


        def train_gan(generator, discriminator, dataloader, epochs=200, latent_dim=100):
            g_opt = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
            d_opt = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
            for epoch in range(epochs):
                for real, _ in dataloader:
                    real = real.cuda()
                    fake = generator(torch.randn(real.size(0), latent_dim, device="cuda"))
                    d_loss = F.softplus(discriminator(fake.detach())).mean() + F.softplus(-discriminator(real)).mean()
                    d_opt.zero_grad()
                    d_loss.backward()
                    d_opt.step()
                    g_loss = F.softplus(-discriminator(fake)).mean()
                    g_opt.zero_grad()
                    g_loss.backward()
                    g_opt.step()
                    print(f"[epoch {epoch}] d {d_loss.item():.3f} g {g_loss.item():.3f}")
    ''')
    assert {"GL402", "GL502"} <= {f.code for f in check(tmp_path).findings}
