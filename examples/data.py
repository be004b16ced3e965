"""Dataset and data loaders for the defect images.

The data directory holds one sub-folder per split (train/, val/) and a
labels.csv per split with two columns: filename,label.
"""
import csv
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

CLASSES = ["crazing", "inclusion", "patches", "pitted_surface", "rolled_in_scale", "scratches"]
IMAGE_SIZE = 64


def build_transform(train: bool):
    steps = [transforms.Resize((IMAGE_SIZE, IMAGE_SIZE))]
    if train:
        steps += [transforms.RandomHorizontalFlip(), transforms.RandomVerticalFlip(), transforms.ColorJitter(0.2, 0.2)]
    steps += [transforms.ToTensor(), transforms.Normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25])]
    return transforms.Compose(steps)


class DefectDataset(Dataset):
    def __init__(self, root: str, split: str):
        self.image_dir = Path(root) / split
        with open(self.image_dir / "labels.csv", newline="") as fh:
            self.samples = [(row["filename"], CLASSES.index(row["label"])) for row in csv.DictReader(fh)]
        self.transform = build_transform(train=(split == "train"))

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, idx):
        filename, label = self.samples[idx]
        image = Image.open(self.image_dir / filename).convert("RGB")
        return self.transform(image), torch.tensor(label)


def make_loaders(root: str, batch_size: int = 64):
    train_loader = DataLoader(DefectDataset(root, "train"), batch_size=batch_size, shuffle=True)
    val_loader = DataLoader(DefectDataset(root, "val"), batch_size=2 * batch_size)
    return train_loader, val_loader
