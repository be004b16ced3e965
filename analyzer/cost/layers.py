"""``torch.nn`` layers as the cost model knows them: parameters and forward cost.

Each layer has its constructor signature (so positional and keyword arguments bind as in
PyTorch), the parameters it creates (PyTorch's shapes, so counts match
``sum(p.numel() for p in model.parameters())``), and a forward that maps input shapes to
output shapes and counts MACs in fvcore's convention (see ``tensor_ops``). Attention and
recurrent layers are counted in full (projections, QK^T and AV, every gate's matmuls),
which fvcore only does with greenlint's extra op handles: plain fvcore counts 0 for the
fused attention and RNN kernels PyTorch runs in eval mode.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

from greenlint.analyzer.cost import tensor_ops as ops
from greenlint.analyzer.cost.values import EvalError, Instance, Layer, Param, Tally, Tensor, Unknown
from greenlint.analyzer.cost.tensor_ops import UnknownArgument

REQUIRED = object()


class Runtime(Protocol):
    """What a layer's forward needs from the evaluator."""

    tally: Tally

    def call(self, function: Any, args: list[Any], kwargs: dict[str, Any]) -> Any: ...


Builder = Callable[[dict[str, Any]], tuple[dict[str, Param | None], dict[str, Any]]]
Forward = Callable[[Runtime, Layer, list[Any], dict[str, Any]], Any]


@dataclass(frozen=True)
class LayerSpec:
    """One ``torch.nn`` class: how it binds arguments, what it holds, what it computes."""

    name: str
    signature: tuple[tuple[str, Any], ...]
    build: Builder
    forward: Forward | None
    #: Positional names of ``forward``, for binding its arguments.
    inputs: tuple[str, ...] = ("input",)
    varargs: bool = False


def bind(signature: tuple[tuple[str, Any], ...], args: list[Any], kwargs: dict[str, Any], what: str,
         varargs: bool = False) -> dict[str, Any]:
    """Constructor arguments by name, defaults filled in, as Python would bind them."""
    bound: dict[str, Any] = {}
    names = [n for n, _ in signature]
    if varargs:
        bound["*"] = list(args)
    else:
        if len(args) > len(names):
            raise EvalError(f"{what}() takes {len(names)} arguments, got {len(args)}")
        bound.update(zip(names, args))
    for key, value in kwargs.items():
        if key in names:
            bound[key] = value
    for name, default in signature:
        if name not in bound:
            if default is REQUIRED:
                raise EvalError(f"{what}() is missing argument '{name}'")
            bound[name] = default
    return bound


def tensor(value: Any, what: str) -> Tensor:
    if isinstance(value, Tensor):
        return value
    if isinstance(value, Unknown):
        raise UnknownArgument(value)
    raise EvalError(f"{what} expects a tensor, got {type(value).__name__}")


def _known(value: Any) -> bool:
    return not isinstance(value, Unknown)


def _dim(value: Any) -> Any:
    """A size argument kept as is when unknown (parameter shapes may hold unknowns).

    A float fails here as it does in PyTorch (``nn.Conv2d(24, 200 / 4, 1)`` raises a
    TypeError): counting such a model would describe one that cannot be built.
    """
    if isinstance(value, Unknown):
        return value
    if isinstance(value, float):
        raise EvalError(f"layer size {value!r} is a float; PyTorch needs an integer, so the model cannot be built")
    return ops.as_int(value, "size")


def _bias(params: dict[str, Param | None], args: dict[str, Any], name: str, size: Any) -> None:
    flag = args.get("bias", True)
    params[name] = Param((size,)) if flag is not False and flag is not None else None
    if isinstance(flag, Unknown):
        params[name] = Param((flag,))


# -- linear and convolution -------------------------------------------------------


def _linear_build(a: dict[str, Any]) -> tuple[dict[str, Param | None], dict[str, Any]]:
    i, o = _dim(a["in_features"]), _dim(a["out_features"])
    params: dict[str, Param | None] = {"weight": Param((o, i))}
    _bias(params, a, "bias", o)
    return params, {}


def _linear_forward(rt: Runtime, layer: Layer, args: list[Any], kwargs: dict[str, Any]) -> Any:
    x = tensor(_first(args, kwargs, "input"), "Linear")
    weight = layer.params["weight"]
    assert weight is not None
    out_features, in_features = weight.shape
    if isinstance(in_features, Unknown):
        raise UnknownArgument(in_features)
    if isinstance(out_features, Unknown):
        raise UnknownArgument(out_features)
    if not x.shape or x.shape[-1] != in_features:
        raise EvalError(f"Linear({in_features}, {out_features}) applied to shape {x.shape}")
    rt.tally.add("linear", math.prod(x.shape) * out_features)
    return x.with_shape(x.shape[:-1] + (out_features,))


def _conv_signature(transposed: bool) -> tuple[tuple[str, Any], ...]:
    base = [("in_channels", REQUIRED), ("out_channels", REQUIRED), ("kernel_size", REQUIRED), ("stride", 1), ("padding", 0)]
    if transposed:
        base += [("output_padding", 0), ("groups", 1), ("bias", True), ("dilation", 1), ("padding_mode", "zeros")]
    else:
        base += [("dilation", 1), ("groups", 1), ("bias", True), ("padding_mode", "zeros")]
    return tuple(base + [("device", None), ("dtype", None)])


def _conv_builder(n: int, transposed: bool) -> Builder:
    def build(a: dict[str, Any]) -> tuple[dict[str, Param | None], dict[str, Any]]:
        cin, cout, groups = _dim(a["in_channels"]), _dim(a["out_channels"]), _dim(a["groups"])
        try:
            kernel: tuple[Any, ...] = ops.tuple_of(a["kernel_size"], n, "kernel_size")
        except UnknownArgument as error:
            kernel = (error.unknown,) * n
        if transposed:
            shape = (cin, _div(cout, groups), *kernel)
        else:
            shape = (cout, _div(cin, groups), *kernel)
        params: dict[str, Param | None] = {"weight": Param(shape)}
        _bias(params, a, "bias", cout)
        return params, {}

    return build


def _first_unknown(a: Any, b: Any) -> Unknown | None:
    """Either size when it is unknown: a parameter shape keeps the reason."""
    if isinstance(a, Unknown):
        return a
    return b if isinstance(b, Unknown) else None


