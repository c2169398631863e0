"""Variable-length batches for the recurrent layers, as ``torch.nn.utils.rnn``.

A batch of sequences of lengths L_1 ≥ L_2 ≥ … is *packed* time-major: step t holds the batch_sizes[t] sequences
still running at t, so ``data`` has Σ L_b rows and no padding. ``pad_packed_sequence`` turns it back into a
padded (T, N, …) block. Every conversion is an indexing op, so gradients flow through it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy

from ...backend import get_backend
from ...tensor import Tensor

__all__ = [
    "PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence", "pack_sequence",
    "unpad_sequence", "unpack_sequence",
]


def _int64(values: Any) -> Tensor:
    return Tensor._wrap(numpy.asarray(values, dtype=numpy.int64))


class PackedSequence(NamedTuple):
    """A packed batch: ``data`` (Σ L_b, *), ``batch_sizes`` (T,) int64 on the CPU, and the permutation that sorted
    the batch by decreasing length (``sorted_indices``) with its inverse (``unsorted_indices``), None if it was
    sorted already. Build it with :func:`pack_padded_sequence` or :func:`pack_sequence`."""

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        data = self.data.to(*args, **kwargs)
        return self if data is self.data else self._replace(data=data)

    def cpu(self) -> PackedSequence:
        return self.to("cpu")

    def cuda(self, *args: Any, **kwargs: Any) -> PackedSequence:
        return self.to("cuda")

    def double(self) -> PackedSequence:
        return self._replace(data=self.data.double())

    def float(self) -> PackedSequence:
        return self._replace(data=self.data.float())

    @property
    def is_cuda(self) -> bool:
        return self.data.device.type == "cuda"

    def is_pinned(self) -> bool:
        return False


def _lengths_array(lengths: Any) -> numpy.ndarray:
    if isinstance(lengths, Tensor):
        lengths = get_backend(lengths.device).to_host(lengths.array)
    array = numpy.asarray(lengths)
    if array.ndim != 1:
        raise ValueError(f"pack_padded_sequence: lengths must be a 1-D list or tensor, got shape {array.shape}")
    if array.size and not numpy.issubdtype(array.dtype, numpy.integer):
        if not numpy.all(array == numpy.round(array)):
            raise TypeError("pack_padded_sequence: lengths must be integers")
    return array.astype(numpy.int64)


def _positions(batch_sizes: numpy.ndarray) -> tuple:
    """(t, b) of every row of packed data, in packed (time-major) order."""
    t = numpy.repeat(numpy.arange(len(batch_sizes)), batch_sizes)
    b = numpy.concatenate([numpy.arange(n) for n in batch_sizes]) if len(batch_sizes) else numpy.zeros(0, int)
    return t, b


def pack_padded_sequence(input: Tensor, lengths: Any, batch_first: bool = False,  # noqa: A002
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch (T, N, *) (or (N, T, *) with batch_first) whose sequence b has length lengths[b].

    With ``enforce_sorted=True`` the lengths must be in decreasing order; otherwise the batch is sorted here and
    the permutation kept in the PackedSequence (the recurrent layers undo it in h_n).
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"pack_padded_sequence: input must be a shenjing.Tensor, got {type(input).__name__}")
    lengths = _lengths_array(lengths)
    batch_dim, time_dim = (0, 1) if batch_first else (1, 0)
    if input.ndim < 2:
        raise ValueError(f"pack_padded_sequence: input must have at least 2 dimensions (T, N, *), got shape "
                         f"{tuple(input.shape)}")
    N, T = input.shape[batch_dim], input.shape[time_dim]
    if len(lengths) != N:
        raise ValueError(f"pack_padded_sequence: expected {N} lengths (the batch size of input shape "
                         f"{tuple(input.shape)}), got {len(lengths)}")
    if N and lengths.min() <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' "
                           "that is <= 0")
    if N and lengths.max() > T:
        raise RuntimeError(f"pack_padded_sequence: a length of {int(lengths.max())} is longer than the sequence "
                           f"dimension of the input ({T}, input shape {tuple(input.shape)})")
    if enforce_sorted:
        if numpy.any(numpy.diff(lengths) > 0):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You can pass "
                "`enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to sidestep this requirement "
                "if you do not need ONNX exportability."
            )
        order = None
    else:
        order = numpy.argsort(-lengths, kind="stable")
        lengths = lengths[order]
    batch_sizes = (lengths[None, :] > numpy.arange(T)[:, None]).sum(1)
    batch_sizes = batch_sizes[batch_sizes > 0]
    t, b = _positions(batch_sizes)
    src_b = b if order is None else order[b]
    xp = get_backend(input.device).xp
    index = (xp.asarray(src_b), xp.asarray(t)) if batch_first else (xp.asarray(t), xp.asarray(src_b))
    data = input[index]
    if order is None:
        return PackedSequence(data, _int64(batch_sizes))
    return PackedSequence(data, _int64(batch_sizes), _int64(order), _int64(numpy.argsort(order)))


def _padded_from_packed(sequence: PackedSequence, padding_value: float = 0.0, total_length: int | None = None) -> tuple:
    """The packed data as a padded (T, N, *) block in *sorted* order, and the (sorted) lengths."""
    data = sequence.data
    batch_sizes = numpy.asarray(sequence.batch_sizes.array, dtype=numpy.int64)
    T = len(batch_sizes)
    N = int(batch_sizes[0]) if T else 0
    lengths = (batch_sizes[:, None] > numpy.arange(N)[None, :]).sum(0)
    if total_length is not None:
        if total_length < T:
            raise ValueError(f"Expected total_length to be at least the length of the longest sequence in input, "
                             f"but got total_length={total_length} and max sequence length being {T}")
        T = total_length
    t, b = _positions(batch_sizes)
    rows = numpy.full((T, N), len(t), dtype=numpy.int64)  # the padding row, appended below
    rows[t, b] = numpy.arange(len(t))
    from ...functions import cat

    xp = get_backend(data.device).xp
    pad = Tensor._wrap(xp.full((1,) + tuple(data.shape[1:]), padding_value, dtype=data.array.dtype))
    return cat([data, pad], 0)[xp.asarray(rows)], lengths


def _pack_from_padded(padded: Tensor, like: PackedSequence) -> PackedSequence:
    """A (T, N, *) block in sorted order packed with the batch sizes of ``like``."""
    batch_sizes = numpy.asarray(like.batch_sizes.array, dtype=numpy.int64)
    t, b = _positions(batch_sizes)
    xp = get_backend(padded.device).xp
    return PackedSequence(padded[xp.asarray(t), xp.asarray(b)], like.batch_sizes, like.sorted_indices,
                          like.unsorted_indices)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple:
    """Undo :func:`pack_padded_sequence`: returns ``(padded, lengths)``, the batch in its original order."""
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"pad_packed_sequence: expected a PackedSequence, got {type(sequence).__name__}")
    padded, lengths = _padded_from_packed(sequence, padding_value, total_length)
    if sequence.unsorted_indices is not None:
        order = sequence.unsorted_indices.array
        padded = padded[:, get_backend(padded.device).xp.asarray(order)]
        lengths = lengths[order]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, _int64(lengths)


def pad_sequence(sequences: Any, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack sequences of shapes (L_b, *) into (T, N, *) (or (N, T, *)), padding each to the longest, T."""
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0))
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    trailing = tuple(sequences[0].shape[1:])
    for i, s in enumerate(sequences):
        if not isinstance(s, Tensor):
            raise TypeError(f"pad_sequence: sequence {i} is a {type(s).__name__}, expected a shenjing.Tensor")
        if tuple(s.shape[1:]) != trailing:
            raise RuntimeError(f"pad_sequence: sequence {i} has shape {tuple(s.shape)}, expected (L, "
                               f"{', '.join(map(str, trailing))}) like sequence 0")
    T = max(s.shape[0] for s in sequences)
    from ...functions import pad_constant, stack

    padded = []
    for s in sequences:
        extra = T - s.shape[0]
        widths = ((extra, 0) if padding_side == "left" else (0, extra),) + ((0, 0),) * len(trailing)
        padded.append(pad_constant(s, widths, padding_value) if extra else s)
    return stack(padded, 0 if batch_first else 1)


def pack_sequence(sequences: Any, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of (L_b, *) tensors: ``pack_padded_sequence(pad_sequence(sequences), lengths)``."""
    sequences = list(sequences)
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths: Any, batch_first: bool = False) -> list:
    """The list of sequences (L_b, *) back from a padded block."""
    lengths = _lengths_array(lengths)
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [padded_sequences[b, : int(n)] for b, n in enumerate(lengths)]


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """The list of sequences back from a PackedSequence, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
