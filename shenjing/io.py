"""Model files and checkpoints: weights in safetensors, structure and metadata as JSON, written atomically.

One file holds everything: the safetensors format (a JSON header + raw little-endian arrays) with shenjing's
own JSON document stored as one string in the header's ``__metadata__``. Nothing is ever unpickled, and the
structure is rebuilt only from layer names in :mod:`shenjing.registry`.

    shenjing.save(model, "mlp.safetensors", class_names=[...])   # weights + structure + metadata
    model = shenjing.load("mlp.safetensors")                     # rebuilt and in eval mode, ready to predict
    shenjing.save(model.state_dict(), "w.safetensors")           # weights only (any model)
    save_checkpoint("ckpt.safetensors", model, optimizer, scheduler, epoch=3)   # resumable training state
    load_torch_state_dict(model, torch_model.state_dict())       # PyTorch → shenjing (same keys and layouts)

Writes go to a temporary file in the same folder, are flushed to disk (fsync) and then renamed over the
target (``os.replace``, atomic on POSIX and Windows): a crash mid-write leaves the previous file intact, and
the next successful write removes the temporary files a killed writer left. Files get 0644 under the default
umask.

Reading trusts nothing in the file (:mod:`shenjing._format`, :mod:`shenjing._building`): every header field
is checked against the file's size before an array is made; the structure is checked as a whole and built on
zero-byte placeholders without random initialisation, and only then given the file's arrays; a ``device`` in
a file is ignored (the caller's ``map_location`` decides). Files carry SHA-256 checksums of the tensor bytes
and of the header (format version 2; version 1 files load unchecked). Every bad file is a
:class:`ModelFileError` (a ValueError) naming the file and what is wrong.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import OrderedDict
from typing import Any

import numpy  # host-side file handling only (no math)

from . import _building, _format, registry
from ._format import ModelFileError
from .backend import backend_of, get_rng_state, set_rng_state
from .dtypes import dtype as _dtype
from .dtypes import to_shenjing
from .registry import register, register_module
from .tensor import Tensor

__all__ = [
    "save",
    "load",
    "info",
    "save_checkpoint",
    "load_checkpoint",
    "ModelFileError",
    "FORMAT_VERSION",
    "describe",
    "build",
    "save_model",
    "save_state_dict",
    "atomic_write_bytes",
    "load_torch_state_dict",
    "to_torch_state_dict",
    "register",
    "register_module",
    "encode_state",
    "decode_state",
]

FORMAT_VERSION = 2  # 2: files carry SHA-256 checksums (version 1 files load unchecked)
_KEY = "shenjing"  # the __metadata__ entry holding our JSON document
_CONTAINERS = ("Sequential", "ModuleList", "ModuleDict")


# ---- atomic writes -----------------------------------------------------------------------------------------------
def atomic_write_bytes(path: str | os.PathLike, data: bytes, durable: bool = True) -> None:
    """Write ``data`` to ``path`` so that ``path`` is always either the old file or the complete new one.

    temp file in the same folder → write → flush → fsync → ``os.replace`` over ``path`` → fsync the folder.
    ``durable=False`` skips the two fsyncs: still atomic if the program dies, not if the machine loses power
    (for logs that are rewritten every epoch anyway).
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    prefix = "." + os.path.basename(path) + "."
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=folder)
    try:
        try:  # mkstemp makes 0600; a model file is an ordinary file (0644 under the default umask)
            os.fchmod(fd, 0o666 & ~_umask())
        except (AttributeError, OSError):  # no fchmod on Windows
            pass
        with os.fdopen(fd, "wb") as f:
            _write_all(f, data)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _remove_stale_temp_files(folder, prefix)
    if not durable:
        return
    try:  # make the rename itself durable; not possible on every platform (Windows)
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _write_all(f: Any, data: bytes) -> None:
    f.write(data)


