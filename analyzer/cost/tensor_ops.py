"""Shape arithmetic and fvcore's per-op MAC formulas, shared by layers and functions.

The formulas mirror ``fvcore.nn.jit_handles`` so a static count can equal a measured
one: one multiply-add is one "flop", biases and element-wise ops are not counted, a
convolution costs ``N * prod(weight) * prod(output spatial)`` (input spatial when
transposed), batch norm in eval costs 2 per element (1 without affine), layer/group/
instance norm 5 per element (4 without affine), adaptive average pooling 1 per input
element and upsampling 1 (nearest) or 4 (bilinear) per output element.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from greenlint.analyzer.cost.values import EvalError, Tensor, Unknown


def as_int(value: Any, what: str) -> int:
    """A dimension or size argument that must be a known integer."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Unknown):
        raise _UnknownArgument(value)
    raise EvalError(f"{what} is not an integer: {value!r}")


class _UnknownArgument(Exception):
    """Internal: an argument that decides a shape is unknown."""

    def __init__(self, unknown: Unknown) -> None:
        super().__init__(unknown.reason)
        self.unknown = unknown


UnknownArgument = _UnknownArgument


def tuple_of(value: Any, n: int, what: str) -> tuple[int, ...]:
    """``3`` -> ``(3, 3)``; ``(3, 5)`` stays; for kernel sizes, strides, paddings."""
    if isinstance(value, (list, tuple)):
        items = tuple(as_int(v, what) for v in value)
        if len(items) == 1:
            return items * n
        if len(items) != n:
            raise EvalError(f"{what} has {len(items)} values for {n} dimensions")
        return items
    return (as_int(value, what),) * n


def normalise_dim(dim: Any, ndim: int) -> int:
    d = as_int(dim, "dim")
    if d < 0:
        d += ndim
    if not 0 <= d < max(ndim, 1):
        raise EvalError(f"dimension {dim} out of range for {ndim} dimensions")
    return d


