"""A training loop that waits on slow data loading (each batch sleeps, like slow storage).

Trains until stopped (``--max-steps``/``--timeout``), or crashes with ``--crash-after N``.
Evaluates the model every ``--eval-every`` steps with gradients on; syncs with
``.item()`` every step; never saves a checkpoint; never uses autocast.
"""
import argparse
import sys
import time

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset


class SlowDataset(Dataset):
    def __len__(self):
        return 64

    def __getitem__(self, index):
        time.sleep(0.008)  # reading and decoding one sample
        return torch.randn(16), index % 4


def evaluate(model, loader):
    model.eval()
    correct = 0
    for batch, (x, y) in enumerate(loader):
        correct += (model(x).argmax(1) == y).sum()  # marker: eval-forward
        if batch == 1:
            break
    model.train()
    return correct


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--crash-after", type=int, default=0)
    parser.add_argument("--eval-every", type=int, default=5)
    args = parser.parse_args()
    print("stall_train starting", flush=True)
    print("stall_train note on stderr", file=sys.stderr, flush=True)
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    loader = DataLoader(SlowDataset(), batch_size=4, shuffle=True)  # marker: loader
    step = 0
    while True:
        for x, y in loader:  # marker: step-loop
            loss = nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            print(f"step {step} loss {loss.item():.3f}", flush=True)  # marker: sync
            if args.crash_after and step == args.crash_after:
                raise RuntimeError(f"diverged at step {step}")
            if step % args.eval_every == 0:
                evaluate(model, loader)


if __name__ == "__main__":
    main()
