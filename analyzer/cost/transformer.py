"""Transformer language models from their configuration numbers.

Parameters follow the Hugging Face implementations layer by layer (embeddings, attention
and MLP weights and biases, layer norms, pooler), so they equal ``num_parameters()``.
MACs per sequence of ``S`` tokens follow fvcore's count of the eager implementation:
every linear layer (``S x in x out``), the attention products QK^T and AV over the full
``S x S`` matrix (``2 x L x S^2 x d``; causal masking does not skip work in eager or SDPA
kernels), and layer norms at 5 per element. This is the "2N per token plus attention"
rule made exact; training is 3x the forward (the "6 N D" rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Hugging Face config attribute spellings for the same quantity.
ALIASES = {
    "layers": ("num_hidden_layers", "n_layer", "num_layers", "n_layers"),
    "hidden": ("hidden_size", "n_embd", "d_model", "dim"),
    "heads": ("num_attention_heads", "n_head", "num_heads"),
    "kv_heads": ("num_key_value_heads",),
    "ffn": ("intermediate_size", "n_inner", "hidden_dim", "ffn_dim"),
    "vocab": ("vocab_size",),
    "positions": ("max_position_embeddings", "n_positions", "n_ctx"),
    "type_vocab": ("type_vocab_size",),
}
#: Defaults of each family's configuration class (transformers' BertConfig(), GPT2Config(), ...).
DEFAULTS: dict[str, dict[str, Any]] = {
    "bert": {"layers": 12, "hidden": 768, "heads": 12, "ffn": 3072, "vocab": 30522, "positions": 512, "type_vocab": 2},
    "roberta": {"layers": 12, "hidden": 768, "heads": 12, "ffn": 3072, "vocab": 50265, "positions": 514, "type_vocab": 1},
    "distilbert": {"layers": 6, "hidden": 768, "heads": 12, "ffn": 3072, "vocab": 30522, "positions": 512, "type_vocab": 0},
    "gpt2": {"layers": 12, "hidden": 768, "heads": 12, "ffn": None, "vocab": 50257, "positions": 1024},
    "llama": {"layers": 32, "hidden": 4096, "heads": 32, "kv_heads": None, "ffn": 11008, "vocab": 32000, "positions": 2048},
}
CONFIG_CLASSES = {
    "BertConfig": "bert", "RobertaConfig": "roberta", "DistilBertConfig": "distilbert", "GPT2Config": "gpt2", "LlamaConfig": "llama",
}
MODEL_CLASS_FAMILIES = {"Bert": "bert", "Roberta": "roberta", "DistilBert": "distilbert", "GPT2": "gpt2", "Llama": "llama"}


@dataclass(frozen=True, slots=True)
class TransformerShape:
    """The numbers that decide a transformer's size."""

    family: str
    layers: int
    hidden: int
    heads: int
    ffn: int
    vocab: int
    positions: int
    type_vocab: int = 0
    kv_heads: int | None = None

    @classmethod
    def from_values(cls, family: str, values: dict[str, Any]) -> TransformerShape:
        merged = dict(DEFAULTS.get("roberta" if family == "roberta" else family, DEFAULTS["bert"]))
        for key in merged.keys() | values.keys():
            if key in values and values[key] is not None:
                merged[key] = values[key]
        if merged.get("ffn") is None:
            merged["ffn"] = 4 * merged["hidden"]
        known = {k: merged[k] for k in ("layers", "hidden", "heads", "ffn", "vocab", "positions")}
        return cls(family=family, type_vocab=merged.get("type_vocab", 0) or 0, kv_heads=merged.get("kv_heads"), **known)


def shape_from_config(family: str, attrs: dict[str, Any]) -> TransformerShape:
    """Configuration attributes (any spelling) to a shape, defaults filled in."""
    values: dict[str, Any] = {}
    for key, names in ALIASES.items():
        for name in names:
            if isinstance(attrs.get(name), int) and not isinstance(attrs.get(name), bool):
                values[key] = attrs[name]
                break
    return TransformerShape.from_values(family, values)


