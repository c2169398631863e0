"""The safetensors container, read with every field checked before anything is allocated, written with checksums.

A safetensors file is ``<u64 little-endian n> <n bytes of JSON header> <raw little-endian tensor bytes>``; the
header maps each tensor name to ``{"dtype", "shape", "data_offsets": [begin, end]}`` (offsets into the bytes
after the header) and may hold ``"__metadata__"``, an object of strings. shenjing reads it here itself,
without the ``safetensors`` package, so that a hostile file is refused with a :class:`ModelFileError` that names
the file and the field before any byte of it is trusted:

- the header size is bounded by the file size and by ``MAX_HEADER``; the number of tensors by ``MAX_TENSORS``
  (counted in the raw header before the JSON is parsed); JSON nesting by ``MAX_DEPTH``;
- each tensor's dtype is a known name, its shape a list of non-negative ints, its offsets two ints inside the
  file with ``end − begin = prod(shape) · itemsize`` (Python ints: no overflow), and no two tensors overlap.
  So the arrays a file can describe never hold more bytes than the file itself.

Files written by shenjing also carry ``"shenjing_sha256"`` in ``__metadata__``: the SHA-256 of the tensor bytes
and of the header (everything else in it, canonically encoded). A flipped bit anywhere is a checksum mismatch,
not a different model. Files without it (older shenjing, other writers) load unchecked.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
from typing import Any

import numpy  # host-side bytes ↔ arrays and header scanning only (never tensor math)

__all__ = ["ModelFileError", "MAX_HEADER", "MAX_TENSORS", "MAX_DEPTH", "encode_file", "decode_file", "read_bytes"]

MAX_HEADER = 64 * 1024 * 1024  # bytes of JSON header (the safetensors package allows 100 MB)
MAX_TENSORS = 100_000  # tensors in one file (a large language model has a few thousand)
MAX_DEPTH = 512  # nesting of the JSON header and of shenjing's document
CHECKSUM_KEY = "shenjing_sha256"

# safetensors dtype name → NumPy dtype (little-endian, as stored)
DTYPES = {
    "BOOL": numpy.dtype("bool"),
    "U8": numpy.dtype("u1"),
    "I8": numpy.dtype("i1"),
    "U16": numpy.dtype("<u2"),
    "I16": numpy.dtype("<i2"),
    "U32": numpy.dtype("<u4"),
    "I32": numpy.dtype("<i4"),
    "U64": numpy.dtype("<u8"),
    "I64": numpy.dtype("<i8"),
    "F16": numpy.dtype("<f2"),
    "F32": numpy.dtype("<f4"),
    "F64": numpy.dtype("<f8"),
    "C64": numpy.dtype("<c8"),
    "BF16": numpy.dtype("<u2"),  # NOTE: NumPy has no bfloat16: read as its 16 bits, widened to float32 on load
}
_NAMES = {dtype.newbyteorder("="): name for name, dtype in DTYPES.items() if name != "BF16"}
# real safetensors dtypes that NumPy cannot hold (8-, 6- and 4-bit floats)
_UNSUPPORTED = ("F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4")


class ModelFileError(ValueError):
    """A model or checkpoint file that cannot be read: corrupted, truncated, hostile, unknown layer, future format."""


def _fail(where: str, what: str) -> ModelFileError:
    return ModelFileError(f"{where}: {what}")


# ---- writing -----------------------------------------------------------------------------------------------------
def encode_file(arrays: dict, metadata: dict[str, str]) -> bytes:
    """The bytes of a safetensors file holding ``arrays`` (host NumPy arrays) and ``metadata`` (str → str), with
    shenjing's checksums added to the metadata. Any safetensors reader opens it."""
    if len(arrays) > MAX_TENSORS:
        raise ValueError(f"save: {len(arrays)} tensors in one file, more than the {MAX_TENSORS} a file may hold")
    # NOTE: widest items first, so that every tensor starts at a multiple of its item size (as safetensors does)
    order = sorted(arrays, key=lambda k: (-arrays[k].dtype.itemsize, k))
    entries: dict[str, Any] = {}
    chunks = []
    digest = hashlib.sha256()
    offset = 0
    for key in order:
        array = arrays[key]
        name = _NAMES.get(array.dtype.newbyteorder("="))
        if name is None:
            raise TypeError(f"save: cannot store {key!r} of dtype {array.dtype} in a safetensors file")
        little = array.astype(DTYPES[name], copy=False)
        chunk = numpy.ascontiguousarray(little).tobytes()
        chunks.append(chunk)
        digest.update(chunk)
        entries[key] = {"dtype": name, "shape": list(array.shape), "data_offsets": [offset, offset + len(chunk)]}
        offset += len(chunk)
    metadata = dict(metadata)
    metadata[CHECKSUM_KEY] = json.dumps({"data": digest.hexdigest(), "header": _header_digest(entries, metadata)})
    header = json.dumps({"__metadata__": metadata, **entries}, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)  # pad to 8 bytes: the tensors start aligned
    if len(header) > MAX_HEADER:
        raise ValueError(f"save: the file's header would be {len(header)} bytes, more than the {MAX_HEADER} allowed")
    return b"".join([struct.pack("<Q", len(header)), header, *chunks])


