"""A compute-bound training loop: cheap in-memory batches, bfloat16 autocast, checkpoints.

Runs 2 epochs of 10 steps and ends by itself; saves a checkpoint every 5 steps into the
directory given as the first argument; evaluates a frozen copy of the model (its
parameters need no gradients); reads the loss on the host only every 10 steps.
"""
import copy
import os
import sys

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset


def evaluate(model, loader):
    model.eval()
    total = 0.0
    for x, _ in loader:
        total += float(model(x).sum())  # marker: eval-forward
        break
    return total


def main():
    out_dir = sys.argv[1]
    torch.manual_seed(0)
    data = TensorDataset(torch.randn(320, 512), torch.randint(0, 8, (320,)))
    loader = DataLoader(data, batch_size=32)  # marker: loader
    model = nn.Sequential(nn.Linear(512, 2048), nn.ReLU(), nn.Linear(2048, 2048), nn.ReLU(), nn.Linear(2048, 8))
    frozen = copy.deepcopy(model).requires_grad_(False)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    step = 0
    for epoch in range(2):
        for x, y in loader:  # marker: step-loop
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            if step % 10 == 0:
                print(f"step {step} loss {loss.item():.3f}")  # marker: sync
            if step % 5 == 0:
                torch.save({"model": model.state_dict(), "step": step}, os.path.join(out_dir, "ckpt.pt"))
        evaluate(frozen, loader)
    print("busy_train done")


if __name__ == "__main__":
    main()