def parameters(shape: TransformerShape, head: str = "base", num_labels: int = 2) -> int:
    """Parameters of the bare model (``head="base"``), a causal LM, or a sequence classifier."""
    h, f, layers, v = shape.hidden, shape.ffn, shape.layers, shape.vocab
    if shape.family in ("bert", "roberta", "distilbert"):
        embeddings = v * h + shape.positions * h + shape.type_vocab * h + 2 * h
        layer = 4 * h * h + 4 * h + 2 * h * f + f + h + 4 * h
        total = embeddings + layers * layer
        if shape.family != "distilbert" and head not in NO_POOLER:
            total += h * h + h  # pooler
        if head == "classification":
            total += (h * h + h if shape.family == "distilbert" else 0) + h * num_labels + num_labels
        elif head in NO_POOLER:
            total += _per_token_head(shape, head, num_labels)
        return total
    if shape.family == "gpt2":
        layer = 4 * h + 3 * h * h + 3 * h + h * h + h + h * f + f + f * h + h
        total = v * h + shape.positions * h + layers * layer + 2 * h
        if head == "classification":
            total += h * num_labels
        elif head in NO_POOLER:
            total += _per_token_head(shape, head, num_labels)
        return total
    if shape.family == "llama":
        kv = (shape.kv_heads or shape.heads) * (h // shape.heads)
        layer = 2 * h * h + 2 * h * kv + 3 * h * f + 2 * h
        total = v * h + layers * layer + h
        if head == "causal-lm":
            total += v * h
        elif head == "classification":
            total += h * num_labels
        return total
    raise ValueError(f"unknown family {shape.family}")


def forward_macs(shape: TransformerShape, tokens: int, head: str = "base", num_labels: int = 2) -> int:
    """MACs of one forward pass over ``tokens`` tokens, as fvcore counts the eager model."""
    h, f, layers, s = shape.hidden, shape.ffn, shape.layers, tokens
    attention = 2 * s * s * h
    if shape.family in ("bert", "roberta", "distilbert"):
        layer = s * (4 * h * h + 2 * h * f) + attention + 2 * 5 * s * h
        total = layers * layer + 5 * s * h
        if shape.family != "distilbert" and head not in NO_POOLER:
            total += h * h  # pooler on the first token
        if head in NO_POOLER:
            total += s * h * (2 if head == "question-answering" else num_labels)
        return total
    if shape.family == "gpt2":
        layer = s * (4 * h * h + 2 * h * f) + attention + 2 * 5 * s * h
        total = layers * layer + 5 * s * h
        if head == "causal-lm":
            total += s * h * shape.vocab
        elif head in NO_POOLER:
            total += s * h * (2 if head == "question-answering" else num_labels)
        return total
    if shape.family == "llama":
        kv = (shape.kv_heads or shape.heads) * (h // shape.heads)
        layer = s * (2 * h * h + 2 * h * kv + 3 * h * f) + attention
        total = layers * layer
        if head == "causal-lm":
            total += s * h * shape.vocab
        return total
    raise ValueError(f"unknown family {shape.family}")


#: Hugging Face class-name endings and the task head each adds.
HEADS = (
    (("ForCausalLM", "LMHeadModel"), "causal-lm"),
    (("ForSequenceClassification",), "classification"),
    (("ForTokenClassification",), "token-classification"),
    (("ForQuestionAnswering",), "question-answering"),
    (("Model",), "base"),
)
#: Heads whose encoder drops the BERT pooler (``add_pooling_layer=False``).
NO_POOLER = ("token-classification", "question-answering")


def head_of(class_name: str) -> str | None:
    """The task head a Hugging Face model class adds; None for a head not modeled
    (masked LM, multiple choice, sequence-to-sequence), so its size is not guessed."""
    for endings, head in HEADS:
        if class_name.endswith(endings):
            return head
    return None


def _per_token_head(shape: TransformerShape, head: str, num_labels: int) -> int:
    """Parameters of a linear head on every token: ``num_labels`` outputs, or start/end logits."""
    outputs = 2 if head == "question-answering" else num_labels
    return shape.hidden * outputs + outputs
