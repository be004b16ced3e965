"""Attributes, module methods, indexing, iteration and operators of abstract values.

What ``x.shape``, ``self.fc.in_features``, ``layers[0]``, ``for block in self.blocks``
and ``a @ b`` mean when the operands are the cost model's stand-ins for tensors, layers
and modules (see ``values``). Matrix products count MACs here, as fvcore does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from greenlint.analyzer.cost import tensor_ops as ops
from greenlint.analyzer.cost.functions import as_tensor
from greenlint.analyzer.cost.tensor_ops import UnknownArgument
from greenlint.analyzer.cost.values import (
    BoundMethod,
    ClassRef,
    ConfigObject,
    EvalError,
    Function,
    Instance,
    Layer,
    Param,
    Ref,
    Tensor,
    Unknown,
)

if TYPE_CHECKING:
    from greenlint.analyzer.cost.interpreter import Interpreter


# -- attributes --------------------------------------------------------------------------------


_TENSOR_ATTRIBUTES: dict[str, Callable[[Tensor], Any]] = {
    "shape": lambda t: tuple(t.shape), "ndim": lambda t: t.ndim, "T": lambda t: t.with_shape(tuple(reversed(t.shape))),
    "mT": lambda t: t.with_shape(t.shape[:-2] + (t.shape[-1], t.shape[-2])) if t.ndim >= 2 else t,
    "dtype": lambda t: Ref("torch.int64" if t.integer else "torch.float32"), "device": lambda t: Ref("torch.device"),
    "is_cuda": lambda t: False, "is_xpu": lambda t: False, "is_mps": lambda t: False, "requires_grad": lambda t: False,
    "data": lambda t: t, "grad": lambda t: None, "is_nested": lambda t: False,
}


def getattr_value(interp: Interpreter, obj: Any, name: str) -> Any:
    """Attributes of library values: tensor shapes, layer weights and settings, methods."""
    if isinstance(obj, Param):
        if name in ("data", "detach"):
            tensor = obj.as_tensor()
            return tensor if name == "data" else BoundMethod(obj, None, name)
        if name == "shape":
            return tuple(obj.shape)
        if name == "requires_grad":
            return True
        if name in ("dtype", "device"):
            return Ref("torch.float32" if name == "dtype" else "torch.device")
        return BoundMethod(obj, None, name)
    if isinstance(obj, Tensor):
        attribute = _TENSOR_ATTRIBUTES.get(name)
        if attribute is not None:
            return attribute(obj)
        return BoundMethod(obj, None, name)
    if isinstance(obj, Layer):
        return _layer_attribute(interp, obj, name)
    if isinstance(obj, (list, tuple, dict, str, int, float, set, bytes)):
        return BoundMethod(obj, None, name)
    if isinstance(obj, (Function, ClassRef)):
        return Unknown(f"attribute {name} of a function")
    if obj is None:
        raise EvalError(f"attribute '{name}' of None")
    return Unknown(f"attribute '{name}' of a {type(obj).__name__}")


def _layer_attribute(interp: Interpreter, layer: Layer, name: str) -> Any:
    if name in layer.extra:
        return layer.extra[name]
    if name in layer.params:
        return layer.params[name]
    if name in layer.children:
        return layer.children[name]
    if name in layer.args:
        return layer.args[name]
    if name == "training":
        return False
    if layer.kind.startswith(("Conv", "ConvTranspose")) and name in ("in_channels", "out_channels"):
        return layer.args[name]
    if layer.kind == "Embedding" and name in ("num_embeddings", "embedding_dim"):
        return layer.args[name]
    return BoundMethod(layer, None, name)


def config_attribute(config: ConfigObject, name: str) -> Any:
    if name in ("to_dict", "__dict__"):
        return config.attrs if name == "__dict__" else BoundMethod(config.attrs, None, "copy")
    return Unknown(f"{config.name} has no attribute '{name}'")


def module_attribute(interp: Interpreter, instance: Instance, name: str) -> Any:
    if name == "training":
        return False
    if name in _MODULE_METHODS:
        return BoundMethod(instance, None, name)
    if name == "__class__":
        return ClassRef(instance.cls, instance.facts)
    return Unknown(f"{instance.cls.name}.{name} is not set where the model is built")


#: LightningModule methods that record or log, never add layers; ``save_hyperparameters``
#: also makes ``self.hparams``.
LIGHTNING_METHODS = ("save_hyperparameters", "log", "log_dict", "print", "freeze", "unfreeze", "toggle_optimizer",
                     "untoggle_optimizer", "manual_backward")
_MODULE_METHODS = frozenset(
    {
        "parameters", "named_parameters", "modules", "named_modules", "children", "named_children", "apply", "to", "cuda",
        "cpu", "eval", "train", "half", "float", "double", "bfloat16", "register_buffer", "register_parameter", "add_module",
        "register_module", "zero_grad", "state_dict", "load_state_dict", "requires_grad_", "append", "extend", "insert",
        "items", "keys", "values", "update", "forward", "buffers", "named_buffers", "get_submodule", "type",
        "register_forward_hook", "register_forward_pre_hook", "share_memory", "__setattr__", "__getattr__",
        *LIGHTNING_METHODS,
    }
)


def module_method(interp: Interpreter, module: Any, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    from greenlint.analyzer.cost.interpreter import named_parameters, submodules

    if name in ("to", "cuda", "cpu", "eval", "train", "half", "float", "double", "bfloat16", "requires_grad_", "share_memory",
                "type"):
        return module
    if name in ("apply", "zero_grad", "load_state_dict", "register_forward_hook", "register_forward_pre_hook"):
        return module if name == "apply" else None
    if name == "parameters":
        return [p for _, p in named_parameters(module)]
    if name == "named_parameters":
        return list(named_parameters(module))
    if name in ("modules", "named_modules"):
        found = list(submodules(module))
        return [("", m) for m in found] if name == "named_modules" else found
    if name in ("children", "named_children"):
        items = module.children.items() if isinstance(module, Layer) else [(k, v) for k, v in module.attrs.items() if isinstance(v, (Layer, Instance))]
        return list(items) if name == "named_children" else [v for _, v in items]
    if name in ("register_buffer", "register_parameter", "add_module", "register_module", "__setattr__"):
        if len(args) >= 2 and isinstance(args[0], str):
            value = args[1]
            if name == "register_buffer" and isinstance(value, Unknown):
                value = Unknown(value.reason, inert=True)  # a buffer is never a parameter
            interp.setattr(module, args[0], value)
        else:  # a computed name (``"layer%d" % i``) or a missing value: what it adds goes uncounted
            interp.tally.missing(f"{name}() with a name the source does not fix")
        return None
    if name in LIGHTNING_METHODS:
        if name == "save_hyperparameters" and isinstance(module, Instance):
            module.attrs["hparams"] = _hyperparameters(interp, args)
        return None
    if name == "__getattr__":
        return interp.getattr(module, args[0]) if args and isinstance(args[0], str) else Unknown("__getattr__ of a computed name")
    if name == "forward":
        return interp.call(module, args, kwargs)
    if name in ("buffers", "named_buffers", "state_dict"):
        return Unknown(f"{name}() is not modeled")
    if name == "get_submodule":
        value: Any = module
        for part in str(args[0]).split(".") if args and isinstance(args[0], str) else []:
            value = interp.getattr(value, part)
        return value
    if isinstance(module, Layer):
        return _container_method(interp, module, name, args, kwargs)
    return Unknown(f"{name}() of a module is not modeled")


def _hyperparameters(interp: Interpreter, args: list[Any]) -> ConfigObject:
    """What ``save_hyperparameters()`` stores: the running ``__init__``'s arguments (or the
    names given), ``**kwargs`` spread out, as Lightning collects them."""
    frame = interp.frames[-1] if interp.frames else None
    values: dict[str, Any] = {}
    if frame is not None:
        for key, value in frame.locals.items():
            if key in ("self", "__class__"):
                continue
            if isinstance(value, dict) and all(isinstance(k, str) for k in value):
                values.update(value) if key in ("kwargs", "kw", "kwds") else values.__setitem__(key, value)
            else:
                values[key] = value
    names = [a for a in args if isinstance(a, str)]
    if names:
        values = {k: v for k, v in values.items() if k in names}
    elif len(args) == 1 and isinstance(args[0], dict):
        values = dict(args[0])
    return ConfigObject("hparams", values)


def _container_method(interp: Interpreter, layer: Layer, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    children = layer.children
    if name == "append" and args:
        children[str(len(children))] = args[0]
        return layer
    if name == "extend" and args:
        items = interp.iterate(args[0])
        if isinstance(items, Unknown):
            interp.tally.missing(f"nn.{layer.kind}.extend of unknown modules")
            return layer
        for item in items:
            children[str(len(children))] = item
        return layer
    if name == "insert" and len(args) == 2:
        items = list(children.values())
        items.insert(ops.as_int(args[0], "index"), args[1])
        layer.children = {str(i): m for i, m in enumerate(items)}
        return None
    if name in ("items", "keys", "values"):
        return list(getattr(children, name)())
    if name == "update" and args and isinstance(args[0], dict):
        children.update({str(k): v for k, v in args[0].items()})
        return None
    return Unknown(f"nn.{layer.kind}.{name}() is not modeled")


# -- indexing, iteration and operators -----------------------------------------------------------


def getitem(interp: Interpreter, obj: Any, key: Any) -> Any:
    from greenlint.analyzer.cost import architectures

    if isinstance(obj, Unknown):
        return obj
    if isinstance(obj, architectures.HeadPath):
        return architectures.attribute(obj, str(key))
    if isinstance(key, Unknown) and not isinstance(obj, (Tensor, Param)):
        return key
    tensor = as_tensor(obj)
    if tensor is not None:
        try:
            return Tensor(ops.index(tensor.shape, key), tensor.integer)
        except UnknownArgument as error:
            return error.unknown
    if isinstance(obj, Layer):
        children = list(obj.children.values())
        if isinstance(key, slice):
            picked = children[key]
            return Layer(obj.spec, dict(obj.args), {}, {str(i): m for i, m in enumerate(picked)})
        if isinstance(key, int) and -len(children) <= key < len(children):
            return children[key]
        if isinstance(key, str) and key in obj.children:
            return obj.children[key]
        return Unknown(f"nn.{obj.kind}[{key!r}]")
    if isinstance(obj, ConfigObject):
        if isinstance(key, int) and obj.record:
            values = list(obj.attrs.values())
            return values[key] if -len(values) <= key < len(values) else Unknown("ModelOutput index")
        return obj.attrs.get(key, Unknown(f"{obj.name}[{key!r}]"))
    if isinstance(obj, Ref):
        return Ref(f"{obj.name}[...]")
    try:
        return obj[key]
    except Exception:  # noqa: BLE001 - Python indexing on source values
        return Unknown(f"indexing a {type(obj).__name__} with {type(key).__name__}")


def setitem(interp: Interpreter, obj: Any, key: Any, value: Any) -> None:
    from greenlint.analyzer.cost import architectures

    if isinstance(obj, architectures.HeadPath):
        architectures.replace_head(obj, str(key), value)
        return
    if isinstance(obj, (list, dict)) and not isinstance(key, Unknown):
        try:
            obj[key] = value
        except Exception:  # noqa: BLE001
            pass
    elif isinstance(obj, Layer):
        if isinstance(key, int):
            name = list(obj.children)[key]
            obj.children[name] = value
        elif isinstance(key, str):
            obj.children[key] = value
    elif isinstance(obj, ConfigObject) and isinstance(key, str):
        obj.attrs[key] = value


def iterate_value(interp: Interpreter, value: Any) -> list[Any] | Unknown:
    if isinstance(value, Layer):
        if value.kind == "ModuleDict":
            return list(value.children)
        if value.kind == "ParameterList":
            return [p for p in value.params.values() if p is not None]
        return list(value.children.values())
    tensor = as_tensor(value)
    if tensor is not None:
        if not tensor.shape:
            raise EvalError("iterating a scalar tensor")
        if tensor.shape[0] > 4096:
            return Unknown("iterating a long tensor")
        return [tensor.with_shape(tensor.shape[1:]) for _ in range(tensor.shape[0])]
    if isinstance(value, ConfigObject):
        return list(value.attrs.values()) if value.record else list(value.attrs)
    return Unknown(f"iterating a {type(value).__name__}")