def conv_output(length: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    out = (length + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
    if out <= 0:
        raise EvalError(f"convolution output size {out} for input {length}")
    return out


def conv_transpose_output(length: int, kernel: int, stride: int, padding: int, dilation: int, output_padding: int) -> int:
    return (length - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def pool_output(length: int, kernel: int, stride: int, padding: int, dilation: int, ceil_mode: bool) -> int:
    span = length + 2 * padding - dilation * (kernel - 1) - 1
    if ceil_mode:
        out = -(-span // stride) + 1
        if (out - 1) * stride >= length + padding:
            out -= 1
    else:
        out = span // stride + 1
    if out <= 0:
        raise EvalError(f"pooling output size {out} for input {length}")
    return out


def conv_macs(batch: int, weight_shape: Sequence[int], spatial: Sequence[int]) -> int:
    """fvcore ``conv_flop_count``: batch x prod(weight) x prod(output or input spatial)."""
    return batch * math.prod(weight_shape) * math.prod(spatial)


def broadcast(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...]:
    """NumPy broadcasting of two shapes."""
    width = max(len(a), len(b))
    left = [1] * (width - len(a)) + list(a)
    right = [1] * (width - len(b)) + list(b)
    out = []
    for x, y in zip(left, right):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            raise EvalError(f"shapes {tuple(a)} and {tuple(b)} do not broadcast")
    return tuple(out)


def matmul(a: Tensor, b: Tensor) -> tuple[Tensor, int]:
    """``a @ b`` and fvcore's count ``prod(a.shape) * b.shape[-1]`` (aten::matmul)."""
    sa, sb = a.shape, b.shape
    if not sa or not sb:
        raise EvalError("matmul of a scalar")
    if len(sb) == 1:
        if sa[-1] != sb[0]:
            raise EvalError(f"matmul shapes {sa} and {sb}")
        return Tensor(sa[:-1]), math.prod(sa)
    if len(sa) == 1:
        if sa[0] != sb[-2]:
            raise EvalError(f"matmul shapes {sa} and {sb}")
        return Tensor(sb[:-2] + sb[-1:]), sa[0] * sb[-1] * math.prod(sb[:-2])
    if sa[-1] != sb[-2]:
        raise EvalError(f"matmul shapes {sa} and {sb}")
    batch = broadcast(sa[:-2], sb[:-2])
    out = Tensor(batch + (sa[-2], sb[-1]))
    return out, math.prod(sa) * sb[-1] * (math.prod(batch) // max(math.prod(sa[:-2]), 1))


def reshape(shape: tuple[int, ...], target: Sequence[Any]) -> tuple[int, ...]:
    dims = [as_int(d, "view size") for d in target]
    total = math.prod(shape)
    if dims.count(-1) > 1:
        raise EvalError("view with more than one -1")
    if -1 in dims:
        known = math.prod(d for d in dims if d != -1)
        if known == 0 or total % known:
            raise EvalError(f"cannot view {shape} as {tuple(dims)}")
        dims[dims.index(-1)] = total // known
    if math.prod(dims) != total:
        raise EvalError(f"cannot view {shape} as {tuple(dims)}")
    return tuple(dims)


def flatten(shape: tuple[int, ...], start: Any = 0, end: Any = -1) -> tuple[int, ...]:
    if not shape:
        return (1,)
    s = normalise_dim(start, len(shape))
    e = normalise_dim(end, len(shape))
    return shape[:s] + (math.prod(shape[s : e + 1]),) + shape[e + 1 :]


def reduce(shape: tuple[int, ...], dim: Any, keepdim: bool) -> tuple[int, ...]:
    """The shape after a reduction over ``dim`` (None: all dimensions)."""
    if dim is None:
        return tuple(1 for _ in shape) if keepdim else ()
    dims = dim if isinstance(dim, (list, tuple)) else [dim]
    axes = {normalise_dim(d, len(shape)) for d in dims}
    if keepdim:
        return tuple(1 if i in axes else s for i, s in enumerate(shape))
    return tuple(s for i, s in enumerate(shape) if i not in axes)


def slice_length(length: int, item: slice) -> int:
    return len(range(*item.indices(length)))


def index(shape: tuple[int, ...], key: Any) -> tuple[int, ...]:
    """The shape of ``x[key]`` for ints, slices, None, Ellipsis, int lists and tensors."""
    keys = list(key) if isinstance(key, tuple) else [key]
    if sum(1 for k in keys if k is Ellipsis) > 1:
        raise EvalError("more than one Ellipsis in an index")
    if Ellipsis in keys:
        consumed = sum(1 for k in keys if k is not None and k is not Ellipsis)
        at = keys.index(Ellipsis)
        keys = keys[:at] + [slice(None)] * max(0, len(shape) - consumed) + keys[at + 1 :]
    out: list[int] = []
    dim = 0
    advanced: list[tuple[int, ...]] = []
    for k in keys:
        if k is None:
            out.append(1)
            continue
        if dim >= len(shape):
            raise EvalError(f"too many indices for shape {shape}")
        size = shape[dim]
        if isinstance(k, bool):
            raise EvalError("boolean index")
        if isinstance(k, int):
            if not -size <= k < size:
                raise EvalError(f"index {k} out of range for size {size}")
        elif isinstance(k, slice):
            out.append(slice_length(size, k))
        elif isinstance(k, list):
            if not all(isinstance(i, int) and not isinstance(i, bool) for i in k):
                raise UnknownArgument(Unknown("index list with unknown items"))
            advanced.append((len(k),))
            out.append(-1)
        elif isinstance(k, Tensor) and k.integer:
            advanced.append(k.shape)
            out.append(-1)
        else:
            raise UnknownArgument(Unknown("index by a value the source does not fix"))
        dim += 1
    out.extend(shape[dim:])
    if advanced:
        shapes = advanced[0]
        for other in advanced[1:]:
            shapes = broadcast(shapes, other)
        first = out.index(-1)
        rest = [d for d in out if d != -1]
        out = rest[:first] + list(shapes) + rest[first:]
    return tuple(out)


def norm_macs(numel: int, affine: bool) -> int:
    """fvcore ``norm_flop_counter``: layer, group and instance norm."""
    return numel * (5 if affine else 4)


def batch_norm_macs(numel: int, affine: bool, training: bool) -> int:
    """fvcore ``batchnorm_flop_jit``: 2 (1 without affine) per element in eval, else as norms."""
    if training:
        return norm_macs(numel, affine)
    return numel * (2 if affine else 1)


def einsum(equation: str, operands: Sequence[Tensor]) -> tuple[Tensor, int]:
    """Output shape and fvcore's count for an einsum (numpy's optimal path, halved)."""
    equation = equation.replace(" ", "")
    if "->" in equation:
        inputs, output = equation.split("->")
    else:
        inputs, output = equation, None
    terms = inputs.split(",")
    if len(terms) != len(operands) or "." in inputs:
        raise UnknownArgument(Unknown(f"einsum '{equation}' is not followed"))
    sizes: dict[str, int] = {}
    for term, operand in zip(terms, operands):
        if len(term) != operand.ndim:
            raise EvalError(f"einsum term {term} for shape {operand.shape}")
        for letter, size in zip(term, operand.shape):
            if sizes.get(letter, size) != size and size != 1 and sizes[letter] != 1:
                raise EvalError(f"einsum size mismatch for {letter}")
            sizes[letter] = max(size, sizes.get(letter, 1))
    if output is None:
        counts = {c: inputs.count(c) for c in sizes}
        output = "".join(sorted(c for c, n in counts.items() if n == 1))
    out = Tensor(tuple(sizes[c] for c in output))
    if len(operands) == 1:
        return out, 0
    if len(operands) != 2:
        raise UnknownArgument(Unknown("einsum with more than two operands"))
    total = math.prod(sizes.values())
    contracted = any(c not in output for c in sizes)
    return out, total if contracted else total // 2