def _div(a: Any, b: Any) -> Any:
    unknown = _first_unknown(a, b)
    if unknown is not None:
        return unknown
    if a % b:
        raise EvalError(f"channels {a} not divisible by groups {b}")
    return a // b


def _conv_forward(n: int, transposed: bool) -> Forward:
    def forward(rt: Runtime, layer: Layer, args: list[Any], kwargs: dict[str, Any]) -> Any:
        x = tensor(_first(args, kwargs, "input"), layer.kind)
        weight = layer.params["weight"]
        assert weight is not None
        w = weight.as_tensor()
        if isinstance(w, Unknown):
            raise UnknownArgument(w)
        a = layer.args
        return conv(rt, x, w.shape, n, transposed, a["stride"], a["padding"], a["dilation"],
                    a.get("output_padding", 0), a["groups"], layer.kind)

    return forward


def conv(rt: Runtime, x: Tensor, weight: tuple[int, ...], n: int, transposed: bool, stride: Any, padding: Any,
         dilation: Any, output_padding: Any, groups: Any, what: str) -> Tensor:
    """Shared by ``nn.ConvNd`` and ``F.convNd``: output shape and fvcore's count."""
    unbatched = x.ndim == n + 1
    shape = (1, *x.shape) if unbatched else x.shape
    if len(shape) != n + 2:
        raise EvalError(f"{what} expects {n + 2}-D input, got {x.shape}")
    groups = ops.as_int(groups, "groups")
    cin = weight[0] if transposed else weight[1] * groups
    if shape[1] != cin:
        raise EvalError(f"{what} with {cin} input channels applied to shape {x.shape}")
    kernel = weight[2:]
    strides = ops.tuple_of(stride, n, "stride")
    dilations = ops.tuple_of(dilation, n, "dilation")
    spatial_in = shape[2:]
    if isinstance(padding, str):
        if padding == "valid":
            pads = (0,) * n
        elif padding == "same":
            out_spatial = spatial_in
            pads = None
        else:
            raise EvalError(f"padding {padding!r}")
    else:
        pads = ops.tuple_of(padding, n, "padding")
    if transposed:
        out_pads = ops.tuple_of(output_padding, n, "output_padding")
        assert pads is not None
        out_spatial = tuple(
            ops.conv_transpose_output(L, k, s, p, d, op)
            for L, k, s, p, d, op in zip(spatial_in, kernel, strides, pads, dilations, out_pads)
        )
        cout = weight[1] * groups
        rt.tally.add("conv", ops.conv_macs(shape[0], weight, spatial_in))
    else:
        if pads is not None:
            out_spatial = tuple(ops.conv_output(L, k, s, p, d) for L, k, s, p, d in zip(spatial_in, kernel, strides, pads, dilations))
        cout = weight[0]
        rt.tally.add("conv", ops.conv_macs(shape[0], weight, out_spatial))
    out = (shape[0], cout, *out_spatial)
    return Tensor(out[1:] if unbatched else out)


# -- normalisation ------------------------------------------------------------------


def _norm_build(affine_key: str, size_key: str, bias_key: str | None = None) -> Builder:
    def build(a: dict[str, Any]) -> tuple[dict[str, Param | None], dict[str, Any]]:
        size = a[size_key]
        if isinstance(size, (list, tuple)):
            shape: tuple[Any, ...] = tuple(_dim(s) for s in size)
        else:
            shape = (_dim(size),)
        affine = a.get(affine_key)
        if affine is False or affine is None:
            return {"weight": None, "bias": None}, {}
        bias_on = a.get(bias_key, True) if bias_key else True
        return {"weight": Param(shape), "bias": Param(shape) if bias_on is not False else None}, {}

    return build


def _batch_norm_forward(rt: Runtime, layer: Layer, args: list[Any], kwargs: dict[str, Any]) -> Any:
    x = tensor(_first(args, kwargs, "input"), layer.kind)
    channels = layer.args["num_features"]
    if _known(channels) and (x.ndim < 2 or x.shape[1] != channels):
        raise EvalError(f"{layer.kind}({channels}) applied to shape {x.shape}")
    affine = layer.params.get("weight") is not None
    training = layer.args.get("track_running_stats") is False
    rt.tally.add("batch_norm", ops.batch_norm_macs(x.numel, affine, training))
    return x


def _layer_norm_forward(rt: Runtime, layer: Layer, args: list[Any], kwargs: dict[str, Any]) -> Any:
    x = tensor(_first(args, kwargs, "input"), "LayerNorm")
    normalized = layer.args["normalized_shape"]
    shape = tuple(normalized) if isinstance(normalized, (list, tuple)) else (normalized,)
    if all(_known(s) for s in shape) and tuple(x.shape[-len(shape):]) != tuple(shape):
        raise EvalError(f"LayerNorm({shape}) applied to shape {x.shape}")
    rt.tally.add("layer_norm", ops.norm_macs(x.numel, layer.params.get("weight") is not None))
    return x


def _group_norm_forward(rt: Runtime, layer: Layer, args: list[Any], kwargs: dict[str, Any]) -> Any:
    x = tensor(_first(args, kwargs, "input"), "GroupNorm")
    rt.tally.add("group_norm", ops.norm_macs(x.numel, layer.params.get("weight") is not None))
    return x


def _instance_norm_forward(rt: Runtime, layer: Layer, args: list[Any], kwargs: dict[str, Any]) -> Any:
    x = tensor(_first(args, kwargs, "input"), layer.kind)
    rt.tally.add("instance_norm", ops.norm_macs(x.numel, layer.params.get("weight") is not None))
    return x


def _rms_norm_forward(rt: Runtime, layer: Layer, args: list[Any], kwargs: dict[str, Any]) -> Any:
    # fvcore has no handle for aten::rms_norm (nor for the ops it decomposes into): 0.
    return tensor(_first(args, kwargs, "input"), "RMSNorm")


# -- embeddings, activations, shape-only layers -----------------------------------------


def _embedding_build(a: dict[str, Any]) -> tuple[dict[str, Param | None], dict[str, Any]]:
    weight = a.get("_weight")
    if isinstance(weight, Tensor):
        return {"weight": Param(weight.shape)}, {}
    return {"weight": Param((_dim(a["num_embeddings"]), _dim(a["embedding_dim"])))}, {}