def _umask() -> int:
    """The process's umask, read without changing it where the OS allows (os.umask sets it: not thread-safe)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _remove_stale_temp_files(folder: str, prefix: str) -> None:
    """Temp files of this target left by a writer that crashed mid-write (mkstemp's names: prefix + 8 chars)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if name.startswith(prefix) and name.endswith(".tmp") and len(name) == len(prefix) + 8 + 4:
            try:
                os.unlink(os.path.join(folder, name))
            except OSError:
                pass


# ---- structure: module ↔ JSON ------------------------------------------------------------------------------------
def describe(module: Any, path: str = "model") -> dict:
    """The JSON-able structure of ``module``: registered type names, constructor configs, children of containers."""
    try:
        name = registry.name_of(module)
    except KeyError as error:
        raise TypeError(f"cannot save {path}: {error.args[0]}") from None
    if name in _CONTAINERS:
        children = [[key, describe(child, f"{path}.{key}")] for key, child in module._modules.items()]
        return {"type": name, "children": children}
    try:
        config = module.get_config()
    except NotImplementedError as error:
        raise TypeError(f"cannot save {path} ({name}): {error}") from None
    try:
        json.dumps(config, allow_nan=True)
    except TypeError as error:
        raise TypeError(f"cannot save {path} ({name}): get_config() must return JSON values ({error})") from None
    return {"type": name, "config": config}


def build(spec: Any, path: str = "model") -> Any:
    """A module rebuilt from :func:`describe`'s structure, by registered names only (weights uninitialised-random).

    The whole structure is checked first (:func:`shenjing._building.check_structure`); ``device`` arguments
    are ignored (the caller moves the model)."""
    where = "structure"
    _building.check_structure(spec, where)
    return _building.build(spec, path, where)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 80 else text[:77] + "..."


# ---- nested state (optimizer, scheduler, RNG) ↔ JSON + arrays ----------------------------------------------------
def encode_state(obj: Any, prefix: str, arrays: dict, depth: int = 0) -> Any:
    """``obj`` (dicts, lists, tuples, numbers, strings, Tensors, arrays) as JSON, its arrays moved to ``arrays``.

    Tensors and arrays become ``{"__tensor__": key}`` / ``{"__ndarray__": key}``; NumPy scalars keep their
    dtype; dicts with non-string keys (an optimizer's ``state`` by parameter index) become key/value pairs.
    Everything round-trips bit for bit through :func:`decode_state`.
    """
    if depth > _MAX_STATE_DEPTH:
        raise ValueError(f"save: {prefix[:80]} is nested more than {_MAX_STATE_DEPTH} levels deep (a cycle?)")
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    if isinstance(obj, Tensor):
        arrays[prefix] = _host(obj.array)
        return {"__tensor__": prefix}
    if isinstance(obj, numpy.generic):
        return {"__scalar__": obj.item(), "dtype": obj.dtype.str}
    if hasattr(obj, "shape") and hasattr(obj, "dtype"):  # a NumPy or CuPy array
        arrays[prefix] = _host(obj)
        return {"__ndarray__": prefix}
    if isinstance(obj, numpy.dtype | _dtype):
        return {"__dtype__": obj.str}
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: encode_state(v, f"{prefix}/{k}", arrays, depth + 1) for k, v in obj.items()}
        return {
            "__dict__": [
                [
                    encode_state(k, f"{prefix}/{i}k", arrays, depth + 1),
                    encode_state(v, f"{prefix}/{i}", arrays, depth + 1),
                ]
                for i, (k, v) in enumerate(obj.items())
            ]
        }
    if isinstance(obj, list):
        return [encode_state(v, f"{prefix}/{i}", arrays, depth + 1) for i, v in enumerate(obj)]
    if isinstance(obj, tuple):
        return {"__tuple__": [encode_state(v, f"{prefix}/{i}", arrays, depth + 1) for i, v in enumerate(obj)]}
    raise TypeError(
        f"cannot save a {type(obj).__name__} at {prefix!r}: only numbers, strings, lists, dicts, tensors "
        "and arrays are stored (never pickled objects)"
    )



_MAX_STATE_DEPTH = 200  # as shenjing.save's


