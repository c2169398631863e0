"""Rebuilding a model from a file's structure: checked first, built without allocating or initialising weights.

The structure (registered layer names, constructor arguments, children) is checked as a whole before any layer
is made: at most ``MAX_LAYERS`` layers and ``MAX_NESTING`` levels of containers, no duplicate child names,
arguments of the types the constructor's signature names. The layers are then built inside
:func:`structure_only`: their parameters are zero-byte placeholders of the right shape and their random
initialisation does not run, so a file asking for a 10⁷ × 10⁷ Linear costs nothing. Only after every
placeholder's name, shape and kind of dtype matches a tensor in the file (whose bytes the file really holds)
do the file's arrays take their places. A ``device`` in a layer's arguments is ignored: where the model goes is
the caller's ``map_location``, and a file never makes shenjing import the GPU backend.
"""

from __future__ import annotations

import contextlib
import inspect
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import numpy  # host-side placeholders only (no math)

from . import backend, registry
from ._format import ModelFileError

__all__ = ["MAX_LAYERS", "MAX_NESTING", "check_structure", "build", "structure_only", "fill"]

MAX_LAYERS = 20_000  # a ResNet-152 has about 500 modules
MAX_NESTING = 64
MAX_UNSAVED = 1 << 24  # values of non-persistent buffers (not in the file) a structure may ask for
CONTAINERS = ("Sequential", "ModuleList", "ModuleDict")
_IGNORED = ("device",)  # constructor arguments a file may not choose
_DTYPES = ("float16", "float32", "float64", "half", "float", "double")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 80 else text[:77] + "..."


# ---- checking the structure as a whole ---------------------------------------------------------------------------
def check_structure(spec: Any, where: str) -> None:
    """Refuse a structure that is malformed, too large or too deep, before any layer is built (no recursion)."""
    nodes = []
    stack = [(spec, "model", 1)]
    while stack:  # first only the shape of the tree: a million layers are refused before any is looked at
        node, path, depth = stack.pop()
        if len(nodes) == MAX_LAYERS:
            raise ModelFileError(f"{where}: the structure lists more than {MAX_LAYERS} layers")
        if depth > MAX_NESTING:
            raise ModelFileError(f"{where}: {path}: containers nested more than {MAX_NESTING} levels deep")
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            raise ModelFileError(
                f"{where}: {path}: expected a layer description {{'type': NAME, ...}}, got {_short(node)}"
            )
        nodes.append((node, path))
        if node["type"] in CONTAINERS:
            children = node.get("children")
            if not isinstance(children, list) or not all(
                isinstance(c, list) and len(c) == 2 and isinstance(c[0], str) for c in children
            ):
                raise ModelFileError(
                    f"{where}: {path} ({node['type']}): expected 'children' as a list of [name, layer] pairs"
                )
            if len(children) >= MAX_LAYERS:
                raise ModelFileError(f"{where}: the structure lists more than {MAX_LAYERS} layers")
            seen: set[str] = set()
            for name, child in children:
                if name in seen:
                    raise ModelFileError(f"{where}: {path} ({node['type']}): the child name {name!r} appears twice")
                if not name or "." in name:
                    raise ModelFileError(
                        f"{where}: {path} ({node['type']}): child names must be non-empty and without '.', "
                        f"got {name!r}"
                    )
                seen.add(name)
                stack.append((child, f"{path}.{name}", depth + 1))
    signatures: dict[str, Any] = {}
    for node, path in nodes:
        try:
            klass = registry.get_module_class(node["type"])
        except KeyError as error:
            raise ModelFileError(f"{where}: {path}: {error.args[0]}") from None
        if node["type"] in CONTAINERS:
            continue
        config = node.get("config", {})
        if not isinstance(config, dict):
            raise ModelFileError(f"{where}: {path} ({node['type']}): expected 'config' as an object of arguments")
        if node["type"] not in signatures:
            signatures[node["type"]] = _signature(klass)
        _check_arguments(klass, signatures[node["type"]], config, f"{where}: {path} ({node['type']})")


def _signature(klass: type) -> Any:
    try:
        return inspect.signature(klass.__init__).parameters
    except (TypeError, ValueError):
        return None


def _check_arguments(klass: type, parameters: Any, config: dict, where: str) -> None:
    """Each argument exists in the constructor and has the JSON type its annotation names (int, float, bool)."""
    if parameters is None:
        return
    takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    for key, value in config.items():
        if key in _IGNORED:
            continue
        parameter = parameters.get(key)
        if parameter is None or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            if takes_any:
                continue
            known = [k for k, p in parameters.items() if k != "self" and p.kind is not p.VAR_POSITIONAL]
            raise ModelFileError(f"{where}: unknown argument {key!r}; {klass.__name__} takes {', '.join(known)}")
        expected = _expected_type(parameter.annotation)
        if expected is not None and not _fits(value, expected, parameter.default):
            raise ModelFileError(
                f"{where}: argument {key!r} must be {expected}, got {_short(value)} ({type(value).__name__})"
            )
        if key == "dtype" and value is not None and value not in _DTYPES:
            raise ModelFileError(f"{where}: argument 'dtype' must be one of {', '.join(_DTYPES)}, got {_short(value)}")


def _expected_type(annotation: Any) -> str | None:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", None)
    return text if text in ("int", "float", "bool", "str", "int | None", "float | None", "str | None") else None


def _fits(value: Any, expected: str, default: Any) -> bool:
    if value is None:
        return expected.endswith("| None") or default is None
    kind = expected.split(" ")[0]
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, str)


