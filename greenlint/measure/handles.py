"""fvcore op handles for the ops it counts as 0 on current PyTorch.

fvcore has no handle for the fused kernels PyTorch dispatches in eval mode: recurrent
layers (``aten::lstm``/``gru``/``rnn_*`` and their cells), attention
(``aten::scaled_dot_product_attention``, the ``nn.MultiheadAttention`` fast path
``aten::_native_multi_head_attention``, ``aten::_transformer_encoder_layer_fwd``) and
``aten::baddbmm``. Each handle below counts the matmuls the kernel performs, in fvcore's
convention (one multiply-add = one flop, biases and element-wise work not counted), so a
measured count agrees with greenlint's static one. Handles read only shapes from the
traced graph; this module imports neither torch nor fvcore.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

Handle = Callable[[list[Any], list[Any]], int]


def _shape(value: Any) -> list[int] | None:
    try:
        if value.isCompleteTensor():
            return list(value.type().sizes())
    except (AttributeError, RuntimeError):
        return None
    return None


def _list_items(value: Any) -> list[Any]:
    try:
        node = value.node()
    except (AttributeError, RuntimeError):
        return []
    if node.kind() == "prim::ListConstruct":
        return list(node.inputs())
    return []


def _weights_in(inputs: list[Any]) -> list[list[int]]:
    """Shapes of the 2-D weights in the first tensor list holding any (the params list)."""
    for value in inputs:
        shapes = [_shape(item) for item in _list_items(value)]
        matrices = [s for s in shapes if s is not None and len(s) == 2]
        if matrices:
            return matrices
    return []


def rnn_flop_jit(inputs: list[Any], outputs: list[Any]) -> int:
    """aten::lstm / gru / rnn_tanh / rnn_relu: every time step multiplies by every weight."""
    data = _shape(inputs[0])
    if data is None:
        return 0
    rows = math.prod(data[:-1])
    return rows * sum(math.prod(w) for w in _weights_in(inputs[1:]))


def rnn_cell_flop_jit(inputs: list[Any], outputs: list[Any]) -> int:
    """aten::lstm_cell / gru_cell / rnn_tanh_cell / rnn_relu_cell: one step."""
    data = _shape(inputs[0])
    if data is None:
        return 0
    rows = math.prod(data[:-1]) if len(data) > 1 else 1
    weights = [s for s in (_shape(v) for v in inputs[2:4]) if s is not None and len(s) == 2]
    return rows * sum(math.prod(w) for w in weights)


def sdpa_flop_jit(inputs: list[Any], outputs: list[Any]) -> int:
    """aten::scaled_dot_product_attention: QK^T and AV over the full L x S matrix."""
    q, k, v = (_shape(x) for x in inputs[:3])
    if q is None or k is None or v is None:
        return 0
    batch = math.prod(q[:-2])
    return batch * q[-2] * k[-2] * (q[-1] + v[-1])


def attention_macs(batch: int, target: int, source: int, embed: int) -> int:
    """Q, K, V and output projections plus QK^T and AV (the static estimator's formula)."""
    return 2 * batch * target * embed * embed + 2 * batch * source * embed * embed + 2 * batch * target * source * embed


def native_mha_flop_jit(inputs: list[Any], outputs: list[Any]) -> int:
    """aten::_native_multi_head_attention (nn.MultiheadAttention's fast path)."""
    q, k = _shape(inputs[0]), _shape(inputs[1])
    if q is None or k is None:
        return 0
    batch = math.prod(q[:-2]) if len(q) > 2 else 1
    return attention_macs(batch, q[-2], k[-2], q[-1])


def encoder_layer_flop_jit(inputs: list[Any], outputs: list[Any]) -> int:
    """aten::_transformer_encoder_layer_fwd: attention, feed-forward and two layer norms."""
    src = _shape(inputs[0])
    ffn = _shape(inputs[14]) if len(inputs) > 14 else None
    if src is None:
        return 0
    batch = math.prod(src[:-2]) if len(src) > 2 else 1
    tokens, embed = src[-2], src[-1]
    total = attention_macs(batch, tokens, tokens, embed) + 2 * 5 * math.prod(src)
    if ffn is not None:
        total += 2 * batch * tokens * embed * ffn[0]
    return total


def baddbmm_flop_jit(inputs: list[Any], outputs: list[Any]) -> int:
    """aten::baddbmm: a batched matmul plus an added tensor (counted like bmm)."""
    a, b = _shape(inputs[1]), _shape(inputs[2])
    if a is None or b is None:
        return 0
    return a[0] * a[1] * a[2] * b[2]


EXTRA_HANDLES: dict[str, Handle] = {
    "aten::lstm": rnn_flop_jit,
    "aten::gru": rnn_flop_jit,
    "aten::rnn_tanh": rnn_flop_jit,
    "aten::rnn_relu": rnn_flop_jit,
    "aten::lstm_cell": rnn_cell_flop_jit,
    "aten::gru_cell": rnn_cell_flop_jit,
    "aten::rnn_tanh_cell": rnn_cell_flop_jit,
    "aten::rnn_relu_cell": rnn_cell_flop_jit,
    "aten::scaled_dot_product_attention": sdpa_flop_jit,
    "aten::_native_multi_head_attention": native_mha_flop_jit,
    "aten::_transformer_encoder_layer_fwd": encoder_layer_flop_jit,
    "aten::baddbmm": baddbmm_flop_jit,
}