def decode_state(obj: Any, arrays: dict, where: str = "state") -> Any:
    """The inverse of :func:`encode_state`; anything malformed is a :class:`ModelFileError` naming ``where``."""
    try:
        return _decode_state(obj, arrays, where)
    except ModelFileError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, OverflowError, AttributeError):
        raise ModelFileError(f"{where}: the saved training state is malformed (corrupted file?)") from None


def _decode_state(obj: Any, arrays: dict, where: str) -> Any:
    if isinstance(obj, list):
        return [_decode_state(v, arrays, where) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__tensor__" in obj:
        return Tensor._wrap(_array(arrays, obj["__tensor__"], where))
    if "__ndarray__" in obj:
        return _array(arrays, obj["__ndarray__"], where)
    if "__scalar__" in obj:
        value = obj["__scalar__"]
        if not isinstance(value, bool | int | float):
            raise ModelFileError(f"{where}: the saved scalar {_short(value)} is not a number")
        return _safe_dtype(obj["dtype"], where).type(value)
    if "__dtype__" in obj:
        return to_shenjing(_safe_dtype(obj["__dtype__"], where))
    if "__tuple__" in obj:
        return tuple(_decode_state(v, arrays, where) for v in obj["__tuple__"])
    if "__dict__" in obj:
        return {
            _hashable(_decode_state(k, arrays, where)): _decode_state(v, arrays, where) for k, v in obj["__dict__"]
        }
    return {k: _decode_state(v, arrays, where) for k, v in obj.items()}


def _safe_dtype(text: Any, where: str) -> numpy.dtype:
    """A NumPy dtype named in a file: numbers only (never a void dtype of a gigabyte per item)."""
    try:
        dtype = numpy.dtype(text) if isinstance(text, str) and len(text) <= 12 else None
    except TypeError:
        dtype = None
    if dtype is None or dtype.kind not in "biufc" or dtype.itemsize > 16:
        raise ModelFileError(f"{where}: {_short(text)} is not a supported dtype (corrupted file?)")
    return dtype


def _hashable(key: Any) -> Any:
    return key.item() if isinstance(key, numpy.generic) else key


def _array(arrays: dict, key: Any, where: str = "state") -> Any:
    if not isinstance(key, str) or key not in arrays:
        raise ModelFileError(
            f"{where}: the file refers to an array {_short(key)} that it does not contain (corrupted file?)"
        )
    return arrays[key]


def _host(array: Any) -> numpy.ndarray:
    host = array if isinstance(array, numpy.ndarray) else backend_of(array).to_host(array)
    # NOTE: not numpy.ascontiguousarray, which turns a 0-d array (num_batches_tracked) into shape (1,)
    return host if host.flags.c_contiguous else host.copy(order="C")


# ---- the file format ---------------------------------------------------------------------------------------------
def _version() -> str:
    from . import __version__

    return __version__


def _write(path: Any, kind: str, document: dict, arrays: dict) -> None:
    document = {
        "format": f"shenjing.{kind}",
        "format_version": FORMAT_VERSION,
        "shenjing_version": _version(),
        **document,
    }
    text = json.dumps(document, default=_json_default)
    # NOTE: refuse now what loading would refuse (an absurd input_shape, nesting too deep), not after training
    _check_document(_format.parse_json(text, f"save {_name_of(path)}", "the metadata"), f"save {_name_of(path)}")
    data = _format.encode_file(arrays, {_KEY: text})
    if hasattr(path, "write"):  # a binary file object (io.BytesIO, an open file)
        path.write(data)
    else:
        atomic_write_bytes(path, data)


def _name_of(f: Any) -> str:
    """How errors name the file: its path, or the file object's name."""
    if hasattr(f, "read") or hasattr(f, "write"):
        name = getattr(f, "name", None)
        return str(name) if isinstance(name, str | bytes) else f"<{type(f).__name__}>"
    return os.fspath(f) if isinstance(f, str | os.PathLike) else repr(f)


def _json_default(value: Any) -> Any:
    if isinstance(value, numpy.generic):
        return value.item()
    if isinstance(value, numpy.ndarray):
        return value.tolist()
    if isinstance(value, numpy.dtype | _dtype):
        return numpy.dtype(value).name
    raise TypeError(f"metadata values must be JSON (numbers, strings, lists, dicts), got {type(value).__name__}")


def _read(path: Any) -> tuple[dict | None, dict]:
    """(our JSON document or None for a plain safetensors file, the arrays), with clear errors for bad files.

    Every field of the file is checked (:mod:`shenjing._format`) before an array is made."""
    document, arrays, _ = _read_with_notes(path)
    return document, arrays


def _read_with_notes(path: Any) -> tuple[dict | None, dict, list[str]]:
    where = _name_of(path)
    data = _format.read_bytes(path if hasattr(path, "read") else os.fspath(path), where)
    found: dict = {}

    def check_version(metadata: dict) -> None:
        if _KEY not in metadata:
            return
        document = found["document"] = _format.parse_json(metadata[_KEY], where, "shenjing's metadata")
        version = document.get("format_version") if isinstance(document, dict) else None
        if not isinstance(version, int) or isinstance(version, bool):
            raise ModelFileError(f"{where}: shenjing's metadata has no format version: corrupted file")
        if version > FORMAT_VERSION:
            raise ModelFileError(
                f"{where}: written in model-file format version {version} (by shenjing "
                f"{str(document.get('shenjing_version', '?'))[:40]}); this shenjing ({_version()}) reads versions up "
                f"to {FORMAT_VERSION}. Upgrade shenjing: pip install -U shenjing"
            )

    metadata, arrays, notes = _format.decode_file(data, where, check_version)
    if found.get("document", {}).get("format_version", 1) >= 2 and _format.CHECKSUM_KEY not in metadata:
        # NOTE: a flipped bit in the checksum's own key must not turn the check off
        raise ModelFileError(f"{where}: the file's checksum is missing (format version 2 files have one): corrupted")
    if _KEY not in metadata:
        return None, arrays, notes
    document = found["document"]
    _check_document(document, where)
    return document, arrays, notes


def info(path: str | os.PathLike) -> dict:
    """The JSON document of a shenjing file (format, versions, structure, metadata), without building anything."""
    document, arrays, notes = _read_with_notes(path)
    if document is None:
        document = {"format": "safetensors", "tensors": {k: list(v.shape) for k, v in arrays.items()}}
    return {**document, "notes": notes} if notes else document


# ---- models ------------------------------------------------------------------------------------------------------
def save(obj: Any, path: Any, **metadata: Any) -> None:
    """:func:`shenjing.save`: a model (structure + weights), a state dict, or any nested state, never pickled.

    See :func:`shenjing.serialization.save`; a Module goes to :func:`save_model`.
    """
    from .serialization import save as save_object

    save_object(obj, path, **metadata)


def save_model(model: Any, path: Any, **metadata: Any) -> None:
    """Save a model (weights + structure + metadata) to one safetensors file, to be rebuilt by :func:`load`.

    Args:
        model: a Module whose layers are all registered (every built-in layer is).
        path: the file to write (conventionally ``*.safetensors``; written atomically) or a binary file object.
        **metadata: JSON values stored with it; ``input_shape`` (without the batch dimension) and
            ``class_names`` are used by ``shenjing summary`` / ``predict``.

    Example:
        >>> import shenjing, tempfile, os
        >>> model = shenjing.nn.Sequential(shenjing.nn.Linear(4, 3), shenjing.nn.ReLU())
        >>> path = os.path.join(tempfile.mkdtemp(), "m.safetensors")
        >>> shenjing.save(model, path, input_shape=[4])
        >>> shenjing.load(path)
        Sequential(
          (0): Linear(in_features=4, out_features=3, bias=True)
          (1): ReLU()
        )
    """
    for name, module in model.named_modules() if hasattr(model, "named_modules") else ():
        if getattr(module, "has_uninitialized_params", None) is not None and module.has_uninitialized_params():
            raise ValueError(f"{'layer ' + repr(name) if name else 'the model'} ({type(module).__name__}) has not been initialized yet: run one batch "
                             "through the model (model(x)) before saving, so its lazy layers learn their sizes")
    save_model_state(path, describe(model), {k: _host(v.array) for k, v in model.state_dict().items()}, metadata)


def save_state_dict(state_dict: dict, path: Any, **metadata: Any) -> None:
    """A state dict (str keys → tensors) as a plain safetensors file that any safetensors reader opens."""
    arrays = {}
    for key, value in state_dict.items():
        if not isinstance(key, str):
            raise TypeError(f"save: state-dict keys must be strings, got {key!r}")
        arrays[key] = _host(value.array if isinstance(value, Tensor) else _torch_to_numpy(value))
    _write(path, "state_dict", {"keys": list(arrays), "metadata": metadata}, arrays)


def save_model_state(path: str | os.PathLike, structure: dict, arrays: dict, metadata: dict) -> None:
    """:func:`save` of a model given as its structure (from :func:`describe`) and host arrays (for saving copies
    taken earlier, from another thread)."""
    dtypes = {str(a.dtype) for a in arrays.values() if a.dtype.kind == "f"}
    document = {"structure": structure, "dtype": dtypes.pop() if len(dtypes) == 1 else None, "metadata": metadata}
    _write(path, "model", document, arrays)


def load(path: Any, with_metadata: bool = False, map_location: Any = None, **kwargs: Any) -> Any:
    """:func:`shenjing.load`: a model (rebuilt by registered layer names, in eval mode), a state dict, or nested
    state, never unpickled. See :func:`shenjing.serialization.load`.

    A plain safetensors file (from ``safetensors.torch.save_file``, say) loads as a state dict of Tensors.
    With ``with_metadata=True`` returns ``(obj, document)``, the document holding the metadata, structure
    and versions. Raises :class:`ModelFileError` for a corrupted, truncated or future-version file and for an
    unknown layer name.
    """
    from .serialization import load as load_object

    return load_object(path, map_location, with_metadata=with_metadata, **kwargs)


def _load_read(document: dict | None, arrays: dict, where: str, with_metadata: bool, move: Any) -> Any:
    """The model or state dict in a file that :func:`_read` has read (``move`` puts a Tensor on its device)."""
    if document is None or document.get("format") in ("shenjing.state_dict",):
        order = (document or {}).get("keys")  # safetensors sorts its tensors; the document keeps the order
        in_order = (
            isinstance(order, list) and all(isinstance(k, str) for k in order) and sorted(order) == sorted(arrays)
        )
        keys = order if in_order else list(arrays)
        result: Any = OrderedDict((k, move(Tensor._wrap(arrays[k]))) for k in keys)
    elif document.get("format") in ("shenjing.model", "shenjing.checkpoint"):
        if document.get("structure") is None:
            raise ModelFileError(f"{where}: this checkpoint holds no model structure; use load_checkpoint")
        result = _build_model(document, arrays, where)
        result = _move_module(result, move)
    else:
        raise ModelFileError(f"{where}: unknown kind of shenjing file {document.get('format')!r}")
    return (result, document or {}) if with_metadata else result


def _move_module(module: Any, move: Any) -> Any:
    """The module on the device ``move`` puts a tensor on (asked once, with its first parameter)."""
    first = next(iter(module.state_dict().values()), None)
    if first is None:
        return module
    moved = move(first)
    return module if moved.device == first.device else module.to(moved.device)


def _build_model(document: dict, arrays: dict, where: str) -> Any:
    """The model of a file: structure checked, built on zero-byte placeholders without random init, then given
    the file's arrays once every name, shape and dtype matches (a few KB of file never allocates GBs)."""
    structure = document["structure"]
    _building.check_structure(structure, where)
    prefix = "model/" if document.get("format") == "shenjing.checkpoint" else ""
    weights = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)} if prefix else arrays
    with _building.structure_only():
        model = _building.build(structure, "model", where)
    _building.fill(model, weights, where)
    return model.eval()


