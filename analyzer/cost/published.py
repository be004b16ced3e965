"""The published table of architectures (``data/architectures.yaml``), by any spelling.

One table serves the estimator (a library model's parameters and MACs), the rules'
messages (GL202's lighter sibling, GL301's size) and ``greenlint estimate``, so a number
quoted anywhere is the same number with the same source. Vision rows carry torchvision's
"GFLOPS", which torchvision and fvcore compute as 10^9 multiply-adds: GMACs in this
project's words. Text rows carry a checkpoint's configuration, from which the transformer
formulas derive MACs, and its published parameter count.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from greenlint.analyzer.cost import transformer as tf
from greenlint.analyzer.cost.tables import table

#: How GMACs are counted, for every message that prints them.
GMACS_CONVENTION = "GMACs = 10^9 multiply-adds, what torchvision and fvcore call GFLOPS"
#: Tokens per sequence at which a text model's compute is quoted.
QUOTED_TOKENS = 128
#: timm and other spellings of the table's names.
ALIASES = {
    "vit_base_patch16_224": "vit_b_16", "vit_base_patch32_224": "vit_b_32", "vit_large_patch16_224": "vit_l_16",
    "vit_large_patch32_224": "vit_l_32", "vit_huge_patch14_224": "vit_h_14", "swin_tiny_patch4_window7_224": "swin_t",
    "swin_small_patch4_window7_224": "swin_s", "swin_base_patch4_window7_224": "swin_b", "densenet121.tv_in1k": "densenet121",
    "resnet50.tv_in1k": "resnet50", "resnet18.tv_in1k": "resnet18", "llama-2-7b-hf": "Llama-2-7b-hf", "llama-2-7b": "Llama-2-7b-hf",
    "meta-llama/llama-2-7b-hf": "Llama-2-7b-hf",
}
#: torchvision and timm constructors that publish pretrained weights (whole names).
VISION_FAMILIES = re.compile(
    r"^(resnet\d+|resnext\d+_\w+|wide_resnet\d+_2|vgg\d+(_bn)?|vit_[bhl]_\d+|convnext_\w+|efficientnet_\w+|"
    r"mobilenet_v\d(_\w+)?|densenet\d+|regnet_\w+|swin_\w+|squeezenet\d_\d|shufflenet_v2_\w+|mnasnet\d_\d+|"
    r"alexnet|googlenet|inception_v3|maxvit_t)$"
)
#: ``from_pretrained`` receivers that load something other than a model.
NOT_MODELS = ("Tokenizer", "TokenizerFast", "Processor", "Config", "FeatureExtractor", "ImageProcessor")


@cache
def _rows() -> dict[str, dict[str, Any]]:
    return {row["name"].lower(): row for row in table("architectures")}


def lookup(name: str) -> dict[str, Any] | None:
    """The row a torchvision, timm or Hugging Face name refers to (``org/name`` too)."""
    key = name.strip().lower()
    key = ALIASES.get(key, key).lower()
    rows = _rows()
    if key in rows:
        return rows[key]
    short = key.rsplit("/", 1)[-1]
    return rows.get(ALIASES.get(short, short).lower())


def lighter(row: dict[str, Any]) -> dict[str, Any] | None:
    """The row's lighter sibling, when the table names one."""
    sibling = row.get("lighter")
    return lookup(sibling) if isinstance(sibling, str) else None


def params(row: dict[str, Any]) -> int:
    """Published parameters: torchvision's count, or the checkpoint's bare model."""
    return int(row["params"] if "params" in row else row["published_params"])


def gmacs(row: dict[str, Any]) -> float | None:
    """GMACs per sample: a vision row's published figure at its input size; a text row's
    at ``QUOTED_TOKENS`` tokens from its configuration; None without a configuration."""
    if "gmacs" in row:
        return float(row["gmacs"])
    if "family" not in row:
        return None
    shape = tf.TransformerShape.from_values(row["family"], {k: row.get(k) for k in tf.ALIASES})
    return tf.forward_macs(shape, QUOTED_TOKENS) / 1e9


def per_sample(row: dict[str, Any]) -> str:
    """What one sample is for the row's GMACs: ``224x224 image`` or ``128-token sequence``."""
    if "gmacs" in row:
        return f"{row['input'][1]}x{row['input'][2]} image"
    return f"{QUOTED_TOKENS}-token sequence"


def size(row: dict[str, Any]) -> str:
    """``60.2 M parameters, 11.51 GMACs per 224x224 image``."""
    compute = gmacs(row)
    text = f"{params(row) / 1e6:.1f} M parameters"
    if compute is not None:
        text += f", {compute:.4g} GMACs per {per_sample(row)}"
    return text


def describe(row: dict[str, Any], spelled: str | None = None) -> str:
    """``resnet152 (60.2 M parameters, ...)``; a timm or hub spelling names the row too."""
    name = row["name"]
    if spelled is not None and spelled.lower() != name.lower():
        return f"{spelled} (= {name}, {size(row)})"
    return f"{name} ({size(row)})"


def compute_ratio(heavy: dict[str, Any], light: dict[str, Any]) -> tuple[float, str]:
    """How many times the lighter row's cost the heavy one needs, and of what: GMACs per
    sample where both rows have them, else parameters."""
    a, b = gmacs(heavy), gmacs(light)
    if a is not None and b is not None and b > 0:
        return a / b, "compute per sample"
    return params(heavy) / params(light), "parameters"


__all__ = ["ALIASES", "GMACS_CONVENTION", "NOT_MODELS", "VISION_FAMILIES", "compute_ratio", "describe", "gmacs", "lighter",
           "lookup", "params", "per_sample", "size"]
