"""Export the trained SmallCNN to ONNX for the inspection station."""
import argparse

import torch

from data import CLASSES, IMAGE_SIZE
from model import SmallCNN


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", default="defect_cnn.pt")
    parser.add_argument("--width", type=int, default=96)
    parser.add_argument("--out", default="defect_cnn.onnx")
    args = parser.parse_args()

    model = SmallCNN(num_classes=len(CLASSES), width=args.width)
    model.load_state_dict(torch.load(args.weights, map_location="cpu"))
    model.eval()

    dummy = torch.randn(1, 3, IMAGE_SIZE, IMAGE_SIZE)
    torch.onnx.export(
        model,
        dummy,
        args.out,
        input_names=["image"],
        output_names=["logits"],
        dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=17,
    )
    print(f"exported {args.out}")


if __name__ == "__main__":
    main()