def _check_document(document: dict, where: str) -> None:
    """The fields of shenjing's document that loading relies on, checked before they are used."""
    fields = {"structure": (dict, type(None)), "metadata": dict, "state": dict, "keys": list}
    for key, kinds in fields.items():
        if key in document and not isinstance(document[key], kinds):
            raise ModelFileError(f"{where}: shenjing's metadata field {key!r} is malformed: {_short(document[key])}")
    if not isinstance(document.get("format"), str):
        raise ModelFileError(f"{where}: shenjing's metadata names no format: corrupted file")
    epoch = document.get("epoch", 0)
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        raise ModelFileError(f"{where}: the epoch must be a non-negative int, got {_short(epoch)}")
    shape = (document.get("metadata") or {}).get("input_shape")
    if shape is not None:
        if not isinstance(shape, list) or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0
                                                  for n in shape) or len(shape) > 8:
            raise ModelFileError(f"{where}: metadata input_shape must be a list of positive ints, got {_short(shape)}")
        if _prod(shape) > _MAX_INPUT:
            raise ModelFileError(
                f"{where}: metadata input_shape {shape} asks for {_prod(shape)} values per example, more than the "
                f"{_MAX_INPUT} a model file may declare"
            )


_MAX_INPUT = 1 << 28  # values in one example's input_shape metadata (a 8K RGB image is 10⁸)


