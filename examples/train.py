"""Train SmallCNN on the defect images."""
import argparse
import logging

import torch
import torch.nn as nn

from data import make_loaders
from model import SmallCNN, count_parameters

log = logging.getLogger("train")


def parse_args():
    parser = argparse.ArgumentParser(description="Train the defect classifier")
    parser.add_argument("--data", default="data/defects")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--batch-size", "--batch_size", dest="batch_size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--width", type=int, default=96)
    parser.add_argument("--out", default="defect_cnn.pt")
    parser.add_argument("--wandb", action="store_true", help="log metrics to Weights & Biases")
    return parser.parse_args()


@torch.no_grad()
def evaluate(model, loader, device):
    model.eval()
    correct = total = 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        correct += (model(images).argmax(dim=1) == labels).sum()
        total += labels.numel()
    return (correct.float() / total).item()


def main():
    args = parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    run = None
    if args.wandb:
        import wandb

        run = wandb.init(project="example-classifier", config=vars(args))

    train_loader, val_loader = make_loaders(args.data, args.batch_size)
    model = SmallCNN(width=args.width).to(device)
    log.info("model has %d trainable parameters", count_parameters(model))

    criterion = nn.CrossEntropyLoss(label_smoothing=0.05)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)

    for epoch in range(args.epochs):
        model.train()
        running_loss = 0.0
        for images, labels in train_loader:
            images, labels = images.to(device), labels.to(device)
            optimizer.zero_grad()
            loss = criterion(model(images), labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
        scheduler.step()
        val_acc = evaluate(model, val_loader, device)
        train_loss = running_loss / len(train_loader)
        log.info("epoch %3d  loss %.4f  val acc %.4f", epoch + 1, train_loss, val_acc)
        if run is not None:
            run.log({"epoch": epoch + 1, "train_loss": train_loss, "val_acc": val_acc})

    torch.save(model.state_dict(), args.out)
    log.info("saved weights to %s", args.out)


if __name__ == "__main__":
    main()
