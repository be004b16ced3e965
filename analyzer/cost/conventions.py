"""Conventions the static estimate and the measured run (``greenlint.measure.child``)
must share, so both count the same forward pass. Imports nothing: the measuring process
reads it without loading the analyzer."""

from __future__ import annotations

#: ``forward`` parameters that carry training targets: given during training, absent
#: (None) at inference, and able to change the work done (nanoGPT's lm_head on every
#: position only when targets are given). They are never counted as model inputs.
TARGET_PARAMS = ("targets", "target", "labels", "label", "y", "tgt_labels")