def _prod(values: list) -> int:
    result = 1
    for value in values:
        result *= value
    return result


# ---- checkpoints -------------------------------------------------------------------------------------------------
def save_checkpoint(
    path: str | os.PathLike,
    model: Any,
    optimizer: Any = None,
    scheduler: Any = None,
    epoch: int = 0,
    rng_state: Any = None,
    model_state: dict | None = None,
    **extra: Any,
) -> None:
    """Everything needed to resume training exactly: weights, optimizer and scheduler state, epoch, RNG states.

    ``optimizer`` and ``scheduler`` may be the objects or their state dicts; ``model_state`` (a state dict
    of arrays) replaces the model's current weights (the model then only gives the structure).
    ``rng_state`` defaults to :func:`shenjing.get_rng_state`; ``extra`` (history, data-loader state, config)
    may hold numbers, strings, lists, dicts and arrays. Written atomically: a crash mid-write leaves the last
    good checkpoint in place.
    """
    arrays: dict = {}
    weights = model.state_dict() if model_state is None else model_state
    for key, value in weights.items():
        arrays["model/" + key] = _host(value.array if isinstance(value, Tensor) else value)
    try:
        structure = describe(model)
    except TypeError:
        structure = None  # a model of unregistered layers still checkpoints; it just cannot be rebuilt alone
    state = {
        "optimizer": _state_of(optimizer),
        "scheduler": _state_of(scheduler),
        "rng": get_rng_state() if rng_state is None else rng_state,
        "extra": extra,
    }
    dtypes = {str(a.dtype) for a in arrays.values() if a.dtype.kind == "f"}
    document = {
        "structure": structure,
        "dtype": dtypes.pop() if len(dtypes) == 1 else None,
        "epoch": int(epoch),
        "state": encode_state(state, "state", arrays),
    }
    _write(path, "checkpoint", document, arrays)