def _embedding_forward(rt: Runtime, layer: Layer, args: list[Any], kwargs: dict[str, Any]) -> Any:
    x = tensor(_first(args, kwargs, "input"), "Embedding")
    weight = layer.params["weight"]
    assert weight is not None
    dim = weight.shape[1]
    if isinstance(dim, Unknown):
        raise UnknownArgument(dim)
    return Tensor(x.shape + (dim,))


def _no_params(a: dict[str, Any]) -> tuple[dict[str, Param | None], dict[str, Any]]:
    return {}, {}


def _identity_forward(rt: Runtime, layer: Layer, args: list[Any], kwargs: dict[str, Any]) -> Any:
    return _first(args, kwargs, "input")


def _prelu_build(a: dict[str, Any]) -> tuple[dict[str, Param | None], dict[str, Any]]:
    return {"weight": Param((_dim(a["num_parameters"]),))}, {}


def _glu_forward(rt: Runtime, layer: Layer, args: list[Any], kwargs: dict[str, Any]) -> Any:
    x = tensor(_first(args, kwargs, "input"), "GLU")
    d = ops.normalise_dim(layer.args["dim"], x.ndim)
    return x.with_shape(x.shape[:d] + (x.shape[d] // 2,) + x.shape[d + 1 :])


def _flatten_forward(rt: Runtime, layer: Layer, args: list[Any], kwargs: dict[str, Any]) -> Any:
    x = tensor(_first(args, kwargs, "input"), "Flatten")
    return x.with_shape(ops.flatten(x.shape, layer.args["start_dim"], layer.args["end_dim"]))


def _unflatten_forward(rt: Runtime, layer: Layer, args: list[Any], kwargs: dict[str, Any]) -> Any:
    x = tensor(_first(args, kwargs, "input"), "Unflatten")
    d = ops.normalise_dim(layer.args["dim"], x.ndim)
    sizes = ops.reshape((x.shape[d],), list(layer.args["unflattened_size"]))
    return x.with_shape(x.shape[:d] + sizes + x.shape[d + 1 :])


def _pool_forward(n: int, kind: str) -> Forward:
    def forward(rt: Runtime, layer: Layer, args: list[Any], kwargs: dict[str, Any]) -> Any:
        x = tensor(_first(args, kwargs, "input"), layer.kind)
        a = layer.args
        out = pool(x, n, a["kernel_size"], a.get("stride"), a.get("padding", 0), a.get("dilation", 1),
                   bool(a.get("ceil_mode", False)), layer.kind)
        if kind == "max" and a.get("return_indices"):
            return (out, Tensor(out.shape, integer=True))
        return out

    return forward


def pool(x: Tensor, n: int, kernel: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool, what: str) -> Tensor:
    if x.ndim not in (n + 1, n + 2):
        raise EvalError(f"{what} expects {n + 1}- or {n + 2}-D input, got {x.shape}")
    kernels = ops.tuple_of(kernel, n, "kernel_size")
    strides = ops.tuple_of(stride if stride not in (None, [], ()) else kernel, n, "stride")
    pads = ops.tuple_of(padding, n, "padding")
    dilations = ops.tuple_of(dilation, n, "dilation")
    spatial = x.shape[-n:]
    out = tuple(ops.pool_output(L, k, s, p, d, ceil_mode) for L, k, s, p, d in zip(spatial, kernels, strides, pads, dilations))
    return x.with_shape(x.shape[:-n] + out)


def _adaptive_forward(n: int, average: bool) -> Forward:
    def forward(rt: Runtime, layer: Layer, args: list[Any], kwargs: dict[str, Any]) -> Any:
        x = tensor(_first(args, kwargs, "input"), layer.kind)
        out = adaptive_pool(rt, x, n, layer.args["output_size"], average, layer.kind)
        if not average and layer.args.get("return_indices"):
            return (out, Tensor(out.shape, integer=True))
        return out

    return forward


def adaptive_pool(rt: Runtime, x: Tensor, n: int, output_size: Any, average: bool, what: str) -> Tensor:
    if x.ndim not in (n + 1, n + 2):
        raise EvalError(f"{what} expects {n + 1}- or {n + 2}-D input, got {x.shape}")
    sizes = list(output_size) if isinstance(output_size, (list, tuple)) else [output_size] * n
    spatial = x.shape[-n:]
    out = tuple(s if o is None else ops.as_int(o, "output_size") for s, o in zip(spatial, sizes))
    if average and n == 2:
        rt.tally.add("adaptive_avg_pool2d", x.numel)
    return x.with_shape(x.shape[:-n] + out)


def _upsample_forward(rt: Runtime, layer: Layer, args: list[Any], kwargs: dict[str, Any]) -> Any:
    x = tensor(_first(args, kwargs, "input"), layer.kind)
    a = layer.args
    mode = a.get("mode", "nearest")
    if layer.kind == "UpsamplingNearest2d":
        mode = "nearest"
    elif layer.kind == "UpsamplingBilinear2d":
        mode = "bilinear"
    return interpolate(rt, x, a.get("size"), a.get("scale_factor"), mode)


def interpolate(rt: Runtime, x: Tensor, size: Any, scale_factor: Any, mode: Any) -> Tensor:
    n = x.ndim - 2
    if n < 1:
        raise EvalError(f"interpolate expects a batched input, got {x.shape}")
    if size is not None:
        sizes = ops.tuple_of(size, n, "size")
    elif scale_factor is not None:
        factors = scale_factor if isinstance(scale_factor, (list, tuple)) else [scale_factor] * n
        if any(isinstance(f, Unknown) for f in factors):
            raise UnknownArgument(next(f for f in factors if isinstance(f, Unknown)))
        sizes = tuple(int(math.floor(L * float(f))) for L, f in zip(x.shape[2:], factors))
    else:
        raise EvalError("interpolate without size or scale_factor")
    out = x.with_shape(x.shape[:2] + sizes)
    if n == 2 and mode == "nearest":
        rt.tally.add("upsample", out.numel)
    elif n == 2 and mode == "bilinear":
        rt.tally.add("upsample", 4 * out.numel)
    return out


def _pixel_shuffle_forward(rt: Runtime, layer: Layer, args: list[Any], kwargs: dict[str, Any]) -> Any:
    x = tensor(_first(args, kwargs, "input"), layer.kind)
    r = ops.as_int(layer.args.get("upscale_factor", layer.args.get("downscale_factor")), "factor")
    c, h, w = x.shape[-3:]
    if layer.kind == "PixelShuffle":
        return x.with_shape(x.shape[:-3] + (c // (r * r), h * r, w * r))
    return x.with_shape(x.shape[:-3] + (c * r * r, h // r, w // r))


def _pad_forward(n: int) -> Forward:
    def forward(rt: Runtime, layer: Layer, args: list[Any], kwargs: dict[str, Any]) -> Any:
        x = tensor(_first(args, kwargs, "input"), layer.kind)
        padding = layer.args["padding"]
        pads = list(padding) if isinstance(padding, (list, tuple)) else [padding] * (2 * n)
        return pad(x, pads)

    return forward


def pad(x: Tensor, pads: list[Any]) -> Tensor:
    values = [ops.as_int(p, "pad") for p in pads]
    shape = list(x.shape)
    for i in range(len(values) // 2):
        dim = len(shape) - 1 - i
        shape[dim] += values[2 * i] + values[2 * i + 1]
    return x.with_shape(tuple(shape))


def _loss_forward(rt: Runtime, layer: Layer, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if layer.args.get("reduction", "mean") == "none" and args and isinstance(args[0], Tensor):
        return args[0]
    return Tensor(())


# -- containers -----------------------------------------------------------------------


def _sequential_build(a: dict[str, Any]) -> tuple[dict[str, Param | None], dict[str, Any]]:
    items = a["*"]
    unknown = next((item for item in items if isinstance(item, Unknown)), None)
    if unknown is not None:  # nn.Sequential(OrderedDict(...)) unmodelled: its layers would go uncounted
        raise UnknownArgument(unknown)
    if len(items) == 1 and isinstance(items[0], dict):
        return {}, {str(k): v for k, v in items[0].items()}
    return {}, {str(i): m for i, m in enumerate(items)}


def _sequential_forward(rt: Runtime, layer: Layer, args: list[Any], kwargs: dict[str, Any]) -> Any:
    x = _first(args, kwargs, "input")
    for child in layer.children.values():
        x = rt.call(child, [x], {})
    return x


def _module_list_build(a: dict[str, Any]) -> tuple[dict[str, Param | None], dict[str, Any]]:
    items = a.get("modules") or []
    if isinstance(items, Unknown):
        raise UnknownArgument(items)
    return {}, {str(i): m for i, m in enumerate(items)}


def _module_dict_build(a: dict[str, Any]) -> tuple[dict[str, Param | None], dict[str, Any]]:
    items = a.get("modules") or {}
    if isinstance(items, Unknown):
        raise UnknownArgument(items)
    if isinstance(items, (list, tuple)):
        items = dict(items)
    return {}, {str(k): v for k, v in items.items()}


def _parameter_list_build(a: dict[str, Any]) -> tuple[dict[str, Param | None], dict[str, Any]]:
    values = a.get("values") or []
    if isinstance(values, dict):
        return {str(k): v for k, v in values.items() if isinstance(v, Param)}, {}
    return {str(i): v for i, v in enumerate(values) if isinstance(v, Param)}, {}


# -- recurrent ------------------------------------------------------------------------


_GATES = {"RNN": 1, "LSTM": 4, "GRU": 3, "RNNCell": 1, "LSTMCell": 4, "GRUCell": 3}


def _rnn_build(kind: str) -> Builder:
    def build(a: dict[str, Any]) -> tuple[dict[str, Param | None], dict[str, Any]]:
        gates = _GATES[kind]
        i, h = _dim(a["input_size"]), _dim(a["hidden_size"])
        layers = ops.as_int(a.get("num_layers", 1), "num_layers")
        directions = 2 if a.get("bidirectional") else 1
        proj = ops.as_int(a.get("proj_size", 0) or 0, "proj_size")
        out = proj or h
        bias = a.get("bias", True) is not False
        params: dict[str, Param | None] = {}
        for layer in range(layers):
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                width = i if layer == 0 else _mul(out, directions)
                params["weight_ih" + suffix] = Param((_mul(h, gates), width))
                params["weight_hh" + suffix] = Param((_mul(h, gates), out))
                if bias:
                    params["bias_ih" + suffix] = Param((_mul(h, gates),))
                    params["bias_hh" + suffix] = Param((_mul(h, gates),))
                if proj:
                    params["weight_hr" + suffix] = Param((proj, h))
        return params, {}

    return build


def _mul(a: Any, b: Any) -> Any:
    unknown = _first_unknown(a, b)
    return unknown if unknown is not None else a * b


def _weights_numel(layer: Layer) -> int:
    total = 0
    for name, param in layer.params.items():
        if param is not None and name.startswith("weight"):
            numel = param.numel
            if isinstance(numel, Unknown):
                raise UnknownArgument(numel)
            total += numel
    return total


def _rnn_forward(rt: Runtime, layer: Layer, args: list[Any], kwargs: dict[str, Any]) -> Any:
    x = tensor(_first(args, kwargs, "input"), layer.kind)
    a = layer.args
    h = ops.as_int(a["hidden_size"], "hidden_size")
    proj = ops.as_int(a.get("proj_size", 0) or 0, "proj_size")
    out = proj or h
    layers = ops.as_int(a.get("num_layers", 1), "num_layers")
    directions = 2 if a.get("bidirectional") else 1
    if x.ndim not in (2, 3):
        raise EvalError(f"{layer.kind} expects 2- or 3-D input, got {x.shape}")
    rt.tally.add("rnn", math.prod(x.shape[:-1]) * _weights_numel(layer))
    output = x.with_shape(x.shape[:-1] + (directions * out,))
    if x.ndim == 3:
        batch = x.shape[0] if a.get("batch_first") else x.shape[1]
        hidden = Tensor((layers * directions, batch, out))
        cell = Tensor((layers * directions, batch, h))
    else:
        hidden = Tensor((layers * directions, out))
        cell = Tensor((layers * directions, h))
    if layer.kind == "LSTM":
        return (output, (hidden, cell))
    return (output, hidden)


def _cell_forward(rt: Runtime, layer: Layer, args: list[Any], kwargs: dict[str, Any]) -> Any:
    x = tensor(_first(args, kwargs, "input"), layer.kind)
    h = ops.as_int(layer.args["hidden_size"], "hidden_size")
    rows = x.shape[0] if x.ndim == 2 else 1
    rt.tally.add("rnn", rows * _weights_numel(layer))
    state = Tensor(x.shape[:-1] + (h,))
    return (state, state) if layer.kind == "LSTMCell" else state


def _cell_build(kind: str) -> Builder:
    def build(a: dict[str, Any]) -> tuple[dict[str, Param | None], dict[str, Any]]:
        gates = _GATES[kind]
        i, h = _dim(a["input_size"]), _dim(a["hidden_size"])
        params: dict[str, Param | None] = {"weight_ih": Param((_mul(h, gates), i)), "weight_hh": Param((_mul(h, gates), h))}
        if a.get("bias", True) is not False:
            params["bias_ih"] = Param((_mul(h, gates),))
            params["bias_hh"] = Param((_mul(h, gates),))
        return params, {}

    return build


# -- attention and transformer layers ----------------------------------------------------------


def _mha_build(a: dict[str, Any]) -> tuple[dict[str, Param | None], dict[str, Any]]:
    e = _dim(a["embed_dim"])
    kdim = _dim(a["kdim"]) if a.get("kdim") is not None else e
    vdim = _dim(a["vdim"]) if a.get("vdim") is not None else e
    bias = a.get("bias", True) is not False
    params: dict[str, Param | None] = {}
    if kdim == e and vdim == e:
        params["in_proj_weight"] = Param((_mul(e, 3), e))
    else:
        params["q_proj_weight"] = Param((e, e))
        params["k_proj_weight"] = Param((e, kdim))
        params["v_proj_weight"] = Param((e, vdim))
    params["in_proj_bias"] = Param((_mul(e, 3),)) if bias else None
    if a.get("add_bias_kv"):
        params["bias_k"] = Param((1, 1, e))
        params["bias_v"] = Param((1, 1, e))
    out_proj = make("NonDynamicallyQuantizableLinear", [e, e], {"bias": bias})
    return params, {"out_proj": out_proj}


def attention_macs(batch: int, target: int, source: int, embed: int, kdim: int, vdim: int) -> int:
    """All matmuls of multi-head attention: Q, K, V and output projections, QK^T and AV."""
    projections = batch * target * embed * embed + batch * source * embed * kdim + batch * source * embed * vdim
    scores = 2 * batch * target * source * embed
    return projections + scores + batch * target * embed * embed


def _mha_forward(rt: Runtime, layer: Layer, args: list[Any], kwargs: dict[str, Any]) -> Any:
    names = ("query", "key", "value", "key_padding_mask", "need_weights", "attn_mask", "average_attn_weights", "is_causal")
    bound = dict(zip(names, args))
    bound.update(kwargs)
    q = tensor(bound.get("query"), "MultiheadAttention")
    k = tensor(bound.get("key", q), "MultiheadAttention")
    tensor(bound.get("value", k), "MultiheadAttention")
    a = layer.args
    e = ops.as_int(a["embed_dim"], "embed_dim")
    heads = ops.as_int(a["num_heads"], "num_heads")
    kdim = ops.as_int(a["kdim"], "kdim") if a.get("kdim") is not None else e
    vdim = ops.as_int(a["vdim"], "vdim") if a.get("vdim") is not None else e
    if q.shape[-1] != e:
        raise EvalError(f"MultiheadAttention({e}) applied to shape {q.shape}")
    if q.ndim == 2:
        batch, target, source = 1, q.shape[0], k.shape[0]
    elif a.get("batch_first"):
        batch, target, source = q.shape[0], q.shape[1], k.shape[1]
    else:
        batch, target, source = q.shape[1], q.shape[0], k.shape[0]
    extra = int(bool(a.get("add_bias_kv"))) + int(bool(a.get("add_zero_attn")))
    macs = attention_macs(batch, target, source, e, kdim, vdim)
    macs += 2 * batch * target * extra * e
    rt.tally.add("attention", macs)
    need = bound.get("need_weights", True)
    weights: Any = None
    if need is not False:
        average = bound.get("average_attn_weights", True) is not False
        shape = (batch, target, source + extra) if average else (batch, heads, target, source + extra)
        weights = Tensor(shape if q.ndim == 3 else shape[1:])
    return (q, weights)


def _encoder_layer_build(a: dict[str, Any]) -> tuple[dict[str, Param | None], dict[str, Any]]:
    d, ff = a["d_model"], a["dim_feedforward"]
    bias = a.get("bias", True)
    children = {
        "self_attn": make("MultiheadAttention", [d, a["nhead"]], {"dropout": a["dropout"], "bias": bias, "batch_first": a["batch_first"]}),
        "linear1": make("Linear", [d, ff], {"bias": bias}),
        "dropout": make("Dropout", [a["dropout"]], {}),
        "linear2": make("Linear", [ff, d], {"bias": bias}),
        "norm1": make("LayerNorm", [d], {"eps": a["layer_norm_eps"], "bias": bias}),
        "norm2": make("LayerNorm", [d], {"eps": a["layer_norm_eps"], "bias": bias}),
        "dropout1": make("Dropout", [a["dropout"]], {}),
        "dropout2": make("Dropout", [a["dropout"]], {}),
    }
    return {}, children


def _decoder_layer_build(a: dict[str, Any]) -> tuple[dict[str, Param | None], dict[str, Any]]:
    params, children = _encoder_layer_build(a)
    d = a["d_model"]
    children["multihead_attn"] = make("MultiheadAttention", [d, a["nhead"]], {"dropout": a["dropout"], "bias": a.get("bias", True), "batch_first": a["batch_first"]})
    children["norm3"] = make("LayerNorm", [d], {"eps": a["layer_norm_eps"], "bias": a.get("bias", True)})
    children["dropout3"] = make("Dropout", [a["dropout"]], {})
    order = ["self_attn", "multihead_attn", "linear1", "dropout", "linear2", "norm1", "norm2", "norm3", "dropout1", "dropout2", "dropout3"]
    return params, {name: children[name] for name in order}


def _feed_forward(rt: Runtime, layer: Layer, x: Any) -> Any:
    c = layer.children
    return rt.call(c["linear2"], [rt.call(c["dropout"], [rt.call(c["linear1"], [x], {})], {})], {})


def _encoder_layer_forward(rt: Runtime, layer: Layer, args: list[Any], kwargs: dict[str, Any]) -> Any:
    x = tensor(_first(args, kwargs, "src"), "TransformerEncoderLayer")
    c = layer.children
    attended = rt.call(c["self_attn"], [x, x, x], {"need_weights": False})
    x = rt.call(c["norm1"], [_item(attended, 0)], {})
    return rt.call(c["norm2"], [_feed_forward(rt, layer, x)], {})


def _decoder_layer_forward(rt: Runtime, layer: Layer, args: list[Any], kwargs: dict[str, Any]) -> Any:
    x = tensor(_first(args, kwargs, "tgt"), "TransformerDecoderLayer")
    memory = tensor(args[1] if len(args) > 1 else kwargs.get("memory"), "TransformerDecoderLayer")
    c = layer.children
    x = rt.call(c["norm1"], [_item(rt.call(c["self_attn"], [x, x, x], {"need_weights": False}), 0)], {})
    x = rt.call(c["norm2"], [_item(rt.call(c["multihead_attn"], [x, memory, memory], {"need_weights": False}), 0)], {})
    return rt.call(c["norm3"], [_feed_forward(rt, layer, x)], {})


def _stack_build(a: dict[str, Any], layer_key: str) -> tuple[dict[str, Param | None], dict[str, Any]]:
    template = a[layer_key]
    count = ops.as_int(a["num_layers"], "num_layers")
    clones = {str(i): clone(template) for i in range(count)}
    layers = Layer(SPECS["ModuleList"], {"modules": list(clones.values())}, {}, clones)
    children: dict[str, Any] = {"layers": layers}
    if a.get("norm") is not None:
        children["norm"] = a["norm"]
    return {}, children


def _encoder_forward(rt: Runtime, layer: Layer, args: list[Any], kwargs: dict[str, Any]) -> Any:
    x = _first(args, kwargs, "src")
    for child in layer.children["layers"].children.values():
        x = rt.call(child, [x], {})
    if "norm" in layer.children:
        x = rt.call(layer.children["norm"], [x], {})
    return x


def _decoder_forward(rt: Runtime, layer: Layer, args: list[Any], kwargs: dict[str, Any]) -> Any:
    x = _first(args, kwargs, "tgt")
    memory = args[1] if len(args) > 1 else kwargs.get("memory")
    for child in layer.children["layers"].children.values():
        x = rt.call(child, [x, memory], {})
    if "norm" in layer.children:
        x = rt.call(layer.children["norm"], [x], {})
    return x


def _transformer_build(a: dict[str, Any]) -> tuple[dict[str, Param | None], dict[str, Any]]:
    d = a["d_model"]
    common = {"dim_feedforward": a["dim_feedforward"], "dropout": a["dropout"], "layer_norm_eps": a["layer_norm_eps"],
              "batch_first": a["batch_first"], "bias": a.get("bias", True)}
    encoder = a.get("custom_encoder")
    if encoder is None:
        encoder_layer = make("TransformerEncoderLayer", [d, a["nhead"]], common)
        norm = make("LayerNorm", [d], {"eps": a["layer_norm_eps"], "bias": a.get("bias", True)})
        encoder = make("TransformerEncoder", [encoder_layer, a["num_encoder_layers"]], {"norm": norm})
    decoder = a.get("custom_decoder")
    if decoder is None:
        decoder_layer = make("TransformerDecoderLayer", [d, a["nhead"]], common)
        norm = make("LayerNorm", [d], {"eps": a["layer_norm_eps"], "bias": a.get("bias", True)})
        decoder = make("TransformerDecoder", [decoder_layer, a["num_decoder_layers"]], {"norm": norm})
    return {}, {"encoder": encoder, "decoder": decoder}


def _transformer_forward(rt: Runtime, layer: Layer, args: list[Any], kwargs: dict[str, Any]) -> Any:
    src = _first(args, kwargs, "src")
    tgt = args[1] if len(args) > 1 else kwargs.get("tgt")
    memory = rt.call(layer.children["encoder"], [src], {})
    return rt.call(layer.children["decoder"], [tgt, memory], {})


# -- helpers and registry -------------------------------------------------------------


def _first(args: list[Any], kwargs: dict[str, Any], name: str) -> Any:
    if args:
        return args[0]
    if name in kwargs:
        return kwargs[name]
    if len(kwargs) == 1:
        return next(iter(kwargs.values()))
    raise EvalError(f"missing argument '{name}'")


def _item(value: Any, index: int) -> Any:
    if isinstance(value, tuple):
        return value[index]
    return value


def clone(module: Any) -> Any:
    """A deep copy with fresh parameters, as ``copy.deepcopy`` in TransformerEncoder."""
    memo: dict[int, Any] = {}

    def copy(value: Any) -> Any:
        key = id(value)
        if key in memo:
            return memo[key]
        if isinstance(value, Param):
            result: Any = Param(value.shape)
        elif isinstance(value, Layer):
            result = Layer(value.spec, dict(value.args))
            memo[key] = result
            result.params = {k: copy(v) if v is not None else None for k, v in value.params.items()}
            result.children = {k: copy(v) for k, v in value.children.items()}
            result.extra = {k: copy(v) for k, v in value.extra.items()}
            return result
        elif isinstance(value, Instance):
            result = Instance(value.cls, value.facts)
            memo[key] = result
            result.attrs = {k: copy(v) for k, v in value.attrs.items()}
            result.base_layer = copy(value.base_layer) if value.base_layer is not None else None
            return result
        elif isinstance(value, list):
            result = [copy(v) for v in value]
        elif isinstance(value, tuple):
            result = tuple(copy(v) for v in value)
        elif isinstance(value, dict):
            result = {k: copy(v) for k, v in value.items()}
        else:
            result = value
        memo[key] = result
        return result

    return copy(module)


_ACTIVATIONS = {
    "ReLU": (("inplace", False),), "ReLU6": (("inplace", False),), "LeakyReLU": (("negative_slope", 0.01), ("inplace", False)),
    "ELU": (("alpha", 1.0), ("inplace", False)), "SELU": (("inplace", False),), "CELU": (("alpha", 1.0), ("inplace", False)),
    "GELU": (("approximate", "none"),), "SiLU": (("inplace", False),), "Mish": (("inplace", False),),
    "Sigmoid": (), "Tanh": (), "Hardtanh": (("min_val", -1.0), ("max_val", 1.0), ("inplace", False)),
    "Hardswish": (("inplace", False),), "Hardsigmoid": (("inplace", False),), "Softplus": (("beta", 1.0), ("threshold", 20.0)),
    "Softsign": (), "Tanhshrink": (), "LogSigmoid": (), "Softmax": (("dim", None),), "LogSoftmax": (("dim", None),),
    "Softmin": (("dim", None),), "Softmax2d": (), "Threshold": (("threshold", REQUIRED), ("value", REQUIRED), ("inplace", False)),
    "Hardshrink": (("lambd", 0.5),), "Softshrink": (("lambd", 0.5),), "RReLU": (("lower", 0.125), ("upper", 1 / 3), ("inplace", False)),
    "Dropout": (("p", 0.5), ("inplace", False)), "Dropout1d": (("p", 0.5), ("inplace", False)),
    "Dropout2d": (("p", 0.5), ("inplace", False)), "Dropout3d": (("p", 0.5), ("inplace", False)),
    "AlphaDropout": (("p", 0.5), ("inplace", False)), "FeatureAlphaDropout": (("p", 0.5), ("inplace", False)),
    "LocalResponseNorm": (("size", REQUIRED), ("alpha", 1e-4), ("beta", 0.75), ("k", 1.0)),
    "ChannelShuffle": (("groups", REQUIRED),),
}
_LOSSES = (
    "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss",
    "KLDivLoss", "CTCLoss", "CosineEmbeddingLoss", "MarginRankingLoss", "TripletMarginLoss", "PoissonNLLLoss",
    "GaussianNLLLoss", "HingeEmbeddingLoss", "MultiLabelSoftMarginLoss", "SoftMarginLoss", "MultiMarginLoss",
)
_DEVICE = (("device", None), ("dtype", None))


def _specs() -> dict[str, LayerSpec]:
    specs: dict[str, LayerSpec] = {}

    def add(name: str, signature: tuple[tuple[str, Any], ...], build: Builder, forward: Forward | None,
            inputs: tuple[str, ...] = ("input",), varargs: bool = False) -> None:
        specs[name] = LayerSpec(name, signature, build, forward, inputs, varargs)

    linear_sig = (("in_features", REQUIRED), ("out_features", REQUIRED), ("bias", True), *_DEVICE)
    add("Linear", linear_sig, _linear_build, _linear_forward)
    add("NonDynamicallyQuantizableLinear", linear_sig, _linear_build, _linear_forward)
    add("LazyLinear", (("out_features", REQUIRED), ("bias", True), *_DEVICE),
        lambda a: ({"weight": Param((a["out_features"], Unknown("LazyLinear infers in_features at run time")))}, {}), None)
    add("Identity", (), _no_params, _identity_forward, varargs=True)
    for n in (1, 2, 3):
        add(f"Conv{n}d", _conv_signature(False), _conv_builder(n, False), _conv_forward(n, False))
        add(f"ConvTranspose{n}d", _conv_signature(True), _conv_builder(n, True), _conv_forward(n, True))
        bn = (("num_features", REQUIRED), ("eps", 1e-5), ("momentum", 0.1), ("affine", True), ("track_running_stats", True), *_DEVICE)
        add(f"BatchNorm{n}d", bn, _norm_build("affine", "num_features"), _batch_norm_forward)
        inorm = (("num_features", REQUIRED), ("eps", 1e-5), ("momentum", 0.1), ("affine", False), ("track_running_stats", False), *_DEVICE)
        add(f"InstanceNorm{n}d", inorm, _norm_build("affine", "num_features"), _instance_norm_forward)
        pool_sig = (("kernel_size", REQUIRED), ("stride", None), ("padding", 0), ("dilation", 1), ("return_indices", False), ("ceil_mode", False))
        add(f"MaxPool{n}d", pool_sig, _no_params, _pool_forward(n, "max"))
        avg_sig = (("kernel_size", REQUIRED), ("stride", None), ("padding", 0), ("ceil_mode", False), ("count_include_pad", True), ("divisor_override", None))
        add(f"AvgPool{n}d", avg_sig, _no_params, _pool_forward(n, "avg"))
        add(f"AdaptiveAvgPool{n}d", (("output_size", REQUIRED),), _no_params, _adaptive_forward(n, True))
        add(f"AdaptiveMaxPool{n}d", (("output_size", REQUIRED), ("return_indices", False)), _no_params, _adaptive_forward(n, False))
        for kind in ("ZeroPad", "ConstantPad", "ReflectionPad", "ReplicationPad", "CircularPad"):
            signature = (("padding", REQUIRED), ("value", 0.0)) if kind == "ConstantPad" else (("padding", REQUIRED),)
            add(f"{kind}{n}d", signature, _no_params, _pad_forward(n))
    add("SyncBatchNorm", (("num_features", REQUIRED), ("eps", 1e-5), ("momentum", 0.1), ("affine", True), ("track_running_stats", True), ("process_group", None), *_DEVICE),
        _norm_build("affine", "num_features"), _batch_norm_forward)
    add("LayerNorm", (("normalized_shape", REQUIRED), ("eps", 1e-5), ("elementwise_affine", True), ("bias", True), *_DEVICE),
        _norm_build("elementwise_affine", "normalized_shape", "bias"), _layer_norm_forward)
    add("GroupNorm", (("num_groups", REQUIRED), ("num_channels", REQUIRED), ("eps", 1e-5), ("affine", True), *_DEVICE),
        _norm_build("affine", "num_channels"), _group_norm_forward)
    add("RMSNorm", (("normalized_shape", REQUIRED), ("eps", None), ("elementwise_affine", True), *_DEVICE),
        lambda a: ({"weight": Param(tuple(a["normalized_shape"]) if isinstance(a["normalized_shape"], (list, tuple)) else (a["normalized_shape"],))
                    if a["elementwise_affine"] is not False else None}, {}), _rms_norm_forward)
    add("Embedding", (("num_embeddings", REQUIRED), ("embedding_dim", REQUIRED), ("padding_idx", None), ("max_norm", None),
                      ("norm_type", 2.0), ("scale_grad_by_freq", False), ("sparse", False), ("_weight", None), ("_freeze", False), *_DEVICE),
        _embedding_build, _embedding_forward)
    for name, signature in _ACTIVATIONS.items():
        add(name, signature, _no_params, _identity_forward)
    add("PReLU", (("num_parameters", 1), ("init", 0.25), *_DEVICE), _prelu_build, _identity_forward)
    add("GLU", (("dim", -1),), _no_params, _glu_forward)
    add("Flatten", (("start_dim", 1), ("end_dim", -1)), _no_params, _flatten_forward)
    add("Unflatten", (("dim", REQUIRED), ("unflattened_size", REQUIRED)), _no_params, _unflatten_forward)
    add("Upsample", (("size", None), ("scale_factor", None), ("mode", "nearest"), ("align_corners", None), ("recompute_scale_factor", None)),
        _no_params, _upsample_forward)
    add("UpsamplingNearest2d", (("size", None), ("scale_factor", None)), _no_params, _upsample_forward)
    add("UpsamplingBilinear2d", (("size", None), ("scale_factor", None)), _no_params, _upsample_forward)
    add("PixelShuffle", (("upscale_factor", REQUIRED),), _no_params, _pixel_shuffle_forward)
    add("PixelUnshuffle", (("downscale_factor", REQUIRED),), _no_params, _pixel_shuffle_forward)
    add("Sequential", (), _sequential_build, _sequential_forward, varargs=True)
    add("ModuleList", (("modules", None),), _module_list_build, None)
    add("ModuleDict", (("modules", None),), _module_dict_build, None)
    add("ParameterList", (("values", None),), _parameter_list_build, None)
    add("ParameterDict", (("parameters", None),), lambda a: _parameter_list_build({"values": a["parameters"]}), None)
    rnn = (("input_size", REQUIRED), ("hidden_size", REQUIRED), ("num_layers", 1))
    tail = (("bias", True), ("batch_first", False), ("dropout", 0.0), ("bidirectional", False))
    add("RNN", (*rnn, ("nonlinearity", "tanh"), *tail, *_DEVICE), _rnn_build("RNN"), _rnn_forward)
    add("LSTM", (*rnn, *tail, ("proj_size", 0), *_DEVICE), _rnn_build("LSTM"), _rnn_forward)
    add("GRU", (*rnn, *tail, *_DEVICE), _rnn_build("GRU"), _rnn_forward)
    for cell in ("RNNCell", "LSTMCell", "GRUCell"):
        signature = (("input_size", REQUIRED), ("hidden_size", REQUIRED), ("bias", True))
        if cell == "RNNCell":
            signature += (("nonlinearity", "tanh"),)
        add(cell, (*signature, *_DEVICE), _cell_build(cell), _cell_forward)
    add("MultiheadAttention", (("embed_dim", REQUIRED), ("num_heads", REQUIRED), ("dropout", 0.0), ("bias", True), ("add_bias_kv", False),
                               ("add_zero_attn", False), ("kdim", None), ("vdim", None), ("batch_first", False), *_DEVICE),
        _mha_build, _mha_forward, inputs=("query", "key", "value"))
    layer_sig = (("d_model", REQUIRED), ("nhead", REQUIRED), ("dim_feedforward", 2048), ("dropout", 0.1), ("activation", "relu"),
                 ("layer_norm_eps", 1e-5), ("batch_first", False), ("norm_first", False), ("bias", True), *_DEVICE)
    add("TransformerEncoderLayer", layer_sig, _encoder_layer_build, _encoder_layer_forward, inputs=("src",))
    add("TransformerDecoderLayer", layer_sig, _decoder_layer_build, _decoder_layer_forward, inputs=("tgt", "memory"))
    add("TransformerEncoder", (("encoder_layer", REQUIRED), ("num_layers", REQUIRED), ("norm", None), ("enable_nested_tensor", True), ("mask_check", True)),
        lambda a: _stack_build(a, "encoder_layer"), _encoder_forward, inputs=("src",))
    add("TransformerDecoder", (("decoder_layer", REQUIRED), ("num_layers", REQUIRED), ("norm", None)),
        lambda a: _stack_build(a, "decoder_layer"), _decoder_forward, inputs=("tgt", "memory"))
    add("Transformer", (("d_model", 512), ("nhead", 8), ("num_encoder_layers", 6), ("num_decoder_layers", 6), ("dim_feedforward", 2048),
                        ("dropout", 0.1), ("activation", "relu"), ("custom_encoder", None), ("custom_decoder", None),
                        ("layer_norm_eps", 1e-5), ("batch_first", False), ("norm_first", False), ("bias", True), *_DEVICE),
        _transformer_build, _transformer_forward, inputs=("src", "tgt"))
    for loss in _LOSSES:
        add(loss, (("weight", None), ("size_average", None), ("ignore_index", -100), ("reduce", None), ("reduction", "mean")),
            _no_params, _loss_forward)
    return specs


SPECS: Mapping[str, LayerSpec] = MappingProxyType(_specs())


def custom_spec(name: str, forward: Forward) -> LayerSpec:
    """A module that is not a ``torch.nn`` class (einops' ``Rearrange``, a torchvision
    block): built by its own code, so only its name and forward are needed."""
    return LayerSpec(name, (), _no_params, forward)


def spec_for(dotted: str) -> LayerSpec | None:
    """The layer a dotted name refers to: ``torch.nn.Linear``, ``torch.nn.modules.linear.Linear``."""
    if not dotted.startswith(("torch.nn.", "nn.")):
        return None
    return SPECS.get(dotted.rpartition(".")[2])


def make(name: str, args: list[Any], kwargs: dict[str, Any]) -> Layer:
    """Build a layer as its constructor would (parameters and children)."""
    spec = SPECS[name]
    bound = bind(spec.signature, args, kwargs, f"nn.{name}", spec.varargs)
    params, children = spec.build(bound)
    return Layer(spec, bound, params, children)
