"""einops as shapes: ``rearrange``, ``repeat``, ``reduce``, ``pack``/``unpack`` and the
``Rearrange``/``Reduce`` layers that vision transformers patchify with.

They only move, copy or reduce elements: fvcore counts the reshapes, permutes and
expands they trace to as 0, and has no handle for the means and sums of ``reduce``, so
each costs 0 MACs here too. What matters is the shape, which the pattern decides:
``"b c (h p1) (w p2) -> b (h w) (p1 p2 c)"`` with ``p1=16, p2=16``.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from greenlint.analyzer.cost.layers import custom_spec
from greenlint.analyzer.cost.tensor_ops import UnknownArgument
from greenlint.analyzer.cost.values import EvalError, Layer, Param, Tensor, Unknown

if TYPE_CHECKING:
    from greenlint.analyzer.cost.interpreter import Interpreter

ELLIPSIS = "..."
_TOKEN = re.compile(r"\(|\)|\.\.\.|[A-Za-z_][A-Za-z0-9_]*|\d+|\*")


def parse_side(text: str) -> list[list[str]]:
    """``"b (h w) ... 1"`` -> ``[["b"], ["h", "w"], ["..."], ["1"]]``: one group per axis."""
    groups: list[list[str]] = []
    current: list[str] | None = None
    for token in _TOKEN.findall(text):
        if token == "(":
            if current is not None:
                raise UnknownArgument(Unknown(f"nested parentheses in the einops pattern {text!r}"))
            current = []
        elif token == ")":
            if current is None:
                raise UnknownArgument(Unknown(f"unbalanced einops pattern {text!r}"))
            groups.append(current)
            current = None
        elif current is not None:
            current.append(token)
        else:
            groups.append([token])
    return groups


def _solve(groups: list[list[str]], shape: tuple[int, ...], sizes: dict[str, int]) -> tuple[int, ...]:
    """Bind axis names to sizes from the input shape; returns the dims ``...`` stands for."""
    ellipsis_at = next((i for i, g in enumerate(groups) if g == [ELLIPSIS]), None)
    fixed = len(groups) - (1 if ellipsis_at is not None else 0)
    if len(shape) < fixed or (ellipsis_at is None and len(shape) != fixed):
        raise EvalError(f"einops pattern with {fixed} axes applied to shape {shape}")
    rest: tuple[int, ...] = ()
    dims = list(shape)
    if ellipsis_at is not None:
        extra = len(shape) - fixed
        rest = tuple(dims[ellipsis_at:ellipsis_at + extra])
        dims = dims[:ellipsis_at] + [-1] + dims[ellipsis_at + extra:]
    for group, dim in zip(groups, dims):
        if group == [ELLIPSIS]:
            continue
        known = math.prod(_size(name, sizes) for name in group if _size(name, sizes) is not None)
        missing = [name for name in group if _size(name, sizes) is None]
        if len(missing) > 1:
            raise UnknownArgument(Unknown(f"einops axes {', '.join(missing)} need sizes"))
        if missing:
            if known == 0 or dim % known:
                raise EvalError(f"einops axis of size {dim} does not split by {known}")
            sizes[missing[0]] = dim // known
        elif known != dim:
            raise EvalError(f"einops axis {'x'.join(group)} is {known}, not {dim}")
    return rest


def _size(name: str, sizes: dict[str, int]) -> int | None:
    if name.isdigit():
        return int(name)
    return sizes.get(name)


def _output(groups: list[list[str]], sizes: dict[str, int], rest: tuple[int, ...]) -> tuple[int, ...]:
    out: list[int] = []
    for group in groups:
        if group == [ELLIPSIS]:
            out.extend(rest)
            continue
        dims = [_size(name, sizes) for name in group]
        if any(d is None for d in dims):
            unknown = [n for n, d in zip(group, dims) if d is None]
            raise UnknownArgument(Unknown(f"einops axes {', '.join(unknown)} need sizes"))
        out.append(math.prod(d for d in dims if d is not None))
    return tuple(out)


def transform(x: Tensor, pattern: str, axes: dict[str, Any]) -> Tensor:
    """The output shape of ``rearrange``/``repeat``/``reduce`` with ``pattern`` on ``x``."""
    if "->" not in pattern:
        raise UnknownArgument(Unknown(f"einops pattern {pattern!r} has no '->'"))
    left, right = pattern.split("->")
    sizes: dict[str, int] = {}
    for name, value in axes.items():
        if isinstance(value, Unknown):
            raise UnknownArgument(value)
        if isinstance(value, int) and not isinstance(value, bool):
            sizes[name] = value
    rest = _solve(parse_side(left), x.shape, sizes)
    return Tensor(_output(parse_side(right), sizes, rest), x.integer)


def _pattern_call(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    tensor, pattern = (args + [None, None])[:2]
    pattern = kwargs.pop("pattern", pattern)
    axes = {k: v for k, v in kwargs.items() if k not in ("reduction", "tensor")}
    if isinstance(tensor, (list, tuple)):
        from greenlint.analyzer.cost.functions import call_builtin

        tensor = call_builtin(interp, "torch.stack", [list(tensor)], {})
    return _apply(tensor, pattern, axes)


def _apply(tensor: Any, pattern: Any, axes: dict[str, Any]) -> Any:
    if isinstance(tensor, Param):
        tensor = tensor.as_tensor()
    if isinstance(tensor, Unknown):
        return tensor
    if not isinstance(tensor, Tensor):
        raise EvalError("einops on a value that is not a tensor")
    if not isinstance(pattern, str):
        return Unknown("einops pattern the source does not fix")
    try:
        return transform(tensor, pattern, axes)
    except UnknownArgument as error:
        return error.unknown


def _reduce_call(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if len(args) >= 3:
        kwargs = {**kwargs, "reduction": args[2]}
        args = args[:2]
    return _pattern_call(interp, args, kwargs)


def pack(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """``pack([cls, x], "b * d")`` -> (packed, packed shapes): the ``*`` axes are joined."""
    tensors, pattern = (args + [None, None])[:2]
    pattern = kwargs.get("pattern", pattern)
    if not isinstance(tensors, (list, tuple)) or not isinstance(pattern, str):
        return Unknown("einops.pack of values the source does not fix")
    groups = parse_side(pattern)
    star = next((i for i, g in enumerate(groups) if g == ["*"]), None)
    if star is None or not all(isinstance(t, Tensor) for t in tensors):
        return Unknown("einops.pack without a '*' axis or of unknown tensors")
    after = len(groups) - star - 1
    shapes = []
    total = 0
    for t in tensors:
        middle = t.shape[star:len(t.shape) - after]
        shapes.append(middle)
        total += math.prod(middle)
    first = tensors[0]
    out = first.shape[:star] + (total,) + first.shape[len(first.shape) - after:]
    return (Tensor(out, first.integer), shapes)


def unpack(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """``unpack(packed, ps, "b * d")`` -> the tensors ``pack`` joined."""
    packed, shapes, pattern = (args + [None, None, None])[:3]
    pattern = kwargs.get("pattern", pattern)
    if not isinstance(packed, Tensor) or not isinstance(shapes, (list, tuple)) or not isinstance(pattern, str):
        return Unknown("einops.unpack of values the source does not fix")
    groups = parse_side(pattern)
    star = next((i for i, g in enumerate(groups) if g == ["*"]), None)
    if star is None:
        return Unknown("einops.unpack without a '*' axis")
    after = len(groups) - star - 1
    head, tail = packed.shape[:star], packed.shape[len(packed.shape) - after:]
    return [Tensor(head + tuple(s) + tail, packed.integer) for s in shapes]


def _layer_forward(rt: Any, layer: Layer, args: list[Any], kwargs: dict[str, Any]) -> Any:
    x = args[0] if args else next(iter(kwargs.values()), None)
    return _apply(x, layer.args.get("pattern"), dict(layer.args.get("axes", {})))


def layer(interp: Interpreter, args: list[Any], kwargs: dict[str, Any], name: str) -> Layer:
    """``Rearrange("b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=16, p2=16)`` as a layer."""
    pattern = args[0] if args else kwargs.pop("pattern", None)
    axes = {k: v for k, v in kwargs.items() if k != "reduction"}
    return Layer(custom_spec(name, _layer_forward), {"pattern": pattern, "axes": axes})


def meshgrid(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """``torch.meshgrid(a, b, indexing="ij")``: one tensor per input, shaped by all lengths."""
    items = list(args[0]) if len(args) == 1 and isinstance(args[0], (list, tuple)) else list(args)
    if not items or not all(isinstance(t, Tensor) and t.ndim <= 1 for t in items):
        return Unknown("torch.meshgrid of values the source does not fix")
    lengths = [t.shape[0] if t.shape else 1 for t in items]
    if kwargs.get("indexing") == "xy" and len(lengths) >= 2:
        lengths[0], lengths[1] = lengths[1], lengths[0]
    return tuple(Tensor(tuple(lengths), t.integer) for t in items)


HANDLERS = {
    "einops.rearrange": _pattern_call,
    "einops.repeat": _pattern_call,
    "einops.reduce": _reduce_call,
    "einops.pack": pack,
    "einops.unpack": unpack,
    "einops.layers.torch.Rearrange": lambda interp, args, kwargs: layer(interp, args, dict(kwargs), "Rearrange"),
    "einops.layers.torch.Reduce": lambda interp, args, kwargs: layer(interp, args, dict(kwargs), "Reduce"),
    "torch.meshgrid": meshgrid,
}