def _state_of(obj: Any) -> Any:
    return obj.state_dict() if hasattr(obj, "state_dict") else obj


def load_checkpoint(
    path: str | os.PathLike, model: Any = None, optimizer: Any = None, scheduler: Any = None, restore_rng: bool = True
) -> dict:
    """Restore a checkpoint into ``model``, ``optimizer`` and ``scheduler`` (and the global RNG).

    Returns ``{"model", "epoch", "optimizer", "scheduler", "rng", "extra"}``; ``model`` is rebuilt from the
    file when not given (the state dicts are returned either way, for objects you restore yourself).
    """
    document, arrays = _read(path)
    where = _name_of(path)
    if document is None or document.get("format") != "shenjing.checkpoint":
        kind = "a plain safetensors file" if document is None else _short(document.get("format"))
        raise ModelFileError(f"{where}: expected a shenjing checkpoint, got {kind}. Load models with shenjing.load")
    state = decode_state(document.get("state", {}), arrays, where)
    if not isinstance(state, dict):
        raise ModelFileError(f"{where}: the saved training state is malformed (corrupted file?)")
    if model is None:
        if document.get("structure") is None:
            raise ModelFileError(f"{where}: the checkpoint holds no model structure: pass the model to restore into")
        model = _build_model(document, arrays, where)
        model.train()
    else:
        weights = {k[len("model/") :]: v for k, v in arrays.items() if k.startswith("model/")}
        _restore(model, weights, where, "the model")
    if optimizer is not None and state.get("optimizer") is not None:
        _restore(optimizer, state["optimizer"], where, "the optimizer")
    if scheduler is not None and state.get("scheduler") is not None:
        _restore(scheduler, state["scheduler"], where, "the scheduler")
    if restore_rng and state.get("rng"):
        _restore_rng(state["rng"], where)
    return {"model": model, "epoch": document.get("epoch", 0), **state}


