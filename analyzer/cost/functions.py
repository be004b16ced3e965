"""Library functions and methods the cost model follows: torch, torch.nn.functional,
tensor methods, module methods, and the Python builtins model code uses.

Each maps abstract arguments to an abstract result (see ``values``) and counts MACs the
way fvcore does (``tensor_ops``). A function that is not here returns an ``Unknown`` that
names it, so an estimate never silently treats an unknown op as free when a shape, not
just a cost, depends on it.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from greenlint.analyzer.cost import einops_ops, layers, records
from greenlint.analyzer.cost import tensor_ops as ops
from greenlint.analyzer.cost.tensor_ops import UnknownArgument
from greenlint.analyzer.cost.values import (
    Builtin,
    ClassRef,
    EvalError,
    Instance,
    Layer,
    Param,
    Ref,
    Tensor,
    Unknown,
)

if TYPE_CHECKING:
    from greenlint.analyzer.cost.interpreter import Interpreter

Handler = Callable[["Interpreter", list[Any], dict[str, Any]], Any]
MethodHandler = Callable[["Interpreter", Any, list[Any], dict[str, Any]], Any]

PYTHON_BUILTINS = frozenset(
    {
        "len", "range", "int", "float", "bool", "str", "min", "max", "sum", "abs", "round", "isinstance", "getattr",
        "setattr", "hasattr", "enumerate", "zip", "list", "tuple", "dict", "set", "frozenset", "print", "sorted",
        "reversed", "any", "all", "divmod", "pow", "type", "map", "iter", "next", "object", "repr", "format",
        "callable", "issubclass", "id", "hash", "slice", "NotImplementedError", "ValueError", "TypeError",
        "RuntimeError", "Exception", "AssertionError", "KeyError", "IndexError", "filter",
    }
)
#: Library constants model code computes with (``math.sqrt(2 / math.pi)``).
CONSTANTS: Mapping[str, Any] = MappingProxyType(
    {"math.pi": math.pi, "math.e": math.e, "math.inf": math.inf, "numpy.pi": math.pi, "numpy.inf": math.inf, "numpy.e": math.e}
)
#: Libraries whose results never hold trainable parameters: data, transforms, metrics,
#: environments, the standard library's plumbing. (Not ``copy`` or ``functools``: a deep
#: copy or a partial of a layer does.)
INERT_PREFIXES = (
    "os.", "sys.", "pathlib.", "logging.", "time.", "datetime.", "random.", "json.", "re.", "math.", "string.", "platform.",
    "numpy.", "np.", "pandas.", "PIL.", "torchvision.transforms.", "torchvision.datasets.", "torchvision.io.",
    "torch.utils.data.", "torchmetrics.", "kornia.augmentation.", "gym.", "gymnasium.", "evaluate.", "datasets.",
    "tqdm.", "wandb.", "tensorboard.", "torch.utils.tensorboard.", "matplotlib.", "collections.Counter", "torch.distributions.",
    "torch.optim.", "transformers.AutoTokenizer", "transformers.DataCollator",
)
INTEGER_DTYPES = ("torch.long", "torch.int64", "torch.int", "torch.int32", "torch.int16", "torch.int8", "torch.uint8", "torch.bool")


# -- helpers --------------------------------------------------------------------------


def as_tensor(value: Any) -> Tensor | None:
    if isinstance(value, Tensor):
        return value
    if isinstance(value, Param):
        tensor = value.as_tensor()
        return tensor if isinstance(tensor, Tensor) else None
    return None


def need(value: Any, what: str) -> Tensor:
    tensor = as_tensor(value)
    if tensor is not None:
        return tensor
    if isinstance(value, Unknown):
        raise UnknownArgument(value)
    if isinstance(value, Param):
        numel = value.numel
        raise UnknownArgument(numel if isinstance(numel, Unknown) else Unknown("parameter shape"))
    raise EvalError(f"{what} expects a tensor, got {type(value).__name__}")


def _arg(args: list[Any], kwargs: dict[str, Any], index: int, name: str, default: Any = None) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _sizes(args: list[Any], kwargs: dict[str, Any], start: int = 0) -> list[Any]:
    """Size arguments given as varargs (``zeros(2, 3)``) or one sequence (``zeros((2, 3))``)."""
    rest = args[start:]
    if not rest and "size" in kwargs:
        rest = [kwargs["size"]]
    if len(rest) == 1 and isinstance(rest[0], (list, tuple)):
        return list(rest[0])
    return list(rest)


def _shape_of(sizes: list[Any]) -> tuple[int, ...]:
    return tuple(ops.as_int(s, "size") for s in sizes)


def _integer(kwargs: dict[str, Any]) -> bool:
    dtype = kwargs.get("dtype")
    return isinstance(dtype, Ref) and dtype.name in INTEGER_DTYPES


def _guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn an unknown argument that decides a shape into an Unknown result."""

    def wrapped(*a: Any) -> Any:
        try:
            return fn(*a)
        except UnknownArgument as error:
            return error.unknown

    return wrapped


# -- creation ---------------------------------------------------------------------------


