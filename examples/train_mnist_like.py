"""Train a small CNN on MNIST-shaped digits generated in memory.

Self-contained (no download): 28x28 grey images of ten synthetic digit patterns with
noise and random shifts, a two-block CNN, SGD with momentum and an exponential moving
average (EMA) of the weights that is evaluated after every epoch. It trains on the GPU
when there is one and on the CPU otherwise; on a laptop CPU an epoch takes seconds.

    python examples/train_mnist_like.py --epochs 3
"""
import argparse
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset


class SyntheticDigits(Dataset):
    """Ten fixed 28x28 stroke patterns; each item is one of them, shifted and noisy."""

    def __init__(self, size, seed):
        self.templates = (torch.rand(10, 28, 28, generator=torch.Generator().manual_seed(1234)) > 0.7).float()
        generator = torch.Generator().manual_seed(seed)
        self.labels = torch.randint(0, 10, (size,), generator=generator)
        self.seeds = torch.randint(0, 2**31 - 1, (size,), generator=generator)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        label = int(self.labels[index])
        generator = torch.Generator().manual_seed(int(self.seeds[index]))
        image = self.templates[label]
        dx, dy = torch.randint(-2, 3, (2,), generator=generator).tolist()
        image = torch.roll(image, shifts=(dy, dx), dims=(0, 1))
        # A random rotation of up to 15 degrees, as handwriting augmentation usually has.
        angle = (torch.rand((), generator=generator) - 0.5) * 0.52
        theta = torch.stack([torch.stack([angle.cos(), -angle.sin(), torch.zeros(())]),
                             torch.stack([angle.sin(), angle.cos(), torch.zeros(())])])
        grid = F.affine_grid(theta[None], [1, 1, 28, 28], align_corners=False)
        image = F.grid_sample(image[None, None], grid, align_corners=False)[0]
        image = image + 0.3 * torch.randn(1, 28, 28, generator=generator)
        image = F.avg_pool2d(image[None], 3, stride=1, padding=1)[0]  # blur, like pen strokes
        return (image - 0.5) / 0.5, label


class SmallCNN(nn.Module):
    def __init__(self, width=64):
        super().__init__()
        self.conv1 = nn.Conv2d(1, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, 2 * width, 3, padding=1)
        self.head = nn.Linear(2 * width * 7 * 7, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.head(x.flatten(1))


def evaluate(model, loader, device):
    model.eval()
    correct = total = 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        correct += (model(images).argmax(dim=1) == labels).sum().item()
        total += labels.numel()
    return correct / total


@torch.no_grad()
def update_ema(ema_model, model, decay=0.9):
    for ema_param, param in zip(ema_model.parameters(), model.parameters()):
        ema_param.mul_(decay).add_(param, alpha=1 - decay)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--train-size", type=int, default=2048)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    train_loader = DataLoader(SyntheticDigits(args.train_size, args.seed), batch_size=args.batch_size, shuffle=True)
    val_loader = DataLoader(SyntheticDigits(512, args.seed + 1), batch_size=256)

    model = SmallCNN().to(device)
    ema_model = copy.deepcopy(model)
    ema_model.requires_grad_(False)  # the average is updated by hand, never by backward
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)

    for epoch in range(args.epochs):
        model.train()
        running_loss = 0.0
        for images, labels in train_loader:
            images, labels = images.to(device), labels.to(device)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(images), labels)
            loss.backward()
            optimizer.step()
            update_ema(ema_model, model)
            running_loss += loss.item()
        accuracy = evaluate(ema_model, val_loader, device)
        print(f"epoch {epoch + 1}: loss {running_loss / len(train_loader):.3f}, EMA accuracy {accuracy:.1%}", flush=True)


if __name__ == "__main__":
    main()