def _restore(target: Any, state: Any, where: str, what: str) -> None:
    """``target.load_state_dict(state)``, a mismatch (another architecture, optimizer) as a ModelFileError."""
    try:
        target.load_state_dict(state)
    except (RuntimeError, ValueError, KeyError, IndexError, TypeError, AttributeError) as error:
        raise ModelFileError(
            f"{where}: the checkpoint does not fit {what} ({type(target).__name__}): {error}. It was saved from a "
            "different model or optimizer; resume with the configuration it was trained with."
        ) from None


def _restore_rng(rng: Any, where: str) -> None:
    """The saved RNG states of the backends already in use; a state for another device (a "cuda" entry) never
    imports that device's backend: where training runs is the caller's choice."""
    from . import backend

    if not isinstance(rng, dict):
        raise ModelFileError(f"{where}: the saved RNG state is malformed: {_short(rng)}")
    loaded = {kind: state for kind, state in rng.items() if kind in backend._backends}
    try:
        set_rng_state(loaded)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as error:
        raise ModelFileError(f"{where}: the saved RNG state is malformed ({error})") from None


# ---- PyTorch weight exchange ---------------------------------------------------------------------------------------
def _torch_to_numpy(value: Any) -> Any:
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch.Tensor
        return value.detach().cpu().numpy()
    return numpy.asarray(value)


def load_torch_state_dict(model: Any, state_dict: Any, strict: bool = True) -> Any:
    """Copy a PyTorch ``state_dict`` into the equivalent shenjing ``model`` (same keys and weight layouts).

    Values are cast to the model's dtypes. Example::

        torch_model = torch.nn.Sequential(torch.nn.Linear(784, 16), torch.nn.Sigmoid(), torch.nn.Linear(16, 10))
        model = shenjing.nn.Sequential(nn.Linear(784, 16), nn.Sigmoid(), nn.Linear(16, 10))
        shenjing.io.load_torch_state_dict(model, torch_model.state_dict())

    Returns ``(missing_keys, unexpected_keys)`` as ``load_state_dict``.
    """
    arrays = OrderedDict((k, v.array if isinstance(v, Tensor) else _torch_to_numpy(v)) for k, v in state_dict.items())
    return model.load_state_dict(arrays, strict=strict)


def to_torch_state_dict(model: Any) -> OrderedDict:
    """The model's weights as a PyTorch state dict (CPU tensors, copies): ``torch_model.load_state_dict(...)``."""
    try:
        import torch
    except ImportError:
        raise ImportError("to_torch_state_dict needs PyTorch: pip install torch") from None
    return OrderedDict((k, torch.from_numpy(_host(v.array).copy())) for k, v in model.state_dict().items())