# ---- building with placeholders ----------------------------------------------------------------------------------
class _Placeholders:
    """NumPy, except that new arrays are zero-byte read-only placeholders of the asked shape (for this thread)."""

    _MAKERS = ("empty", "zeros", "ones", "full")

    def __init__(self, xp: Any, local: threading.local) -> None:
        self._xp = xp
        self._local = local

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._xp, name)
        if name not in self._MAKERS:
            return real

        def make(shape: Any, *args: Any, dtype: Any = None, **kwargs: Any) -> Any:
            if not getattr(self._local, "active", False):
                return real(shape, *args, dtype=dtype, **kwargs)
            if name == "full" and dtype is None:
                dtype = numpy.asarray(args[0]).dtype if args else None
            shape = (shape,) if isinstance(shape, int) else tuple(shape)
            if any(not isinstance(n, int) or n < 0 for n in shape):
                raise ValueError(f"negative or non-integer dimension in shape {shape}")
            return numpy.broadcast_to(numpy.zeros((), dtype=dtype or "float32"), shape)

        return make


_lock = threading.Lock()
_local = threading.local()


@contextlib.contextmanager
def structure_only() -> Iterator[None]:
    """Build layers without allocating (zero-byte placeholders) or initialising (``nn.init`` does nothing) their
    weights, in this thread; the caller then gives every placeholder a real array (:func:`fill`)."""
    from .nn import init

    with _lock:
        real = backend.NUMPY.xp
        placeholders = isinstance(real, _Placeholders)
        if not placeholders:
            backend.NUMPY.xp = _Placeholders(real, _local)
        _local.depth = getattr(_local, "depth", 0) + 1
    _local.active = True
    try:
        with init.skip_init():
            yield
    finally:
        with _lock:
            _local.depth -= 1
            _local.active = _local.depth > 0
            if not placeholders and _local.depth == 0:
                backend.NUMPY.xp = real


def build(spec: dict, path: str = "model", where: str = "structure") -> Any:
    """The module ``spec`` describes (already checked by :func:`check_structure`), built as the context allows."""
    from .nn import ModuleDict, ModuleList, Sequential

    klass = registry.get_module_class(spec["type"])
    if spec["type"] in CONTAINERS:
        built = OrderedDict((key, build(child, f"{path}.{key}", where)) for key, child in spec["children"])
        if klass is Sequential:
            return Sequential(built)
        if klass is ModuleList:
            return ModuleList(list(built.values()))
        return ModuleDict(built)
    config = {key: _tuples(value) for key, value in spec.get("config", {}).items() if key not in _IGNORED}
    try:
        # NOTE: JSON has no tuples; sizes such as kernel_size=(3, 3) come back as lists and become tuples again
        return klass(**config)
    except Exception as error:  # a constructor's own check of its arguments (ValueError, TypeError, ...)
        if getattr(_local, "active", False) and not klass.__module__.startswith("shenjing."):
            return _build_for_real(klass, config, spec, path, where)  # a user's layer that writes into its weights
        raise ModelFileError(f"{where}: {path}: could not build {spec['type']}(**{_short(config)}): {error}") from None


def _build_for_real(klass: type, config: dict, spec: dict, path: str, where: str) -> Any:
    """A registered user layer whose constructor does more than make arrays: built with real arrays (its own
    code; still without random initialisation), then checked against the file as every layer is."""
    _local.active = False
    try:
        return klass(**config)
    except Exception as error:
        raise ModelFileError(f"{where}: {path}: could not build {spec['type']}(**{_short(config)}): {error}") from None
    finally:
        _local.active = True


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def fill(model: Any, arrays: dict, where: str) -> None:
    """Give each placeholder of ``model`` the file's array of the same name, after checking all of them."""
    own = model.state_dict(keep_vars=True)
    missing = [k for k in own if k not in arrays]
    unexpected = [k for k in arrays if k not in own]
    problems = []
    if missing:
        problems.append("missing from the file: " + ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else ""))
    if unexpected:
        more = " ..." if len(unexpected) > 10 else ""
        problems.append("not in the structure: " + ", ".join(unexpected[:10]) + more)
    for key, target in own.items():
        if key not in arrays:
            continue
        value = arrays[key]
        if tuple(value.shape) != tuple(target.array.shape):
            problems.append(
                f"{key}: the structure asks for shape {tuple(target.array.shape)}, the file holds {tuple(value.shape)}"
            )
        elif _kind(value.dtype) != _kind(target.array.dtype):
            problems.append(f"{key}: the structure asks for {target.array.dtype} values, the file holds {value.dtype}")
    if problems:
        raise ModelFileError(f"{where}: the weights do not fit the structure: " + "; ".join(problems[:10]))
    for key, target in own.items():
        value = arrays[key]
        target.array = value if value.flags.writeable else value.copy()
    placeholders = [
        buffer for module in model.modules() for buffer in module._buffers.values()
        if buffer is not None and not buffer.array.flags.writeable
    ]
    size = sum(buffer.array.size for buffer in placeholders)
    if size > MAX_UNSAVED:
        raise ModelFileError(
            f"{where}: the structure asks for {size} values of unsaved buffers (at most {MAX_UNSAVED})"
        )
    for buffer in placeholders:  # non-persistent buffers are not in the file: made for real now
        buffer.array = numpy.array(buffer.array)


def _kind(dtype: numpy.dtype) -> str:
    return "i" if dtype.kind == "u" else dtype.kind
