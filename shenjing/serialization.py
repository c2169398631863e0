"""``shenjing.save`` / ``shenjing.load``: what PyTorch programs ``torch.save``, stored without pickle.

    shenjing.save({"epoch": 3, "model": model.state_dict(), "optimizer": opt.state_dict(), "loss": 0.3}, "ckpt.pt")
    state = shenjing.load("ckpt.pt", weights_only=True, map_location="cpu")
    model.load_state_dict(state["model"]); opt.load_state_dict(state["optimizer"])

The file is one safetensors file: every tensor and array is a safetensors entry (raw little-endian bytes,
readable by any safetensors reader), and everything else (the nesting of dicts, lists and tuples, numbers,
strings, None, which entries are Tensors and which NumPy arrays) is one JSON document in the header's metadata.
Nothing is pickled, so loading a file can never run code. What can be stored:

    None, bool, int, float (inf and nan too), str, Tensor, numpy.ndarray, NumPy scalars and dtypes,
    dict / OrderedDict (keys: str, int, float, bool, None or tuples of those), list, tuple

Anything else (a Module, a function, an instance of your own class) is a TypeError naming where it sits
(``obj['model']``). A Module at the top level is saved as a model file (structure + weights, see
:func:`shenjing.io.save_model`) and loads back as the model. A tensor stored twice (the same array object)
is written once and loads back as two Tensors sharing one array.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

import numpy  # host-side file handling only (no math)

from .dtypes import dtype as _dtype
from .dtypes import to_shenjing
from .tensor import Tensor

__all__ = ["save", "load"]

_FORMAT = "shenjing.object"
_MAX_DEPTH = 200  # nesting of dicts/lists/tuples a file may ask for (deeper is a corrupted or hostile file)
_SCALARS = (type(None), bool, int, float, str)


# ---- encoding: Python object → (JSON, arrays) --------------------------------------------------------------------
class _Encoder:
    def __init__(self) -> None:
        self.arrays: dict[str, numpy.ndarray] = {}
        self._seen: dict[int, tuple[str, Any]] = {}  # id(array) → (key, array): aliased tensors are stored once

    def array_key(self, array: Any) -> str:
        known = self._seen.get(id(array))
        if known is not None and known[1] is array:
            return known[0]
        key = str(len(self.arrays))
        self.arrays[key] = _to_host(array)
        self._seen[id(array)] = (key, array)  # keeping the array alive keeps its id unique
        return key

    def encode(self, obj: Any, where: str, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            raise ValueError(f"save: {where} is nested more than {_MAX_DEPTH} levels deep (a cycle?)")
        if obj is None or isinstance(obj, bool | int | str):
            return obj
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else {"__float__": repr(obj)}
        if isinstance(obj, Tensor):
            encoded: dict = {"__tensor__": self.array_key(obj.array)}
            if obj.requires_grad:
                encoded["requires_grad"] = True
            return encoded
        if _is_torch_tensor(obj):
            return {"__tensor__": self.array_key(_torch_to_numpy(obj, where))}
        if isinstance(obj, numpy.generic):
            if obj.dtype.kind not in "biufc":
                raise TypeError(f"save: cannot store {where} of NumPy type {obj.dtype} without pickle")
            value = obj.item()
            if isinstance(value, complex):
                value = [value.real, value.imag]
            elif isinstance(value, float) and not math.isfinite(value):
                value = repr(value)
            return {"__scalar__": value, "dtype": obj.dtype.str}
        if isinstance(obj, numpy.ndarray):
            if obj.dtype.kind not in "biuf" or obj.dtype.itemsize > 8:
                raise TypeError(
                    f"save: cannot store {where}: arrays of dtype {obj.dtype} are not supported (safetensors "
                    "stores bool, integer and floating-point arrays)"
                )
            return {"__ndarray__": self.array_key(obj)}
        if isinstance(obj, numpy.dtype | _dtype):
            return {"__dtype__": numpy.dtype(obj).str}
        if isinstance(obj, dict):
            ordered = isinstance(obj, OrderedDict)
            if not ordered and all(isinstance(k, str) and not k.startswith("__") for k in obj):
                return {k: self.encode(v, f"{where}[{k!r}]", depth + 1) for k, v in obj.items()}
            pairs = [[self.key(k, where), self.encode(v, f"{where}[{k!r}]", depth + 1)] for k, v in obj.items()]
            return {"__odict__" if ordered else "__dict__": pairs}
        if isinstance(obj, list):
            return [self.encode(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(obj)]
        if isinstance(obj, tuple) and type(obj) is tuple:
            return {"__tuple__": [self.encode(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(obj)]}
        raise TypeError(_unsupported(obj, where))

    def key(self, key: Any, where: str) -> Any:
        if isinstance(key, _SCALARS) or (isinstance(key, tuple) and type(key) is tuple):
            if isinstance(key, tuple):
                return {"__tuple__": [self.key(k, where) for k in key]}
            return self.encode(key, where)
        raise TypeError(
            f"save: cannot store a dict key {key!r} of type {type(key).__name__} in {where} without pickle; "
            "keys may be str, int, float, bool, None or tuples of those"
        )


def _unsupported(obj: Any, where: str) -> str:
    kind = type(obj).__name__
    from .nn import Module

    if isinstance(obj, Module):
        return (
            f"save: cannot store {where} of type {kind} without pickle; save {where}"
            ".state_dict() instead, or shenjing.io.save_model(model) for structure + weights"
        )
    return (
        f"save: cannot store {where} of type {kind} without pickle; only None, bool, int, float, str, Tensors, "
        "NumPy arrays and dicts / lists / tuples of those are stored (convert it, e.g. to its state_dict())"
    )


def _is_torch_tensor(obj: Any) -> bool:
    return type(obj).__module__.startswith("torch") and hasattr(obj, "detach") and hasattr(obj, "numpy")


def _torch_to_numpy(obj: Any, where: str) -> numpy.ndarray:
    value = obj.detach().cpu()
    if str(value.dtype) == "torch.bfloat16":
        raise TypeError(
            f"save: {where} is a torch.bfloat16 tensor, which NumPy (and so shenjing) cannot hold; convert it "
            "with .float() first"
        )
    return value.numpy()


def _to_host(array: Any) -> numpy.ndarray:
    if not isinstance(array, numpy.ndarray):
        from .backend import backend_of

        array = backend_of(array).to_host(array)
    # NOTE: not numpy.ascontiguousarray, which turns a 0-d array (a scalar tensor) into shape (1,)
    return array if array.flags.c_contiguous else array.copy(order="C")


# ---- decoding: (JSON, arrays) → Python object --------------------------------------------------------------------
class _Decoder:
    def __init__(self, arrays: dict, where: str, move: Any) -> None:
        self.arrays = arrays
        self.where = where
        self.move = move
        self._tensors: dict[str, Any] = {}  # one moved array per stored entry: aliasing survives map_location

    def fail(self, what: str) -> Exception:
        from .io import ModelFileError

        return ModelFileError(f"{self.where}: {what}. The file is corrupted or was not written by shenjing.save")

    def array(self, key: Any) -> Any:
        if not isinstance(key, str) or key not in self.arrays:
            raise self.fail(f"the structure refers to a tensor {_short(key)} that the file does not contain")
        return self.arrays[key]

    def decode(self, obj: Any, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            raise self.fail(f"the structure is nested more than {_MAX_DEPTH} levels deep")
        if isinstance(obj, list):
            return [self.decode(v, depth + 1) for v in obj]
        if not isinstance(obj, dict):
            return obj
        if "__tensor__" in obj:
            key = obj["__tensor__"]
            if not isinstance(key, str):
                raise self.fail(f"a tensor reference must be a string, got {_short(key)}")
            if key not in self._tensors:
                self._tensors[key] = self.move(Tensor._wrap(self.array(key)))
            result = Tensor._wrap(self._tensors[key].array)
            if obj.get("requires_grad") is True:
                result.requires_grad_(True)
            return result
        if "__ndarray__" in obj:
            return self.array(obj["__ndarray__"])
        if "__float__" in obj:
            if obj["__float__"] not in ("inf", "-inf", "nan"):
                raise self.fail(f"{_short(obj['__float__'])} is not a float")
            return float(obj["__float__"])
        if "__scalar__" in obj:
            return self.scalar(obj)
        if "__dtype__" in obj:
            return to_shenjing(self.dtype(obj["__dtype__"]))
        if "__tuple__" in obj:
            return tuple(self.items(obj["__tuple__"], depth))
        for tag, kind in (("__dict__", dict), ("__odict__", OrderedDict)):
            if tag in obj:
                pairs = obj[tag]
                if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
                    raise self.fail(f"{tag} must be a list of [key, value] pairs")
                result = kind()
                for key, value in pairs:
                    key = self.decode(key, depth + 1)
                    try:
                        hash(key)
                    except TypeError:
                        raise self.fail(f"the dict key {_short(key)} is not hashable") from None
                    result[key] = self.decode(value, depth + 1)
                return result
        return {k: self.decode(v, depth + 1) for k, v in obj.items()}

    def items(self, values: Any, depth: int) -> list:
        if not isinstance(values, list):
            raise self.fail(f"expected a list, got {_short(values)}")
        return [self.decode(v, depth + 1) for v in values]

    def dtype(self, text: Any) -> numpy.dtype:
        try:
            dtype = numpy.dtype(text) if isinstance(text, str) and len(text) < 8 else None
        except TypeError:
            dtype = None
        if dtype is None or dtype.kind not in "biufc" or dtype.itemsize > 16:
            raise self.fail(f"{_short(text)} is not a supported dtype")
        return dtype

    def scalar(self, obj: dict) -> Any:
        dtype = self.dtype(obj.get("dtype"))
        value = obj["__scalar__"]
        if isinstance(value, list) and len(value) == 2 and dtype.kind == "c":
            value = complex(value[0], value[1])
        elif isinstance(value, str) and value in ("inf", "-inf", "nan"):
            value = float(value)
        if not isinstance(value, bool | int | float | complex):
            raise self.fail(f"the scalar {_short(value)} is not a number")
        try:
            return dtype.type(value)
        except (OverflowError, ValueError, TypeError):
            raise self.fail(f"the scalar {_short(value)} does not fit {dtype}") from None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "..."


# ---- map_location ------------------------------------------------------------------------------------------------
def _mover(map_location: Any) -> Any:
    """A function Tensor → Tensor that puts a loaded (CPU) tensor where ``map_location`` asks, as torch.load does.

    None / "cpu" keep it on the CPU; a str or device moves it; a dict maps the saved location ("cpu": files
    hold host bytes) to a new one; a callable ``f(tensor, "cpu")`` returns the tensor to use, a location or None
    (keep it). The GPU backend is imported only when a tensor is actually moved to a GPU.
    """
    if map_location is None:
        return lambda tensor: tensor
    if isinstance(map_location, dict):
        target = map_location.get("cpu", None)
        return _mover(target) if target is not None else (lambda tensor: tensor)
    if callable(map_location) and not isinstance(map_location, str) and not _is_device(map_location):

        def call(tensor: Tensor) -> Tensor:
            result = map_location(tensor, "cpu")
            if result is None:
                return tensor
            if isinstance(result, Tensor):
                return result
            return _mover(result)(tensor)

        return call
    if _is_device(map_location) or isinstance(map_location, str):
        text = str(map_location)
        if text == "cpu":
            return lambda tensor: tensor
        return lambda tensor: tensor.to(map_location)
    raise TypeError(
        f"load: map_location must be None, a device name ('cpu', 'cuda'), a device, a dict or a callable, "
        f"got {type(map_location).__name__}"
    )


def _is_device(value: Any) -> bool:
    from .backend import Device

    return isinstance(value, Device) or type(value).__name__ == "device"


# ---- the public functions ----------------------------------------------------------------------------------------
def save(obj: Any, f: Any, **metadata: Any) -> None:
    """Save ``obj`` to ``f`` (a path or a binary file object) as PyTorch's ``torch.save`` does, without pickle.

    Tensors go into one safetensors file, the rest (nesting, numbers, strings) into its JSON metadata. A Module
    is saved as a model file (structure + weights, ``**metadata`` stored with it); a dict of only Tensors (a
    state dict) is also a plain safetensors file that other tools read. Paths are written atomically (a
    temporary file in the same folder, fsync, rename), with mode 0644 under the default umask.

    Args:
        obj: None, bool, int, float, str, Tensor, NumPy array, dicts / lists / tuples of those (state dicts,
            optimizer and scheduler state dicts, training checkpoints), or a Module.
        f: a path (``str`` / ``os.PathLike``) or a binary file object with ``write``.

    Raises:
        TypeError: for a value that cannot be stored without pickle, naming where it sits (``obj['model']``).

    Example:
        >>> import io, shenjing
        >>> buffer = io.BytesIO()
        >>> shenjing.save({"epoch": 3, "w": shenjing.ones(2), "state": {0: (1.5, None)}}, buffer)
        >>> _ = buffer.seek(0)
        >>> shenjing.load(buffer)
        {'epoch': 3, 'w': tensor([1., 1.]), 'state': {0: (1.5, None)}}
    """
    from . import io as model_io
    from .nn import Module

    if isinstance(obj, Module):
        model_io.save_model(obj, f, **metadata)
        return
    if _is_state_dict(obj):
        model_io.save_state_dict(obj, f, **metadata)
        return
    encoder = _Encoder()
    document = {"object": encoder.encode(obj, "obj"), "metadata": metadata}
    model_io._write(f, "object", document, encoder.arrays)


def _is_state_dict(obj: Any) -> bool:
    return (
        isinstance(obj, OrderedDict)
        and len(obj) > 0
        and all(isinstance(k, str) and isinstance(v, Tensor) and not v.requires_grad for k, v in obj.items())
    )


def load(
    f: Any,
    map_location: Any = None,
    pickle_module: Any = None,
    *,
    weights_only: bool | None = True,
    mmap: bool | None = None,
    with_metadata: bool = False,
    **pickle_load_args: Any,
) -> Any:
    """Load what :func:`save` wrote (or any safetensors file), as PyTorch's ``torch.load``; never unpickles.

    ``weights_only`` is accepted for PyTorch compatibility and is always effectively True: the file holds only
    tensors and JSON, so nothing in it can run code, whatever you pass. ``mmap`` and ``pickle_module`` are
    accepted and ignored (the whole file is read). A real PyTorch ``.pt``/``.pth`` (a zip holding ``data.pkl``)
    or a pickle file is refused with a :class:`shenjing.io.ModelFileError` that says how to convert it.

    Args:
        f: a path or a binary file object with ``read``.
        map_location: where tensors go: None or ``"cpu"`` (stay on the CPU), ``"cuda"``, a device, a dict
            ``{"cpu": "cuda"}`` or a callable ``f(tensor, "cpu")`` as torch.load accepts. A device that is not
            available is an error only when a tensor is actually moved there.
        with_metadata: also return the file's JSON document, as ``(obj, document)``.

    Returns:
        the saved object: state dicts come back as ``OrderedDict`` of Tensors, int keys stay ints, tuples stay
        tuples, NumPy arrays stay arrays; a model file comes back as the model (in eval mode).
    """
    from . import io as model_io

    if pickle_module is not None and pickle_module.__name__ != "pickle":
        raise TypeError("load: shenjing never unpickles; pickle_module is not supported")
    move = _mover(map_location)
    where = model_io._name_of(f)
    document, arrays = model_io._read(f)
    if document is None or document.get("format") != "shenjing." + "object":
        return model_io._load_read(document, arrays, where, with_metadata, move)
    result = _Decoder(arrays, where, move).decode(document.get("object"))
    return (result, document) if with_metadata else result