def _header_digest(entries: dict, metadata: dict) -> str:
    """SHA-256 of the header without the checksum itself, in one canonical JSON encoding."""
    rest = {k: v for k, v in metadata.items() if k != CHECKSUM_KEY}
    text = json.dumps({"tensors": entries, "metadata": rest}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


# ---- reading -----------------------------------------------------------------------------------------------------
def read_bytes(source: Any, where: str) -> Any:
    """The file's bytes (a bytearray or bytes), refusing a file whose header size is implausible before the rest
    is read."""
    if hasattr(source, "read"):
        data = source.read()
        if not isinstance(data, bytes | bytearray):
            kind = type(data).__name__
            raise TypeError(f"load: expected a binary file object (opened with 'rb'), {where} gave {kind}")
        return data
    with open(source, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(9)
        _refuse_pickles(head, where)
        if len(head) >= 8:
            (header_size,) = struct.unpack("<Q", head[:8])
            _check_header_size(header_size, size, where)
        data = bytearray(size)
        data[: len(head)] = head
        view = memoryview(data)
        filled = len(head)
        while filled < size:
            count = f.readinto(view[filled:])
            if not count:
                break
            filled += count
        return data if filled == size else data[:filled]


def _refuse_pickles(head: bytes, where: str) -> None:
    """A pickle or a PyTorch .pt (a zip holding data.pkl) is refused by its first bytes, with how to convert it."""
    looks_safetensors = head[8:9] == b"{"
    if not looks_safetensors and (
        head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05") or head[:2] == b"PK"
    ):
        raise _fail(
            where,
            "this looks like a pickle or a PyTorch .pt/.pth file (torch.save's zip with data.pkl). shenjing never "
            "unpickles files (unpickling runs code from the file). Convert it once with PyTorch: "
            "state_dict = torch.load(path, weights_only=True); safetensors.torch.save_file(state_dict, "
            "'model.safetensors'); then model.load_state_dict(shenjing.load('model.safetensors')), or pass the "
            "torch state dict straight to shenjing.io.load_torch_state_dict(model, state_dict).",
        )


def _check_header_size(header_size: int, size: int, where: str) -> None:
    if header_size > MAX_HEADER:
        raise _fail(
            where, f"not a safetensors file: its header size {header_size} is implausible (over {MAX_HEADER} bytes)"
        )
    if 8 + header_size > size:
        raise _fail(
            where,
            f"the file is truncated: its header needs {8 + header_size} bytes, the file has {size}. It was probably "
            "cut short while being copied or written; use the previous file.",
        )


def decode_file(data: Any, where: str, check: Any = None) -> tuple[dict, dict, list[str]]:
    """(the ``__metadata__`` strings, the arrays, notes such as BF16 widening) of a safetensors file's bytes.

    Every field is checked before an array is made; arrays are views of ``data`` where aligned and writable.
    ``check(metadata)`` runs before the checksums are verified (a future format version is named as such)."""
    _refuse_pickles(bytes(data[:9]), where)
    if len(data) < 8:
        raise _fail(where, f"the file is {len(data)} bytes long: truncated or not a safetensors file")
    (header_size,) = struct.unpack("<Q", bytes(data[:8]))
    _check_header_size(header_size, len(data), where)
    raw = bytes(memoryview(data)[8 : 8 + header_size])
    if raw.lstrip()[:1] != b"{":
        raise _fail(where, "not a safetensors file (its header does not start with a JSON object)")
    if raw.count(b"data_offsets") > MAX_TENSORS:
        raise _fail(where, f"the header lists more than {MAX_TENSORS} tensors, more than a file may hold")
    header = parse_json(raw, where, "the header")
    if not isinstance(header, dict):
        raise _fail(where, "the header is not a JSON object: the file is corrupted")
    metadata = header.pop("__metadata__", None)
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise _fail(where, "the header's __metadata__ must be an object of strings: the file is corrupted")
    body = len(data) - 8 - header_size
    spans = [(_entry_span(key, entry, body, where), key) for key, entry in header.items()]
    spans.sort()
    for ((begin, _), key), ((_, end_before), key_before) in zip(spans[1:], spans[:-1], strict=False):
        if begin < end_before:
            raise _fail(where, f"tensors {key_before!r} and {key!r} overlap in the file: the file is corrupted")
    if check is not None:
        check(metadata)
    _verify_checksum(metadata, header, data, 8 + header_size, where)
    start = 8 + header_size
    arrays: dict = {}
    notes: list[str] = []
    writable = isinstance(data, bytearray)
    for key, entry in header.items():
        begin, end = entry["data_offsets"]
        dtype = DTYPES[entry["dtype"]]
        shape = tuple(entry["shape"])
        aligned = (start + begin) % dtype.itemsize == 0
        array = numpy.frombuffer(data, dtype=dtype, count=math.prod(shape), offset=start + begin).reshape(shape)
        if not (writable and aligned) or not dtype.isnative:
            array = array.astype(dtype.newbyteorder("="))  # a copy: native byte order, aligned, writable
        if entry["dtype"] == "BF16":
            # NOTE: bfloat16 is the top half of a float32: shifting its 16 bits up gives the same value exactly
            array = (array.astype(numpy.uint32) << 16).view(numpy.float32)
            notes.append(f"{key!r} is bfloat16, which NumPy cannot hold; it was loaded as float32 (exactly)")
        arrays[key] = array
    return metadata, arrays, notes


def _entry_span(key: str, entry: Any, body: int, where: str) -> tuple[int, int]:
    """(begin, end) of one tensor's bytes, after checking its dtype, shape and offsets against the file."""
    name = f"tensor {key!r}"
    if not isinstance(entry, dict):
        raise _fail(where, f"{name}: expected {{'dtype', 'shape', 'data_offsets'}}, got {_short(entry)}")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if dtype in _UNSUPPORTED:
        raise _fail(
            where,
            f"{name} has dtype {dtype}, a real safetensors dtype that NumPy (and so shenjing) cannot hold. Convert "
            "it with PyTorch first (tensor.float()) and save again.",
        )
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise _fail(where, f"{name} has unknown dtype {_short(dtype)}; known: {', '.join(DTYPES)}")
    if not isinstance(shape, list) or not all(_is_int(n) and n >= 0 for n in shape) or len(shape) > 64:
        raise _fail(where, f"{name}: expected a shape as a list of non-negative ints, got {_short(shape)}")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_int(n) for n in offsets):
        raise _fail(where, f"{name}: expected data_offsets as two ints [begin, end], got {_short(offsets)}")
    begin, end = offsets
    if not 0 <= begin <= end <= body:
        raise _fail(
            where,
            f"{name}: its bytes [{begin}, {end}) lie outside the {body} bytes of tensor data in the file "
            "(truncated or corrupted file)",
        )
    needed = math.prod(shape) * DTYPES[dtype].itemsize
    if end - begin != needed:
        raise _fail(
            where,
            f"{name}: shape {shape} of {dtype} needs {needed} bytes, its offsets give {end - begin}: corrupted file",
        )
    return begin, end


def _verify_checksum(metadata: dict, header: dict, data: Any, start: int, where: str) -> None:
    text = metadata.get(CHECKSUM_KEY)
    if text is None:
        return  # an older shenjing file or another writer's: nothing to check against
    sums = parse_json(text, where, "the checksum")
    if not isinstance(sums, dict) or not all(isinstance(sums.get(k), str) for k in ("data", "header")):
        raise _fail(where, f"the checksum entry {_short(text)} is malformed: the file is corrupted")
    if _header_digest(header, metadata) != sums["header"]:
        raise _fail(where, "header checksum mismatch: the structure or metadata changed after it was written")
    if hashlib.sha256(memoryview(data)[start:]).hexdigest() != sums["data"]:
        raise _fail(where, "weights checksum mismatch: the tensor bytes changed after the file was written")


def parse_json(text: Any, where: str, what: str) -> Any:
    """``json.loads`` with every failure (bad bytes, bad JSON, nesting too deep) as a :class:`ModelFileError`.

    The nesting depth is measured on the raw text first, so that the parser never recurses deeper than
    ``MAX_DEPTH`` (a header of ten thousand ``[`` is refused, not a RecursionError)."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    if _text_depth(raw) > MAX_DEPTH:
        raise _fail(where, f"{what} is nested more than {MAX_DEPTH} levels deep (a corrupted or hostile file)")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError) as error:
        raise _fail(where, f"{what} is not valid JSON: the file is corrupted ({error})") from None
    except RecursionError:
        raise _fail(where, f"{what} is nested too deeply to be a model file (a corrupted or hostile file)") from None


def _text_depth(raw: bytes) -> int:
    """The deepest nesting of ``[`` / ``{`` in JSON text, brackets inside strings not counted. Vectorised, in
    256 KB chunks: a 64 MB header is measured in a fraction of a second and a few MB of memory."""
    if b"[" not in raw and b"{" not in raw:
        return 0
    # NOTE: without escaped backslashes and escaped quotes, every remaining '"' opens or closes a string
    clean = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    deepest, depth, in_string = 0, 0, 0
    chunk = 1 << 18
    for start in range(0, len(clean), chunk):
        codes = numpy.frombuffer(clean, dtype=numpy.uint8, count=min(chunk, len(clean) - start), offset=start)
        inside = (numpy.cumsum(codes == ord('"'), dtype=numpy.int32) + in_string) & 1
        steps = _STEPS[codes] * (1 - inside).astype(numpy.int8)
        levels = numpy.cumsum(steps, dtype=numpy.int64) + depth
        deepest = max(deepest, int(levels.max(initial=0)))
        depth, in_string = int(levels[-1]), int(inside[-1])
    return deepest


_STEPS = numpy.zeros(256, dtype=numpy.int8)  # +1 for an opening bracket, −1 for a closing one
_STEPS[[ord("["), ord("{")]] = 1
_STEPS[[ord("]"), ord("}")]] = -1


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 80 else text[:77] + "..."