def _create(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    return Tensor(_shape_of(_sizes(args, kwargs)), _integer(kwargs))


def _full(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    size = _arg(args, kwargs, 0, "size")
    return Tensor(_shape_of(list(size) if isinstance(size, (list, tuple)) else [size]), _integer(kwargs))


def _randint(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    size = kwargs.get("size")
    if size is None:
        size = next((a for a in args if isinstance(a, (list, tuple))), None)
    if size is None:
        raise EvalError("randint without a size")
    return Tensor(_shape_of(list(size)), True)


def _like(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    source = need(_arg(args, kwargs, 0, "input"), "*_like")
    return Tensor(source.shape, _integer(kwargs) or source.integer)


def _arange(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    values = [kwargs.get("start", 0), kwargs.get("end"), kwargs.get("step", 1)]
    if len(args) == 1:
        values[1] = args[0]
    elif args:
        values[: len(args)] = args
    start, end, step = values
    for v in (start, end, step):
        if isinstance(v, Unknown):
            raise UnknownArgument(v)
    if isinstance(end, Tensor) or isinstance(start, Tensor):
        raise UnknownArgument(Unknown("arange over a tensor value"))
    if not all(isinstance(v, (int, float)) for v in (start, end, step)):
        raise UnknownArgument(Unknown("arange bounds that are not numbers"))
    length = max(0, math.ceil((end - start) / step))
    integer = all(isinstance(v, int) for v in (start, end, step)) and "dtype" not in kwargs or _integer(kwargs)
    return Tensor((length,), integer)


def _linspace(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    return Tensor((ops.as_int(_arg(args, kwargs, 2, "steps"), "steps"),))


def _eye(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    n = ops.as_int(_arg(args, kwargs, 0, "n"), "n")
    m = _arg(args, kwargs, 1, "m")
    return Tensor((n, ops.as_int(m, "m") if m is not None else n))


def _tensor_literal(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    data = _arg(args, kwargs, 0, "data")
    existing = as_tensor(data)
    if existing is not None:
        return existing

    def shape(value: Any) -> tuple[int, ...]:
        if isinstance(value, (list, tuple)):
            inner = shape(value[0]) if value else ()
            return (len(value), *inner)
        if isinstance(value, (int, float, bool)):
            return ()
        raise UnknownArgument(Unknown("tensor data the source does not fix"))

    def all_int(value: Any) -> bool:
        if isinstance(value, (list, tuple)):
            return all(all_int(v) for v in value)
        return isinstance(value, int)

    return Tensor(shape(data), all_int(data) or _integer(kwargs))


def _parameter(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    data = _arg(args, kwargs, 0, "data")
    if isinstance(data, Param):
        return data
    tensor = as_tensor(data)
    if tensor is None:
        if isinstance(data, Unknown):
            return Param((data,))
        return Param((Unknown("nn.Parameter of a value the source does not fix"),))
    return Param(tensor.shape)


# -- element-wise, shape and reduction functions ---------------------------------------------


def _same_shape(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    value = _arg(args, kwargs, 0, "input")
    tensor = as_tensor(value)
    if tensor is not None:
        return Tensor(tensor.shape)
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, Unknown):
        return value
    raise EvalError(f"element-wise function on {type(value).__name__}")


def _binary_fn(op: str) -> Handler:
    def handler(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
        return tensor_binary(interp, op, _arg(args, kwargs, 0, "input"), _arg(args, kwargs, 1, "other"))

    return handler


def _where(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if len(args) < 3:
        return Unknown("torch.where with one argument returns data-dependent indices")
    shapes = [as_tensor(a).shape if as_tensor(a) is not None else () for a in args[:3]]
    out = shapes[0]
    for shape in shapes[1:]:
        out = ops.broadcast(out, shape)
    return Tensor(out)


def _matmul(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    return tensor_binary(interp, "@", _arg(args, kwargs, 0, "input"), _arg(args, kwargs, 1, "other"))


def _bmm(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    a, b = need(_arg(args, kwargs, 0, "input"), "bmm"), need(_arg(args, kwargs, 1, "mat2"), "bmm")
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise EvalError(f"bmm shapes {a.shape} and {b.shape}")
    interp.tally.add("matmul", a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2])
    return Tensor((a.shape[0], a.shape[1], b.shape[2]))


def _baddbmm(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    return _bmm(interp, [_arg(args, kwargs, 1, "batch1"), _arg(args, kwargs, 2, "batch2")], {})


def _addmm(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    a, b = need(_arg(args, kwargs, 1, "mat1"), "addmm"), need(_arg(args, kwargs, 2, "mat2"), "addmm")
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise EvalError(f"addmm shapes {a.shape} and {b.shape}")
    interp.tally.add("linear", a.shape[0] * a.shape[1] * b.shape[1])
    return Tensor((a.shape[0], b.shape[1]))


def _einsum(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    equation = args[0] if args else None
    operands = list(args[1:])
    if not isinstance(equation, str):
        operands, equation = list(args[:-1]), args[-1] if args else None
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = list(operands[0])
    if not isinstance(equation, str):
        raise UnknownArgument(Unknown("einsum equation is not literal"))
    tensors = [need(o, "einsum") for o in operands]
    out, macs = ops.einsum(equation, tensors)
    interp.tally.add("matmul", macs)
    return out


def _joined(args: list[Any], kwargs: dict[str, Any], what: str) -> tuple[list[Tensor], Any]:
    """The tensors and the dimension of ``torch.cat``/``torch.stack``."""
    items = _arg(args, kwargs, 0, "tensors")
    if isinstance(items, Unknown):
        raise UnknownArgument(items)
    tensors = [need(t, what) for t in items]
    if not tensors:
        raise EvalError(f"{what} of nothing")
    return tensors, _arg(args, kwargs, 1, "dim", 0)


def _cat(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    tensors, dim = _joined(args, kwargs, "cat")
    tensors = [t for t in tensors if t.shape != (0,)] or tensors
    d = ops.normalise_dim(dim, tensors[0].ndim)
    shape = list(tensors[0].shape)
    shape[d] = sum(t.shape[d] for t in tensors)
    return Tensor(tuple(shape), all(t.integer for t in tensors))


def _stack(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    tensors, dim = _joined(args, kwargs, "stack")
    d = ops.normalise_dim(dim, tensors[0].ndim + 1)
    shape = list(tensors[0].shape)
    shape.insert(d, len(tensors))
    return Tensor(tuple(shape))


def _reduction(kind: str) -> MethodHandler:
    def handler(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        tensor = need(x, kind)
        dim = _arg(args, kwargs, 0, "dim")
        keepdim = bool(_arg(args, kwargs, 1, "keepdim", False))
        if kind in ("max", "min") and as_tensor(dim) is not None:
            return tensor_binary(interp, "+", tensor, dim)
        if isinstance(dim, Unknown):
            raise UnknownArgument(dim)
        shape = ops.reduce(tensor.shape, dim, keepdim)
        integer = kind in ("argmax", "argmin")
        if kind in ("max", "min", "median", "mode") and dim is not None:
            return (Tensor(shape, tensor.integer), Tensor(shape, True))
        return Tensor(shape, integer or (tensor.integer and kind in ("sum", "prod", "amax", "amin", "max", "min")))

    return handler


def _as_function(method: MethodHandler) -> Handler:
    def handler(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if not args:
            if "input" in kwargs:
                args = [kwargs.pop("input")]
            else:
                raise EvalError("missing input")
        return method(interp, args[0], list(args[1:]), kwargs)

    return handler


# -- torch.nn.functional -------------------------------------------------------------------


def _f_linear(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    x = need(_arg(args, kwargs, 0, "input"), "linear")
    w = need(_arg(args, kwargs, 1, "weight"), "linear")
    if x.shape[-1] != w.shape[-1]:
        raise EvalError(f"linear of {x.shape} with weight {w.shape}")
    out = w.shape[0] if w.ndim == 2 else 1
    interp.tally.add("linear", math.prod(x.shape) * out)
    return Tensor(x.shape[:-1] + ((out,) if w.ndim == 2 else ()))


def _f_conv(n: int, transposed: bool) -> Handler:
    def handler(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
        x = need(_arg(args, kwargs, 0, "input"), "conv")
        w = need(_arg(args, kwargs, 1, "weight"), "conv")
        names = ["input", "weight", "bias", "stride", "padding"] + (["output_padding", "groups", "dilation"] if transposed else ["dilation", "groups"])
        bound = dict(zip(names, args))
        bound.update(kwargs)
        return layers.conv(interp, x, w.shape, n, transposed, bound.get("stride", 1), bound.get("padding", 0),
                           bound.get("dilation", 1), bound.get("output_padding", 0), bound.get("groups", 1), f"conv{n}d")

    return handler


def _f_pool(n: int) -> Handler:
    def handler(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
        x = need(_arg(args, kwargs, 0, "input"), "pool")
        kernel = _arg(args, kwargs, 1, "kernel_size")
        stride = _arg(args, kwargs, 2, "stride")
        padding = _arg(args, kwargs, 3, "padding", 0)
        names = ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode")
        bound = dict(zip(names, args))
        bound.update(kwargs)
        dilation = bound.get("dilation", 1) if isinstance(bound.get("dilation", 1), int) else 1
        ceil = bool(bound.get("ceil_mode", False)) if isinstance(bound.get("ceil_mode", False), bool) else False
        return layers.pool(x, n, kernel, stride, padding, dilation, ceil, f"pool{n}d")

    return handler


def _f_adaptive(n: int, average: bool) -> Handler:
    def handler(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
        x = need(_arg(args, kwargs, 0, "input"), "adaptive pool")
        return layers.adaptive_pool(interp, x, n, _arg(args, kwargs, 1, "output_size"), average, "adaptive pool")

    return handler


def _f_interpolate(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    x = need(_arg(args, kwargs, 0, "input"), "interpolate")
    return layers.interpolate(interp, x, _arg(args, kwargs, 1, "size"), _arg(args, kwargs, 2, "scale_factor"),
                              _arg(args, kwargs, 3, "mode", "nearest"))


def _f_pad(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    x = need(_arg(args, kwargs, 0, "input"), "pad")
    pads = _arg(args, kwargs, 1, "pad")
    if isinstance(pads, Unknown):
        raise UnknownArgument(pads)
    return layers.pad(x, list(pads))


def _f_norm(kind: str, weight_index: int) -> Handler:
    def handler(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
        x = need(_arg(args, kwargs, 0, "input"), kind)
        names = {"layer_norm": ("input", "normalized_shape", "weight", "bias"), "group_norm": ("input", "num_groups", "weight", "bias"),
                 "instance_norm": ("input", "running_mean", "running_var", "weight", "bias"),
                 "batch_norm": ("input", "running_mean", "running_var", "weight", "bias", "training")}[kind]
        bound = dict(zip(names, args))
        bound.update(kwargs)
        affine = bound.get("weight") is not None
        if kind == "batch_norm":
            training = bound.get("training", False) is True or bound.get("running_mean") is None
            interp.tally.add("batch_norm", ops.batch_norm_macs(x.numel, affine, training))
        elif kind == "layer_norm" or kind == "group_norm" or kind == "instance_norm":
            interp.tally.add(kind, ops.norm_macs(x.numel, affine))
        return x

    return handler


def _f_embedding(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    x = need(_arg(args, kwargs, 0, "input"), "embedding")
    w = need(_arg(args, kwargs, 1, "weight"), "embedding")
    return Tensor(x.shape + (w.shape[-1],))


def _f_one_hot(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    x = need(_arg(args, kwargs, 0, "tensor"), "one_hot")
    classes = _arg(args, kwargs, 1, "num_classes", -1)
    if classes == -1:
        raise UnknownArgument(Unknown("one_hot without num_classes"))
    return Tensor(x.shape + (ops.as_int(classes, "num_classes"),), True)


def sdpa(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """``F.scaled_dot_product_attention``: QK^T and AV over the full L x S matrix."""
    q = need(_arg(args, kwargs, 0, "query"), "scaled_dot_product_attention")
    k = need(_arg(args, kwargs, 1, "key"), "scaled_dot_product_attention")
    v = need(_arg(args, kwargs, 2, "value"), "scaled_dot_product_attention")
    if q.shape[-1] != k.shape[-1]:
        raise EvalError(f"attention query {q.shape} and key {k.shape}")
    batch = math.prod(q.shape[:-2])
    target, source, embed, value_dim = q.shape[-2], k.shape[-2], q.shape[-1], v.shape[-1]
    interp.tally.add("attention", batch * target * source * (embed + value_dim))
    return Tensor(q.shape[:-1] + (value_dim,))


def _loss(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if kwargs.get("reduction") == "none" and args:
        tensor = as_tensor(args[0])
        if tensor is not None:
            return tensor
    return Tensor(())


def _normalize(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    return need(_arg(args, kwargs, 0, "input"), "normalize")


def _glu(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    x = need(_arg(args, kwargs, 0, "input"), "glu")
    d = ops.normalise_dim(_arg(args, kwargs, 1, "dim", -1), x.ndim)
    return Tensor(x.shape[:d] + (x.shape[d] // 2,) + x.shape[d + 1 :])


def _cosine_similarity(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    a, b = need(args[0], "cosine_similarity"), need(args[1], "cosine_similarity")
    shape = ops.broadcast(a.shape, b.shape)
    return Tensor(ops.reduce(shape, _arg(args, kwargs, 2, "dim", 1), False))


def _noop(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    return None


def _false(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    return False


def _first_arg(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
    return args[0] if args else None


def _math(function: Callable[..., Any]) -> Handler:
    def handler(interp: Interpreter, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if any(isinstance(a, Unknown) for a in args):
            return next(a for a in args if isinstance(a, Unknown))
        tensor = next((as_tensor(a) for a in args if as_tensor(a) is not None), None)
        if tensor is not None:
            return Tensor(tensor.shape)
        try:
            return function(*args)
        except Exception:  # noqa: BLE001
            return Unknown(f"{getattr(function, '__name__', 'math')}() of these values")

    return handler


_ELEMENTWISE = (
    "relu", "relu_", "relu6", "elu", "selu", "celu", "gelu", "silu", "mish", "leaky_relu", "leaky_relu_", "hardtanh",
    "hardswish", "hardsigmoid", "sigmoid", "tanh", "softplus", "softsign", "logsigmoid", "softmax", "log_softmax",
    "softmin", "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout", "threshold",
    "exp", "log", "log2", "log1p", "sqrt", "rsqrt", "abs", "sin", "cos", "neg", "erf", "clamp", "clip", "square",
    "sign", "floor", "ceil", "round", "nan_to_num", "reciprocal", "tril", "triu", "flip", "roll", "exp2", "hardshrink",
    "softshrink", "tanhshrink", "rrelu", "prelu", "silu_", "sigmoid_", "tanh_", "detach", "clone", "contiguous",
    "masked_fill", "pow", "logit", "cumsum", "cumprod", "nan_to_num_", "erfinv", "atan", "asin", "acos",
)


def _build_functions() -> dict[str, Handler]:
    table: dict[str, Handler] = {}
    for name in ("zeros", "ones", "empty", "randn", "rand"):
        table[f"torch.{name}"] = _create
    table["torch.full"] = _full
    table["torch.randint"] = _randint
    for name in ("zeros_like", "ones_like", "empty_like", "randn_like", "rand_like", "full_like", "randint_like"):
        table[f"torch.{name}"] = _like
    table["torch.arange"] = _arange
    table["torch.linspace"] = _linspace
    table["torch.eye"] = _eye
    for name in ("torch.tensor", "torch.as_tensor", "torch.Tensor", "torch.FloatTensor", "torch.LongTensor"):
        table[name] = _tensor_literal
    for name in ("torch.nn.Parameter", "torch.nn.parameter.Parameter", "nn.Parameter"):
        table[name] = _parameter
    for name in _ELEMENTWISE:
        table[f"torch.{name}"] = _same_shape
        table[f"torch.nn.functional.{name}"] = _same_shape
    for op, names in {"+": ("add",), "-": ("sub", "subtract"), "*": ("mul", "multiply"), "/": ("div", "divide", "true_divide"),
                      "max": ("maximum", "fmax"), "min": ("minimum", "fmin"), "==": ("eq", "ne", "gt", "lt", "ge", "le", "logical_and",
                      "logical_or", "logical_xor", "isclose")}.items():
        for name in names:
            table[f"torch.{name}"] = _binary_fn(op)
    table["torch.where"] = _where
    table["torch.matmul"] = _matmul
    table["torch.mm"] = _matmul
    table["torch.bmm"] = _bmm
    table["torch.baddbmm"] = _baddbmm
    table["torch.addmm"] = _addmm
    table.update(records.HANDLERS)
    table.update(einops_ops.HANDLERS)
    table["torch.einsum"] = _einsum
    table["einops.einsum"] = _einsum
    table["torch.cat"] = _cat
    table["torch.concat"] = _cat
    table["torch.concatenate"] = _cat
    table["torch.stack"] = _stack
    for name, method in _TENSOR_METHODS_FOR_FUNCTIONS().items():
        table.setdefault(f"torch.{name}", _as_function(method))
    table["torch.nn.functional.linear"] = _f_linear
    for n in (1, 2, 3):
        table[f"torch.nn.functional.conv{n}d"] = _f_conv(n, False)
        table[f"torch.conv{n}d"] = _f_conv(n, False)
        table[f"torch.nn.functional.conv_transpose{n}d"] = _f_conv(n, True)
        for kind in ("max", "avg"):
            table[f"torch.nn.functional.{kind}_pool{n}d"] = _f_pool(n)
            table[f"torch.{kind}_pool{n}d"] = _f_pool(n)
        table[f"torch.nn.functional.adaptive_avg_pool{n}d"] = _f_adaptive(n, True)
        table[f"torch.nn.functional.adaptive_max_pool{n}d"] = _f_adaptive(n, False)
    table["torch.nn.functional.interpolate"] = _f_interpolate
    table["torch.nn.functional.upsample"] = _f_interpolate
    table["torch.nn.functional.pad"] = _f_pad
    for kind, index in (("layer_norm", 2), ("group_norm", 2), ("instance_norm", 3), ("batch_norm", 3)):
        table[f"torch.nn.functional.{kind}"] = _f_norm(kind, index)
        table[f"torch.{kind}"] = _f_norm(kind, index)
    table["torch.nn.functional.rms_norm"] = _same_shape
    table["torch.nn.functional.embedding"] = _f_embedding
    table["torch.nn.functional.one_hot"] = _f_one_hot
    table["torch.nn.functional.scaled_dot_product_attention"] = sdpa
    table["torch.nn.functional.normalize"] = _normalize
    table["torch.nn.functional.glu"] = _glu
    table["torch.nn.functional.cosine_similarity"] = _cosine_similarity
    for loss in ("cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
                 "binary_cross_entropy_with_logits", "kl_div", "cosine_embedding_loss", "ctc_loss"):
        table[f"torch.nn.functional.{loss}"] = _loss
    for name in ("torch.no_grad", "torch.enable_grad", "torch.inference_mode", "torch.autocast", "torch.cuda.amp.autocast",
                 "torch.amp.autocast", "torch.manual_seed", "torch.set_grad_enabled", "warnings.warn", "logging.info",
                 "torch._assert", "torch.cuda.synchronize"):
        table[name] = _noop
    for name in ("torch.cuda.is_available", "torch.jit.is_scripting", "torch.jit.is_tracing", "torch.is_grad_enabled",
                 "torch.backends.mps.is_available", "torch.compiler.is_compiling", "torch.distributed.is_initialized"):
        table[name] = _false
    for name in ("torch.jit.script", "torch.compile", "torch.jit.ignore", "torch.no_grad.__call__", "functools.wraps"):
        table[name] = _first_arg
    table["torch.device"] = lambda interp, args, kwargs: Ref("torch.device")
    table["torch.Size"] = lambda interp, args, kwargs: tuple(args[0]) if args and isinstance(args[0], (list, tuple)) else ()
    for name in ("sqrt", "log", "exp", "ceil", "floor", "cos", "sin", "log2", "log10", "pow", "prod", "isqrt", "gcd", "tanh", "erf"):
        if hasattr(math, name):
            table[f"math.{name}"] = _math(getattr(math, name))
    for name in ("sqrt", "log", "exp", "ceil", "floor", "prod", "sum"):
        fn = {"prod": math.prod, "sum": sum}.get(name, getattr(math, name, None))
        if fn is not None:
            table[f"numpy.{name}"] = _math(fn)
    return table


def _TENSOR_METHODS_FOR_FUNCTIONS() -> dict[str, MethodHandler]:  # noqa: N802 - a table builder
    names = ("flatten", "reshape", "transpose", "permute", "squeeze", "unsqueeze", "swapaxes", "chunk", "split", "narrow",
             "sum", "mean", "max", "min", "amax", "amin", "argmax", "argmin", "prod", "std", "var", "norm", "logsumexp",
             "all", "any", "topk", "sort", "argsort", "unbind", "t", "masked_fill", "gather", "index_select", "repeat_interleave",
             "softmax", "log_softmax", "median")
    return {name: METHODS[name] for name in names if name in METHODS}


# -- tensor methods -----------------------------------------------------------------------------


def _view(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    t = need(x, "view")
    sizes = _sizes(args, kwargs)
    if sizes and isinstance(sizes[0], Ref):
        return t
    for s in sizes:
        if isinstance(s, Unknown):
            raise UnknownArgument(s)
    return t.with_shape(ops.reshape(t.shape, sizes))


def _view_as(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    t, other = need(x, "view_as"), need(args[0], "view_as")
    return t.with_shape(ops.reshape(t.shape, list(other.shape)))


def _flatten_m(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    t = need(x, "flatten")
    return t.with_shape(ops.flatten(t.shape, _arg(args, kwargs, 0, "start_dim", 0), _arg(args, kwargs, 1, "end_dim", -1)))


def _unflatten_m(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    t = need(x, "unflatten")
    d = ops.normalise_dim(_arg(args, kwargs, 0, "dim"), t.ndim)
    sizes = ops.reshape((t.shape[d],), list(_arg(args, kwargs, 1, "sizes")))
    return t.with_shape(t.shape[:d] + sizes + t.shape[d + 1 :])


def _permute(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    t = need(x, "permute")
    dims = _sizes(args, {"size": kwargs["dims"]} if "dims" in kwargs else {})
    order = [ops.normalise_dim(d, t.ndim) for d in dims]
    if sorted(order) != list(range(t.ndim)):
        raise EvalError(f"permute {dims} of shape {t.shape}")
    return t.with_shape(tuple(t.shape[d] for d in order))


def _transpose(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    t = need(x, "transpose")
    a = ops.normalise_dim(_arg(args, kwargs, 0, "dim0"), t.ndim)
    b = ops.normalise_dim(_arg(args, kwargs, 1, "dim1"), t.ndim)
    shape = list(t.shape)
    shape[a], shape[b] = shape[b], shape[a]
    return t.with_shape(tuple(shape))


def _t(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    t = need(x, "t")
    return t.with_shape(tuple(reversed(t.shape))) if t.ndim == 2 else t


def _unsqueeze(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    t = need(x, "unsqueeze")
    d = ops.normalise_dim(_arg(args, kwargs, 0, "dim"), t.ndim + 1)
    return t.with_shape(t.shape[:d] + (1,) + t.shape[d:])


def _squeeze(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    t = need(x, "squeeze")
    dim = _arg(args, kwargs, 0, "dim")
    if dim is None:
        return t.with_shape(tuple(s for s in t.shape if s != 1))
    dims = dim if isinstance(dim, (list, tuple)) else [dim]
    axes = {ops.normalise_dim(d, t.ndim) for d in dims}
    return t.with_shape(tuple(s for i, s in enumerate(t.shape) if not (i in axes and s == 1)))


def _expand(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    t = need(x, "expand")
    sizes = [ops.as_int(s, "expand size") for s in _sizes(args, kwargs)]
    shape = list(t.shape)
    shape = [1] * (len(sizes) - len(shape)) + shape
    return t.with_shape(tuple(old if new == -1 else new for old, new in zip(shape, sizes)))


def _expand_as(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    return Tensor(need(args[0], "expand_as").shape, need(x, "expand_as").integer)


def _repeat(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    t = need(x, "repeat")
    sizes = [ops.as_int(s, "repeat") for s in _sizes(args, kwargs)]
    shape = [1] * (len(sizes) - t.ndim) + list(t.shape)
    return t.with_shape(tuple(a * b for a, b in zip(shape, sizes)))


def _repeat_interleave(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    t = need(x, "repeat_interleave")
    repeats = ops.as_int(_arg(args, kwargs, 0, "repeats"), "repeats")
    dim = _arg(args, kwargs, 1, "dim")
    if dim is None:
        return t.with_shape((t.numel * repeats,))
    d = ops.normalise_dim(dim, t.ndim)
    return t.with_shape(t.shape[:d] + (t.shape[d] * repeats,) + t.shape[d + 1 :])


def _split(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    t = need(x, "split")
    size = _arg(args, kwargs, 0, "split_size_or_sections", kwargs.get("split_size"))
    d = ops.normalise_dim(_arg(args, kwargs, 1, "dim", 0), t.ndim)
    if isinstance(size, (list, tuple)):
        parts = [ops.as_int(s, "split") for s in size]
    else:
        step = ops.as_int(size, "split size")
        parts = [min(step, t.shape[d] - i) for i in range(0, t.shape[d], step)]
    return tuple(t.with_shape(t.shape[:d] + (p,) + t.shape[d + 1 :]) for p in parts)


def _chunk(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    t = need(x, "chunk")
    chunks = ops.as_int(_arg(args, kwargs, 0, "chunks"), "chunks")
    d = ops.normalise_dim(_arg(args, kwargs, 1, "dim", 0), t.ndim)
    step = -(-t.shape[d] // chunks)
    return _split(interp, t, [step, d], {})


def _unbind(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    t = need(x, "unbind")
    d = ops.normalise_dim(_arg(args, kwargs, 0, "dim", 0), t.ndim)
    if t.shape[d] > 4096:
        raise UnknownArgument(Unknown("unbind into too many tensors"))
    return tuple(t.with_shape(t.shape[:d] + t.shape[d + 1 :]) for _ in range(t.shape[d]))


def _narrow(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    t = need(x, "narrow")
    d = ops.normalise_dim(_arg(args, kwargs, 0, "dim"), t.ndim)
    length = ops.as_int(_arg(args, kwargs, 2, "length"), "length")
    return t.with_shape(t.shape[:d] + (length,) + t.shape[d + 1 :])


def _size(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    t = need(x, "size")
    dim = _arg(args, kwargs, 0, "dim")
    if dim is None:
        return tuple(t.shape)
    return t.shape[ops.normalise_dim(dim, t.ndim)]


def _identity(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    t = as_tensor(x)
    if t is None:
        need(x, "tensor method")
    return x if isinstance(x, Param) else t


def _to_float(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    return Tensor(need(x, "float").shape)


def _to_long(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    return Tensor(need(x, "long").shape, True)


def _to(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    t = need(x, "to")
    dtype = kwargs.get("dtype") or next((a for a in args if isinstance(a, Ref) and a.name.startswith("torch.")), None)
    if isinstance(dtype, Ref) and dtype.name in INTEGER_DTYPES:
        return Tensor(t.shape, True)
    if isinstance(dtype, Ref) and dtype.name.startswith("torch.float"):
        return Tensor(t.shape)
    other = next((as_tensor(a) for a in args if as_tensor(a) is not None), None)
    if other is not None:
        return Tensor(t.shape, other.integer)
    return t


def _new(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    need(x, "new_*")
    return Tensor(_shape_of(_sizes(args, kwargs)), _integer(kwargs))


def _new_tensor(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    return _tensor_literal(interp, args, kwargs)


def _binary_method(op: str) -> MethodHandler:
    def handler(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        return tensor_binary(interp, op, x, _arg(args, kwargs, 0, "other"))

    return handler


def _matmul_method(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    return tensor_binary(interp, "@", x, args[0])


def _bmm_method(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    return _bmm(interp, [x, args[0]], {})


def _index_select(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    t = need(x, "index_select")
    d = ops.normalise_dim(_arg(args, kwargs, 0, "dim"), t.ndim)
    index = need(_arg(args, kwargs, 1, "index"), "index_select")
    return t.with_shape(t.shape[:d] + (index.numel,) + t.shape[d + 1 :])


def _gather(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    t = need(x, "gather")
    return Tensor(need(_arg(args, kwargs, 1, "index"), "gather").shape, t.integer)


def _topk(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    t = need(x, "topk")
    k = ops.as_int(_arg(args, kwargs, 0, "k"), "k")
    d = ops.normalise_dim(_arg(args, kwargs, 1, "dim", -1), t.ndim)
    shape = t.shape[:d] + (k,) + t.shape[d + 1 :]
    return (Tensor(shape, t.integer), Tensor(shape, True))


def _sort(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    t = need(x, "sort")
    return (t, Tensor(t.shape, True))


def _argsort(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    return Tensor(need(x, "argsort").shape, True)


def _dim(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    return need(x, "dim").ndim


def _numel(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if isinstance(x, Param):
        return x.numel
    return need(x, "numel").numel


def _scalar(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    return Unknown("a tensor's value is only known at run time")


def _elementwise_method(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    t = need(x, "element-wise method")
    return Tensor(t.shape, t.integer)


def _inplace(interp: Interpreter, x: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if isinstance(x, Param):
        return x
    return need(x, "in-place method")


def _build_methods() -> dict[str, MethodHandler]:
    table: dict[str, MethodHandler] = {
        "view": _view, "reshape": _view, "view_as": _view_as, "reshape_as": _view_as, "flatten": _flatten_m,
        "unflatten": _unflatten_m, "permute": _permute, "transpose": _transpose, "swapaxes": _transpose,
        "swapdims": _transpose, "t": _t, "unsqueeze": _unsqueeze, "squeeze": _squeeze, "expand": _expand,
        "expand_as": _expand_as, "repeat": _repeat, "repeat_interleave": _repeat_interleave, "split": _split,
        "chunk": _chunk, "unbind": _unbind, "narrow": _narrow, "size": _size, "dim": _dim, "ndimension": _dim,
        "numel": _numel, "nelement": _numel, "item": _scalar, "tolist": _scalar, "numpy": _scalar,
        "float": _to_float, "half": _to_float, "double": _to_float, "bfloat16": _to_float, "long": _to_long,
        "int": _to_long, "bool": _to_long, "to": _to, "type": _to, "type_as": _to, "cuda": _identity, "cpu": _identity,
        "new_zeros": _new, "new_ones": _new, "new_empty": _new, "new_full": _new, "new_tensor": _new_tensor,
        "matmul": _matmul_method, "mm": _matmul_method, "bmm": _bmm_method, "index_select": _index_select,
        "gather": _gather, "topk": _topk, "sort": _sort, "argsort": _argsort, "masked_select": _scalar,
        "nonzero": _scalar,
    }
    for name in ("sum", "mean", "max", "min", "amax", "amin", "argmax", "argmin", "prod", "std", "var", "norm", "logsumexp",
                 "all", "any", "median", "nansum", "nanmean"):
        table[name] = _reduction(name)
    for name in _ELEMENTWISE:
        table.setdefault(name, _elementwise_method)
    for name in ("masked_fill_", "fill_", "zero_", "normal_", "uniform_", "copy_", "add_", "mul_", "sub_", "div_", "clamp_",
                 "requires_grad_", "detach_", "fill_diagonal_", "exponential_", "bernoulli_", "scatter_", "index_fill_",
                 "trunc_normal_", "masked_scatter_", "share_memory_", "retain_grad", "zero"):
        table[name] = _inplace
    for op, names in {"+": ("add", "__add__", "__radd__"), "-": ("sub", "__sub__"), "*": ("mul", "__mul__", "multiply"),
                      "/": ("div", "__truediv__", "divide"), "==": ("eq", "ne", "gt", "lt", "ge", "le", "logical_and",
                      "logical_or", "__and__", "__or__"), "max": ("maximum",), "min": ("minimum",)}.items():
        for name in names:
            table[name] = _binary_method(op)
    table["scatter"] = _elementwise_method
    table["softmax"] = _elementwise_method
    table["log_softmax"] = _elementwise_method
    return table


METHODS: Mapping[str, MethodHandler] = MappingProxyType(_build_methods())
FUNCTIONS: Mapping[str, Handler] = MappingProxyType(_build_functions())


# -- dispatch ---------------------------------------------------------------------------------


def call_builtin(interp: Interpreter, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """A library function by dotted name, or a Python builtin by bare name."""
    if name == "noop":
        return None
    if name in PYTHON_BUILTINS or name.startswith("builtins."):
        return _python(interp, name.removeprefix("builtins."), args, kwargs)
    if name == "collections.OrderedDict":  # nn.Sequential(OrderedDict([("conv0", ...), ...]))
        return _python(interp, "dict", args, kwargs)
    handler = FUNCTIONS.get(name) or FUNCTIONS.get(_canonical(name))
    if handler is None:
        if name.startswith(("torch.nn.init.", "torch.nn.utils.", "torch.cuda.", "logging.", "warnings.")):
            return None
        if name.startswith("torch.nn.modules.") or name.startswith("torch.nn.") and name.rpartition(".")[2][:1].isupper():
            return Unknown(f"{name.rpartition('.')[2]} is not a layer the cost model knows")
        return Unknown(f"{name}() is not modeled", inert=name.startswith(INERT_PREFIXES))
    try:
        return handler(interp, args, kwargs)
    except UnknownArgument as error:
        return error.unknown


def _canonical(name: str) -> str:
    """``torch.functional.F`` spellings and tensor-method aliases to one name."""
    for prefix, replacement in (("torch.nn.functional.", "torch.nn.functional."), ("F.", "torch.nn.functional."),
                                ("torch.Tensor.", "torch."), ("numpy.", "numpy."), ("np.", "numpy.")):
        if name.startswith(prefix):
            return replacement + name[len(prefix):]
    return name


def call_method(interp: Interpreter, receiver: Any, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """A method of a library value: tensor, parameter, layer, module, list, dict, string."""
    if isinstance(receiver, (Tensor, Param)):
        handler = METHODS.get(name)
        if handler is None:
            return Unknown(f"tensor.{name}() is not modeled")
        try:
            return handler(interp, receiver, args, kwargs)
        except UnknownArgument as error:
            return error.unknown
    if isinstance(receiver, (Layer, Instance)):
        from greenlint.analyzer.cost.attributes import module_method

        return module_method(interp, receiver, name, args, kwargs)
    if isinstance(receiver, Unknown):
        return receiver
    return _python_method(receiver, name, args, kwargs)


def call_other(interp: Interpreter, function: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if isinstance(function, records.RecordType):
        return function.build(args, kwargs)
    if isinstance(function, (type(len), type)) and function in (int, float, str, bool):
        return _python(interp, function.__name__, args, kwargs)
    return Unknown(f"calling a {type(function).__name__} is not modeled")


def _python(interp: Interpreter, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if name == "len":
        value = args[0] if args else None
        if isinstance(value, Layer):
            return len(value.children)
        tensor = as_tensor(value)
        if tensor is not None:
            return tensor.shape[0] if tensor.shape else Unknown("len() of a scalar")
        if isinstance(value, (list, tuple, dict, str, range, set)):
            return len(value)
        return value if isinstance(value, Unknown) else Unknown("len() of a value the source does not fix")
    if name == "isinstance":
        return _isinstance(args)
    if name == "getattr":
        if len(args) >= 2 and isinstance(args[1], str):
            value = interp.getattr(args[0], args[1])
            if isinstance(value, Unknown) and len(args) == 3:
                return args[2]
            return value
        return Unknown("getattr with a computed name")
    if name == "hasattr":
        if len(args) == 2 and isinstance(args[1], str):
            if isinstance(args[0], Ref) and args[0].name == "torch.nn.functional":
                return args[1] in ("scaled_dot_product_attention",) or f"torch.nn.functional.{args[1]}" in FUNCTIONS
            value = interp.getattr(args[0], args[1])
            return not isinstance(value, Unknown) if not isinstance(args[0], Unknown) else Unknown("hasattr of unknown")
        return Unknown("hasattr with a computed name")
    if name == "setattr":
        if len(args) == 3 and isinstance(args[1], str):
            interp.setattr(args[0], args[1], args[2])
        return None
    if name in ("print", "NotImplementedError", "ValueError", "TypeError", "RuntimeError", "Exception", "AssertionError",
                "KeyError", "IndexError", "id", "hash", "repr", "format"):
        return None if name == "print" else Unknown(f"{name}()")
    if name == "super":
        return Unknown("super() outside a method")
    if name == "type":
        value = args[0] if args else None
        if isinstance(value, Instance):
            return ClassRef(value.cls, value.facts)
        return Unknown("type() of a value")
    if any(isinstance(a, Unknown) for a in args):
        return next(a for a in args if isinstance(a, Unknown))
    if name in ("int", "float") and args and as_tensor(args[0]) is not None:
        return Unknown(f"{name}() of a tensor is only known at run time")
    if name in ("enumerate", "zip", "map", "filter", "reversed", "sorted", "list", "tuple", "set", "frozenset", "dict",
                "sum", "min", "max", "any", "all", "iter"):
        expanded = []
        for arg in args:
            if isinstance(arg, (Layer, Instance, Tensor, Param)) and name not in ("max", "min"):
                items = interp.iterate(arg)
                if isinstance(items, Unknown):
                    return items
                expanded.append(items)
            else:
                expanded.append(arg)
        args = expanded
    if name in ("max", "min", "sum") and any(as_tensor(a) is not None for a in args):
        return Unknown(f"{name}() over tensors")
    if name == "map":
        return _map(interp, args)
    if name == "filter" and len(args) == 2 and args[0] is not None:
        return _filter(interp, args)
    function = getattr(builtins, name, None)
    if function is None:
        return Unknown(f"{name}()")
    try:  # lazy results are drawn here too: their errors are the call's
        result = function(*args, **kwargs)
        if name in ("enumerate", "zip", "reversed", "iter", "filter"):
            result = list(result)
    except Exception:  # noqa: BLE001 - Python semantics on the values the source gives
        return Unknown(f"{name}() of these values")
    return result


def _map(interp: Interpreter, args: list[Any]) -> Any:
    if len(args) < 2:
        return Unknown("map()")
    function, *iterables = args
    columns = [interp.iterate(i) for i in iterables]
    if any(isinstance(c, Unknown) for c in columns):
        return next(c for c in columns if isinstance(c, Unknown))
    return [interp.call(function, list(items), {}) for items in zip(*columns)]


def _filter(interp: Interpreter, args: list[Any]) -> Any:
    """``filter(lambda p: p.requires_grad, self.parameters())``: the source's predicate,
    called on each item by the interpreter (Python's ``filter`` cannot call it)."""
    function, iterable = args
    items = interp.iterate(iterable)
    if isinstance(items, Unknown):
        return items
    kept = []
    for item in items:
        verdict = interp.call(function, [item], {})
        if isinstance(verdict, Unknown) or not isinstance(verdict, (bool, int)):
            return Unknown("filter() with a predicate known only at run time")
        if verdict:
            kept.append(item)
    return kept


def _isinstance(args: list[Any]) -> Any:
    if len(args) != 2:
        return Unknown("isinstance()")
    value, kinds = args
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    names = []
    for kind in kinds:
        if isinstance(kind, Ref):
            names.append(kind.name.rpartition(".")[2])
        elif isinstance(kind, Builtin):
            names.append(kind.name)
        elif isinstance(kind, ClassRef):
            names.append(kind.cls.name)
        else:
            return Unknown("isinstance() against a computed type")
    python = {"int": int, "float": float, "str": str, "bool": bool, "list": list, "tuple": tuple, "dict": dict}
    if isinstance(value, Layer):
        return value.kind in names or "Module" in names
    if isinstance(value, Instance):
        return value.cls.name in names or "Module" in names or any(b.rpartition(".")[2] in names for b in value.cls.bases)
    if isinstance(value, (Tensor,)):
        return "Tensor" in names
    if isinstance(value, Param):
        return "Parameter" in names or "Tensor" in names
    if isinstance(value, Unknown):
        return Unknown("isinstance() of an unknown value")
    if all(n in python for n in names):
        return isinstance(value, tuple(python[n] for n in names))
    return False


def _python_method(receiver: Any, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if isinstance(receiver, (list, dict, set)) and name in ("append", "extend", "insert", "update", "add", "pop", "setdefault",
                                                            "remove", "clear"):
        try:
            return getattr(receiver, name)(*args, **kwargs)
        except Exception:  # noqa: BLE001
            return Unknown(f".{name}() on this value")
    if isinstance(receiver, (str, int, float, tuple, list, dict, bytes)):
        if any(isinstance(a, Unknown) for a in args):
            return next(a for a in args if isinstance(a, Unknown))
        method = getattr(receiver, name, None)
        if method is None or name.startswith("_"):
            return Unknown(f".{name}() of a {type(receiver).__name__}")
        try:
            result = method(*args, **kwargs)
        except Exception:  # noqa: BLE001
            return Unknown(f".{name}() on this value")
        if name in ("items", "keys", "values"):
            return list(result)
        return result
    if isinstance(receiver, Ref):
        return Unknown(f"{receiver.name}.{name}() is not modeled")
    return Unknown(f".{name}() of a {type(receiver).__name__}")


def tensor_binary(interp: Interpreter, op: str, left: Any, right: Any) -> Any:
    """Arithmetic with at least one tensor operand: broadcasting, and MACs for ``@``."""
    a, b = as_tensor(left), as_tensor(right)
    for value, tensor in ((left, a), (right, b)):
        if tensor is None and isinstance(value, Param):
            numel = value.numel
            return numel if isinstance(numel, Unknown) else Unknown("parameter")
        if isinstance(value, Unknown):
            return value
    if op == "@":
        if a is None or b is None:
            raise EvalError("@ of a non-tensor")
        out, macs = ops.matmul(a, b)
        interp.tally.add("matmul", macs)
        return out
    if a is not None and b is not None:
        integer = a.integer and b.integer or op == "=="
        return Tensor(ops.broadcast(a.shape, b.shape), integer)
    tensor = a if a is not None else b
    other = right if a is not None else left
    assert tensor is not None
    if isinstance(other, (int, float, bool)) or other is None or isinstance(other, Ref):
        return Tensor(tensor.shape, tensor.integer and isinstance(other, int) and op != "/" or op == "==")
    if isinstance(other, (list, tuple)) and op == "*":
        return Unknown("a tensor times a sequence")
    raise EvalError(f"tensor {op} {type(other).__name__}")
