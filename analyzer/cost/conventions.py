"""Conventions the static estimate and the measured run (``greenlint.measure.child``)
must share, so both count the same forward pass. Imports nothing: the measuring process
reads it without loading the analyzer."""

from __future__ import annotations

#: ``forward`` parameters that carry training targets: given during training, absent
#: (None) at inference, and able to change the work done (nanoGPT's lm_head on every
#: position only when targets are given). They are never counted as model inputs.
TARGET_PARAMS = ("targets", "target", "labels", "label", "y", "tgt_labels")


def _stem(name: str) -> str:
    return name.rstrip("0123456789").removesuffix("_").removesuffix("_a").removesuffix("_b")


def input_count(required: list[str]) -> int:
    """How many inputs one sample feeds ``forward``, from its required parameter names
    (after ``self``, targets aside): a pair like ``input1, input2`` or ``x_a, x_b`` gets the
    sample twice (a Siamese pair); anything else (``input, hidden``) gets it once."""
    names = [n for n in required if n not in TARGET_PARAMS]
    if len(names) < 2:
        return 1
    stems = {_stem(n) for n in names}
    return len(names) if len(stems) == 1 and any(n != _stem(n) for n in names) else 1
